//! Monthly ordered time: the minutes an order grants for one local calendar
//! month (R18, R8, R20).
//!
//! Month conventions (a municipality setting):
//! - `average` (default): every month is the same size, 365.25/12 days and
//!   52/12 weeks, as the case systems print "Beställd kvantitet: 51:36
//!   timmar/månad". A line "0.2 timmar/dag, alla dagar" is 12 × 365.25/12 min.
//! - `calendar`: the real days of the month count; a daily line counts the
//!   matching weekdays that occur, a weekly line days/7 weeks.
//!
//! In both, an order that starts or ends inside the month is prorated by
//! the share of the month's days it is valid (days are local dates, both
//! ends inclusive); under `calendar` a daily line counts its actual days.
//! An explicit monthly total on the order wins over the lines (it is the
//! whole ordered quantity, double staffing included), prorated the same way.
//! Exact fractions are used throughout and the total is rounded once, half
//! away from zero; each line's figure is rounded on its own for display.

use super::month::YearMonth;
use super::ratio::Ratio;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// How a month's length is counted; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MonthConvention {
    /// 365.25/12 days and 52/12 weeks in every month.
    #[default]
    Average,
    /// The real days of each calendar month.
    Calendar,
}

impl MonthConvention {
    pub fn as_str(self) -> &'static str {
        match self {
            MonthConvention::Average => "average",
            MonthConvention::Calendar => "calendar",
        }
    }

    pub fn parse(s: &str) -> Option<MonthConvention> {
        match s {
            "average" => Some(MonthConvention::Average),
            "calendar" => Some(MonthConvention::Calendar),
            _ => None,
        }
    }
}

/// The period a line's frequency refers to ("timmar/dag", "timmar/vecka").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }
}

/// A set of weekdays as a bit mask, Monday = bit 0 … Sunday = bit 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weekdays(u8);

impl Weekdays {
    pub const ALL: Weekdays = Weekdays(0x7f);
    const NAMES: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// `None` unless the mask is non-empty and uses only the seven day bits.
    pub fn from_bits(bits: i32) -> Option<Weekdays> {
        u8::try_from(bits)
            .ok()
            .filter(|b| *b != 0 && *b <= 0x7f)
            .map(Weekdays)
    }

    pub fn bits(self) -> i32 {
        i32::from(self.0)
    }

    /// Parses day names (`mon` … `sun`); `None` on an unknown name or none.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Option<Weekdays> {
        let mut bits = 0u8;
        for n in names {
            let i = Self::NAMES.iter().position(|d| *d == n.as_ref())?;
            bits |= 1 << i;
        }
        Weekdays::from_bits(i32::from(bits))
    }

    pub fn names(self) -> Vec<&'static str> {
        (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| Self::NAMES[i])
            .collect()
    }

    pub fn count(self) -> u32 {
        self.0.count_ones()
    }

    pub fn contains(self, day: chrono::Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }
}

/// One order line: `minutes_per_occurrence` × `times` per `period`, every
/// `every` periods, on `weekdays` (which days, for daily lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderLineSpec {
    pub minutes_per_occurrence: u32,
    pub times: u32,
    pub period: Period,
    /// 1 = every period ("varje vecka"), 2 = every other ("varannan vecka").
    pub every: u32,
    pub weekdays: Weekdays,
}

/// What the computation needs of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSpec {
    /// First local day the order is valid.
    pub valid_from: NaiveDate,
    /// Last local day the order is valid (inclusive); `None` = open-ended.
    pub valid_to: Option<NaiveDate>,
    pub lines: Vec<OrderLineSpec>,
    /// Minutes per month a second staff member is ordered (R20), counted
    /// as person-minutes on top of the lines.
    pub double_staffing_minutes: u32,
    /// "Beställd kvantitet" when the case system states it.
    pub monthly_total_minutes: Option<u32>,
}

