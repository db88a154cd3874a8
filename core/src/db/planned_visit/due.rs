//! When each plan is next to be judged (`planned_visit_due.due_at`) and
//! whether it is settled: what the minute's evaluation of planned visits
//! reads first and writes last. A table beside `planned_visit`, so that
//! these writes leave the plans' rows and indexes as they are.

use super::CHUNK;
use crate::db::schema::{planned_visit, planned_visit_due};
use crate::db::unnest::{Column, Query};
use crate::db::{DbConn, StoreError};
use crate::model::{ClientId, PlannedVisitId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::HashMap;

/// The earliest `due_at` of a plan that is to be judged at once,
/// whatever the clock says: 1970-01-01 00:00.
pub const AT_ONCE: NaiveDateTime = chrono::DateTime::UNIX_EPOCH.naive_utc();

/// A `due_at` asking for a plan at once, another each call: [`AT_ONCE`]
/// plus the clock's microseconds modulo 300 days. A run writes a plan's
/// next instant only where it still holds what the run read: a plan asked
/// for again meanwhile holds another value and stays asked for.
pub fn at_once() -> NaiveDateTime {
    let micros = chrono::Utc::now()
        .timestamp_micros()
        .rem_euclid(300 * 86_400 * 1_000_000);
    AT_ONCE + chrono::Duration::microseconds(micros)
}

/// Whether `due_at` asks for the plan at once (it is in 1970).
pub fn is_at_once(due_at: NaiveDateTime) -> bool {
    chrono::Datelike::year(&due_at) < 1971
}

/// A plan whose instant to be judged has come, as the minute's
/// evaluation first sees it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName)]
pub struct Due {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub id: PlannedVisitId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub client_id: ClientId,
    #[diesel(sql_type = diesel::sql_types::Date)]
    pub local_date: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub latest_start: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    pub due_at: Option<NaiveDateTime>,
}

/// The plans of a municipality, of any day, whose instant to be judged
/// is at or before `at` (read by the partial index on `due_at`). On
/// PostgreSQL each plan by its primary key ([`DUE_SQL`]).
pub fn due(
    c: &mut DbConn,
    municipality_id: &str,
    at: NaiveDateTime,
) -> Result<Vec<Due>, StoreError> {
    use crate::db::schema::provider;
    if let DbConn::Pg(pg) = c {
        return Ok(Query::new(DUE_SQL)
            .bind(Column::OneTimestamp(at))
            .bind(Column::OneText(municipality_id))
            .load(pg)?);
    }
    Ok(planned_visit_due::table
        .inner_join(planned_visit::table.inner_join(provider::table))
        .filter(provider::municipality_id.eq(municipality_id))
        .filter(planned_visit_due::due_at.le(at))
        .select((
            planned_visit::id,
            planned_visit::client_id,
            planned_visit::local_date,
            planned_visit::latest_start,
            planned_visit_due::due_at,
        ))
        .load(c)?)
}

/// [`due`] on PostgreSQL: the due instants by their index, then each
/// plan by its primary key. As a join, the planner estimated the rows due
/// from statistics taken while the day's instants were still ahead, so
/// that more and more of them seemed due as the morning went on, and it
/// hashed the few due against a scan of every plan: 25 to 60 ms a minute
/// on the bench's 200,000 plans against 1 ms this way
/// (docs/BENCHMARKS.md, section 5).
pub(crate) const DUE_SQL: &str = "SELECT p.id, p.client_id, p.local_date, p.latest_start, d.due_at \
    FROM (SELECT planned_visit_id, due_at FROM planned_visit_due \
          WHERE due_at IS NOT NULL AND due_at <= ? OFFSET 0) d \
    CROSS JOIN LATERAL (SELECT id, client_id, local_date, latest_start, provider_id \
          FROM planned_visit WHERE id = d.planned_visit_id OFFSET 0) p \
    JOIN provider v ON v.id = p.provider_id WHERE v.municipality_id = ?";

/// Where the minute's evaluation stands with a plan
/// (`planned_visit_due`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = planned_visit_due)]
pub struct Judging {
    /// Its next instant to be judged (see [`set_due`]).
    pub due_at: Option<NaiveDateTime>,
    /// When its state could no longer change (see [`settle`]).
    pub settled_at: Option<NaiveDateTime>,
}

/// Where the evaluation stands with each of the plans `ids`, by plan (on
/// PostgreSQL by the primary key, one plan at a time).
pub fn judging_of(c: &mut DbConn, ids: &[&str]) -> Result<HashMap<String, Judging>, StoreError> {
    #[derive(Queryable, QueryableByName, Selectable)]
    #[diesel(table_name = planned_visit_due)]
    struct Row {
        planned_visit_id: String,
        #[diesel(embed)]
        judging: Judging,
    }
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<Row> = match c {
            DbConn::Pg(pg) => Query::new(&crate::db::unnest::by_key_sql(
                "planned_visit_due",
                "planned_visit_id",
            ))
            .bind(Column::Text(chunk.to_vec()))
            .load(pg)?,
            DbConn::Sqlite(_) => planned_visit_due::table
                .filter(planned_visit_due::planned_visit_id.eq_any(chunk))
                .select(Row::as_select())
                .load(c)?,
        };
        out.extend(rows.into_iter().map(|r| (r.planned_visit_id, r.judging)));
    }
    Ok(out)
}

