//! Requests for material before a follow-up (R15) and the monthly lists
//! of clients without an approved care plan (R10).

use super::care_plan::optional;
use super::{Items, client_in_reach, created, list, log_read, tz_of};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use hemtid_core::contract::MaterialRequestBody;
use hemtid_core::db::material_request::{self, Answer, Ask, MaterialRequest, Party};
use hemtid_core::db::{DbConn, care_plan, municipality};
use hemtid_core::domain::local_date;
use hemtid_core::domain::split::local_midnight;
use hemtid_core::evaluate::deadlines::{self, PlanList};
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Body of `POST /api/v1/clients/{id}/material-requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// The updated care plan, or why it was not updated.
    #[serde(default)]
    pub plan: bool,
    /// The journal notes of this period (local days, inclusive).
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[schema(value_type = Option<crate::dates::Day>)]
    pub journal_from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[schema(value_type = Option<crate::dates::Day>)]
    pub journal_to: Option<NaiveDate>,
    /// Anything the provider wants to convey.
    #[serde(default)]
    pub comment: bool,
    /// Why not all ordered time was performed.
    #[serde(default)]
    pub unperformed: bool,
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub message: String,
    #[serde(deserialize_with = "crate::dates::day")]
    #[schema(value_type = crate::dates::Day)]
    pub due_on: NaiveDate,
}

/// `POST /api/v1/clients/{id}/material-requests`: the caseworker asks the
/// client's provider for material before a follow-up (R15).
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/material-requests",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client.")),
    request_body = RequestInput,
    responses(
        (status = 201, description = "Sent.", body = MaterialRequestBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn send_request(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<RequestInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker])?;
    let mut v = ValidationErrors::new();
    let message = optional(&mut v, "message", &input.message, 4000);
    let journal = match (input.journal_from, input.journal_to) {
        (Some(f), Some(t)) if f <= t => Some((f, t)),
        (Some(_), Some(_)) => {
            v.add(
                "journal_to",
                "before_start",
                "the period ends before it starts",
            );
            None
        }
        (None, None) => None,
        _ => {
            v.add(
                "journal_to",
                "required",
                "give both journal_from and journal_to",
            );
            None
        }
    };
    if !(input.plan || journal.is_some() || input.comment || input.unperformed) {
        v.add("plan", "required", "ask for at least one thing");
    }
    let now = state.clock.now();
    let row = state
        .db(move |c| {
            let cl = client_in_reach(c, &p, &id.to_string(), now)?;
            let m = municipality::get(c, &p.municipality_id)?;
            if input.due_on < local_date(now, tz_of(&m)?) {
                v.add("due_on", "in_past", "the due date has passed");
            }
            let provider = cl.fields.provider_id.clone();
            if provider.is_none() {
                v.add("client", "no_provider", "the client has no provider");
            }
            v.into_result(())?;
            let provider = provider.unwrap_or_default();
            let ask = Ask {
                client_id: &cl.id,
                provider_id: &provider,
                caseworker_id: &p.subject,
                plan: input.plan,
                journal,
                comment: input.comment,
                unperformed: input.unperformed,
                message: &message,
                due_on: input.due_on,
            };
            Ok(material_request::send(c, &ask, now.naive_utc())?)
        })
        .await?;
    Ok(created(
        format!("/api/v1/material-requests/{}", row.id),
        &MaterialRequestBody::from(&row),
    ))
}

/// A request as its reader may see it: the compiled journal only where
/// reading it is allowed now and recorded (R14).
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: MaterialRequestBody,
    /// Why `answer_journal` is empty although the answer holds one, in
    /// Swedish for the reader: lists never carry it (open the request),
    /// and a caseworker reads it only with the client's consent or as one
    /// board (R14), checked at each read.
    pub journal_withheld: Option<String>,
}

/// Shown in lists instead of the journal.
const JOURNAL_IN_REQUEST: &str = "Journalutdraget visas när du öppnar förfrågan.";

/// `GET /api/v1/material-requests`: the caseworker's requests, or those
/// sent to the provider admin's provider; newest first. Without the
/// compiled journal: a list is not a read of it (R14); open the request.
#[utoipa::path(
    get,
    path = "/api/v1/material-requests",
    tag = "care",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The requests, without their journal text.", body = Items<RequestView>),
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_requests(
    state: web::Data<AppState>,
    p: Principal,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker, Role::ProviderAdmin])?;
    let items = state
        .db(move |c| {
            let party = match &p.provider_id {
                Some(own) => Party::Provider(own),
                None => Party::Caseworker(&p.subject),
            };
            Ok(material_request::list(c, party)?)
        })
        .await?;
    let items: Vec<RequestView> = items
        .into_iter()
        .map(|mut request| {
            let journal_withheld = request
                .answer_journal
                .take()
                .map(|_| JOURNAL_IN_REQUEST.to_string());
            RequestView {
                request: MaterialRequestBody::from(&request),
                journal_withheld,
            }
        })
        .collect();
    Ok(list(items))
}

/// The request, if it is the caseworker's or sent to the provider.
fn own_request(
    c: &mut DbConn,
    p: &Principal,
    id: &Uuid,
    now: DateTime<Utc>,
) -> Result<MaterialRequest, ApiError> {
    let r = material_request::get(c, &id.to_string())?;
    let mine = match p.role {
        Role::Caseworker => r.caseworker_id == p.subject,
        Role::ProviderAdmin => p.provider_id.as_deref() == Some(r.provider_id.as_str()),
        _ => false,
    };
    if !mine {
        return Err(ApiError::not_found());
    }
    client_in_reach(c, p, &r.client_id, now)?;
    Ok(r)
}

/// `GET /api/v1/material-requests/{id}`: the request and its answer. An
/// answered request's read is recorded in the access log (R14); the
/// caseworker gets the compiled journal only while the client's consent
/// (or one board) allows it: after consent is withdrawn it is withheld.
#[utoipa::path(
    get,
    path = "/api/v1/material-requests/{id}",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request.")),
    responses(
        (status = 200, description = "The request.", body = RequestView),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_request(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker, Role::ProviderAdmin])?;
    let now = state.clock.now();
    let row = state
        .db(move |c| {
            let mut request = own_request(c, &p, &id, now)?;
            let mut journal_withheld = None;
            // The provider's own notes are the provider admin's to read;
            // the authority's caseworker needs the right to, now (R14).
            if request.answer_journal.is_some() && p.role == Role::Caseworker {
                let cw = hemtid_core::db::user_account::get_any(c, &p.subject)?;
                let unit = cw.fields.authority_unit_id.unwrap_or_default();
                let right = hemtid_core::db::consent::read_right(
                    c,
                    &unit,
                    &request.provider_id,
                    &request.client_id,
                )?;
                if !right.allowed() {
                    request.answer_journal = None;
                    journal_withheld = Some(right.swedish().to_string());
                }
            }
            if request.answered_at.is_some() {
                let what = if request.answer_journal.is_some() {
                    "material_request_journal"
                } else {
                    "material_request"
                };
                log_read(c, &p, &request.client_id, what, Vec::new())?;
            }
            Ok(RequestView {
                request: MaterialRequestBody::from(&request),
                journal_withheld,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(row))
}

/// Body of `POST /api/v1/material-requests/{id}/answer`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// The plan version sent (the one in force, or a new one).
    #[serde(default)]
    pub plan_version_id: Option<Uuid>,
    /// Why the plan was not updated, when it was not.
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub plan_note: String,
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub comment: String,
    /// Why not all ordered time was performed.
    #[serde(default, deserialize_with = "crate::texts::up_to::<4000, _>")]
    #[schema(max_length = 4000)]
    pub unperformed: String,
}

/// `POST /api/v1/material-requests/{id}/answer`: the provider admin
/// answers; when the journal was asked for, hemtid compiles the period's
/// notes into the answer. Handing over plan or journal needs what reading
/// them needs (R14): the client's consent, or one board.
#[utoipa::path(
    post,
    path = "/api/v1/material-requests/{id}/answer",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request.")),
    request_body = AnswerInput,
    responses(
        (status = 200, description = "Answered.", body = MaterialRequestBody),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn answer_request(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<AnswerInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::ProviderAdmin])?;
    p.person("a request is answered by a person")?;
    let mut v = ValidationErrors::new();
    let plan_note = optional(&mut v, "plan_note", &input.plan_note, 4000);
    let comment = optional(&mut v, "comment", &input.comment, 8000);
    let unperformed = optional(&mut v, "unperformed", &input.unperformed, 8000);
    let now = state.clock.now();
    let row = state
        .db(move |c| {
            let r = own_request(c, &p, &id, now)?;
            let plan_id = input.plan_version_id.map(|u| u.to_string());
            if let Some(pid) = &plan_id {
                match care_plan::get(c, pid) {
                    Ok(pv) if pv.client_id == r.client_id && pv.provider_id == r.provider_id => {}
                    _ => v.add(
                        "plan_version_id",
                        "unknown_reference",
                        "no such plan version of this client at your provider",
                    ),
                }
            }
            if r.asks_plan && plan_id.is_none() && plan_note.is_empty() {
                v.add(
                    "plan_note",
                    "required",
                    "send a plan version or say why the plan was not updated",
                );
            }
            if r.asks_unperformed && unperformed.is_empty() {
                v.add(
                    "unperformed",
                    "required",
                    "say why not all time was performed",
                );
            }
            v.into_result(())?;
            // The authority's caseworker will read what is handed over.
            let hands_over = plan_id.is_some() || r.asks_journal;
            if hands_over {
                let cw = hemtid_core::db::user_account::get_any(c, &r.caseworker_id)?;
                let unit = cw.fields.authority_unit_id.unwrap_or_default();
                let right =
                    hemtid_core::db::consent::read_right(c, &unit, &r.provider_id, &r.client_id)?;
                if !right.allowed() {
                    return Err(ApiError::with_detail(
                        ErrorCode::ConsentRequired,
                        format!(
                            "the caseworker may not read plan or journal: {}",
                            right.swedish()
                        ),
                    ));
                }
            }
            let journal = match (r.asks_journal, r.journal_from, r.journal_to) {
                (true, Some(f), Some(t)) => {
                    let m = municipality::get(c, &p.municipality_id)?;
                    let tz = tz_of(&m)?;
                    let end = t.succ_opt().unwrap_or(t);
                    Some(material_request::compile_journal(
                        c,
                        &r.client_id,
                        &r.provider_id,
                        local_midnight(f, tz),
                        local_midnight(end, tz),
                    )?)
                }
                _ => None,
            };
            let a = Answer {
                plan_version_id: plan_id.as_deref(),
                plan_note: &plan_note,
                comment: &comment,
                unperformed: &unperformed,
                by: &p.subject,
            };
            Ok(material_request::answer(
                c,
                &r.id,
                &a,
                journal,
                now.naive_utc(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MaterialRequestBody::from(&row)))
}

/// `POST /api/v1/material-requests/{id}/close`: the caseworker is done.
#[utoipa::path(
    post,
    path = "/api/v1/material-requests/{id}/close",
    tag = "care",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request.")),
    responses(
        (status = 200, description = "Closed.", body = MaterialRequestBody),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn close_request(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Caseworker])?;
    let now = state.clock.now();
    let row = state
        .db(move |c| {
            let r = own_request(c, &p, &id, now)?;
            Ok(material_request::close(c, &r.id, now.naive_utc())?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MaterialRequestBody::from(&row)))
}

/// Query of `GET /api/v1/care-plan-lists`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListsQuery {
    /// One provider's lists (the authority's roles).
    #[serde(default)]
    pub provider_id: Option<Uuid>,
}

/// `GET /api/v1/care-plan-lists`: the lists made on the municipality's day
/// of each month (default the 16th) of clients without an approved care
/// plan, per provider (R10); newest first. Provider admins see their own.
#[utoipa::path(
    get,
    path = "/api/v1/care-plan-lists",
    tag = "care",
    security(("bearer" = [])),
    params(ListsQuery),
    responses(
        (status = 200, description = "The lists.", body = Items<PlanList>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn plan_lists(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<ListsQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::ProviderAdmin, Role::Caseworker, Role::Admin])?;
    let items = state
        .db(move |c| {
            let provider = match &p.provider_id {
                Some(own) => Some(own.clone()),
                None => q.provider_id.map(|u| u.to_string()),
            };
            Ok(deadlines::lists(
                c,
                &p.municipality_id,
                provider.as_deref(),
            )?)
        })
        .await?;
    Ok(list(items))
}
