//! A local calendar month ("2026-10"). Months are local to the
//! municipality: the time zone is applied when instants are mapped to days.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A calendar month, e.g. `2026-10`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

impl YearMonth {
    /// `None` unless `month` is 1–12 and the year is within 1900–2200
    /// (the API's dates; a month lock for 9999-12 is a typo).
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        ((1..=12).contains(&month) && (1900..=2200).contains(&year))
            .then_some(YearMonth { year, month })
    }

    /// The month a date falls in.
    pub fn of(date: NaiveDate) -> YearMonth {
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// The first day of the month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The following month.
    pub fn next(self) -> YearMonth {
        if self.month == 12 {
            YearMonth {
                year: self.year + 1,
                month: 1,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month before.
    pub fn prev(self) -> YearMonth {
        if self.month == 1 {
            YearMonth {
                year: self.year - 1,
                month: 12,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month in Swedish, as a caseworker reads it: "november 2026".
    pub fn swedish(self) -> String {
        const NAMES: [&str; 12] = [
            "januari",
            "februari",
            "mars",
            "april",
            "maj",
            "juni",
            "juli",
            "augusti",
            "september",
            "oktober",
            "november",
            "december",
        ];
        let name = NAMES
            .get(usize::try_from(self.month).unwrap_or(1).saturating_sub(1))
            .copied()
            .unwrap_or("");
        format!("{name} {}", self.year)
    }

    /// The last day of the month.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MAX)
    }

    /// Number of days in the month (28–31).
    pub fn days(self) -> u32 {
        self.last_day().day()
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The text was not a month written `YYYY-MM`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("expected a month written YYYY-MM")]
pub struct InvalidMonth;

impl FromStr for YearMonth {
    type Err = InvalidMonth;
    fn from_str(s: &str) -> Result<YearMonth, InvalidMonth> {
        let (y, m) = s.trim().split_once('-').ok_or(InvalidMonth)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(InvalidMonth);
        }
        let year = y.parse().map_err(|_| InvalidMonth)?;
        let month = m.parse().map_err(|_| InvalidMonth)?;
        YearMonth::new(year, month).ok_or(InvalidMonth)
    }
}

impl Serialize for YearMonth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<YearMonth, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// In the API contract a month is the string it is serialised as, not the
/// struct it is in memory.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for YearMonth {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$"))
            .description(Some(
                "A local calendar month, `YYYY-MM`, from 1900-01 to 2200-12.",
            ))
            .examples(["2026-11"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for YearMonth {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_its_days() {
        let feb28: YearMonth = "2028-02".parse().unwrap();
        assert_eq!(feb28.days(), 29);
        assert_eq!("2026-02".parse::<YearMonth>().unwrap().days(), 28);
        assert_eq!(
            "2026-12".parse::<YearMonth>().unwrap().next().to_string(),
            "2027-01"
        );
        assert_eq!(
            feb28.last_day(),
            NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()
        );
    }

    #[test]
    fn rejects_bad_months() {
        for bad in ["2026-13", "2026-00", "26-01", "2026/01", "2026-1", ""] {
            assert_eq!(bad.parse::<YearMonth>(), Err(InvalidMonth), "{bad}");
        }
    }
}
