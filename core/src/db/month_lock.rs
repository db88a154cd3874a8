//! Month locks (R6): a provider's month locked for billing, and the log
//! of every lock and unlock with who, when and why.

use super::schema::{month_lock, month_lock_log, visit};
use super::{DbConn, StoreError};
use crate::db::{ChangeError, RuleError};
use crate::domain::YearMonth;
use crate::model::{ProviderId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Whether the provider's month is locked.
pub fn is_locked(c: &mut DbConn, provider_id: &str, month: YearMonth) -> Result<bool, StoreError> {
    Ok(month_lock::table
        .find((provider_id, month.to_string()))
        .count()
        .get_result::<i64>(c)?
        > 0)
}

/// Locks a provider's month for billing. Every visit of the month must be
/// approved or voided first.
pub fn lock_month(
    c: &mut DbConn,
    provider_id: &str,
    month: YearMonth,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), ChangeError> {
    super::change(c, |c| {
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
            return Err(RuleError::NotApproved(unapproved).into());
        }
        diesel::insert_into(month_lock::table)
            .values((
                month_lock::provider_id.eq(provider_id),
                month_lock::month.eq(month.to_string()),
                month_lock::locked_at.eq(at),
                month_lock::locked_by.eq(by),
            ))
            .execute(c)?;
        Ok(log_lock(c, provider_id, month, "locked", by, at, "")?)
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
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = month_lock_log)]
pub struct LockEvent {
    pub seq: i64,
    pub provider_id: ProviderId,
    pub month: String,
    /// `locked` or `unlocked`.
    pub action: String,
    pub by_user_id: UserId,
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
