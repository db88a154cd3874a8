//! Variance alerts: one per client, month and kind. Re-evaluation updates
//! the alert (or resolves it when its condition is gone) and never makes a
//! second one; every change is kept in its history and written to the
//! outbox (`alert_event`) that the MQTT and Server-Sent-Events publishers read.
//! The alerts of planned visits (one per plan and kind) are read by
//! [`plans`].

use super::schema::{alert, alert_event, alert_history, outbox_cursor};
use super::{DbConn, StoreError};
use crate::model::{
    AlertAction, AlertKind, AlertState, Audience, ClientId, MunicipalityId, PlannedVisitId,
    ProviderId, UserId,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

mod batch;
mod plans;
pub use batch::{Changes, raise};
pub use plans::*;

/// A stored alert (what the contracts show of it is
/// [`crate::contract::AlertBody`]).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = alert)]
pub struct Alert {
    pub id: String,
    pub municipality_id: MunicipalityId,
    pub client_id: ClientId,
    /// `YYYY-MM`, local.
    pub month: String,
    pub kind: AlertKind,
    /// The rule ids applied, e.g. `R1,R2` (see the glossary).
    pub rules: String,
    pub audience: Audience,
    pub caseworker_id: Option<UserId>,
    pub provider_id: Option<ProviderId>,
    pub state: AlertState,
    /// In Swedish, for the caseworker or provider.
    pub message: String,
    /// The figures behind the alert (minutes, percentages, days), JSON.
    pub figures: String,
    pub raised_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    /// The planned visit a `visit_late`, `visit_missed` or
    /// `visit_not_acknowledged` alert is about (one alert per plan and
    /// kind); unset for the kinds that belong to a client's month.
    pub planned_visit_id: Option<PlannedVisitId>,
}

/// One stored change of an alert (what the API shows of it is
/// [`crate::contract::AlertChangeBody`]).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = alert_history)]
pub struct AlertChange {
    pub seq: i64,
    pub alert_id: String,
    pub at: NaiveDateTime,
    pub action: AlertAction,
    /// The state after the change.
    pub state: AlertState,
    /// Who did it; unset when the rules did.
    pub by_user_id: Option<UserId>,
    pub note: String,
    pub message: String,
    /// JSON.
    pub figures: String,
}

/// What the rules found for a client, month and kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub municipality_id: MunicipalityId,
    pub client_id: ClientId,
    pub month: String,
    pub kind: AlertKind,
    pub caseworker_id: Option<UserId>,
    pub provider_id: Option<ProviderId>,
    pub message: String,
    pub figures: serde_json::Value,
    /// Set for the kinds of one planned visit (then the alert is the
    /// plan's, whatever its month).
    pub planned_visit_id: Option<PlannedVisitId>,
}

/// What [`raise`] or [`clear`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Raised,
    Updated,
    Reopened,
    Resolved,
    Unchanged,
}

fn find(
    c: &mut DbConn,
    client_id: &str,
    month: &str,
    kind: AlertKind,
) -> Result<Option<Alert>, StoreError> {
    Ok(alert::table
        .filter(alert::client_id.eq(client_id))
        .filter(alert::month.eq(month))
        .filter(alert::kind.eq(kind))
        .filter(alert::planned_visit_id.is_null())
        .select(Alert::as_select())
        .first(c)
        .optional()?)
}

/// The alert of `kind` about planned visit `plan`, if any.
pub fn of_plan(c: &mut DbConn, plan: &str, kind: AlertKind) -> Result<Option<Alert>, StoreError> {
    Ok(alert::table
        .filter(alert::planned_visit_id.eq(plan))
        .filter(alert::kind.eq(kind))
        .select(Alert::as_select())
        .first(c)
        .optional()?)
}

pub(super) fn same_json(stored: &str, v: &serde_json::Value) -> bool {
    serde_json::from_str::<serde_json::Value>(stored).is_ok_and(|s| &s == v)
}

/// The condition no longer holds: resolve the alert if there is one.
pub fn clear(
    c: &mut DbConn,
    client_id: &str,
    month: &str,
    kind: AlertKind,
    at: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    match find(c, client_id, month, kind)? {
        Some(a) if a.state != AlertState::Resolved => {
            set_state(
                c,
                &a,
                AlertState::Resolved,
                None,
                "Villkoret gäller inte längre.",
                at,
            )?;
            Ok(Outcome::Resolved)
        }
        _ => Ok(Outcome::Unchanged),
    }
}