/// The ordered minutes of one order in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthlyOrderedTime {
    pub month: YearMonth,
    /// Days of the month on which the order is valid.
    pub valid_days: u32,
    pub days_in_month: u32,
    /// Minutes per line, in the order's line order (each rounded).
    pub line_minutes: Vec<i64>,
    /// Double-staffing person-minutes (R20).
    pub double_staffing_minutes: i64,
    /// Lines plus double staffing, rounded once.
    pub computed_minutes: i64,
    /// The explicit monthly total, prorated, when the order has one.
    pub explicit_minutes: Option<i64>,
    /// What binds: the explicit total when present, else the computed one.
    pub total_minutes: i64,
}

const DAYS_PER_AVERAGE_MONTH: Ratio = Ratio::new_const(1461, 48); // 365.25 / 12
const WEEKS_PER_AVERAGE_MONTH: Ratio = Ratio::new_const(13, 3); // 52 / 12

/// The minutes `order` grants for `month` under `convention`.
pub fn monthly_ordered_time(
    order: &OrderSpec,
    month: YearMonth,
    convention: MonthConvention,
) -> MonthlyOrderedTime {
    let first = order.valid_from.max(month.first_day());
    let last = order
        .valid_to
        .map_or(month.last_day(), |to| to.min(month.last_day()));
    let valid_days = if last >= first {
        u32::try_from((last - first).num_days() + 1).unwrap_or(0)
    } else {
        0
    };
    let days_in_month = month.days();
    let share = Ratio::new(i128::from(valid_days), i128::from(days_in_month));

    let lines: Vec<Ratio> = order
        .lines
        .iter()
        .map(|l| line_minutes(l, first, last, valid_days, share, convention))
        .collect();
    let double = Ratio::int(i128::from(order.double_staffing_minutes)) * share;
    let computed = lines.iter().copied().sum::<Ratio>() + double;
    let explicit = order
        .monthly_total_minutes
        .map(|t| (Ratio::int(i128::from(t)) * share).round());
    MonthlyOrderedTime {
        month,
        valid_days,
        days_in_month,
        line_minutes: lines.iter().map(|r| r.round()).collect(),
        double_staffing_minutes: double.round(),
        computed_minutes: computed.round(),
        explicit_minutes: explicit,
        total_minutes: explicit.unwrap_or_else(|| computed.round()),
    }
}

