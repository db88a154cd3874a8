//! Splitting a visit's real elapsed time: over its services, over local
//! days (so a visit across midnight lands on both days and, at a month's
//! end, in both months), and inside or outside the frame window (R9).
//! Durations are whole seconds of real time: a visit across a daylight-
//! saving change lasts what elapsed, not what the wall clock says.

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// A service performed in a visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceShare {
    /// The catalogue's standard minutes (schablontid).
    pub standard_minutes: u32,
    /// Minutes the care worker entered, if any.
    pub entered_minutes: Option<u32>,
}

/// Splits `total` seconds over services. Entered minutes are honoured
/// first (scaled down together if they add up to more than the visit); the
/// rest goes to the services without entered minutes in proportion to
/// their standard minutes (equally if those are all zero), or, when every
/// service had minutes entered, to them in proportion to what was entered.
/// The parts always add up to `total` (largest remainder).
pub fn split_services(total: i64, services: &[ServiceShare]) -> Vec<i64> {
    if services.is_empty() || total <= 0 {
        return vec![0; services.len()];
    }
    let entered: i64 = services
        .iter()
        .filter_map(|s| s.entered_minutes)
        .map(|m| i64::from(m) * 60)
        .sum();
    let all_entered = services.iter().all(|s| s.entered_minutes.is_some());
    if entered >= total || all_entered {
        let weights: Vec<i64> = services
            .iter()
            .map(|s| i64::from(s.entered_minutes.unwrap_or(0)))
            .collect();
        return proportional(total, &weights);
    }
    let rest_weights: Vec<i64> = services
        .iter()
        .map(|s| match s.entered_minutes {
            Some(_) => 0,
            None => i64::from(s.standard_minutes),
        })
        .collect();
    let rest_weights = if rest_weights.iter().all(|w| *w == 0) {
        services
            .iter()
            .map(|s| i64::from(s.entered_minutes.is_none()))
            .collect()
    } else {
        rest_weights
    };
    let rest = proportional(total - entered, &rest_weights);
    services
        .iter()
        .zip(rest)
        .map(|(s, r)| s.entered_minutes.map_or(r, |m| i64::from(m) * 60))
        .collect()
}

/// `total` split by `weights`, summing exactly to `total` (largest
/// remainder; ties to the earlier part). All-zero weights split equally.
pub fn proportional(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: i64 = weights.iter().sum();
    let (weights, sum) = if sum <= 0 {
        (
            vec![1; weights.len()],
            i64::try_from(weights.len()).unwrap_or(1),
        )
    } else {
        (weights.to_vec(), sum)
    };
    let total128 = i128::from(total);
    let mut parts: Vec<i64> = Vec::with_capacity(weights.len());
    let mut rems: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = total128 * i128::from(*w);
        parts.push(i64::try_from(exact / i128::from(sum)).unwrap_or(0));
        rems.push((exact % i128::from(sum), i));
    }
    let mut left = total - parts.iter().sum::<i64>();
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rems {
        if left <= 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// The instant a local date begins in `tz` (UTC).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> NaiveDateTime {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.naive_utc(),
        chrono::LocalResult::Ambiguous(t, _) => t.naive_utc(),
        // A zone that skips midnight: the day starts when the clock resumes.
        chrono::LocalResult::None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .map_or(naive, |t| t.naive_utc()),
    }
}

/// Real seconds of `[start, end)` (UTC) on each local date it touches.
/// The parts add up to exactly the visit's whole seconds: each boundary is
/// measured from `start`, so sub-second times never lose a second.
pub fn seconds_per_local_day(
    start: NaiveDateTime,
    end: NaiveDateTime,
    tz: Tz,
) -> Vec<(NaiveDate, i64)> {
    let mut out = Vec::new();
    if end <= start {
        return out;
    }
    let mut day = tz.from_utc_datetime(&start).date_naive();
    let mut from = start;
    let mut counted = 0;
    while from < end {
        let Some(next_day) = day.succ_opt() else {
            break;
        };
        let until = local_midnight(next_day, tz).min(end);
        if until > from {
            let upto = (until - start).num_seconds();
            out.push((day, upto - counted));
            counted = upto;
        }
        from = until;
        day = next_day;
    }
    out
}

