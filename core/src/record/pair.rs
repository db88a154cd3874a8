//! The window of a staff member's events around new ones, and the visits
//! derived again from it.

use super::derive::plan;
use super::pending::Pending;
use super::write::Writes;
use crate::db::ChangeError;
use crate::db::visit::{Attribution, Visit, attributions, holding};
use crate::db::visit_event::{self, VisitEvent};
use crate::db::{self, DbConn, StoreError};
use crate::domain::Rules;
use crate::domain::pairing::{self, Derived};
use crate::model::{EventId, VisitId};
use chrono::NaiveDateTime;
use std::collections::HashMap;

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

/// Re-derives the visits that runs of new events change and stores them.
/// Each item is one staff member's run (sorted by time) with its rules, no
/// two of the same staff member; one list of visits per item. The reads
/// and writes of all the items go together.
pub(super) fn repair(
    c: &mut DbConn,
    items: &[(&[VisitEvent], Rules)],
    cells: &mut crate::domain::figures::Figures,
    pending: &mut Pending,
) -> Result<Vec<Vec<(Visit, Attribution)>>, ChangeError> {
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
        let mut owner: HashMap<EventId, usize> = HashMap::new();
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
        let mut ids: Vec<&str> = owner.keys().map(EventId::as_str).collect();
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
                if r.derived.iter().any(|d| v.id.named_after(&d.anchor)) {
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
        let mut existing: HashMap<VisitId, (Visit, Attribution)> = HashMap::new();
        for v in r.holders {
            let a = was_attr.remove(&v.id).unwrap_or_default();
            figures_before.extend(db::figure::input_of(&v, &a));
            if r.derived.iter().any(|d| v.id.named_after(&d.anchor)) {
                existing.insert(v.id.clone(), (v, a));
            } else {
                writes.obsolete.push(v.id);
            }
        }
        // A check-out moving from one visit to another would briefly be
        // held by both (it is unique): free it first, keeping the rows as
        // they were for the comparison in `plan`.
        for d in &r.derived {
            if existing.get(d.anchor.as_str()).is_some_and(|(v, _)| {
                v.fields.check_out_event_id.is_some() && v.fields.check_out_event_id != d.check_out
            }) {
                writes.moving.push(d.anchor.visit_id());
            }
        }
        let mut out = Vec::with_capacity(r.derived.len());
        let mut figures_after = Vec::new();
        for d in &r.derived {
            let old = existing.remove(d.anchor.as_str());
            let (v, a) = plan(c, d, &full, r.rules, old, pending, &mut writes)?;
            figures_after.extend(db::figure::input_of(&v, &a));
            out.push((v, a));
        }
        cells.merge(db::figure::delta(
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
