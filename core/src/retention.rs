//! Retention (gallring): what a municipality no longer may keep is deleted
//! once a day, and what was deleted is recorded as counts per table,
//! never as the data.
//!
//! - The access log is kept `access_log_retention_years` (at least five,
//!   HSLF-FS 2016:40 4 kap. 9 §); older records are removed from the
//!   hash chain under signed gaps ([`chain::remove`]), so `verify-logs`
//!   still checks the records that are left from the first to the last.
//! - A client's records (visits and their change history, device events,
//!   journal notes, care plans and follow-ups, alerts, explanations,
//!   absences, consents, figures, decisions and orders) are deleted
//!   `client_retention_years` after the client's last order ended, when no
//!   visit or journal note is newer and no order is open. The client row
//!   stays, without name, personal identity number, address or phone, for
//!   the access log still names it. A visit shared with a client whose
//!   records are kept stays with that client.
//! - The monthly lists of clients without a care plan (they name
//!   clients) go once they are older than the clients' period.
//! - Clients born on the 5th, 15th or 25th are kept when the municipality
//!   keeps socialtjänstförordningen's research sample
//!   (`keep_research_sample`); they are counted, not deleted.

use crate::auth::lock_keys::LockKeys;
use crate::db::chain::{self, Chain};
use crate::db::municipality::{self, Municipality};
use crate::db::schema::{
    absence, access_log, alert, alert_event, alert_history, care_order, care_plan_follow_up,
    care_plan_list, care_plan_version, client, consent, contact_person, decision, device_message,
    explanation, explanation_history, figure_day, figure_dirty, figure_month, figure_staff_day,
    individual_follow_up, journal_note, material_request, order_month, planned_visit,
    retention_run, user_account, visit, visit_change, visit_event, visit_share, visited_day,
};
use crate::db::{DbConn, StoreError, new_id};
use crate::domain::local_date;
use crate::model::MunicipalityId;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The shortest access-log retention a municipality may set.
pub const MIN_ACCESS_LOG_YEARS: i32 = 5;
/// The longest any period may be.
pub const MAX_YEARS: i32 = 100;

/// Rows removed from the access log per transaction.
const BATCH: i64 = 5_000;
/// Ids per `IN (…)` list (SQLite's limit on bound values is far above).
const CHUNK: usize = 500;

/// What one run did for one municipality.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub municipality_id: MunicipalityId,
    /// Access-log records before this instant were due.
    pub access_log_before: NaiveDateTime,
    /// Clients whose last activity was before this date were due.
    pub orders_ended_before: NaiveDate,
    pub clients_purged: i64,
    /// Due, but kept in the research sample.
    pub clients_kept: i64,
    /// Rows deleted per table.
    pub counts: BTreeMap<String, i64>,
}

impl Outcome {
    pub fn rows_deleted(&self) -> i64 {
        self.counts.values().sum()
    }

    fn add(&mut self, table: &str, n: usize) {
        if n > 0 {
            *self.counts.entry(table.into()).or_default() += n as i64;
        }
    }
}

/// Runs retention for every municipality as at `at`. With `dry_run`,
/// everything is done and then rolled back: the counts say what a real
/// run would delete.
pub fn run_all(
    c: &mut DbConn,
    at: DateTime<Utc>,
    keys: &LockKeys,
    dry_run: bool,
) -> Result<Vec<Outcome>, StoreError> {
    let mut out = Vec::new();
    for m in municipality::list(c)? {
        out.push(run(c, &m, at, keys, dry_run)?);
    }
    Ok(out)
}