/// Real seconds of `[start, end)` inside the daily local window
/// `[window_start, window_end)` (minutes after midnight) and outside it (R9).
pub fn frame_window_seconds(
    start: NaiveDateTime,
    end: NaiveDateTime,
    tz: Tz,
    window_start: u32,
    window_end: u32,
) -> (i64, i64) {
    let total = (end - start).num_seconds().max(0);
    // Milliseconds, rounded once, so sub-second times lose nothing.
    let mut inside_ms = 0;
    for (day, _) in seconds_per_local_day(start, end, tz) {
        let at = |minute: u32| {
            let naive =
                day.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::minutes(i64::from(minute));
            tz.from_local_datetime(&naive)
                .earliest()
                .map_or(naive, |t| t.naive_utc())
        };
        let (ws, we) = (at(window_start), at(window_end));
        let (s, e) = (start.max(ws), end.min(we));
        if e > s {
            inside_ms += (e - s).num_milliseconds();
        }
    }
    let inside = ((inside_ms + 500) / 1000).min(total);
    (inside, total - inside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Stockholm;

    fn utc(s: &str) -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().naive_utc()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn share(standard: u32, entered: Option<u32>) -> ServiceShare {
        ServiceShare {
            standard_minutes: standard,
            entered_minutes: entered,
        }
    }

    #[test]
    fn services_share_by_standard_minutes() {
        // 40 minutes, shower (30) and toilet (10): 30 and 10.
        assert_eq!(
            split_services(2400, &[share(30, None), share(10, None)]),
            vec![1800, 600]
        );
        // Thirds that do not divide evenly still sum to the total.
        let parts = split_services(1000, &[share(10, None), share(10, None), share(10, None)]);
        assert_eq!(parts, vec![334, 333, 333]);
        assert_eq!(
            split_services(600, &[share(0, None), share(0, None)]),
            vec![300, 300]
        );
    }

    #[test]
    fn entered_minutes_come_first() {
        // 45 min visit: 30 entered for the shower, the rest to the walk.
        assert_eq!(
            split_services(2700, &[share(30, Some(30)), share(30, None)]),
            vec![1800, 900]
        );
        // All entered and adding up to less: the real time is shared by them.
        assert_eq!(
            split_services(3600, &[share(10, Some(20)), share(10, Some(20))]),
            vec![1800, 1800]
        );
        // Entered more than the visit lasted: scaled down to the real time.
        assert_eq!(
            split_services(1800, &[share(10, Some(40)), share(10, None)]),
            vec![1800, 0]
        );
        assert_eq!(split_services(0, &[share(10, None)]), vec![0]);
    }

    #[test]
    fn a_visit_across_midnight_lands_on_both_days() {
        // 23:30–00:30 Stockholm time (CET, UTC+1), 30 November → 1 December:
        // the minutes land in both months.
        let v = seconds_per_local_day(
            utc("2026-11-30T22:30:00Z"),
            utc("2026-11-30T23:30:00Z"),
            Stockholm,
        );
        assert_eq!(v, vec![(d(2026, 11, 30), 1800), (d(2026, 12, 1), 1800)]);
    }

    #[test]
    fn sub_second_times_do_not_lose_a_second_at_midnight() {
        let parts = seconds_per_local_day(
            utc("2026-11-22T22:43:18.614070Z"),
            utc("2026-11-22T23:28:18.614070Z"),
            Stockholm,
        );
        assert_eq!(parts.len(), 2);
        assert_eq!(parts.iter().map(|(_, s)| s).sum::<i64>(), 2700);
    }

    #[test]
    fn october_dst_change_counts_real_time() {
        // Last Sunday of October 2026 is the 25th: clocks go 03:00 → 02:00.
        // 01:30 local (CEST, 23:30Z) to 03:30 local (CET, 02:30Z) is 3 hours.
        let start = Stockholm
            .with_ymd_and_hms(2026, 10, 25, 1, 30, 0)
            .unwrap()
            .naive_utc();
        let end = Stockholm
            .with_ymd_and_hms(2026, 10, 25, 3, 30, 0)
            .unwrap()
            .naive_utc();
        assert_eq!((end - start).num_seconds(), 3 * 3600);
        assert_eq!(
            seconds_per_local_day(start, end, Stockholm),
            vec![(d(2026, 10, 25), 3 * 3600)]
        );
        // The local day itself has 25 hours.
        let day = seconds_per_local_day(
            local_midnight(d(2026, 10, 25), Stockholm),
            local_midnight(d(2026, 10, 26), Stockholm),
            Stockholm,
        );
        assert_eq!(day, vec![(d(2026, 10, 25), 25 * 3600)]);
    }

    #[test]
    fn march_dst_change_counts_real_time() {
        // 29 March 2026: 02:00 → 03:00. 01:30 to 03:30 local is one hour.
        let start = Stockholm
            .with_ymd_and_hms(2026, 3, 29, 1, 30, 0)
            .unwrap()
            .naive_utc();
        let end = Stockholm
            .with_ymd_and_hms(2026, 3, 29, 3, 30, 0)
            .unwrap()
            .naive_utc();
        assert_eq!(
            seconds_per_local_day(start, end, Stockholm),
            vec![(d(2026, 3, 29), 3600)]
        );
    }

    #[test]
    fn frame_window_splits_inside_and_outside() {
        // 06:30–07:30 local in November (UTC+1): half inside 07:00–22:00.
        let (i, o) = frame_window_seconds(
            utc("2026-11-02T05:30:00Z"),
            utc("2026-11-02T06:30:00Z"),
            Stockholm,
            420,
            1320,
        );
        assert_eq!((i, o), (1800, 1800));
        // 21:00 to 08:00 the next day: 1 h before 22:00 and 1 h after 07:00.
        let (i, o) = frame_window_seconds(
            utc("2026-11-02T20:00:00Z"),
            utc("2026-11-03T07:00:00Z"),
            Stockholm,
            420,
            1320,
        );
        assert_eq!((i, o), (7200, 9 * 3600));
    }
}
