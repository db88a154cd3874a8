//! The CSV form of a batch of plans: one plan per row, the window in the
//! municipality's local time, a header naming the columns in any order.
//! Comma- or semicolon-separated (a Swedish spreadsheet writes
//! semicolons), UTF-8 with or without the byte-order mark a spreadsheet
//! writes. Rows are numbered as a spreadsheet numbers them: the header is
//! row 1, so a fault at `rows[5]` is on the spreadsheet's row 5.

use super::input::{MAX_PLANS, PlanInput};
use crate::validate::ValidationErrors;
use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use uuid::Uuid;

/// The columns a file may have; the first six are required.
pub const COLUMNS: [&str; 11] = [
    "planner_ref",
    "client_id",
    "date",
    "earliest_start",
    "latest_start",
    "expected_minutes",
    "services",
    "staff",
    "double_staffing",
    "time_critical",
    "tolerance_minutes",
];
const REQUIRED: usize = 6;

/// The plans of a CSV file, each with its row, and the faults of the rows
/// that could not be read (`rows[5].latest_start`, `header.colour`).
/// A file whose header is faulty gives no plans.
pub fn from_csv(bytes: &[u8], tz: Tz) -> (Vec<(usize, PlanInput)>, ValidationErrors) {
    let mut v = ValidationErrors::new();
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            v.add(
                "file",
                "not_utf8",
                format!(
                    "not UTF-8 text (byte {}); save the file as CSV UTF-8",
                    e.valid_up_to()
                ),
            );
            return (Vec::new(), v);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.contains(';') && !first.contains(',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let Some(columns) = header(&mut reader, &mut v) else {
        return (Vec::new(), v);
    };
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        if n >= MAX_PLANS {
            v.add(
                "file",
                "too_many",
                format!("at most {MAX_PLANS} plans in one file"),
            );
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let row = e.position().map_or(n + 2, |p| p.line() as usize);
                v.add(format!("rows[{row}]"), "unreadable", e.to_string());
                continue;
            }
        };
        let row = record.position().map_or(n + 2, |p| p.line() as usize);
        if record.len() != columns.len() {
            v.add(
                format!("rows[{row}]"),
                "wrong_field_count",
                format!("{} fields, the header has {}", record.len(), columns.len()),
            );
            continue;
        }
        let before = v.0.len();
        let cells = Cells {
            columns: &columns,
            record: &record,
        };
        let plan = plan(&cells, tz, &format!("rows[{row}]"), &mut v);
        if v.0.len() == before {
            out.push((row, plan));
        }
    }
    (out, v)
}

/// The header's column positions, or `None` (with the faults) when a
/// column is unknown, repeated or missing.
fn header(
    reader: &mut csv::Reader<&[u8]>,
    v: &mut ValidationErrors,
) -> Option<HashMap<String, usize>> {
    let names = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            v.add("header", "unreadable", e.to_string());
            return None;
        }
    };
    let before = v.0.len();
    let mut columns = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        if !COLUMNS.contains(&name.as_str()) {
            v.add(
                format!("header.{name}"),
                "unknown_column",
                format!("the columns are {}", COLUMNS.join(", ")),
            );
        } else if columns.insert(name.clone(), i).is_some() {
            v.add(format!("header.{name}"), "duplicate_column", "named twice");
        }
    }
    for name in &COLUMNS[..REQUIRED] {
        if !columns.contains_key(*name) {
            v.add(
                format!("header.{name}"),
                "missing_column",
                "a required column",
            );
        }
    }
    (v.0.len() == before).then_some(columns)
}

/// A row's cells by column name (empty when the column is absent).
struct Cells<'a> {
    columns: &'a HashMap<String, usize>,
    record: &'a csv::StringRecord,
}

impl<'a> Cells<'a> {
    fn get(&self, name: &str) -> &'a str {
        self.columns
            .get(name)
            .and_then(|i| self.record.get(*i))
            .unwrap_or_default()
    }
}

/// One row as a plan; its faults go to `v` (the plan is then unused).
fn plan(cells: &Cells, tz: Tz, at: &str, v: &mut ValidationErrors) -> PlanInput {
    let cell = |name: &str| cells.get(name);
    let f = |name: &str| format!("{at}.{name}");
    let client_id = uuid(cell("client_id"), &f("client_id"), v);
    let date = NaiveDate::parse_from_str(cell("date"), "%Y-%m-%d")
        .map_err(|_| v.add(f("date"), "invalid_date", "YYYY-MM-DD"))
        .ok();
    let earliest = time(cell("earliest_start"), &f("earliest_start"), v);
    let latest = time(cell("latest_start"), &f("latest_start"), v);
    let (mut earliest_start, mut latest_start) = (DateTime::UNIX_EPOCH, DateTime::UNIX_EPOCH);
    if let (Some(date), Some(e), Some(l)) = (date, earliest, latest) {
        // A latest start before the earliest is on the next day: a
        // window across midnight (23:30 to 00:15).
        let next = if l < e { date + Days::new(1) } else { date };
        earliest_start = instant(date, e, tz, &f("earliest_start"), v);
        latest_start = instant(next, l, tz, &f("latest_start"), v);
    }
    let staff = cell("staff")
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(j, s)| uuid(s, &format!("{at}.staff[{j}]"), v))
        .collect();
    PlanInput {
        planner_ref: cell("planner_ref").to_string(),
        client_id,
        earliest_start,
        latest_start,
        expected_minutes: number(cell("expected_minutes"), &f("expected_minutes"), v).unwrap_or(0),
        services: cell("services")
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        staff,
        double_staffing: boolean(cell("double_staffing"), &f("double_staffing"), v),
        time_critical: boolean(cell("time_critical"), &f("time_critical"), v),
        tolerance_minutes: match cell("tolerance_minutes") {
            "" => None,
            t => number(t, &f("tolerance_minutes"), v),
        },
    }
}

fn uuid(text: &str, field: &str, v: &mut ValidationErrors) -> Uuid {
    Uuid::parse_str(text).unwrap_or_else(|_| {
        v.add(field, "invalid_uuid", "a UUID, as hemtid's API gives it");
        Uuid::nil()
    })
}

fn time(text: &str, field: &str, v: &mut ValidationErrors) -> Option<NaiveTime> {
    let t = NaiveTime::parse_from_str(text, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
        .ok();
    if t.is_none() {
        v.add(field, "invalid_time", "local time, HH:MM");
    }
    t
}

/// The instant of a local day and time. A time the clocks skip (02:30 on
/// the last Sunday of March) is a fault; one they pass twice (02:30 on
/// the last Sunday of October) is its first.
fn instant(
    date: NaiveDate,
    time: NaiveTime,
    tz: Tz,
    field: &str,
    v: &mut ValidationErrors,
) -> DateTime<Utc> {
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            v.add(
                field,
                "nonexistent_local_time",
                "the clocks skip this time on this day",
            );
            DateTime::UNIX_EPOCH
        }
    }
}

fn number(text: &str, field: &str, v: &mut ValidationErrors) -> Option<i32> {
    let n = text.parse().ok();
    if n.is_none() {
        v.add(field, "invalid_number", "a whole number of minutes");
    }
    n
}

fn boolean(text: &str, field: &str, v: &mut ValidationErrors) -> bool {
    match text.to_lowercase().as_str() {
        "" | "0" | "false" | "nej" | "no" => false,
        "1" | "true" | "ja" | "yes" | "x" => true,
        _ => {
            v.add(field, "invalid_boolean", "ja/nej, true/false or 1/0");
            false
        }
    }
}
