//! Planned visits as a provider's planning system sends them (issue 25):
//! a JSON batch or a CSV file, checked against the municipality's
//! clients and catalogue and the provider's staff, every fault named by
//! its field (`plans[3].client_id`, `rows[5].latest_start`), then stored
//! by the planner's own references ([`crate::db::planned_visit::store`]).

mod derive;
#[cfg(test)]
mod derive_tests;
mod file;
mod input;
#[cfg(test)]
mod tests;

pub use derive::{
    Derived, derive, format_windows, inputs_changed_at, parse_windows, spread, weekly_on,
};
pub use file::{COLUMNS, from_csv};
pub use input::{FUTURE_DAYS, MAX_PLANS, PAST_DAYS, PlanInput};

use crate::db::planned_visit::{self, NewPlan, Stored};
use crate::db::{DbConn, StoreError, client, municipality, provider, service, user_account};
use crate::model::{PlanSource, ServiceId, UserId};
use crate::validate::ValidationErrors;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Faults in the batch, each with its field; nothing was stored.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks `input` for the provider and stores it whole or not at all.
/// `item` names the i-th plan in field paths (`plans[3]`, `rows[5]`).
pub fn import(
    c: &mut DbConn,
    municipality_id: &str,
    provider_id: &str,
    input: &[PlanInput],
    whole_days: bool,
    now: DateTime<Utc>,
    item: &dyn Fn(usize) -> String,
) -> Result<Stored, ImportError> {
    let pr = provider::get(c, municipality_id, provider_id)?;
    let plans = checked(c, municipality_id, &pr.id, input, now, item)?;
    Ok(store_planned(c, &pr.id, &plans, whole_days, now)?)
}

/// Stores a provider's own plans; the plans derived from the orders on
/// the days they cover give way to them (`derive`); the alerts of the
/// plans removed are resolved.
pub(crate) fn store_planned(
    c: &mut DbConn,
    provider_id: &str,
    plans: &[NewPlan],
    whole_days: bool,
    now: DateTime<Utc>,
) -> Result<Stored, StoreError> {
    crate::db::transaction(c, |c| {
        let mut out = planned_visit::store(c, provider_id, plans, whole_days, now.naive_utc())?;
        let mut days: Vec<chrono::NaiveDate> = plans.iter().map(|p| p.local_date).collect();
        days.sort_unstable();
        days.dedup();
        let derived = planned_visit::remove_derived(c, provider_id, &days, &HashSet::new(), None)?;
        out.removed += derived.len();
        out.removed_ids.extend(derived);
        // The alerts of the plans removed are resolved with them.
        crate::evaluate::visit_alerts::resolve_removed(c, &out.removed_ids, now)?;
        Ok(out)
    })
}

/// Derives the plans of today and tomorrow (local) from the orders for
/// every municipality, as at `now` ([`derive`]).
pub fn derive_all(c: &mut DbConn, now: DateTime<Utc>) -> Result<Derived, StoreError> {
    let mut out = Derived::default();
    for m in municipality::list(c)? {
        let today = crate::domain::local_date(now, m.tz().unwrap_or(crate::domain::STOCKHOLM));
        for day in [today, today + chrono::Days::new(1)] {
            out += derive(c, &m, day, now)?;
        }
    }
    Ok(out)
}

/// Reads a CSV file of plans ([`from_csv`]) for the provider and stores
/// it whole or not at all: the faults of the rows that could not be read
/// and of those that could are answered together, each at `rows[N]`.
pub fn import_csv(
    c: &mut DbConn,
    municipality_id: &str,
    provider_id: &str,
    bytes: &[u8],
    whole_days: bool,
    now: DateTime<Utc>,
) -> Result<Stored, ImportError> {
    let pr = provider::get(c, municipality_id, provider_id)?;
    let tz = municipality::get(c, municipality_id)?
        .tz()
        .unwrap_or(crate::domain::STOCKHOLM);
    let (rows, mut faults) = from_csv(bytes, tz);
    let (lines, input): (Vec<usize>, Vec<PlanInput>) = rows.into_iter().unzip();
    let item = |i: usize| format!("rows[{}]", lines.get(i).copied().unwrap_or_default());
    match checked(c, municipality_id, &pr.id, &input, now, &item) {
        Ok(plans) if faults.is_empty() => Ok(store_planned(c, &pr.id, &plans, whole_days, now)?),
        Ok(_) => Err(faults.into()),
        Err(ImportError::Invalid(more)) => {
            faults.0.extend(more.0);
            // In the file's order: the file's and the header's faults
            // first, then row by row.
            faults.0.sort_by_key(|e| {
                e.field
                    .strip_prefix("rows[")
                    .and_then(|r| r.split(']').next())
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0)
            });
            Err(faults.into())
        }
        Err(e) => Err(e),
    }
}