/// Sets each plan's next instant to be judged, `(id, read, next)`: only
/// where it still holds what the run read, so a visit or an
/// acknowledgement that asked for the plan meanwhile is not overwritten.
/// On PostgreSQL one statement, kept prepared, per 5,000 plans; on SQLite
/// one per pair of instants (a municipality's plans share few).
pub fn set_due(
    c: &mut DbConn,
    plans: &[(&str, Option<NaiveDateTime>, Option<NaiveDateTime>)],
) -> Result<usize, StoreError> {
    let changed: Vec<&(&str, Option<NaiveDateTime>, Option<NaiveDateTime>)> = plans
        .iter()
        .filter(|(_, read, next)| read != next)
        .collect();
    let mut n = 0;
    if let DbConn::Pg(pg) = c {
        for chunk in changed.chunks(CHUNK) {
            n += Query::new(SET_DUE_SQL)
                .bind(Column::Text(chunk.iter().map(|p| p.0).collect()))
                .bind(Column::OptTimestamp(chunk.iter().map(|p| p.1).collect()))
                .bind(Column::OptTimestamp(chunk.iter().map(|p| p.2).collect()))
                .execute(pg)?;
        }
        return Ok(n);
    }
    type Pair = (Option<NaiveDateTime>, Option<NaiveDateTime>);
    let mut by: HashMap<Pair, Vec<&str>> = HashMap::new();
    for (id, read, next) in changed {
        by.entry((*read, *next)).or_default().push(id);
    }
    for ((read, next), ids) in by {
        for chunk in ids.chunks(CHUNK) {
            let q =
                planned_visit_due::table.filter(planned_visit_due::planned_visit_id.eq_any(chunk));
            n += match read {
                Some(r) => diesel::update(q.filter(planned_visit_due::due_at.eq(r)))
                    .set(planned_visit_due::due_at.eq(next))
                    .execute(c)?,
                None => diesel::update(q.filter(planned_visit_due::due_at.is_null()))
                    .set(planned_visit_due::due_at.eq(next))
                    .execute(c)?,
            };
        }
    }
    Ok(n)
}

/// [`set_due`] on PostgreSQL: each plan by its primary key.
const SET_DUE_SQL: &str = "UPDATE planned_visit_due p SET due_at = u.next \
    FROM unnest(?::text[], ?::timestamp[], ?::timestamp[]) AS u(id, read, next) \
    WHERE p.planned_visit_id = u.id AND p.due_at IS NOT DISTINCT FROM u.read";

/// Asks for the plans `ids` to be judged at once.
pub fn mark_due(c: &mut DbConn, ids: &[&str]) -> Result<usize, StoreError> {
    let mut n = 0;
    for chunk in ids.chunks(CHUNK) {
        n += diesel::update(
            planned_visit_due::table.filter(planned_visit_due::planned_visit_id.eq_any(chunk)),
        )
        .set(planned_visit_due::due_at.eq(Some(at_once())))
        .execute(c)?;
    }
    Ok(n)
}

/// Asks for every plan of a municipality that may still change to be
/// judged at once: its tolerances or escalation time changed.
pub fn mark_municipality_due(c: &mut DbConn, municipality_id: &str) -> Result<usize, StoreError> {
    use crate::db::schema::provider;
    let providers = provider::table
        .filter(provider::municipality_id.eq(municipality_id))
        .select(provider::id);
    let plans = planned_visit::table
        .filter(planned_visit::provider_id.eq_any(providers))
        .select(planned_visit::id);
    Ok(diesel::update(
        planned_visit_due::table
            .filter(planned_visit_due::planned_visit_id.eq_any(plans))
            .filter(
                planned_visit_due::settled_at
                    .is_null()
                    .or(planned_visit_due::due_at.is_not_null()),
            ),
    )
    .set(planned_visit_due::due_at.eq(Some(at_once())))
    .execute(c)?)
}

/// The earliest instant after `after` any plan is to be judged (the first
/// entry of the partial index past it).
pub fn next_due_after(
    c: &mut DbConn,
    after: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(planned_visit_due::table
        .filter(planned_visit_due::due_at.gt(after))
        .select(diesel::dsl::min(planned_visit_due::due_at))
        .first(c)?)
}

/// The earliest instant any plan is to be judged (the evaluator's cue):
/// [`AT_ONCE`] while a client's day is asked for (`visited_day`).
pub fn next_due(c: &mut DbConn) -> Result<Option<NaiveDateTime>, StoreError> {
    if crate::db::visited_day::any(c)? {
        return Ok(Some(AT_ONCE));
    }
    next_due_after(c, AT_ONCE - chrono::Duration::seconds(1))
}

/// Marks `ids` settled: their state can no longer change. On PostgreSQL
/// one statement, kept prepared, per 5,000 plans.
pub fn settle(c: &mut DbConn, ids: &[&str], at: NaiveDateTime) -> Result<usize, StoreError> {
    let mut n = 0;
    for chunk in ids.chunks(CHUNK) {
        n += match c {
            DbConn::Pg(pg) => Query::new(
                "UPDATE planned_visit_due p SET settled_at = u.at \
                 FROM unnest(?::text[], ?::timestamp[]) AS u(id, at) WHERE p.planned_visit_id = u.id",
            )
            .bind(Column::Text(chunk.to_vec()))
            .bind(Column::Timestamp(vec![at; chunk.len()]))
            .execute(pg)?,
            DbConn::Sqlite(_) => {
                diesel::update(
                    planned_visit_due::table
                        .filter(planned_visit_due::planned_visit_id.eq_any(chunk)),
                )
                .set(planned_visit_due::settled_at.eq(Some(at)))
                .execute(c)?
            }
        };
    }
    Ok(n)
}
