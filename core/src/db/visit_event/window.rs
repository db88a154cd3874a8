//! A staff member's check-ins and check-outs around new events, read for
//! the pairing: only what it looks at, by the index it is read by.

use super::VisitEvent;
use crate::db::schema::visit_event;
use crate::db::{DbConn, StoreError};
use crate::domain::EventKind;
use crate::domain::pairing;
use crate::model::ClientId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// An event as a window reads it: only what the pairing looks at. The
/// whole rows were most of a gateway batch's time on SQLite (ten strings
/// and three dates parsed per row, for the two or three events of a run
/// whose visit is derived again); those are read by id ([`by_ids`]).
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = visit_event)]
pub(crate) struct Paired {
    pub id: crate::model::EventId,
    pub kind: EventKind,
    pub client_id: ClientId,
    pub occurred_at: NaiveDateTime,
}

impl Paired {
    fn pairing(self) -> Option<pairing::Event> {
        let kind = self.kind.pairing()?;
        Some(pairing::Event {
            id: self.id,
            kind,
            client_id: self.client_id,
            at: self.occurred_at,
        })
    }
}

/// A staff member's check-ins and check-outs around some events.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// Sorted by the pairing order.
    pub events: Vec<pairing::Event>,
    /// No earlier event exists: the first one has no predecessor.
    pub from_start: bool,
    /// No later event exists.
    pub to_end: bool,
}

/// The staff member's check-ins and check-outs from `from` to `to`
/// (inclusive), and at least `before` events before `from` and `after`
/// after `to` (more when several share the boundary's instant, so the
/// window is a contiguous part of the staff member's whole sequence),
/// sorted by the pairing order.
pub(crate) fn window_span(
    conn: &mut DbConn,
    staff_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    before: i64,
    after: i64,
) -> Result<Window, StoreError> {
    let base = || {
        visit_event::table
            .filter(visit_event::staff_id.eq(staff_id))
            .filter(PairKinds)
            .select(Paired::as_select())
    };
    let rows: Vec<Paired> = base()
        .filter(visit_event::occurred_at.lt(from))
        .order(visit_event::occurred_at.desc())
        .limit(before + 1)
        .load(conn)?;
    let later = |conn: &mut DbConn, limit: i64| {
        base()
            .filter(visit_event::occurred_at.ge(from))
            .order(visit_event::occurred_at.asc())
            .limit(limit)
            .load::<Paired>(conn)
    };
    let got = later(conn, SPAN_GUESS + after + 1)?;
    let window = assemble(rows, got, before, after, to, |more| {
        Ok(Some(match more {
            More::Instant(t) => base().filter(visit_event::occurred_at.eq(t)).load(conn)?,
            More::From(limit) => later(conn, limit)?,
        }))
    })?;
    // `assemble` gives up only where its reader reads nothing; this one
    // always reads.
    window.ok_or(StoreError::NotFound)
}

/// The condition of the index the pairing reads a staff member's events
/// by (`visit_event_staff_pair_idx`, migration 2026-12-01-000013), written
/// out: a partial index is used only where the query's condition is the
/// index's own, and a bound kind is not (SQLite never, PostgreSQL not in a
/// generic plan).
macro_rules! pair_kinds {
    () => {
        "visit_event.kind IN ('check_in', 'check_out')"
    };
}

/// [`pair_kinds!`] as text.
pub(crate) const PAIR_KINDS: &str = pair_kinds!();

/// [`pair_kinds!`] as a filter. Not a `sql` literal: diesel prepares a
/// statement with one of those anew on every call, and keeps a statement
/// with this one.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId, diesel::expression::ValidGrouping)]
struct PairKinds;

impl diesel::Expression for PairKinds {
    type SqlType = diesel::sql_types::Bool;
}

impl diesel::AppearsOnTable<visit_event::table> for PairKinds {}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for PairKinds {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        out.push_sql(PAIR_KINDS);
        Ok(())
    }
}

