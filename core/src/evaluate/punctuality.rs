//! A provider's planned visits of a day against its performed ones, at a
//! given instant (issue 25): each plan's state and the visits that kept
//! it, and the visits no plan was kept by. The rules are
//! [`crate::domain::punctuality`]; this reads what they need.
//!
//! Per plan, unit and provider only: nothing here is a figure per care
//! worker. A planned care worker's phone appears only as the offline
//! caveat of a late or missed plan: the last time that phone delivered an
//! event.

use crate::db::municipality::MunicipalitySettings;
use crate::db::planned_visit::{self, Plan};
use crate::db::schema::{visit, visit_event, visit_share};
use crate::db::visit_share::{VisitShare, of_visits as shares_of};
use crate::db::{DbConn, StoreError};
use crate::domain::punctuality::{
    MatchLimits, Performed, Planned, Standing, Tolerances, match_visits, state,
};
use crate::model::{ClientId, ProviderId, Source, UserId, VisitId};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

/// A plan at an instant.
#[derive(Debug, Clone)]
pub struct PlanAt {
    pub plan: Plan,
    pub standing: Standing,
    /// The visits that kept it, in the order they began.
    pub visits: Vec<VisitId>,
}

/// A provider's day at an instant.
#[derive(Debug, Clone, Default)]
pub struct Day {
    pub plans: Vec<PlanAt>,
    /// Visits of the day that kept no plan.
    pub unplanned: Vec<Unplanned>,
}

/// A visit that kept no plan, and the client it was recorded on.
#[derive(Debug, Clone)]
pub struct Unplanned {
    pub visit_id: VisitId,
    pub client_id: ClientId,
}

