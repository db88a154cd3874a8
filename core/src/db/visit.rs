//! Visits: derived from the events by the pairing rule, stored so that
//! reads never re-pair. [`record`] stores an event and updates the visits
//! it changes, in one transaction.

use super::journal_note::{self, NewNote};
use super::schema::{service, visit, visit_service, visit_share};
use super::sql::{in_list, json_list};
use super::visit_event::{self, NewVisitEvent, Payload, PerformedService, VisitEvent};
use super::{DbConn, StoreError, now};
use crate::domain::figures::FrameWindow;
use crate::domain::pairing::{self, Derived};
use crate::domain::split::{ServiceShare, proportional, split_services};
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// A stored visit: one staff member's time at one client.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable, Serialize)]
#[diesel(table_name = visit)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Visit {
    pub id: String,
    #[serde(flatten)]
    #[diesel(embed)]
    pub fields: VisitFields,
    #[serde(with = "super::utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub approved_at: Option<NaiveDateTime>,
    pub approved_by: Option<String>,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
    #[serde(skip)]
    pub updated_at: NaiveDateTime,
    /// A provider admin's correction of the start; wins over the check-in.
    #[serde(with = "super::utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub corrected_started_at: Option<NaiveDateTime>,
    /// A provider admin's correction of the end; wins over the check-out.
    #[serde(with = "super::utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub corrected_ended_at: Option<NaiveDateTime>,
    /// Registered by mistake: kept, but its time never counts.
    pub voided: bool,
}

/// What the pairing derives for a visit.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Queryable,
    QueryableByName,
    Selectable,
    Insertable,
    AsChangeset,
    Serialize,
)]
#[diesel(
    table_name = visit,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitFields {
    pub staff_id: String,
    pub provider_id: String,
    pub client_id: String,
    pub check_in_event_id: Option<String>,
    pub check_out_event_id: Option<String>,
    #[serde(with = "super::utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub started_at: Option<NaiveDateTime>,
    #[serde(with = "super::utc::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub ended_at: Option<NaiveDateTime>,
    /// Real elapsed seconds, when both ends are known.
    pub seconds: Option<i32>,
    /// The local day it started (or ended, without a check-in).
    pub local_date: NaiveDate,
    /// `open`, `closed` or `exception`.
    pub status: String,
    /// `missing_check_in`, `missing_check_out` or `too_long`.
    pub exception: Option<String>,
    /// How the check-in was made: `nfc`, `lock`, `manual` or `entry`.
    pub method: Option<String>,
    /// The second person of a double-staffed visit (R20).
    pub double_staffing: bool,
    /// Why it needs a provider admin's approval, comma-separated:
    /// `manual_method`, `unplanned`, `entered_after`, `exception`.
    pub approval_reasons: String,
    /// Both ends by a lock or an NFC tag, neither entered afterwards (the
    /// verification rate; a correction is left out where it is counted).
    #[serde(skip)]
    pub verified: bool,
}

impl Visit {
    /// The local day the visit belongs to: the day it started, as
    /// corrected if it was (or ended, with no start known).
    pub fn day(&self, tz: Tz) -> NaiveDate {
        self.start()
            .or(self.end())
            .map_or(self.fields.local_date, |t| {
                crate::domain::local_date(t.and_utc(), tz)
            })
    }

    /// The start, corrected or as checked in.
    pub fn start(&self) -> Option<NaiveDateTime> {
        self.corrected_started_at.or(self.fields.started_at)
    }

    /// The end, corrected or as checked out.
    pub fn end(&self) -> Option<NaiveDateTime> {
        self.corrected_ended_at.or(self.fields.ended_at)
    }

    /// Real elapsed seconds between [`Visit::start`] and [`Visit::end`].
    pub fn elapsed_seconds(&self) -> Option<i64> {
        let s = (self.end()? - self.start()?).num_seconds();
        (s >= 0).then_some(s)
    }

    /// Flagged (manual, unplanned, entered after, exception) or corrected,
    /// and not yet approved or voided.
    pub fn needs_approval(&self) -> bool {
        (!self.fields.approval_reasons.is_empty() || self.corrected())
            && self.approved_at.is_none()
            && !self.voided
    }

    pub fn corrected(&self) -> bool {
        self.corrected_started_at.is_some() || self.corrected_ended_at.is_some()
    }

    /// Whether its time counts as performed: not voided, both ends known,
    /// and closed by its events, corrected, or approved as it is (an
    /// over-long visit). Visits that wait for approval for other reasons
    /// (manual, unplanned, entered after) count while they wait.
    pub fn counts(&self) -> bool {
        !self.voided
            && self.elapsed_seconds().is_some()
            && (self.fields.status == "closed" || self.corrected() || self.approved_at.is_some())
    }
}

pub use super::visit_service::{VisitService, services_for};
pub use super::visit_share::VisitShare;

/// Whose time and which services a visit was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub shares: Vec<VisitShare>,
    pub services: Vec<VisitService>,
}

/// What [`record`] needs of the municipality.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub tz: Tz,
    /// A longer pair is `too_long`.
    pub max_seconds: i64,
    /// The frame window (R9), for the figures.
    pub window: FrameWindow,
}

impl Rules {
    /// The municipality's rules; `None` if its stored time zone is invalid.
    pub fn of(m: &super::municipality::Municipality) -> Option<Rules> {
        Some(Rules {
            tz: m.tz()?,
            max_seconds: i64::from(m.settings.max_visit_minutes) * 60,
            window: m.frame_window(),
        })
    }
}

/// The result of recording one event.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// Stored; the visits it created or changed.
    Applied {
        event: VisitEvent,
        visits: Vec<Visit>,
        /// Each visit's shares and services, as written (in the order of
        /// `visits`): what an answer shows needs no read again.
        attributions: Vec<Attribution>,
    },
    /// Seen before (same sender and event id): nothing changed.
    Duplicate { event: VisitEvent },
}

impl Recorded {
    /// The event stored, or the one stored before it.
    pub fn event(&self) -> &VisitEvent {
        match self {
            Recorded::Applied { event, .. } | Recorded::Duplicate { event } => event,
        }
    }
}

/// Stores an event (and the journal note that came with it) and re-derives
/// the visits around it. Idempotent on the sender's event id.
pub fn record(
    conn: &mut DbConn,
    event: &NewVisitEvent,
    note: Option<&NewNote>,
    rules: Rules,
) -> Result<Recorded, StoreError> {
    super::transaction(conn, |c| {
        let mut pending = Pending::default();
        let recorded = record_deferred(c, event, note, rules, &mut pending)?;
        pending.apply(c)?;
        Ok(recorded)
    })
}