/// Deadline alerts carry the month their deadline fell in: when the
/// condition is gone, or the deadline moved to another month, the alerts of
/// `kind` for other months than `keep` are resolved.
pub fn clear_except(
    c: &mut DbConn,
    client_id: &str,
    kind: AlertKind,
    keep: Option<&str>,
    at: NaiveDateTime,
) -> Result<usize, StoreError> {
    let open: Vec<Alert> = alert::table
        .filter(alert::client_id.eq(client_id))
        .filter(alert::kind.eq(kind))
        .filter(alert::state.ne(AlertState::Resolved))
        .select(Alert::as_select())
        .load(c)?;
    let mut n = 0;
    for a in open.iter().filter(|a| Some(a.month.as_str()) != keep) {
        set_state(
            c,
            a,
            AlertState::Resolved,
            None,
            "Villkoret gäller inte längre.",
            at,
        )?;
        n += 1;
    }
    Ok(n)
}

/// A person acknowledges or resolves an alert.
pub fn act(
    c: &mut DbConn,
    id: &str,
    state: AlertState,
    by: &str,
    note: &str,
    at: NaiveDateTime,
) -> Result<Alert, StoreError> {
    super::transaction(c, |c| {
        let a = get(c, id)?;
        // Acknowledging what is resolved already changes nothing.
        let moot = a.state == AlertState::Resolved && state == AlertState::Acknowledged;
        if a.state != state && !moot {
            set_state(c, &a, state, Some(by), note, at)?;
        }
        get(c, id)
    })
}

fn set_state(
    c: &mut DbConn,
    a: &Alert,
    state: AlertState,
    by: Option<&str>,
    note: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let resolved_at = (state == AlertState::Resolved).then_some(at);
    diesel::update(alert::table.find(&a.id))
        .set((
            alert::state.eq(state),
            alert::updated_at.eq(at),
            alert::resolved_at.eq(resolved_at),
        ))
        .execute(c)?;
    // A person's answer to a planned visit's alert changes its escalation:
    // the plan is judged again at once.
    if let Some(plan) = &a.planned_visit_id {
        crate::db::planned_visit::mark_due(c, &[plan.as_str()])?;
    }
    let action = match state {
        AlertState::Resolved => AlertAction::Resolved,
        AlertState::Acknowledged => AlertAction::Acknowledged,
        AlertState::Open => AlertAction::Reopened,
    };
    record(
        c, &a.id, at, action, state, by, note, &a.message, &a.figures,
    )
}

#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    c: &mut DbConn,
    alert_id: &str,
    at: NaiveDateTime,
    action: AlertAction,
    state: AlertState,
    by: Option<&str>,
    note: &str,
    message: &str,
    figures: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(alert_history::table)
        .values((
            alert_history::alert_id.eq(alert_id),
            alert_history::at.eq(at),
            alert_history::action.eq(action),
            alert_history::state.eq(state),
            alert_history::by_user_id.eq(by),
            alert_history::note.eq(note),
            alert_history::message.eq(message),
            alert_history::figures.eq(figures),
        ))
        .execute(c)?;
    diesel::insert_into(alert_event::table)
        .values((alert_event::alert_id.eq(alert_id), alert_event::at.eq(at)))
        .execute(c)?;
    Ok(())
}

pub fn get(c: &mut DbConn, id: &str) -> Result<Alert, StoreError> {
    Ok(alert::table.find(id).select(Alert::as_select()).first(c)?)
}

/// An alert's changes, oldest first.
pub fn history(c: &mut DbConn, id: &str) -> Result<Vec<AlertChange>, StoreError> {
    Ok(alert_history::table
        .filter(alert_history::alert_id.eq(id))
        .order(alert_history::seq)
        .select(AlertChange::as_select())
        .load(c)?)
}

/// Who is asking, for [`list`].
#[derive(Debug, Clone)]
pub enum Viewer {
    /// Alerts for this caseworker (not those for the provider first).
    Caseworker(String),
    /// Alerts about this provider's clients (not the fee administrators').
    Provider(String),
    /// Alerts for fee administrators.
    FeeAdmin,
    /// Everything of the municipality.
    Admin,
}

/// A filter for [`list`].
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    pub kind: Option<AlertKind>,
    pub state: Option<AlertState>,
    pub month: Option<&'a str>,
    pub client_id: Option<&'a str>,
}

