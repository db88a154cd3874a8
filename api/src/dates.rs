//! Dates at the API's edge: `YYYY-MM-DD` from 1900-01-01 to 2200-12-31.
//! A date outside (`0000-01-01`, `+262142-12-31`) is a typo or an attack,
//! never a client's order or absence: it is refused with `out_of_range`
//! and its field path. The document gives these fields the [`Day`]
//! schema, which carries the pattern.

use chrono::NaiveDate;
use serde::de::{Deserialize, Deserializer, Error};
use std::borrow::Cow;

/// The first and the last date the API takes.
pub const FIRST: (i32, u32, u32) = (1900, 1, 1);
pub const LAST: (i32, u32, u32) = (2200, 12, 31);

/// The schema of a bounded date (used as `value_type`).
pub struct Day;

impl utoipa::PartialSchema for Day {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some(
                "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            ))
            .description(Some("A date, `YYYY-MM-DD`, from 1900-01-01 to 2200-12-31."))
            .into()
    }
}

impl utoipa::ToSchema for Day {}

/// Whether `d` is within the range.
pub fn in_range(d: NaiveDate) -> bool {
    let at = |(y, m, day): (i32, u32, u32)| NaiveDate::from_ymd_opt(y, m, day);
    at(FIRST).is_some_and(|f| d >= f) && at(LAST).is_some_and(|l| d <= l)
}

/// Parses `YYYY-MM-DD` within the range.
pub fn parse(s: &str) -> Result<NaiveDate, String> {
    let d = (s.len() == 10)
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| format!("invalid value: `{s}`, expected a date YYYY-MM-DD"))?;
    if in_range(d) {
        Ok(d)
    } else {
        Err(format!(
            "out of range: `{s}`, expected a date from 1900-01-01 to 2200-12-31"
        ))
    }
}

/// `#[serde(deserialize_with = "crate::dates::day")]`.
pub fn day<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s: Cow<'de, str> = Deserialize::deserialize(d)?;
    parse(&s).map_err(D::Error::custom)
}

/// `#[serde(default, deserialize_with = "crate::dates::opt_day")]`.
pub fn opt_day<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let s: Option<Cow<'de, str>> = Deserialize::deserialize(d)?;
    s.map(|s| parse(&s).map_err(D::Error::custom)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_bounded_and_strict() {
        assert!(parse("1900-01-01").is_ok());
        assert!(parse("2200-12-31").is_ok());
        assert!(parse("1899-12-31").unwrap_err().starts_with("out of range"));
        assert!(parse("2201-01-01").unwrap_err().starts_with("out of range"));
        assert!(parse("0000-01-01").unwrap_err().starts_with("out of range"));
        assert!(parse("+262142-12-31").is_err());
        assert!(parse("2026-02-30").is_err());
        assert!(parse("2026-1-5").is_err());
    }
}
