//! The tables `planned_visit`, `planned_visit_service` and
//! `planned_visit_staff`: what a provider's planning system says is to
//! happen per client and day (issue 25). Plans are kept by the planner's
//! own reference per provider, so sending a plan again replaces it, and
//! sending the same plans twice changes nothing.

use super::schema::{planned_visit, planned_visit_service, planned_visit_staff};
use super::{DbConn, StoreError};
use crate::model::{ClientId, PlanSource, PlannedVisitId, ProviderId, ServiceId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// A plan as a planning system sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlan {
    /// The planning system's own id of the visit.
    pub planner_ref: String,
    pub client_id: ClientId,
    /// The local day it is planned for.
    pub local_date: NaiveDate,
    /// UTC.
    pub earliest_start: NaiveDateTime,
    /// UTC.
    pub latest_start: NaiveDateTime,
    pub expected_minutes: i32,
    pub double_staffing: bool,
    pub time_critical: bool,
    pub tolerance_minutes: Option<i32>,
    pub source: PlanSource,
    /// Sorted, without repeats (as stored).
    pub services: Vec<ServiceId>,
    /// Sorted, without repeats (as stored).
    pub staff: Vec<UserId>,
}

impl NewPlan {
    /// The same plan with its lists in their stored order.
    fn normalised(&self) -> NewPlan {
        let mut plan = self.clone();
        plan.services.sort();
        plan.services.dedup();
        plan.staff.sort();
        plan.staff.dedup();
        plan
    }
}

/// A stored plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: PlannedVisitId,
    pub provider_id: ProviderId,
    pub plan: NewPlan,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = planned_visit)]
struct Row {
    id: PlannedVisitId,
    provider_id: ProviderId,
    planner_ref: String,
    client_id: ClientId,
    local_date: NaiveDate,
    earliest_start: NaiveDateTime,
    latest_start: NaiveDateTime,
    expected_minutes: i32,
    double_staffing: bool,
    time_critical: bool,
    tolerance_minutes: Option<i32>,
    source: PlanSource,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What storing a batch of plans did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Plans of the batch's days that the batch no longer holds (only
    /// when the days are replaced whole).
    pub removed: usize,
    /// Their ids (their open alerts are to be resolved).
    pub removed_ids: Vec<PlannedVisitId>,
}