/// What the events of one transaction share (see [`record_deferred`]):
/// the change to the figures, applied once before the commit, and the
/// month locks read so far.
#[derive(Default)]
pub struct Pending {
    pub figures: crate::domain::figures::Figures,
    /// Client-months with a visit already open past the municipality's
    /// limit when it was recorded (a check-in that arrived late): they
    /// change no figure, so nothing else would have the alert rules look
    /// at them before the next full run.
    pub stale_open: std::collections::BTreeSet<(String, String)>,
    locks: HashMap<(String, crate::domain::YearMonth), bool>,
    /// PostgreSQL: staff members whose events this transaction holds.
    staff: std::collections::HashSet<String>,
}

impl Pending {
    /// Adds the figures and marks their client-months, and those of
    /// [`Pending::stale_open`], for the alert rules.
    pub fn apply(&self, c: &mut DbConn) -> Result<(), StoreError> {
        super::figure::apply_marking(c, &self.figures, &self.stale_open)
    }

    /// Whether the provider's month is locked for billing (R6), read once per
    /// transaction (a lock taken meanwhile is seen by the next one, as it
    /// would be if the two had run the other way round).
    fn is_locked(
        &mut self,
        c: &mut DbConn,
        provider_id: &str,
        month: crate::domain::YearMonth,
    ) -> Result<bool, StoreError> {
        let key = (provider_id.to_string(), month);
        if let Some(l) = self.locks.get(&key) {
            return Ok(*l);
        }
        let l = super::month_lock::is_locked(c, provider_id, month)?;
        self.locks.insert(key, l);
        Ok(l)
    }
}

/// [`record`], leaving the change to the figures in `pending` for the
/// caller to apply (once for a whole batch of events, in the same
/// transaction; nothing reads the figures in between).
pub fn record_deferred(
    conn: &mut DbConn,
    event: &NewVisitEvent,
    note: Option<&NewNote>,
    rules: Rules,
    pending: &mut Pending,
) -> Result<Recorded, StoreError> {
    let group = Group {
        events: std::slice::from_ref(event),
        rules,
    };
    record_events(conn, &[group], note, pending)?
        .pop()
        .and_then(|mut g| g.pop())
        .ok_or(StoreError::NotFound)
}

/// New events of one staff member further apart than this are paired on
/// their own by [`record_group_deferred`] (the window between them is read
/// whole).
const GROUP_GAP_HOURS: i64 = 12;

/// [`record_deferred`] for several events of one staff member (a gateway
/// batch's), paired together: one window read and one re-derivation for
/// events close in time, where each on its own would read the window and
/// write the visits between them again. The stored visits are the same as
/// recording them one by one (pairing depends on the set of events, not on
/// their order). One result per event, in order; each `Applied` carries the
/// visits its group created or changed.
///
/// All or nothing: on an error nothing of the group is kept. On
/// [`StoreError::MonthLocked`] the caller should record the events one by
/// one to learn which of them the lock refuses.
pub fn record_group_deferred(
    conn: &mut DbConn,
    events: &[NewVisitEvent],
    rules: Rules,
    pending: &mut Pending,
) -> Result<Vec<Recorded>, StoreError> {
    Ok(
        record_events(conn, &[Group { events, rules }], None, pending)?
            .pop()
            .unwrap_or_default(),
    )
}

/// One staff member's new events, with their municipality's rules.
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    pub events: &'a [NewVisitEvent],
    pub rules: Rules,
}

