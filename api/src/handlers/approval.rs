//! The provider admin's desk (R6): a day's visits, approval day by day,
//! corrections and voids with a reason, each visit's history, month locks.

use super::visit::{VisitPlan, VisitView, views};
use super::{Items, list};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use hemtid_core::contract::EventBody;
use hemtid_core::db::DbConn;
use hemtid_core::db::visit::{self, Visit};
use hemtid_core::db::visit_event;
use hemtid_core::db::{month_lock, visit_change};
use hemtid_core::domain::YearMonth;
use hemtid_core::model::Role;
use hemtid_core::record::{self as approval, Change, DayApproval, REASON_CODES};
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Query of `GET /api/v1/provider/visits`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    #[serde(deserialize_with = "crate::dates::day")]
    #[param(value_type = crate::dates::Day)]
    pub date: NaiveDate,
    #[serde(default)]
    pub staff_id: Option<Uuid>,
}

/// Body of `POST /api/v1/provider/days/{date}/approval`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayApprovalInput {
    /// One staff member's visits only.
    #[serde(default)]
    pub staff_id: Option<Uuid>,
    #[serde(default, deserialize_with = "crate::texts::up_to::<2000, _>")]
    #[schema(max_length = 2000)]
    pub comment: String,
}

/// Body of `POST /api/v1/visits/{id}/approval`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalInput {
    #[serde(default, deserialize_with = "crate::texts::up_to::<2000, _>")]
    #[schema(max_length = 2000)]
    pub comment: String,
}

/// Body of `POST /api/v1/visits/{id}/corrections` and `…/void`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionInput {
    /// One of `forgot_check_in`, `forgot_check_out`, `wrong_time`,
    /// `device_fault`, `registered_by_mistake`, `other`.
    #[schema(
        pattern = "^(forgot_check_in|forgot_check_out|wrong_time|device_fault|registered_by_mistake|other)$"
    )]
    pub reason_code: String,
    #[schema(max_length = 2000)]
    pub comment: String,
    #[serde(default)]
    pub started_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub ended_at: Option<DateTime<FixedOffset>>,
}

fn provider_admin(p: &Principal) -> Result<String, ApiError> {
    p.require(&[Role::ProviderAdmin])?;
    Ok(p.provider()?.to_string())
}

/// The visit, if it is the provider's.
fn own_visit(c: &mut DbConn, provider: &str, id: &Uuid) -> Result<Visit, ApiError> {
    let v = visit::get(c, &id.to_string())?;
    if v.fields.provider_id == provider {
        Ok(v)
    } else {
        Err(ApiError::not_found())
    }
}

fn view(c: &mut DbConn, v: Visit) -> Result<VisitView, ApiError> {
    views(c, vec![v])?
        .pop()
        .ok_or_else(|| ApiError::internal("visit view lost"))
}

