//! The reports as semicolon-separated files a spreadsheet opens.

use super::{FeeRow, MonthlyRow, PaymentRow};
use crate::domain::format_hm;
use crate::domain::variance::{self, Status};

/// Quotes a CSV field for a semicolon-separated file. A text a
/// spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return: a client's or a service's name typed so)
/// gets a leading apostrophe, which Excel and LibreOffice show as text;
/// numbers such as `-30` or `-1,5` stay numbers.
pub(crate) fn csv_field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_number(s);
    let s = if formula {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A signed decimal number as the reports write them (`-30`, `+1,5`, `-2:30`).
fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty()
        && digits.starts_with(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | ':'))
}

pub(super) fn csv(headings: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    // A BOM and semicolons: what Excel with Swedish settings opens as is.
    let mut out = String::from("\u{feff}");
    out.push_str(&headings.join(";"));
    out.push_str("\r\n");
    for r in rows {
        let fields: Vec<String> = r.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(";"));
        out.push_str("\r\n");
    }
    out
}

fn status_sv(s: Status) -> &'static str {
    match s {
        Status::WithinBand => "Inom toleransen",
        Status::Over => "Över",
        Status::Under => "Under",
    }
}

pub(super) fn percent(bp: Option<i64>) -> String {
    bp.map(|b| {
        let sign = if b < 0 { "-" } else { "" };
        format!("{sign}{}", variance::percent_sv(b))
    })
    .unwrap_or_default()
}

/// The monthly report as CSV, headings in Swedish, hours as h:mm.
pub fn monthly_csv(rows: &[MonthlyRow]) -> String {
    csv(
        &[
            "Brukare",
            "Utförare",
            "Handläggare",
            "Beslut",
            "Beställd tid",
            "Frånvarodagar",
            "Frånvaro avräknad",
            "Förväntad tid",
            "Utförd tid",
            "Utan biståndsbeslut",
            "Avvikelse",
            "Avvikelse %",
            "Status",
            "Inom ramtid",
            "Besök",
            "Avböjda besök",
            "Förklaring",
            "Larm",
        ],
        rows.iter().map(|r| {
            vec![
                r.client_name.clone(),
                r.provider_name.clone().unwrap_or_default(),
                r.caseworker_name.clone().unwrap_or_default(),
                if r.decision == "frame" {
                    "Ramtid"
                } else {
                    "Insatsbeslut"
                }
                .into(),
                r.ordered.clone(),
                r.absent_days.to_string(),
                format_hm(r.explained_minutes),
                format_hm(r.expected_minutes),
                r.performed.clone(),
                format_hm(r.without_decision_minutes),
                r.variance.clone(),
                percent(r.variance_basis_points),
                status_sv(r.status).into(),
                format_hm(r.frame_window_minutes),
                r.visits.to_string(),
                r.declined_visits.to_string(),
                match r.explanation_state.as_deref() {
                    Some("approved") => "Godkänd",
                    Some("rejected") => "Avslagen",
                    Some(_) => "Inskickad",
                    None => "",
                }
                .into(),
                r.alerts.join(", "),
            ]
        }),
    )
}

/// The fee report as CSV.
pub fn fees_csv(rows: &[FeeRow]) -> String {
    csv(
        &[
            "Brukare",
            "Utförare",
            "Beviljad tid",
            "Utförd tid",
            "Överskjutande tid",
        ],
        rows.iter().map(|r| {
            vec![
                r.client_name.clone(),
                r.provider_name.clone().unwrap_or_default(),
                r.granted.clone(),
                r.performed.clone(),
                r.over.clone(),
            ]
        }),
    )
}

/// The payment basis as CSV.
pub fn payment_csv(rows: &[PaymentRow]) -> String {
    csv(
        &["Utförare", "Insatsgrupp", "Utförd tid", "Inom ramtid"],
        rows.iter().map(|r| {
            vec![
                r.provider_name.clone(),
                match r.service_group.as_str() {
                    "S" => "Service (S)",
                    "O" => "Omvårdnad (O)",
                    _ => "Utan insats",
                }
                .into(),
                r.performed.clone(),
                format_hm(r.frame_window_minutes),
            ]
        }),
    )
}

#[cfg(test)]
mod csv_tests {
    use super::csv_field;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_field("+46 8 123"), "'+46 8 123");
        assert_eq!(csv_field("-cmd|' /C calc'!A0"), "'-cmd|' /C calc'!A0");
        assert_eq!(csv_field("@SUM(1)"), "'@SUM(1)");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("-30"), "-30");
        assert_eq!(csv_field("-1,5"), "-1,5");
        assert_eq!(csv_field("-2:30"), "-2:30");
        assert_eq!(csv_field("Lisa Lindqvist"), "Lisa Lindqvist");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
    }
}