/// Whether `viewer` may see `a`.
pub fn visible(a: &Alert, viewer: &Viewer) -> bool {
    match viewer {
        Viewer::Caseworker(id) => {
            a.caseworker_id.as_deref() == Some(id.as_str()) && a.audience == Audience::Caseworker
        }
        Viewer::Provider(id) => {
            a.provider_id.as_deref() == Some(id.as_str()) && a.audience != Audience::FeeAdmin
        }
        Viewer::FeeAdmin => a.audience == Audience::FeeAdmin,
        Viewer::Admin => true,
    }
}

/// A municipality's alerts that `viewer` may see, newest first.
pub fn list(
    c: &mut DbConn,
    municipality_id: &str,
    viewer: &Viewer,
    f: &Filter<'_>,
    limit: i64,
) -> Result<Vec<Alert>, StoreError> {
    let mut q = alert::table
        .filter(alert::municipality_id.eq(municipality_id))
        .select(Alert::as_select())
        .order((alert::updated_at.desc(), alert::id))
        .limit(limit)
        .into_boxed();
    q = match viewer {
        Viewer::Caseworker(id) => q
            .filter(alert::caseworker_id.eq(id.clone()))
            .filter(alert::audience.eq(Audience::Caseworker)),
        Viewer::Provider(id) => q
            .filter(alert::provider_id.eq(id.clone()))
            .filter(alert::audience.ne(Audience::FeeAdmin)),
        Viewer::FeeAdmin => q.filter(alert::audience.eq(Audience::FeeAdmin)),
        Viewer::Admin => q,
    };
    if let Some(k) = f.kind {
        q = q.filter(alert::kind.eq(k));
    }
    if let Some(s) = f.state {
        q = q.filter(alert::state.eq(s));
    }
    if let Some(m) = f.month {
        q = q.filter(alert::month.eq(m.to_string()));
    }
    if let Some(cl) = f.client_id {
        q = q.filter(alert::client_id.eq(cl.to_string()));
    }
    Ok(q.load(c)?)
}

/// Alert changes after `seq` in order, with the alert as it is now.
pub fn events_after(c: &mut DbConn, seq: i64, limit: i64) -> Result<Vec<(i64, Alert)>, StoreError> {
    let events: Vec<(i64, String)> = alert_event::table
        .filter(alert_event::seq.gt(seq))
        .order(alert_event::seq)
        .limit(limit)
        .select((alert_event::seq, alert_event::alert_id))
        .load(c)?;
    let ids: Vec<&str> = events.iter().map(|(_, id)| id.as_str()).collect();
    let alerts: std::collections::HashMap<String, Alert> = alert::table
        .filter(alert::id.eq_any(&ids))
        .select(Alert::as_select())
        .load::<Alert>(c)?
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    Ok(events
        .into_iter()
        .filter_map(|(s, id)| alerts.get(&id).map(|a| (s, a.clone())))
        .collect())
}

/// The last alert change so far (0 when there is none).
pub fn last_seq(c: &mut DbConn) -> Result<i64, StoreError> {
    Ok(alert_event::table
        .select(diesel::dsl::max(alert_event::seq))
        .first::<Option<i64>>(c)?
        .unwrap_or(0))
}

/// How far the publisher `name` has read (0 before its first run).
pub fn cursor(c: &mut DbConn, name: &str) -> Result<i64, StoreError> {
    Ok(outbox_cursor::table
        .find(name)
        .select(outbox_cursor::seq)
        .first(c)
        .optional()?
        .unwrap_or(0))
}

/// Moves the publisher's cursor from `from` to `to`; false when another
/// publisher moved it meanwhile.
pub fn advance_cursor(c: &mut DbConn, name: &str, from: i64, to: i64) -> Result<bool, StoreError> {
    let updated = diesel::update(
        outbox_cursor::table
            .filter(outbox_cursor::name.eq(name))
            .filter(outbox_cursor::seq.eq(from)),
    )
    .set(outbox_cursor::seq.eq(to))
    .execute(c)?;
    if updated == 1 {
        return Ok(true);
    }
    if from == 0 && cursor(c, name)? == 0 {
        let inserted = diesel::insert_into(outbox_cursor::table)
            .values((outbox_cursor::name.eq(name), outbox_cursor::seq.eq(to)))
            .execute(c);
        return match inserted {
            Ok(_) => Ok(true),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Ok(false),
            Err(e) => Err(e.into()),
        };
    }
    Ok(false)
}
