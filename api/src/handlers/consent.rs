//! Consent and one-board units (R14), and the access log of who read
//! what.

use super::care_plan::optional;
use super::{Items, client_in_reach, list};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Admin, Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::contract::AccessRecordBody;
use hemtid_core::contract::ConsentBody;
use hemtid_core::db::access_log;
use hemtid_core::db::consent;
use hemtid_core::db::{provider, user_account};
use hemtid_core::model::{ConsentState, Role};
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Body of `POST /api/v1/clients/{id}/consents`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// `given`, `refused` or `withdrawn`.
    #[schema(pattern = "^(given|refused|withdrawn)$")]
    pub state: String,
    /// How it was given (in writing, orally at the visit of …).
    #[serde(default, deserialize_with = "crate::texts::up_to::<2000, _>")]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// `POST /api/v1/clients/{id}/consents`: records the client's decision on
/// letting the caseworker read the provider's plan and journal (R14). The
/// latest decision counts.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/consents",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    request_body = ConsentInput,
    responses(
        (status = 201, description = "Recorded.", body = ConsentBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn post_consent(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<ConsentInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker, Role::ProviderAdmin])?;
    p.person("consent is recorded by a person")?;
    let mut v = ValidationErrors::new();
    let consent_state = ConsentState::parse(&input.state);
    if consent_state.is_none() {
        let all: Vec<&str> = ConsentState::ALL.iter().map(|s| s.as_str()).collect();
        v.add(
            "state",
            "invalid_value",
            format!("one of {}", all.join(", ")),
        );
    }
    let note = optional(&mut v, "note", &input.note, 2000);
    let consent_state = v
        .into_result(consent_state)?
        .ok_or_else(|| ApiError::internal("state not validated"))?;
    let now = state.clock.now();
    let row = state
        .db(move |c| {
            let cl = client_in_reach(c, &p, &id.to_string(), now)?;
            Ok(consent::record(
                c,
                &cl.id,
                consent_state,
                &note,
                &p.subject,
                now.naive_utc(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(ConsentBody::from(&row)))
}

/// `GET /api/v1/clients/{id}/consents`: every decision, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/consents",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    responses(
        (status = 200, description = "The decisions.", body = Items<ConsentBody>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn list_consents(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker, Role::ProviderAdmin, Role::Admin])?;
    let now = state.clock.now();
    let items = state
        .db(move |c| {
            let cl = client_in_reach(c, &p, &id.to_string(), now)?;
            Ok(consent::history(c, &cl.id)?)
        })
        .await?;
    Ok(list(items.iter().map(ConsentBody::from).collect()))
}

/// Body of `PUT /api/v1/authority-units/{id}/shared-boards/{provider_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedBoardInput {
    /// True: the unit and the provider are one board (no consent needed).
    pub shared: bool,
}

/// The providers a unit is one board with.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedBoards {
    pub authority_unit_id: String,
    pub provider_ids: Vec<String>,
}

/// `PUT /api/v1/authority-units/{id}/shared-boards/{provider_id}`: the
/// admin marks a unit and a provider as one board, or unmarks them (R14).
#[utoipa::path(
    put,
    path = "/api/v1/authority-units/{id}/shared-boards/{provider_id}",
    tag = "care",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The authority unit."),
        ("provider_id" = Uuid, Path, description = "The provider."),
    ),
    request_body = SharedBoardInput,
    responses(
        (status = 200, description = "The unit's one-board providers.", body = SharedBoards),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn put_shared_board(
    state: web::Data<AppState>,
    Admin(p): Admin,
    path: web::Path<(Uuid, Uuid)>,
    Json(input): Json<SharedBoardInput>,
) -> Result<HttpResponse, ApiError> {
    p.person("the board is set by a person")?;
    let (unit, prov) = path.into_inner();
    let now = state.clock.now();
    let out = state
        .db(move |c| {
            let unit = unit.to_string();
            hemtid_core::db::authority_unit::get(c, &p.municipality_id, &unit)?;
            provider::get(c, &p.municipality_id, &prov.to_string())?;
            consent::set_shared_board(
                c,
                &unit,
                &prov.to_string(),
                input.shared,
                &p.subject,
                now.naive_utc(),
            )?;
            Ok(SharedBoards {
                provider_ids: consent::shared_boards(c, &unit)?,
                authority_unit_id: unit,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Query of `GET /api/v1/access-log`: one of the two.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessQuery {
    /// Reads of this client.
    #[serde(default)]
    pub client_id: Option<Uuid>,
    /// Reads by this user.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// At most this many, newest first (default 200, at most 1000).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/access-log`: who read a client's personal data, or what a
/// user read (R14). Auditors see the municipality's; provider admins the
/// reads of their clients and by their staff.
#[utoipa::path(
    get,
    path = "/api/v1/access-log",
    tag = "care",
    security(("bearer" = [])),
    params(AccessQuery),
    responses(
        (status = 200, description = "Newest first.", body = Items<AccessRecordBody>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn access_log(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<AccessQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Auditor, Role::ProviderAdmin])?;
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let now = state.clock.now();
    let items = state
        .db(move |c| match (q.client_id, q.user_id) {
            (Some(client), None) => {
                let cl = if p.role == Role::Auditor {
                    hemtid_core::db::client::get(c, &p.municipality_id, &client.to_string())?
                } else {
                    client_in_reach(c, &p, &client.to_string(), now)?
                };
                Ok(access_log::list(
                    c,
                    access_log::Filter::Client(&cl.id),
                    limit,
                )?)
            }
            (None, Some(user)) => {
                let u = user_account::get(c, &p.municipality_id, &user.to_string())?;
                if p.role == Role::ProviderAdmin
                    && u.fields.provider_id != p.provider_id.map(Into::into)
                {
                    return Err(ApiError::not_found());
                }
                Ok(access_log::list(
                    c,
                    access_log::Filter::Reader(&u.id),
                    limit,
                )?)
            }
            _ => Err(ApiError::with_detail(
                ErrorCode::InvalidQuery,
                "give client_id or user_id",
            )),
        })
        .await?;
    Ok(list(items.iter().map(AccessRecordBody::from).collect()))
}

/// `GET /api/v1/me/access-log`: who read what the signed-in care worker
/// registered (their visits and journal notes).
#[utoipa::path(
    get,
    path = "/api/v1/me/access-log",
    tag = "care",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first.", body = Items<AccessRecordBody>),
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn my_access_log(
    state: web::Data<AppState>,
    p: Principal,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Staff])?;
    let items = state
        .db(move |c| {
            Ok(access_log::list(
                c,
                access_log::Filter::Subject(&p.subject),
                200,
            )?)
        })
        .await?;
    Ok(list(items.iter().map(AccessRecordBody::from).collect()))
}
