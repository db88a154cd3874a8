//! Care plans (R10, R11, R17) and their follow-ups. Reads of a plan are
//! logged; a caseworker reads one only with the client's consent or as one
//! board with the provider (`consent`). Contact persons and the
//! caseworker's individual follow-ups are in `contact`.

use super::{client_in_reach, created, log_read, tz_of};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use hemtid_core::contract::{PlanFollowUpBody, PlanVersionBody};
use hemtid_core::db::care_plan::{self, Draft, PlanContent, PlanFollowUp, PlanStatus, PlanVersion};
use hemtid_core::db::client::Client;
use hemtid_core::db::consent::{self, ReadRight};
use hemtid_core::db::{DbConn, municipality};
use hemtid_core::domain::local_date;
use hemtid_core::evaluate::Ctx as EvalCtx;
use hemtid_core::model::{Participation, Review, Role};
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// An optional text, trimmed, at most `max` characters.
pub(crate) fn optional(v: &mut ValidationErrors, field: &str, text: &str, max: usize) -> String {
    v.optional_text(field, Some(text), max).unwrap_or_default()
}

/// Which provider's material a reader may see.
pub(crate) enum Readable {
    /// Every provider's (own material, or the client consented).
    All,
    /// Only this provider's.
    Provider(String),
}

impl Readable {
    pub(crate) fn allows(&self, provider_id: &str) -> bool {
        match self {
            Readable::All => true,
            Readable::Provider(p) => p == provider_id,
        }
    }
}

/// Who may read a client's plan and journal (R14): the provider's own
/// staff and admins their provider's; a caseworker of the client's unit
/// with the client's consent, or without it when the unit and the client's
/// provider are one board. Others get 403; without consent the answer is
/// `consent_required` and says whether the client refused.
pub(crate) fn read_gate(c: &mut DbConn, p: &Principal, cl: &Client) -> Result<Readable, ApiError> {
    match p.role {
        Role::Staff | Role::ProviderAdmin => Ok(Readable::Provider(p.provider()?.to_string())),
        Role::Caseworker => {
            let unit = p
                .unit_id
                .as_deref()
                .ok_or_else(|| ApiError::new(ErrorCode::Forbidden))?;
            let provider = cl.fields.provider_id.clone().unwrap_or_default();
            match consent::read_right(c, unit, &provider, &cl.id)? {
                ReadRight::Consent => Ok(Readable::All),
                ReadRight::OneBoard => Ok(Readable::Provider(provider.to_string())),
                refused => Err(ApiError::with_detail(
                    ErrorCode::ConsentRequired,
                    format!("{}: {}", refused.as_str(), refused.swedish()),
                )),
            }
        }
        _ => Err(ApiError::new(ErrorCode::Forbidden)),
    }
}

/// A client's plan: where it stands, its versions and follow-ups.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// `missing`, `draft`, `in_revision` or `approved`; `in_revision`
    /// counts as present (R17).
    pub status: PlanStatus,
    /// Oldest first.
    pub versions: Vec<PlanVersionBody>,
    pub follow_ups: Vec<PlanFollowUpBody>,
}

/// Re-evaluates the client's deadline alerts at once after a change.
pub(super) fn reevaluate(c: &mut DbConn, cl: &Client, now: DateTime<Utc>) -> Result<(), ApiError> {
    let m = municipality::get(c, &cl.municipality_id)?;
    let x = EvalCtx::new(c, &m, now)?;
    hemtid_core::evaluate::deadlines::client(c, &x, cl)?;
    Ok(())
}

