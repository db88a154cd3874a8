//! The signed-in admin's municipality and its rule settings.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Admin, Json, Principal};
use crate::openapi::problem;
use crate::views::MunicipalityView;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use hemtid_core::db::municipality::{self, MunicipalitySettings};
use hemtid_core::db::retention_run;
use hemtid_core::domain::{MonthConvention, parse_time_of_day};
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::IntoParams;
use utoipa::ToSchema;

/// `PUT /api/v1/municipality`: every setting, as in the GET answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityInput {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// An IANA time zone, such as `Europe/Stockholm`.
    #[schema(min_length = 1, max_length = 64, example = "Europe/Stockholm")]
    pub time_zone: String,
    /// R1, in basis points: 500 = ±5 %.
    #[schema(minimum = 0, maximum = 10000)]
    pub tolerance_basis_points: i32,
    /// R9, `HH:MM` local time, 00:00–24:00; the window ends after it
    /// starts.
    #[schema(pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    pub frame_window_start: String,
    #[schema(pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    pub frame_window_end: String,
    #[schema(minimum = 1, maximum = 365)]
    pub care_plan_deadline_days: i32,
    #[schema(minimum = 1, maximum = 60)]
    pub plan_follow_up_months: i32,
    #[schema(minimum = 1, maximum = 60)]
    pub individual_follow_up_months: i32,
    #[schema(minimum = 1, maximum = 365)]
    pub contact_person_days: i32,
    #[schema(minimum = 1, maximum = 28)]
    pub review_from_day: i32,
    pub month_convention: MonthConvention,
    /// A check-in and check-out further apart than this is an exception.
    #[schema(minimum = 15, maximum = 1440)]
    pub max_visit_minutes: i32,
    /// R10: days after the care-plan deadline before the caseworker is told too.
    #[schema(minimum = 0, maximum = 365)]
    pub care_plan_escalation_days: i32,
    /// R10: the day of each month the list of clients without a plan is sent.
    #[schema(minimum = 1, maximum = 28)]
    pub plan_list_day: i32,
    /// The ISO week (1–53) personalkontinuitet's two national measurement
    /// weeks start with, as the year's national instructions set it; the
    /// measures report's default window. Unset: the two whole weeks before
    /// the current one.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 53)]
    pub continuity_week: Option<i32>,
    /// Retention: years the access log is kept, at least 5 (HSLF-FS
    /// 2016:40 4 kap. 9 §).
    #[schema(minimum = 5, maximum = 100)]
    pub access_log_retention_years: i32,
    /// Retention: years a client's records are kept after the client's
    /// last order ended (the document management plan).
    #[schema(minimum = 1, maximum = 100)]
    pub client_retention_years: i32,
    /// Retention: keep clients born on the 5th, 15th or 25th (the research
    /// sample) instead of deleting their records.
    pub keep_research_sample: bool,
    /// Planned visits: minutes after the latest start before a visit
    /// without a check-in is late (`visit_late`); 15 when left out.
    #[serde(default = "default_visit_tolerance")]
    #[schema(minimum = 0, maximum = 720)]
    pub visit_tolerance_minutes: i32,
    /// The same for time-critical visits (medication, insulin, a CPAP
    /// mask); 5 when left out. A plan's own tolerance wins over both.
    #[serde(default = "default_time_critical_tolerance")]
    #[schema(minimum = 0, maximum = 720)]
    pub time_critical_tolerance_minutes: i32,
    /// Minutes a late or missed visit's alert may stay unacknowledged by
    /// the provider before the client's caseworker is told
    /// (`visit_not_acknowledged`); 30 when left out.
    #[serde(default = "default_visit_escalation")]
    #[schema(minimum = 1, maximum = 1440)]
    pub visit_escalation_minutes: i32,
    /// Derive planned visits from the orders (each order's daily visits
    /// spread over `order_visit_windows`, its weekly personal care on set
    /// weekdays in the day's first visit) for clients whose provider sends
    /// no plans of its own for the day; false when left out.
    #[serde(default)]
    pub plans_from_orders: bool,
    /// The windows, local `HH:MM-HH:MM` separated by spaces, in the day's
    /// order; the four usual rounds when left out.
    #[serde(default = "default_order_visit_windows")]
    #[schema(
        example = "07:00-09:00 11:00-13:00 16:00-18:00 19:30-21:30",
        pattern = "^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]( [0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]){0,7}$"
    )]
    pub order_visit_windows: String,
}