/// [`record_group_deferred`] for the groups of several staff members (a
/// gateway batch's), stored together: each read and each kind of write is
/// one statement for all the groups (per 500 rows), where group by group
/// it was one per group. The stored visits are the same as recording the
/// groups one after another. One result per group, in order.
///
/// All or nothing: on an error nothing of any group is kept. On
/// [`StoreError::MonthLocked`] record the groups one by one to learn which
/// of them the lock refuses.
pub fn record_groups_deferred(
    conn: &mut DbConn,
    groups: &[Group<'_>],
    pending: &mut Pending,
) -> Result<Vec<Vec<Recorded>>, StoreError> {
    record_events(conn, groups, None, pending)
}

/// [`record_groups_deferred`], with the journal note of a single event.
fn record_events(
    conn: &mut DbConn,
    groups: &[Group<'_>],
    note: Option<&NewNote>,
    pending: &mut Pending,
) -> Result<Vec<Vec<Recorded>>, StoreError> {
    // Each group one staff member's, and no two of the same one.
    let mut staff: Vec<&str> = Vec::with_capacity(groups.len());
    for g in groups {
        let Some(first) = g.events.first() else {
            continue;
        };
        if g.events.iter().any(|e| e.staff_id != first.staff_id) {
            return Err(StoreError::WrongState(
                "a group of events must be one staff member's".into(),
            ));
        }
        staff.push(&first.staff_id);
    }
    staff.sort_unstable();
    if staff.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::WrongState(
            "two groups of events of the same staff member".into(),
        ));
    }
    // PostgreSQL: one staff member's events are paired one transaction at
    // a time; the lock is the caller's transaction's (not the savepoint's
    // below), held to its end, and taken once; a batch's locks in one
    // order (by staff id), so two gateways wait for each other instead of
    // deadlocking. SQLite: the insert below is the transaction's first
    // statement, so it takes the write lock before anything is read.
    if let DbConn::Pg(pg) = conn {
        let keys: Vec<String> = staff
            .iter()
            .filter(|s| !pending.staff.contains(**s))
            .map(|s| format!("staff:{s}"))
            .collect();
        if !keys.is_empty() {
            // Volatile functions of a SELECT list run after its ORDER BY.
            diesel::sql_query(
                "SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest($1::text[]) AS k ORDER BY k",
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&keys)
            .execute(pg)?;
            pending.staff.extend(staff.iter().map(|s| s.to_string()));
        }
    }
    let mut cells = crate::domain::figures::Figures::default();
    let recorded = super::transaction(conn, |c| {
        // Each event stored, or the one stored before it.
        let all: Vec<&NewVisitEvent> = groups.iter().flat_map(|g| g.events).collect();
        let mut inserted = visit_event::insert_many(c, &all)?.into_iter();
        let mut stored: Vec<Vec<Result<VisitEvent, VisitEvent>>> = Vec::with_capacity(groups.len());
        for g in groups {
            let mut mine = Vec::with_capacity(g.events.len());
            for (e, new) in g.events.iter().zip(&mut inserted) {
                let Some(new) = new else {
                    let existing = visit_event::find(c, &e.source, &e.source_key, &e.event_id)?
                        .ok_or(StoreError::NotFound)?;
                    mine.push(Err(existing));
                    continue;
                };
                // No new event in a month locked for billing (R6).
                let month = crate::domain::YearMonth::of(new.local_date);
                if pending.is_locked(c, &new.provider_id, month)? {
                    return Err(StoreError::MonthLocked(month.to_string()));
                }
                if let Some(n) = note {
                    journal_note::insert(c, n)?;
                }
                // Declined visits are counted for the month's comparison (R21).
                if new.kind == "declined" {
                    crate::domain::figures::add_declined(
                        &mut cells.cells,
                        &new.client_id,
                        &new.provider_id,
                        new.local_date,
                        1,
                    );
                }
                mine.push(Ok(new));
            }
            stored.push(mine);
        }
        // Each group's new check-ins and check-outs by time, in runs
        // without a long gap; each run paired once. A group's runs are
        // paired one after another: round k pairs the k-th run of every
        // group that has one, together.
        let gap = chrono::Duration::hours(GROUP_GAP_HOURS);
        let runs: Vec<Vec<Vec<VisitEvent>>> = stored
            .iter()
            .map(|mine| {
                let mut paired: Vec<VisitEvent> = mine
                    .iter()
                    .filter_map(|s| s.as_ref().ok())
                    .filter(|e| e.pairing().is_some())
                    .cloned()
                    .collect();
                paired.sort_by_key(|e| e.occurred_at);
                paired
                    .chunk_by(|a, b| b.occurred_at - a.occurred_at <= gap)
                    .map(<[VisitEvent]>::to_vec)
                    .collect()
            })
            .collect();
        let mut visits_of: HashMap<String, Vec<(Visit, Attribution)>> = HashMap::new();
        let rounds = runs.iter().map(Vec::len).max().unwrap_or(0);
        for k in 0..rounds {
            let items: Vec<(&[VisitEvent], Rules)> = runs
                .iter()
                .zip(groups)
                .filter_map(|(r, g)| r.get(k).map(|run| (run.as_slice(), g.rules)))
                .collect();
            let visits = repair(c, &items, &mut cells, pending)?;
            for ((run, _), v) in items.iter().zip(visits) {
                for e in *run {
                    visits_of.insert(e.id.clone(), v.clone());
                }
            }
        }
        Ok(stored
            .into_iter()
            .map(|mine| {
                mine.into_iter()
                    .map(|s| match s {
                        Ok(event) => {
                            let (visits, attributions) = visits_of
                                .remove(&event.id)
                                .unwrap_or_default()
                                .into_iter()
                                .unzip();
                            Recorded::Applied {
                                visits,
                                attributions,
                                event,
                            }
                        }
                        Err(event) => Recorded::Duplicate { event },
                    })
                    .collect()
            })
            .collect())
    })?;
    // Only what the savepoint kept counts.
    pending.figures.merge(cells);
    Ok(recorded)
}

/// Events loaded either side of a new one to begin with; more when runs of
/// confirmations are long (events arriving out of order make them so).
const WINDOW: i64 = 8;

/// One run's re-derivation in [`repair`].
struct Repair {
    /// The window's pairing sequence.
    seq: Vec<pairing::Event>,
    rules: Rules,
    /// The places whose visits are derived again.
    indices: Vec<usize>,
    derived: Vec<Derived>,
    /// The stored visits holding events of `indices` or of `derived`.
    holders: Vec<Visit>,
    settled: bool,
}

/// What [`window_of`] reads.
struct Around {
    /// The window's pairing sequence.
    seq: Vec<pairing::Event>,
    /// The new events' places in `seq`.
    at: Vec<usize>,
}

/// The window around the new events `news` (one staff member's, sorted by
/// time): the events, their pairing sequence and the new events' places in
/// it; `None` if none of them pairs. `read`: its first read
/// ([`WINDOW`] either side), if made already.
///
/// The pairing looks at most two events that stand for themselves either
/// side of each new one (see `pairing::touched`): the window is widened
/// until it holds them, or the staff member's first or last event.
fn window_of(
    c: &mut DbConn,
    news: &[VisitEvent],
    mut read: Option<visit_event::Window>,
) -> Result<Option<Around>, StoreError> {
    let (Some(first), Some(last)) = (news.first(), news.last()) else {
        return Ok(None);
    };
    let ids: std::collections::HashSet<&str> = news.iter().map(|n| n.id.as_str()).collect();
    let (mut before, mut after) = (WINDOW, WINDOW);
    loop {
        // The first window as read for the whole batch, if it was.
        let w = match read.take() {
            Some(w) => w,
            None => visit_event::window_span(
                c,
                &first.staff_id,
                first.occurred_at,
                last.occurred_at,
                before,
                after,
            )?,
        };
        let seq = w.events;
        let at: Vec<usize> = seq
            .iter()
            .enumerate()
            .filter(|(_, x)| ids.contains(x.id.as_str()))
            .map(|(j, _)| j)
            .collect();
        let (Some(&lo), Some(&hi)) = (at.first(), at.last()) else {
            return Ok(None);
        };
        // The first event of the window has no predecessor in it, so it
        // only counts when nothing comes before it at all.
        let roots_before = (1..lo).filter(|k| !pairing::confirms(&seq, *k)).count();
        let roots_after = (hi + 2..seq.len())
            .filter(|k| !pairing::confirms(&seq, *k))
            .count();
        let more_before = roots_before < 2 && !w.from_start;
        let more_after = roots_after < 2 && !w.to_end;
        if !more_before && !more_after {
            return Ok(Some(Around { seq, at }));
        }
        if more_before {
            before *= 4;
        }
        if more_after {
            after *= 4;
        }
    }
}

/// PostgreSQL's [`holding`]: the visit with each id of `$1` as check-in,
/// and as check-out (a visit with both comes twice).
pub(crate) const HOLDING_SQL: &str = "SELECT v.* FROM (SELECT DISTINCT unnest($1::text[]) AS id) e \
    CROSS JOIN LATERAL ( \
      (SELECT * FROM visit WHERE check_in_event_id = e.id LIMIT 1) \
      UNION ALL \
      (SELECT * FROM visit WHERE check_out_event_id = e.id LIMIT 1) \
    ) v";

