//! The measures Swedish home care is compared by, computed from visits.
//!
//! **Personalkontinuitet** (Kolada/RKA; Socialstyrelsen's survey): how many
//! different care workers a client meets during 14 days, counting visits
//! that start between 07:00 and 22:00 local time, leaving out alarm visits
//! and meal deliveries (services the catalogue marks
//! `continuity_excluded`), for clients aged 65 or more with at least two
//! visits every day who lived at home the whole period. Reported as the
//! mean over those clients. Nationally 14.9 in 2021; municipalities ranged
//! from 7 to 27 (Kolada, via Infostat).
//!
//! **Fast omsorgskontakt** (SoL 4 kap. 2 b §, R13): the share of a
//! client's visits and minutes made by the contact person or the deputy.
//!
//! The functions below are the definitions, tested on hand-computed
//! examples; [`crate::measures`] asks the database the same questions in
//! one grouped query each (its tests count the same by hand end to end).
//!
//! These are about the client's experience and the organisation's
//! planning. Nothing here is, or may be made, a figure per care worker
//! (see [`crate::measures`]).

use super::event::{Method, Source};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use std::collections::{BTreeMap, BTreeSet};

/// The days of the personalkontinuitet window.
pub const WINDOW_DAYS: u32 = 14;
/// Visits that start in [07:00, 22:00) local time count.
pub const DAY_STARTS: NaiveTime = match NaiveTime::from_hms_opt(7, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};
pub const DAY_ENDS: NaiveTime = match NaiveTime::from_hms_opt(22, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};
/// The age from which a client is in the measure's population.
pub const AGE: u32 = 65;
/// Visits a day the client must have every day of the window.
pub const DAILY_VISITS: usize = 2;

/// The national figure to compare with.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct National {
    /// The year of the figures.
    pub year: i32,
    /// The national mean.
    pub mean: f64,
    /// The lowest and the highest municipality's figure that year.
    pub lowest: f64,
    pub highest: f64,
}

/// Kolada's figures for 2021 (Infostat's summary).
pub const NATIONAL: National = National {
    year: 2021,
    mean: 14.9,
    lowest: 7.0,
    highest: 27.0,
};

/// A visit as the measures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitFact<'a> {
    pub client_id: &'a str,
    pub staff_id: &'a str,
    /// Its start in local time.
    pub start: NaiveDateTime,
    /// Seconds of the visit that count as performed for the client.
    pub seconds: i64,
    /// Only services the catalogue leaves out of the measure (an alarm
    /// visit, a meal delivery). A visit without services (a lock's) counts.
    pub excluded_only: bool,
}

/// The first day of personalkontinuitet's default window on `today`: the
/// Monday of ISO week `week` (the national measurement weeks, set yearly)
/// of the latest year whose window has ended before `today`; without a
/// week, the Monday of the two whole weeks before the current one.
pub fn default_window(today: NaiveDate, week: Option<u32>) -> NaiveDate {
    use chrono::Datelike;
    let monday = today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()));
    let two_weeks_before = monday - chrono::Days::new(14);
    let Some(week) = week else {
        return two_weeks_before;
    };
    let last = u64::from(WINDOW_DAYS - 1);
    (today.year() - 2..=today.year())
        .rev()
        .filter_map(|y| NaiveDate::from_isoywd_opt(y, week, chrono::Weekday::Mon))
        .find(|from| *from + chrono::Days::new(last) < today)
        .unwrap_or(two_weeks_before)
}

/// Whether a visit counts for personalkontinuitet.
pub fn counts(v: &VisitFact<'_>) -> bool {
    !v.excluded_only && daytime(v.start.time())
}

/// Whether a visit starting at local time `t` is in personalkontinuitet's
/// day, [07:00, 22:00).
pub fn daytime(t: NaiveTime) -> bool {
    t >= DAY_STARTS && t < DAY_ENDS
}

