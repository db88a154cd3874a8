//! A client's contact person (R13) and the caseworker's individual
//! follow-ups (R12).

use super::care_plan::{optional, reevaluate, writable};
use super::{Items, client_in_reach, list, tz_of};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::{Months, NaiveDate};
use hemtid_core::contract::{ContactPersonBody, IndividualFollowUpBody};
use hemtid_core::db::care_plan;
use hemtid_core::db::{municipality, user_account};
use hemtid_core::domain::local_date;
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `PUT /api/v1/clients/{id}/contact-person`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// A care worker of the provider.
    pub user_id: Uuid,
    #[serde(default)]
    pub deputy_user_id: Option<Uuid>,
}

/// `PUT /api/v1/clients/{id}/contact-person`: the provider admin names the
/// client's contact person and deputy (R13).
#[utoipa::path(
    put,
    path = "/api/v1/clients/{id}/contact-person",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    request_body = ContactInput,
    responses(
        (status = 200, description = "Named.", body = ContactPersonBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn put_contact(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<ContactInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::ProviderAdmin])?;
    let now = state.clock.now();
    let row = state
        .db(move |c| {
            let (cl, provider) = writable(c, &p, &id.to_string(), now)?;
            let mut v = ValidationErrors::new();
            let mut staff = |field: &str, u: &Uuid| {
                let ok = user_account::get(c, &p.municipality_id, &u.to_string()).is_ok_and(|a| {
                    a.fields.provider_id.as_deref() == Some(provider.as_str())
                        && a.fields.role == Role::Staff
                });
                if !ok {
                    v.add(
                        field,
                        "unknown_reference",
                        "no such care worker at your provider",
                    );
                }
            };
            staff("user_id", &input.user_id);
            if let Some(d) = &input.deputy_user_id {
                staff("deputy_user_id", d);
            }
            v.into_result(())?;
            let deputy = input.deputy_user_id.map(|u| u.to_string());
            let row = care_plan::name_contact(
                c,
                &cl.id,
                &provider,
                &input.user_id.to_string(),
                deputy.as_deref(),
                &p.subject,
                now.naive_utc(),
            )?;
            reevaluate(c, &cl, now)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ContactPersonBody::from(&row)))
}

/// `GET /api/v1/clients/{id}/contact-person`: the contact person at the
/// client's provider, for the provider and the caseworker.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/contact-person",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    responses(
        (status = 200, description = "The contact person.", body = ContactPersonBody),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_contact(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Staff, Role::ProviderAdmin, Role::Caseworker])?;
    let now = state.clock.now();
    let row = state
        .db(move |c| {
            let cl = client_in_reach(c, &p, &id.to_string(), now)?;
            let provider = match &p.provider_id {
                Some(own) => own.clone(),
                None => cl
                    .fields
                    .provider_id
                    .clone()
                    .unwrap_or_default()
                    .to_string(),
            };
            care_plan::contact(c, &cl.id, &provider)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ContactPersonBody::from(&row)))
}

/// Body of `POST /api/v1/clients/{id}/individual-follow-ups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndividualInput {
    #[serde(deserialize_with = "crate::dates::day")]
    #[schema(value_type = crate::dates::Day)]
    pub done_on: NaiveDate,
    /// The next watch date; by default the municipality's interval later
    /// (12 months, R12). Sooner when needs are changing.
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[schema(value_type = Option<crate::dates::Day>)]
    pub next_due: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub note: String,
}

/// `POST /api/v1/clients/{id}/individual-follow-ups`: the caseworker
/// records an individual follow-up and sets the next watch date (R12).
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/individual-follow-ups",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    request_body = IndividualInput,
    responses(
        (status = 201, description = "Recorded.", body = IndividualFollowUpBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn post_individual(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<IndividualInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker])?;
    let now = state.clock.now();
    let mut v = ValidationErrors::new();
    let note = optional(&mut v, "note", &input.note, 4000);
    v.into_result(())?;
    let row = state
        .db(move |c| {
            let cl = client_in_reach(c, &p, &id.to_string(), now)?;
            let m = municipality::get(c, &p.municipality_id)?;
            let mut v = ValidationErrors::new();
            if input.done_on > local_date(now, tz_of(&m)?) {
                v.add("done_on", "in_future", "the follow-up has not happened yet");
            }
            let months = u32::try_from(m.settings.individual_follow_up_months).unwrap_or(12);
            let next = input
                .next_due
                .or_else(|| input.done_on.checked_add_months(Months::new(months)));
            match next {
                Some(n) if n > input.done_on => {}
                _ => v.add(
                    "next_due",
                    "before_start",
                    "the watch date must come after the follow-up",
                ),
            }
            v.into_result(())?;
            let next = next.unwrap_or(input.done_on);
            let row = care_plan::individual(
                c,
                &cl.id,
                input.done_on,
                next,
                &note,
                &p.subject,
                now.naive_utc(),
            )?;
            reevaluate(c, &cl, now)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(IndividualFollowUpBody::from(&row)))
}

/// `GET /api/v1/clients/{id}/individual-follow-ups`: oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/individual-follow-ups",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    responses(
        (status = 200, description = "The follow-ups.", body = Items<IndividualFollowUpBody>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn list_individual(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker, Role::Admin])?;
    let now = state.clock.now();
    let items = state
        .db(move |c| {
            let cl = client_in_reach(c, &p, &id.to_string(), now)?;
            Ok(care_plan::individuals(c, &cl.id)?)
        })
        .await?;
    Ok(list(
        items.iter().map(IndividualFollowUpBody::from).collect(),
    ))
}
