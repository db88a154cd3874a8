//! A provider's planned visits (issue 25): its planning system sends them
//! by its own references, and the provider's admins see each plan of a
//! day with its state (waiting, in progress, done, late, missed) against
//! the visits performed.

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use hemtid_core::db::planned_visit::Stored;
use hemtid_core::db::{municipality, provider, service};
use hemtid_core::domain::punctuality::MatchLimits;
use hemtid_core::evaluate::punctuality;
use hemtid_core::model::Role;
use hemtid_core::planning::{self, PlanInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Largest body of a batch: 20,000 plans of about 400 bytes of JSON each.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Body of `PUT /api/v1/providers/{id}/planned-visits`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlansInput {
    /// Each day the batch covers is sent whole: the provider's other plans
    /// on those days are removed.
    #[serde(default)]
    pub whole_days: bool,
    #[schema(max_items = 20000)]
    pub plans: Vec<PlanInput>,
}

/// What storing the plans did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlansStored {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Plans of the days sent whole that the batch no longer held.
    pub removed: usize,
}

impl From<Stored> for PlansStored {
    fn from(s: Stored) -> Self {
        PlansStored {
            created: s.created,
            updated: s.updated,
            unchanged: s.unchanged,
            removed: s.removed,
        }
    }
}

/// Who may send or read a provider's plans: the municipality's admins
/// and integrations, and the provider's own admins.
fn may_plan(p: &Principal, provider_id: &str) -> Result<(), ApiError> {
    p.require(&[Role::Admin, Role::ProviderAdmin])?;
    if p.role == Role::ProviderAdmin && p.provider()? != provider_id {
        return Err(ApiError::not_found());
    }
    Ok(())
}

