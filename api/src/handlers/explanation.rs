//! Explanations and review (R3): the provider explains a client's month
//! outside the band; from the municipality's review day of the next month
//! the client's caseworker approves or rejects it. An approved explanation
//! stops the three-month count (R4).

use super::{client_in_reach, list, tz_of};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::contract::{ExplanationBody, ExplanationChangeBody};
use hemtid_core::db::explanation::{self, CAUSES, Explanation, ReviewError};
use hemtid_core::db::{DbConn, municipality};
use hemtid_core::domain::{YearMonth, local_date};
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `PUT /api/v1/clients/{id}/months/{month}/explanation`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplanationInput {
    /// `declined_visits`, `absence`, `temporarily_changed_needs`,
    /// `permanently_changed_needs` or `other`.
    #[schema(
        pattern = "^(declined_visits|absence|temporarily_changed_needs|permanently_changed_needs|other)$"
    )]
    pub cause: String,
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

/// Body of `POST /api/v1/explanations/{id}/review`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// `approve` or `reject`.
    #[schema(pattern = "^(approve|reject)$")]
    pub decision: String,
    /// Required when rejecting: what the provider should do.
    #[serde(default, deserialize_with = "crate::texts::up_to::<2000, _>")]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// An explanation with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplanationDetail {
    #[serde(flatten)]
    pub explanation: ExplanationBody,
    pub history: Vec<ExplanationChangeBody>,
}

const PERSON: &str = "explanations are written and reviewed by people";

fn detail(c: &mut DbConn, e: Explanation) -> Result<ExplanationDetail, ApiError> {
    let history = explanation::history(c, &e.id)?;
    Ok(ExplanationDetail {
        explanation: ExplanationBody::from(&e),
        history: history.iter().map(ExplanationChangeBody::from).collect(),
    })
}

/// `PUT /api/v1/clients/{id}/months/{month}/explanation`: the provider
/// admin writes (or rewrites) its explanation of the month; it waits for
/// the caseworker's review.
#[utoipa::path(
    put,
    path = "/api/v1/clients/{id}/months/{month}/explanation",
    tag = "variance",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The client."),
        ("month" = YearMonth, Path, description = "The local month, `YYYY-MM`."),
    ),
    request_body = ExplanationInput,
    responses(
        (status = 200, description = "The explanation, submitted.", body = ExplanationDetail),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn put_explanation(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(Uuid, YearMonth)>,
    Json(input): Json<ExplanationInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::ProviderAdmin])?;
    p.person(PERSON)?;
    let provider = p.provider()?.to_string();
    let (client_id, month) = path.into_inner();
    let mut v = ValidationErrors::new();
    if !CAUSES.contains(&input.cause.as_str()) {
        v.add(
            "cause",
            "invalid_value",
            format!("one of {}", CAUSES.join(", ")),
        );
    }
    let text = v.text("text", &input.text, 4000);
    v.into_result(())?;
    let now = state.clock.now();
    let out = state
        .db(move |c| {
            let id = client_id.to_string();
            client_in_reach(c, &p, &id, now)?;
            let m = municipality::get(c, &p.municipality_id)?;
            if month > YearMonth::of(local_date(now, tz_of(&m)?)) {
                return Err(ValidationErrors::single(
                    "month",
                    "in_future",
                    "a month that has not begun cannot be explained",
                )
                .into());
            }
            let e = explanation::submit(
                c,
                &id,
                &provider,
                month,
                &input.cause,
                &text,
                &p.subject,
                now.naive_utc(),
            )?;
            detail(c, e)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/v1/clients/{id}/months/{month}/explanations`: one per provider.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/months/{month}/explanations",
    tag = "variance",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The client."),
        ("month" = YearMonth, Path, description = "The local month, `YYYY-MM`."),
    ),
    responses(
        (status = 200, description = "The explanations with their history.",
            body = super::Items<ExplanationDetail>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn list_explanations(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(Uuid, YearMonth)>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[
        Role::ProviderAdmin,
        Role::Caseworker,
        Role::Admin,
        Role::FeeAdmin,
    ])?;
    let (client_id, month) = path.into_inner();
    let now = state.clock.now();
    let items = state
        .db(move |c| {
            let id = client_id.to_string();
            client_in_reach(c, &p, &id, now)?;
            let provider = match p.role {
                Role::ProviderAdmin => Some(p.provider()?.to_string()),
                _ => None,
            };
            explanation::for_month(c, &id, month)?
                .into_iter()
                .filter(|e| provider.as_ref().is_none_or(|pr| &e.provider_id == pr))
                .map(|e| detail(c, e))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(list(items))
}

/// `POST /api/v1/explanations/{id}/review`: the client's caseworker
/// approves or rejects, from the review day of the month after (R3).
#[utoipa::path(
    post,
    path = "/api/v1/explanations/{id}/review",
    tag = "variance",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The explanation.")),
    request_body = ReviewInput,
    responses(
        (status = 200, description = "The explanation, reviewed.", body = ExplanationDetail),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn review_explanation(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<ReviewInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker])?;
    p.person(PERSON)?;
    let approve = match input.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(
                ValidationErrors::single("decision", "invalid_value", "approve or reject").into(),
            );
        }
    };
    if !approve && input.note.trim().is_empty() {
        return Err(ValidationErrors::single("note", "required", "say why it is rejected").into());
    }
    let now = state.clock.now();
    let out = state
        .db(move |c| {
            let e = explanation::get(c, &id.to_string())?;
            let cl = client_in_reach(c, &p, &e.client_id, now)?;
            if cl.fields.caseworker_id.as_deref() != Some(p.subject.as_str()) {
                return Err(ApiError::with_detail(
                    ErrorCode::Forbidden,
                    "only the client's caseworker reviews its explanations",
                ));
            }
            let m = municipality::get(c, &p.municipality_id)?;
            let tz = tz_of(&m)?;
            let review = explanation::Review {
                approve,
                note: input.note.trim(),
                by: &p.subject,
                at: now.naive_utc(),
                local_today: local_date(now, tz),
                review_from_day: u32::try_from(m.settings.review_from_day).unwrap_or(5),
            };
            let e = explanation::review(c, &e.id, review).map_err(|e| match e {
                ReviewError::TooEarly(day) => ApiError::with_detail(
                    ErrorCode::ReviewTooEarly,
                    format!("the month can be reviewed from {day} (R3)"),
                ),
                ReviewError::NotSubmitted => ApiError::with_detail(
                    ErrorCode::NotReviewable,
                    "only a submitted explanation can be reviewed",
                ),
                ReviewError::Store(s) => s.into(),
            })?;
            detail(c, e)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
