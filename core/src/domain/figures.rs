//! What one visit adds to the monthly figures: performed seconds per
//! client, local day and service, the part inside the frame window (R9),
//! and the visit itself counted on its day (R8).
//!
//! The figures are kept incrementally: when a visit changes, its old
//! contribution is subtracted and its new one added. Rebuilding a month
//! from the visits adds up the same contributions, so both ways give the
//! same numbers to the second.

use super::split::{frame_window_seconds, local_midnight, proportional};
use crate::model::{ClientId, ProviderId, ServiceId, UserId};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// The service id of a visit's whole row: its total time (services or
/// not) and the visit count.
pub const WHOLE: &str = "";

/// What the figures need of a visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitFigureInput {
    /// The visit's own client and care worker (for the measures' figures;
    /// `shares` says whose time it is).
    pub client_id: ClientId,
    pub staff_id: UserId,
    /// Verified at both ends and not corrected (the verification rate).
    pub verified: bool,
    pub provider_id: ProviderId,
    /// The local day the visit is counted on.
    pub local_date: NaiveDate,
    /// Whether its time counts as performed (see `Visit::counts`).
    pub counts: bool,
    /// The second person of a double-staffed visit: the time counts
    /// (person-minutes, R20) but it is not another visit of the day.
    pub double_staffing: bool,
    /// Effective start and end (a correction wins), UTC.
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// (client id, basis points): whose time it is.
    pub shares: Vec<(ClientId, i64)>,
    /// (client id, service id, seconds) of the performed services.
    pub services: Vec<(ClientId, ServiceId, i64)>,
}

/// One cell of the figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    pub local_date: NaiveDate,
    /// A service id, or [`WHOLE`].
    pub service_id: ServiceId,
}

/// Amounts of a cell; negative in a delta.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    pub seconds: i64,
    /// Of which inside the frame window (R9).
    pub frame_seconds: i64,
    pub visits: i64,
    /// Declined visits (R21), on the whole row.
    pub declined: i64,
}

impl Amounts {
    pub fn is_zero(&self) -> bool {
        *self == Amounts::default()
    }

    /// Adds `o` (`sign` 1) or takes it away (−1).
    pub fn add(&mut self, o: Amounts, sign: i64) {
        self.seconds += sign * o.seconds;
        self.frame_seconds += sign * o.frame_seconds;
        self.visits += sign * o.visits;
        self.declined += sign * o.declined;
    }
}

/// A set of cells with amounts.
pub type Cells = BTreeMap<CellKey, Amounts>;

/// What a cell holds: amounts that add up and may cancel out.
pub trait CellAmounts: Copy {
    /// Adds `o` (`sign` 1) or takes it away (−1).
    fn add(&mut self, o: Self, sign: i64);
    fn is_zero(&self) -> bool;
}

impl CellAmounts for Amounts {
    fn add(&mut self, o: Self, sign: i64) {
        Amounts::add(self, o, sign)
    }
    fn is_zero(&self) -> bool {
        Amounts::is_zero(self)
    }
}

/// Adds the cells of `from` to `into`; cells that come to zero go.
pub fn merge<K: Ord, A: CellAmounts>(into: &mut BTreeMap<K, A>, from: BTreeMap<K, A>) {
    use std::collections::btree_map::Entry;
    for (k, a) in from {
        match into.entry(k) {
            Entry::Occupied(mut cell) => {
                cell.get_mut().add(a, 1);
                if cell.get().is_zero() {
                    cell.remove();
                }
            }
            Entry::Vacant(cell) => {
                if !a.is_zero() {
                    cell.insert(a);
                }
            }
        }
    }
}

/// The frame window (R9), minutes after local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameWindow {
    pub start_minute: u32,
    pub end_minute: u32,
}

/// A client's seconds and frame seconds of a visit so far, and each of
/// its services'.
type ClientSplit = (i64, i64, Vec<(i64, i64)>);

