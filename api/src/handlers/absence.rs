//! Client absences (frånvaro): a hospital stay explains under-time. The
//! provider admin or the client's caseworker registers them.

use super::{client_in_reach, created, list};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use hemtid_core::contract::AbsenceBody;
use hemtid_core::db::DbConn;
use hemtid_core::db::absence::{self, Absence, CAUSES, NewAbsence};
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/clients/{id}/absences`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceInput {
    /// The case system's own id, if it has one.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// First local day away.
    #[serde(deserialize_with = "crate::dates::day")]
    #[schema(value_type = crate::dates::Day)]
    pub starts_on: NaiveDate,
    /// Last local day away; leave out while it lasts.
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[schema(value_type = Option<crate::dates::Day>)]
    pub ends_on: Option<NaiveDate>,
    /// `hospital`, `short_term_care`, `travel` or `other`.
    #[schema(pattern = "^(hospital|short_term_care|travel|other)$")]
    pub cause: String,
    #[serde(default, deserialize_with = "crate::texts::up_to::<2000, _>")]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// Body of `POST /api/v1/absences/{id}/end`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceEnd {
    /// Last local day away; `null` makes it ongoing again.
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[schema(value_type = Option<crate::dates::Day>)]
    pub ends_on: Option<NaiveDate>,
}

const WRITERS: &[Role] = &[Role::ProviderAdmin, Role::Caseworker, Role::Admin];

const PERSON: &str = "absences are registered by a person";

/// `POST /api/v1/clients/{id}/absences`: registers an absence.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/absences",
    tag = "variance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    request_body = AbsenceInput,
    responses(
        (status = 201, description = "The absence.", body = AbsenceBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn create_absence(
    state: web::Data<AppState>,
    p: Principal,
    client_id: web::Path<Uuid>,
    Json(input): Json<AbsenceInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(WRITERS)?;
    p.person(PERSON)?;
    let mut v = ValidationErrors::new();
    if !CAUSES.contains(&input.cause.as_str()) {
        v.add(
            "cause",
            "invalid_value",
            format!("one of {}", CAUSES.join(", ")),
        );
    }
    if input.ends_on.is_some_and(|e| e < input.starts_on) {
        v.add(
            "ends_on",
            "before_start",
            "the absence ends before it starts",
        );
    }
    let note = input.note.trim().to_string();
    if note.chars().count() > 2000 {
        v.add("note", "too_long", "at most 2000 characters");
    }
    v.into_result(())?;
    let now = state.clock.now();
    let at = now.naive_utc();
    let row = state
        .db(move |c| {
            let id = client_id.to_string();
            client_in_reach(c, &p, &id, now)?;
            let a = NewAbsence {
                client_id: &id,
                starts_on: input.starts_on,
                ends_on: input.ends_on,
                cause: &input.cause,
                note: &note,
                registered_by: &p.subject,
            };
            absence::create(c, &a, input.id.map(|u| u.to_string()), at)
                .map_err(|e| super::conflict_detail(e, "an absence with this id exists"))
        })
        .await?;
    Ok(created(
        format!("/api/v1/absences/{}", row.id),
        &AbsenceBody::from(&row),
    ))
}

/// `GET /api/v1/clients/{id}/absences`: newest first, cancelled included.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/absences",
    tag = "variance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    responses(
        (status = 200, description = "The absences.", body = super::Items<AbsenceBody>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn list_absences(
    state: web::Data<AppState>,
    p: Principal,
    client_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[
        Role::ProviderAdmin,
        Role::Caseworker,
        Role::Admin,
        Role::FeeAdmin,
    ])?;
    let now = state.clock.now();
    let items = state
        .db(move |c| {
            let id = client_id.to_string();
            client_in_reach(c, &p, &id, now)?;
            Ok(absence::list_for_client(c, &id)?)
        })
        .await?;
    Ok(list(items.iter().map(AbsenceBody::from).collect()))
}

fn own_absence(
    c: &mut DbConn,
    p: &Principal,
    id: &Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Absence, ApiError> {
    let a = absence::get(c, &id.to_string())?;
    client_in_reach(c, p, &a.client_id, now)?;
    Ok(a)
}

/// `POST /api/v1/absences/{id}/end`: sets (or clears) the last day away.
#[utoipa::path(
    post,
    path = "/api/v1/absences/{id}/end",
    tag = "variance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The absence.")),
    request_body = AbsenceEnd,
    responses(
        (status = 200, description = "The absence.", body = AbsenceBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn end_absence(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<AbsenceEnd>,
) -> Result<HttpResponse, ApiError> {
    p.require(WRITERS)?;
    p.person(PERSON)?;
    let now = state.clock.now();
    let at = now.naive_utc();
    let row = state
        .db(move |c| {
            let a = own_absence(c, &p, &id, now)?;
            if input.ends_on.is_some_and(|e| e < a.starts_on) {
                return Err(ValidationErrors::single(
                    "ends_on",
                    "before_start",
                    "the absence ends before it starts",
                )
                .into());
            }
            Ok(absence::set_end(c, &a.id, input.ends_on, at)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AbsenceBody::from(&row)))
}

/// `POST /api/v1/absences/{id}/cancel`: registered by mistake (kept).
#[utoipa::path(
    post,
    path = "/api/v1/absences/{id}/cancel",
    tag = "variance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The absence.")),
    responses(
        (status = 200, description = "The absence, cancelled.", body = AbsenceBody),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn cancel_absence(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(WRITERS)?;
    p.person(PERSON)?;
    let now = state.clock.now();
    let at = now.naive_utc();
    let row = state
        .db(move |c| {
            let a = own_absence(c, &p, &id, now)?;
            Ok(absence::cancel(c, &a.id, at)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AbsenceBody::from(&row)))
}
