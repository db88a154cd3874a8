//! A provider's planned visits (issue 25): its planning system sends them
//! by its own references, and the provider's admins see each plan of a
//! day with its state (waiting, in progress, done, late, missed) against
//! the visits performed.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use hemtid_core::db::planned_visit::{self, NewPlan};
use hemtid_core::db::{DbConn, client, municipality, provider, service, user_account};
use hemtid_core::domain::punctuality::MatchLimits;
use hemtid_core::evaluate::punctuality;
use hemtid_core::model::{PlanSource, Role, ServiceId, UserId};
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Plans in one request at most.
const MAX_PLANS: usize = 20_000;
/// How far back and ahead a plan may lie.
const PAST_DAYS: i64 = 62;
const FUTURE_DAYS: i64 = 400;

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

/// One planned visit, as the planning system has it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// The planning system's own id of the visit: sent again, the plan
    /// replaces its earlier version.
    #[schema(min_length = 1, max_length = 100)]
    pub planner_ref: String,
    pub client_id: Uuid,
    /// The window the visit should start in; its local day is the plan's.
    pub earliest_start: DateTime<Utc>,
    pub latest_start: DateTime<Utc>,
    #[schema(minimum = 1, maximum = 1440)]
    pub expected_minutes: i32,
    /// Service codes of the municipality's catalogue.
    #[serde(default)]
    pub services: Vec<String>,
    /// The care workers planned (the provider's staff), if known.
    #[serde(default)]
    pub staff: Vec<Uuid>,
    #[serde(default)]
    pub double_staffing: bool,
    /// Medication, insulin, a CPAP mask: late sooner.
    #[serde(default)]
    pub time_critical: bool,
    /// The plan's own tolerance in minutes after its latest start.
    #[schema(minimum = 0, maximum = 720)]
    pub tolerance_minutes: Option<i32>,
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
    if input.plans.len() > MAX_PLANS {
        return Err(ValidationErrors::single(
            "plans",
            "too_many",
            format!("at most {MAX_PLANS} plans in one request"),
        )
        .into());
    }
    let now = state.clock.now();
    let stored = state
        .db(move |c| {
            let pr = provider::get(c, &p.municipality_id, &provider_id)?;
            let plans = checked(c, &p.municipality_id, &pr.id, &input.plans, now)?;
            Ok(planned_visit::store(
                c,
                &pr.id,
                &plans,
                input.whole_days,
                now.naive_utc(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlansStored {
        created: stored.created,
        updated: stored.updated,
        unchanged: stored.unchanged,
        removed: stored.removed,
    }))
}

/// The plans as stored, or every fault with its field path.
fn checked(
    c: &mut DbConn,
    municipality_id: &str,
    provider_id: &str,
    input: &[PlanInput],
    now: DateTime<Utc>,
) -> Result<Vec<NewPlan>, ApiError> {
    let m = municipality::get(c, municipality_id)?;
    let tz = m.tz().unwrap_or(hemtid_core::domain::STOCKHOLM);
    // Ids only: the clients' personal data is not needed to check them.
    let clients = client::ids(c, municipality_id)?;
    let staff = user_account::staff_of(c, provider_id)?;
    let catalogue = service::catalogue(c, municipality_id)?;
    let mut v = ValidationErrors::new();
    let mut refs: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(input.len());
    for (i, p) in input.iter().enumerate() {
        let f = |name: &str| format!("plans[{i}].{name}");
        let planner_ref = v.text(&f("planner_ref"), &p.planner_ref, 100);
        if !refs.insert(planner_ref.clone()) {
            v.add(f("planner_ref"), "duplicate", "sent twice in this request");
        }
        let client_id = p.client_id.to_string();
        if !clients.contains(client_id.as_str()) {
            v.add(f("client_id"), "unknown_client", "no such client");
        }
        if p.latest_start < p.earliest_start {
            v.add(
                f("latest_start"),
                "before_earliest",
                "before the earliest start",
            );
        } else if p.latest_start - p.earliest_start > Duration::hours(24) {
            v.add(
                f("latest_start"),
                "too_wide",
                "at most 24 hours after the earliest start",
            );
        }
        if p.earliest_start < now - Duration::days(PAST_DAYS)
            || p.earliest_start > now + Duration::days(FUTURE_DAYS)
        {
            v.add(
                f("earliest_start"),
                "out_of_range",
                format!("within {PAST_DAYS} days back and {FUTURE_DAYS} days ahead"),
            );
        }
        if !(1..=1440).contains(&p.expected_minutes) {
            v.add(f("expected_minutes"), "out_of_range", "1 to 1440 minutes");
        }
        if p.tolerance_minutes.is_some_and(|t| !(0..=720).contains(&t)) {
            v.add(f("tolerance_minutes"), "out_of_range", "0 to 720 minutes");
        }
        let mut services = Vec::new();
        for (j, code) in p.services.iter().enumerate() {
            match catalogue.by_code(code) {
                Some(e) => services.push(ServiceId::new(e.id.to_string())),
                None => v.add(
                    format!("plans[{i}].services[{j}]"),
                    "unknown_service",
                    "no such service code",
                ),
            }
        }
        for (j, s) in p.staff.iter().enumerate() {
            if !staff.contains(s.to_string().as_str()) {
                v.add(
                    format!("plans[{i}].staff[{j}]"),
                    "unknown_staff",
                    "not a care worker of this provider",
                );
            }
        }
        out.push(NewPlan {
            planner_ref,
            client_id: client_id.into(),
            local_date: hemtid_core::domain::local_date(p.earliest_start, tz),
            earliest_start: p.earliest_start.naive_utc(),
            latest_start: p.latest_start.naive_utc(),
            expected_minutes: p.expected_minutes,
            double_staffing: p.double_staffing,
            time_critical: p.time_critical,
            tolerance_minutes: p.tolerance_minutes,
            source: PlanSource::Planner,
            services,
            staff: p.staff.iter().map(|s| UserId::new(s.to_string())).collect(),
        });
    }
    Ok(v.into_result(out)?)
}

/// Query of `GET /api/v1/providers/{id}/planned-visits`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The local day, `YYYY-MM-DD`.
    pub date: NaiveDate,
}

/// A planned visit and where it stands now.
#[derive(Debug, Serialize, ToSchema)]
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
    /// Late or missed while a planned care worker's phone had last
    /// delivered before then: a check-in may be waiting on it offline.
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
        unplanned_visit_ids: day.unplanned.iter().map(|v| v.to_string()).collect(),
    }))
}