/// Adds what the visit contributes to `out` (with `sign` -1 to take it away).
pub fn add_visit(out: &mut Cells, v: &VisitFigureInput, tz: Tz, window: FrameWindow, sign: i64) {
    if !v.counts || v.end <= v.start {
        return;
    }
    let mut shares = v.shares.clone();
    shares.sort();
    let weights: Vec<i64> = shares.iter().map(|(_, bp)| *bp).collect();
    // Each day gets the difference of the splits of the time elapsed by its
    // end and by its start: the parts of a visit across midnight add up,
    // per client and per service, to what the whole visit splits into, so
    // no second is rounded away at the day boundary.
    let split = |elapsed: i64, frame: i64| -> Vec<ClientSplit> {
        let parts = proportional(elapsed, &weights);
        let frame_parts = proportional(frame, &weights);
        shares
            .iter()
            .zip(parts)
            .zip(frame_parts)
            .map(|(((client, _), part), frame_part)| {
                let w: Vec<i64> = v
                    .services
                    .iter()
                    .filter(|(c, _, _)| c == client)
                    .map(|(_, _, s)| *s)
                    .collect();
                let by_service = proportional(part, &w)
                    .into_iter()
                    .zip(proportional(frame_part, &w))
                    .collect();
                (part, frame_part, by_service)
            })
            .collect()
    };
    let (mut elapsed, mut frame_elapsed) = (0i64, 0i64);
    let mut before = split(0, 0);
    for (day, from, until) in local_days(v.start, v.end, tz) {
        // Whole seconds since the start, so sub-second starts lose nothing
        // at the day boundary.
        let seconds = (until - v.start).num_seconds() - elapsed;
        let (frame, _) =
            frame_window_seconds(from, until, tz, window.start_minute, window.end_minute);
        elapsed += seconds;
        frame_elapsed += frame.min(seconds);
        let after = split(elapsed, frame_elapsed);
        for (((client, _), now), then) in shares.iter().zip(&after).zip(&before) {
            let key = |service: &str| CellKey {
                client_id: client.clone(),
                provider_id: v.provider_id.clone(),
                local_date: day,
                service_id: service.to_string().into(),
            };
            let whole = Amounts {
                seconds: now.0 - then.0,
                frame_seconds: now.1 - then.1,
                ..Amounts::default()
            };
            out.entry(key(WHOLE)).or_default().add(whole, sign);
            let own = v.services.iter().filter(|(c, _, _)| c == client);
            for ((_, service, _), (s_now, s_then)) in own.zip(now.2.iter().zip(&then.2)) {
                let a = Amounts {
                    seconds: s_now.0 - s_then.0,
                    frame_seconds: s_now.1 - s_then.1,
                    ..Amounts::default()
                };
                out.entry(key(service)).or_default().add(a, sign);
            }
        }
        before = after;
    }
    if !v.double_staffing {
        for (client, _) in &shares {
            let key = CellKey {
                client_id: client.clone(),
                provider_id: v.provider_id.clone(),
                local_date: v.local_date,
                service_id: WHOLE.to_string().into(),
            };
            let one = Amounts {
                visits: 1,
                ..Amounts::default()
            };
            out.entry(key).or_default().add(one, sign);
        }
    }
}

/// One cell of the measures' figures: a client's local day with one care
/// worker. Only ever summed per client (see [`crate::measures`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StaffKey {
    pub client_id: ClientId,
    pub local_date: NaiveDate,
    pub staff_id: UserId,
}

/// What a client's visits by one care worker on one day add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StaffAmounts {
    /// Visits that count (double-staffed ones too: each person's).
    pub visits: i64,
    /// Their whole elapsed seconds.
    pub seconds: i64,
    /// Of which verified at both ends and not corrected.
    pub verified: i64,
    /// Of which started in personalkontinuitet's day (07:00-22:00 local).
    pub daytime: i64,
}

impl CellAmounts for StaffAmounts {
    fn is_zero(&self) -> bool {
        *self == StaffAmounts::default()
    }

    fn add(&mut self, o: StaffAmounts, sign: i64) {
        self.visits += sign * o.visits;
        self.seconds += sign * o.seconds;
        self.verified += sign * o.verified;
        self.daytime += sign * o.daytime;
    }
}

/// A set of measures' cells.
pub type StaffCells = BTreeMap<StaffKey, StaffAmounts>;

/// Adds what the visit contributes to the measures' figures: all of it on
/// its own client's local day (unlike the time figures, not split at
/// midnight or between co-habiting clients), as the measures count it.
pub fn add_staff(out: &mut StaffCells, v: &VisitFigureInput, tz: Tz, sign: i64) {
    if !v.counts || v.end < v.start {
        return;
    }
    let local = tz.from_utc_datetime(&v.start).naive_local();
    let daytime = local.date() == v.local_date && super::continuity::daytime(local.time());
    let a = StaffAmounts {
        visits: 1,
        seconds: (v.end - v.start).num_seconds(),
        verified: i64::from(v.verified),
        daytime: i64::from(daytime),
    };
    let key = StaffKey {
        client_id: v.client_id.clone(),
        local_date: v.local_date,
        staff_id: v.staff_id.clone(),
    };
    out.entry(key).or_default().add(a, sign);
}

/// Both kinds of kept figures: the time figures and the measures'.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub cells: Cells,
    pub staff: StaffCells,
}