/// `GET /api/v1/clients/{id}/care-plan`.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/care-plan",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    responses(
        (status = 200, description = "The plan; a caseworker needs consent (R14).", body = PlanView),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_plan(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let view = state
        .db(move |c| {
            let cl = client_in_reach(c, &p, &id.to_string(), now)?;
            let readable = read_gate(c, &p, &cl)?;
            let versions: Vec<PlanVersion> = care_plan::versions(c, &cl.id)?
                .into_iter()
                .filter(|v| readable.allows(&v.provider_id))
                .collect();
            let follow_ups: Vec<PlanFollowUp> = care_plan::follow_ups(c, &cl.id)?
                .into_iter()
                .filter(|f| readable.allows(&f.provider_id))
                .collect();
            let subjects = versions.iter().map(|v| v.created_by.clone()).collect();
            log_read(c, &p, &cl.id, "care_plan", subjects)?;
            Ok(PlanView {
                status: PlanStatus::of(&versions),
                versions: versions.iter().map(PlanVersionBody::from).collect(),
                follow_ups: follow_ups.iter().map(PlanFollowUpBody::from).collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Body of a new plan version or a change to the one being written.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub content: PlanContent,
    /// `took_part` or `declined`.
    #[schema(pattern = "^(took_part|declined)$")]
    pub participation: String,
    /// How the client took part, or why they declined (required then).
    #[serde(default, deserialize_with = "crate::texts::up_to::<8000, _>")]
    #[schema(max_length = 8000)]
    pub participation_note: String,
}

impl PlanInput {
    fn validate(&self, c: &mut DbConn, municipality_id: &str) -> Result<(), ApiError> {
        let mut v = ValidationErrors::new();
        if Participation::parse(&self.participation).is_none() {
            v.add(
                "participation",
                "invalid_value",
                "one of took_part, declined",
            );
        }
        if self.participation == "declined" && self.participation_note.trim().is_empty() {
            v.add(
                "participation_note",
                "required",
                "say why the client declined to take part",
            );
        }
        let texts = [
            ("content.manage_myself", &self.content.manage_myself),
            ("content.need_help_with", &self.content.need_help_with),
            ("content.how_and_when", &self.content.how_and_when),
            ("content.by_whom", &self.content.by_whom),
            ("content.my_goal", &self.content.my_goal),
            ("participation_note", &self.participation_note),
        ];
        for (field, text) in texts {
            if text.chars().count() > 8000 {
                v.add(field, "too_long", "at most 8000 characters");
            }
        }
        for (i, s) in self.content.services.iter().enumerate() {
            let parts = [
                ("need_help_with", &s.need_help_with),
                ("how_and_when", &s.how_and_when),
                ("by_whom", &s.by_whom),
                ("my_goal", &s.my_goal),
            ];
            for (field, text) in parts {
                if text.chars().count() > 8000 {
                    v.add(
                        format!("content.services[{i}].{field}"),
                        "too_long",
                        "at most 8000 characters",
                    );
                }
            }
            let known = hemtid_core::db::service::get(c, municipality_id, &s.service_id).is_ok();
            if !known {
                v.add(
                    format!("content.services[{i}].service_id"),
                    "unknown_reference",
                    "no such service in this municipality",
                );
            }
        }
        Ok(v.into_result(())?)
    }

    /// The draft of valid input ([`PlanInput::validate`]).
    fn draft(&self) -> Result<Draft<'_>, ApiError> {
        let participation = Participation::parse(&self.participation)
            .ok_or_else(|| ApiError::internal("participation not validated"))?;
        Ok(Draft {
            content: &self.content,
            participation,
            participation_note: self.participation_note.trim(),
        })
    }
}

const WRITERS: &[Role] = &[Role::Staff, Role::ProviderAdmin];

/// The client, when the provider account may write its plan.
pub(super) fn writable(
    c: &mut DbConn,
    p: &Principal,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<(Client, String), ApiError> {
    p.require(WRITERS)?;
    let provider = p.provider()?.to_string();
    let cl = client_in_reach(c, p, client_id, now)?;
    Ok((cl, provider))
}

/// `POST /api/v1/clients/{id}/care-plan/versions`: starts a version
/// (`draft`, or `in_revision` once a plan was approved).
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/care-plan/versions",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    request_body = PlanInput,
    responses(
        (status = 201, description = "The new version.", body = PlanVersionBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn start_version(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<PlanInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let v = state
        .db(move |c| {
            let (cl, provider) = writable(c, &p, &id.to_string(), now)?;
            input.validate(c, &p.municipality_id)?;
            let v = care_plan::start(
                c,
                &cl.id,
                &provider,
                &input.draft()?,
                &p.subject,
                now.naive_utc(),
            )?;
            reevaluate(c, &cl, now)?;
            Ok(v)
        })
        .await?;
    Ok(created(
        format!("/api/v1/care-plan-versions/{}", v.id),
        &PlanVersionBody::from(&v),
    ))
}

/// A version the signed-in provider account wrote.
fn own_version(
    c: &mut DbConn,
    p: &Principal,
    id: &Uuid,
    now: DateTime<Utc>,
) -> Result<(PlanVersion, Client), ApiError> {
    let v = care_plan::get(c, &id.to_string())?;
    let (cl, provider) = writable(c, p, &v.client_id, now)?;
    if v.provider_id != provider {
        return Err(ApiError::not_found());
    }
    Ok((v, cl))
}

/// `PUT /api/v1/care-plan-versions/{id}`: changes the version being written.
#[utoipa::path(
    put,
    path = "/api/v1/care-plan-versions/{id}",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The version.")),
    request_body = PlanInput,
    responses(
        (status = 200, description = "The version.", body = PlanVersionBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn edit_version(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<PlanInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let v = state
        .db(move |c| {
            let (v, _) = own_version(c, &p, &id, now)?;
            input.validate(c, &p.municipality_id)?;
            Ok(care_plan::edit(c, &v.id, &input.draft()?, now.naive_utc())?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlanVersionBody::from(&v)))
}

/// `POST /api/v1/care-plan-versions/{id}/approval`: the provider admin
/// approves the version written with the client; the last approved one is
/// superseded. An approval counts as a follow-up (R11).
#[utoipa::path(
    post,
    path = "/api/v1/care-plan-versions/{id}/approval",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The version.")),
    responses(
        (status = 200, description = "The approved version.", body = PlanVersionBody),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn approve_version(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::ProviderAdmin])?;
    let now = state.clock.now();
    let v = state
        .db(move |c| {
            let (v, cl) = own_version(c, &p, &id, now)?;
            let v = care_plan::approve(c, &v.id, &p.subject, now.naive_utc())?;
            reevaluate(c, &cl, now)?;
            Ok(v)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlanVersionBody::from(&v)))
}

/// Body of `POST /api/v1/care-plan-versions/{id}/review`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanReviewInput {
    /// `checked` (agrees with the order) or `remarks` (sent back).
    #[schema(pattern = "^(checked|remarks)$")]
    pub outcome: String,
    /// Required with remarks.
    #[serde(default, deserialize_with = "crate::texts::up_to::<2000, _>")]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// `POST /api/v1/care-plan-versions/{id}/review`: the caseworker checks a
/// version against the order or sends remarks back to the provider.
#[utoipa::path(
    post,
    path = "/api/v1/care-plan-versions/{id}/review",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The version.")),
    request_body = PlanReviewInput,
    responses(
        (status = 200, description = "The version.", body = PlanVersionBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn review_version(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<PlanReviewInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker])?;
    let mut v = ValidationErrors::new();
    let outcome = Review::parse(&input.outcome).filter(|r| *r != Review::Unchecked);
    if outcome.is_none() {
        v.add("outcome", "invalid_value", "one of checked, remarks");
    }
    let note = optional(&mut v, "note", &input.note, 4000);
    if outcome == Some(Review::Remarks) && note.is_empty() {
        v.add("note", "required", "write the remarks");
    }
    let outcome = v
        .into_result(outcome)?
        .ok_or_else(|| ApiError::internal("outcome not validated"))?;
    let now = state.clock.now();
    let row = state
        .db(move |c| {
            let version = care_plan::get(c, &id.to_string())?;
            let cl = client_in_reach(c, &p, &version.client_id, now)?;
            let readable = read_gate(c, &p, &cl)?;
            if !readable.allows(&version.provider_id) {
                return Err(ApiError::not_found());
            }
            Ok(care_plan::review(
                c,
                &version.id,
                outcome,
                &note,
                &p.subject,
                now.naive_utc(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlanVersionBody::from(&row)))
}

/// Body of `POST /api/v1/clients/{id}/care-plan/follow-ups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    /// The local day the plan was followed up with the client.
    #[serde(deserialize_with = "crate::dates::day")]
    #[schema(value_type = crate::dates::Day)]
    pub followed_up_on: NaiveDate,
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub note: String,
}

/// `POST /api/v1/clients/{id}/care-plan/follow-ups`: the plan was followed
/// up and needed no change (R11).
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/care-plan/follow-ups",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    request_body = FollowUpInput,
    responses(
        (status = 201, description = "Recorded.", body = PlanFollowUpBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn follow_up_plan(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<FollowUpInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let mut v = ValidationErrors::new();
    let note = optional(&mut v, "note", &input.note, 4000);
    v.into_result(())?;
    let row = state
        .db(move |c| {
            let (cl, provider) = writable(c, &p, &id.to_string(), now)?;
            let m = municipality::get(c, &p.municipality_id)?;
            if input.followed_up_on > local_date(now, tz_of(&m)?) {
                return Err(ValidationErrors::single(
                    "followed_up_on",
                    "in_future",
                    "the follow-up has not happened yet",
                )
                .into());
            }
            let f = care_plan::follow_up(
                c,
                &cl.id,
                &provider,
                input.followed_up_on,
                &note,
                &p.subject,
                now.naive_utc(),
            )?;
            reevaluate(c, &cl, now)?;
            Ok(f)
        })
        .await?;
    Ok(HttpResponse::Created().json(PlanFollowUpBody::from(&row)))
}
