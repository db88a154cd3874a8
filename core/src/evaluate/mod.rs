//! The alert rules applied to the stored figures, at a given instant (the
//! clock is a parameter, so tests and `hemtid evaluate --at` can travel in
//! time). Each client-month is evaluated in its own transaction: its
//! alerts are raised, updated or resolved, and the changes land in the
//! outbox the publishers read.
//!
//! - `variance`: a client's month against its ordered time (R1–R9, R21);
//! - `deadlines`: care plans and follow-ups due (R10–R13) and the monthly
//!   list of clients without a plan;
//! - `punctuality`: a provider's planned visits of a day against the
//!   performed ones, at an instant (issue 25);
//! - `visit_alerts`: the live alerts of late and missed planned visits,
//!   resolved on arrival and escalated when nobody acknowledges them;
//! - `context`: what a municipality's run shares, loaded once.

mod context;
pub mod deadlines;
pub mod punctuality;
#[cfg(test)]
mod punctuality_tests;
mod variance;
pub mod visit_alerts;
#[cfg(test)]
mod visit_alerts_tests;

pub use context::{Ctx, Evaluation};
pub use variance::{MonthJudgement, client_month, judge_month};

use crate::db::client;
use crate::db::municipality::{self, Municipality};
use crate::db::schema::figure_dirty;
use crate::db::{DbConn, StoreError};
use crate::domain::YearMonth;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use std::collections::BTreeMap;

/// Evaluates the current and the previous month of every client of the
/// municipality, and the deadlines (R10–R13), and makes the monthly list
/// of clients without a plan when its day has come (the scheduled run, and
/// `hemtid evaluate --at`).
pub fn municipality(
    c: &mut DbConn,
    m: &Municipality,
    at: DateTime<Utc>,
) -> Result<Evaluation, StoreError> {
    let x = Ctx::new(c, m, at)?;
    let current = YearMonth::of(x.today);
    let mut out = Evaluation::default();
    for cl in client::list(c, &m.id)? {
        for month in [current.prev(), current] {
            out.add(or_skipped(client_month(c, &x, &cl, month))?);
        }
        out.add(or_skipped(deadlines::client(c, &x, &cl))?);
    }
    deadlines::plan_lists(c, &x)?;
    Ok(out)
}

/// One client's part of a run, or, when the database was busy past its
/// timeout, a skip for the next run (every client-month is evaluated again
/// hourly): one busy moment no longer ends the whole run, which left every
/// client after it unevaluated for an hour.
fn or_skipped(r: Result<Evaluation, StoreError>) -> Result<Evaluation, StoreError> {
    match r {
        Err(e) if e.is_transient() => {
            tracing::warn!(error = %e, "alert rules: a client left for the next run");
            Ok(Evaluation {
                skipped: 1,
                ..Evaluation::default()
            })
        }
        other => other,
    }
}

/// [`municipality`] for every municipality.
pub fn all(c: &mut DbConn, at: DateTime<Utc>) -> Result<Evaluation, StoreError> {
    let mut out = Evaluation::default();
    for m in municipality::list(c)? {
        out.add(municipality(c, &m, at)?);
    }
    Ok(out)
}

/// Evaluates up to `limit` client-months whose figures, absences or
/// explanations changed, oldest first, and forgets them (unless marked
/// again meanwhile).
pub fn dirty(c: &mut DbConn, at: DateTime<Utc>, limit: i64) -> Result<Evaluation, StoreError> {
    settled(c, at, limit, std::time::Duration::ZERO)
}

/// How long a client-month must have been left alone before
/// [`settled`] evaluates it. An offline batch of a phone, or a gateway's
/// run of lock events, changes a client's month many times within a
/// second; evaluated between two of them, a month that ends inside the
/// band had an `outside_band` alert raised and resolved again, and both
/// went out to the caseworker. Each change moves the mark's time on; the
/// items of a batch are applied milliseconds apart, and an alert still
/// reaches its subscribers within a second.
pub const QUIET: std::time::Duration = std::time::Duration::from_millis(300);

/// As [`dirty`], for the client-months not marked again during the last
/// `quiet` (by the wall clock, when the marks were made); the others wait
/// for a later call.
pub fn settled(
    c: &mut DbConn,
    at: DateTime<Utc>,
    limit: i64,
    quiet: std::time::Duration,
) -> Result<Evaluation, StoreError> {
    let still_since =
        crate::db::now() - chrono::Duration::from_std(quiet).unwrap_or(chrono::Duration::zero());
    let marks: Vec<(String, String, NaiveDateTime)> = figure_dirty::table
        .filter(figure_dirty::marked_at.le(still_since))
        .order(figure_dirty::marked_at)
        .limit(limit)
        .select((
            figure_dirty::client_id,
            figure_dirty::month,
            figure_dirty::marked_at,
        ))
        .load(c)?;
    let mut out = Evaluation::default();
    let municipalities: BTreeMap<String, Municipality> = municipality::list(c)?
        .into_iter()
        .map(|m| (m.id.to_string(), m))
        .collect();
    let mut runs: BTreeMap<&str, Ctx<'_>> = BTreeMap::new();
    for (client_id, month, _) in &marks {
        let cl = client::get_any(c, client_id)?;
        let Some(m) = municipalities.get(cl.municipality_id.as_str()) else {
            continue;
        };
        if !runs.contains_key(m.id.as_str()) {
            runs.insert(m.id.as_str(), Ctx::new(c, m, at)?);
        }
        match (runs.get(m.id.as_str()), month.parse::<YearMonth>()) {
            (Some(x), Ok(mm)) => out.add(client_month(c, x, &cl, mm)?),
            (_, Err(_)) => tracing::warn!(%month, "figure_dirty holds a malformed month"),
            (None, _) => {}
        }
    }
    // The marks go together, in one write: one each was as many writes
    // as evaluations, each waiting its turn with the gateway's.
    crate::db::transaction(c, |c| {
        for (client_id, month, marked_at) in &marks {
            diesel::delete(
                figure_dirty::table
                    .filter(figure_dirty::client_id.eq(client_id))
                    .filter(figure_dirty::month.eq(month))
                    .filter(figure_dirty::marked_at.eq(marked_at)),
            )
            .execute(c)?;
        }
        Ok(())
    })?;
    Ok(out)
}
