//! The signed-in care worker's day: today's clients and own visits.

use super::visit::{VisitView, views};
use super::{Items, list};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Principal;
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use hemtid_core::db::care_order;
use hemtid_core::db::{access, client_month, municipality, visit};
use hemtid_core::domain::performed::minutes;
use hemtid_core::domain::{YearMonth, format_hm, local_date};
use hemtid_core::model::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// A client on today's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct TodayClient {
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    pub street_address: String,
    pub postal_code: String,
    pub city: String,
    pub phone: Option<String>,
    pub order: TodayOrder,
    pub month: TodayMonth,
    /// Whether the client has a care plan at this provider: an approved
    /// version, also while a new one is being written (R10).
    pub care_plan_exists: bool,
}

/// What the order says.
#[derive(Debug, Serialize, ToSchema)]
pub struct TodayOrder {
    pub id: String,
    /// `frame` or `per_service`.
    pub decision_kind: String,
    pub daily_visits: Option<i32>,
    pub double_staffing_minutes: i32,
    pub services: Vec<TodayService>,
    pub free_text: String,
}

/// A service of the order with its standard minutes.
#[derive(Debug, Serialize, ToSchema)]
pub struct TodayService {
    pub code: String,
    pub name: String,
    pub standard_minutes: i32,
}

/// This month so far, at this provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct TodayMonth {
    pub month: YearMonth,
    pub ordered_minutes: i64,
    pub performed_minutes: i64,
    /// Ordered minus performed; negative when over.
    pub left_minutes: i64,
    /// `left_minutes` as h:mm.
    pub left: String,
}

/// `GET /api/v1/me/clients`: clients with an order at the staff member's
/// provider valid today.
#[utoipa::path(
    get,
    path = "/api/v1/me/clients",
    tag = "phone",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Today's clients.", body = Items<TodayClient>),
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn my_clients(
    state: web::Data<AppState>,
    p: Principal,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Staff])?;
    let now = state.clock.now();
    let items = state
        .db(move |c| {
            let provider = p.provider()?.to_string();
            let m = municipality::get(c, &p.municipality_id)?;
            let tz = m
                .tz()
                .ok_or_else(|| ApiError::internal("invalid stored time zone"))?;
            let today = local_date(now, tz);
            let month = YearMonth::of(today);
            let standard: BTreeMap<String, i32> =
                hemtid_core::db::service::list(c, &p.municipality_id)?
                    .into_iter()
                    .map(|s| (s.id.into_string(), s.fields.standard_minutes))
                    .collect();
            // The month's ordered and performed time of every client in
            // two reads, not a client's whole month each (the provider may
            // have hundreds of clients).
            let ordered = client_month::ordered_for_provider(c, &m, &provider, month)?;
            let performed = hemtid_core::db::figure::provider_month_seconds(c, &provider, month)?;
            let clients = access::clients_with_active_order(c, &provider, today)?;
            let planned = hemtid_core::db::care_plan::present_at(c, &provider)?;
            let order_ids: Vec<&str> = clients.iter().map(|(_, o)| o.id.as_str()).collect();
            let mut lines = care_order::line_services(c, &order_ids)?;
            let decision_ids: Vec<&str> = clients
                .iter()
                .map(|(_, o)| o.fields.decision_id.as_str())
                .collect();
            let kinds = hemtid_core::db::decision::kinds(c, &decision_ids)?;
            let mut out = Vec::with_capacity(clients.len());
            for (client, order) in clients {
                let decision_kind = kinds
                    .get(&order.fields.decision_id)
                    .cloned()
                    .ok_or_else(|| ApiError::internal("an order without its decision"))?;
                let mut services: Vec<TodayService> = Vec::new();
                for (service_id, code, name) in lines.remove(&order.id).unwrap_or_default() {
                    if !services.iter().any(|s| s.code == code) {
                        services.push(TodayService {
                            standard_minutes: standard.get(&service_id).copied().unwrap_or(0),
                            code,
                            name,
                        });
                    }
                }
                let ordered_minutes = ordered.get(client.id.as_str()).map_or(0, |o| o.minutes);
                let performed = minutes(performed.get(client.id.as_str()).copied().unwrap_or(0));
                let left = ordered_minutes - performed;
                let care_plan_exists = planned.contains(client.id.as_str());
                let f = client.fields;
                out.push(TodayClient {
                    id: client.id.to_string(),
                    given_name: f.given_name,
                    family_name: f.family_name,
                    street_address: f.street_address,
                    postal_code: f.postal_code,
                    city: f.city,
                    phone: f.phone,
                    order: TodayOrder {
                        id: order.id,
                        decision_kind,
                        daily_visits: order.fields.daily_visits,
                        double_staffing_minutes: order.fields.double_staffing_minutes,
                        services,
                        free_text: order.fields.free_text,
                    },
                    month: TodayMonth {
                        month,
                        ordered_minutes,
                        performed_minutes: performed,
                        left_minutes: left,
                        left: format_hm(left),
                    },
                    care_plan_exists,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(list(items))
}

/// Query of `GET /api/v1/me/visits`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DateQuery {
    /// Local date; today when absent.
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[param(value_type = Option<crate::dates::Day>)]
    pub date: Option<NaiveDate>,
}

/// `GET /api/v1/me/visits?date=`: the staff member's visits of a day.
#[utoipa::path(
    get,
    path = "/api/v1/me/visits",
    tag = "phone",
    security(("bearer" = [])),
    params(DateQuery),
    responses(
        (status = 200, description = "The visits.", body = Items<VisitView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn my_visits(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<DateQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Staff])?;
    let date = q.date;
    let now = state.clock.now();
    let items: Vec<VisitView> = state
        .db(move |c| {
            let m = municipality::get(c, &p.municipality_id)?;
            let tz = m
                .tz()
                .ok_or_else(|| ApiError::internal("invalid stored time zone"))?;
            let day = date.unwrap_or_else(|| local_date(now, tz));
            let visits = visit::for_staff(c, &p.subject, day, day)?;
            views(c, visits)
        })
        .await?;
    Ok(list(items))
}
