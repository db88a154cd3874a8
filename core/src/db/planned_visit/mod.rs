//! The tables `planned_visit`, `planned_visit_service`,
//! `planned_visit_staff` and `planned_visit_due`: what a provider's
//! planning system says is to happen per client and day (issue 25), and
//! when the minute's evaluation is next to judge it. Plans are kept by the planner's
//! own reference per provider, so sending a plan again replaces it, and
//! sending the same plans twice changes nothing.

use super::schema::{planned_visit, planned_visit_due, planned_visit_service, planned_visit_staff};
use super::unnest::{Column, Query, by_key_sql};
use super::{DbConn, StoreError};
use crate::model::{ClientId, PlanSource, PlannedVisitId, ProviderId, ServiceId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

mod due;
pub use due::*;

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

#[derive(Queryable, QueryableByName, Selectable)]
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
                            planned_visit::time_critical.eq(new.time_critical),
                            planned_visit::tolerance_minutes.eq(new.tolerance_minutes),
                            planned_visit::source.eq(new.source),
                            planned_visit::updated_at.eq(at),
                        ))
                        .execute(c)?;
                    diesel::update(planned_visit_due::table.find(&id))
                        .set((
                            planned_visit_due::due_at.eq(Some(at_once())),
                            planned_visit_due::settled_at.eq(None::<NaiveDateTime>),
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
                            planned_visit::created_at.eq(at),
                            planned_visit::updated_at.eq(at),
                        ))
                        .execute(c)?;
                    // First judged at its latest start.
                    diesel::insert_into(planned_visit_due::table)
                        .values((
                            planned_visit_due::planned_visit_id.eq(&id),
                            planned_visit_due::due_at.eq(Some(new.latest_start)),
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

/// Ids per statement: SQLite (3.32 and later) takes 32,766 bound values;
/// PostgreSQL binds the list as one array.
pub(super) const CHUNK: usize = 5000;

/// A planned care worker.
#[derive(Queryable, QueryableByName, Selectable)]
#[diesel(table_name = planned_visit_staff)]
struct Staff {
    planned_visit_id: String,
    staff_id: UserId,
}

/// Rows with their services and staff.
fn with_lists(c: &mut DbConn, rows: Vec<Row>) -> Result<Vec<Plan>, StoreError> {
    with_lists_of(c, rows, true, true)
}

/// The planned care workers of the plans `ids`, by plan.
fn staff_of(c: &mut DbConn, ids: &[&str]) -> Result<HashMap<String, Vec<UserId>>, StoreError> {
    let mut staff: HashMap<String, Vec<UserId>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let w: Vec<Staff> = match c {
            // By the primary key, one plan at a time (`by_key_sql`).
            DbConn::Pg(pg) => Query::new(&by_key_sql("planned_visit_staff", "planned_visit_id"))
                .bind(Column::Text(chunk.to_vec()))
                .load(pg)?,
            DbConn::Sqlite(_) => planned_visit_staff::table
                .filter(planned_visit_staff::planned_visit_id.eq_any(chunk))
                .select(Staff::as_select())
                .load(c)?,
        };
        for s in w {
            staff
                .entry(s.planned_visit_id)
                .or_default()
                .push(s.staff_id);
        }
    }
    for s in staff.values_mut() {
        s.sort_unstable();
    }
    Ok(staff)
}

/// Fills in the planned care workers of the plans `which` returns true
/// for (the punctuality rules need them only for the offline caveat of
/// the plans they judge).
pub fn add_staff(
    c: &mut DbConn,
    plans: &mut [Plan],
    which: impl Fn(&Plan) -> bool,
) -> Result<(), StoreError> {
    let ids: Vec<&str> = plans
        .iter()
        .filter(|p| which(p))
        .map(|p| p.id.as_str())
        .collect();
    let mut staff = staff_of(c, &ids)?;
    for p in plans.iter_mut() {
        if let Some(s) = staff.remove(p.id.as_str()) {
            p.plan.staff = s;
        }
    }
    Ok(())
}

/// `rows` with their services when `with_services` (the punctuality rules
/// need none), and their staff when `with_staff`.
fn with_lists_of(
    c: &mut DbConn,
    rows: Vec<Row>,
    with_services: bool,
    with_staff: bool,
) -> Result<Vec<Plan>, StoreError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut services: HashMap<String, Vec<ServiceId>> = HashMap::new();
    let mut staff = if with_staff {
        staff_of(c, &ids)?
    } else {
        HashMap::new()
    };
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

/// Every plan of `clients` on `days`, without services or staff (the
/// punctuality rules' read; [`add_staff`] adds the staff of those judged).
pub fn of_clients(
    c: &mut DbConn,
    clients: &[&str],
    days: &[NaiveDate],
) -> Result<Vec<Plan>, StoreError> {
    let mut rows: Vec<Row> = Vec::new();
    for chunk in clients.chunks(CHUNK) {
        match c {
            // By the index on client and day, one client at a time (a
            // generic plan of `= ANY` read the whole table).
            DbConn::Pg(pg) => rows.extend(
                Query::new(
                    "SELECT r.* FROM (SELECT DISTINCT unnest(?::text[]) AS id) e \
                     CROSS JOIN LATERAL (SELECT * FROM planned_visit \
                     WHERE client_id = e.id AND local_date = ANY(?::date[]) OFFSET 0) r",
                )
                .bind(Column::Text(chunk.to_vec()))
                .bind(Column::Date(days.to_vec()))
                .load::<Row>(pg)?,
            ),
            DbConn::Sqlite(_) => rows.extend(
                planned_visit::table
                    .filter(planned_visit::client_id.eq_any(chunk))
                    .filter(planned_visit::local_date.eq_any(days))
                    .select(Row::as_select())
                    .load::<Row>(c)?,
            ),
        }
    }
    rows.sort_by(|a, b| (a.latest_start, &a.planner_ref).cmp(&(b.latest_start, &b.planner_ref)));
    with_lists_of(c, rows, false, false)
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
    with_lists_of(c, rows, false, true)
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
