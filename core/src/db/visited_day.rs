//! The table `visited_day`: the clients and local days whose planned
//! visits the minute's evaluation is to judge again (issue 25), because
//! a visit of the client on that day was recorded, corrected or voided.
//! The write path asks once per client and day, however many plans the
//! client has; the run reads what was asked, judges, and takes back only
//! what still holds the instant it read, so a day asked for again
//! meanwhile stays asked for.

use super::schema::{client, visited_day};
use super::sql::Value;
use super::unnest::{Column, Query};
use super::{DbConn, StoreError};
use crate::model::ClientId;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::BTreeSet;

/// A client's day asked for, and when.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = visited_day)]
pub struct Asked {
    pub client_id: ClientId,
    pub local_date: NaiveDate,
    pub asked_at: NaiveDateTime,
}

/// Rows per statement (SQLite binds up to 32,766 values).
const CHUNK: usize = 5000;

/// Asks for the planned visits of each client on each day of `days` to
/// be judged at the next run. `at` is the wall clock: each ask of a day
/// writes the instant it was made, so a run that read an earlier one
/// leaves the day asked for. On PostgreSQL one statement, kept prepared,
/// per 5,000 days.
pub fn ask(
    c: &mut DbConn,
    days: &BTreeSet<(String, NaiveDate)>,
    at: NaiveDateTime,
) -> Result<usize, StoreError> {
    let days: Vec<&(String, NaiveDate)> = days.iter().collect();
    let mut n = 0;
    for chunk in days.chunks(CHUNK) {
        n += match c {
            DbConn::Pg(pg) => Query::new(
                "INSERT INTO visited_day (client_id, local_date, asked_at) \
                 SELECT * FROM unnest(?::text[], ?::date[], ?::timestamp[]) \
                 ON CONFLICT (client_id, local_date) DO UPDATE SET asked_at = excluded.asked_at",
            )
            .bind(Column::Text(chunk.iter().map(|d| d.0.as_str()).collect()))
            .bind(Column::Date(chunk.iter().map(|d| d.1).collect()))
            .bind(Column::Timestamp(vec![at; chunk.len()]))
            .execute(pg)?,
            // Kept prepared for the few rows a transaction of the writer
            // asks (diesel prepares its own upsert anew on every run: 2 %
            // of the phone bench's writer).
            DbConn::Sqlite(_) => {
                let sql = format!(
                    "INSERT INTO visited_day (client_id, local_date, asked_at) VALUES {} \
                     ON CONFLICT (client_id, local_date) DO UPDATE SET asked_at = excluded.asked_at",
                    super::sql::markers(chunk.len(), 3)
                );
                let mut q = super::sql::Statement::for_rows(&sql, chunk.len());
                for (client, day) in chunk {
                    q = q
                        .bind(Value::Text(client))
                        .bind(Value::Date(*day))
                        .bind(Value::Timestamp(at));
                }
                q.execute(c)?
            }
        };
    }
    Ok(n)
}

/// Every day asked for of the clients of a municipality.
pub fn of_municipality(c: &mut DbConn, municipality_id: &str) -> Result<Vec<Asked>, StoreError> {
    Ok(visited_day::table
        .inner_join(client::table)
        .filter(client::municipality_id.eq(municipality_id))
        .select(Asked::as_select())
        .order((visited_day::client_id, visited_day::local_date))
        .load(c)?)
}

/// Takes back the days `read` that still hold the instant read: a day
/// asked for again since stays asked for. On PostgreSQL one statement,
/// kept prepared, per 5,000 days.
pub fn answered(c: &mut DbConn, read: &[Asked]) -> Result<usize, StoreError> {
    let mut n = 0;
    for chunk in read.chunks(CHUNK) {
        n += match c {
            DbConn::Pg(pg) => Query::new(
                "DELETE FROM visited_day v \
                 USING unnest(?::text[], ?::date[], ?::timestamp[]) AS u(client_id, local_date, asked_at) \
                 WHERE v.client_id = u.client_id AND v.local_date = u.local_date \
                 AND v.asked_at = u.asked_at",
            )
            .bind(Column::Text(chunk.iter().map(|a| a.client_id.as_str()).collect()))
            .bind(Column::Date(chunk.iter().map(|a| a.local_date).collect()))
            .bind(Column::Timestamp(chunk.iter().map(|a| a.asked_at).collect()))
            .execute(pg)?,
            DbConn::Sqlite(_) => {
                let mut n = 0;
                for a in chunk {
                    n += diesel::delete(
                        visited_day::table
                            .filter(visited_day::client_id.eq(a.client_id.as_str()))
                            .filter(visited_day::local_date.eq(a.local_date))
                            .filter(visited_day::asked_at.eq(a.asked_at)),
                    )
                    .execute(c)?;
                }
                n
            }
        };
    }
    Ok(n)
}

/// Whether any day is asked for (the evaluator's cue).
pub fn any(c: &mut DbConn) -> Result<bool, StoreError> {
    Ok(visited_day::table
        .select(visited_day::client_id)
        .first::<String>(c)
        .optional()?
        .is_some())
}