impl Figures {
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.staff.is_empty()
    }

    /// Adds `from`; cells that come to zero go.
    pub fn merge(&mut self, from: Figures) {
        merge(&mut self.cells, from.cells);
        merge(&mut self.staff, from.staff);
    }

    /// What `visits` add (`sign` 1) or take away (−1).
    pub fn add_visits(
        &mut self,
        visits: &[VisitFigureInput],
        tz: Tz,
        window: FrameWindow,
        sign: i64,
    ) {
        for v in visits {
            add_visit(&mut self.cells, v, tz, window, sign);
            add_staff(&mut self.staff, v, tz, sign);
        }
    }

    /// Drops the cells whose amounts cancelled out.
    pub fn prune(&mut self) {
        prune(&mut self.cells);
        prune(&mut self.staff);
    }
}

/// Adds a declined visit (R21) of a client on a day.
pub fn add_declined(
    out: &mut Cells,
    client_id: &str,
    provider_id: &str,
    day: NaiveDate,
    sign: i64,
) {
    let key = CellKey {
        client_id: client_id.into(),
        provider_id: provider_id.into(),
        local_date: day,
        service_id: WHOLE.to_string().into(),
    };
    let one = Amounts {
        declined: 1,
        ..Amounts::default()
    };
    out.entry(key).or_default().add(one, sign);
}

/// Drops the cells whose amounts cancelled out.
pub fn prune<K: Ord, A: CellAmounts>(cells: &mut BTreeMap<K, A>) {
    cells.retain(|_, a| !a.is_zero());
}

