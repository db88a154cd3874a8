//! The body of an order and its lines, validated and resolved against the
//! municipality's clients, providers, decisions and services.

use super::super::reference;
use crate::error::ApiError;
use chrono::NaiveDate;
use hemtid_core::db::care_order::{CareOrderFields, OrderLineFields};
use hemtid_core::db::{DbConn, decision, provider, service};
use hemtid_core::domain::{Period, Weekdays, parse_decimal_minutes, parse_hm};
use hemtid_core::model::{AmountUnit, ClientId};
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The most minutes a month can hold (31 days), per person.
const MONTH_MINUTES: i64 = 31 * 24 * 60;

/// Body of `POST /api/v1/orders`, `PUT /api/v1/orders/{id}` and
/// `POST /api/v1/orders/{id}/renewal`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    #[serde(default)]
    pub id: Option<Uuid>,
    pub decision_id: Uuid,
    pub provider_id: Uuid,
    /// Beställningsdatum.
    #[serde(deserialize_with = "crate::dates::day")]
    #[schema(value_type = crate::dates::Day)]
    pub ordered_on: NaiveDate,
    #[serde(deserialize_with = "crate::dates::day")]
    #[schema(value_type = crate::dates::Day)]
    pub valid_from: NaiveDate,
    /// Last valid day, inclusive; open-ended when absent.
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[schema(value_type = Option<crate::dates::Day>)]
    pub valid_to: Option<NaiveDate>,
    /// Visits per day (R8).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 30)]
    pub daily_visits: Option<i32>,
    /// Minutes per month with two staff (R20), at most a 31-day month.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 44640)]
    pub double_staffing_minutes: i32,
    /// "Beställd kvantitet" as minutes per month …
    #[serde(default)]
    #[schema(minimum = 0, maximum = 89280)]
    pub monthly_total_minutes: Option<i32>,
    /// … or as the case system prints it, `51:36` (R18); one of the two,
    /// at most 1488:00.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{1,4}:[0-5][0-9]$")]
    pub monthly_total: Option<String>,
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub free_text: String,
    #[schema(max_items = 100)]
    pub lines: Vec<LineInput>,
}

/// A decimal amount, as a JSON string ("0.2") or number (0.2).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Amount {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
}

/// A day of the week in an order line's `weekdays` (documents the names
/// the line takes; they are read as text).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum WeekdayName {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// One order line, e.g. `{"service_code": "O-Tillsyn", "amount": "0.2",
/// "unit": "hours", "per": "day"}` for "0.2 timmar/dag, alla dagar".
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub service_code: String,
    /// Time per occurrence, in `unit`.
    pub amount: Amount,
    pub unit: AmountUnit,
    /// Occurrences per period.
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 100)]
    pub times: i32,
    pub per: Period,
    /// Every N periods: 2 = "varannan vecka".
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 52)]
    pub every: i32,
    /// `mon` … `sun`; all days when absent.
    #[serde(default)]
    #[schema(value_type = Option<Vec<WeekdayName>>, min_items = 1)]
    pub weekdays: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::texts::up_to::<2000, _>")]
    #[schema(max_length = 2000)]
    pub note: String,
    /// For a care bundle (omvårdnadspaket): the codes of the personal-care
    /// services it covers, at least three (R19). Empty for other services.
    #[serde(default)]
    pub contents: Vec<String>,
}

fn one() -> i32 {
    1
}

impl OrderInput {
    /// Checks fields that need no database; returns the order and its
    /// lines with service codes still to resolve.
    pub(super) fn validate(
        &self,
        v: &mut ValidationErrors,
    ) -> (CareOrderFields, Vec<LineToResolve>) {
        if self.valid_to.is_some_and(|to| to < self.valid_from) {
            v.add(
                "valid_to",
                "invalid_period",
                "the order must end on or after valid_from",
            );
        }
        if let Some(n) = self.daily_visits {
            v.range("daily_visits", n.into(), 1, 30);
        }
        v.range(
            "double_staffing_minutes",
            self.double_staffing_minutes.into(),
            0,
            MONTH_MINUTES,
        );
        let total = match (self.monthly_total_minutes, self.monthly_total.as_deref()) {
            (Some(_), Some(_)) => {
                v.add(
                    "monthly_total",
                    "ambiguous",
                    "give monthly_total or monthly_total_minutes, not both",
                );
                None
            }
            (Some(m), None) => Some(i64::from(m)),
            (None, Some(text)) => parse_hm(text).or_else(|| {
                v.add(
                    "monthly_total",
                    "invalid_duration",
                    "expected hours:minutes, e.g. 51:36",
                );
                None
            }),
            (None, None) => None,
        };
        if let Some(t) = total {
            let field = if self.monthly_total.is_some() {
                "monthly_total"
            } else {
                "monthly_total_minutes"
            };
            v.range(field, t, 0, 2 * MONTH_MINUTES);
        }
        if self.free_text.chars().count() > 4000 {
            v.add("free_text", "too_long", "at most 4000 characters");
        }
        if self.lines.len() > 100 {
            v.add("lines", "too_many", "at most 100 lines");
        }
        let lines = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| LineToResolve {
                code: l.service_code.trim().to_string(),
                contents: l.contents.iter().map(|c| c.trim().to_string()).collect(),
                fields: l.validate(v, i),
            })
            .collect();
        let fields = CareOrderFields {
            decision_id: self.decision_id.to_string(),
            client_id: ClientId::default(), // from the decision, in check_refs
            provider_id: self.provider_id.to_string().into(),
            ordered_on: self.ordered_on,
            valid_from: self.valid_from,
            valid_to: self.valid_to,
            daily_visits: self.daily_visits,
            double_staffing_minutes: self.double_staffing_minutes,
            monthly_total_minutes: total.and_then(|t| i32::try_from(t).ok()),
            free_text: self.free_text.trim().to_string(),
        };
        (fields, lines)
    }
}

