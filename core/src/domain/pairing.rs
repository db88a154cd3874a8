//! Pairing check-ins with check-outs into visits (one staff member's
//! events, from every source: phone, lock, NFC reader).
//!
//! The rule is local, so the result depends only on the set of events and
//! never on the order they arrived in (offline phones, late devices):
//! sort one staff member's events by time (a check-out before a check-in at
//! the same instant, then by id); a check-in and the event right after it
//! form a visit when that event is a check-out at the same client. What
//! does not pair becomes a visit with an exception, never a silent fix:
//! - a check-in followed by anything else (another check-in, a check-out
//!   elsewhere): `missing_check_out`;
//! - a check-out not preceded by its check-in: `missing_check_in`;
//! - a pair longer than the municipality's limit (default 12 h): `too_long`.
//!
//! The last check-in with nothing after it is the open visit, so a staff
//! member has at most one.
//!
//! **One arrival, several witnesses.** A lock's `unlock` and the phone's NFC
//! check-in a minute later are the same arrival. An event right after one
//! of the same kind at the same client, within [`MERGE_SECONDS`], confirms
//! it instead of starting something new: it is evidence, and the pairing
//! skips it. The first event of such a run stands for it (the earliest
//! arrival, the earliest departure).
//!
//! Adding an event changes only the visits of the events next to it (and
//! of the nearest ones that stand for a run), which is what [`affected`]
//! returns.

use crate::model::{ClientId, EventId};
use chrono::NaiveDateTime;
use serde::Serialize;
use std::cmp::Ordering;

/// Check-in or check-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    CheckIn,
    CheckOut,
}

/// One event as the pairing sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub kind: Kind,
    pub client_id: ClientId,
    /// UTC.
    pub at: NaiveDateTime,
}

/// Events of the same kind at the same client this close together are one
/// moment seen by several devices.
pub const MERGE_SECONDS: i64 = 10 * 60;

/// The total order of one staff member's events.
pub fn order(a: &Event, b: &Event) -> Ordering {
    let rank = |k: Kind| match k {
        Kind::CheckOut => 0,
        Kind::CheckIn => 1,
    };
    a.at.cmp(&b.at)
        .then(rank(a.kind).cmp(&rank(b.kind)))
        .then(a.id.cmp(&b.id))
}

/// Why a visit needs a person to look at it.
pub use crate::model::VisitException as Exception;

/// A visit derived from one or two events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derived {
    /// The check-in's id, or the check-out's when there is no check-in:
    /// the visit's stable identity.
    pub anchor: EventId,
    pub client_id: ClientId,
    pub check_in: Option<EventId>,
    pub check_out: Option<EventId>,
    pub started_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub exception: Option<Exception>,
}

impl Derived {
    /// A check-in with nothing after it yet.
    pub fn is_open(&self) -> bool {
        self.check_in.is_some() && self.check_out.is_none() && self.exception.is_none()
    }

    /// Real elapsed seconds of a complete visit.
    pub fn seconds(&self) -> Option<i64> {
        Some((self.ended_at? - self.started_at?).num_seconds())
    }
}

fn pairs(a: &Event, b: &Event) -> bool {
    a.kind == Kind::CheckIn && b.kind == Kind::CheckOut && a.client_id == b.client_id
}

/// Whether the event at `i` confirms the one before it (see the module).
/// The first event of `seq` counts as standing for itself: callers load
/// enough before the events they ask about.
pub fn confirms(seq: &[Event], i: usize) -> bool {
    let Some(prev) = i.checked_sub(1).map(|p| &seq[p]) else {
        return false;
    };
    let e = &seq[i];
    prev.kind == e.kind
        && prev.client_id == e.client_id
        && (e.at - prev.at).num_seconds() <= MERGE_SECONDS
}

/// The event that stands for the run `i` is in.
fn root(seq: &[Event], mut i: usize) -> usize {
    while confirms(seq, i) {
        i -= 1;
    }
    i
}

/// The nearest event after `i` that stands for itself.
fn next_root(seq: &[Event], i: usize) -> Option<usize> {
    (i + 1..seq.len()).find(|j| !confirms(seq, *j))
}

/// The nearest event before `i` that stands for itself.
fn prev_root(seq: &[Event], i: usize) -> Option<usize> {
    (0..i)
        .rev()
        .find(|j| !confirms(seq, *j))
        .map(|j| root(seq, j))
}