/// `GET /api/v1/provider/visits?date=&staff_id=`.
#[utoipa::path(
    get,
    path = "/api/v1/provider/visits",
    tag = "provider",
    security(("bearer" = [])),
    params(DayQuery),
    responses(
        (status = 200, description = "The provider's visits of the day.", body = Items<VisitView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn day_visits(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<DayQuery>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let q = q.into_inner();
    let now = state.clock.now();
    let items = state
        .db(move |c| {
            let staff = q.staff_id.map(|s| s.to_string());
            let visits = approval::day_visits(c, &provider, q.date, staff.as_deref())?;
            let mut items = views(c, visits)?;
            // Each visit with the plan it kept, when the day was planned: the
            // provider's follow-up of deviations from its plan (R6).
            let m = hemtid_core::db::municipality::get(c, &p.municipality_id)?;
            let day = hemtid_core::evaluate::punctuality::day(
                c,
                &provider,
                q.date,
                now,
                &hemtid_core::evaluate::punctuality::tolerances(&m.settings),
                hemtid_core::domain::punctuality::MatchLimits::default(),
            )?;
            if !day.plans.is_empty() {
                for item in &mut items {
                    let id = item.visit.id.as_str();
                    item.plan = Some(
                        day.plans
                            .iter()
                            .find(|x| x.visits.iter().any(|v| v.as_str() == id))
                            .map_or_else(VisitPlan::unplanned, VisitPlan::kept),
                    );
                }
            }
            Ok(items)
        })
        .await?;
    Ok(list(items))
}

/// `POST /api/v1/provider/days/{date}/approval`: approves the day's visits
/// that have both ends; lists those that need a correction first.
#[utoipa::path(
    post,
    path = "/api/v1/provider/days/{date}/approval",
    tag = "provider",
    security(("bearer" = [])),
    params(("date" = crate::dates::Day, Path, description = "The local day.")),
    request_body = DayApprovalInput,
    responses(
        (status = 200, description = "What was approved.", body = DayApproval),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn approve_day(
    state: web::Data<AppState>,
    p: Principal,
    date: web::Path<NaiveDate>,
    Json(input): Json<DayApprovalInput>,
) -> Result<HttpResponse, ApiError> {
    if !crate::dates::in_range(*date) {
        return Err(ApiError::with_detail(
            crate::error::ErrorCode::InvalidPath,
            "expected a date from 1900-01-01 to 2200-12-31",
        ));
    }
    let provider = provider_admin(&p)?;
    let at = state.clock.now().naive_utc();
    let result = state
        .db(move |c| {
            let staff = input.staff_id.map(|s| s.to_string());
            let ch = Change {
                by: &p.subject,
                at,
                reason_code: None,
                comment: &input.comment,
            };
            Ok(approval::approve_day(
                c,
                &provider,
                *date,
                staff.as_deref(),
                ch,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// `POST /api/v1/visits/{id}/approval`: approves one visit as it is.
#[utoipa::path(
    post,
    path = "/api/v1/visits/{id}/approval",
    tag = "provider",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The visit.")),
    request_body = ApprovalInput,
    responses(
        (status = 200, description = "The visit, approved.", body = VisitView),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn approve_visit(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<ApprovalInput>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let at = state.clock.now().naive_utc();
    let v = state
        .db(move |c| {
            own_visit(c, &provider, &id)?;
            let ch = Change {
                by: &p.subject,
                at,
                reason_code: None,
                comment: &input.comment,
            };
            let v = approval::approve(c, &id.to_string(), ch)?;
            view(c, v)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

fn check_reason(v: &mut ValidationErrors, input: &CorrectionInput) -> String {
    if !REASON_CODES.contains(&input.reason_code.as_str()) {
        v.add(
            "reason_code",
            "invalid_value",
            format!("one of {}", REASON_CODES.join(", ")),
        );
    }
    v.text("comment", &input.comment, 2000)
}

/// `POST /api/v1/visits/{id}/corrections`: sets the start and/or end.
#[utoipa::path(
    post,
    path = "/api/v1/visits/{id}/corrections",
    tag = "provider",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The visit.")),
    request_body = CorrectionInput,
    responses(
        (
            status = 200,
            description = "The visit, corrected; it needs approval again.",
            body = VisitView,
        ),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn correct_visit(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<CorrectionInput>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let now = state.clock.now();
    let mut v = ValidationErrors::new();
    let comment = check_reason(&mut v, &input);
    let start = input.started_at.map(|t| t.with_timezone(&Utc));
    let end = input.ended_at.map(|t| t.with_timezone(&Utc));
    if start.is_none() && end.is_none() {
        v.add(
            "started_at",
            "required",
            "give started_at, ended_at or both",
        );
    }
    for (field, t) in [("started_at", start), ("ended_at", end)] {
        if t.is_some_and(|t| t > now) {
            v.add(field, "in_future", "a correction cannot be in the future");
        }
    }
    v.into_result(())?;
    let at = now.naive_utc();
    let visit = state
        .db(move |c| {
            let before = own_visit(c, &provider, &id)?;
            let s = start.map(|t| t.naive_utc()).or(before.start());
            let e = end.map(|t| t.naive_utc()).or(before.end());
            if let (Some(s), Some(e)) = (s, e)
                && e <= s
            {
                return Err(ApiError::field(
                    "ended_at",
                    "before_start",
                    "the visit must end after it starts",
                ));
            }
            let ch = Change {
                by: &p.subject,
                at,
                reason_code: Some(&input.reason_code),
                comment: &comment,
            };
            let v = approval::correct(
                c,
                &id.to_string(),
                start.map(|t| t.naive_utc()),
                end.map(|t| t.naive_utc()),
                ch,
            )?;
            view(c, v)
        })
        .await?;
    Ok(HttpResponse::Ok().json(visit))
}

/// `POST /api/v1/visits/{id}/void`: a visit registered by mistake.
#[utoipa::path(
    post,
    path = "/api/v1/visits/{id}/void",
    tag = "provider",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The visit.")),
    request_body = CorrectionInput,
    responses(
        (status = 200, description = "The visit, voided.", body = VisitView),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn void_visit(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<CorrectionInput>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let mut v = ValidationErrors::new();
    let comment = check_reason(&mut v, &input);
    if input.started_at.is_some() || input.ended_at.is_some() {
        v.add("started_at", "not_allowed", "a void changes no times");
    }
    v.into_result(())?;
    let at = state.clock.now().naive_utc();
    let visit = state
        .db(move |c| {
            own_visit(c, &provider, &id)?;
            let ch = Change {
                by: &p.subject,
                at,
                reason_code: Some(&input.reason_code),
                comment: &comment,
            };
            let v = approval::void(c, &id.to_string(), ch)?;
            view(c, v)
        })
        .await?;
    Ok(HttpResponse::Ok().json(visit))
}

/// One change as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    #[schema(value_type = String)]
    pub kind: hemtid_core::model::VisitChangeKind,
    pub reason_code: Option<String>,
    pub comment: String,
    pub changed_by: String,
    #[schema(format = DateTime)]
    pub changed_at: String,
    /// The visit before the change, as its fields were then.
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    /// The visit after the change.
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
}

/// `GET /api/v1/visits/{id}/evidence`: how the visit was verified, every
/// event of the staff member at the client around it (check-in, check-out,
/// confirmations from the lock or the phone, tag reads inside the home).
#[utoipa::path(
    get,
    path = "/api/v1/visits/{id}/evidence",
    tag = "provider",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The visit.")),
    responses(
        (status = 200, description = "The events, oldest first.", body = Items<EventBody>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn visit_evidence(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let items = state
        .db(move |c| {
            let v = own_visit(c, &provider, &id)?;
            let (Some(from), Some(to)) = (v.start().or(v.end()), v.end().or(v.start())) else {
                return Ok(Vec::new());
            };
            Ok(
                visit_event::evidence(c, &v.fields.staff_id, &v.fields.client_id, from, to)?
                    .iter()
                    .map(EventBody::from)
                    .collect(),
            )
        })
        .await?;
    Ok(list(items))
}

/// `GET /api/v1/visits/{id}/history`.
#[utoipa::path(
    get,
    path = "/api/v1/visits/{id}/history",
    tag = "provider",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The visit.")),
    responses(
        (status = 200, description = "Every change, oldest first.", body = Items<ChangeView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn visit_history(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let items = state
        .db(move |c| {
            own_visit(c, &provider, &id)?;
            visit_change::history(c, &id.to_string())?
                .into_iter()
                .map(|h| {
                    Ok(ChangeView {
                        before: serde_json::from_str(&h.before_json).map_err(ApiError::internal)?,
                        after: serde_json::from_str(&h.after_json).map_err(ApiError::internal)?,
                        kind: h.kind,
                        reason_code: h.reason_code,
                        comment: h.comment,
                        changed_by: h.changed_by,
                        changed_at: h.changed_at.and_utc().to_rfc3339(),
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    Ok(list(items))
}

/// `POST /api/v1/provider/months/{month}/lock`: no late registration or
/// change reaches the month after this.
#[utoipa::path(
    post,
    path = "/api/v1/provider/months/{month}/lock",
    tag = "provider",
    security(("bearer" = [])),
    params(("month" = YearMonth, Path, description = "The local month, `YYYY-MM`.")),
    responses(
        (status = 200, description = "Locked.", body = MonthLocked),
        problem::BadRequest,
        problem::SignedIn,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn lock_month(
    state: web::Data<AppState>,
    p: Principal,
    month: web::Path<YearMonth>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let at = state.clock.now().naive_utc();
    let month = month.into_inner();
    state
        .db(move |c| Ok(month_lock::lock_month(c, &provider, month, &p.subject, at)?))
        .await?;
    Ok(HttpResponse::Ok().json(MonthLocked {
        month,
        locked: true,
    }))
}

/// The answer to a lock.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthLocked {
    pub month: YearMonth,
    /// Always `true`.
    pub locked: bool,
}

/// A locked month.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockView {
    #[schema(value_type = YearMonth)]
    pub month: String,
    #[schema(format = DateTime)]
    pub locked_at: String,
    pub locked_by: String,
}

/// `GET /api/v1/provider/months`: the provider's locked months.
#[utoipa::path(
    get,
    path = "/api/v1/provider/months",
    tag = "provider",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The locked months.", body = Items<LockView>),
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn locked_months(
    state: web::Data<AppState>,
    p: Principal,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let items = state
        .db(move |c| {
            Ok(month_lock::locked_months(c, &provider)?
                .into_iter()
                .map(|(month, at, by)| LockView {
                    month,
                    locked_at: at.and_utc().to_rfc3339(),
                    locked_by: by,
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(list(items))
}
