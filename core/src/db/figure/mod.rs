//! Performed-time figures per client, provider, local day and service, and
//! per month: kept incrementally as visits change (in the same transaction
//! as the change), so reading a month never rescans visits or events.
//! [`rebuild_month`] recomputes a month from the visits; a test checks the
//! two agree.
//!
//! `read` holds the figures' reads, `rebuild` the recomputation from the
//! visits.

mod read;
mod rebuild;

pub use read::{
    MonthFigures, client_days, client_month, municipality_month, provider_month_seconds,
    stored_month, stored_staff_month,
};
pub use rebuild::{
    Rebuilt, compute_month, compute_staff_month, rebuild_all_staff, rebuild_month,
    rebuild_staff_month,
};

use super::schema::visit;
use super::sql::{Statement, Value, markers};
use super::visit::Visit;
use super::{DbConn, StoreError, now};
use crate::domain::YearMonth;
use crate::domain::figures::{
    Amounts, CellKey, Figures, FrameWindow, StaffAmounts, StaffKey, VisitFigureInput,
};
use crate::model::{ClientId, ServiceId};
use chrono::NaiveDate;
use chrono_tz::Tz;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// What the figures need of visits `ids` (those that exist).
pub fn inputs(c: &mut DbConn, ids: &[&str]) -> Result<Vec<VisitFigureInput>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let visits: Vec<Visit> = match c {
        DbConn::Pg(pg) => super::unnest::Query::new(&super::unnest::by_key_sql("visit", "id"))
            .bind(super::unnest::Column::Text(ids.to_vec()))
            .load(pg)?,
        DbConn::Sqlite(_) => visit::table
            .filter(visit::id.eq_any(ids))
            .select(Visit::as_select())
            .load(c)?,
    };
    inputs_of(c, visits)
}

fn inputs_of(c: &mut DbConn, visits: Vec<Visit>) -> Result<Vec<VisitFigureInput>, StoreError> {
    let visits: Vec<Visit> = visits.into_iter().filter(Visit::counts).collect();
    let ids: Vec<&str> = visits.iter().map(|v| v.id.as_str()).collect();
    let mut attributions = super::visit::attributions(c, &ids)?;
    Ok(visits
        .iter()
        .filter_map(|v| input_of(v, &attributions.remove(&v.id).unwrap_or_default()))
        .collect())
}

/// What the figures need of visit `v` with its shares and services, if it
/// counts.
pub fn input_of(v: &Visit, a: &super::visit::Attribution) -> Option<VisitFigureInput> {
    if !v.counts() {
        return None;
    }
    let (start, end) = (v.start()?, v.end()?);
    let mut services: Vec<(ClientId, ServiceId, i64)> = a
        .services
        .iter()
        .filter(|s| !s.declined)
        .map(|s| {
            (
                s.client_id.clone(),
                s.service_id.clone(),
                i64::from(s.seconds),
            )
        })
        .collect();
    services.sort();
    let shares = if a.shares.is_empty() {
        vec![(v.fields.client_id.clone(), 10_000)]
    } else {
        a.shares
            .iter()
            .map(|s| (s.client_id.clone(), i64::from(s.basis_points)))
            .collect()
    };
    Some(VisitFigureInput {
        client_id: v.fields.client_id.clone(),
        staff_id: v.fields.staff_id.clone(),
        verified: v.fields.verified && !v.corrected(),
        provider_id: v.fields.provider_id.clone(),
        local_date: v.fields.local_date,
        counts: true,
        double_staffing: v.fields.double_staffing,
        start,
        end,
        shares,
        services,
    })
}

/// The change between the visits as they were and as they are.
pub fn delta(
    before: &[VisitFigureInput],
    after: &[VisitFigureInput],
    tz: Tz,
    window: FrameWindow,
) -> Figures {
    let mut f = Figures::default();
    f.add_visits(before, tz, window, -1);
    f.add_visits(after, tz, window, 1);
    f.prune();
    f
}

/// Adds `f` to the day, month and measures' figures and marks the
/// client-months of its time figures for the alert rules.
pub fn apply(c: &mut DbConn, f: &Figures) -> Result<(), StoreError> {
    apply_marking(c, f, &BTreeSet::new())
}