/// Whether an end of a visit, registered from `source` with `method`, is
/// verified: by a lock or an NFC tag, not entered afterwards (`entry`).
pub fn verifies(source: Source, method: Option<Method>) -> bool {
    source != Source::Entry && matches!(method, Some(Method::Nfc | Method::Lock))
}

/// Whether a client belongs to the measure's population for the window
/// `from`..`from + 14 days`: 65 or older on its first day, at home all
/// of it, and at least two visits (any time, any service) on every day:
/// `full_days` is the number of the window's days with two or more.
pub fn in_population(
    birth_date: Option<NaiveDate>,
    absent_days: &BTreeSet<NaiveDate>,
    full_days: usize,
    from: NaiveDate,
) -> bool {
    let Some(born) = birth_date else {
        return false;
    };
    if from.years_since(born).is_none_or(|age| age < AGE) {
        return false;
    }
    full_days >= WINDOW_DAYS as usize
        && !from
            .iter_days()
            .take(WINDOW_DAYS as usize)
            .any(|d| absent_days.contains(&d))
}

/// The days of a window with at least two visits, from the visits' local
/// days (what the database counts for [`in_population`]).
pub fn full_days(days: impl IntoIterator<Item = NaiveDate>) -> usize {
    let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for d in days {
        *per_day.entry(d).or_default() += 1;
    }
    per_day.values().filter(|n| **n >= DAILY_VISITS).count()
}

/// The different care workers of the counted visits, per client.
pub fn staff_met<'a>(visits: &[VisitFact<'a>]) -> BTreeMap<&'a str, usize> {
    let mut met: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for v in visits.iter().filter(|v| counts(v)) {
        met.entry(v.client_id).or_default().insert(v.staff_id);
    }
    met.into_iter().map(|(c, s)| (c, s.len())).collect()
}

/// The mean of `values`, to one decimal; `None` without values.
pub fn mean(values: impl IntoIterator<Item = usize>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .fold((0usize, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| (sum as f64 / n as f64 * 10.0).round() / 10.0)
}

/// A client's visits made by the contact person or the deputy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactShare {
    pub visits: i64,
    pub contact_visits: i64,
    pub seconds: i64,
    pub contact_seconds: i64,
}

impl ContactShare {
    pub fn add(&mut self, o: ContactShare) {
        self.visits += o.visits;
        self.contact_visits += o.contact_visits;
        self.seconds += o.seconds;
        self.contact_seconds += o.contact_seconds;
    }

    /// The share of visits, in basis points; `None` without visits.
    pub fn visits_basis_points(&self) -> Option<i64> {
        (self.visits > 0).then(|| self.contact_visits * 10_000 / self.visits)
    }

    /// The share of time, in basis points; `None` without time.
    pub fn seconds_basis_points(&self) -> Option<i64> {
        (self.seconds > 0).then(|| self.contact_seconds * 10_000 / self.seconds)
    }
}

