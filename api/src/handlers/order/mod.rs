//! Orders (beställningar) with their lines, renewals (R17) and monthly
//! ordered time (R18).
//!
//! `input` holds the body and its checks; this module the endpoints.

mod input;

pub use input::OrderInput;
use input::check_refs;

use super::{Items, check_body_id, created, id_or_new, list};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Admin, Json};
use crate::openapi::problem;
use crate::views::{OrderView, OrderedLineView, OrderedTimeView};
use actix_web::{HttpResponse, web};
use hemtid_core::db::care_order::{self};
use hemtid_core::db::{DbConn, StoreError, client};
use hemtid_core::domain::{YearMonth, monthly_ordered_time};
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

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
