//! Performed against ordered time: the tolerance band (R1), absences that
//! explain under-time, the projection inside a month (R6, R7), the
//! three-month rule (R4) and days with fewer visits than ordered (R8).
//! Pure functions: the clock is always a parameter.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Where a client-month is against the band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within ± the tolerance (R1).
    WithinBand,
    Over,
    Under,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::WithinBand => "within_band",
            Status::Over => "over",
            Status::Under => "under",
        }
    }

    pub fn is_outside(self) -> bool {
        self != Status::WithinBand
    }

    /// "över" or "under", for messages.
    pub fn swedish(self) -> &'static str {
        match self {
            Status::WithinBand => "inom toleransen",
            Status::Over => "över",
            Status::Under => "under",
        }
    }
}

/// Performed minutes judged against expected minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Judgement {
    /// Ordered minutes less those explained by absence.
    pub expected_minutes: i64,
    pub performed_minutes: i64,
    /// Performed less expected.
    pub variance_minutes: i64,
    /// The variance in basis points of the expected time (10,000 = 100 %);
    /// `None` when nothing was expected.
    pub variance_basis_points: Option<i64>,
    pub status: Status,
}

/// R1: within the band when the variance is at most `tolerance_bp` basis
/// points of the expected time. With nothing expected, any performed time
/// is over.
pub fn judge(expected_minutes: i64, performed_minutes: i64, tolerance_bp: i64) -> Judgement {
    let variance = performed_minutes - expected_minutes;
    let (bp, status) = if expected_minutes <= 0 {
        let status = if performed_minutes > 0 {
            Status::Over
        } else {
            Status::WithinBand
        };
        (None, status)
    } else {
        let within = i128::from(variance.abs()) * 10_000
            <= i128::from(tolerance_bp) * i128::from(expected_minutes);
        let status = match (within, variance > 0) {
            (true, _) => Status::WithinBand,
            (false, true) => Status::Over,
            (false, false) => Status::Under,
        };
        (Some(round_div(variance * 10_000, expected_minutes)), status)
    };
    Judgement {
        expected_minutes: expected_minutes.max(0),
        performed_minutes,
        variance_minutes: variance,
        variance_basis_points: bp,
        status,
    }
}

/// Ordered minutes of the days the client was absent (a hospital stay):
/// they explain under-time instead of counting as it. The month's ordered
/// time is taken as evenly spread over its days.
pub fn explained_minutes(ordered_minutes: i64, absent_days: u32, days_in_month: u32) -> i64 {
    if days_in_month == 0 {
        return 0;
    }
    let days = i64::from(absent_days.min(days_in_month));
    round_div(ordered_minutes * days, i64::from(days_in_month))
}

/// A client-month's time as [`judge_month`] reads it.
#[derive(Clone, Debug, Default)]
pub struct MonthTime<'a> {
    pub ordered_minutes: i64,
    pub ordered_by_service: Option<&'a BTreeMap<String, i64>>,
    pub performed_seconds: i64,
    /// Of `performed_seconds`, the time of services offered without a
    /// needs decision (SoL 2025:400): reported, never judged.
    pub undecided_seconds: i64,
    /// Performed seconds per service id.
    pub performed_by_service: BTreeMap<&'a str, i64>,
    /// Under a frame decision only the total binds (R8).
    pub frame: bool,
    pub absent_days: u32,
    pub days_in_month: u32,
    pub tolerance_bp: i64,
}

/// A client-month judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthVerdict {
    /// Ordered minutes of the absent days.
    pub explained_minutes: i64,
    /// The whole month (R1).
    pub total: Judgement,
    /// Each ordered service (R1 per service).
    pub services: BTreeMap<String, Judgement>,
    /// R1 for the total; under a per-service decision also the first
    /// service outside the band when the total is within it.
    pub status: Status,
}

