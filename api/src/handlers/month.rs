//! A client's month: ordered against performed minutes per service.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Principal;
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::db::{access, client_month, municipality, service};
use hemtid_core::domain::performed::minutes;
use hemtid_core::domain::{YearMonth, format_hm, local_date};
use hemtid_core::model::Role;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;
use uuid::Uuid;

/// `GET /api/v1/clients/{id}/months/{month}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthView {
    pub client_id: String,
    pub month: YearMonth,
    pub ordered_minutes: i64,
    pub performed_minutes: i64,
    /// Performed minus ordered: positive is over, negative under.
    pub variance_minutes: i64,
    /// The same figures as h:mm.
    pub ordered: String,
    pub performed: String,
    pub services: Vec<ServiceMonth>,
    /// Performed time of visits checked out without a service.
    pub unassigned_minutes: i64,
    pub counted_visits: usize,
    pub open_visits: usize,
    pub exception_visits: usize,
    pub awaiting_approval: usize,
    pub declined_visits: usize,
}

/// One service's month.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceMonth {
    pub code: String,
    pub name: String,
    pub ordered_minutes: i64,
    pub performed_minutes: i64,
}

/// `GET /api/v1/clients/{id}/months/{month}`: ordered against performed.
///
/// Staff and provider admins see their provider's part; caseworkers, fee
/// administrators and admins see the whole client.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/months/{month}",
    tag = "phone",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The client."),
        ("month" = YearMonth, Path, description = "The local month, `YYYY-MM`."),
    ),
    responses(
        (status = 200, description = "The month.", body = MonthView),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_client_month(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(Uuid, YearMonth)>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, month) = path.into_inner();
    let now = state.clock.now();
    let view = state
        .db(move |c| {
            let m = municipality::get(c, &p.municipality_id)?;
            let tz = m
                .tz()
                .ok_or_else(|| ApiError::internal("invalid stored time zone"))?;
            let id = client_id.to_string();
            access::visible_client(c, &p.scope(), &id, local_date(now, tz))?;
            let provider = match p.role {
                Role::Staff | Role::ProviderAdmin => Some(p.provider()?.to_string()),
                _ => None,
            };
            let cm = client_month::read(c, &m, &id, provider.as_deref(), month)?;
            let catalogue: BTreeMap<String, (String, String)> = service::list(c, &m.id)?
                .into_iter()
                .map(|s| (s.id.into_string(), (s.fields.code, s.fields.name)))
                .collect();
            let ids: BTreeSet<&String> = cm
                .ordered_by_service
                .keys()
                .chain(cm.performed.by_service.keys())
                .collect();
            let mut services: Vec<ServiceMonth> = ids
                .into_iter()
                .map(|sid| {
                    let (code, name) = catalogue.get(sid).cloned().unwrap_or_default();
                    ServiceMonth {
                        code,
                        name,
                        ordered_minutes: cm.ordered_by_service.get(sid).copied().unwrap_or(0),
                        performed_minutes: minutes(
                            cm.performed.by_service.get(sid).copied().unwrap_or(0),
                        ),
                    }
                })
                .collect();
            services.sort_by(|a, b| a.code.cmp(&b.code));
            let performed = minutes(cm.performed.total);
            Ok(MonthView {
                client_id: id,
                month,
                ordered_minutes: cm.ordered_minutes,
                performed_minutes: performed,
                variance_minutes: performed - cm.ordered_minutes,
                ordered: format_hm(cm.ordered_minutes),
                performed: format_hm(performed),
                services,
                unassigned_minutes: minutes(cm.performed.unassigned),
                counted_visits: cm.counted_visits,
                open_visits: cm.open_visits,
                exception_visits: cm.exception_visits,
                awaiting_approval: cm.awaiting_approval,
                declined_visits: cm.declined_visits,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
