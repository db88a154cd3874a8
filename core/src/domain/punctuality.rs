//! Planned visits against performed ones: which visit kept which plan,
//! and, at a given moment, whether a planned visit is waiting, in
//! progress, done, late or missed (issue 25, the first part: the rules,
//! without storage).
//!
//! A plan is a window for the start (earliest and latest start), an
//! expected length, optionally the care workers planned, whether two are
//! needed (double staffing) and whether it is time-critical (medication,
//! insulin, a CPAP mask), which gives it a tolerance of its own.
//!
//! **Matching.** A performed visit may keep a plan of each client it is
//! for (co-habiting clients share one visit and each may have a plan);
//! a plan is kept by one visit, or by two of different care workers when
//! it needs two. A visit is a candidate for a plan when it starts within
//! [`MatchLimits`] of the plan's window; among candidates the closest
//! starts are matched first (ties by plan and visit order, so the result
//! does not depend on the order of the input). A visit left without a
//! plan is unplanned; a plan left without a visit is, in time, missed.
//!
//! **State at a moment** ([`state`]). Without a check-in a plan is
//! waiting until its latest start plus its tolerance, late after that,
//! and missed once its latest start plus its expected length (at least
//! its tolerance) has passed. A time-critical plan uses its own, shorter
//! tolerance. A plan whose check-in came is in progress until the
//! check-out, then done; the match says how late or early it started and
//! how much shorter than planned it was.
//!
//! Everything here is per plan, client and unit. Nothing is, or may be
//! made, a figure per care worker: the planned care workers only decide
//! which phones' last synchronisation the offline caveat names.

use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, HashSet};

/// A planned visit, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub client_id: String,
    pub earliest_start: DateTime<Utc>,
    pub latest_start: DateTime<Utc>,
    /// The visit's expected length.
    pub expected: Duration,
    /// The care workers planned, if the planning system says.
    pub staff: Vec<String>,
    /// Two care workers needed.
    pub double_staffing: bool,
    /// Medication, insulin, a CPAP mask: late sooner.
    pub time_critical: bool,
    /// A tolerance of the plan's own, instead of the municipality's.
    pub tolerance: Option<Duration>,
}

impl Planned {
    /// Care workers needed at the visit.
    pub fn needed(&self) -> usize {
        if self.double_staffing { 2 } else { 1 }
    }
}

/// A performed visit (phone or device), as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Performed {
    /// The clients whose visit it was: one, or co-habiting clients who
    /// shared it.
    pub client_ids: Vec<String>,
    pub staff_id: String,
    /// The check-in (none for a visit known only by its check-out).
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl Performed {
    /// When the visit began, as far as is known.
    fn begun(&self) -> Option<DateTime<Utc>> {
        self.started_at.or(self.ended_at)
    }
}

/// How far from its window a visit may start and still keep a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchLimits {
    /// Before the earliest start.
    pub early: Duration,
    /// After the latest start.
    pub late: Duration,
}

impl MatchLimits {
    /// Whether a visit starting at some instant of `from..=to` could keep
    /// `p`: within `early` before its earliest start and `late` after its
    /// latest start.
    pub fn reaches(&self, p: &Planned, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        let first = p.earliest_start.checked_sub_signed(self.early);
        let last = p.latest_start.checked_add_signed(self.late);
        first.is_none_or(|f| to >= f) && last.is_none_or(|l| from <= l)
    }
}

impl Default for MatchLimits {
    fn default() -> Self {
        MatchLimits {
            early: Duration::hours(1),
            late: Duration::hours(3),
        }
    }
}

/// The tolerances the alerts are raised by (the municipality's, unless a
/// plan has its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tolerances {
    /// After the latest start, for an ordinary visit.
    pub ordinary: Duration,
    /// After the latest start, for a time-critical visit.
    pub time_critical: Duration,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            ordinary: Duration::minutes(15),
            time_critical: Duration::minutes(5),
        }
    }
}

impl Tolerances {
    /// The tolerance of `p`.
    pub fn of(&self, p: &Planned) -> Duration {
        p.tolerance.unwrap_or(if p.time_critical {
            self.time_critical
        } else {
            self.ordinary
        })
    }

    /// When `p` without a check-in becomes late.
    pub fn late_at(&self, p: &Planned) -> DateTime<Utc> {
        p.latest_start + self.of(p)
    }