/// `PUT /api/v1/providers/{id}/planned-visits`: stores plans by the
/// planner's references; a batch sent twice changes nothing.
#[utoipa::path(
    put,
    path = "/api/v1/providers/{id}/planned-visits",
    tag = "provider",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The provider.")),
    request_body = PlansInput,
    responses(
        (status = 200, description = "Stored.", body = PlansStored),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn put_plans(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<Uuid>,
    Json(input): Json<PlansInput>,
) -> Result<HttpResponse, ApiError> {
    let provider_id = path.into_inner().to_string();
    may_plan(&p, &provider_id)?;
    let now = state.clock.now();
    let stored = state
        .db(move |c| {
            let item = |i: usize| format!("plans[{i}]");
            Ok(planning::import(
                c,
                &p.municipality_id,
                &provider_id,
                &input.plans,
                input.whole_days,
                now,
                &item,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlansStored::from(stored)))
}

/// Query of `POST /api/v1/providers/{id}/planned-visits`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvQuery {
    /// Each day the file covers is sent whole: the provider's other plans
    /// on those days are removed.
    #[serde(default)]
    pub whole_days: bool,
}

/// A CSV file of plans, as bytes (UTF-8 text; a client uploads it as a
/// file).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PlansCsv(#[allow(dead_code)] Vec<u8>);

/// `POST /api/v1/providers/{id}/planned-visits` with `text/csv`: the plans
/// of a CSV file (a planning system's export or a spreadsheet), one per
/// row, the window in local time. The columns: `planner_ref`, `client_id`,
/// `date` (YYYY-MM-DD), `earliest_start` and `latest_start` (HH:MM; a
/// latest start before the earliest is on the next day),
/// `expected_minutes`, and optionally `services` (codes separated by
/// `|`), `staff` (ids separated by `|`), `double_staffing`,
/// `time_critical` (`ja`/`nej`, `true`/`false`, `1`/`0`) and
/// `tolerance_minutes`. Comma or semicolon separated, UTF-8. The file is
/// stored whole or not at all; faults are named by the spreadsheet's row
/// (`rows[5].latest_start`, the header being row 1).
#[utoipa::path(
    post,
    path = "/api/v1/providers/{id}/planned-visits",
    tag = "provider",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The provider."), CsvQuery),
    request_body(content = PlansCsv, content_type = "text/csv",
        example = "planner_ref;client_id;date;earliest_start;latest_start;expected_minutes;services;time_critical\nTES-88121;3f2b8c1e-5d4a-4e6f-9a7b-0c1d2e3f4a5b;2026-12-07;08:00;08:30;30;O-Duschhjälp;ja\n"),
    responses(
        (status = 200, description = "Stored.", body = PlansStored),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn post_plans_csv(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    path: web::Path<Uuid>,
    q: web::Query<CsvQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let provider_id = path.into_inner().to_string();
    may_plan(&p, &provider_id)?;
    let is_csv = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"));
    if !is_csv {
        return Err(ApiError::with_detail(
            ErrorCode::UnsupportedMediaType,
            "send the plans as text/csv, or as JSON with PUT",
        ));
    }
    let bytes = match body.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return Err(ApiError::with_detail(
                ErrorCode::ValidationFailed,
                "the body could not be read",
            ));
        }
        Err(_) => {
            return Err(ApiError::with_detail(
                ErrorCode::PayloadTooLarge,
                format!("at most {MAX_BODY_BYTES} bytes"),
            ));
        }
    };
    let now = state.clock.now();
    let whole_days = q.whole_days;
    let stored = state
        .db(move |c| {
            Ok(planning::import_csv(
                c,
                &p.municipality_id,
                &provider_id,
                &bytes,
                whole_days,
                now,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlansStored::from(stored)))
}

/// Query of `GET /api/v1/providers/{id}/planned-visits`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The local day, `YYYY-MM-DD`.
    #[serde(deserialize_with = "crate::dates::day")]
    #[param(value_type = crate::dates::Day)]
    pub date: NaiveDate,
}

/// A planned visit and where it stands now.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PlannedVisit)]
pub struct PlanView {
    pub id: String,
    pub planner_ref: String,
    pub client_id: String,
    pub date: NaiveDate,
    pub earliest_start: DateTime<Utc>,
    pub latest_start: DateTime<Utc>,
    pub expected_minutes: i32,
    /// Service codes.
    pub services: Vec<String>,
    pub staff: Vec<String>,
    pub double_staffing: bool,
    pub time_critical: bool,
    pub tolerance_minutes: Option<i32>,
    /// `waiting`, `in_progress`, `done`, `late` or `missed`.
    #[schema(example = "late")]
    pub state: String,
    /// Minutes after the latest start the first check-in came (negative:
    /// in the window).
    pub started_late_minutes: Option<i64>,
    pub started_early_minutes: Option<i64>,
    pub shorter_by_minutes: Option<i64>,
    /// Late or missed while a planned care worker's phone had last reached
    /// hemtid (an event, or any signed-in request) before then: a check-in
    /// may be waiting on it offline.
    pub phone_last_seen_at: Option<DateTime<Utc>>,
    /// The visits that kept the plan.
    pub visit_ids: Vec<String>,
}

/// A provider's day of plans.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlannedDay {
    pub date: NaiveDate,
    pub items: Vec<PlanView>,
    /// The day's visits that kept no plan.
    pub unplanned_visit_ids: Vec<String>,
}

/// `GET /api/v1/providers/{id}/planned-visits?date=`: the day's plans and
/// where each stands now.
#[utoipa::path(
    get,
    path = "/api/v1/providers/{id}/planned-visits",
    tag = "provider",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The provider."), DayQuery),
    responses(
        (status = 200, description = "The day.", body = PlannedDay),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_day(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<Uuid>,
    q: web::Query<DayQuery>,
) -> Result<HttpResponse, ApiError> {
    let provider_id = path.into_inner().to_string();
    may_plan(&p, &provider_id)?;
    let date = q.date;
    let now = state.clock.now();
    let (day, catalogue) = state
        .db(move |c| {
            let pr = provider::get(c, &p.municipality_id, &provider_id)?;
            let m = municipality::get(c, &p.municipality_id)?;
            let day = punctuality::day(
                c,
                &pr.id,
                date,
                now,
                &punctuality::tolerances(&m.settings),
                MatchLimits::default(),
            )?;
            Ok((day, service::catalogue(c, &p.municipality_id)?))
        })
        .await?;
    let minutes = |d: Duration| d.num_minutes();
    let items = day
        .plans
        .into_iter()
        .map(|x| PlanView {
            id: x.plan.id.to_string(),
            planner_ref: x.plan.plan.planner_ref,
            client_id: x.plan.plan.client_id.to_string(),
            date: x.plan.plan.local_date,
            earliest_start: x.plan.plan.earliest_start.and_utc(),
            latest_start: x.plan.plan.latest_start.and_utc(),
            expected_minutes: x.plan.plan.expected_minutes,
            services: x
                .plan
                .plan
                .services
                .iter()
                .map(|s| catalogue.code(s).unwrap_or(s.as_str()).to_string())
                .collect(),
            staff: x.plan.plan.staff.iter().map(|s| s.to_string()).collect(),
            double_staffing: x.plan.plan.double_staffing,
            time_critical: x.plan.plan.time_critical,
            tolerance_minutes: x.plan.plan.tolerance_minutes,
            state: x.standing.state.as_str().to_string(),
            started_late_minutes: x.standing.started_late.map(minutes),
            started_early_minutes: x.standing.started_early.map(minutes),
            shorter_by_minutes: x.standing.shorter_by.map(minutes),
            phone_last_seen_at: x.standing.offline_since,
            visit_ids: x.visits.iter().map(|v| v.to_string()).collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(PlannedDay {
        date,
        items,
        unplanned_visit_ids: day
            .unplanned
            .iter()
            .map(|v| v.visit_id.to_string())
            .collect(),
    }))
}
