//! The provider admin's notices (a lock's battery), dead letters with
//! replay, and conflicting re-sends of a device's events.

use super::device::provider_admin;
use super::{Items, list};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::Principal;
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::contract::{DeadLetterBody, ProviderNoticeBody};
use hemtid_core::db::dead_letter;
use hemtid_core::db::provider_notice;
use hemtid_core::ingest::{self, Outcome};
use hemtid_core::model::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Query of `GET /api/v1/provider/notices`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    /// Resolved notices too.
    #[serde(default)]
    pub all: bool,
}

/// `GET /api/v1/provider/notices`: the provider's notices about its
/// devices (a low battery), open ones first.
#[utoipa::path(
    get,
    path = "/api/v1/provider/notices",
    tag = "devices",
    security(("bearer" = [])),
    params(NoticeQuery),
    responses(
        (status = 200, description = "Open ones first, newest first.", body = Items<ProviderNoticeBody>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_notices(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let all = q.all;
    let items = state
        .db(move |c| Ok(provider_notice::list(c, &provider, all)?))
        .await?;
    Ok(list(items.iter().map(ProviderNoticeBody::from).collect()))
}

/// A dead letter with its payload as text.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterView {
    #[serde(flatten)]
    pub letter: DeadLetterBody,
    /// The raw payload, lossily as UTF-8: its first 4 KiB at most
    /// (`payload_bytes` is its whole length).
    pub payload: String,
    /// Whether only the first 4 KiB are kept (it cannot be replayed).
    pub truncated: bool,
    /// For `conflicting_duplicate`: the message stored first, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_payload: Option<String>,
}

impl From<dead_letter::DeadLetter> for DeadLetterView {
    fn from(l: dead_letter::DeadLetter) -> Self {
        DeadLetterView {
            payload: String::from_utf8_lossy(&l.payload).into_owned(),
            truncated: l.truncated(),
            stored_payload: l
                .stored_payload
                .as_deref()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            letter: DeadLetterBody::from(&l),
        }
    }
}

/// Query of `GET /api/v1/dead-letters`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    #[serde(default)]
    pub device_id: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/dead-letters`: newest first (admin).
#[utoipa::path(
    get,
    path = "/api/v1/dead-letters",
    tag = "devices",
    security(("bearer" = [])),
    params(DeadLetterQuery),
    responses(
        (status = 200, description = "Newest first.", body = Items<DeadLetterView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_dead_letters(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<DeadLetterQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Admin])?;
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    // The admin's own municipality's dead letters only.
    let m = p.municipality_id.clone();
    let items = state
        .db(move |c| Ok(dead_letter::list(c, &m, q.device_id.as_deref(), limit)?))
        .await?;
    Ok(list(items.into_iter().map(DeadLetterView::from).collect()))
}

/// What a replay did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayResult {
    /// `stored` or `duplicate`.
    pub result: &'static str,
    pub event_id: String,
}

/// `POST /api/v1/dead-letters/{id}/replay`: tries it again (admin).
#[utoipa::path(
    post,
    path = "/api/v1/dead-letters/{id}/replay",
    tag = "devices",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The dead letter.")),
    responses(
        (status = 200, description = "Stored now, or a duplicate of what is stored.", body = ReplayResult),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn replay_dead_letter(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Admin])?;
    let at = state.clock.now().naive_utc();
    let m = p.municipality_id.clone();
    let result = state
        .db(move |c| {
            // Another municipality's dead letter is not found.
            let letter = dead_letter::get_of(c, &m, &id.to_string())?;
            if letter.truncated() {
                return Err(ApiError::with_detail(
                    ErrorCode::ReplayRejected,
                    "only the first 4 KiB of this payload were kept: it cannot be replayed",
                ));
            }
            if letter.reason == "conflicting_duplicate" {
                return Err(ApiError::with_detail(
                    ErrorCode::ReplayRejected,
                    "a conflicting re-send is evidence: the event stored first stands",
                ));
            }
            Ok(ingest::replay(c, &letter.id, at)?)
        })
        .await?;
    let body = match result {
        Outcome::Stored { event_id, .. } => {
            serde_json::json!({"result": "stored", "event_id": event_id})
        }
        Outcome::Duplicate { event_id, .. } => {
            serde_json::json!({"result": "duplicate", "event_id": event_id})
        }
        Outcome::Conflict { .. } => {
            return Err(ApiError::with_detail(
                ErrorCode::ReplayRejected,
                "conflicting_duplicate: this event id was stored before with other content",
            ));
        }
        Outcome::Dead { rejection, .. } => {
            return Err(ApiError::with_detail(
                ErrorCode::ReplayRejected,
                format!("{}: {}", rejection.reason, rejection.detail),
            ));
        }
    };
    Ok(HttpResponse::Ok().json(body))
}

/// Query of `GET /api/v1/provider/device-conflicts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/provider/device-conflicts`: events the provider's devices
/// sent again with the same event id and other content (a firmware bug, a
/// clock that jumped, or someone else's traffic), newest first, each with
/// both versions. The event stored first stands.
#[utoipa::path(
    get,
    path = "/api/v1/provider/device-conflicts",
    tag = "devices",
    security(("bearer" = [])),
    params(ConflictQuery),
    responses(
        (status = 200, description = "Newest first, both versions of each.", body = Items<DeadLetterView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_device_conflicts(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<ConflictQuery>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let items = state
        .db(move |c| Ok(dead_letter::conflicts_of_provider(c, &provider, limit)?))
        .await?;
    Ok(list(items.into_iter().map(DeadLetterView::from).collect()))
}