/// The visit the event at `i` belongs to; `seq` is sorted by [`order`].
pub fn visit_of(seq: &[Event], i: usize, max_seconds: i64) -> Derived {
    let r = root(seq, i);
    let e = &seq[r];
    match e.kind {
        Kind::CheckIn => match next_root(seq, r).map(|n| &seq[n]) {
            Some(n) if pairs(e, n) => {
                let too_long = (n.at - e.at).num_seconds() > max_seconds;
                Derived {
                    anchor: e.id.clone(),
                    client_id: e.client_id.clone(),
                    check_in: Some(e.id.clone()),
                    check_out: Some(n.id.clone()),
                    started_at: Some(e.at),
                    ended_at: Some(n.at),
                    exception: too_long.then_some(Exception::TooLong),
                }
            }
            other => Derived {
                anchor: e.id.clone(),
                client_id: e.client_id.clone(),
                check_in: Some(e.id.clone()),
                check_out: None,
                started_at: Some(e.at),
                ended_at: None,
                exception: other.map(|_| Exception::MissingCheckOut),
            },
        },
        Kind::CheckOut => match prev_root(seq, r) {
            Some(p) if pairs(&seq[p], e) => visit_of(seq, p, max_seconds),
            _ => Derived {
                anchor: e.id.clone(),
                client_id: e.client_id.clone(),
                check_in: None,
                check_out: Some(e.id.clone()),
                started_at: None,
                ended_at: Some(e.at),
                exception: Some(Exception::MissingCheckIn),
            },
        },
    }
}

/// Every visit of a whole sorted sequence.
pub fn derive_all(seq: &[Event], max_seconds: i64) -> Vec<Derived> {
    let mut out: Vec<Derived> = Vec::new();
    for i in 0..seq.len() {
        let v = visit_of(seq, i, max_seconds);
        if !out.iter().any(|o| o.anchor == v.anchor) {
            out.push(v);
        }
    }
    out
}

/// The events whose visit can change when the event at `i` is added: its
/// neighbours and the nearest events before and after it that stand for
/// themselves.
pub fn touched(seq: &[Event], i: usize) -> Vec<usize> {
    let mut t: Vec<usize> = [
        i.checked_sub(1),
        Some(i),
        Some(i + 1).filter(|n| *n < seq.len()),
    ]
    .into_iter()
    .flatten()
    .collect();
    t.extend(prev_root(seq, i));
    t.extend(next_root(seq, i));
    t.sort_unstable();
    t.dedup();
    t
}

/// The visits of the events at `indices` (each once).
pub fn visits_of(seq: &[Event], indices: &[usize], max_seconds: i64) -> Vec<Derived> {
    let mut out: Vec<Derived> = Vec::new();
    for &j in indices {
        let v = visit_of(seq, j, max_seconds);
        if !out.iter().any(|o| o.anchor == v.anchor) {
            out.push(v);
        }
    }
    out
}

