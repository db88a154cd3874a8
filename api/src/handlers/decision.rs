//! Decisions (biståndsbeslut).

use super::{Items, check_body_id, created, id_or_new, list, reference};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Admin, Json};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use hemtid_core::contract::DecisionBody;
use hemtid_core::db::decision::{self, DecisionFields};
use hemtid_core::db::{DbConn, client, user_account};
use hemtid_core::model::{DecisionKind, Role};
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/decisions` and `PUT /api/v1/decisions/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    #[serde(default)]
    pub id: Option<Uuid>,
    pub client_id: Uuid,
    /// `frame` (rambeslut) or `per_service` (insatsbeslut).
    pub kind: DecisionKind,
    #[serde(default = "sol")]
    #[schema(min_length = 1, max_length = 200)]
    pub legal_basis: String,
    #[serde(deserialize_with = "crate::dates::day")]
    #[schema(value_type = crate::dates::Day)]
    pub decided_on: NaiveDate,
    #[serde(deserialize_with = "crate::dates::day")]
    #[schema(value_type = crate::dates::Day)]
    pub valid_from: NaiveDate,
    /// Last valid day, inclusive.
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[schema(value_type = Option<crate::dates::Day>)]
    pub valid_to: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub purpose: String,
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub goals: String,
    #[serde(default)]
    pub caseworker_id: Option<Uuid>,
}

fn sol() -> String {
    "SoL 4 kap. 1 §".into()
}

impl DecisionInput {
    fn validate(&self, v: &mut ValidationErrors) -> DecisionFields {
        if self.valid_to.is_some_and(|to| to < self.valid_from) {
            v.add(
                "valid_to",
                "invalid_period",
                "the decision must end on or after valid_from",
            );
        }
        if self.purpose.chars().count() > 4000 {
            v.add("purpose", "too_long", "at most 4000 characters");
        }
        if self.goals.chars().count() > 4000 {
            v.add("goals", "too_long", "at most 4000 characters");
        }
        DecisionFields {
            client_id: self.client_id.to_string().into(),
            kind: self.kind,
            legal_basis: v.text("legal_basis", &self.legal_basis, 200),
            decided_on: self.decided_on,
            valid_from: self.valid_from,
            valid_to: self.valid_to,
            purpose: self.purpose.trim().to_string(),
            goals: self.goals.trim().to_string(),
            caseworker_id: self.caseworker_id.map(|u| u.to_string()).map(Into::into),
        }
    }
}

fn check_refs(
    c: &mut DbConn,
    m: &str,
    f: &DecisionFields,
    mut v: ValidationErrors,
) -> Result<(), ApiError> {
    reference(&mut v, "client_id", client::get(c, m, &f.client_id))?;
    if let Some(id) = &f.caseworker_id {
        let found = reference(&mut v, "caseworker_id", user_account::get(c, m, id))?;
        if found.is_some_and(|u| u.fields.role != Role::Caseworker) {
            v.add(
                "caseworker_id",
                "not_a_caseworker",
                "the user is not a caseworker",
            );
        }
    }
    Ok(v.into_result(())?)
}

/// `GET /api/v1/decisions/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/decisions/{id}",
    tag = "integration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The decision.")),
    responses(
        (status = 200, description = "The decision.", body = DecisionBody),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_decision(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.to_string();
    let item = state
        .db(move |c| Ok(decision::get(c, &p.municipality_id, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(DecisionBody::from(&item)))
}

/// `GET /api/v1/clients/{id}/decisions`: the client's decisions.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/decisions",
    tag = "integration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    responses(
        (status = 200, description = "The decisions.", body = Items<DecisionBody>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn list_client_decisions(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.to_string();
    let items = state
        .db(move |c| {
            client::get(c, &p.municipality_id, &id)?;
            Ok(decision::list_for_client(c, &id)?)
        })
        .await?;
    Ok(list(items.iter().map(DecisionBody::from).collect()))
}

/// `POST /api/v1/decisions`: a decision (biståndsbeslut) for a client.
#[utoipa::path(
    post,
    path = "/api/v1/decisions",
    tag = "integration",
    security(("bearer" = [])),
    request_body = DecisionInput,
    responses(
        (
            status = 201,
            description = "Created; `Location` is its URL.",
            body = DecisionBody,
            headers(("Location" = String, description = "The new decision's URL.")),
        ),
        problem::JsonBody,
        problem::SignedIn,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn create_decision(
    state: web::Data<AppState>,
    Admin(p): Admin,
    Json(input): Json<DecisionInput>,
) -> Result<HttpResponse, ApiError> {
    let mut v = ValidationErrors::new();
    let fields = input.validate(&mut v);
    let id = id_or_new(input.id);
    let item = state
        .db(move |c| {
            check_refs(c, &p.municipality_id, &fields, v)?;
            Ok(decision::create(c, &id, &fields)?)
        })
        .await?;
    Ok(created(
        format!("/api/v1/decisions/{}", item.id),
        &DecisionBody::from(&item),
    ))
}

/// `PUT /api/v1/decisions/{id}`: the whole decision; it stays with its
/// client.
#[utoipa::path(
    put,
    path = "/api/v1/decisions/{id}",
    tag = "integration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The decision.")),
    request_body = DecisionInput,
    responses(
        (status = 200, description = "The decision as stored.", body = DecisionBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn update_decision(
    state: web::Data<AppState>,
    Admin(p): Admin,
    id: web::Path<Uuid>,
    Json(input): Json<DecisionInput>,
) -> Result<HttpResponse, ApiError> {
    let mut v = ValidationErrors::new();
    check_body_id(&mut v, input.id, &id);
    let fields = input.validate(&mut v);
    let id = id.to_string();
    let item = state
        .db(move |c| {
            let m = &p.municipality_id;
            let existing = decision::get(c, m, &id)?;
            let mut v = v;
            if existing.fields.client_id != fields.client_id {
                v.add(
                    "client_id",
                    "immutable",
                    "a decision cannot move to another client",
                );
            }
            check_refs(c, m, &fields, v)?;
            Ok(decision::update(c, m, &id, &fields)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(DecisionBody::from(&item)))
}