fn line_minutes(
    line: &OrderLineSpec,
    first: NaiveDate,
    last: NaiveDate,
    valid_days: u32,
    share: Ratio,
    convention: MonthConvention,
) -> Ratio {
    if valid_days == 0 || line.every == 0 {
        return Ratio::ZERO;
    }
    let per_occasion = Ratio::new(
        i128::from(line.minutes_per_occurrence) * i128::from(line.times),
        i128::from(line.every),
    );
    let occasions = match (line.period, convention) {
        (Period::Day, MonthConvention::Calendar) => {
            let matching = first
                .iter_days()
                .take_while(|d| *d <= last)
                .filter(|d| line.weekdays.contains(d.weekday()))
                .count();
            Ratio::int(i128::try_from(matching).unwrap_or(0))
        }
        (Period::Day, MonthConvention::Average) => {
            DAYS_PER_AVERAGE_MONTH * Ratio::new(i128::from(line.weekdays.count()), 7) * share
        }
        (Period::Week, MonthConvention::Calendar) => Ratio::new(i128::from(valid_days), 7),
        (Period::Week, MonthConvention::Average) => WEEKS_PER_AVERAGE_MONTH * share,
        (Period::Month, _) => share,
    };
    per_occasion * occasions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap()
    }

    fn line(minutes: u32, times: u32, period: Period) -> OrderLineSpec {
        OrderLineSpec {
            minutes_per_occurrence: minutes,
            times,
            period,
            every: 1,
            weekdays: Weekdays::ALL,
        }
    }

    /// The itemised personal-care lines of Järfälla Bilaga 4 ("Exempel på
    /// beställning"): Promenad and Duschhjälp 1 h/week, Omvårdnadspaket
    /// morgon 0.2 h/day, kväll 0.15 h/day, Toalettbesök 0.3 h/day, Tillsyn
    /// 0.2 h/day, and the stated total "Beställd kvantitet: 51:36 timmar/månad".
    /// The example does not itemise its service (S-) lines (Inköp,
    /// Källsortering, Tvätt, Städ), so the lines alone give less than the total.
    fn bilaga4(valid_from: NaiveDate) -> OrderSpec {
        OrderSpec {
            valid_from,
            valid_to: None,
            lines: vec![
                line(60, 1, Period::Week),
                line(60, 1, Period::Week),
                line(12, 1, Period::Day),
                line(9, 1, Period::Day),
                line(18, 1, Period::Day),
                line(12, 1, Period::Day),
            ],
            double_staffing_minutes: 0,
            monthly_total_minutes: Some(3096),
        }
    }

    #[test]
    fn jarfalla_bilaga4_explicit_total_gives_3096_minutes() {
        // R18: 51:36 h/month = 3,096 minutes, whatever the month's length.
        let order = bilaga4(d(2022, 3, 11));
        for (month, conv) in [
            ("2022-04", MonthConvention::Average),
            ("2022-04", MonthConvention::Calendar),
            ("2023-02", MonthConvention::Average),
        ] {
            let t = monthly_ordered_time(&order, ym(month), conv);
            assert_eq!(t.total_minutes, 3096, "{month} {conv:?}");
            assert_eq!(t.explicit_minutes, Some(3096));
            assert_eq!(crate::domain::format_hm(t.total_minutes), "51:36");
        }
    }

    #[test]
    fn jarfalla_bilaga4_lines_on_the_average_month() {
        // 51 min/day × 365.25/12 = 1552.3125; 2 h/week × 52/12 = 520.
        let mut order = bilaga4(d(2022, 3, 11));
        order.monthly_total_minutes = None;
        let t = monthly_ordered_time(&order, ym("2022-04"), MonthConvention::Average);
        assert_eq!(t.line_minutes, vec![260, 260, 365, 274, 548, 365]);
        assert_eq!(t.computed_minutes, 2072);
        assert_eq!(t.total_minutes, 2072);
        // Same in a 28-day month: the average month does not depend on length.
        let feb = monthly_ordered_time(&order, ym("2023-02"), MonthConvention::Average);
        assert_eq!(feb.total_minutes, 2072);
    }

    #[test]
    fn calendar_month_counts_real_days() {
        let mut order = bilaga4(d(2022, 3, 11));
        order.monthly_total_minutes = None;
        // April 2022: 30 days → 51 × 30 = 1530; 120 × 30/7 = 514.29.
        let t = monthly_ordered_time(&order, ym("2022-04"), MonthConvention::Calendar);
        assert_eq!(t.computed_minutes, 2044);
    }

    #[test]
    fn order_starting_on_the_17th_is_prorated() {
        // Valid 17–31 October: 15 of 31 days.
        let order = bilaga4(d(2026, 10, 17));
        let t = monthly_ordered_time(&order, ym("2026-10"), MonthConvention::Average);
        assert_eq!(t.valid_days, 15);
        assert_eq!(t.explicit_minutes, Some(1498)); // 3096 × 15/31 = 1498.06
        assert_eq!(t.total_minutes, 1498);
        let mut lines_only = order.clone();
        lines_only.monthly_total_minutes = None;
        let a = monthly_ordered_time(&lines_only, ym("2026-10"), MonthConvention::Average);
        // 2072.3125 × 15/31 = 1002.73
        assert_eq!(a.computed_minutes, 1003);
        let c = monthly_ordered_time(&lines_only, ym("2026-10"), MonthConvention::Calendar);
        // 51 × 15 + 120 × 15/7 = 765 + 257.14
        assert_eq!(c.computed_minutes, 1022);
        // The month before it starts grants nothing.
        let sept = monthly_ordered_time(&order, ym("2026-09"), MonthConvention::Average);
        assert_eq!((sept.valid_days, sept.total_minutes), (0, 0));
    }

    #[test]
    fn order_ending_inside_the_month_is_prorated() {
        let mut order = bilaga4(d(2026, 1, 1));
        order.valid_to = Some(d(2026, 11, 10));
        let t = monthly_ordered_time(&order, ym("2026-11"), MonthConvention::Average);
        assert_eq!(t.valid_days, 10);
        assert_eq!(t.total_minutes, 1032); // 3096 × 10/30
    }

    #[test]
    fn february_in_a_leap_year() {
        let order = OrderSpec {
            valid_from: d(2026, 12, 1),
            valid_to: None,
            lines: vec![line(30, 2, Period::Day), line(60, 2, Period::Week)],
            double_staffing_minutes: 0,
            monthly_total_minutes: None,
        };
        let cal = monthly_ordered_time(&order, ym("2028-02"), MonthConvention::Calendar);
        assert_eq!(cal.days_in_month, 29);
        // 60 × 29 = 1740; 120 × 29/7 = 497.14
        assert_eq!(cal.line_minutes, vec![1740, 497]);
        assert_eq!(cal.total_minutes, 2237);
        let cal_2027 = monthly_ordered_time(&order, ym("2027-02"), MonthConvention::Calendar);
        assert_eq!(cal_2027.total_minutes, 1680 + 480); // 28 days, 4 weeks
        // Average month: a full February grants the same as any month.
        let avg = monthly_ordered_time(&order, ym("2028-02"), MonthConvention::Average);
        assert_eq!(avg.total_minutes, 1826 + 520); // 60 × 30.4375 = 1826.25
        // Starting 15 February 2028: 15 of 29 days.
        let mid = OrderSpec {
            valid_from: d(2028, 2, 15),
            ..order
        };
        let t = monthly_ordered_time(&mid, ym("2028-02"), MonthConvention::Calendar);
        assert_eq!(t.valid_days, 15);
        assert_eq!(t.total_minutes, 900 + 257); // 60 × 15 + 120 × 15/7
    }

    #[test]
    fn weekdays_every_other_week_monthly_and_double_staffing() {
        let weekdays = Weekdays::from_names(&["mon", "tue", "wed", "thu", "fri"]).unwrap();
        let order = OrderSpec {
            valid_from: d(2026, 1, 1),
            valid_to: None,
            lines: vec![
                OrderLineSpec {
                    weekdays,
                    ..line(20, 1, Period::Day)
                },
                OrderLineSpec {
                    every: 2,
                    ..line(90, 1, Period::Week)
                },
                line(45, 1, Period::Month),
            ],
            double_staffing_minutes: 300,
            monthly_total_minutes: None,
        };
        // November 2026 has 21 weekdays (Mon 2 … Mon 30).
        let cal = monthly_ordered_time(&order, ym("2026-11"), MonthConvention::Calendar);
        assert_eq!(cal.line_minutes, vec![420, 193, 45]); // 90/2 × 30/7 = 192.86
        assert_eq!(cal.double_staffing_minutes, 300);
        assert_eq!(cal.total_minutes, 420 + 45 + 300 + 193);
        let avg = monthly_ordered_time(&order, ym("2026-11"), MonthConvention::Average);
        // 20 × 5/7 × 30.4375 = 434.82; 45 × 13/3 = 195
        assert_eq!(avg.line_minutes, vec![435, 195, 45]);
    }

    #[test]
    fn weekday_names_round_trip() {
        let w = Weekdays::from_names(&["sat", "mon"]).unwrap();
        assert_eq!(w.names(), vec!["mon", "sat"]);
        assert_eq!(w.bits(), 0b0100001);
        assert!(Weekdays::from_names(&["funday"]).is_none());
        assert!(Weekdays::from_names::<&str>(&[]).is_none());
        assert!(Weekdays::from_bits(128).is_none());
    }
}
