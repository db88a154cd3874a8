//! Domain rules: pure functions, no I/O, no clock. Every function that
//! depends on "now" takes it as a parameter so tests can travel in time.

pub mod bundle;
pub mod continuity;
pub mod duration;
pub mod event;
pub mod figures;
pub mod ksi;
pub mod month;
pub mod ordered_time;
pub mod pairing;
pub mod performed;
pub mod personnummer;
pub mod punctuality;
mod ratio;
pub mod split;
pub mod variance;

pub use duration::{format_hm, parse_decimal_minutes, parse_hm, parse_time_of_day};
pub use event::{EventKind, Method, Source};
pub use month::YearMonth;
pub use ordered_time::{
    MonthConvention, MonthlyOrderedTime, OrderLineSpec, OrderSpec, Period, Weekdays,
    monthly_ordered_time,
};
pub use personnummer::{PersonalNumber, PersonalNumberError, PersonalNumberKind};

use chrono::{DateTime, NaiveDate, Utc};

/// The default time zone of Swedish municipalities.
pub const STOCKHOLM: chrono_tz::Tz = chrono_tz::Europe::Stockholm;

/// How far ahead of the server's clock a phone's or a device's event may
/// be (their clocks drift).
pub const MAX_SKEW_SECONDS: i64 = 10 * 60;
/// Older events are refused, from phones and devices alike (locked months
/// refuse earlier still, R6).
pub const MAX_AGE_DAYS: i64 = 62;

/// What recording events and counting figures need of a municipality
/// (`db::municipality::Municipality::rules` reads them from its settings).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub tz: chrono_tz::Tz,
    /// A longer pair is `too_long`.
    pub max_seconds: i64,
    /// The frame window (R9), for the figures.
    pub window: figures::FrameWindow,
}

/// The local calendar date of an instant in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: chrono_tz::Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_date_applies_the_time_zone() {
        // 23:30 UTC on 31 October 2026 is already 1 November in Stockholm (CET).
        let at = DateTime::parse_from_rfc3339("2026-10-31T23:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            local_date(at, STOCKHOLM),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        assert_eq!(
            local_date(at, chrono_tz::UTC),
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
        );
    }
}