/// Why a transaction ended: a dry run rolls back with its outcome.
enum Stop {
    Store(StoreError),
    Dry(Outcome),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Store(e.into())
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

/// Runs retention for one municipality as at `at` and records the run
/// (unless it is a dry run).
pub fn run(
    c: &mut DbConn,
    m: &Municipality,
    at: DateTime<Utc>,
    keys: &LockKeys,
    dry_run: bool,
) -> Result<Outcome, StoreError> {
    if dry_run {
        return match crate::db::transaction_with(c, |c| {
            let o = work(c, m, at, keys)?;
            Err::<(), Stop>(Stop::Dry(o))
        }) {
            Err(Stop::Dry(o)) => Ok(o),
            Err(Stop::Store(e)) => Err(e),
            Ok(()) => Err(StoreError::Encode("dry run committed".into())),
        };
    }
    let o = work(c, m, at, keys)?;
    diesel::insert_into(retention_run::table)
        .values((
            retention_run::id.eq(new_id()),
            retention_run::municipality_id.eq(&m.id),
            retention_run::ran_at.eq(at.naive_utc()),
            retention_run::access_log_before.eq(o.access_log_before),
            retention_run::orders_ended_before.eq(o.orders_ended_before),
            retention_run::clients_purged.eq(o.clients_purged as i32),
            retention_run::clients_kept.eq(o.clients_kept as i32),
            retention_run::rows_deleted.eq(o.rows_deleted()),
            retention_run::counts
                .eq(serde_json::to_string(&o.counts)
                    .map_err(|e| StoreError::Encode(e.to_string()))?),
        ))
        .execute(c)?;
    Ok(o)
}

/// `years` calendar years before `day` (29 February becomes the 28th).
fn years_before(day: NaiveDate, years: i32) -> NaiveDate {
    let y = day.year() - years.clamp(0, MAX_YEARS);
    day.with_year(y)
        .or_else(|| NaiveDate::from_ymd_opt(y, day.month(), 28))
        .unwrap_or(day)
}

fn work(
    c: &mut DbConn,
    m: &Municipality,
    at: DateTime<Utc>,
    keys: &LockKeys,
) -> Result<Outcome, StoreError> {
    let tz = m.tz().unwrap_or(crate::domain::STOCKHOLM);
    let today = local_date(at, tz);
    let s = &m.settings;
    let log_day = years_before(
        today,
        s.access_log_retention_years.max(MIN_ACCESS_LOG_YEARS),
    );
    let access_log_before = tz
        .from_local_datetime(&log_day.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map_or_else(
            || log_day.and_time(chrono::NaiveTime::MIN),
            |t| t.naive_utc(),
        );
    let mut o = Outcome {
        municipality_id: m.id.clone(),
        access_log_before,
        orders_ended_before: years_before(today, s.client_retention_years.max(1)),
        ..Outcome::default()
    };
    access_log_due(c, m, at, keys, &mut o)?;
    // The monthly lists of clients without a care plan name clients; a
    // list older than the clients' period has served its month long ago.
    let lists = care_plan_list::table
        .filter(care_plan_list::municipality_id.eq(&m.id))
        .filter(care_plan_list::list_date.lt(o.orders_ended_before));
    let n = crate::db::transaction(c, |c| Ok(diesel::delete(lists).execute(c)?))?;
    o.add("care_plan_list", n);
    for (id, personal_number) in clients_due(c, m, o.orders_ended_before)? {
        if s.keep_research_sample && in_research_sample(&personal_number) {
            o.clients_kept += 1;
            continue;
        }
        crate::db::transaction(c, |c| purge_client(c, &id, at, keys, &mut o))?;
        o.clients_purged += 1;
    }
    Ok(o)
}

/// Born on the 5th, 15th or 25th (a samordningsnummer's day is the
/// birth day plus 60).
pub fn in_research_sample(personal_number: &str) -> bool {
    let day: Option<u32> = personal_number.get(6..8).and_then(|d| d.parse().ok());
    matches!(
        day.map(|d| if d > 60 { d - 60 } else { d }),
        Some(5 | 15 | 25)
    )
}

/// Removes the municipality's access-log records older than the period,
/// a batch per transaction.
fn access_log_due(
    c: &mut DbConn,
    m: &Municipality,
    at: DateTime<Utc>,
    keys: &LockKeys,
    o: &mut Outcome,
) -> Result<(), StoreError> {
    let mut after = 0i64;
    loop {
        let clients = client::table
            .filter(client::municipality_id.eq(&m.id))
            .select(client::id);
        let users = user_account::table
            .filter(user_account::municipality_id.eq(&m.id))
            .select(user_account::id);
        let seqs: Vec<i64> = access_log::table
            .filter(access_log::seq.gt(after))
            .filter(access_log::at.lt(o.access_log_before))
            .filter(
                access_log::client_id
                    .eq_any(clients)
                    .or(access_log::client_id
                        .eq("")
                        .and(access_log::user_id.eq_any(users))),
            )
            .order(access_log::seq)
            .limit(BATCH)
            .select(access_log::seq)
            .load(c)?;
        let Some(&last) = seqs.last() else {
            return Ok(());
        };
        after = last;
        let n = crate::db::transaction(c, |c| {
            chain::remove(
                c,
                Chain::AccessLog,
                &seqs,
                "retention",
                at.naive_utc(),
                keys,
            )
        })?;
        o.add("access_log", n);
    }
}

/// Clients of the municipality whose records are due: every order ended
/// before `before` (or none, and the client was registered before it), and
/// no visit or journal note on or after it. Ids with personal numbers.
fn clients_due(
    c: &mut DbConn,
    m: &Municipality,
    before: NaiveDate,
) -> Result<Vec<(String, String)>, StoreError> {
    let clients: Vec<(String, String, NaiveDateTime)> = client::table
        .filter(client::municipality_id.eq(&m.id))
        .filter(client::purged_at.is_null())
        .select((client::id, client::personal_number, client::created_at))
        .load(c)?;
    let orders: Vec<(String, Option<NaiveDate>)> = care_order::table
        .inner_join(client::table)
        .filter(client::municipality_id.eq(&m.id))
        .filter(client::purged_at.is_null())
        .select((care_order::client_id, care_order::valid_to))
        .load(c)?;
    // The latest end per client; None once an order is open.
    let mut ended: HashMap<String, Option<NaiveDate>> = HashMap::new();
    for (id, to) in orders {
        let e = ended.entry(id).or_insert(to);
        *e = match (*e, to) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    let mut due = Vec::new();
    for (id, personal_number, created) in clients {
        let last = match ended.get(&id) {
            Some(Some(end)) => *end,
            Some(None) => continue,
            None => created.date(),
        };
        if last >= before {
            continue;
        }
        let from = before.and_time(chrono::NaiveTime::MIN);
        let visited: i64 = visit::table
            .filter(visit::client_id.eq(&id))
            .filter(visit::local_date.ge(before))
            .count()
            .get_result(c)?;
        let written: i64 = journal_note::table
            .filter(journal_note::client_id.eq(&id))
            .filter(journal_note::written_at.ge(from))
            .count()
            .get_result(c)?;
        if visited == 0 && written == 0 {
            due.push((id, personal_number));
        }
    }
    Ok(due)
}

/// Deletes one client's records and removes the client's identity from
/// the client row. Call inside a transaction.
fn purge_client(
    c: &mut DbConn,
    id: &str,
    at: DateTime<Utc>,
    keys: &LockKeys,
    o: &mut Outcome,
) -> Result<(), StoreError> {
    // Visits: those shared with a client whose records are kept stay.
    let visits: Vec<(String, Option<String>, Option<String>)> = visit::table
        .filter(visit::client_id.eq(id))
        .select((
            visit::id,
            visit::check_in_event_id,
            visit::check_out_event_id,
        ))
        .load(c)?;
    let ids: Vec<String> = visits.iter().map(|v| v.0.clone()).collect();
    let mut shared = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let kept = client::table
            .filter(client::purged_at.is_null())
            .select(client::id);
        let others: Vec<String> = visit_share::table
            .filter(visit_share::visit_id.eq_any(chunk))
            .filter(visit_share::client_id.ne(id))
            .filter(visit_share::client_id.eq_any(kept))
            .select(visit_share::visit_id)
            .load(c)?;
        shared.extend(others);
    }
    let gone_ids: Vec<String> = visits
        .iter()
        .filter(|v| !shared.contains(&v.0))
        .map(|v| v.0.clone())
        .collect();
    // The events a kept visit was paired from stay with it.
    let kept_events: Vec<String> = visits
        .iter()
        .filter(|v| shared.contains(&v.0))
        .flat_map(|v| [v.1.clone(), v.2.clone()])
        .flatten()
        .collect();

    // Everything that refers to the client or its visits, children first.
    let requests = material_request::table.filter(material_request::client_id.eq(id));
    o.add("material_request", diesel::delete(requests).execute(c)?);
    o.add(
        "care_plan_follow_up",
        diesel::delete(care_plan_follow_up::table.filter(care_plan_follow_up::client_id.eq(id)))
            .execute(c)?,
    );
    o.add(
        "individual_follow_up",
        diesel::delete(individual_follow_up::table.filter(individual_follow_up::client_id.eq(id)))
            .execute(c)?,
    );
    o.add(
        "care_plan_version",
        diesel::delete(care_plan_version::table.filter(care_plan_version::client_id.eq(id)))
            .execute(c)?,
    );
    o.add(
        "contact_person",
        diesel::delete(contact_person::table.filter(contact_person::client_id.eq(id)))
            .execute(c)?,
    );
    o.add(
        "consent",
        diesel::delete(consent::table.filter(consent::client_id.eq(id))).execute(c)?,
    );
    o.add(
        "absence",
        diesel::delete(absence::table.filter(absence::client_id.eq(id))).execute(c)?,
    );
    let explanations = explanation::table
        .filter(explanation::client_id.eq(id))
        .select(explanation::id);
    o.add(
        "explanation_history",
        diesel::delete(
            explanation_history::table
                .filter(explanation_history::explanation_id.eq_any(explanations)),
        )
        .execute(c)?,
    );
    o.add(
        "explanation",
        diesel::delete(explanation::table.filter(explanation::client_id.eq(id))).execute(c)?,
    );
    let alerts = || {
        alert::table
            .filter(alert::client_id.eq(id))
            .select(alert::id)
    };
    o.add(
        "alert_event",
        diesel::delete(alert_event::table.filter(alert_event::alert_id.eq_any(alerts())))
            .execute(c)?,
    );
    o.add(
        "alert_history",
        diesel::delete(alert_history::table.filter(alert_history::alert_id.eq_any(alerts())))
            .execute(c)?,
    );
    o.add(
        "alert",
        diesel::delete(alert::table.filter(alert::client_id.eq(id))).execute(c)?,
    );
    o.add(
        "figure_day",
        diesel::delete(figure_day::table.filter(figure_day::client_id.eq(id))).execute(c)?,
    );
    o.add(
        "figure_staff_day",
        diesel::delete(figure_staff_day::table.filter(figure_staff_day::client_id.eq(id)))
            .execute(c)?,
    );
    o.add(
        "figure_month",
        diesel::delete(figure_month::table.filter(figure_month::client_id.eq(id))).execute(c)?,
    );
    o.add(
        "figure_dirty",
        diesel::delete(figure_dirty::table.filter(figure_dirty::client_id.eq(id))).execute(c)?,
    );
    // Planned visits (their services, care workers and instants to be
    // judged go with them).
    o.add(
        "planned_visit",
        diesel::delete(planned_visit::table.filter(planned_visit::client_id.eq(id))).execute(c)?,
    );
    o.add(
        "visited_day",
        diesel::delete(visited_day::table.filter(visited_day::client_id.eq(id))).execute(c)?,
    );
    // Journal notes: a correction refers to the note it corrects.
    diesel::update(journal_note::table.filter(journal_note::client_id.eq(id)))
        .set(journal_note::corrects_note_id.eq(None::<String>))
        .execute(c)?;
    o.add(
        "journal_note",
        diesel::delete(journal_note::table.filter(journal_note::client_id.eq(id))).execute(c)?,
    );
    for chunk in gone_ids.chunks(CHUNK) {
        let seqs: Vec<Option<i64>> = visit_change::table
            .filter(visit_change::visit_id.eq_any(chunk))
            .select(visit_change::chain_seq)
            .load(c)?;
        let seqs: Vec<i64> = seqs.into_iter().flatten().collect();
        let mut n = chain::remove(
            c,
            Chain::VisitChange,
            &seqs,
            "retention",
            at.naive_utc(),
            keys,
        )?;
        // Changes recorded before the chain existed are not linked.
        n += diesel::delete(
            visit_change::table
                .filter(visit_change::visit_id.eq_any(chunk))
                .filter(visit_change::chain_seq.is_null()),
        )
        .execute(c)?;
        o.add("visit_change", n);
        // Shares and services go with the visit (ON DELETE CASCADE).
        o.add(
            "visit",
            diesel::delete(visit::table.filter(visit::id.eq_any(chunk))).execute(c)?,
        );
    }
    // Every event about the client, paired or not.
    let events: Vec<String> = visit_event::table
        .filter(visit_event::client_id.eq(id))
        .filter(visit_event::id.ne_all(&kept_events))
        .select(visit_event::id)
        .load(c)?;
    for chunk in events.chunks(CHUNK) {
        diesel::update(journal_note::table.filter(journal_note::visit_event_id.eq_any(chunk)))
            .set(journal_note::visit_event_id.eq(None::<String>))
            .execute(c)?;
        o.add(
            "device_message",
            diesel::delete(
                device_message::table.filter(device_message::visit_event_id.eq_any(chunk)),
            )
            .execute(c)?,
        );
        o.add(
            "visit_event",
            diesel::delete(visit_event::table.filter(visit_event::id.eq_any(chunk))).execute(c)?,
        );
    }
    // Orders and decisions; an order may name the one it replaced.
    diesel::update(care_order::table.filter(care_order::client_id.eq(id)))
        .set(care_order::previous_order_id.eq(None::<String>))
        .execute(c)?;
    let orders = || {
        care_order::table
            .filter(care_order::client_id.eq(id))
            .select(care_order::id)
    };
    o.add(
        "order_month",
        diesel::delete(order_month::table.filter(order_month::care_order_id.eq_any(orders())))
            .execute(c)?,
    );
    o.add(
        "care_order",
        diesel::delete(care_order::table.filter(care_order::client_id.eq(id))).execute(c)?,
    );
    o.add(
        "decision",
        diesel::delete(decision::table.filter(decision::client_id.eq(id))).execute(c)?,
    );
    // The row stays for the access log; who the client was does not.
    diesel::update(client::table.find(id))
        .set((
            client::personal_number.eq(format!("gallrad:{id}")),
            client::given_name.eq(""),
            client::family_name.eq(""),
            client::street_address.eq(""),
            client::postal_code.eq(""),
            client::city.eq(""),
            client::phone.eq(None::<String>),
            client::caseworker_id.eq(None::<String>),
            client::provider_id.eq(None::<String>),
            client::household_id.eq(None::<String>),
            client::purged_at.eq(Some(at.naive_utc())),
            client::updated_at.eq(at.naive_utc()),
        ))
        .execute(c)?;
    Ok(())
}
