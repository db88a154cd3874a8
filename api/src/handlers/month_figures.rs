//! A client's month as the caseworker's and provider's pages draw it: the
//! verdict per service, the days (visits against ordered daily visits,
//! declined visits, absences) and the last twelve months against the band.

use super::{client_in_reach, tz_of};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Principal;
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use hemtid_core::db::{figure, municipality, service};
use hemtid_core::domain::performed::minutes;
use hemtid_core::domain::{YearMonth, local_date};
use hemtid_core::evaluate::judge_month;
use hemtid_core::model::Role;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One service's month.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceFigures {
    pub service_id: String,
    pub code: String,
    pub name: String,
    /// The service's ordered minutes, less its part of absent days.
    pub expected_minutes: i64,
    pub performed_minutes: i64,
    /// Under a frame decision: the service's share of the month's
    /// expected total, split in proportion to the services' ordered
    /// minutes (the shares add up to the total; the per-service ordered
    /// minutes need not). Unset under a per-service decision.
    pub frame_share_minutes: Option<i64>,
    /// `within_band`, `under` or `over` under a per-service decision (R1);
    /// `not_judged` under a frame, where the total binds and time may move
    /// between services (R8).
    pub status: String,
}

/// One local day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayFigures {
    pub date: NaiveDate,
    /// What the orders ask for (R8); unset when they set no number.
    pub ordered_visits: Option<i64>,
    pub visits: i64,
    pub declined_visits: i64,
    pub performed_minutes: i64,
    pub absent: bool,
}

/// One month of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthPoint {
    pub month: String,
    pub expected_minutes: i64,
    pub performed_minutes: i64,
    pub variance_basis_points: Option<i64>,
    pub status: String,
}

/// The client's month with everything the page draws.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthFigures {
    pub client_id: String,
    pub client_name: String,
    pub month: String,
    /// `frame` or `per_service`; `none` without an order in the month.
    pub decision: String,
    pub tolerance_basis_points: i32,
    pub ordered_minutes: i64,
    /// Ordered minutes of absent days, taken out of the expected time.
    pub explained_minutes: i64,
    pub expected_minutes: i64,
    /// Performed minutes judged against the order.
    pub performed_minutes: i64,
    /// Performed minutes of services offered without a needs decision
    /// (SoL 2025:400): recorded, outside the variance.
    pub without_decision_minutes: i64,
    pub variance_minutes: i64,
    pub variance_basis_points: Option<i64>,
    /// `within_band`, `under` or `over` (R1).
    pub status: String,
    pub services: Vec<ServiceFigures>,
    pub days: Vec<DayFigures>,
    /// The twelve months up to this one, oldest first.
    pub history: Vec<MonthPoint>,
}

/// `GET /api/v1/clients/{id}/months/{month}/figures`: the month judged
/// against the order, with days and a year of history.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/months/{month}/figures",
    tag = "variance",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The client."),
        ("month" = YearMonth, Path, description = "The local month, `YYYY-MM`."),
    ),
    responses(
        (status = 200, description = "The month.", body = MonthFigures),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn month_figures(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[
        Role::Caseworker,
        Role::ProviderAdmin,
        Role::Admin,
        Role::FeeAdmin,
    ])?;
    let (id, month) = path.into_inner();
    let month: YearMonth = month.parse().map_err(|_| {
        ApiError::with_detail(crate::error::ErrorCode::InvalidPath, "the month is YYYY-MM")
    })?;
    let now = state.clock.now();
    let out = state
        .db(move |c| {
            let cl = client_in_reach(c, &p, &id.to_string(), now)?;
            let m = municipality::get(c, &p.municipality_id)?;
            let today = local_date(now, tz_of(&m)?);
            // The catalogue once, not a query per service or per month:
            // names, and the services without a needs decision.
            let services_of_m = service::list(c, &m.id)?;
            let undecided: std::collections::BTreeSet<String> = services_of_m
                .iter()
                .filter(|x| x.fields.without_decision)
                .map(|x| x.id.to_string())
                .collect();
            let j = judge_month(c, &m, &cl.id, month, today, &undecided)?;
            let per_day = figure::client_days(c, &cl.id, month)?;
            let mut days = Vec::new();
            let mut d = month.first_day();
            while d <= month.last_day() {
                let a = per_day.get(&d).copied().unwrap_or_default();
                days.push(DayFigures {
                    date: d,
                    ordered_visits: j.ordered.daily_visits(d),
                    visits: a.visits,
                    declined_visits: a.declined,
                    performed_minutes: minutes(a.seconds),
                    absent: j.absent_days.contains(&d),
                });
                let Some(n) = d.succ_opt() else { break };
                d = n;
            }
            let catalogue: std::collections::BTreeMap<String, (String, String)> = services_of_m
                .into_iter()
                .map(|x| (x.id.into_string(), (x.fields.code, x.fields.name)))
                .collect();
            let frame = j.ordered.any() && j.ordered.frame;
            let weights: Vec<i64> = j
                .verdict
                .services
                .values()
                .map(|s| s.expected_minutes.max(0))
                .collect();
            let shares = hemtid_core::domain::split::proportional(
                j.verdict.total.expected_minutes.max(0),
                &weights,
            );
            let mut services = Vec::new();
            for ((sid, s), share) in j.verdict.services.iter().zip(shares) {
                let (code, name) = catalogue.get(sid).cloned().unwrap_or_default();
                services.push(ServiceFigures {
                    service_id: sid.clone(),
                    code,
                    name,
                    expected_minutes: s.expected_minutes,
                    performed_minutes: s.performed_minutes,
                    frame_share_minutes: frame.then_some(share),
                    status: if frame {
                        "not_judged".into()
                    } else {
                        s.status.as_str().into()
                    },
                });
            }
            // The eleven months before, oldest first, then this one.
            let mut months = vec![month];
            for _ in 0..11 {
                let earlier = months[0].prev();
                months.insert(0, earlier);
            }
            let mut history = Vec::new();
            for mm in months {
                let (t, any) = if mm == month {
                    (j.verdict.total, j.ordered.any())
                } else {
                    let h = judge_month(c, &m, &cl.id, mm, today, &undecided)?;
                    (h.verdict.total, h.ordered.any())
                };
                if any {
                    history.push(MonthPoint {
                        month: mm.to_string(),
                        expected_minutes: t.expected_minutes,
                        performed_minutes: t.performed_minutes,
                        variance_basis_points: t.variance_basis_points,
                        status: t.status.as_str().into(),
                    });
                }
            }
            let t = &j.verdict.total;
            Ok(MonthFigures {
                client_id: cl.id.to_string(),
                client_name: format!("{} {}", cl.fields.given_name, cl.fields.family_name),
                month: month.to_string(),
                decision: if !j.ordered.any() {
                    "none"
                } else if j.ordered.frame {
                    "frame"
                } else {
                    "per_service"
                }
                .into(),
                tolerance_basis_points: m.settings.tolerance_basis_points,
                ordered_minutes: j.ordered.minutes,
                explained_minutes: j.verdict.explained_minutes,
                expected_minutes: t.expected_minutes,
                performed_minutes: t.performed_minutes,
                without_decision_minutes: minutes(j.undecided_seconds),
                variance_minutes: t.variance_minutes,
                variance_basis_points: t.variance_basis_points,
                status: j.status().as_str().into(),
                services,
                days,
                history,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