/// What a window needs read beyond its first two reads.
enum More {
    /// All the events of this instant: a limit cut through them.
    Instant(NaiveDateTime),
    /// The events from the span's start on, this many: the span holds
    /// more than the guess.
    From(i64),
}

/// A window from its first two reads: `rows`, the events before the
/// span's start, latest first, read with a limit of `before` + 1; `got`,
/// those from the span's start on, earliest first, with a limit of
/// [`SPAN_GUESS`] + `after` + 1. What else it needs it reads with `more`;
/// `None` where `more` reads nothing.
fn assemble(
    mut rows: Vec<Paired>,
    mut got: Vec<Paired>,
    before: i64,
    after: i64,
    to: NaiveDateTime,
    mut more: impl FnMut(More) -> Result<Option<Vec<Paired>>, StoreError>,
) -> Result<Option<Window>, StoreError> {
    // One row more than asked for on each side tells whether anything
    // lies beyond, and whether the limit cut through the events of one
    // instant (only then are that instant's events read whole).
    let from_start = rows.len() as i64 <= before;
    if !from_start && !whole_boundary(&mut rows, &mut more)? {
        return Ok(None);
    }
    // The events from `from` to `to` and those after, in one read: as many
    // as there are in the span (a guess, doubled until they fit) and
    // `after` + 1 more.
    let mut span = SPAN_GUESS;
    let mut later: Vec<Paired> = loop {
        let limit = span + after + 1;
        let in_span = got.iter().take_while(|r| r.occurred_at <= to).count();
        if (got.len() as i64) < limit || (got.len() - in_span) as i64 > after {
            let later = got.split_off(in_span);
            rows.extend(got);
            break later;
        }
        span *= 2;
        match more(More::From(span + after + 1))? {
            Some(g) => got = g,
            None => return Ok(None),
        }
    };
    let to_end = later.len() as i64 <= after;
    if !to_end && !whole_boundary(&mut later, &mut more)? {
        return Ok(None);
    }
    rows.extend(later);
    Ok(Some(Window::sorted(rows, from_start, to_end)))
}

impl Window {
    /// A window of `rows`, sorted by the pairing order.
    fn sorted(rows: Vec<Paired>, from_start: bool, to_end: bool) -> Window {
        // Only check-ins and check-outs are read (`PairKinds`).
        let mut events: Vec<pairing::Event> =
            rows.into_iter().filter_map(Paired::pairing).collect();
        events.sort_by(pairing::order);
        Window {
            events,
            from_start,
            to_end,
        }
    }
}

/// How many events [`window_span`] first reads for the span itself.
const SPAN_GUESS: i64 = 8;

/// One row of [`windows`]' read: the staff member's place in the request
/// (from 1), the side (after the span's start or before it) and the event.
#[derive(QueryableByName)]
struct Sided {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    later: bool,
    #[diesel(embed)]
    event: Paired,
}

/// The first reads of [`windows`]: for each `(staff, instant)` of the
/// first two values, up to the third's check-ins and check-outs before the
/// instant, newest first, and up to the fourth's from it on, oldest first,
/// each by the staff member's pair index (its condition, [`pair_kinds!`]),
/// whatever the plan was made for: kept prepared (`db::unnest`).
pub(crate) const WINDOWS_SQL: &str = concat!(
    "SELECT r.n, e.* \
     FROM unnest(?::text[], ?::timestamp[]) WITH ORDINALITY AS r(staff, t, n) \
     CROSS JOIN LATERAL ( \
       (SELECT false AS later, visit_event.id, visit_event.kind, \
          visit_event.client_id, visit_event.occurred_at FROM visit_event \
          WHERE visit_event.staff_id = r.staff AND ",
    pair_kinds!(),
    " AND visit_event.occurred_at < r.t \
          ORDER BY visit_event.occurred_at DESC LIMIT ?) \
       UNION ALL \
       (SELECT true AS later, visit_event.id, visit_event.kind, \
          visit_event.client_id, visit_event.occurred_at FROM visit_event \
          WHERE visit_event.staff_id = r.staff AND ",
    pair_kinds!(),
    " AND visit_event.occurred_at >= r.t \
          ORDER BY visit_event.occurred_at ASC LIMIT ?) \
     ) e"
);

