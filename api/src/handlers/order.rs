//! Orders (beställningar) with their lines, renewals (R17) and monthly
//! ordered time (R18).

use super::{Items, check_body_id, created, id_or_new, list, reference};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Admin, Json};
use crate::openapi::problem;
use crate::views::{OrderView, OrderedLineView, OrderedTimeView};
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use hemtid_core::db::care_order::{self, CareOrderFields, OrderLineFields};
use hemtid_core::db::{DbConn, StoreError, client, decision, provider, service};
use hemtid_core::domain::{
    Period, Weekdays, YearMonth, monthly_ordered_time, parse_decimal_minutes, parse_hm,
};
use hemtid_core::model::AmountUnit;
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
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
    pub daily_visits: Option<i32>,
    /// Minutes per month with two staff (R20).
    #[serde(default)]
    pub double_staffing_minutes: i32,
    /// "Beställd kvantitet" as minutes per month …
    #[serde(default)]
    pub monthly_total_minutes: Option<i32>,
    /// … or as the case system prints it, `51:36` (R18).
    #[serde(default)]
    pub monthly_total: Option<String>,
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub free_text: String,
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
    pub times: i32,
    pub per: Period,
    /// Every N periods: 2 = "varannan vecka".
    #[serde(default = "one")]
    pub every: i32,
    /// `mon` … `sun`; all days when absent.
    #[serde(default)]
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
    fn validate(&self, v: &mut ValidationErrors) -> (CareOrderFields, Vec<LineToResolve>) {
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
            client_id: String::new(), // from the decision, in check_refs
            provider_id: self.provider_id.to_string(),
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
            service_id: String::new(), // resolved from the code in check_refs
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
struct LineToResolve {
    code: String,
    contents: Vec<String>,
    fields: OrderLineFields,
}

/// Resolves the decision (and so the client), the provider and the
/// services; checks the order lies inside the decision's period.
fn check_refs(
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
                if !ids.contains(&s.id) {
                    ids.push(s.id);
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

fn view(c: &mut DbConn, m: &str, id: &str) -> Result<OrderView, ApiError> {
    Ok(care_order::get_with_lines(c, m, id)?.into())
}

/// `GET /api/v1/orders/{id}`: the order with its lines.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}",
    tag = "integration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The order.")),
    responses(
        (status = 200, description = "The order.", body = OrderView),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_order(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.to_string();
    let item = state.db(move |c| view(c, &p.municipality_id, &id)).await?;
    Ok(HttpResponse::Ok().json(item))
}

/// `GET /api/v1/clients/{id}/orders`: the client's orders with their lines.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/orders",
    tag = "integration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    responses(
        (status = 200, description = "The orders.", body = Items<OrderView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn list_client_orders(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.to_string();
    let items = state
        .db(move |c| {
            let m = &p.municipality_id;
            client::get(c, m, &id)?;
            care_order::list_for_client(c, &id)?
                .into_iter()
                .map(|o| view(c, m, &o.id))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(list(items))
}

/// `POST /api/v1/orders`: an order (beställning) to a provider, under a
/// decision.
#[utoipa::path(
    post,
    path = "/api/v1/orders",
    tag = "integration",
    security(("bearer" = [])),
    request_body = OrderInput,
    responses(
        (
            status = 201,
            description = "Created; `Location` is its URL.",
            body = OrderView,
            headers(("Location" = String, description = "The new order's URL.")),
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn create_order(
    state: web::Data<AppState>,
    Admin(p): Admin,
    Json(input): Json<OrderInput>,
) -> Result<HttpResponse, ApiError> {
    let mut v = ValidationErrors::new();
    let (mut fields, lines) = input.validate(&mut v);
    let id = id_or_new(input.id);
    let item = state
        .db(move |c| {
            let m = &p.municipality_id;
            let lines = check_refs(c, m, &mut fields, lines, v)?;
            care_order::create(c, &id, &fields, None, &lines)?;
            view(c, m, &id)
        })
        .await?;
    Ok(created(format!("/api/v1/orders/{}", item.order.id), &item))
}

/// `PUT /api/v1/orders/{id}`: the whole order with its lines.
#[utoipa::path(
    put,
    path = "/api/v1/orders/{id}",
    tag = "integration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The order.")),
    request_body = OrderInput,
    responses(
        (status = 200, description = "The order as stored.", body = OrderView),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn update_order(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
    Json(input): Json<OrderInput>,
) -> Result<HttpResponse, ApiError> {
    let mut v = ValidationErrors::new();
    check_body_id(&mut v, input.id, &id);
    let (mut fields, lines) = input.validate(&mut v);
    let id = id.to_string();
    let item = state
        .db(move |c| {
            let m = &p.municipality_id;
            let existing = care_order::get(c, m, &id)?;
            let lines = check_refs(c, m, &mut fields, lines, v)?;
            if fields.client_id != existing.fields.client_id {
                return Err(ApiError::field(
                    "decision_id",
                    "client_mismatch",
                    "the decision is for another client",
                ));
            }
            care_order::update(c, m, &id, &fields, &lines)?;
            view(c, m, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(item))
}

/// `POST /api/v1/orders/{id}/renewal`: a new order replaces this one from
/// its `valid_from`; the old one ends the day before and the new one links
/// back to it, so the client's care plan and history carry over (R17).
#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/renewal",
    tag = "integration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The order renewed.")),
    request_body = OrderInput,
    responses(
        (
            status = 201,
            description = "The new order; `Location` is its URL.",
            body = OrderView,
            headers(("Location" = String, description = "The new order's URL.")),
        ),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn renew_order(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
    Json(input): Json<OrderInput>,
) -> Result<HttpResponse, ApiError> {
    let mut v = ValidationErrors::new();
    let (mut fields, lines) = input.validate(&mut v);
    let previous_id = id.to_string();
    let new_id = id_or_new(input.id);
    let item = state
        .db(move |c| {
            let m = &p.municipality_id;
            let previous = care_order::get(c, m, &previous_id)?;
            let lines = check_refs(c, m, &mut fields, lines, v)?;
            let mut v = ValidationErrors::new();
            if fields.client_id != previous.fields.client_id {
                v.add(
                    "decision_id",
                    "client_mismatch",
                    "the decision is for another client",
                );
            }
            if fields.valid_from <= previous.fields.valid_from {
                v.add(
                    "valid_from",
                    "not_after_previous",
                    "a renewal starts after the order it renews",
                );
            }
            v.into_result(())?;
            if care_order::successor(c, &previous.id)?.is_some() {
                return Err(ApiError::new(ErrorCode::AlreadyRenewed));
            }
            care_order::renew(c, &previous, &new_id, &fields, &lines).map_err(|e| match e {
                // Lost a race with another renewal of the same order.
                StoreError::Conflict(_) => ApiError::new(ErrorCode::AlreadyRenewed),
                other => other.into(),
            })?;
            view(c, m, &new_id)
        })
        .await?;
    Ok(created(format!("/api/v1/orders/{}", item.order.id), &item))
}

/// Query of `GET /api/v1/orders/{id}/ordered-time`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// `YYYY-MM`, local calendar month.
    pub month: YearMonth,
}

/// `GET /api/v1/orders/{id}/ordered-time?month=YYYY-MM`: the minutes the
/// order grants in a month, per line and in total (R18).
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/ordered-time",
    tag = "integration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The order."), MonthQuery),
    responses(
        (status = 200, description = "The month's ordered minutes.", body = OrderedTimeView),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_ordered_time(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
    query: web::Query<MonthQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.to_string();
    let month = query.month;
    let view = state
        .db(move |c| {
            let m = &p.municipality_id;
            let order = care_order::get_with_lines(c, m, &id)?;
            let convention = hemtid_core::db::municipality::get(c, m)?
                .month_convention()
                .ok_or_else(|| ApiError::internal("stored month convention is invalid"))?;
            let spec = order
                .spec()
                .ok_or_else(|| ApiError::internal("stored order line is invalid"))?;
            let time = monthly_ordered_time(&spec, month, convention);
            let lines = order
                .lines
                .iter()
                .zip(&time.line_minutes)
                .map(|(l, minutes)| OrderedLineView {
                    service_code: l.service_code.clone(),
                    minutes: *minutes,
                })
                .collect();
            Ok(OrderedTimeView {
                order_id: id,
                convention: convention.as_str(),
                total: hemtid_core::domain::format_hm(time.total_minutes),
                time,
                lines,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