/// [`apply`], marking the client-months of `also` (client id, month) for
/// the alert rules too, in the same statement.
pub fn apply_marking(
    c: &mut DbConn,
    f: &Figures,
    also: &BTreeSet<(String, String)>,
) -> Result<(), StoreError> {
    let staff: Vec<(&StaffKey, &StaffAmounts)> = f.staff.iter().collect();
    for chunk in staff.chunks(500) {
        upsert_staff(c, chunk)?;
    }
    let cells = &f.cells;
    if cells.is_empty() {
        return mark_dirty(c, also.iter().map(|(cl, m)| (cl.as_str(), m.as_str())));
    }
    let mut months: BTreeMap<(String, String, String, String), Amounts> = BTreeMap::new();
    for (k, a) in cells {
        let m = months
            .entry((
                k.client_id.to_string(),
                k.provider_id.to_string(),
                YearMonth::of(k.local_date).to_string(),
                k.service_id.to_string(),
            ))
            .or_default();
        m.seconds += a.seconds;
        m.frame_seconds += a.frame_seconds;
        m.visits += a.visits;
        m.declined += a.declined;
    }
    let days: Vec<(&CellKey, &Amounts)> = cells.iter().collect();
    for chunk in days.chunks(500) {
        upsert(
            c,
            "figure_day",
            "local_date",
            chunk.iter().map(|(k, a)| {
                (
                    k.client_id.as_str(),
                    k.provider_id.as_str(),
                    Key::Date(k.local_date),
                    k.service_id.as_str(),
                    **a,
                )
            }),
        )?;
    }
    let rows: Vec<_> = months.iter().collect();
    for chunk in rows.chunks(500) {
        upsert(
            c,
            "figure_month",
            "month",
            chunk.iter().map(|((cl, p, m, s), a)| {
                (
                    cl.as_str(),
                    p.as_str(),
                    Key::Month(m.as_str()),
                    s.as_str(),
                    **a,
                )
            }),
        )?;
    }
    let dirty: BTreeSet<(&str, String)> = months
        .keys()
        .map(|(cl, _, m, _)| (cl.as_str(), m.clone()))
        .chain(also.iter().map(|(cl, m)| (cl.as_str(), m.clone())))
        .collect();
    mark_dirty(c, dirty.iter().map(|(cl, m)| (*cl, m.as_str())))
}

/// The date column of a figure table: a day or a month.
enum Key<'a> {
    Date(NaiveDate),
    Month(&'a str),
}

/// `INSERT … ON CONFLICT DO UPDATE` adding the amounts (raw SQL: diesel's
/// multi-backend connection has no upsert), on the connection's own backend.
fn upsert<'a>(
    c: &mut DbConn,
    table: &str,
    date_column: &str,
    rows: impl Iterator<Item = (&'a str, &'a str, Key<'a>, &'a str, Amounts)>,
) -> Result<(), StoreError> {
    let rows: Vec<_> = rows.collect();
    if rows.is_empty() {
        return Ok(());
    }
    let conflict = format!(
        "ON CONFLICT (client_id, provider_id, {date_column}, service_id) DO UPDATE SET \
         seconds = {table}.seconds + excluded.seconds, \
         frame_seconds = {table}.frame_seconds + excluded.frame_seconds, \
         visits = {table}.visits + excluded.visits, \
         declined = {table}.declined + excluded.declined"
    );
    if let DbConn::Pg(pg) = c {
        use super::unnest::{Column, Query, texts};
        let (mut dates, mut months) = (Vec::new(), Vec::new());
        for r in &rows {
            match r.2 {
                Key::Date(d) => dates.push(d),
                Key::Month(m) => months.push(m),
            }
        }
        let (key, cast) = match (dates.is_empty(), months.is_empty()) {
            (false, true) => (Column::Date(dates), "date"),
            (true, false) => (Column::Text(months), "text"),
            _ => {
                return Err(StoreError::Encode(format!(
                    "{table}: days and months mixed"
                )));
            }
        };
        let sql = format!(
            "INSERT INTO {table} (client_id, provider_id, {date_column}, service_id, seconds, frame_seconds, visits, declined) \
             SELECT * FROM unnest(?::text[], ?::text[], ?::{cast}[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) {conflict}"
        );
        let amounts =
            |f: fn(&Amounts) -> i64| Column::BigInt(rows.iter().map(|r| f(&r.4)).collect());
        Query::new(&sql)
            .bind(texts(&rows, |r| r.0))
            .bind(texts(&rows, |r| r.1))
            .bind(key)
            .bind(texts(&rows, |r| r.3))
            .bind(amounts(|a| a.seconds))
            .bind(amounts(|a| a.frame_seconds))
            .bind(amounts(|a| a.visits))
            .bind(amounts(|a| a.declined))
            .execute(pg)?;
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {table} (client_id, provider_id, {date_column}, service_id, seconds, frame_seconds, visits, declined) \
         VALUES {} {conflict}",
        markers(rows.len(), 8)
    );
    let mut q = Statement::for_rows(&sql, rows.len());
    for (client_id, provider_id, key, service_id, a) in rows {
        q = q
            .bind(Value::Text(client_id))
            .bind(Value::Text(provider_id));
        q = q.bind(match key {
            Key::Date(d) => Value::Date(d),
            Key::Month(m) => Value::Text(m),
        });
        q = q
            .bind(Value::Text(service_id))
            .bind(Value::BigInt(a.seconds))
            .bind(Value::BigInt(a.frame_seconds))
            .bind(Value::BigInt(a.visits))
            .bind(Value::BigInt(a.declined));
    }
    q.execute(c)?;
    Ok(())
}