/// Stores a provider's plans by their planner references: a new reference
/// is created, a known one replaced if it differs. With `whole_days`,
/// every other plan of the provider on the days the batch covers is
/// removed (the planning system sends each day whole). One transaction:
/// all of the batch or none of it (a batch that repeats a reference is
/// refused by the database whole; the API checks for it first).
pub fn store(
    c: &mut DbConn,
    provider_id: &str,
    plans: &[NewPlan],
    whole_days: bool,
    at: NaiveDateTime,
) -> Result<Stored, StoreError> {
    super::transaction(c, |c| {
        let mut out = Stored::default();
        let days: BTreeSet<NaiveDate> = plans.iter().map(|p| p.local_date).collect();
        let refs: Vec<&str> = plans.iter().map(|p| p.planner_ref.as_str()).collect();
        let mut known: HashMap<String, Plan> = HashMap::new();
        for chunk in refs.chunks(500) {
            let rows: Vec<Row> = planned_visit::table
                .filter(planned_visit::provider_id.eq(provider_id))
                .filter(planned_visit::planner_ref.eq_any(chunk))
                .select(Row::as_select())
                .load(c)?;
            for p in with_lists(c, rows)? {
                known.insert(p.plan.planner_ref.clone(), p);
            }
        }
        for new in plans {
            let new = new.normalised();
            match known.get(&new.planner_ref) {
                Some(old) if old.plan == new => out.unchanged += 1,
                Some(old) => {
                    let id = old.id.clone();
                    diesel::update(planned_visit::table.find(&id))
                        .set((
                            planned_visit::client_id.eq(&new.client_id),
                            planned_visit::local_date.eq(new.local_date),
                            planned_visit::earliest_start.eq(new.earliest_start),
                            planned_visit::latest_start.eq(new.latest_start),
                            planned_visit::expected_minutes.eq(new.expected_minutes),
                            planned_visit::double_staffing.eq(new.double_staffing),
                            planned_visit::settled_at.eq(None::<NaiveDateTime>),
                            planned_visit::due_at.eq(Some(at_once())),
                            planned_visit::time_critical.eq(new.time_critical),
                            planned_visit::tolerance_minutes.eq(new.tolerance_minutes),
                            planned_visit::source.eq(new.source),
                            planned_visit::updated_at.eq(at),
                        ))
                        .execute(c)?;
                    write_lists(c, &id, &new, true)?;
                    out.updated += 1;
                }
                None => {
                    let id = PlannedVisitId::new(super::new_id());
                    diesel::insert_into(planned_visit::table)
                        .values((
                            planned_visit::id.eq(&id),
                            planned_visit::provider_id.eq(provider_id),
                            planned_visit::planner_ref.eq(&new.planner_ref),
                            planned_visit::client_id.eq(&new.client_id),
                            planned_visit::local_date.eq(new.local_date),
                            planned_visit::earliest_start.eq(new.earliest_start),
                            planned_visit::latest_start.eq(new.latest_start),
                            planned_visit::expected_minutes.eq(new.expected_minutes),
                            planned_visit::double_staffing.eq(new.double_staffing),
                            planned_visit::time_critical.eq(new.time_critical),
                            planned_visit::tolerance_minutes.eq(new.tolerance_minutes),
                            planned_visit::source.eq(new.source),
                            planned_visit::due_at.eq(Some(new.latest_start)),
                            planned_visit::created_at.eq(at),
                            planned_visit::updated_at.eq(at),
                        ))
                        .execute(c)?;
                    write_lists(c, &id, &new, false)?;
                    out.created += 1;
                }
            }
        }
        if whole_days {
            let sent: std::collections::HashSet<&str> = refs.iter().copied().collect();
            for day in days {
                let on_day: Vec<(PlannedVisitId, String)> = planned_visit::table
                    .filter(planned_visit::provider_id.eq(provider_id))
                    .filter(planned_visit::local_date.eq(day))
                    .select((planned_visit::id, planned_visit::planner_ref))
                    .load(c)?;
                for (id, r) in on_day {
                    if !sent.contains(r.as_str()) {
                        diesel::delete(planned_visit::table.find(&id)).execute(c)?;
                        out.removed += 1;
                        out.removed_ids.push(id);
                    }
                }
            }
        }
        Ok(out)
    })
}

