//! The alerts of planned visits: one per plan and kind, read by plan,
//! resolved with what resolved them.

use super::{Alert, Finding, Outcome, record, same_json};
use crate::db::schema::{alert, alert_history};
use crate::db::{DbConn, StoreError};
use crate::model::{AlertAction, AlertState};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The alerts of the planned visits `plans` that are not resolved.
pub fn open_of_plans(c: &mut DbConn, plans: &[&str]) -> Result<Vec<Alert>, StoreError> {
    let mut out = Vec::new();
    for chunk in plans.chunks(500) {
        out.extend(
            alert::table
                .filter(alert::planned_visit_id.eq_any(chunk))
                .filter(alert::state.ne(AlertState::Resolved))
                .select(Alert::as_select())
                .load::<Alert>(c)?,
        );
    }
    Ok(out)
}

/// The alerts `ids`.
pub fn by_ids(c: &mut DbConn, ids: &[&str]) -> Result<Vec<Alert>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            alert::table
                .filter(alert::id.eq_any(chunk))
                .select(Alert::as_select())
                .load::<Alert>(c)?,
        );
    }
    Ok(out)
}

/// Whether `a`, not resolved, already says what `f` says.
pub fn says_the_same(a: &Alert, f: &Finding) -> bool {
    a.state != AlertState::Resolved && a.message == f.message && same_json(&a.figures, &f.figures)
}

/// Resolves `a` (when it is not resolved already) with a message and
/// figures of what resolved it, e.g. "the check-in came, 20 min late".
pub fn resolve_as(
    c: &mut DbConn,
    a: &Alert,
    message: &str,
    figures: &serde_json::Value,
    note: &str,
    at: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    if a.state == AlertState::Resolved {
        return Ok(Outcome::Unchanged);
    }
    let figures = figures.to_string();
    diesel::update(alert::table.find(&a.id))
        .set((
            alert::state.eq(AlertState::Resolved),
            alert::message.eq(message),
            alert::figures.eq(&figures),
            alert::updated_at.eq(at),
            alert::resolved_at.eq(Some(at)),
        ))
        .execute(c)?;
    record(
        c,
        &a.id,
        at,
        AlertAction::Resolved,
        AlertState::Resolved,
        None,
        note,
        message,
        &figures,
    )?;
    Ok(Outcome::Resolved)
}

/// Which of the planned visits `plans` have an alert a person has ever
/// acknowledged (a late alert acknowledged, then resolved when the visit
/// was missed, counts).
pub fn acknowledged_plans(
    c: &mut DbConn,
    plans: &[&str],
) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let mut out = std::collections::BTreeSet::new();
    for chunk in plans.chunks(500) {
        let rows: Vec<Option<String>> = alert_history::table
            .inner_join(alert::table)
            .filter(alert::planned_visit_id.eq_any(chunk))
            .filter(alert_history::action.eq(AlertAction::Acknowledged))
            .select(alert::planned_visit_id)
            .distinct()
            .load(c)?;
        out.extend(rows.into_iter().flatten());
    }
    Ok(out)
}