    /// When `p` without a check-in is missed: its window and its expected
    /// length have passed (and never before it is late).
    pub fn missed_at(&self, p: &Planned) -> DateTime<Utc> {
        p.latest_start + p.expected.max(self.of(p))
    }
}

/// Which visits kept which plans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matching {
    /// Per plan (by index), the visits (by index) that kept it, in the
    /// order they began.
    pub kept_by: Vec<Vec<usize>>,
    /// Visits (by index) that kept no plan of any of their clients.
    pub unplanned: Vec<usize>,
}

/// How far `at` lies outside `p`'s window (zero inside it).
fn distance(p: &Planned, at: DateTime<Utc>) -> Duration {
    if at < p.earliest_start {
        p.earliest_start - at
    } else if at > p.latest_start {
        at - p.latest_start
    } else {
        Duration::zero()
    }
}

/// Matches performed visits to planned ones (see the module's text).
pub fn match_visits(plans: &[Planned], visits: &[Performed], limits: MatchLimits) -> Matching {
    // Each plan looks only at its client's visits: a municipality's day
    // (about 100,000 plans) is matched in one call.
    let mut of_client: HashMap<&str, Vec<usize>> = HashMap::new();
    for (vi, v) in visits.iter().enumerate() {
        for c in &v.client_ids {
            of_client.entry(c.as_str()).or_default().push(vi);
        }
    }
    let mut candidates: Vec<(Duration, usize, usize)> = Vec::new();
    for (pi, p) in plans.iter().enumerate() {
        for &vi in of_client.get(p.client_id.as_str()).into_iter().flatten() {
            let v = &visits[vi];
            let Some(at) = v.begun() else { continue };
            if limits.reaches(p, at, at) {
                candidates.push((distance(p, at), pi, vi));
            }
        }
    }
    candidates.sort();
    let mut kept_by: Vec<Vec<usize>> = vec![Vec::new(); plans.len()];
    // A visit keeps at most one plan of each of its clients.
    let mut used: HashSet<(usize, &str)> = HashSet::new();
    for (_, pi, vi) in candidates {
        let p = &plans[pi];
        let v = &visits[vi];
        let full = kept_by[pi].len() >= p.needed();
        let same_worker = kept_by[pi]
            .iter()
            .any(|other| visits[*other].staff_id == v.staff_id);
        if full || same_worker || used.contains(&(vi, p.client_id.as_str())) {
            continue;
        }
        used.insert((vi, p.client_id.as_str()));
        kept_by[pi].push(vi);
    }
    for k in &mut kept_by {
        k.sort_by_key(|vi| (visits[*vi].begun(), *vi));
    }
    let kept: HashSet<usize> = used.iter().map(|(vi, _)| *vi).collect();
    let unplanned = (0..visits.len()).filter(|vi| !kept.contains(vi)).collect();
    Matching { kept_by, unplanned }
}

/// Where a planned visit stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No check-in yet, and not yet late.
    Waiting,
    /// Checked in (all needed care workers, or some while not yet late),
    /// not yet out.
    InProgress,
    /// Checked in and out.
    Done,
    /// Past its latest start and tolerance without the check-ins it needs.
    Late,
    /// Past its window and expected length without the check-ins it needs.
    Missed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::InProgress => "in_progress",
            State::Done => "done",
            State::Late => "late",
            State::Missed => "missed",
        }
    }
}

/// A plan at a moment: its state, and how the visits that kept it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub state: State,
    /// How long after the latest start the first check-in came (zero or
    /// less: in time), if it came.
    pub started_late: Option<Duration>,
    /// How long before the earliest start the first check-in came, if it
    /// came early.
    pub started_early: Option<Duration>,
    /// How much shorter than expected the visit was, once done.
    pub shorter_by: Option<Duration>,
    /// The last synchronisation of a planned care worker's phone, when it
    /// was before the plan became late: a check-in may be waiting offline
    /// on it (shown with the alert).
    pub offline_since: Option<DateTime<Utc>>,
    /// The earliest instant after `now` at which time alone may change
    /// this standing: the plan's thresholds while too few have come, and
    /// a kept visit's start or end coming within the accepted clock skew.
    /// `None`: only a visit recorded or changed can.
    pub next_change: Option<DateTime<Utc>>,
}