/// The stored visits holding any of `ids` as check-in or check-out.
fn holding(c: &mut DbConn, ids: &[&str]) -> Result<Vec<Visit>, StoreError> {
    Ok(match c {
        DbConn::Sqlite(s) => {
            let list = json_list(ids)?;
            visit::table
                .filter(
                    in_list("check_in_event_id", &list).or(in_list("check_out_event_id", &list)),
                )
                .select(Visit::as_select())
                .load(s)?
        }
        DbConn::Pg(pg) => {
            // A lookup in each unique index per id, whatever the planner
            // would guess: `= ANY(ids) OR = ANY(ids)` was a whole-table scan
            // until the tables had statistics and, with them, until they
            // were large (docs/BENCHMARKS.md).
            let rows: Vec<Visit> = diesel::sql_query(HOLDING_SQL)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(ids)
                .load(pg)?;
            // A visit whose check-in and check-out are both among the ids
            // comes twice.
            let mut seen = std::collections::HashSet::new();
            rows.into_iter()
                .filter(|v| seen.insert(v.id.clone()))
                .collect()
        }
    })
}

/// Re-derives the visits that runs of new events change and stores them.
/// Each item is one staff member's run (sorted by time) with its rules, no
/// two of the same staff member; one list of visits per item. The reads
/// and writes of all the items go together.
fn repair(
    c: &mut DbConn,
    items: &[(&[VisitEvent], Rules)],
    cells: &mut crate::domain::figures::Figures,
    pending: &mut Pending,
) -> Result<Vec<Vec<(Visit, Attribution)>>, StoreError> {
    // The first read of every run's window at once (PostgreSQL).
    let spans: Vec<(&str, NaiveDateTime, NaiveDateTime)> = items
        .iter()
        .filter_map(|(news, _)| {
            let (first, last) = (news.first()?, news.last()?);
            Some((first.staff_id.as_str(), first.occurred_at, last.occurred_at))
        })
        .collect();
    let first = if spans.len() == items.len() {
        visit_event::windows(c, &spans, WINDOW, WINDOW)?
    } else {
        vec![None; items.len()]
    };
    let mut work: Vec<Option<Repair>> = Vec::with_capacity(items.len());
    for ((news, rules), read) in items.iter().zip(first) {
        work.push(window_of(c, news, read)?.map(|Around { seq, at }| {
            let mut indices: Vec<usize> =
                at.iter().flat_map(|i| pairing::touched(&seq, *i)).collect();
            indices.sort_unstable();
            indices.dedup();
            Repair {
                seq,
                rules: *rules,
                indices,
                derived: Vec::new(),
                holders: Vec::new(),
                settled: false,
            }
        }));
    }
    // The visits of the touched events, and of every event whose stored
    // visit loses one of its events to them, until nothing more is pulled
    // in: each round reads the holders of every run not yet settled at once.
    loop {
        let mut owner: HashMap<String, usize> = HashMap::new();
        for (n, r) in work.iter_mut().enumerate() {
            let Some(r) = r.as_mut().filter(|r| !r.settled) else {
                continue;
            };
            r.derived = pairing::visits_of(&r.seq, &r.indices, r.rules.max_seconds);
            for j in &r.indices {
                owner.insert(r.seq[*j].id.clone(), n);
            }
            for d in &r.derived {
                for id in [&d.check_in, &d.check_out].into_iter().flatten() {
                    owner.insert(id.clone(), n);
                }
            }
        }
        if owner.is_empty() {
            break;
        }
        let mut ids: Vec<&str> = owner.keys().map(String::as_str).collect();
        ids.sort_unstable();
        // The stored visits holding those events, whole: the ones to
        // compare with and the obsolete ones. A stored visit holds the event
        // it is named after (its anchor) as its check-in or check-out, so
        // every derived visit already stored is among them.
        let mut held: Vec<Vec<Visit>> = vec![Vec::new(); work.len()];
        for v in holding(c, &ids)? {
            let n = [&v.fields.check_in_event_id, &v.fields.check_out_event_id]
                .into_iter()
                .flatten()
                .find_map(|e| owner.get(e));
            if let Some(&n) = n {
                held[n].push(v);
            }
        }
        for (r, holders) in work.iter_mut().zip(held) {
            let Some(r) = r.as_mut().filter(|r| !r.settled) else {
                continue;
            };
            let position: HashMap<&str, usize> = r
                .seq
                .iter()
                .enumerate()
                .map(|(j, x)| (x.id.as_str(), j))
                .collect();
            let before = r.indices.len();
            for v in &holders {
                if r.derived.iter().any(|d| d.anchor == v.id) {
                    continue;
                }
                for ev in [&v.fields.check_in_event_id, &v.fields.check_out_event_id]
                    .into_iter()
                    .flatten()
                {
                    if let Some(j) = position.get(ev.as_str()) {
                        r.indices.push(*j);
                    }
                }
            }
            r.indices.sort_unstable();
            r.indices.dedup();
            r.holders = holders;
            r.settled = r.indices.len() == before;
        }
    }
    // The visits as they were, read once: for the figures (what they added
    // goes) and for the comparison in `plan`; those no derived visit is
    // named after are obsolete.
    let was_ids: Vec<&str> = work
        .iter()
        .flatten()
        .flat_map(|r| r.holders.iter().map(|v| v.id.as_str()))
        .collect();
    let mut was_attr = attributions(c, &was_ids)?;
    // The whole rows of the events the derived visits are made of: the new
    // ones as they came, the others read once.
    let mut full: HashMap<&str, &VisitEvent> = items
        .iter()
        .flat_map(|(news, _)| news.iter())
        .map(|e| (e.id.as_str(), e))
        .collect();
    let wanted: Vec<&str> = work
        .iter()
        .flatten()
        .flat_map(|r| r.derived.iter())
        .flat_map(|d| [d.check_in.as_deref(), d.check_out.as_deref()])
        .flatten()
        .filter(|id| !full.contains_key(id))
        .collect();
    let stored = visit_event::by_ids(c, &wanted)?;
    full.extend(stored.iter().map(|e| (e.id.as_str(), e)));
    let mut writes = Writes::default();
    let mut planned: Vec<Vec<(Visit, Attribution)>> = Vec::with_capacity(work.len());
    for r in work {
        let Some(r) = r else {
            planned.push(Vec::new());
            continue;
        };
        let mut figures_before = Vec::new();
        let mut existing: HashMap<String, (Visit, Attribution)> = HashMap::new();
        for v in r.holders {
            let a = was_attr.remove(&v.id).unwrap_or_default();
            figures_before.extend(super::figure::input_of(&v, &a));
            if r.derived.iter().any(|d| d.anchor == v.id) {
                existing.insert(v.id.clone(), (v, a));
            } else {
                writes.obsolete.push(v.id);
            }
        }
        // A check-out moving from one visit to another would briefly be
        // held by both (it is unique): free it first, keeping the rows as
        // they were for the comparison in `plan`.
        for d in &r.derived {
            if existing.get(&d.anchor).is_some_and(|(v, _)| {
                v.fields.check_out_event_id.is_some() && v.fields.check_out_event_id != d.check_out
            }) {
                writes.moving.push(d.anchor.clone());
            }
        }
        let mut out = Vec::with_capacity(r.derived.len());
        let mut figures_after = Vec::new();
        for d in &r.derived {
            let old = existing.remove(&d.anchor);
            let (v, a) = plan(c, d, &full, r.rules, old, pending, &mut writes)?;
            figures_after.extend(super::figure::input_of(&v, &a));
            out.push((v, a));
        }
        cells.merge(super::figure::delta(
            &figures_before,
            &figures_after,
            r.rules.tz,
            r.rules.window,
        ));
        planned.push(out);
    }
    writes.apply(c)?;
    Ok(planned)
}