/// [`upsert`] for the measures' figures.
fn upsert_staff(c: &mut DbConn, rows: &[(&StaffKey, &StaffAmounts)]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let conflict = "ON CONFLICT (client_id, local_date, staff_id) DO UPDATE SET \
         visits = figure_staff_day.visits + excluded.visits, \
         seconds = figure_staff_day.seconds + excluded.seconds, \
         verified = figure_staff_day.verified + excluded.verified, \
         daytime = figure_staff_day.daytime + excluded.daytime";
    if let DbConn::Pg(pg) = c {
        use super::unnest::{Column, Query, texts};
        let sql = format!(
            "INSERT INTO figure_staff_day (client_id, local_date, staff_id, visits, seconds, verified, daytime) \
             SELECT * FROM unnest(?::text[], ?::date[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) {conflict}"
        );
        let amounts =
            |f: fn(&StaffAmounts) -> i64| Column::BigInt(rows.iter().map(|r| f(r.1)).collect());
        Query::new(&sql)
            .bind(texts(rows, |r| r.0.client_id.as_str()))
            .bind(Column::Date(rows.iter().map(|r| r.0.local_date).collect()))
            .bind(texts(rows, |r| r.0.staff_id.as_str()))
            .bind(amounts(|a| a.visits))
            .bind(amounts(|a| a.seconds))
            .bind(amounts(|a| a.verified))
            .bind(amounts(|a| a.daytime))
            .execute(pg)?;
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO figure_staff_day (client_id, local_date, staff_id, visits, seconds, verified, daytime) \
         VALUES {} {conflict}",
        markers(rows.len(), 7)
    );
    let mut q = Statement::for_rows(&sql, rows.len());
    for (k, a) in rows {
        q = q
            .bind(Value::Text(&k.client_id))
            .bind(Value::Date(k.local_date))
            .bind(Value::Text(&k.staff_id))
            .bind(Value::BigInt(a.visits))
            .bind(Value::BigInt(a.seconds))
            .bind(Value::BigInt(a.verified))
            .bind(Value::BigInt(a.daytime));
    }
    q.execute(c)?;
    Ok(())
}

/// `(…), (…)` bind markers for a multi-row insert on the connection's
/// backend: `$1, $2, …` on PostgreSQL, `?` on SQLite.
pub(crate) fn placeholders(c: &DbConn, rows: usize, columns: usize) -> String {
    let pg = matches!(c, DbConn::Pg(_));
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|k| {
                    if pg {
                        format!("${}", r * columns + k)
                    } else {
                        "?".into()
                    }
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Marks client-months for re-evaluation of their alerts.
pub fn mark_dirty<'a>(
    c: &mut DbConn,
    client_months: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), StoreError> {
    let rows: Vec<(&str, &str)> = client_months.collect();
    let at = now();
    if let DbConn::Pg(pg) = c {
        use super::unnest::{Column, Query, texts};
        if !rows.is_empty() {
            Query::new(
                "INSERT INTO figure_dirty (client_id, month, marked_at) \
                 SELECT * FROM unnest(?::text[], ?::text[], ?::timestamp[]) \
                 ON CONFLICT (client_id, month) DO UPDATE SET marked_at = excluded.marked_at",
            )
            .bind(texts(&rows, |r| r.0))
            .bind(texts(&rows, |r| r.1))
            .bind(Column::Timestamp(vec![at; rows.len()]))
            .execute(pg)?;
        }
        return Ok(());
    }
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO figure_dirty (client_id, month, marked_at) VALUES {} \
             ON CONFLICT (client_id, month) DO UPDATE SET marked_at = excluded.marked_at",
            markers(chunk.len(), 3)
        );
        let mut q = Statement::for_rows(&sql, chunk.len());
        for (client_id, month) in chunk {
            q = q
                .bind(Value::Text(client_id))
                .bind(Value::Text(month))
                .bind(Value::Timestamp(at));
        }
        q.execute(c)?;
    }
    Ok(())
}
