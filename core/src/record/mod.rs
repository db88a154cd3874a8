//! The visit engine: an event recorded is paired with its staff member's
//! events around it, the visits it changes are derived again, attributed
//! to clients' shares and services, written, and the figures moved by the
//! difference, in one transaction.
//!
//! - [`record`] and its batch forms: store the events (idempotent on the
//!   sender's event id), refuse a month locked for billing (R6);
//! - `pair`: the window of events around the new ones and the visits the
//!   pairing rule (`domain::pairing`) derives from it;
//! - `derive`: one derived visit's row, status and approval reasons;
//! - `attribute`: whose time it was and which services (R19, R20);
//! - `write`: what a re-derivation writes, a statement per kind;
//! - `approval`: a provider admin's approval, correction and voiding.

mod approval;
mod attribute;
mod derive;
mod items;
mod pair;
mod pending;
mod write;

use crate::db::{ChangeError, RuleError};
pub use items::{Item, record_items};
use pair::repair;
pub use pending::Pending;

pub use approval::{
    Change, DayApproval, REASON_CODES, approve, approve_day, correct, day_visits, void,
};

use crate::db::journal_note::{self, NewNote};
use crate::db::visit::{Attribution, Visit};
use crate::db::visit_event::{self, NewVisitEvent, VisitEvent};
use crate::db::{self, DbConn, StoreError};
use crate::domain::EventKind;
pub use crate::domain::Rules;
use crate::domain::pairing::{self, Derived};
use crate::model::EventId;
use diesel::prelude::*;
use std::collections::HashMap;

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
) -> Result<Recorded, ChangeError> {
    db::change(conn, |c| {
        let mut pending = Pending::default();
        let recorded = record_deferred(c, event, note, rules, &mut pending)?;
        pending.apply(c)?;
        Ok(recorded)
    })
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
) -> Result<Recorded, ChangeError> {
    let group = Group {
        events: std::slice::from_ref(event),
        rules,
    };
    record_events(conn, &[group], note, pending)?
        .pop()
        .and_then(|mut g| g.pop())
        .ok_or(StoreError::NotFound.into())
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
/// [`RuleError::MonthLocked`] the caller should record the events one by
/// one to learn which of them the lock refuses.
pub fn record_group_deferred(
    conn: &mut DbConn,
    events: &[NewVisitEvent],
    rules: Rules,
    pending: &mut Pending,
) -> Result<Vec<Recorded>, ChangeError> {
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
/// [`RuleError::MonthLocked`] record the groups one by one to learn which
/// of them the lock refuses.
pub fn record_groups_deferred(
    conn: &mut DbConn,
    groups: &[Group<'_>],
    pending: &mut Pending,
) -> Result<Vec<Vec<Recorded>>, ChangeError> {
    record_events(conn, groups, None, pending)
}

/// [`record_groups_deferred`], with the journal note of a single event.
fn record_events(
    conn: &mut DbConn,
    groups: &[Group<'_>],
    note: Option<&NewNote>,
    pending: &mut Pending,
) -> Result<Vec<Vec<Recorded>>, ChangeError> {
    // Each group one staff member's, and no two of the same one.
    let mut staff: Vec<&str> = Vec::with_capacity(groups.len());
    for g in groups {
        let Some(first) = g.events.first() else {
            continue;
        };
        if g.events.iter().any(|e| e.staff_id != first.staff_id) {
            return Err(RuleError::WrongState(
                "a group of events must be one staff member's".into(),
            )
            .into());
        }
        staff.push(&first.staff_id);
    }
    staff.sort_unstable();
    if staff.windows(2).any(|w| w[0] == w[1]) {
        return Err(
            RuleError::WrongState("two groups of events of the same staff member".into()).into(),
        );
    }
    lock_staff(conn, &staff, pending)?;
    let mut cells = crate::domain::figures::Figures::default();
    let mut visited = std::collections::BTreeSet::new();
    let recorded = db::change(conn, |c| {
        // Each event stored, or the one stored before it.
        let all: Vec<&NewVisitEvent> = groups.iter().flat_map(|g| g.events).collect();
        let mut inserted = visit_event::insert_many(c, &all)?.into_iter();
        let mut stored: Vec<Vec<Result<VisitEvent, VisitEvent>>> = Vec::with_capacity(groups.len());
        for g in groups {
            let mut mine = Vec::with_capacity(g.events.len());
            for (e, new) in g.events.iter().zip(&mut inserted) {
                let Some(new) = new else {
                    let existing = visit_event::find(c, e.source, &e.source_key, &e.event_id)?
                        .ok_or(StoreError::NotFound)?;
                    mine.push(Err(existing));
                    continue;
                };
                // No new event in a month locked for billing (R6).
                let month = crate::domain::YearMonth::of(new.local_date);
                if pending.is_locked(c, &new.provider_id, month)? {
                    return Err(RuleError::MonthLocked(month).into());
                }
                if let Some(n) = note {
                    journal_note::insert(c, n)?;
                }
                visited.insert((new.client_id.to_string(), new.local_date));
                // Declined visits are counted for the month's comparison (R21).
                if new.kind == EventKind::Declined {
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
        let mut visits_of: HashMap<EventId, Vec<(Visit, Attribution)>> = HashMap::new();
        let rounds = runs.iter().map(Vec::len).max().unwrap_or(0);
        for k in 0..rounds {
            let items: Vec<(&[VisitEvent], Rules)> = runs
                .iter()
                .zip(groups)
                .filter_map(|(r, g)| r.get(k).map(|run| (run.as_slice(), g.rules)))
                .collect();
            let visits = repair(c, &items, &mut cells, pending)?;
            for ((run, _), v) in items.iter().zip(visits) {
                for (visit, a) in &v {
                    visited.insert((visit.fields.client_id.to_string(), visit.fields.local_date));
                    for share in &a.shares {
                        visited.insert((share.client_id.to_string(), visit.fields.local_date));
                    }
                }
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
    pending.visited.extend(visited);
    Ok(recorded)
}

/// PostgreSQL: one staff member's events are paired one transaction at a
/// time. The lock is the transaction's (taken at the caller's level: a
/// savepoint it is taken in releases it when undone), held to its end, and
/// taken once; a call's locks in one order (by staff id), so two writers
/// wait for each other instead of deadlocking. SQLite: nothing (the
/// engine's first statement, an insert, takes the write lock before
/// anything is read).
pub(crate) fn lock_staff(
    conn: &mut DbConn,
    staff: &[&str],
    pending: &mut Pending,
) -> Result<(), StoreError> {
    let DbConn::Pg(pg) = conn else {
        return Ok(());
    };
    let mut keys: Vec<String> = staff
        .iter()
        .filter(|s| !pending.staff.contains(**s))
        .map(|s| format!("staff:{s}"))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(());
    }
    // The engine's reads by lists of ids keep one generic plan for the
    // rest of the transaction: left to choose, PostgreSQL planned them
    // anew on every run (a list of two ids looks cheaper than the ten a
    // generic plan assumes), and planning was a third of its statement
    // time in the phone bench (docs/BENCHMARKS.md). Their generic plans go
    // by index whatever the statistics (`storage_tests`).
    db::unnest::Query::new("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
        .execute(pg)?;
    // Volatile functions of a SELECT list run after its ORDER BY.
    db::unnest::Query::new(
        "SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(?::text[]) AS k ORDER BY k",
    )
    .bind(db::unnest::texts(&keys, String::as_str))
    .execute(pg)?;
    pending.staff.extend(staff.iter().map(|s| s.to_string()));
    Ok(())
}

/// Re-derives every visit of a staff member from the events (repair tool
/// and the tests' reference).
pub fn rederive_staff(
    conn: &mut DbConn,
    staff_id: &str,
    rules: Rules,
) -> Result<Vec<Derived>, ChangeError> {
    let seq = visit_event::all_for_staff(conn, staff_id)?;
    Ok(pairing::derive_all(&seq, rules.max_seconds))
}

#[cfg(test)]
mod tests;