/// R1 (and R8: the frame's total binds) for a client-month, with the
/// ordered time of absent days explained.
pub fn judge_month(t: &MonthTime<'_>) -> MonthVerdict {
    let minutes = |s: i64| (s + 30).div_euclid(60);
    let explained = explained_minutes(t.ordered_minutes, t.absent_days, t.days_in_month);
    let total = judge(
        t.ordered_minutes - explained,
        minutes(t.performed_seconds - t.undecided_seconds),
        t.tolerance_bp,
    );
    let services: BTreeMap<String, Judgement> = t
        .ordered_by_service
        .into_iter()
        .flatten()
        .map(|(id, ordered)| {
            let e = explained_minutes(*ordered, t.absent_days, t.days_in_month);
            let performed = t
                .performed_by_service
                .get(id.as_str())
                .copied()
                .unwrap_or(0);
            (
                id.clone(),
                judge(ordered - e, minutes(performed), t.tolerance_bp),
            )
        })
        .collect();
    let status = if total.status.is_outside() || t.frame {
        total.status
    } else {
        services
            .values()
            .map(|j| j.status)
            .find(|s| s.is_outside())
            .unwrap_or(Status::WithinBand)
    };
    MonthVerdict {
        explained_minutes: explained,
        total,
        services,
        status,
    }
}

/// Days of the month elapsed before a projection is made: earlier the
/// pace says too little.
pub const PACE_MIN_ELAPSED_DAYS: i64 = 7;

/// R6, R7: the month's performed minutes at the current pace, from what
/// was performed in `[month_start, at)` (UTC instants of the local month's
/// bounds). `None` before [`PACE_MIN_ELAPSED_DAYS`] or outside the month.
pub fn projected_minutes(
    performed_seconds: i64,
    month_start: NaiveDateTime,
    month_end: NaiveDateTime,
    at: NaiveDateTime,
) -> Option<i64> {
    if at <= month_start || at >= month_end {
        return None;
    }
    let elapsed = (at - month_start).num_seconds();
    if elapsed < PACE_MIN_ELAPSED_DAYS * 86_400 {
        return None;
    }
    let whole = (month_end - month_start).num_seconds();
    let projected_seconds = i128::from(performed_seconds) * i128::from(whole) / i128::from(elapsed);
    Some(round_div(
        i64::try_from(projected_seconds).unwrap_or(i64::MAX),
        60,
    ))
}

/// One closed month as R4 sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonthOutcome {
    pub status: Status,
    /// The caseworker approved the provider's explanation (R3).
    pub explanation_approved: bool,
}

/// R4: outside the band three months in a row without an approved
/// explanation. `months` are the last three closed months, oldest first.
pub fn follow_up_recommended(months: &[MonthOutcome]) -> bool {
    months.len() >= 3
        && months[months.len() - 3..]
            .iter()
            .all(|m| m.status.is_outside() && !m.explanation_approved)
}

/// A day with fewer visits than ordered (R8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ShortDay {
    pub date: NaiveDate,
    pub visits: i64,
    /// Declined visits count as visits the client did not want.
    pub declined: i64,
    pub ordered: i64,
}

/// R8: the days in `days` (each with its ordered daily visits, `None`
/// when the order sets none or is not valid that day) whose visits and
/// declined visits fall short. Absent days are skipped.
pub fn short_days(
    days: &[(NaiveDate, Option<i64>, i64, i64)],
    absent: &BTreeSet<NaiveDate>,
) -> Vec<ShortDay> {
    days.iter()
        .filter(|(d, _, _, _)| !absent.contains(d))
        .filter_map(|&(date, ordered, visits, declined)| {
            let ordered = ordered?;
            (visits + declined < ordered).then_some(ShortDay {
                date,
                visits,
                declined,
                ordered,
            })
        })
        .collect()
}

/// `a / b` rounded half away from zero.
fn round_div(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let (a, b) = (i128::from(a), i128::from(b));
    let q = (2 * a.abs() + b.abs()) / (2 * b.abs());
    let q = if (a < 0) != (b < 0) { -q } else { q };
    i64::try_from(q).unwrap_or(0)
}