/// The offline caveat of a late or missed plan `p`: the earliest last
/// synchronisation of a planned care worker's phone (`last_sync`) before
/// the plan became late, if any.
pub fn offline_since(
    p: &Planned,
    tolerances: &Tolerances,
    last_sync: &HashMap<String, DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    p.staff
        .iter()
        .filter_map(|s| last_sync.get(s))
        .filter(|at| **at < tolerances.late_at(p))
        .min()
        .copied()
}

/// Where plan `p`, kept by `kept` (from [`match_visits`]), stands at `now`.
/// Visits that have not begun by `now` (give or take the clock skew an
/// event is accepted with) are not counted: the clock is a parameter, and
/// a later visit is not known yet. `last_sync` holds each
/// care worker's phone's last synchronisation.
pub fn state(
    p: &Planned,
    kept: &[&Performed],
    now: DateTime<Utc>,
    tolerances: &Tolerances,
    last_sync: &HashMap<String, DateTime<Utc>>,
) -> Standing {
    // An event may be stamped up to MAX_SKEW_SECONDS ahead of the
    // server's clock (a lock's or a phone's clock runs fast): a visit that
    // began that little after `now` has arrived.
    let known = now + Duration::seconds(super::MAX_SKEW_SECONDS);
    let arrived: Vec<&Performed> = kept
        .iter()
        .copied()
        .filter(|v| v.begun().is_some_and(|at| at <= known))
        .collect();
    // Lateness from the check-ins only: a visit known by its check-out
    // alone began at an unknown time.
    let first = arrived.iter().filter_map(|v| v.started_at).min();
    let started_late = first.map(|at| at - p.latest_start);
    let started_early = first
        .filter(|at| *at < p.earliest_start)
        .map(|at| p.earliest_start - at);
    let enough = arrived.len() >= p.needed();
    let out = |v: &&Performed| v.ended_at.is_some_and(|e| e <= known);
    let all_out = arrived.iter().all(out);
    let state = if enough && all_out {
        State::Done
    } else if now >= tolerances.missed_at(p) && !enough && all_out {
        State::Missed
    } else if now >= tolerances.late_at(p) && !enough {
        // Of two needed, one may have come: still late for the second.
        State::Late
    } else if arrived.is_empty() {
        State::Waiting
    } else {
        State::InProgress
    };
    let shorter_by = match state {
        State::Done => {
            let length = arrived
                .iter()
                .filter_map(|v| Some(v.ended_at? - v.started_at?))
                .max();
            length.filter(|l| *l < p.expected).map(|l| p.expected - l)
        }
        _ => None,
    };
    let offline_since = match state {
        State::Late | State::Missed => offline_since(p, tolerances, last_sync),
        _ => None,
    };
    let skew = Duration::seconds(super::MAX_SKEW_SECONDS);
    let mut times: Vec<DateTime<Utc>> = kept
        .iter()
        .flat_map(|v| [v.begun(), v.ended_at])
        .flatten()
        .map(|t| t - skew)
        .collect();
    if !enough {
        times.extend([tolerances.late_at(p), tolerances.missed_at(p)]);
    }
    Standing {
        state,
        started_late,
        started_early,
        shorter_by,
        offline_since,
        next_change: times.into_iter().filter(|t| *t > now).min(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap()
    }

    fn plan(client: &str, from: (u32, u32), to: (u32, u32), minutes: i64) -> Planned {
        Planned {
            client_id: client.into(),
            earliest_start: t(from.0, from.1),
            latest_start: t(to.0, to.1),
            expected: Duration::minutes(minutes),
            staff: vec!["anna".into()],
            double_staffing: false,
            time_critical: false,
            tolerance: None,
        }
    }

    fn visit(
        clients: &[&str],
        staff: &str,
        start: (u32, u32),
        end: Option<(u32, u32)>,
    ) -> Performed {
        Performed {
            client_ids: clients.iter().map(|c| (*c).to_string()).collect(),
            staff_id: staff.into(),
            started_at: Some(t(start.0, start.1)),
            ended_at: end.map(|(h, m)| t(h, m)),
        }
    }

    fn standing(p: &Planned, kept: &[&Performed], now: DateTime<Utc>) -> Standing {
        state(p, kept, now, &Tolerances::default(), &HashMap::new())
    }

    #[test]
    fn a_plan_waits_then_is_late_then_missed_without_a_check_in() {
        // Start between 08:00 and 08:30, 45 minutes: late from 08:45,
        // missed from 09:15.
        let p = plan("lisa", (8, 0), (8, 30), 45);
        assert_eq!(standing(&p, &[], t(8, 44)).state, State::Waiting);
        assert_eq!(standing(&p, &[], t(8, 45)).state, State::Late);
        assert_eq!(standing(&p, &[], t(9, 14)).state, State::Late);
        assert_eq!(standing(&p, &[], t(9, 15)).state, State::Missed);
    }

    #[test]
    fn the_next_change_is_the_next_threshold_or_a_visit_coming_within_the_skew() {
        // Late from 08:45, missed from 09:15.
        let p = plan("lisa", (8, 0), (8, 30), 45);
        let next = |kept: &[&Performed], now| standing(&p, kept, now).next_change;
        assert_eq!(next(&[], t(8, 40)), Some(t(8, 45)));
        assert_eq!(next(&[], t(8, 45)), Some(t(9, 15)));
        assert_eq!(next(&[], t(9, 15)), None, "missed: only a visit changes it");
        // Checked in, not out: only the check-out changes it.
        let open = visit(&["lisa"], "anna", (8, 10), None);
        assert_eq!(next(&[&open], t(8, 40)), None);
        // A check-out stamped by a fast clock 5 minutes ahead: done when it
        // is within the skew, now already.
        let ahead = visit(&["lisa"], "anna", (8, 10), Some((8, 55)));
        assert_eq!(standing(&p, &[&ahead], t(8, 50)).state, State::Done);
        // A check-in stamped 15 minutes ahead arrives in 5 minutes.
        let later = visit(&["lisa"], "anna", (9, 5), None);
        assert_eq!(next(&[&later], t(8, 50)), Some(t(8, 55)));
        // Double staffing with one of two come: still the thresholds.
        let mut two = plan("lisa", (8, 0), (8, 30), 45);
        two.double_staffing = true;
        assert_eq!(
            state(
                &two,
                &[&open],
                t(8, 40),
                &Tolerances::default(),
                &HashMap::new()
            )
            .next_change,
            Some(t(8, 45))
        );
    }

    #[test]
    fn a_check_in_stamped_by_a_fast_clock_has_arrived() {
        // A lock's clock 2 minutes fast: its check-in says 08:52 when the
        // server's clock says 08:50. Within the accepted skew it has
        // arrived; 15 minutes ahead it has not (a later visit, seen from
        // 08:50).
        let p = plan("lisa", (8, 0), (8, 30), 45);
        let fast = visit(&["lisa"], "anna", (8, 52), None);
        assert_eq!(standing(&p, &[&fast], t(8, 50)).state, State::InProgress);
        let later = visit(&["lisa"], "anna", (9, 5), None);
        assert_eq!(standing(&p, &[&later], t(8, 50)).state, State::Late);
    }

    #[test]
    fn a_time_critical_plan_is_late_sooner_and_a_plans_own_tolerance_wins() {
        let mut p = plan("lisa", (8, 0), (8, 30), 20);
        p.time_critical = true;
        assert_eq!(standing(&p, &[], t(8, 34)).state, State::Waiting);
        assert_eq!(standing(&p, &[], t(8, 35)).state, State::Late);
        assert_eq!(standing(&p, &[], t(8, 50)).state, State::Missed);
        p.tolerance = Some(Duration::minutes(2));
        assert_eq!(standing(&p, &[], t(8, 32)).state, State::Late);
        // Never missed before late: a short visit with a long tolerance.
        let mut q = plan("lisa", (8, 0), (8, 30), 5);
        q.tolerance = Some(Duration::minutes(30));
        assert_eq!(standing(&q, &[], t(8, 59)).state, State::Waiting);
        assert_eq!(standing(&q, &[], t(9, 0)).state, State::Missed);
    }

    #[test]
    fn a_late_arrival_clears_the_plan_and_says_by_how_much() {
        let p = plan("lisa", (8, 0), (8, 30), 45);
        let v = visit(&["lisa"], "anna", (8, 50), None);
        let m = match_visits(
            std::slice::from_ref(&p),
            std::slice::from_ref(&v),
            MatchLimits::default(),
        );
        assert_eq!(m.kept_by, vec![vec![0]]);
        assert!(m.unplanned.is_empty());
        // Before the check-in is known (the clock is a parameter; an
        // event may be stamped up to ten minutes ahead): late.
        assert_eq!(standing(&p, &[&v], t(8, 39)).state, State::Waiting);
        let mut seen_late = v.clone();
        seen_late.started_at = Some(t(9, 0));
        assert_eq!(standing(&p, &[&seen_late], t(8, 49)).state, State::Late);
        let s = standing(&p, &[&v], t(8, 51));
        assert_eq!(s.state, State::InProgress);
        assert_eq!(s.started_late, Some(Duration::minutes(20)));
        // Out after 30 minutes: done, 15 minutes shorter than planned.
        let done = Performed {
            ended_at: Some(t(9, 20)),
            ..v
        };
        let s = standing(&p, &[&done], t(9, 30));
        assert_eq!(s.state, State::Done);
        assert_eq!(s.shorter_by, Some(Duration::minutes(15)));
        assert_eq!(s.started_late, Some(Duration::minutes(20)));
        // An arrival after the plan was missed clears it too.
        let later = visit(&["lisa"], "anna", (9, 40), None);
        assert_eq!(standing(&p, &[&later], t(9, 29)).state, State::Missed);
        let s = standing(&p, &[&later], t(9, 41));
        assert_eq!(s.state, State::InProgress);
        assert_eq!(s.started_late, Some(Duration::minutes(70)));
    }

    #[test]
    fn an_early_visit_is_matched_and_said_early() {
        let p = plan("lisa", (8, 0), (8, 30), 30);
        let v = visit(&["lisa"], "anna", (7, 40), Some((8, 10)));
        let m = match_visits(
            std::slice::from_ref(&p),
            std::slice::from_ref(&v),
            MatchLimits::default(),
        );
        assert_eq!(m.kept_by, vec![vec![0]]);
        let s = standing(&p, &[&v], t(8, 15));
        assert_eq!(s.state, State::Done);
        assert_eq!(s.started_early, Some(Duration::minutes(20)));
        assert_eq!(s.shorter_by, None);
    }

    #[test]
    fn two_visits_in_one_window_keep_one_plan_and_the_other_is_unplanned() {
        let p = plan("lisa", (8, 0), (8, 30), 30);
        let visits = [
            visit(&["lisa"], "anna", (8, 40), Some((9, 0))),
            visit(&["lisa"], "bo", (8, 10), Some((8, 35))),
        ];
        let m = match_visits(std::slice::from_ref(&p), &visits, MatchLimits::default());
        // The closer start keeps it.
        assert_eq!(m.kept_by, vec![vec![1]]);
        assert_eq!(m.unplanned, vec![0]);
    }

    #[test]
    fn two_plans_of_a_day_are_kept_by_the_visits_closest_to_them() {
        let plans = [
            plan("lisa", (8, 0), (8, 30), 30),
            plan("lisa", (10, 0), (10, 30), 30),
        ];
        // The first visit is late for the first plan, the second early for
        // the second; the input order does not matter.
        let visits = [
            visit(&["lisa"], "anna", (9, 50), Some((10, 20))),
            visit(&["lisa"], "anna", (8, 45), Some((9, 15))),
        ];
        let m = match_visits(&plans, &visits, MatchLimits::default());
        assert_eq!(m.kept_by, vec![vec![1], vec![0]]);
        assert!(m.unplanned.is_empty());
        let mut rev = visits.clone();
        rev.reverse();
        let m = match_visits(&plans, &rev, MatchLimits::default());
        assert_eq!(m.kept_by, vec![vec![0], vec![1]]);
    }

    #[test]
    fn a_visit_far_from_any_window_or_of_another_client_is_unplanned() {
        let p = plan("lisa", (8, 0), (8, 30), 30);
        let visits = [
            visit(&["lisa"], "anna", (12, 0), Some((12, 30))),
            visit(&["maj"], "anna", (8, 10), Some((8, 40))),
            visit(&["lisa"], "anna", (6, 30), Some((6, 50))),
        ];
        let m = match_visits(std::slice::from_ref(&p), &visits, MatchLimits::default());
        assert_eq!(m.kept_by, vec![Vec::<usize>::new()]);
        assert_eq!(m.unplanned, vec![0, 1, 2]);
        assert_eq!(standing(&p, &[], t(9, 0)).state, State::Missed);
    }

    #[test]
    fn a_shared_visit_keeps_each_co_habiting_clients_plan() {
        let plans = [
            plan("lisa", (8, 0), (8, 30), 30),
            plan("olle", (8, 0), (8, 30), 30),
        ];
        let v = visit(&["lisa", "olle"], "anna", (8, 5), Some((8, 50)));
        let m = match_visits(&plans, std::slice::from_ref(&v), MatchLimits::default());
        assert_eq!(m.kept_by, vec![vec![0], vec![0]]);
        assert!(m.unplanned.is_empty());
        // But one visit never keeps two plans of the same client.
        let two = [
            plan("lisa", (8, 0), (8, 30), 30),
            plan("lisa", (8, 15), (8, 45), 30),
        ];
        let m = match_visits(&two, std::slice::from_ref(&v), MatchLimits::default());
        assert_eq!(m.kept_by.iter().map(Vec::len).sum::<usize>(), 1);
    }

    #[test]
    fn a_double_staffed_plan_needs_two_care_workers() {
        let mut p = plan("lisa", (8, 0), (8, 30), 30);
        p.double_staffing = true;
        let anna = visit(&["lisa"], "anna", (8, 10), Some((8, 40)));
        let anna_again = visit(&["lisa"], "anna", (8, 12), Some((8, 40)));
        let bo = visit(&["lisa"], "bo", (8, 50), Some((9, 20)));
        let visits = [anna.clone(), anna_again, bo.clone()];
        let m = match_visits(std::slice::from_ref(&p), &visits, MatchLimits::default());
        // The same care worker twice is not two care workers.
        assert_eq!(m.kept_by, vec![vec![0, 2]]);
        assert_eq!(m.unplanned, vec![1]);
        // One has come, the second not by the tolerance: late.
        assert_eq!(
            standing(&p, &[&anna, &bo], t(8, 20)).state,
            State::InProgress
        );
        assert_eq!(
            standing(&p, &[&anna, &bo], t(8, 39)).state,
            State::InProgress
        );
        assert_eq!(standing(&p, &[&anna], t(8, 46)).state, State::Late);
        // The second came at 08:50 and left at 09:20: done.
        let s = standing(&p, &[&anna, &bo], t(9, 30));
        assert_eq!(s.state, State::Done);
        assert_eq!(s.started_late, Some(Duration::minutes(-20)));
        // Nobody second: missed once the window and length have passed
        // and the first is out.
        assert_eq!(standing(&p, &[&anna], t(9, 0)).state, State::Missed);
    }

    #[test]
    fn a_late_or_missed_plan_names_a_planned_phone_last_seen_before_it() {
        let p = plan("lisa", (8, 0), (8, 30), 45);
        let mut sync = HashMap::new();
        sync.insert("anna".to_string(), t(7, 55));
        let s = state(&p, &[], t(8, 50), &Tolerances::default(), &sync);
        assert_eq!((s.state, s.offline_since), (State::Late, Some(t(7, 55))));
        // A phone seen after the plan became late holds no check-in for it.
        sync.insert("anna".to_string(), t(8, 46));
        let s = state(&p, &[], t(8, 50), &Tolerances::default(), &sync);
        assert_eq!(s.offline_since, None);
        // Waiting: no caveat.
        sync.insert("anna".to_string(), t(7, 0));
        let s = state(&p, &[], t(8, 10), &Tolerances::default(), &sync);
        assert_eq!((s.state, s.offline_since), (State::Waiting, None));
    }

    #[test]
    fn a_visit_known_only_by_its_check_out_keeps_a_plan_by_its_end() {
        let p = plan("lisa", (8, 0), (8, 30), 30);
        let v = Performed {
            client_ids: vec!["lisa".into()],
            staff_id: "anna".into(),
            started_at: None,
            ended_at: Some(t(8, 40)),
        };
        let m = match_visits(
            std::slice::from_ref(&p),
            std::slice::from_ref(&v),
            MatchLimits::default(),
        );
        assert_eq!(m.kept_by, vec![vec![0]]);
        let s = standing(&p, &[&v], t(9, 0));
        assert_eq!(s.state, State::Done);
        assert_eq!(s.shorter_by, None, "its length is not known");
        assert_eq!(s.started_late, None, "its start is not known");
    }
}