impl LineInput {
    fn validate(&self, v: &mut ValidationErrors, i: usize) -> OrderLineFields {
        let at = |f: &str| format!("lines[{i}].{f}");
        let text = match &self.amount {
            Amount::Text(t) => t.clone(),
            Amount::Number(n) => n.to_string(),
        };
        let unit_minutes = match self.unit {
            AmountUnit::Minutes => 1,
            AmountUnit::Hours => 60,
        };
        let minutes = parse_decimal_minutes(&text, unit_minutes).unwrap_or_else(|| {
            v.add(
                at("amount"),
                "invalid_amount",
                "a positive decimal giving whole minutes, e.g. 0.2 hours or 45 minutes",
            );
            0
        });
        if minutes == 0 && !v.0.iter().any(|e| e.field == at("amount")) {
            v.add(at("amount"), "invalid_amount", "must be more than zero");
        }
        v.range(&at("amount"), minutes, 0, 24 * 60);
        v.range(&at("times"), self.times.into(), 1, 100);
        v.range(&at("every"), self.every.into(), 1, 52);
        let weekdays = match &self.weekdays {
            None => Weekdays::ALL,
            Some(names) => Weekdays::from_names(names).unwrap_or_else(|| {
                v.add(
                    at("weekdays"),
                    "invalid_weekdays",
                    "one or more of mon, tue, wed, thu, fri, sat, sun",
                );
                Weekdays::ALL
            }),
        };
        if self.note.chars().count() > 1000 {
            v.add(at("note"), "too_long", "at most 1000 characters");
        }
        OrderLineFields {
            service_id: String::new().into(), // resolved from the code in check_refs
            minutes_per_occurrence: i32::try_from(minutes).unwrap_or(0),
            amount_unit: self.unit.as_str().to_string(),
            times: self.times,
            period: self.per.as_str().to_string(),
            every: self.every,
            weekdays: weekdays.bits(),
            note: self.note.trim().to_string(),
            bundle_contents: String::new(), // resolved in check_refs
        }
    }
}

/// A line whose service and bundle contents are still codes.
pub(super) struct LineToResolve {
    code: String,
    contents: Vec<String>,
    fields: OrderLineFields,
}

/// Resolves the decision (and so the client), the provider and the
/// services; checks the order lies inside the decision's period.
pub(super) fn check_refs(
    c: &mut DbConn,
    m: &str,
    fields: &mut CareOrderFields,
    lines: Vec<LineToResolve>,
    mut v: ValidationErrors,
) -> Result<Vec<OrderLineFields>, ApiError> {
    if let Some(d) = reference(
        &mut v,
        "decision_id",
        decision::get(c, m, &fields.decision_id),
    )? {
        fields.client_id = d.fields.client_id;
        if fields.valid_from < d.fields.valid_from {
            v.add(
                "valid_from",
                "outside_decision",
                "the order starts before its decision",
            );
        }
        if let Some(end) = d.fields.valid_to
            && fields.valid_to.is_none_or(|to| to > end)
        {
            v.add(
                "valid_to",
                "outside_decision",
                "the order must end when its decision ends, or earlier",
            );
        }
    }
    reference(
        &mut v,
        "provider_id",
        provider::get(c, m, &fields.provider_id),
    )?;
    let mut resolved = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        let LineToResolve {
            code,
            contents,
            fields: mut line,
        } = l;
        match service::find_by_code(c, m, &code)? {
            Some(s) if s.fields.active => {
                line.bundle_contents =
                    bundle_contents(c, m, &mut v, i, s.fields.care_bundle, &contents)?;
                line.service_id = s.id;
            }
            Some(_) => v.add(
                format!("lines[{i}].service_code"),
                "inactive_service",
                "the service is no longer offered",
            ),
            None => v.add(
                format!("lines[{i}].service_code"),
                "unknown_service",
                "no such service in the catalogue",
            ),
        }
        resolved.push(line);
    }
    v.into_result(resolved).map_err(ApiError::from)
}

/// R19: a care bundle's line names at least three personal-care services
/// it covers (active, of group `O`, not bundles themselves); other lines
/// name none. Returns their ids, comma-separated.
fn bundle_contents(
    c: &mut DbConn,
    m: &str,
    v: &mut ValidationErrors,
    i: usize,
    is_bundle: bool,
    codes: &[String],
) -> Result<String, ApiError> {
    let field = format!("lines[{i}].contents");
    if !is_bundle {
        if !codes.is_empty() {
            v.add(
                field,
                "not_a_care_bundle",
                "only a care bundle's line names what it covers",
            );
        }
        return Ok(String::new());
    }
    let mut ids: Vec<String> = Vec::new();
    for (j, code) in codes.iter().enumerate() {
        match service::find_by_code(c, m, code)? {
            Some(s)
                if s.fields.active && s.fields.service_group == "O" && !s.fields.care_bundle =>
            {
                if !ids.iter().any(|id| s.id == *id) {
                    ids.push(s.id.to_string());
                }
            }
            _ => v.add(
                format!("{field}[{j}]"),
                "not_personal_care",
                "an active personal-care service (group O) of the catalogue, not a bundle",
            ),
        }
    }
    if ids.len() < hemtid_core::domain::bundle::MIN_CONTENTS {
        v.add(
            field,
            "care_bundle_too_small",
            format!(
                "a care bundle (omvårdnadspaket) covers at least {} personal-care services done in the same visit (R19)",
                hemtid_core::domain::bundle::MIN_CONTENTS
            ),
        );
    }
    Ok(ids.join(","))
}
