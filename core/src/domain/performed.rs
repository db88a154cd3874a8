//! Performed time of a month: visits split at local midnight so the part of
//! a visit after midnight on the last day lands in the next month, and each
//! part shared over the visit's services in the proportions the visit had.

use super::month::YearMonth;
use super::split::{proportional, seconds_per_local_day};
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// One counted visit: its real interval and its services' seconds.
#[derive(Debug, Clone)]
pub struct VisitTime<'a> {
    pub started_at: NaiveDateTime,
    pub ended_at: NaiveDateTime,
    /// Co-habiting clients' shares of the visit (basis points), and which
    /// is the client's own; `[10_000]` and `0` for a visit of one client.
    pub shares: Vec<i64>,
    pub own_share: usize,
    /// (service id, seconds) of the client's performed services.
    pub services: Vec<(&'a str, i64)>,
}

/// Seconds performed in a month, in total and per service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthSeconds {
    pub total: i64,
    pub by_service: BTreeMap<String, i64>,
    /// Time of visits checked out without any service.
    pub unassigned: i64,
}

/// Adds up the parts of `visits` that fall in `month` (local time in `tz`).
pub fn month_seconds<'a>(
    visits: impl IntoIterator<Item = VisitTime<'a>>,
    month: YearMonth,
    tz: Tz,
) -> MonthSeconds {
    let mut out = MonthSeconds::default();
    for v in visits {
        let whole: i64 = seconds_per_local_day(v.started_at, v.ended_at, tz)
            .into_iter()
            .filter(|(day, _)| YearMonth::of(*day) == month)
            .map(|(_, s)| s)
            .sum();
        // The client's part of a shared visit (sammanboende).
        let in_month = if v.shares.len() > 1 {
            proportional(whole, &v.shares)
                .get(v.own_share)
                .copied()
                .unwrap_or(0)
        } else {
            whole
        };
        if in_month == 0 {
            continue;
        }
        out.total += in_month;
        if v.services.is_empty() {
            out.unassigned += in_month;
            continue;
        }
        let weights: Vec<i64> = v.services.iter().map(|(_, s)| *s).collect();
        for ((id, _), part) in v.services.iter().zip(proportional(in_month, &weights)) {
            *out.by_service.entry((*id).to_string()).or_default() += part;
        }
    }
    out
}

/// Whole minutes of a number of seconds, rounded half up.
pub fn minutes(seconds: i64) -> i64 {
    (seconds + 30).div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Stockholm;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        Stockholm
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn a_visit_across_the_month_end_is_shared_by_both_months() {
        let v = || VisitTime {
            started_at: at(2026, 10, 31, 23, 30),
            ended_at: at(2026, 11, 1, 0, 30),
            shares: vec![10_000],
            own_share: 0,
            services: vec![("shower", 2400), ("walk", 1200)],
        };
        let oct = month_seconds([v()], "2026-10".parse().unwrap(), Stockholm);
        let nov = month_seconds([v()], "2026-11".parse().unwrap(), Stockholm);
        assert_eq!((oct.total, nov.total), (1800, 1800));
        assert_eq!(oct.by_service["shower"], 1200);
        assert_eq!(nov.by_service["walk"], 600);
    }

    #[test]
    fn adds_visits_and_keeps_time_without_services() {
        let visits = vec![
            VisitTime {
                started_at: at(2026, 11, 2, 8, 0),
                ended_at: at(2026, 11, 2, 8, 45),
                shares: vec![10_000],
                own_share: 0,
                services: vec![("shower", 2700)],
            },
            VisitTime {
                started_at: at(2026, 11, 3, 8, 0),
                ended_at: at(2026, 11, 3, 8, 20),
                shares: vec![10_000],
                own_share: 0,
                services: vec![],
            },
        ];
        let m = month_seconds(visits, "2026-11".parse().unwrap(), Stockholm);
        assert_eq!(
            (m.total, m.by_service["shower"], m.unassigned),
            (3900, 2700, 1200)
        );
        assert_eq!(minutes(m.total), 65);
        assert_eq!(minutes(89), 1);
        assert_eq!(minutes(90), 2);
    }

    #[test]
    fn a_shared_visit_is_split_by_share() {
        let v = |own| VisitTime {
            started_at: at(2026, 11, 2, 8, 0),
            ended_at: at(2026, 11, 2, 9, 0),
            shares: vec![6_000, 4_000],
            own_share: own,
            services: vec![("cleaning", 1)],
        };
        let month = "2026-11".parse().unwrap();
        assert_eq!(
            month_seconds([v(0)], month, Stockholm).by_service["cleaning"],
            2160
        );
        assert_eq!(month_seconds([v(1)], month, Stockholm).total, 1440);
    }
}
