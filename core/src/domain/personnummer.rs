//! Swedish personal identity numbers (personnummer) and coordination
//! numbers (samordningsnummer, day of birth + 60).
//!
//! These are personal data: the type's `Debug` hides the number, it has no
//! `Display`, and callers must never log it or put it in a URL.

use chrono::{Datelike, NaiveDate};
use serde::{Serialize, Serializer};
use std::fmt;

/// A validated personal identity or coordination number, normalised to
/// `YYYYMMDD-NNNN` (twelve digits with the century).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonalNumber {
    normalised: String,
    kind: PersonalNumberKind,
    birth_date: NaiveDate,
}

/// Personnummer or samordningsnummer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalNumberKind {
    Personnummer,
    Samordningsnummer,
}

/// Why a personal identity number was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PersonalNumberError {
    #[error("expected YYYYMMDD-NNNN, YYYYMMDDNNNN, YYMMDD-NNNN or YYMMDD+NNNN")]
    Format,
    #[error("the date part is not a valid date (or day + 60 for a coordination number)")]
    Date,
    #[error("the check digit does not match (Luhn)")]
    CheckDigit,
    #[error("the date of birth is in the future")]
    Future,
}

impl PersonalNumberError {
    /// Stable snake_case code for API errors.
    pub fn code(self) -> &'static str {
        match self {
            PersonalNumberError::Format => "invalid_format",
            PersonalNumberError::Date => "invalid_date",
            PersonalNumberError::CheckDigit => "invalid_check_digit",
            PersonalNumberError::Future => "date_in_future",
        }
    }
}

impl PersonalNumber {
    /// Validates `input`. `today` decides the century of ten-digit forms
    /// (`+` means 100 years or older) and rejects future birth dates.
    pub fn parse(input: &str, today: NaiveDate) -> Result<PersonalNumber, PersonalNumberError> {
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let (digits, plus) = split_form(&s).ok_or(PersonalNumberError::Format)?;
        let (century, ten) = match digits.len() {
            12 => (Some(num(&digits[0..2])), &digits[2..]),
            10 => (None, digits.as_str()),
            _ => return Err(PersonalNumberError::Format),
        };
        let yy = num(&ten[0..2]);
        let mm = num(&ten[2..4]);
        let raw_day = num(&ten[4..6]);
        let (kind, dd) = if raw_day > 60 {
            (PersonalNumberKind::Samordningsnummer, raw_day - 60)
        } else {
            (PersonalNumberKind::Personnummer, raw_day)
        };
        let year = match century {
            Some(c) => i32::try_from(c * 100 + yy).map_err(|_| PersonalNumberError::Format)?,
            None => infer_year(yy, mm, dd, plus, today),
        };
        let birth_date = NaiveDate::from_ymd_opt(year, mm, dd).ok_or(PersonalNumberError::Date)?;
        if luhn_check_digit(&ten[..9]) != num(&ten[9..10]) {
            return Err(PersonalNumberError::CheckDigit);
        }
        if birth_date > today {
            return Err(PersonalNumberError::Future);
        }
        let normalised = format!("{:04}{}-{}", year, &ten[2..6], &ten[6..10]);
        Ok(PersonalNumber {
            normalised,
            kind,
            birth_date,
        })
    }

    /// The normalised form `YYYYMMDD-NNNN`. Personal data: do not log it.
    pub fn as_str(&self) -> &str {
        &self.normalised
    }

    pub fn kind(&self) -> PersonalNumberKind {
        self.kind
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }
}

impl fmt::Debug for PersonalNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonalNumber(<redacted>)")
    }
}

impl Serialize for PersonalNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.normalised)
    }
}

/// Splits off an optional separator: returns the digits and whether the
/// separator was `+` (only allowed in the ten-digit form).
fn split_form(s: &str) -> Option<(String, bool)> {
    if !s.is_ascii() {
        return None;
    }
    let (digits, plus) = match s.len() {
        13 if s.as_bytes()[8] == b'-' => (format!("{}{}", &s[..8], &s[9..]), false),
        11 if matches!(s.as_bytes()[6], b'-' | b'+') => {
            (format!("{}{}", &s[..6], &s[7..]), s.as_bytes()[6] == b'+')
        }
        10 | 12 => (s.to_string(), false),
        _ => return None,
    };
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then_some((digits, plus))
}