/// The plans as stored, or every fault with its field path.
pub fn checked(
    c: &mut DbConn,
    municipality_id: &str,
    provider_id: &str,
    input: &[PlanInput],
    now: DateTime<Utc>,
    item: &dyn Fn(usize) -> String,
) -> Result<Vec<NewPlan>, ImportError> {
    if input.len() > MAX_PLANS {
        return Err(ValidationErrors::single(
            "plans",
            "too_many",
            format!("at most {MAX_PLANS} plans in one batch"),
        )
        .into());
    }
    let m = municipality::get(c, municipality_id)?;
    let tz = m.tz().unwrap_or(crate::domain::STOCKHOLM);
    // Ids only: the clients' personal data is not needed to check them.
    let clients = client::ids(c, municipality_id)?;
    let staff = user_account::staff_of(c, provider_id)?;
    let catalogue = service::catalogue(c, municipality_id)?;
    let mut v = ValidationErrors::new();
    let mut refs: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(input.len());
    for (i, p) in input.iter().enumerate() {
        let at = item(i);
        let f = |name: &str| format!("{at}.{name}");
        let planner_ref = v.text(&f("planner_ref"), &p.planner_ref, 100);
        if !planner_ref.is_empty() && !refs.insert(planner_ref.clone()) {
            v.add(f("planner_ref"), "duplicate", "sent twice in this batch");
        }
        let client_id = p.client_id.to_string();
        if !clients.contains(client_id.as_str()) {
            v.add(f("client_id"), "unknown_client", "no such client");
        }
        if p.latest_start < p.earliest_start {
            v.add(
                f("latest_start"),
                "before_earliest",
                "before the earliest start",
            );
        } else if p.latest_start - p.earliest_start > Duration::hours(24) {
            v.add(
                f("latest_start"),
                "too_wide",
                "at most 24 hours after the earliest start",
            );
        }
        if p.earliest_start < now - Duration::days(PAST_DAYS)
            || p.earliest_start > now + Duration::days(FUTURE_DAYS)
        {
            v.add(
                f("earliest_start"),
                "out_of_range",
                format!("within {PAST_DAYS} days back and {FUTURE_DAYS} days ahead"),
            );
        }
        if !(1..=1440).contains(&p.expected_minutes) {
            v.add(f("expected_minutes"), "out_of_range", "1 to 1440 minutes");
        }
        if p.tolerance_minutes.is_some_and(|t| !(0..=720).contains(&t)) {
            v.add(f("tolerance_minutes"), "out_of_range", "0 to 720 minutes");
        }
        let mut services = Vec::new();
        for (j, code) in p.services.iter().enumerate() {
            match catalogue.by_code(code) {
                Some(e) => services.push(ServiceId::new(e.id.to_string())),
                None => v.add(
                    format!("{at}.services[{j}]"),
                    "unknown_service",
                    "no such service code",
                ),
            }
        }
        for (j, s) in p.staff.iter().enumerate() {
            if !staff.contains(s.to_string().as_str()) {
                v.add(
                    format!("{at}.staff[{j}]"),
                    "unknown_staff",
                    "not a care worker of this provider",
                );
            }
        }
        out.push(NewPlan {
            planner_ref,
            client_id: client_id.into(),
            local_date: crate::domain::local_date(p.earliest_start, tz),
            earliest_start: p.earliest_start.naive_utc(),
            latest_start: p.latest_start.naive_utc(),
            expected_minutes: p.expected_minutes,
            double_staffing: p.double_staffing,
            time_critical: p.time_critical,
            tolerance_minutes: p.tolerance_minutes,
            source: PlanSource::Planner,
            services,
            staff: p.staff.iter().map(|s| UserId::new(s.to_string())).collect(),
        });
    }
    Ok(v.into_result(out)?)
}
