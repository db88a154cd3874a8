//! Approval and changes (R6): a provider admin approves visits day by day,
//! corrects a visit's times or voids it with a reason, never in a month
//! locked for billing (`db::month_lock`). Every change is recorded in the
//! visit's history (`db::visit_change`).

use super::attribute::reshare;
use crate::db::month_lock::is_locked;
use crate::db::schema::{client, visit};
use crate::db::visit::{self as visits, Visit};
use crate::db::visit_change;
pub use crate::db::visit_change::Change;
use crate::db::{self, DbConn, StoreError};
use crate::db::{ChangeError, RuleError};
use crate::domain::Rules;
use crate::domain::YearMonth;
use crate::model::VisitChangeKind;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

/// Why a visit was corrected or voided.
pub const REASON_CODES: &[&str] = &[
    "forgot_check_in",
    "forgot_check_out",
    "wrong_time",
    "device_fault",
    "registered_by_mistake",
    "other",
];

fn ensure_open(c: &mut DbConn, v: &Visit) -> Result<(), ChangeError> {
    let month = YearMonth::of(v.fields.local_date);
    if is_locked(c, &v.fields.provider_id, month)? {
        return Err(RuleError::MonthLocked(month).into());
    }
    Ok(())
}

/// Approves one visit as it is (an over-long visit, a manual check-in).
/// A visit without both ends cannot be approved: correct it first.
pub fn approve(c: &mut DbConn, visit_id: &str, ch: Change<'_>) -> Result<Visit, ChangeError> {
    let rules = rules_for_visit(c, visit_id)?;
    approve_with(c, visit_id, ch, rules)
}

fn approve_with(
    c: &mut DbConn,
    visit_id: &str,
    ch: Change<'_>,
    rules: Rules,
) -> Result<Visit, ChangeError> {
    db::change(c, |c| {
        track(c, &[visit_id], rules, |c| {
            let before = visits::get(c, visit_id)?;
            ensure_open(c, &before)?;
            if before.voided || before.elapsed_seconds().is_none() {
                return Err(RuleError::NotApprovable.into());
            }
            diesel::update(visit::table.find(visit_id))
                .set((
                    visit::approved_at.eq(Some(ch.at)),
                    visit::approved_by.eq(Some(ch.by)),
                ))
                .execute(c)?;
            let after = visits::get(c, visit_id)?;
            visit_change::record(c, VisitChangeKind::Approve, &before, &after, ch)?;
            Ok(after)
        })
    })
}

/// Corrects a visit's start and/or end. The correction wins over the
/// events from now on (re-pairing keeps it); the visit needs approval again.
/// A visit corrected to another day moves there (its day list, its visit
/// count for R8); neither the month it leaves nor the one it moves to may
/// be locked for billing (R6).
pub fn correct(
    c: &mut DbConn,
    visit_id: &str,
    started_at: Option<NaiveDateTime>,
    ended_at: Option<NaiveDateTime>,
    ch: Change<'_>,
) -> Result<Visit, ChangeError> {
    let rules = rules_for_visit(c, visit_id)?;
    db::change(c, |c| {
        track(c, &[visit_id], rules, |c| {
            let before = visits::get(c, visit_id)?;
            ensure_open(c, &before)?;
            let mut moved = before.clone();
            moved.corrected_started_at = started_at.or(before.corrected_started_at);
            moved.corrected_ended_at = ended_at.or(before.corrected_ended_at);
            moved.fields.local_date = moved.day(rules.tz);
            ensure_open(c, &moved)?;
            diesel::update(visit::table.find(visit_id))
                .set((
                    visit::corrected_started_at.eq(moved.corrected_started_at),
                    visit::corrected_ended_at.eq(moved.corrected_ended_at),
                    visit::local_date.eq(moved.fields.local_date),
                    visit::voided.eq(false),
                    visit::approved_at.eq(None::<NaiveDateTime>),
                    visit::approved_by.eq(None::<String>),
                ))
                .execute(c)?;
            let after = visits::get(c, visit_id)?;
            reshare(c, &after)?;
            visit_change::record(c, VisitChangeKind::Correct, &before, &after, ch)?;
            Ok(after)
        })
    })
}

/// Voids a visit registered by mistake: kept, never counted.
pub fn void(c: &mut DbConn, visit_id: &str, ch: Change<'_>) -> Result<Visit, ChangeError> {
    let rules = rules_for_visit(c, visit_id)?;
    db::change(c, |c| {
        track(c, &[visit_id], rules, |c| {
            let before = visits::get(c, visit_id)?;
            ensure_open(c, &before)?;
            diesel::update(visit::table.find(visit_id))
                .set((
                    visit::voided.eq(true),
                    visit::approved_at.eq(Some(ch.at)),
                    visit::approved_by.eq(Some(ch.by)),
                ))
                .execute(c)?;
            let after = visits::get(c, visit_id)?;
            visit_change::record(c, VisitChangeKind::Void, &before, &after, ch)?;
            Ok(after)
        })
    })
}