/// Derives one visit's row and attribution, and adds what must be written
/// to `writes`. An unchanged visit keeps its approval; a changed one must
/// be approved again.
fn plan(
    c: &mut DbConn,
    d: &Derived,
    events: &HashMap<&str, &VisitEvent>,
    rules: Rules,
    existing: Option<(Visit, Attribution)>,
    pending: &mut Pending,
    writes: &mut Writes,
) -> Result<(Visit, Attribution), StoreError> {
    let check_in = d.check_in.as_deref().and_then(|id| events.get(id)).copied();
    let check_out = d
        .check_out
        .as_deref()
        .and_then(|id| events.get(id))
        .copied();
    let first = check_in.or(check_out).ok_or(StoreError::NotFound)?;
    let in_payload = check_in.map(VisitEvent::payload).unwrap_or_default();
    let out_payload = check_out.map(VisitEvent::payload).unwrap_or_default();
    let seconds = d.seconds();
    let status = match (d.exception, d.is_open()) {
        (Some(_), _) => "exception",
        (None, true) => "open",
        (None, false) => "closed",
    };
    let method = first.method.clone();
    let mut reasons = Vec::new();
    if method.as_deref() == Some("manual") {
        reasons.push("manual_method");
    }
    if in_payload.unplanned {
        reasons.push("unplanned");
    }
    if check_in.or(check_out).is_some_and(|e| e.source == "entry") {
        reasons.push("entered_after");
    }
    if d.exception.is_some() {
        reasons.push("exception");
    }
    // A visit belongs to the local day it started, as corrected if it was
    // (a correction moves the visit, not only its minutes).
    let corrected = existing
        .as_ref()
        .map(|(v, _)| (v.corrected_started_at, v.corrected_ended_at))
        .unwrap_or_default();
    let anchor_at = corrected
        .0
        .or(d.started_at)
        .or(corrected.1)
        .or(d.ended_at)
        .unwrap_or(first.occurred_at);
    let fields = VisitFields {
        staff_id: first.staff_id.clone(),
        provider_id: first.provider_id.clone(),
        client_id: d.client_id.clone(),
        check_in_event_id: d.check_in.clone(),
        check_out_event_id: d.check_out.clone(),
        started_at: d.started_at,
        ended_at: d.ended_at,
        seconds: seconds.and_then(|s| i32::try_from(s).ok()),
        local_date: crate::domain::local_date(anchor_at.and_utc(), rules.tz),
        status: status.to_string(),
        exception: d.exception.map(|x| x.as_str().to_string()),
        method,
        double_staffing: in_payload.double_staffing,
        approval_reasons: reasons.join(","),
        verified: check_in.zip(check_out).is_some_and(|(i, o)| {
            crate::domain::continuity::verifies(&i.source, i.method.as_deref())
                && crate::domain::continuity::verifies(&o.source, o.method.as_deref())
        }),
    };
    // Services share the visit's time as corrected, if it was; a visit
    // with an end or start missing has no time to share yet.
    let (existing, old_attr) = match existing {
        Some((v, a)) => (Some(v), a),
        None => (None, Attribution::default()),
    };
    let start = existing
        .as_ref()
        .and_then(|v| v.corrected_started_at)
        .or(d.started_at);
    let end = existing
        .as_ref()
        .and_then(|v| v.corrected_ended_at)
        .or(d.ended_at);
    let shared = match (start, end) {
        (Some(s), Some(e)) if e > s => (e - s).num_seconds(),
        _ => 0,
    };
    let attr = attribute(c, &d.anchor, &d.client_id, &out_payload, shared)?;
    let unchanged = existing
        .as_ref()
        .is_some_and(|old| old.fields == fields && old_attr == attr);
    // What approval and billing rest on: the client, the effective times
    // (a correction wins) and the services. The derived status under a
    // correction may change without touching them.
    let same_effect = existing.as_ref().is_some_and(|old| {
        old.fields.client_id == fields.client_id
            && old.start() == old.corrected_started_at.or(fields.started_at)
            && old.end() == old.corrected_ended_at.or(fields.ended_at)
            && old_attr == attr
    });
    // A late event must not change a visit of a month locked for billing (R6).
    let month = crate::domain::YearMonth::of(fields.local_date);
    // Open past the limit already (the check-in came late, or the
    // check-out that closed it was found to belong elsewhere): the alert
    // rules should see it now, not at the next full run.
    if fields.status == "open"
        && fields
            .started_at
            .is_some_and(|s| (now() - s).num_seconds() > rules.max_seconds)
    {
        pending
            .stale_open
            .insert((fields.client_id.clone(), month.to_string()));
    }
    if !same_effect && pending.is_locked(c, &fields.provider_id, month)? {
        return Err(StoreError::MonthLocked(month.to_string()));
    }
    let t = now();
    // The row as it will be written (`now` is kept to the microsecond, as
    // both backends store it).
    let written = match existing {
        None => {
            let v = Visit {
                id: d.anchor.clone(),
                fields,
                approved_at: None,
                approved_by: None,
                created_at: t,
                updated_at: t,
                corrected_started_at: None,
                corrected_ended_at: None,
                voided: false,
            };
            writes.new_visit(&v);
            v
        }
        Some(old) if unchanged => return Ok((old, old_attr)),
        Some(old) if same_effect => {
            let v = Visit {
                fields,
                updated_at: t,
                ..old
            };
            writes.visit(&v, false);
            return Ok((v, old_attr));
        }
        Some(old) => {
            // Changed: the old approval no longer covers it.
            let v = Visit {
                fields,
                approved_at: None,
                approved_by: None,
                updated_at: t,
                ..old
            };
            writes.visit(&v, true);
            v
        }
    };
    writes.attribution(&d.anchor, &attr, Some(&old_attr));
    Ok((written, attr))
}