/// Writes a plan's services and staff (replacing those it had).
fn write_lists(
    c: &mut DbConn,
    id: &PlannedVisitId,
    p: &NewPlan,
    replace: bool,
) -> Result<(), StoreError> {
    if replace {
        diesel::delete(
            planned_visit_service::table.filter(planned_visit_service::planned_visit_id.eq(id)),
        )
        .execute(c)?;
        diesel::delete(
            planned_visit_staff::table.filter(planned_visit_staff::planned_visit_id.eq(id)),
        )
        .execute(c)?;
    }
    // Row by row: diesel's MultiConnection takes no multi-row insert of
    // tuples on SQLite; a day's plan has few services and care workers.
    for s in &p.services {
        diesel::insert_into(planned_visit_service::table)
            .values((
                planned_visit_service::planned_visit_id.eq(id),
                planned_visit_service::service_id.eq(s),
            ))
            .execute(c)?;
    }
    for s in &p.staff {
        diesel::insert_into(planned_visit_staff::table)
            .values((
                planned_visit_staff::planned_visit_id.eq(id),
                planned_visit_staff::staff_id.eq(s),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Rows with their services and staff.
/// Ids per statement: SQLite (3.32 and later) takes 32,766 bound values;
/// PostgreSQL binds the list as one array.
const CHUNK: usize = 5000;

fn with_lists(c: &mut DbConn, rows: Vec<Row>) -> Result<Vec<Plan>, StoreError> {
    with_lists_of(c, rows, true)
}

/// `rows` with their staff, and their services when `with_services`
/// (the punctuality rules need no services).
fn with_lists_of(
    c: &mut DbConn,
    rows: Vec<Row>,
    with_services: bool,
) -> Result<Vec<Plan>, StoreError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut services: HashMap<String, Vec<ServiceId>> = HashMap::new();
    let mut staff: HashMap<String, Vec<UserId>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let s: Vec<(String, ServiceId)> = if !with_services {
            Vec::new()
        } else {
            planned_visit_service::table
                .filter(planned_visit_service::planned_visit_id.eq_any(chunk))
                .select((
                    planned_visit_service::planned_visit_id,
                    planned_visit_service::service_id,
                ))
                .order((
                    planned_visit_service::planned_visit_id,
                    planned_visit_service::service_id,
                ))
                .load(c)?
        };
        for (id, sid) in s {
            services.entry(id).or_default().push(sid);
        }
        let w: Vec<(String, UserId)> = planned_visit_staff::table
            .filter(planned_visit_staff::planned_visit_id.eq_any(chunk))
            .select((
                planned_visit_staff::planned_visit_id,
                planned_visit_staff::staff_id,
            ))
            .order((
                planned_visit_staff::planned_visit_id,
                planned_visit_staff::staff_id,
            ))
            .load(c)?;
        for (id, uid) in w {
            staff.entry(id).or_default().push(uid);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| Plan {
            plan: NewPlan {
                services: services.remove(r.id.as_str()).unwrap_or_default(),
                staff: staff.remove(r.id.as_str()).unwrap_or_default(),
                planner_ref: r.planner_ref,
                client_id: r.client_id,
                local_date: r.local_date,
                earliest_start: r.earliest_start,
                latest_start: r.latest_start,
                expected_minutes: r.expected_minutes,
                double_staffing: r.double_staffing,
                time_critical: r.time_critical,
                tolerance_minutes: r.tolerance_minutes,
                source: r.source,
            },
            id: r.id,
            provider_id: r.provider_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

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
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Due {
    pub id: PlannedVisitId,
    pub client_id: ClientId,
    pub local_date: NaiveDate,
    pub settled_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
}

/// The plans of a municipality on `days` whose instant to be judged is at
/// or before `at` (read by the partial index on `due_at`).
pub fn due(
    c: &mut DbConn,
    municipality_id: &str,
    days: &[NaiveDate],
    at: NaiveDateTime,
) -> Result<Vec<Due>, StoreError> {
    use super::schema::provider;
    Ok(planned_visit::table
        .inner_join(provider::table)
        .filter(provider::municipality_id.eq(municipality_id))
        .filter(planned_visit::due_at.le(at))
        .filter(planned_visit::local_date.eq_any(days))
        .select((
            planned_visit::id,
            planned_visit::client_id,
            planned_visit::local_date,
            planned_visit::settled_at,
            planned_visit::due_at,
        ))
        .load(c)?)
}

/// Sets each plan's next instant to be judged, `(id, read, next)`: only
/// where it still holds what the run read, so a visit or an
/// acknowledgement that asked for the plan meanwhile is not overwritten.
/// Grouped by the pair of instants (a municipality's plans share few).
pub fn set_due(
    c: &mut DbConn,
    plans: &[(&str, Option<NaiveDateTime>, Option<NaiveDateTime>)],
) -> Result<usize, StoreError> {
    type Pair = (Option<NaiveDateTime>, Option<NaiveDateTime>);
    let mut by: HashMap<Pair, Vec<&str>> = HashMap::new();
    for (id, read, next) in plans {
        if read != next {
            by.entry((*read, *next)).or_default().push(id);
        }
    }
    let mut n = 0;
    for ((read, next), ids) in by {
        for chunk in ids.chunks(CHUNK) {
            let q = planned_visit::table.filter(planned_visit::id.eq_any(chunk));
            n += match read {
                Some(r) => diesel::update(q.filter(planned_visit::due_at.eq(r)))
                    .set(planned_visit::due_at.eq(next))
                    .execute(c)?,
                None => diesel::update(q.filter(planned_visit::due_at.is_null()))
                    .set(planned_visit::due_at.eq(next))
                    .execute(c)?,
            };
        }
    }
    Ok(n)
}

/// Asks for the plans `ids` to be judged at once.
pub fn mark_due(c: &mut DbConn, ids: &[&str]) -> Result<usize, StoreError> {
    let mut n = 0;
    for chunk in ids.chunks(CHUNK) {
        n += diesel::update(planned_visit::table.filter(planned_visit::id.eq_any(chunk)))
            .set(planned_visit::due_at.eq(Some(at_once())))
            .execute(c)?;
    }
    Ok(n)
}

/// Asks for every plan of `clients` on the local days `from..=to` to be
/// judged at once: a visit of theirs was recorded, corrected or voided.
/// One statement per 5,000 clients, by the index on client and day.
pub fn mark_clients_due(
    c: &mut DbConn,
    clients: &[&str],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<usize, StoreError> {
    let mut n = 0;
    for chunk in clients.chunks(CHUNK) {
        n += diesel::update(
            planned_visit::table
                .filter(planned_visit::client_id.eq_any(chunk))
                .filter(planned_visit::local_date.between(from, to)),
        )
        .set(planned_visit::due_at.eq(Some(at_once())))
        .execute(c)?;
    }
    Ok(n)
}

/// Asks for every plan of a municipality that may still change to be
/// judged at once: its tolerances or escalation time changed.
pub fn mark_municipality_due(c: &mut DbConn, municipality_id: &str) -> Result<usize, StoreError> {
    use super::schema::provider;
    let providers = provider::table
        .filter(provider::municipality_id.eq(municipality_id))
        .select(provider::id);
    Ok(diesel::update(
        planned_visit::table
            .filter(planned_visit::provider_id.eq_any(providers))
            .filter(
                planned_visit::settled_at
                    .is_null()
                    .or(planned_visit::due_at.is_not_null()),
            ),
    )
    .set(planned_visit::due_at.eq(Some(at_once())))
    .execute(c)?)
}

/// Of a municipality's plans whose instant has come but whose day the
/// run does not judge: those before `first` are no longer judged (their
/// instant is cleared), those after `last` wait for their latest start.
pub fn put_off_other_days(
    c: &mut DbConn,
    municipality_id: &str,
    first: NaiveDate,
    last: NaiveDate,
    at: NaiveDateTime,
) -> Result<usize, StoreError> {
    use super::schema::provider;
    let providers = || {
        provider::table
            .filter(provider::municipality_id.eq(municipality_id))
            .select(provider::id)
    };
    let before = diesel::update(
        planned_visit::table
            .filter(planned_visit::due_at.le(at))
            .filter(planned_visit::local_date.lt(first))
            .filter(planned_visit::provider_id.eq_any(providers())),
    )
    .set(planned_visit::due_at.eq(None::<NaiveDateTime>))
    .execute(c)?;
    let after = diesel::update(
        planned_visit::table
            .filter(planned_visit::due_at.le(at))
            .filter(planned_visit::local_date.gt(last))
            .filter(planned_visit::provider_id.eq_any(providers())),
    )
    .set(planned_visit::due_at.eq(planned_visit::latest_start.nullable()))
    .execute(c)?;
    Ok(before + after)
}

/// The earliest instant after `after` any plan is to be judged (the first
/// entry of the partial index past it).
pub fn next_due_after(
    c: &mut DbConn,
    after: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(planned_visit::table
        .filter(planned_visit::due_at.gt(after))
        .select(diesel::dsl::min(planned_visit::due_at))
        .first(c)?)
}

/// The earliest instant any plan is to be judged (the evaluator's cue).
pub fn next_due(c: &mut DbConn) -> Result<Option<NaiveDateTime>, StoreError> {
    next_due_after(c, AT_ONCE - chrono::Duration::seconds(1))
}

/// Every plan of `clients` on `days`, with its staff (not its services:
/// the punctuality rules' read).
pub fn of_clients(
    c: &mut DbConn,
    clients: &[&str],
    days: &[NaiveDate],
) -> Result<Vec<Plan>, StoreError> {
    let mut rows: Vec<Row> = Vec::new();
    for chunk in clients.chunks(CHUNK) {
        rows.extend(
            planned_visit::table
                .filter(planned_visit::client_id.eq_any(chunk))
                .filter(planned_visit::local_date.eq_any(days))
                .order((planned_visit::latest_start, planned_visit::planner_ref))
                .select(Row::as_select())
                .load::<Row>(c)?,
        );
    }
    with_lists_of(c, rows, false)
}

/// The stored ones of `ids`, with their staff (not their services).
pub fn by_ids(c: &mut DbConn, ids: &[&str]) -> Result<Vec<Plan>, StoreError> {
    let mut rows: Vec<Row> = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        rows.extend(
            planned_visit::table
                .filter(planned_visit::id.eq_any(chunk))
                .select(Row::as_select())
                .load::<Row>(c)?,
        );
    }
    with_lists_of(c, rows, false)
}

/// Marks `ids` settled: their state can no longer change.
pub fn settle(c: &mut DbConn, ids: &[&str], at: NaiveDateTime) -> Result<usize, StoreError> {
    let mut n = 0;
    for chunk in ids.chunks(500) {
        n += diesel::update(planned_visit::table.filter(planned_visit::id.eq_any(chunk)))
            .set(planned_visit::settled_at.eq(Some(at)))
            .execute(c)?;
    }
    Ok(n)
}

/// Deletes the provider's plans derived from the orders on `days` whose
/// reference is not in `keep`; with `after`, only those whose latest
/// start is later (a past plan is the day's history). Returns their ids.
pub fn remove_derived(
    c: &mut DbConn,
    provider_id: &str,
    days: &[NaiveDate],
    keep: &std::collections::HashSet<&str>,
    after: Option<NaiveDateTime>,
) -> Result<Vec<PlannedVisitId>, StoreError> {
    let mut q = planned_visit::table
        .filter(planned_visit::provider_id.eq(provider_id))
        .filter(planned_visit::local_date.eq_any(days))
        .filter(planned_visit::source.eq(PlanSource::Order))
        .select((planned_visit::id, planned_visit::planner_ref))
        .into_boxed();
    if let Some(t) = after {
        q = q.filter(planned_visit::latest_start.gt(t));
    }
    let found: Vec<(PlannedVisitId, String)> = q.load(c)?;
    let mut gone = Vec::new();
    for (id, r) in found {
        if !keep.contains(r.as_str())
            && diesel::delete(planned_visit::table.find(&id)).execute(c)? > 0
        {
            gone.push(id);
        }
    }
    Ok(gone)
}

/// A provider's plans of a local day, by latest start.
pub fn for_day(c: &mut DbConn, provider_id: &str, day: NaiveDate) -> Result<Vec<Plan>, StoreError> {
    for_days(c, provider_id, day, day)
}

/// A provider's plans of the local days `from..=to`, by day and latest
/// start.
pub fn for_days(
    c: &mut DbConn,
    provider_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Plan>, StoreError> {
    let rows: Vec<Row> = planned_visit::table
        .filter(planned_visit::provider_id.eq(provider_id))
        .filter(planned_visit::local_date.between(from, to))
        .order((
            planned_visit::local_date,
            planned_visit::latest_start,
            planned_visit::planner_ref,
        ))
        .select(Row::as_select())
        .load(c)?;
    with_lists(c, rows)
}