fn default_order_visit_windows() -> String {
    MunicipalitySettings::default().order_visit_windows
}

fn default_visit_tolerance() -> i32 {
    MunicipalitySettings::default().visit_tolerance_minutes
}

fn default_time_critical_tolerance() -> i32 {
    MunicipalitySettings::default().time_critical_tolerance_minutes
}

fn default_visit_escalation() -> i32 {
    MunicipalitySettings::default().visit_escalation_minutes
}

impl MunicipalityInput {
    fn validate(self) -> Result<(String, MunicipalitySettings), ValidationErrors> {
        let mut v = ValidationErrors::new();
        let name = v.text("name", &self.name, 200);
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            v.add(
                "time_zone",
                "unknown_time_zone",
                "expected an IANA time zone such as Europe/Stockholm",
            );
        }
        v.range(
            "tolerance_basis_points",
            self.tolerance_basis_points.into(),
            0,
            10_000,
        );
        let mut minute = |field: &str, text: &str| {
            parse_time_of_day(text).unwrap_or_else(|| {
                v.add(
                    field,
                    "invalid_time",
                    "expected HH:MM between 00:00 and 24:00",
                );
                0
            })
        };
        let start = minute("frame_window_start", &self.frame_window_start);
        let end = minute("frame_window_end", &self.frame_window_end);
        if start >= end && !v.0.iter().any(|e| e.field.starts_with("frame_window")) {
            v.add(
                "frame_window_end",
                "invalid_window",
                "the window must end after it starts",
            );
        }
        v.range(
            "care_plan_deadline_days",
            self.care_plan_deadline_days.into(),
            1,
            365,
        );
        v.range(
            "plan_follow_up_months",
            self.plan_follow_up_months.into(),
            1,
            60,
        );
        v.range(
            "individual_follow_up_months",
            self.individual_follow_up_months.into(),
            1,
            60,
        );
        v.range(
            "contact_person_days",
            self.contact_person_days.into(),
            1,
            365,
        );
        v.range("review_from_day", self.review_from_day.into(), 1, 28);
        v.range(
            "max_visit_minutes",
            self.max_visit_minutes.into(),
            15,
            24 * 60,
        );
        v.range(
            "care_plan_escalation_days",
            self.care_plan_escalation_days.into(),
            0,
            365,
        );
        v.range("plan_list_day", self.plan_list_day.into(), 1, 28);
        if let Some(w) = self.continuity_week {
            v.range("continuity_week", w.into(), 1, 53);
        }
        use hemtid_core::retention::{MAX_YEARS, MIN_ACCESS_LOG_YEARS};
        if self.access_log_retention_years < MIN_ACCESS_LOG_YEARS {
            v.add(
                "access_log_retention_years",
                "retention_too_short",
                "the access log is kept at least 5 years (HSLF-FS 2016:40 4 kap. 9 §)",
            );
        } else {
            v.range(
                "access_log_retention_years",
                self.access_log_retention_years.into(),
                MIN_ACCESS_LOG_YEARS.into(),
                MAX_YEARS.into(),
            );
        }
        v.range(
            "client_retention_years",
            self.client_retention_years.into(),
            1,
            MAX_YEARS.into(),
        );
        v.range(
            "visit_tolerance_minutes",
            self.visit_tolerance_minutes.into(),
            0,
            720,
        );
        v.range(
            "time_critical_tolerance_minutes",
            self.time_critical_tolerance_minutes.into(),
            0,
            720,
        );
        v.range(
            "visit_escalation_minutes",
            self.visit_escalation_minutes.into(),
            1,
            1440,
        );
        let windows = hemtid_core::planning::parse_windows(&self.order_visit_windows);
        if windows.is_none() {
            v.add(
                "order_visit_windows",
                "invalid_windows",
                "1 to 8 windows HH:MM-HH:MM, separated by spaces, each ending after it starts, in the day's order",
            );
        }
        let settings = MunicipalitySettings {
            time_zone: self.time_zone.trim().to_string(),
            tolerance_basis_points: self.tolerance_basis_points,
            frame_window_start_minute: start,
            frame_window_end_minute: end,
            care_plan_deadline_days: self.care_plan_deadline_days,
            plan_follow_up_months: self.plan_follow_up_months,
            individual_follow_up_months: self.individual_follow_up_months,
            contact_person_days: self.contact_person_days,
            review_from_day: self.review_from_day,
            month_convention: self.month_convention.as_str().to_string(),
            max_visit_minutes: self.max_visit_minutes,
            care_plan_escalation_days: self.care_plan_escalation_days,
            plan_list_day: self.plan_list_day,
            continuity_week: self.continuity_week,
            access_log_retention_years: self.access_log_retention_years,
            client_retention_years: self.client_retention_years,
            keep_research_sample: self.keep_research_sample,
            visit_tolerance_minutes: self.visit_tolerance_minutes,
            time_critical_tolerance_minutes: self.time_critical_tolerance_minutes,
            visit_escalation_minutes: self.visit_escalation_minutes,
            plans_from_orders: self.plans_from_orders,
            order_visit_windows: windows
                .map(|w| hemtid_core::planning::format_windows(&w))
                .unwrap_or_default(),
        };
        v.into_result((name, settings))
    }
}