/// Recomputes a visit's services after its times were corrected.
pub(crate) fn reshare(c: &mut DbConn, v: &Visit) -> Result<(), StoreError> {
    let payload = match &v.fields.check_out_event_id {
        Some(id) => visit_event::get(c, id)?.payload(),
        None => Payload::default(),
    };
    let attr = attribute(
        c,
        &v.id,
        &v.fields.client_id,
        &payload,
        v.elapsed_seconds().unwrap_or(0),
    )?;
    write_attribution(c, &v.id, &attr, None)
}

/// Whose time a visit is and which services it had, from its check-out:
/// the clients' shares (all to the visit's client unless co-habiting
/// clients shared it), and within each client's part its performed
/// services sharing the time (entered minutes first, the rest by standard
/// minutes). Declined services get none.
fn attribute(
    c: &mut DbConn,
    visit_id: &str,
    client_id: &str,
    p: &Payload,
    seconds: i64,
) -> Result<Attribution, StoreError> {
    let mut shares: Vec<VisitShare> = p
        .shares
        .iter()
        .map(|s| VisitShare {
            visit_id: visit_id.to_string(),
            client_id: s.client_id.clone(),
            basis_points: i32::try_from(s.basis_points).unwrap_or(0),
        })
        .collect();
    if shares.is_empty() {
        shares.push(VisitShare {
            visit_id: visit_id.to_string(),
            client_id: client_id.to_string(),
            basis_points: 10_000,
        });
    }
    shares.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let ids: Vec<&str> = p.services.iter().map(|s| s.service_id.as_str()).collect();
    // Lock events carry no services: nothing to look up.
    let catalogue: HashMap<String, (i32, bool, bool)> = if ids.is_empty() {
        HashMap::new()
    } else {
        service::table
            .filter(service::id.eq_any(&ids))
            .select((
                service::id,
                service::standard_minutes,
                service::service_group,
                service::care_bundle,
            ))
            .load::<(String, i32, String, bool)>(c)?
            .into_iter()
            .map(|(id, minutes, group, bundle)| (id, (minutes, group == "O", bundle)))
            .collect()
    };
    let performed: Vec<crate::domain::bundle::Performed<'_>> = p
        .services
        .iter()
        .map(|s| {
            let (_, personal_care, bundle) =
                catalogue.get(&s.service_id).copied().unwrap_or_default();
            crate::domain::bundle::Performed {
                client_id: s.client_id.as_deref().unwrap_or(client_id),
                service_id: &s.service_id,
                personal_care,
                bundle,
            }
        })
        .collect();
    let weights: Vec<i64> = shares.iter().map(|s| i64::from(s.basis_points)).collect();
    let mut services = Vec::new();
    for (share, part) in shares.iter().zip(proportional(seconds, &weights)) {
        let own: Vec<(&PerformedService, &crate::domain::bundle::Performed<'_>)> = p
            .services
            .iter()
            .zip(&performed)
            .filter(|(s, _)| s.client_id.as_deref().unwrap_or(client_id) == share.client_id)
            .collect();
        // A bundle's contents share its time (R19): no weight of their own.
        let split = split_services(
            part,
            &own.iter()
                .map(|(s, b)| ServiceShare {
                    standard_minutes: if crate::domain::bundle::in_bundle(b, &performed) {
                        0
                    } else {
                        catalogue
                            .get(&s.service_id)
                            .map_or(0, |(m, _, _)| u32::try_from(*m).unwrap_or(0))
                    },
                    entered_minutes: s.minutes,
                })
                .collect::<Vec<_>>(),
        );
        let own: Vec<&PerformedService> = own.into_iter().map(|(s, _)| s).collect();
        for (s, secs) in own.iter().zip(split) {
            services.push(VisitService {
                visit_id: visit_id.to_string(),
                client_id: share.client_id.clone(),
                service_id: s.service_id.clone(),
                declined: false,
                entered_minutes: s.minutes.and_then(|m| i32::try_from(m).ok()),
                seconds: i32::try_from(secs).unwrap_or(i32::MAX),
            });
        }
    }
    services.extend(p.declined_services.iter().map(|id| VisitService {
        visit_id: visit_id.to_string(),
        client_id: client_id.to_string(),
        service_id: id.clone(),
        declined: true,
        entered_minutes: None,
        seconds: 0,
    }));
    services.sort_by(|a, b| {
        (a.declined, &a.client_id, &a.service_id).cmp(&(b.declined, &b.client_id, &b.service_id))
    });
    services.dedup_by(|a, b| {
        a.declined == b.declined && a.client_id == b.client_id && a.service_id == b.service_id
    });
    Ok(Attribution { shares, services })
}

/// The shares and services of visits `ids`, by visit (shares by client,
/// services as [`services_for`] orders them).
pub fn attributions(
    c: &mut DbConn,
    ids: &[&str],
) -> Result<HashMap<String, Attribution>, StoreError> {
    let mut out: HashMap<String, Attribution> = HashMap::new();
    let service_order = (
        visit_service::visit_id,
        visit_service::declined,
        visit_service::client_id,
        visit_service::service_id,
    );
    for chunk in ids.chunks(500) {
        let (shares, services): (Vec<VisitShare>, Vec<VisitService>) = match c {
            DbConn::Sqlite(s) => {
                let list = json_list(chunk)?;
                (
                    visit_share::table
                        .filter(in_list("visit_id", &list))
                        .order((visit_share::visit_id, visit_share::client_id))
                        .select(VisitShare::as_select())
                        .load(s)?,
                    visit_service::table
                        .filter(in_list("visit_id", &list))
                        .order(service_order)
                        .select(VisitService::as_select())
                        .load(s)?,
                )
            }
            DbConn::Pg(pg) => (
                by_visit(pg, "visit_share", "visit_id, client_id", chunk)?,
                by_visit(
                    pg,
                    "visit_service",
                    "visit_id, declined, client_id, service_id",
                    chunk,
                )?,
            ),
        };
        for s in shares {
            out.entry(s.visit_id.clone()).or_default().shares.push(s);
        }
        for s in services {
            out.entry(s.visit_id.clone()).or_default().services.push(s);
        }
    }
    Ok(out)
}

/// PostgreSQL: the rows of `table` (a visit's shares or services) of the
/// visits `ids`, in `order`, read by the visit's index one id at a time.
/// With `visit_id = ANY(ids)` the planner chose a whole-table scan while the
/// table had no statistics (it guessed half the rows would match) and with
/// them while it was small; `OFFSET 0` keeps the lookup a loop over the ids.
fn by_visit<T>(
    pg: &mut diesel::PgConnection,
    table: &'static str,
    order: &'static str,
    ids: &[&str],
) -> Result<Vec<T>, StoreError>
where
    T: QueryableByName<diesel::pg::Pg> + 'static,
{
    Ok(diesel::sql_query(by_visit_sql(table, order))
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(ids)
        .load(pg)?)
}

/// The statement of [`by_visit`].
pub(crate) fn by_visit_sql(table: &str, order: &str) -> String {
    format!(
        "SELECT r.* FROM (SELECT DISTINCT unnest($1::text[]) AS id) e \
         CROSS JOIN LATERAL (SELECT * FROM {table} WHERE visit_id = e.id OFFSET 0) r \
         ORDER BY {order}"
    )
}

/// The stored attribution of a visit.
pub fn attribution(c: &mut DbConn, visit_id: &str) -> Result<Attribution, StoreError> {
    Ok(attributions(c, &[visit_id])?
        .remove(visit_id)
        .unwrap_or_default())
}

/// Replaces a visit's shares and services. `stored`: what the database
/// holds for the visit, if known (nothing for a visit row just inserted:
/// they go with their visit, ON DELETE CASCADE); `None` replaces both.
fn write_attribution(
    c: &mut DbConn,
    visit_id: &str,
    a: &Attribution,
    stored: Option<&Attribution>,
) -> Result<(), StoreError> {
    let mut w = Writes::default();
    w.attribution(visit_id, a, stored);
    w.apply(c)
}

/// What a re-derivation writes, gathered so that each kind is one
/// statement (per 500 rows) for all the visits of a batch.
#[derive(Default)]
struct Writes {
    /// Visits no derived visit is named after any more.
    obsolete: Vec<String>,
    /// Visits whose check-out moves to another visit.
    moving: Vec<String>,
    /// New visits (none stored with their id).
    new_visits: Vec<Visit>,
    /// Stored visits to update, by whether their approval goes (changed
    /// in what approval rests on).
    visits: std::collections::BTreeMap<bool, Vec<Visit>>,
    /// Visits whose stored shares go, and the shares to insert.
    shares_of: Vec<String>,
    shares: Vec<VisitShare>,
    /// Visits whose stored services go, and the services to insert.
    services_of: Vec<String>,
    services: Vec<VisitService>,
}

impl Writes {
    fn new_visit(&mut self, v: &Visit) {
        self.new_visits.push(v.clone());
    }

    fn visit(&mut self, v: &Visit, clear_approval: bool) {
        self.visits
            .entry(clear_approval)
            .or_default()
            .push(v.clone());
    }

    /// A visit's shares and services as [`write_attribution`] writes them.
    fn attribution(&mut self, visit_id: &str, a: &Attribution, stored: Option<&Attribution>) {
        // What is stored already (when known) is not written again: closing
        // an open lock visit changes neither its share nor its (no) services.
        if stored.is_none_or(|s| s.shares != a.shares) {
            if stored.is_none_or(|s| !s.shares.is_empty()) {
                self.shares_of.push(visit_id.to_string());
            }
            self.shares.extend(a.shares.iter().cloned());
        }
        if stored.is_none_or(|s| s.services != a.services) {
            if stored.is_none_or(|s| !s.services.is_empty()) {
                self.services_of.push(visit_id.to_string());
            }
            self.services.extend(a.services.iter().cloned());
        }
    }

    /// Writes it all, in an order no unique or foreign key objects to: the
    /// obsolete visits go, moving check-outs are freed, then the visits
    /// are written, then their shares and services.
    fn apply(self, c: &mut DbConn) -> Result<(), StoreError> {
        for ids in self.obsolete.chunks(500) {
            diesel::delete(visit::table.filter(visit::id.eq_any(ids))).execute(c)?;
        }
        for ids in self.moving.chunks(500) {
            diesel::update(visit::table.filter(visit::id.eq_any(ids)))
                .set(visit::check_out_event_id.eq(None::<String>))
                .execute(c)?;
        }
        if self.new_visits.len() <= FEW {
            for v in &self.new_visits {
                super::execute_on(c, diesel::insert_into(visit::table).values(&row_of(v)))?;
            }
        } else {
            upsert_visits(c, &self.new_visits, true)?;
        }
        for (clear_approval, visits) in &self.visits {
            if visits.len() <= FEW {
                for v in visits {
                    update_visit(c, v, *clear_approval)?;
                }
            } else {
                upsert_visits(c, visits, *clear_approval)?;
            }
        }
        super::visit_share::replace(c, &self.shares_of, &self.shares)?;
        super::visit_service::replace(c, &self.services_of, &self.services)?;
        Ok(())
    }
}

/// Up to this many rows are written one statement each: a statement of
/// one row is prepared once per connection and kept, one of many rows is
/// prepared anew each time (its length varies), which on SQLite costs
/// more than running the one-row statement a few times.
pub(crate) const FEW: usize = 8;

/// A visit row to insert (its corrections and `voided` keep the table's
/// defaults). `None` is NULL, not DEFAULT: SQLite takes many rows in one
/// INSERT only without DEFAULT.
#[derive(Insertable)]
#[diesel(table_name = visit, treat_none_as_default_value = false)]
struct VisitRow<'a> {
    id: &'a str,
    #[diesel(embed)]
    fields: VisitFields,
    approved_at: Option<NaiveDateTime>,
    approved_by: Option<&'a str>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn row_of(v: &Visit) -> VisitRow<'_> {
    VisitRow {
        id: &v.id,
        fields: v.fields.clone(),
        approved_at: v.approved_at,
        approved_by: v.approved_by.as_deref(),
        created_at: v.created_at,
        updated_at: v.updated_at,
    }
}

/// Updates the derived fields of a stored visit, the columns
/// [`upsert_visits`] updates, in a statement kept prepared (an upsert is
/// prepared anew each time).
fn update_visit(c: &mut DbConn, v: &Visit, clear_approval: bool) -> Result<(), StoreError> {
    let f = &v.fields;
    let own = (
        visit::check_out_event_id.eq(f.check_out_event_id.as_deref()),
        visit::started_at.eq(f.started_at),
        visit::ended_at.eq(f.ended_at),
        visit::seconds.eq(f.seconds),
        visit::status.eq(f.status.as_str()),
        visit::exception.eq(f.exception.as_deref()),
        visit::method.eq(f.method.as_deref()),
        visit::double_staffing.eq(f.double_staffing),
        visit::approval_reasons.eq(f.approval_reasons.as_str()),
        visit::verified.eq(f.verified),
        visit::updated_at.eq(v.updated_at),
    );
    let q = diesel::update(visit::table.filter(visit::id.eq(v.id.as_str())));
    let n = if clear_approval {
        let clear = (
            visit::approved_at.eq(None::<NaiveDateTime>),
            visit::approved_by.eq(None::<&str>),
        );
        super::execute_on(c, q.set((own, clear)))?
    } else {
        super::execute_on(c, q.set(own))?
    };
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// Inserts the visits, or updates the derived fields of those stored;
/// `clear_approval`: their approval goes too (they changed).
///
/// A conflict is on the id, the event the visit is named after, and the
/// client, staff member, provider, check-in and day follow from that
/// event: an update sets only the other columns. Each column an UPDATE
/// sets rewrites its index entries, changed or not, and on SQLite each
/// such entry is a page more in the log.
fn upsert_visits(c: &mut DbConn, visits: &[Visit], clear_approval: bool) -> Result<(), StoreError> {
    use diesel::upsert::excluded;
    for chunk in visits.chunks(500) {
        let rows: Vec<VisitRow> = chunk.iter().map(row_of).collect();
        let own = (
            visit::check_out_event_id.eq(excluded(visit::check_out_event_id)),
            visit::started_at.eq(excluded(visit::started_at)),
            visit::ended_at.eq(excluded(visit::ended_at)),
            visit::seconds.eq(excluded(visit::seconds)),
            visit::status.eq(excluded(visit::status)),
            visit::exception.eq(excluded(visit::exception)),
            visit::method.eq(excluded(visit::method)),
            visit::double_staffing.eq(excluded(visit::double_staffing)),
            visit::approval_reasons.eq(excluded(visit::approval_reasons)),
            visit::verified.eq(excluded(visit::verified)),
            visit::updated_at.eq(excluded(visit::updated_at)),
        );
        let clear = (
            visit::approved_at.eq(None::<NaiveDateTime>),
            visit::approved_by.eq(None::<String>),
        );
        // One row: the statement of one row, kept prepared (see [`FEW`]).
        macro_rules! upsert {
            ($values:expr) => {{
                let base = || {
                    diesel::insert_into(visit::table)
                        .values($values)
                        .on_conflict(visit::id)
                        .do_update()
                };
                if clear_approval {
                    super::execute_on(c, base().set((own, clear)))?;
                } else {
                    super::execute_on(c, base().set(own))?;
                }
            }};
        }
        match rows.as_slice() {
            [row] => upsert!(row),
            rows => upsert!(rows),
        }
    }
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Visit, StoreError> {
    Ok(visit::table
        .find(id)
        .select(Visit::as_select())
        .first(conn)?)
}

/// The staff member's open visit, if any (at most one by construction).
pub fn open_for_staff(conn: &mut DbConn, staff_id: &str) -> Result<Option<Visit>, StoreError> {
    Ok(visit::table
        .filter(visit::staff_id.eq(staff_id))
        .filter(visit::status.eq("open"))
        .select(Visit::as_select())
        .first(conn)
        .optional()?)
}

/// A staff member's visits on local dates `from..=to`.
pub fn for_staff(
    conn: &mut DbConn,
    staff_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Visit>, StoreError> {
    Ok(visit::table
        .filter(visit::staff_id.eq(staff_id))
        .filter(visit::local_date.between(from, to))
        .order((visit::local_date, visit::started_at, visit::id))
        .select(Visit::as_select())
        .load(conn)?)
}

/// A visit as one client's: the client's services and every share.
#[derive(Debug, Clone)]
pub struct ClientVisit {
    pub visit: Visit,
    /// All clients' shares; the client's own is [`ClientVisit::own_share`].
    pub shares: Vec<VisitShare>,
    pub own_share: usize,
    /// The client's services in the visit.
    pub services: Vec<VisitService>,
}

/// Visits the client has a share of, whose local date is within
/// `from..=to` (a visit across midnight is listed under the day it
/// started), with the client's services.
pub fn for_client(
    conn: &mut DbConn,
    client_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ClientVisit>, StoreError> {
    let shared = visit_share::table
        .filter(visit_share::client_id.eq(client_id))
        .select(visit_share::visit_id);
    let visits: Vec<Visit> = visit::table
        .filter(visit::id.eq_any(shared))
        .filter(visit::local_date.between(from, to))
        .order((visit::local_date, visit::started_at, visit::id))
        .select(Visit::as_select())
        .load(conn)?;
    let ids: Vec<&str> = visits.iter().map(|v| v.id.as_str()).collect();
    let mut services: HashMap<String, Vec<VisitService>> = HashMap::new();
    for s in visit_service::table
        .filter(visit_service::visit_id.eq_any(&ids))
        .filter(visit_service::client_id.eq(client_id))
        .order((visit_service::declined, visit_service::service_id))
        .select(VisitService::as_select())
        .load::<VisitService>(conn)?
    {
        services.entry(s.visit_id.clone()).or_default().push(s);
    }
    let mut shares: HashMap<String, Vec<VisitShare>> = HashMap::new();
    for s in visit_share::table
        .filter(visit_share::visit_id.eq_any(&ids))
        .order((visit_share::visit_id, visit_share::client_id))
        .select(VisitShare::as_select())
        .load::<VisitShare>(conn)?
    {
        shares.entry(s.visit_id.clone()).or_default().push(s);
    }
    Ok(visits
        .into_iter()
        .map(|visit| {
            let shares = shares.remove(&visit.id).unwrap_or_default();
            let own_share = shares
                .iter()
                .position(|s| s.client_id == client_id)
                .unwrap_or(0);
            ClientVisit {
                services: services.remove(&visit.id).unwrap_or_default(),
                visit,
                shares,
                own_share,
            }
        })
        .collect())
}

/// Re-derives every visit of a staff member from the events (repair tool
/// and the tests' reference).
pub fn rederive_staff(
    conn: &mut DbConn,
    staff_id: &str,
    rules: Rules,
) -> Result<Vec<Derived>, StoreError> {
    let seq = visit_event::all_for_staff(conn, staff_id)?;
    Ok(pairing::derive_all(&seq, rules.max_seconds))
}