/// After the event at `i` was added to `seq` (sorted, holding enough events
/// either side of `i`), the visits of the [`touched`] events: the only
/// visits that can have changed.
pub fn affected(seq: &[Event], i: usize, max_seconds: i64) -> Vec<Derived> {
    visits_of(seq, &touched(seq, i), max_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    const LIMIT: i64 = 12 * 3600;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 2)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn ev(id: &str, kind: Kind, client: &str, t: NaiveDateTime) -> Event {
        Event {
            id: id.into(),
            kind,
            client_id: client.into(),
            at: t,
        }
    }

    fn sorted(mut v: Vec<Event>) -> Vec<Event> {
        v.sort_by(order);
        v
    }

    #[test]
    fn pairs_a_day_of_visits() {
        let seq = sorted(vec![
            ev("a", Kind::CheckIn, "lisa", at(7, 0)),
            ev("b", Kind::CheckOut, "lisa", at(7, 30)),
            ev("c", Kind::CheckIn, "maj", at(8, 0)),
            ev("d", Kind::CheckOut, "maj", at(8, 45)),
            ev("e", Kind::CheckIn, "lisa", at(9, 0)),
        ]);
        let v = derive_all(&seq, LIMIT);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].seconds(), Some(1800));
        assert_eq!(v[1].check_out.as_deref(), Some("d"));
        assert!(v[2].is_open());
        assert!(v.iter().all(|v| v.exception.is_none()));
    }

    #[test]
    fn unpaired_events_become_exceptions() {
        let seq = sorted(vec![
            ev("out-only", Kind::CheckOut, "lisa", at(6, 0)),
            ev("in1", Kind::CheckIn, "lisa", at(7, 0)),
            ev("in2", Kind::CheckIn, "maj", at(8, 0)), // second check-in
            ev("out-elsewhere", Kind::CheckOut, "greta", at(9, 0)),
        ]);
        let v = derive_all(&seq, LIMIT);
        let ex: Vec<_> = v.iter().map(|v| (v.anchor.as_str(), v.exception)).collect();
        assert_eq!(
            ex,
            vec![
                ("out-only", Some(Exception::MissingCheckIn)),
                ("in1", Some(Exception::MissingCheckOut)),
                ("in2", Some(Exception::MissingCheckOut)),
                ("out-elsewhere", Some(Exception::MissingCheckIn)),
            ]
        );
        assert!(v.iter().all(|v| !v.is_open()), "no open visit");
    }

    #[test]
    fn too_long_is_flagged_but_keeps_its_times() {
        let seq = sorted(vec![
            ev("in", Kind::CheckIn, "lisa", at(7, 0)),
            ev(
                "out",
                Kind::CheckOut,
                "lisa",
                at(7, 0) + chrono::Duration::hours(13),
            ),
        ]);
        let v = derive_all(&seq, LIMIT);
        assert_eq!(v[0].exception, Some(Exception::TooLong));
        assert_eq!(v[0].seconds(), Some(13 * 3600));
    }

    #[test]
    fn check_out_sorts_before_check_in_at_the_same_instant() {
        let seq = sorted(vec![
            ev("z-in", Kind::CheckIn, "maj", at(8, 0)),
            ev("a-in", Kind::CheckIn, "lisa", at(7, 0)),
            ev("z-out", Kind::CheckOut, "lisa", at(8, 0)),
        ]);
        let v = derive_all(&seq, LIMIT);
        assert_eq!(v[0].check_out.as_deref(), Some("z-out"));
        assert!(v[1].is_open());
    }

    /// Whatever order events arrive in, updating only the affected visits
    /// gives the same visits as deriving everything from the final set.
    #[test]
    fn incremental_updates_match_a_full_derivation_in_any_arrival_order() {
        let all = vec![
            ev("1", Kind::CheckIn, "lisa", at(7, 0)),
            ev("2", Kind::CheckOut, "lisa", at(7, 30)),
            ev("3", Kind::CheckIn, "maj", at(8, 0)),
            ev("4", Kind::CheckIn, "maj", at(8, 5)),
            ev("5", Kind::CheckOut, "maj", at(8, 40)),
            ev("6", Kind::CheckOut, "lisa", at(9, 0)),
            ev("7", Kind::CheckIn, "greta", at(10, 0)),
            ev("8", Kind::CheckOut, "greta", at(23, 0)),
            ev("9", Kind::CheckIn, "lisa", at(23, 30)),
            // One arrival and one departure seen by the lock and the phone.
            ev("10", Kind::CheckIn, "olof", at(11, 0)),
            ev("11", Kind::CheckIn, "olof", at(11, 1)),
            ev("12", Kind::CheckIn, "olof", at(11, 4)),
            ev("13", Kind::CheckOut, "olof", at(11, 40)),
            ev("14", Kind::CheckOut, "olof", at(11, 42)),
        ];
        let expected = derive_all(&sorted(all.clone()), LIMIT);
        let mut seed = 12345u64;
        for _ in 0..400 {
            let mut arrival = all.clone();
            for k in (1..arrival.len()).rev() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                arrival.swap(k, (seed >> 33) as usize % (k + 1));
            }
            // The store: visits by anchor, maintained incrementally.
            let mut store: Vec<Derived> = Vec::new();
            let mut seq: Vec<Event> = Vec::new();
            for e in arrival {
                let pos = seq.partition_point(|x| order(x, &e) == Ordering::Less);
                seq.insert(pos, e);
                let touched: Vec<&str> = touched(&seq, pos)
                    .into_iter()
                    .map(|j| seq[j].id.as_str())
                    .collect();
                store.retain(|v| {
                    let contains =
                        |id: &Option<EventId>| id.as_deref().is_some_and(|i| touched.contains(&i));
                    !(contains(&v.check_in) || contains(&v.check_out))
                });
                store.extend(affected(&seq, pos, LIMIT));
            }
            store.sort_by(|a, b| a.anchor.cmp(&b.anchor));
            let mut want = expected.clone();
            want.sort_by(|a, b| a.anchor.cmp(&b.anchor));
            assert_eq!(store, want);
        }
    }
}

#[cfg(test)]
mod merge_tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 2)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn ev(id: &str, kind: Kind, t: NaiveDateTime) -> Event {
        Event {
            id: id.into(),
            kind,
            client_id: "lisa".into(),
            at: t,
        }
    }

    #[test]
    fn a_lock_and_a_phone_seeing_the_same_arrival_make_one_visit() {
        let mut seq = vec![
            ev("unlock", Kind::CheckIn, at(7, 59)),
            ev("phone-in", Kind::CheckIn, at(8, 0)),
            ev("phone-out", Kind::CheckOut, at(8, 40)),
            ev("lock", Kind::CheckOut, at(8, 41)),
        ];
        seq.sort_by(order);
        let v = derive_all(&seq, 12 * 3600);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            (v[0].check_in.as_deref(), v[0].check_out.as_deref()),
            (Some("unlock"), Some("phone-out"))
        );
        assert_eq!(v[0].exception, None);
        assert_eq!(v[0].seconds(), Some(41 * 60));
        // Every one of the four events belongs to it.
        for i in 0..4 {
            assert_eq!(visit_of(&seq, i, 12 * 3600).anchor, "unlock");
        }
    }

    #[test]
    fn a_second_check_in_after_the_window_is_still_an_exception() {
        let mut seq = vec![
            ev("a", Kind::CheckIn, at(8, 0)),
            ev("b", Kind::CheckIn, at(8, 11)),
        ];
        seq.sort_by(order);
        let v = derive_all(&seq, 12 * 3600);
        assert_eq!(v[0].exception, Some(Exception::MissingCheckOut));
        assert!(v[1].is_open());
    }
}