/// `GET /api/v1/municipality`: the signed-in admin's municipality and its
/// rule settings.
#[utoipa::path(
    get,
    path = "/api/v1/municipality",
    tag = "integration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The municipality.", body = MunicipalityView),
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_municipality(
    state: web::Data<AppState>,
    Admin(p): Admin,
) -> Result<HttpResponse, ApiError> {
    let m = state
        .db(move |c| Ok(municipality::get(c, &p.municipality_id)?))
        .await?;
    Ok(HttpResponse::Ok().json(MunicipalityView::from(m)))
}

/// `PUT /api/v1/municipality`: every setting at once.
#[utoipa::path(
    put,
    path = "/api/v1/municipality",
    tag = "integration",
    security(("bearer" = [])),
    request_body = MunicipalityInput,
    responses(
        (status = 200, description = "The municipality as stored.", body = MunicipalityView),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn update_municipality(
    state: web::Data<AppState>,
    Admin(p): Admin,
    Json(input): Json<MunicipalityInput>,
) -> Result<HttpResponse, ApiError> {
    let (name, settings) = input.validate()?;
    let m = state
        .db(move |c| {
            Ok(municipality::update(
                c,
                &p.municipality_id,
                &name,
                &settings,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MunicipalityView::from(m)))
}

/// Query of `GET /api/v1/municipality/retention-runs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RetentionQuery {
    /// At most this many runs (1–1000, default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// What one retention run deleted: counts, never the data.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionRunView {
    pub id: String,
    /// RFC 3339, UTC.
    pub ran_at: String,
    /// Access-log records before this instant (RFC 3339, UTC) were due.
    pub access_log_before: String,
    /// Clients whose last order ended before this local date were due.
    pub orders_ended_before: NaiveDate,
    /// Clients whose records were deleted (the row stays, anonymised).
    pub clients_purged: i32,
    /// Due, but kept in the research sample (born on the 5th, 15th or 25th).
    pub clients_kept: i32,
    pub rows_deleted: i64,
    /// Rows deleted per table.
    pub counts: BTreeMap<String, i64>,
}

/// `GET /api/v1/municipality/retention-runs`: what retention deleted,
/// newest first (admins and auditors of the municipality).
#[utoipa::path(
    get,
    path = "/api/v1/municipality/retention-runs",
    tag = "integration",
    security(("bearer" = [])),
    params(RetentionQuery),
    responses(
        (status = 200, description = "Newest first.", body = crate::handlers::Items<RetentionRunView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn retention_runs(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<RetentionQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Admin, Role::Auditor])?;
    let limit = q.into_inner().limit.unwrap_or(100).clamp(1, 1000);
    let m = p.municipality_id.clone();
    let runs = state
        .db(move |c| Ok(retention_run::latest(c, &m, limit)?))
        .await?;
    let rfc = |t: chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let items = runs
        .into_iter()
        .map(|r| {
            let counts = serde_json::from_str(&r.counts).map_err(ApiError::internal)?;
            Ok(RetentionRunView {
                id: r.id,
                ran_at: rfc(r.ran_at),
                access_log_before: rfc(r.access_log_before),
                orders_ended_before: r.orders_ended_before,
                clients_purged: r.clients_purged,
                clients_kept: r.clients_kept,
                rows_deleted: r.rows_deleted,
                counts,
            })
        })
        .collect::<Result<Vec<RetentionRunView>, ApiError>>()?;
    Ok(HttpResponse::Ok().json(crate::handlers::Items { items }))
}
