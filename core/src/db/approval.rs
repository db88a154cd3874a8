//! Approval and changes (R6): a provider admin approves visits day by day,
//! corrects a visit's times or voids it with a reason, and locks a month
//! for billing. Nothing is deleted: every change is a `visit_change` row
//! with who, when, why, and the visit before and after.

use super::schema::{month_lock, month_lock_log, visit, visit_change};
use super::visit::{self as visits, Visit};
use super::{DbConn, StoreError, new_id};
use crate::domain::YearMonth;
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

/// One change to a visit.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = visit_change)]
pub struct VisitChange {
    pub id: String,
    pub visit_id: String,
    pub provider_id: String,
    /// `approve`, `correct`, `void` or `reopen`.
    pub kind: String,
    pub reason_code: Option<String>,
    pub comment: String,
    pub changed_by: String,
    #[serde(with = "super::utc")]
    pub changed_at: NaiveDateTime,
    #[serde(skip)]
    pub recorded_at: NaiveDateTime,
    /// The visit before, as JSON.
    pub before_json: String,
    /// The visit after, as JSON.
    pub after_json: String,
    /// Position in the hash chain of visit changes (R14).
    #[serde(skip)]
    pub chain_seq: Option<i64>,
    #[serde(skip)]
    pub prev_hash: String,
    #[serde(skip)]
    pub hash: String,
}

impl VisitChange {
    /// The fields the chain hashes, at position `seq`.
    pub fn fields(&self, seq: i64) -> Vec<String> {
        super::chain::change_fields(
            seq,
            &self.id,
            &self.visit_id,
            &self.provider_id,
            &self.kind,
            self.reason_code.as_deref(),
            &self.comment,
            &self.changed_by,
            self.changed_at,
            self.recorded_at,
            &self.before_json,
            &self.after_json,
        )
    }
}

/// Who changes what, when and why.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub by: &'a str,
    pub at: NaiveDateTime,
    pub reason_code: Option<&'a str>,
    pub comment: &'a str,
}

fn snapshot(v: &Visit) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Encode(e.to_string()))
}

fn log(
    c: &mut DbConn,
    kind: &str,
    before: &Visit,
    after: &Visit,
    ch: Change<'_>,
) -> Result<(), StoreError> {
    let mut row = VisitChange {
        id: new_id(),
        visit_id: after.id.clone(),
        provider_id: after.fields.provider_id.clone(),
        kind: kind.into(),
        reason_code: ch.reason_code.map(str::to_string),
        comment: ch.comment.to_string(),
        changed_by: ch.by.to_string(),
        changed_at: chrono::SubsecRound::trunc_subsecs(ch.at, 6),
        recorded_at: super::now(),
        before_json: snapshot(before)?,
        after_json: snapshot(after)?,
        chain_seq: None,
        prev_hash: String::new(),
        hash: String::new(),
    };
    super::transaction(c, |c| {
        let (seq, prev) = super::chain::next(c, "visit_change")?;
        let f = row.fields(seq);
        let f: Vec<&str> = f.iter().map(String::as_str).collect();
        row.hash = super::chain::link(&prev, &f);
        row.prev_hash = prev;
        row.chain_seq = Some(seq);
        diesel::insert_into(visit_change::table)
            .values(&row)
            .execute(c)?;
        super::chain::advance(c, "visit_change", &row.hash)
    })
}

/// Whether the provider's month is locked.
pub fn is_locked(c: &mut DbConn, provider_id: &str, month: YearMonth) -> Result<bool, StoreError> {
    Ok(month_lock::table
        .find((provider_id, month.to_string()))
        .count()
        .get_result::<i64>(c)?
        > 0)
}

fn ensure_open(c: &mut DbConn, v: &Visit) -> Result<(), StoreError> {
    let month = YearMonth::of(v.fields.local_date);
    if is_locked(c, &v.fields.provider_id, month)? {
        return Err(StoreError::MonthLocked(month.to_string()));
    }
    Ok(())
}

/// Approves one visit as it is (an over-long visit, a manual check-in).
/// A visit without both ends cannot be approved: correct it first.
pub fn approve(c: &mut DbConn, visit_id: &str, ch: Change<'_>) -> Result<Visit, StoreError> {
    let rules = super::figure::rules_for_visit(c, visit_id)?;
    approve_with(c, visit_id, ch, rules)
}