fn num(s: &str) -> u32 {
    s.bytes().fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
}

/// The latest year ending in `yy` whose date is not after `today`; a `+`
/// separator moves it back a hundred years.
fn infer_year(yy: u32, mm: u32, dd: u32, plus: bool, today: NaiveDate) -> i32 {
    let yy = i32::try_from(yy).unwrap_or(0);
    let mut year = today.year() - (today.year() - yy).rem_euclid(100);
    let born_later_this_year = year == today.year() && (mm, dd) > (today.month(), today.day());
    if born_later_this_year {
        year -= 100;
    }
    if plus {
        year -= 100;
    }
    year
}

/// Validates a Swedish organisation number (`NNNNNN-NNNN`, Luhn check
/// digit) and normalises it to that form.
pub fn parse_org_number(input: &str) -> Option<String> {
    let digits: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .collect();
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (luhn_check_digit(&digits[..9]) == num(&digits[9..]))
        .then(|| format!("{}-{}", &digits[..6], &digits[6..]))
}

/// The Luhn check digit of nine digits (weights 2, 1, 2, …).
fn luhn_check_digit(nine: &str) -> u32 {
    let sum: u32 = nine
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let p = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn parse(s: &str) -> Result<PersonalNumber, PersonalNumberError> {
        PersonalNumber::parse(s, today())
    }

    #[test]
    fn accepts_the_usual_forms() {
        for form in ["19121212-1212", "191212121212", " 19121212 - 1212 "] {
            let p = parse(form).unwrap();
            assert_eq!(p.as_str(), "19121212-1212", "{form}");
            assert_eq!(p.kind(), PersonalNumberKind::Personnummer);
        }
        // The short form means the latest such date: 2012, not 1912.
        for form in ["121212-1212", "1212121212"] {
            assert_eq!(parse(form).unwrap().as_str(), "20121212-1212", "{form}");
        }
    }

    #[test]
    fn plus_means_a_hundred_years_or_more() {
        assert_eq!(parse("121212+1212").unwrap().as_str(), "19121212-1212");
    }

    #[test]
    fn coordination_number_has_day_plus_sixty() {
        let p = parse("701063-2391").unwrap();
        assert_eq!(p.kind(), PersonalNumberKind::Samordningsnummer);
        assert_eq!(
            p.birth_date(),
            NaiveDate::from_ymd_opt(1970, 10, 3).unwrap()
        );
        assert_eq!(p.as_str(), "19701063-2391");
    }

    #[test]
    fn rejects_bad_numbers() {
        assert_eq!(parse("19121212-1213"), Err(PersonalNumberError::CheckDigit));
        assert_eq!(parse("19121312-1212"), Err(PersonalNumberError::Date));
        assert_eq!(parse("19120231-1212"), Err(PersonalNumberError::Date));
        assert_eq!(parse("010101+TF11"), Err(PersonalNumberError::Format));
        assert_eq!(parse("1912121-21212"), Err(PersonalNumberError::Format));
        assert_eq!(parse("19121212+1212"), Err(PersonalNumberError::Format));
        assert_eq!(parse(""), Err(PersonalNumberError::Format));
        assert_eq!(parse("19121212-121å"), Err(PersonalNumberError::Format));
        // A valid check digit but born next year.
        let future = format!("20271212-123{}", luhn_check_digit("271212123"));
        assert_eq!(parse(&future), Err(PersonalNumberError::Future));
    }

    #[test]
    fn short_form_born_later_this_year_is_a_century_ago() {
        // 26-12-24 has not happened yet on 2026-11-22: it must be 1926.
        let n = format!("261224-123{}", luhn_check_digit("261224123"));
        assert_eq!(parse(&n).unwrap().birth_date().year(), 1926);
    }

    #[test]
    fn organisation_numbers() {
        assert_eq!(
            parse_org_number("212000-0134").as_deref(),
            Some("212000-0134")
        );
        assert_eq!(
            parse_org_number("2120000134").as_deref(),
            Some("212000-0134")
        );
        assert_eq!(parse_org_number("212000-0135"), None);
        assert_eq!(parse_org_number("21200-0134"), None);
    }

    #[test]
    fn debug_hides_the_number() {
        let p = parse("19121212-1212").unwrap();
        assert!(!format!("{p:?}").contains("1212"));
    }
}