/// [`window_span`] for several staff members at once, each `(staff_id,
/// from, to)`: on PostgreSQL the first reads of all of them are one
/// statement (a round trip each was most of a gateway batch's round trips).
/// `None` for a window that needs more than that first read (a boundary
/// cutting through one instant's events, a span longer than the guess):
/// read it with [`window_span`]. Both go on from the first reads with
/// [`assemble`]. On SQLite all `None`: its reads cost no
/// round trip.
pub(crate) fn windows(
    conn: &mut DbConn,
    spans: &[(&str, NaiveDateTime, NaiveDateTime)],
    before: i64,
    after: i64,
) -> Result<Vec<Option<Window>>, StoreError> {
    use crate::db::unnest::{Column, Query};
    let DbConn::Pg(pg) = conn else {
        return Ok(vec![None; spans.len()]);
    };
    let staff: Vec<&str> = spans.iter().map(|s| s.0).collect();
    let from: Vec<NaiveDateTime> = spans.iter().map(|s| s.1).collect();
    let rows: Vec<Sided> = Query::new(WINDOWS_SQL)
        .bind(Column::Text(staff))
        .bind(Column::Timestamp(from))
        .bind(Column::One(before + 1))
        .bind(Column::One(SPAN_GUESS + after + 1))
        .load(pg)?;
    let mut sides: Vec<(Vec<Paired>, Vec<Paired>)> = vec![(Vec::new(), Vec::new()); spans.len()];
    for r in rows {
        let Some(side) = usize::try_from(r.n - 1).ok().and_then(|i| sides.get_mut(i)) else {
            continue;
        };
        if r.later {
            side.1.push(r.event);
        } else {
            side.0.push(r.event);
        }
    }
    sides
        .into_iter()
        .zip(spans)
        .map(|((mut rows, mut got), (_, _, to))| {
            rows.sort_by_key(|r| std::cmp::Reverse(r.occurred_at));
            got.sort_by_key(|r| r.occurred_at);
            assemble(rows, got, before, after, *to, |_| Ok(None))
        })
        .collect()
}

/// `rows`: one side of a window read with a limit one larger than wanted,
/// ordered away from the window, so its last row lies beyond. That row
/// goes; if the row before it has the same instant, the limit cut through
/// that instant's events, and they are read whole with `more`. `false`
/// where `more` reads nothing.
fn whole_boundary(
    rows: &mut Vec<Paired>,
    more: &mut impl FnMut(More) -> Result<Option<Vec<Paired>>, StoreError>,
) -> Result<bool, StoreError> {
    let Some(extra) = rows.pop() else {
        return Ok(true);
    };
    let edge = rows.last().map_or(extra.occurred_at, |r| r.occurred_at);
    if edge == extra.occurred_at {
        rows.retain(|r| r.occurred_at != edge);
        match more(More::Instant(edge))? {
            Some(all) => rows.extend(all),
            None => return Ok(false),
        }
    }
    Ok(true)
}

/// Every check-in and check-out of a staff member, sorted (for rebuilds and tests).
pub fn all_for_staff(conn: &mut DbConn, staff_id: &str) -> Result<Vec<pairing::Event>, StoreError> {
    let rows: Vec<VisitEvent> = visit_event::table
        .filter(visit_event::staff_id.eq(staff_id))
        .filter(PairKinds)
        .select(VisitEvent::as_select())
        .load(conn)?;
    let mut events: Vec<pairing::Event> = rows.iter().filter_map(VisitEvent::pairing).collect();
    events.sort_by(pairing::order);
    Ok(events)
}
