//! Visits as the API shows them (with shares and services by code), and
//! the endpoints that record phone items one by one.

use super::visit::{
    CheckInInput, CheckOutInput, Ctx, DeclinedInput, EntryInput, check_in, check_out, declined,
    entry,
};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::db::visit::{self, Visit};
use hemtid_core::db::visit_event::VisitEvent;
use hemtid_core::db::{DbConn, service};
use hemtid_core::record::Recorded;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// A visit with its shares and services by code.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitView {
    #[serde(flatten)]
    pub visit: Visit,
    /// Whether its time counts as performed.
    pub counts: bool,
    /// Whether it waits for a provider admin's approval.
    pub needs_approval: bool,
    /// Whose time it is: one client with 100, or co-habiting clients.
    pub shares: Vec<ShareView>,
    pub services: Vec<ServiceView>,
}

/// A client's share of a visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareView {
    pub client_id: String,
    pub percent: f64,
}

/// A service of a visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub code: String,
    pub client_id: String,
    pub declined: bool,
    pub entered_minutes: Option<i32>,
    /// Its share of the visit's real time, in whole minutes.
    pub minutes: i64,
}

/// Visits with their shares and services (by code).
pub(crate) fn views(c: &mut DbConn, visits: Vec<Visit>) -> Result<Vec<VisitView>, ApiError> {
    let mut attributed = Vec::with_capacity(visits.len());
    for v in visits {
        let a = visit::attribution(c, &v.id)?;
        attributed.push((v, a));
    }
    views_of(c, attributed)
}

/// [`views`] of visits whose shares and services are known.
fn views_of(
    c: &mut DbConn,
    attributed: Vec<(Visit, visit::Attribution)>,
) -> Result<Vec<VisitView>, ApiError> {
    let ids: Vec<String> = attributed
        .iter()
        .flat_map(|(_, a)| a.services.iter().map(|s| s.service_id.clone()))
        .collect();
    let codes: HashMap<String, String> = service::codes(c, &ids)?;
    Ok(attributed
        .into_iter()
        .map(|(visit, a)| VisitView {
            counts: visit.counts(),
            needs_approval: visit.needs_approval(),
            visit,
            shares: a
                .shares
                .into_iter()
                .map(|s| ShareView {
                    client_id: s.client_id,
                    percent: f64::from(s.basis_points) / 100.0,
                })
                .collect(),
            services: a
                .services
                .into_iter()
                .map(|s| ServiceView {
                    code: codes.get(&s.service_id).cloned().unwrap_or_default(),
                    client_id: s.client_id,
                    declined: s.declined,
                    entered_minutes: s.entered_minutes,
                    minutes: hemtid_core::domain::performed::minutes(i64::from(s.seconds)),
                })
                .collect(),
        })
        .collect())
}

/// The answer to a recorded item.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedView {
    /// `applied` or `duplicate`.
    #[schema(example = "applied")]
    pub result: &'static str,
    pub event: VisitEvent,
    /// The visits the event created or changed.
    pub visits: Vec<VisitView>,
}

pub(crate) fn recorded_view(c: &mut DbConn, r: Recorded) -> Result<RecordedView, ApiError> {
    Ok(match r {
        Recorded::Applied {
            event,
            visits,
            attributions,
        } => RecordedView {
            result: "applied",
            event,
            visits: views_of(c, visits.into_iter().zip(attributions).collect())?,
        },
        Recorded::Duplicate { event } => RecordedView {
            result: "duplicate",
            event,
            visits: Vec::new(),
        },
    })
}

fn respond(view: RecordedView) -> HttpResponse {
    if view.result == "applied" {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    }
}

/// `POST /api/v1/visits/check-in`: a care worker arrives at a client.
#[utoipa::path(
    post,
    path = "/api/v1/visits/check-in",
    tag = "phone",
    security(("bearer" = [])),
    request_body = CheckInInput,
    responses(
        (
            status = 201,
            description = "Applied: the visit is open until its check-out arrives (in any order).",
            body = RecordedView,
        ),
        (
            status = 200,
            description = "A duplicate of an item sent before (same `event_id`): \
            nothing changed; `visits` is empty.",
            body = RecordedView,
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn post_check_in(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<CheckInInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let view = state
        .write(move |c| {
            let ctx = Ctx::load(c, &p, now)?;
            let r = check_in(c, &ctx, &input)?;
            recorded_view(c, r)
        })
        .await?;
    Ok(respond(view))
}

/// `POST /api/v1/visits/check-out`: the care worker leaves; the services
/// performed and declined, and a journal note.
#[utoipa::path(
    post,
    path = "/api/v1/visits/check-out",
    tag = "phone",
    security(("bearer" = [])),
    request_body = CheckOutInput,
    responses(
        (
            status = 201,
            description = "Applied: the visit it closes, or an exception without a check-in.",
            body = RecordedView,
        ),
        (
            status = 200,
            description = "A duplicate of an item sent before (same `event_id`): \
            nothing changed; `visits` is empty.",
            body = RecordedView,
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn post_check_out(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<CheckOutInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let view = state
        .write(move |c| {
            let ctx = Ctx::load(c, &p, now)?;
            let r = check_out(c, &ctx, &input)?;
            recorded_view(c, r)
        })
        .await?;
    Ok(respond(view))
}

/// `POST /api/v1/visits/entries`: a whole visit registered afterwards; it
/// waits for a provider admin's approval.
#[utoipa::path(
    post,
    path = "/api/v1/visits/entries",
    tag = "phone",
    security(("bearer" = [])),
    request_body = EntryInput,
    responses(
        (
            status = 201,
            description = "Applied: the visit, waiting for approval.",
            body = RecordedView,
        ),
        (
            status = 200,
            description = "A duplicate of an item sent before (same `event_id`): \
            nothing changed; `visits` is empty.",
            body = RecordedView,
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn post_entry(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<EntryInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let view = state
        .write(move |c| {
            let ctx = Ctx::load(c, &p, now)?;
            let r = entry(c, &ctx, &input)?;
            recorded_view(c, r)
        })
        .await?;
    Ok(respond(view))
}

/// `POST /api/v1/visits/declined`: the client said no to a visit (R21).
#[utoipa::path(
    post,
    path = "/api/v1/visits/declined",
    tag = "phone",
    security(("bearer" = [])),
    request_body = DeclinedInput,
    responses(
        (status = 201, description = "Applied: the declined visit.", body = RecordedView),
        (
            status = 200,
            description = "A duplicate of an item sent before (same `event_id`): \
            nothing changed; `visits` is empty.",
            body = RecordedView,
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn post_declined(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<DeclinedInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let view = state
        .write(move |c| {
            let ctx = Ctx::load(c, &p, now)?;
            let r = declined(c, &ctx, &input)?;
            recorded_view(c, r)
        })
        .await?;
    Ok(respond(view))
}