/// `[start, end)` cut at local midnights: (local day, from, until), UTC.
fn local_days(
    start: NaiveDateTime,
    end: NaiveDateTime,
    tz: Tz,
) -> Vec<(NaiveDate, NaiveDateTime, NaiveDateTime)> {
    let mut out = Vec::new();
    let mut day = tz.from_utc_datetime(&start).date_naive();
    let mut from = start;
    while from < end {
        let Some(next) = day.succ_opt() else { break };
        let until = local_midnight(next, tz).min(end);
        if until > from {
            out.push((day, from, until));
        }
        from = until.max(from);
        day = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Stockholm;

    const WINDOW: FrameWindow = FrameWindow {
        start_minute: 7 * 60,
        end_minute: 22 * 60,
    };

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        Stockholm
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .naive_utc()
    }

    fn visit(start: NaiveDateTime, end: NaiveDateTime) -> VisitFigureInput {
        VisitFigureInput {
            client_id: "lisa".into(),
            staff_id: "anna".into(),
            verified: false,
            provider_id: "p".into(),
            local_date: Stockholm.from_utc_datetime(&start).date_naive(),
            counts: true,
            double_staffing: false,
            start,
            end,
            shares: vec![("lisa".into(), 10_000)],
            services: vec![
                ("lisa".into(), "shower".into(), 2),
                ("lisa".into(), "walk".into(), 1),
            ],
        }
    }

    fn get(c: &Cells, client: &str, day: (i32, u32, u32), service: &str) -> Amounts {
        let key = CellKey {
            client_id: client.into(),
            provider_id: "p".into(),
            local_date: NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap(),
            service_id: service.into(),
        };
        c.get(&key).copied().unwrap_or_default()
    }

    #[test]
    fn a_visit_across_midnight_lands_on_both_days_and_outside_the_frame() {
        // 21:30–00:30: 30 minutes inside the window (until 22:00), the
        // rest outside; 2:1 between shower and walk.
        let mut c = Cells::new();
        add_visit(
            &mut c,
            &visit(local(2026, 10, 31, 21, 30), local(2026, 11, 1, 0, 30)),
            Stockholm,
            WINDOW,
            1,
        );
        let oct = get(&c, "lisa", (2026, 10, 31), WHOLE);
        let nov = get(&c, "lisa", (2026, 11, 1), WHOLE);
        assert_eq!(
            (oct.seconds, oct.frame_seconds, oct.visits),
            (9000, 1800, 1)
        );
        assert_eq!((nov.seconds, nov.frame_seconds, nov.visits), (1800, 0, 0));
        assert_eq!(get(&c, "lisa", (2026, 10, 31), "shower").seconds, 6000);
        assert_eq!(get(&c, "lisa", (2026, 11, 1), "walk").seconds, 600);
    }

    #[test]
    fn a_visit_across_midnight_splits_its_services_as_the_whole_visit_would() {
        // 45 minutes, 23:50:01-00:35:01 (599 s, then 2,101 s), two equal
        // services: 1,350 s each, as without the day boundary (each day's
        // own rounding gave the first service the odd second on both days:
        // 1,351 against 1,349, which shows as 23 and 22 minutes).
        let second = chrono::Duration::seconds(1);
        let mut v = visit(
            local(2026, 11, 23, 23, 50) + second,
            local(2026, 11, 24, 0, 35) + second,
        );
        v.services = vec![
            ("lisa".into(), "shower".into(), 1),
            ("lisa".into(), "walk".into(), 1),
        ];
        let mut c = Cells::new();
        add_visit(&mut c, &v, Stockholm, WINDOW, 1);
        for service in ["shower", "walk"] {
            let total = get(&c, "lisa", (2026, 11, 23), service).seconds
                + get(&c, "lisa", (2026, 11, 24), service).seconds;
            assert_eq!(total, 1350, "{service}");
        }
        let whole = get(&c, "lisa", (2026, 11, 23), WHOLE).seconds
            + get(&c, "lisa", (2026, 11, 24), WHOLE).seconds;
        assert_eq!(whole, 2700);
    }

    #[test]
    fn across_the_october_dst_change_real_time_counts() {
        // 01:30–03:30 local on 25 October 2026 is three real hours.
        let mut c = Cells::new();
        add_visit(
            &mut c,
            &visit(local(2026, 10, 25, 1, 30), local(2026, 10, 25, 3, 30)),
            Stockholm,
            WINDOW,
            1,
        );
        assert_eq!(get(&c, "lisa", (2026, 10, 25), WHOLE).seconds, 3 * 3600);
    }

    #[test]
    fn adding_and_taking_away_cancels_out() {
        let v = visit(local(2026, 11, 2, 8, 0), local(2026, 11, 2, 8, 47));
        let mut c = Cells::new();
        add_visit(&mut c, &v, Stockholm, WINDOW, 1);
        assert_eq!(get(&c, "lisa", (2026, 11, 2), WHOLE).seconds, 47 * 60);
        add_visit(&mut c, &v, Stockholm, WINDOW, -1);
        prune(&mut c);
        assert!(c.is_empty(), "{c:?}");
    }

    #[test]
    fn shared_and_double_staffed_visits() {
        // Co-habiting clients 60/40; the second person of a double-staffed
        // visit adds time but not a visit.
        let mut v = visit(local(2026, 11, 2, 8, 0), local(2026, 11, 2, 9, 0));
        v.shares = vec![("lisa".into(), 6000), ("maj".into(), 4000)];
        v.services = vec![("maj".into(), "cleaning".into(), 1)];
        let mut c = Cells::new();
        add_visit(&mut c, &v, Stockholm, WINDOW, 1);
        assert_eq!(get(&c, "lisa", (2026, 11, 2), WHOLE).seconds, 2160);
        assert_eq!(get(&c, "maj", (2026, 11, 2), "cleaning").seconds, 1440);
        assert_eq!(get(&c, "maj", (2026, 11, 2), WHOLE).visits, 1);
        let mut second = visit(local(2026, 11, 2, 8, 0), local(2026, 11, 2, 9, 0));
        second.double_staffing = true;
        add_visit(&mut c, &second, Stockholm, WINDOW, 1);
        let lisa = get(&c, "lisa", (2026, 11, 2), WHOLE);
        assert_eq!((lisa.seconds, lisa.visits), (2160 + 3600, 1));
    }

    #[test]
    fn a_visit_that_does_not_count_adds_nothing() {
        let mut v = visit(local(2026, 11, 2, 8, 0), local(2026, 11, 2, 9, 0));
        v.counts = false;
        let mut c = Cells::new();
        add_visit(&mut c, &v, Stockholm, WINDOW, 1);
        add_declined(
            &mut c,
            "lisa",
            "p",
            NaiveDate::from_ymd_opt(2026, 11, 3).unwrap(),
            1,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(get(&c, "lisa", (2026, 11, 3), WHOLE).declined, 1);
    }

    #[test]
    fn merged_cells_add_up_and_those_that_cancel_go() {
        let key = |service: &str| CellKey {
            client_id: "c".into(),
            provider_id: "p".into(),
            local_date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            service_id: service.into(),
        };
        let amounts = |seconds, visits| Amounts {
            seconds,
            frame_seconds: seconds,
            visits,
            declined: 0,
        };
        let mut into = Cells::from([(key(WHOLE), amounts(600, 1)), (key("s"), amounts(600, 0))]);
        merge(
            &mut into,
            Cells::from([
                (key(WHOLE), amounts(300, 1)),
                (key("s"), amounts(-600, 0)),
                (key("t"), Amounts::default()),
            ]),
        );
        assert_eq!(into, Cells::from([(key(WHOLE), amounts(900, 2))]));
    }
}