/// The municipality's tolerances (a plan's own wins over them).
pub fn tolerances(s: &MunicipalitySettings) -> Tolerances {
    Tolerances {
        ordinary: Duration::minutes(i64::from(s.visit_tolerance_minutes)),
        time_critical: Duration::minutes(i64::from(s.time_critical_tolerance_minutes)),
    }
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// What the rules read of a recorded visit: whose, by whom, when (as
/// corrected). Not the whole row: a threshold minute reads thousands.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = visit)]
struct Seen {
    id: VisitId,
    provider_id: ProviderId,
    client_id: ClientId,
    staff_id: UserId,
    local_date: NaiveDate,
    started_at: Option<NaiveDateTime>,
    ended_at: Option<NaiveDateTime>,
    corrected_started_at: Option<NaiveDateTime>,
    corrected_ended_at: Option<NaiveDateTime>,
}

impl Seen {
    /// The start, corrected or as checked in ([`crate::db::visit::Visit::start`]).
    fn start(&self) -> Option<NaiveDateTime> {
        self.corrected_started_at.or(self.started_at)
    }

    fn end(&self) -> Option<NaiveDateTime> {
        self.corrected_ended_at.or(self.ended_at)
    }
}

/// The provider's plans of `day` and its visits of that day (and of the
/// days either side, for windows near midnight), matched, each plan's
/// state at `now`, with the offline caveat.
pub fn day(
    c: &mut DbConn,
    provider_id: &str,
    day: NaiveDate,
    now: DateTime<Utc>,
    tolerances: &Tolerances,
    limits: MatchLimits,
) -> Result<Day, StoreError> {
    let mut days = days(c, provider_id, day, day, now, tolerances, limits, true)?;
    Ok(days.pop().map(|(_, d)| d).unwrap_or_default())
}

/// [`day`] for each local day of `from..=to`, read at once (a month's
/// report). `caveat`: look up the planned care workers' phones.
#[allow(clippy::too_many_arguments)]
pub fn days(
    c: &mut DbConn,
    provider_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    tolerances: &Tolerances,
    limits: MatchLimits,
    caveat: bool,
) -> Result<Vec<(NaiveDate, Day)>, StoreError> {
    let plans = planned_visit::for_days(c, provider_id, from, to)?;
    let visits: Vec<Seen> = visit::table
        .filter(visit::provider_id.eq(provider_id))
        .filter(visit::local_date.between(from - Duration::days(1), to + Duration::days(1)))
        .filter(visit::voided.eq(false))
        .order((visit::started_at, visit::id))
        .select(Seen::as_select())
        .load(c)?;
    let ids: Vec<&str> = visits.iter().map(|v| v.id.as_str()).collect();
    let attributed = shares_of(c, &ids)?;
    let all: Vec<Performed> = visits.iter().map(|v| performed(v, &attributed)).collect();
    let last_sync = if caveat {
        phones_last_seen(c, &plans, now)?
    } else {
        HashMap::new()
    };
    let mut by_day: HashMap<NaiveDate, Vec<Plan>> = HashMap::new();
    for p in plans {
        by_day.entry(p.plan.local_date).or_default().push(p);
    }
    let mut out = Vec::new();
    for day in from.iter_days().take_while(|d| *d <= to) {
        let plans = by_day.remove(&day).unwrap_or_default();
        // The day's visits and those of the days either side.
        let near: Vec<usize> = (0..visits.len())
            .filter(|i| (visits[*i].local_date - day).num_days().abs() <= 1)
            .collect();
        let performed: Vec<Performed> = near.iter().map(|i| all[*i].clone()).collect();
        let planned: Vec<Planned> = plans.iter().map(planned).collect();
        let matching = match_visits(&planned, &performed, limits);
        let mut d = Day::default();
        for ((plan, p), kept) in plans.into_iter().zip(&planned).zip(&matching.kept_by) {
            let kept_visits: Vec<&Performed> = kept.iter().map(|i| &performed[*i]).collect();
            d.plans.push(PlanAt {
                standing: state(p, &kept_visits, now, tolerances, &last_sync),
                visits: kept.iter().map(|i| visits[near[*i]].id.clone()).collect(),
                plan,
            });
        }
        // Only the day's own visits are its unplanned ones.
        d.unplanned = matching
            .unplanned
            .iter()
            .map(|i| &visits[near[*i]])
            .filter(|v| v.local_date == day)
            .map(|v| Unplanned {
                visit_id: v.id.clone(),
                client_id: v.client_id.clone(),
            })
            .collect();
        out.push((day, d));
    }
    Ok(out)
}

/// `plans` (every plan of their clients on their days, so that each
/// visit keeps the plan it keeps on the whole day) each at `now`, in the
/// order given, without the offline caveat ([`add_caveats`] adds it):
/// what the minute's evaluation reads for the plans it looks at, instead
/// of the providers' whole days.
pub fn standings(
    c: &mut DbConn,
    plans: Vec<Plan>,
    now: DateTime<Utc>,
    tolerances: &Tolerances,
    limits: MatchLimits,
) -> Result<Vec<PlanAt>, StoreError> {
    let (Some(from), Some(to)) = (
        plans.iter().map(|p| p.plan.local_date).min(),
        plans.iter().map(|p| p.plan.local_date).max(),
    ) else {
        return Ok(Vec::new());
    };
    let (from, to) = (from - Duration::days(1), to + Duration::days(1));
    let mut clients: Vec<&str> = plans.iter().map(|p| p.plan.client_id.as_str()).collect();
    clients.sort_unstable();
    clients.dedup();
    // The visits to these clients: recorded on them, or shared with them
    // (a couple's visit recorded on the partner). Chunks of 5,000: SQLite
    // binds up to 32,766 values, PostgreSQL the list as one array.
    let mut visits: Vec<Seen> = Vec::new();
    let mut shared: Vec<String> = Vec::new();
    for chunk in clients.chunks(5000) {
        visits.extend(
            visit::table
                .filter(visit::client_id.eq_any(chunk))
                .filter(visit::local_date.between(from, to))
                .filter(visit::voided.eq(false))
                .select(Seen::as_select())
                .load::<Seen>(c)?,
        );
        shared.extend(
            visit_share::table
                .inner_join(visit::table)
                .filter(visit_share::client_id.eq_any(chunk))
                .filter(visit::client_id.ne_all(chunk))
                .filter(visit::local_date.between(from, to))
                .filter(visit::voided.eq(false))
                .select(visit::id)
                .load::<String>(c)?,
        );
    }
    shared.sort_unstable();
    shared.dedup();
    for chunk in shared.chunks(5000) {
        visits.extend(
            visit::table
                .filter(visit::id.eq_any(chunk))
                .select(Seen::as_select())
                .load::<Seen>(c)?,
        );
    }
    visits.sort_by(|a, b| (a.start(), &a.id).cmp(&(b.start(), &b.id)));
    let refs: Vec<&str> = visits.iter().map(|v| v.id.as_str()).collect();
    let attributed = shares_of(c, &refs)?;
    // The offline caveat comes after ([`add_caveats`]), for the plans
    // late or missed.
    let last_sync = HashMap::new();
    // Matched per provider: another provider's visit keeps none of these
    // plans.
    let mut by_provider: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in plans.iter().enumerate() {
        by_provider
            .entry(p.provider_id.to_string())
            .or_default()
            .push(i);
    }
    let mut out: Vec<Option<PlanAt>> = vec![None; plans.len()];
    for (provider, idx) in by_provider {
        let theirs: Vec<&Seen> = visits
            .iter()
            .filter(|v| v.provider_id.as_str() == provider)
            .collect();
        let performed: Vec<Performed> = theirs.iter().map(|v| performed(v, &attributed)).collect();
        let planned_: Vec<Planned> = idx.iter().map(|i| planned(&plans[*i])).collect();
        let matching = match_visits(&planned_, &performed, limits);
        for ((i, p), kept) in idx.iter().zip(&planned_).zip(&matching.kept_by) {
            let kept_visits: Vec<&Performed> = kept.iter().map(|k| &performed[*k]).collect();
            out[*i] = Some(PlanAt {
                standing: state(p, &kept_visits, now, tolerances, &last_sync),
                visits: kept.iter().map(|k| theirs[*k].id.clone()).collect(),
                plan: plans[*i].clone(),
            });
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// Adds the offline caveat to the plans of `plans` late or missed at
/// `now`: their planned care workers and those phones' last contact.
pub fn add_caveats(
    c: &mut DbConn,
    plans: &mut [PlanAt],
    now: DateTime<Utc>,
    tolerances: &Tolerances,
) -> Result<(), StoreError> {
    use crate::domain::punctuality::{State, offline_since};
    let late: Vec<usize> = (0..plans.len())
        .filter(|i| matches!(plans[*i].standing.state, State::Late | State::Missed))
        .collect();
    if late.is_empty() {
        return Ok(());
    }
    let mut staffed: Vec<Plan> = late.iter().map(|i| plans[*i].plan.clone()).collect();
    planned_visit::add_staff(c, &mut staffed, |_| true)?;
    let last_sync = phones_last_seen(c, &staffed, now)?;
    for (i, p) in late.into_iter().zip(staffed) {
        let x = &mut plans[i];
        x.plan = p;
        x.standing.offline_since = offline_since(&planned(&x.plan), tolerances, &last_sync);
    }
    Ok(())
}

/// The rules' view of a recorded visit: the clients it is for (a couple's
/// shared visit is each partner's).
fn performed(v: &Seen, shares: &HashMap<VisitId, Vec<VisitShare>>) -> Performed {
    let mut client_ids: Vec<String> = shares
        .get(&v.id)
        .map(|a| a.iter().map(|s| s.client_id.to_string()).collect())
        .unwrap_or_default();
    if client_ids.is_empty() {
        client_ids.push(v.client_id.to_string());
    }
    Performed {
        client_ids,
        staff_id: v.staff_id.to_string(),
        started_at: v.start().map(utc),
        ended_at: v.end().map(utc),
    }
}

/// The rules' view of a stored plan.
pub(crate) fn planned(p: &Plan) -> Planned {
    Planned {
        client_id: p.plan.client_id.to_string(),
        earliest_start: utc(p.plan.earliest_start),
        latest_start: utc(p.plan.latest_start),
        expected: Duration::minutes(i64::from(p.plan.expected_minutes)),
        staff: p.plan.staff.iter().map(|s| s.to_string()).collect(),
        double_staffing: p.plan.double_staffing,
        time_critical: p.plan.time_critical,
        tolerance: p
            .plan
            .tolerance_minutes
            .map(|m| Duration::minutes(i64::from(m))),
    }
}

/// The last time each planned care worker's phone reached hemtid (an
/// event delivered, or any signed-in request), as known at `now`.
fn phones_last_seen(
    c: &mut DbConn,
    plans: &[Plan],
    now: DateTime<Utc>,
) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
    let mut staff: Vec<&str> = plans
        .iter()
        .flat_map(|p| p.plan.staff.iter().map(|s| s.as_str()))
        .collect();
    staff.sort_unstable();
    staff.dedup();
    let mut out = HashMap::new();
    for chunk in staff.chunks(500) {
        let rows: Vec<(String, Option<NaiveDateTime>)> = visit_event::table
            .filter(visit_event::source.eq(Source::Phone))
            .filter(visit_event::source_key.eq_any(chunk))
            .filter(visit_event::received_at.le(now.naive_utc()))
            .group_by(visit_event::source_key)
            .select((
                visit_event::source_key,
                diesel::dsl::max(visit_event::received_at),
            ))
            .load(c)?;
        for (s, at) in rows {
            if let Some(at) = at {
                out.insert(s, utc(at));
            }
        }
    }
    // Any signed-in request of the phone, with or without an event; only
    // the latest is kept, so one later than `now` is not known at `now`.
    for (s, at) in crate::db::phone_contact::last_seen(c, &staff)? {
        let at = utc(at);
        if at <= now {
            let known = out.entry(s).or_insert(at);
            *known = (*known).max(at);
        }
    }
    Ok(out)
}