/// The visits of one client and how many of them (and of their time) the
/// contact person or deputy made (`contacts`).
pub fn contact_share(visits: &[VisitFact<'_>], contacts: &[&str]) -> ContactShare {
    let mut out = ContactShare::default();
    for v in visits {
        let theirs = contacts.contains(&v.staff_id);
        out.visits += 1;
        out.seconds += v.seconds;
        if theirs {
            out.contact_visits += 1;
            out.contact_seconds += v.seconds;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        day(d).and_hms_opt(h, m, 0).unwrap()
    }

    fn visit<'a>(staff_id: &'a str, start: NaiveDateTime) -> VisitFact<'a> {
        VisitFact {
            client_id: "lisa",
            staff_id,
            start,
            seconds: 1800,
            excluded_only: false,
        }
    }

    #[test]
    fn three_care_workers_in_fourteen_days_is_three() {
        let v = [
            visit("anna", at(5, 8, 0)),
            visit("bertil", at(5, 20, 0)),
            visit("anna", at(6, 8, 0)),
            visit("cecilia", at(12, 12, 0)),
            visit("anna", at(18, 21, 59)),
        ];
        assert_eq!(staff_met(&v)["lisa"], 3);
    }

    #[test]
    fn night_visits_alarm_visits_and_meal_deliveries_do_not_count() {
        let v = [
            visit("anna", at(5, 8, 0)),
            // 06:30 and 22:00 are outside the day.
            visit("natt1", at(5, 6, 30)),
            visit("natt2", at(5, 22, 0)),
            VisitFact {
                excluded_only: true,
                ..visit("matbud", at(5, 11, 0))
            },
        ];
        assert_eq!(staff_met(&v)["lisa"], 1);
        assert_eq!(staff_met(&v[1..3]).get("lisa"), None);
    }

    #[test]
    fn the_population_is_65_or_older_at_home_with_two_visits_every_day() {
        let from = day(5);
        let born = NaiveDate::from_ymd_opt(1934, 5, 12);
        let twice: Vec<NaiveDate> = from.iter_days().take(14).flat_map(|d| [d, d]).collect();
        let two = full_days(twice.iter().copied());
        assert_eq!(two, 14);
        let home = BTreeSet::new();
        assert!(in_population(born, &home, two, from));
        // 64 on the first day.
        let young = NaiveDate::from_ymd_opt(1961, 10, 6);
        assert!(!in_population(young, &home, two, from));
        // One day with one visit.
        let short = full_days(
            twice
                .iter()
                .copied()
                .filter(|d| *d != day(11))
                .chain([day(11)]),
        );
        assert_eq!(short, 13);
        assert!(!in_population(born, &home, short, from));
        // In hospital a day.
        let away: BTreeSet<NaiveDate> = [day(18)].into();
        assert!(!in_population(born, &away, two, from));
        // The day after the window does not matter.
        let after: BTreeSet<NaiveDate> = [day(19)].into();
        assert!(in_population(born, &after, two, from));
        assert!(!in_population(None, &home, two, from));
    }

    #[test]
    fn the_mean_is_over_the_clients_to_one_decimal() {
        assert_eq!(mean([3, 4, 4]), Some(3.7));
        assert_eq!(mean([]), None);
    }

    #[test]
    fn the_contact_persons_share_counts_the_deputy_too() {
        let v = [
            VisitFact {
                seconds: 3600,
                ..visit("anna", at(5, 8, 0))
            },
            visit("bertil", at(5, 12, 0)),
            visit("cecilia", at(5, 18, 0)),
            visit("david", at(5, 20, 0)),
        ];
        // Anna is the contact person, Bertil her deputy.
        let s = contact_share(&v, &["anna", "bertil"]);
        assert_eq!((s.visits, s.contact_visits), (4, 2));
        assert_eq!(s.visits_basis_points(), Some(5_000));
        // 1 h + 30 min of 2 h 30 min.
        assert_eq!(s.seconds_basis_points(), Some(6_000));
        assert_eq!(contact_share(&v, &[]).visits_basis_points(), Some(0));
        assert_eq!(contact_share(&[], &["anna"]).visits_basis_points(), None);
    }

    #[test]
    fn the_default_window_is_the_measurement_weeks_or_the_last_two() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // Friday 4 December 2026 (week 49): weeks 47 and 48.
        assert_eq!(default_window(d(2026, 12, 4), None), d(2026, 11, 16));
        // Measurement weeks from week 40: 28 September 2026 (Monday).
        assert_eq!(default_window(d(2026, 12, 4), Some(40)), d(2026, 9, 28));
        // Before this year's weeks have ended, last year's.
        assert_eq!(default_window(d(2026, 10, 5), Some(40)), d(2025, 9, 29));
        // Week 53 of 2026 has not ended, 2025 and 2024 have none: the two
        // whole weeks before.
        assert_eq!(default_window(d(2026, 12, 4), Some(53)), d(2026, 11, 16));
    }
}
