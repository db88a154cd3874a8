//! Durations as the municipal documents write them: "51:36 timmar/månad"
//! (hours:minutes, R18) and decimal hours such as "0.15 timmar/dag".
//! Durations are whole minutes; decimals are parsed exactly, never as floats.

/// Formats minutes as `h:mm`, e.g. 3096 → "51:36". Negative values get a sign.
pub fn format_hm(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let m = minutes.unsigned_abs();
    format!("{sign}{}:{:02}", m / 60, m % 60)
}

/// Parses `h:mm` (R18), e.g. "51:36" → 3096.
pub fn parse_hm(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || m.len() != 2 || !all_digits(h) || !all_digits(m) {
        return None;
    }
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    if m >= 60 {
        return None;
    }
    h.checked_mul(60)?.checked_add(m)
}

/// Parses a time of day `HH:MM` (00:00–24:00) into minutes after midnight.
pub fn parse_time_of_day(text: &str) -> Option<i32> {
    let t = text.trim();
    let (h, m) = t.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !all_digits(h) || !all_digits(m) {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Formats minutes after midnight as `HH:MM`.
pub fn format_time_of_day(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Parses a non-negative decimal number of `unit_minutes`-minute units
/// ("0.15" hours with `unit_minutes` 60 → 9) exactly. `None` when the text is
/// not a plain decimal or the result is not a whole number of minutes.
pub fn parse_decimal_minutes(text: &str, unit_minutes: i64) -> Option<i64> {
    let t = text.trim().replace(',', ".");
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t.as_str(), ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !all_digits_or_empty(int) || !all_digits_or_empty(frac) || frac.len() > 9 {
        return None;
    }
    let int: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let scale = 10i64.pow(u32::try_from(frac.len()).ok()?);
    let frac_val: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let scaled = int.checked_mul(scale)?.checked_add(frac_val)?;
    let minutes_scaled = scaled.checked_mul(unit_minutes)?;
    (minutes_scaled % scale == 0).then_some(minutes_scaled / scale)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn all_digits_or_empty(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_hours_minutes() {
        assert_eq!(format_hm(3096), "51:36");
        assert_eq!(format_hm(5), "0:05");
        assert_eq!(format_hm(-75), "-1:15");
        assert_eq!(parse_hm("51:36"), Some(3096));
        assert_eq!(parse_hm(" 0:05 "), Some(5));
        for bad in ["51:60", "51:6", ":30", "a:10", "5136", "-1:00"] {
            assert_eq!(parse_hm(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_decimal_hours_exactly() {
        assert_eq!(parse_decimal_minutes("0.2", 60), Some(12));
        assert_eq!(parse_decimal_minutes("0.15", 60), Some(9));
        assert_eq!(parse_decimal_minutes("0,3", 60), Some(18));
        assert_eq!(parse_decimal_minutes("1", 60), Some(60));
        assert_eq!(parse_decimal_minutes("45", 1), Some(45));
        // 0.01 h is 36 seconds: not a whole minute.
        assert_eq!(parse_decimal_minutes("0.01", 60), None);
        assert_eq!(parse_decimal_minutes("2.5", 1), None);
        for bad in ["", ".", "-1", "1e3", "1.2.3", "abc"] {
            assert_eq!(parse_decimal_minutes(bad, 60), None, "{bad}");
        }
    }

    #[test]
    fn parses_time_of_day() {
        assert_eq!(parse_time_of_day("07:00"), Some(420));
        assert_eq!(parse_time_of_day("22:00"), Some(1320));
        assert_eq!(parse_time_of_day("24:00"), Some(1440));
        assert_eq!(format_time_of_day(420), "07:00");
        for bad in ["7:00", "24:01", "12:60", "noon"] {
            assert_eq!(parse_time_of_day(bad), None, "{bad}");
        }
    }
}