/// A percentage with one decimal, Swedish style: 812 → "8,1".
pub fn percent_sv(basis_points: i64) -> String {
    let tenths = round_div(basis_points.abs(), 10);
    format!("{},{}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_is_inclusive_and_symmetric() {
        // R1 ±5 %: 3,096 ordered; 4 % over is within, 8 % under is not.
        assert_eq!(judge(3096, 3220, 500).status, Status::WithinBand);
        assert_eq!(judge(3096, 2848, 500).status, Status::Under);
        assert_eq!(judge(3096, 3251, 500).status, Status::Over);
        // Exactly 5 % is still within.
        assert_eq!(judge(1000, 950, 500).status, Status::WithinBand);
        assert_eq!(judge(1000, 949, 500).status, Status::Under);
        let j = judge(3096, 2848, 500);
        assert_eq!(
            (j.variance_minutes, j.variance_basis_points),
            (-248, Some(-801))
        );
        assert_eq!(percent_sv(-801), "8,0");
        assert_eq!(percent_sv(812), "8,1");
        // Nothing ordered: any time is over.
        assert_eq!(judge(0, 10, 500).status, Status::Over);
        assert_eq!(judge(0, 0, 500).status, Status::WithinBand);
    }

    #[test]
    fn ten_days_in_hospital_explain_a_third_of_november() {
        assert_eq!(explained_minutes(3096, 10, 30), 1032);
        assert_eq!(explained_minutes(3096, 40, 30), 3096);
        // 2,064 performed against 3,096 - 1,032 expected: within.
        assert_eq!(judge(3096 - 1032, 2064, 500).status, Status::WithinBand);
    }

    #[test]
    fn a_per_service_decision_judges_each_service_too() {
        // R1, R8: the total is within the band, one service is not.
        let ordered = BTreeMap::from([("shower".to_string(), 240), ("walk".to_string(), 240)]);
        let t = MonthTime {
            ordered_minutes: 480,
            ordered_by_service: Some(&ordered),
            performed_seconds: 480 * 60,
            undecided_seconds: 0,
            performed_by_service: BTreeMap::from([("shower", 180 * 60), ("walk", 300 * 60)]),
            frame: false,
            absent_days: 0,
            days_in_month: 30,
            tolerance_bp: 500,
        };
        let v = judge_month(&t);
        assert_eq!(v.total.status, Status::WithinBand);
        assert_eq!(v.services["shower"].status, Status::Under);
        assert_eq!(v.status, Status::Under);
        // Under a frame decision time may move between services.
        assert_eq!(
            judge_month(&MonthTime {
                frame: true,
                ..t.clone()
            })
            .status,
            Status::WithinBand
        );
        // Ten absent days of thirty explain a third of the ordered time.
        let v = judge_month(&MonthTime {
            absent_days: 10,
            performed_seconds: 320 * 60,
            frame: true,
            ..t.clone()
        });
        assert_eq!(
            (v.explained_minutes, v.total.status),
            (160, Status::WithinBand)
        );
        // Two hours of a service offered without a needs decision (SoL
        // 2025:400) neither fill the order nor push it over.
        let v = judge_month(&MonthTime {
            performed_seconds: 600 * 60,
            undecided_seconds: 120 * 60,
            frame: true,
            ..t
        });
        assert_eq!(
            (v.total.performed_minutes, v.total.status),
            (480, Status::WithinBand)
        );
    }

    #[test]
    fn the_pace_projects_the_month() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let end = start + chrono::Duration::days(30);
        // On the 20th at midnight (19 days elapsed) 40 % of 3,096 minutes
        // were performed: the month ends near 63 %.
        let at = start + chrono::Duration::days(19);
        let p = projected_minutes(1238 * 60, start, end, at).unwrap();
        assert_eq!(p, 1955);
        assert_eq!(judge(3096, p, 500).status, Status::Under);
        // Too early to tell, or outside the month.
        assert_eq!(
            projected_minutes(100, start, end, start + chrono::Duration::days(3)),
            None
        );
        assert_eq!(projected_minutes(100, start, end, end), None);
    }

    #[test]
    fn three_unexplained_months_call_for_a_follow_up() {
        let out = |approved| MonthOutcome {
            status: Status::Under,
            explanation_approved: approved,
        };
        assert!(follow_up_recommended(&[out(false), out(false), out(false)]));
        assert!(!follow_up_recommended(&[out(false), out(true), out(false)]));
        assert!(!follow_up_recommended(&[out(false), out(false)]));
        let within = MonthOutcome {
            status: Status::WithinBand,
            explanation_approved: false,
        };
        assert!(!follow_up_recommended(&[out(false), within, out(false)]));
    }

    #[test]
    fn short_days_skip_absences_and_count_declined_visits() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        let days = [
            (d(1), Some(6), 6, 0),
            (d(2), Some(6), 4, 0),
            (d(3), Some(6), 5, 1),
            (d(4), Some(6), 0, 0),
            (d(5), None, 0, 0),
        ];
        let absent = BTreeSet::from([d(4)]);
        let short = short_days(&days, &absent);
        assert_eq!(short.len(), 1);
        assert_eq!((short[0].date, short[0].visits), (d(2), 4));
    }
}