/// What approving a day did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayApproval {
    pub approved: usize,
    /// Already approved or voided before.
    pub unchanged: usize,
    /// Open, or missing a check-in or check-out: correct them first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub needs_correction: Vec<crate::model::VisitId>,
}

/// Approves a provider's visits of one local day ("godkänna arbetspass"),
/// or one staff member's. Visits that lack an end or start are left for
/// correction and listed.
pub fn approve_day(
    c: &mut DbConn,
    provider_id: &str,
    date: NaiveDate,
    staff_id: Option<&str>,
    ch: Change<'_>,
) -> Result<DayApproval, ChangeError> {
    db::change(c, |c| {
        if is_locked(c, provider_id, YearMonth::of(date))? {
            return Err(RuleError::MonthLocked(YearMonth::of(date)).into());
        }
        let mut q = visit::table
            .filter(visit::provider_id.eq(provider_id))
            .filter(visit::local_date.eq(date))
            .select(Visit::as_select())
            .into_boxed();
        if let Some(s) = staff_id {
            q = q.filter(visit::staff_id.eq(s.to_string()));
        }
        let mut out = DayApproval::default();
        let mut rules = None;
        for v in q.load::<Visit>(c)? {
            if v.approved_at.is_some() || v.voided {
                out.unchanged += 1;
            } else if v.elapsed_seconds().is_none() {
                out.needs_correction.push(v.id);
            } else {
                // One provider, one municipality: its rules once for the day.
                let r = match rules {
                    Some(r) => r,
                    None => *rules.insert(rules_for_visit(c, &v.id)?),
                };
                approve_with(c, &v.id, ch, r)?;
                out.approved += 1;
            }
        }
        Ok(out)
    })
}

/// A provider's visits of a local day, or one staff member's.
pub fn day_visits(
    c: &mut DbConn,
    provider_id: &str,
    date: NaiveDate,
    staff_id: Option<&str>,
) -> Result<Vec<Visit>, StoreError> {
    let mut q = visit::table
        .filter(visit::provider_id.eq(provider_id))
        .filter(visit::local_date.eq(date))
        .order((visit::staff_id, visit::started_at, visit::id))
        .select(Visit::as_select())
        .into_boxed();
    if let Some(s) = staff_id {
        q = q.filter(visit::staff_id.eq(s.to_string()));
    }
    Ok(q.load(c)?)
}

/// Runs `f`, which changes visits `ids`, and brings the figures along.
fn track<T>(
    c: &mut DbConn,
    ids: &[&str],
    rules: Rules,
    f: impl FnOnce(&mut DbConn) -> Result<T, ChangeError>,
) -> Result<T, ChangeError> {
    let before = db::figure::inputs(c, ids)?;
    let mut visited = client_days(c, ids)?;
    let out = f(c)?;
    let after = db::figure::inputs(c, ids)?;
    db::figure::apply(
        c,
        &db::figure::delta(&before, &after, rules.tz, rules.window),
    )?;
    // A visit corrected or voided may no longer keep its planned visit, or
    // keep another: the clients' plans are judged again (issue 25).
    visited.extend(client_days(c, ids)?);
    super::pending::mark_plans(c, &visited)?;
    Ok(out)
}

/// The clients and local days of the visits `ids`: those they are
/// recorded on and those they are shared with (a couple's).
fn client_days(
    c: &mut DbConn,
    ids: &[&str],
) -> Result<std::collections::BTreeSet<(String, NaiveDate)>, StoreError> {
    use crate::db::schema::visit_share;
    let mut rows: Vec<(String, NaiveDate)> = visit::table
        .filter(visit::id.eq_any(ids))
        .select((visit::client_id, visit::local_date))
        .load(c)?;
    rows.extend(
        visit_share::table
            .inner_join(visit::table)
            .filter(visit::id.eq_any(ids))
            .select((visit_share::client_id, visit::local_date))
            .load::<(String, NaiveDate)>(c)?,
    );
    Ok(rows.into_iter().collect())
}

/// The rules of the municipality a visit's client belongs to.
fn rules_for_visit(c: &mut DbConn, visit_id: &str) -> Result<Rules, StoreError> {
    let municipality_id: String = visit::table
        .inner_join(client::table.on(client::id.eq(visit::client_id)))
        .filter(visit::id.eq(visit_id))
        .select(client::municipality_id)
        .first(c)?;
    let m = db::municipality::get(c, &municipality_id)?;
    m.rules()
        .ok_or_else(|| StoreError::Encode("invalid stored time zone".into()))
}