fn approve_with(
    c: &mut DbConn,
    visit_id: &str,
    ch: Change<'_>,
    rules: super::visit::Rules,
) -> Result<Visit, StoreError> {
    super::transaction(c, |c| {
        super::figure::track(c, &[visit_id], rules, |c| {
            let before = visits::get(c, visit_id)?;
            ensure_open(c, &before)?;
            if before.voided || before.elapsed_seconds().is_none() {
                return Err(StoreError::NotApprovable);
            }
            diesel::update(visit::table.find(visit_id))
                .set((
                    visit::approved_at.eq(Some(ch.at)),
                    visit::approved_by.eq(Some(ch.by)),
                ))
                .execute(c)?;
            let after = visits::get(c, visit_id)?;
            log(c, "approve", &before, &after, ch)?;
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
) -> Result<Visit, StoreError> {
    let rules = super::figure::rules_for_visit(c, visit_id)?;
    super::transaction(c, |c| {
        super::figure::track(c, &[visit_id], rules, |c| {
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
            visits::reshare(c, &after)?;
            log(c, "correct", &before, &after, ch)?;
            Ok(after)
        })
    })
}

/// Voids a visit registered by mistake: kept, never counted.
pub fn void(c: &mut DbConn, visit_id: &str, ch: Change<'_>) -> Result<Visit, StoreError> {
    let rules = super::figure::rules_for_visit(c, visit_id)?;
    super::transaction(c, |c| {
        super::figure::track(c, &[visit_id], rules, |c| {
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
            log(c, "void", &before, &after, ch)?;
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
    pub needs_correction: Vec<String>,
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
) -> Result<DayApproval, StoreError> {
    super::transaction(c, |c| {
        if is_locked(c, provider_id, YearMonth::of(date))? {
            return Err(StoreError::MonthLocked(YearMonth::of(date).to_string()));
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
                    None => *rules.insert(super::figure::rules_for_visit(c, &v.id)?),
                };
                approve_with(c, &v.id, ch, r)?;
                out.approved += 1;
            }
        }
        Ok(out)
    })
}

/// Locks a provider's month for billing. Every visit of the month must be
/// approved or voided first.
pub fn lock_month(
    c: &mut DbConn,
    provider_id: &str,
    month: YearMonth,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    super::transaction(c, |c| {
        if is_locked(c, provider_id, month)? {
            return Ok(());
        }
        let unapproved: i64 = visit::table
            .filter(visit::provider_id.eq(provider_id))
            .filter(visit::local_date.between(month.first_day(), month.last_day()))
            .filter(visit::approved_at.is_null())
            .filter(visit::voided.eq(false))
            .count()
            .get_result(c)?;
        if unapproved > 0 {
            return Err(StoreError::NotApproved(unapproved));
        }
        diesel::insert_into(month_lock::table)
            .values((
                month_lock::provider_id.eq(provider_id),
                month_lock::month.eq(month.to_string()),
                month_lock::locked_at.eq(at),
                month_lock::locked_by.eq(by),
            ))
            .execute(c)?;
        log_lock(c, provider_id, month, "locked", by, at, "")
    })
}

/// An admin opens a locked month again (a late correction before the
/// billing run is redone), with a reason; logged. False if it was not locked.
pub fn unlock_month(
    c: &mut DbConn,
    provider_id: &str,
    month: YearMonth,
    by: &str,
    reason: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    super::transaction(c, |c| {
        let removed =
            diesel::delete(month_lock::table.find((provider_id, month.to_string()))).execute(c)?;
        if removed == 0 {
            return Ok(false);
        }
        log_lock(c, provider_id, month, "unlocked", by, at, reason)?;
        Ok(true)
    })
}

fn log_lock(
    c: &mut DbConn,
    provider_id: &str,
    month: YearMonth,
    action: &str,
    by: &str,
    at: NaiveDateTime,
    reason: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(month_lock_log::table)
        .values((
            month_lock_log::provider_id.eq(provider_id),
            month_lock_log::month.eq(month.to_string()),
            month_lock_log::action.eq(action),
            month_lock_log::by_user_id.eq(by),
            month_lock_log::at.eq(at),
            month_lock_log::reason.eq(reason),
        ))
        .execute(c)?;
    Ok(())
}

/// One lock or unlock of a month.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = month_lock_log)]
pub struct LockEvent {
    #[serde(skip)]
    pub seq: i64,
    pub provider_id: String,
    pub month: String,
    /// `locked` or `unlocked`.
    pub action: String,
    pub by_user_id: String,
    #[serde(with = "super::utc")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: NaiveDateTime,
    pub reason: String,
}

/// The locks and unlocks of a provider's month, oldest first.
pub fn lock_log(
    c: &mut DbConn,
    provider_id: &str,
    month: YearMonth,
) -> Result<Vec<LockEvent>, StoreError> {
    Ok(month_lock_log::table
        .filter(month_lock_log::provider_id.eq(provider_id))
        .filter(month_lock_log::month.eq(month.to_string()))
        .order(month_lock_log::seq)
        .select(LockEvent::as_select())
        .load(c)?)
}

/// The locked months of a provider, newest first.
pub fn locked_months(
    c: &mut DbConn,
    provider_id: &str,
) -> Result<Vec<(String, NaiveDateTime, String)>, StoreError> {
    Ok(month_lock::table
        .filter(month_lock::provider_id.eq(provider_id))
        .order(month_lock::month.desc())
        .select((
            month_lock::month,
            month_lock::locked_at,
            month_lock::locked_by,
        ))
        .load(c)?)
}

/// A visit's changes, oldest first.
pub fn history(c: &mut DbConn, visit_id: &str) -> Result<Vec<VisitChange>, StoreError> {
    Ok(visit_change::table
        .filter(visit_change::visit_id.eq(visit_id))
        .order((
            visit_change::changed_at,
            visit_change::recorded_at,
            visit_change::id,
        ))
        .select(VisitChange::as_select())
        .load(c)?)
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
