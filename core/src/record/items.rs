//! Items of several senders recorded together: the phone's check-ins and
//! check-outs that wait for the writer are one set of statements, as a
//! gateway batch's events are, instead of a set of statements each.

use super::{Group, Pending, Recorded, record_events};
use crate::db::journal_note::{self, NewNote};
use crate::db::visit_event::NewVisitEvent;
use crate::db::{self, ChangeError, DbConn, StoreError};
use crate::domain::Rules;
use std::collections::HashMap;

/// One sender's item: its events, all of one staff member and kept or
/// refused together (a visit entered afterwards is a check-in and a
/// check-out), and the journal note of the last of them.
#[derive(Debug, Clone)]
pub struct Item {
    pub events: Vec<NewVisitEvent>,
    /// Stored only if the last event is new (not a duplicate).
    pub note: Option<NewNote>,
    pub rules: Rules,
}

/// Records `items`, each as [`super::record_deferred`] would on its own
/// (the stored visits do not depend on how events are grouped, since
/// pairing depends on the set of events): the items of each staff member
/// in one group, all groups together. If anything refuses that, each item
/// on its own in a savepoint, so an item's refusal (a locked month, a lost
/// race) is its own and the others are kept. One result per item, in
/// order: the last event's [`Recorded`]. Only what was kept is added to
/// `pending`. An `Err` is the connection's failure: nothing can be kept.
pub fn record_items(
    conn: &mut DbConn,
    items: &[Item],
    pending: &mut Pending,
) -> Result<Vec<Result<Recorded, ChangeError>>, StoreError> {
    // The staff locks of all items at once, in one order, outside the
    // savepoints below: held to the transaction's end whatever they undo.
    let staff: Vec<&str> = items
        .iter()
        .flat_map(|i| i.events.iter().map(|e| e.staff_id.as_str()))
        .collect();
    super::lock_staff(conn, &staff, pending)?;
    if items.len() > 1 {
        let mut mine = pending.sharing();
        match db::change(conn, |c| together(c, items, &mut mine)) {
            Ok(all) => {
                pending.merge(mine);
                return Ok(all.into_iter().map(Ok).collect());
            }
            Err(e) => {
                tracing::debug!(error = %e, items = items.len(), "items recorded one by one");
                pending.keep_reads(mine);
            }
        }
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut mine = pending.sharing();
        let one = db::change(conn, |c| {
            let recorded = super::record_group_deferred(c, &item.events, item.rules, &mut mine)?;
            last_with_note(c, item, recorded)
        });
        match one {
            Ok(r) => {
                pending.merge(mine);
                out.push(Ok(r));
            }
            Err(e) => {
                pending.keep_reads(mine);
                out.push(Err(e));
            }
        }
    }
    Ok(out)
}

/// All items in one call: each staff member's events one group.
fn together(
    c: &mut DbConn,
    items: &[Item],
    pending: &mut Pending,
) -> Result<Vec<Recorded>, ChangeError> {
    let mut groups: Vec<(Rules, Vec<NewVisitEvent>)> = Vec::new();
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    // For each item, its group and the place of its events in it.
    let mut place: Vec<(usize, std::ops::Range<usize>)> = Vec::with_capacity(items.len());
    for item in items {
        let Some(first) = item.events.first() else {
            return Err(StoreError::NotFound.into());
        };
        let g = *group_of.entry(first.staff_id.as_str()).or_insert_with(|| {
            groups.push((item.rules, Vec::new()));
            groups.len() - 1
        });
        let start = groups[g].1.len();
        groups[g].1.extend(item.events.iter().cloned());
        place.push((g, start..groups[g].1.len()));
    }
    let refs: Vec<Group<'_>> = groups
        .iter()
        .map(|(rules, events)| Group {
            events,
            rules: *rules,
        })
        .collect();
    let recorded = record_events(c, &refs, None, pending)?;
    let mut out = Vec::with_capacity(items.len());
    for (item, (g, range)) in items.iter().zip(place) {
        let mine: Vec<Recorded> = recorded[g][range].to_vec();
        out.push(last_with_note(c, item, mine)?);
    }
    Ok(out)
}

/// The item's answer, its last event's; its note stored if that is new.
fn last_with_note(
    c: &mut DbConn,
    item: &Item,
    recorded: Vec<Recorded>,
) -> Result<Recorded, ChangeError> {
    let last = recorded.into_iter().last().ok_or(StoreError::NotFound)?;
    if let (Some(note), Recorded::Applied { .. }) = (&item.note, &last) {
        journal_note::insert(c, note)?;
    }
    Ok(focus(item, last))
}

/// The visits of an answer that hold the item's own events first. An item
/// of several events (a visit entered afterwards) answers with those
/// alone: its events are paired in one run, whose neighbours, derived
/// again unchanged, are not what it created or changed (recorded one
/// after the other, its check-out's answer held its own visit).
fn focus(item: &Item, r: Recorded) -> Recorded {
    let Recorded::Applied {
        event,
        visits,
        attributions,
    } = r
    else {
        return r;
    };
    let own = |v: &crate::db::visit::Visit| {
        [&v.fields.check_in_event_id, &v.fields.check_out_event_id]
            .into_iter()
            .flatten()
            .any(|id| item.events.iter().any(|e| &e.id == id))
    };
    let (mut mine, others): (Vec<_>, Vec<_>) = visits
        .into_iter()
        .zip(attributions)
        .partition(|(v, _)| own(v));
    if item.events.len() == 1 {
        mine.extend(others);
    }
    let (visits, attributions) = mine.into_iter().unzip();
    Recorded::Applied {
        event,
        visits,
        attributions,
    }
}
