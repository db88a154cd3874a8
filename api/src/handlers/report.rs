//! Monthly reports: performed against ordered per client (R1, R3), the
//! fee administrators' months above granted time (R5) and the providers'
//! payment basis. JSON, or CSV (Swedish headings, `;`, h:mm) with
//! `Accept: text/csv` or `?format=csv`.

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::Principal;
use crate::openapi::problem;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use hemtid_core::db::municipality::{self, Municipality};
use hemtid_core::db::{DbConn, StoreError};
use hemtid_core::domain::{YearMonth, local_date};
use hemtid_core::model::Role;
use hemtid_core::report::{self, FeeRow, KsiRow, MonthlyRow, PaymentRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Query of `GET /api/v1/reports/monthly`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MonthlyQuery {
    /// The local month, `YYYY-MM`.
    pub month: YearMonth,
    pub provider_id: Option<Uuid>,
    /// Clients whose caseworker is in this authority unit.
    pub unit_id: Option<Uuid>,
    pub caseworker_id: Option<Uuid>,
    /// `csv` for a CSV file (as `Accept: text/csv`).
    #[param(pattern = "^(csv|json)$")]
    pub format: Option<String>,
}

/// Query of the fee report and the payment basis.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// The local month, `YYYY-MM`.
    pub month: YearMonth,
    /// `csv` for a CSV file (as `Accept: text/csv`).
    #[param(pattern = "^(csv|json)$")]
    pub format: Option<String>,
}

/// A report's rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Report<T> {
    pub month: YearMonth,
    pub items: Vec<T>,
}

fn wants_csv(req: &HttpRequest, format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        Some("csv") => return Ok(true),
        Some("json") => return Ok(false),
        Some(_) => {
            return Err(ApiError::with_detail(
                ErrorCode::InvalidQuery,
                "format: csv or json",
            ));
        }
        None => {}
    }
    Ok(req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv")))
}

/// A report as a CSV file to save as `name`.
fn csv_file(name: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

/// What a report answer needs besides its rows.
struct Parts<T> {
    /// For the CSV file's name.
    name: &'static str,
    month: YearMonth,
    csv: bool,
    to_csv: fn(&[T]) -> String,
}

/// Builds a report's rows for the principal's municipality (with its
/// local date) and answers them as JSON or as a CSV file.
async fn answer<T, F>(
    state: &web::Data<AppState>,
    p: Principal,
    parts: Parts<T>,
    rows: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConn, &Municipality, YearMonth, NaiveDate) -> Result<Vec<T>, StoreError>
        + Send
        + 'static,
{
    let now = state.clock.now();
    let month = parts.month;
    let items = state
        .db(move |c| {
            let m = municipality::get(c, &p.municipality_id)?;
            let today = local_date(now, super::tz_of(&m)?);
            Ok(rows(c, &m, month, today)?)
        })
        .await?;
    if parts.csv {
        return Ok(csv_file(
            &format!("hemtid-{}-{month}.csv", parts.name),
            (parts.to_csv)(&items),
        ));
    }
    Ok(HttpResponse::Ok().json(Report { month, items }))
}

/// The clients a principal's report covers: admins and fee
/// administrators all (and may filter), caseworkers their unit's,
/// provider admins their provider's; others none.
fn reach(
    p: &Principal,
    provider_id: Option<Uuid>,
    unit_id: Option<Uuid>,
    caseworker_id: Option<Uuid>,
) -> Result<report::Filter, ApiError> {
    let mut filter = report::Filter {
        provider_id: provider_id.map(|u| u.to_string()).map(Into::into),
        unit_id: unit_id.map(|u| u.to_string()),
        caseworker_id: caseworker_id.map(|u| u.to_string()).map(Into::into),
    };
    match p.role {
        Role::Admin | Role::FeeAdmin => {}
        Role::Caseworker => {
            filter.unit_id = Some(
                p.unit_id
                    .clone()
                    .ok_or_else(|| ApiError::with_detail(ErrorCode::Forbidden, "needs a unit"))?,
            );
        }
        Role::ProviderAdmin => filter.provider_id = Some(p.provider()?.to_string().into()),
        Role::Staff | Role::Auditor => {
            return Err(ApiError::with_detail(
                ErrorCode::Forbidden,
                "reports are for the municipality and the provider's admins",
            ));
        }
    }
    Ok(filter)
}

/// `GET /api/v1/reports/monthly?month=`: every client's month.
///
/// Admins and fee administrators see all clients (and may filter);
/// caseworkers their unit's, provider admins their provider's.
#[utoipa::path(
    get,
    path = "/api/v1/reports/monthly",
    tag = "reports",
    security(("bearer" = [])),
    params(MonthlyQuery),
    responses(
        (status = 200, description = "The month per client (JSON, or CSV with Accept: text/csv).",
            content((Report<MonthlyRow> = "application/json"), (String = "text/csv"))),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn monthly_report(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    q: web::Query<MonthlyQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let csv = wants_csv(&req, q.format.as_deref())?;
    let filter = reach(&p, q.provider_id, q.unit_id, q.caseworker_id)?;
    let parts = Parts {
        name: "manad",
        month: q.month,
        csv,
        to_csv: report::monthly_csv,
    };
    // A second connection reads the ordered time alongside.
    let pool = state.pool.clone();
    answer(&state, p, parts, move |c, m, month, today| {
        report::monthly_with(c, Some(&pool), m, month, today, &filter)
    })
    .await
}

/// `GET /api/v1/reports/monthly-by-ksi?month=`: the month's ordered and
/// performed time per KSI code of the catalogue's services
/// (Socialstyrelsen's classification of social services' interventions),
/// with the time of services offered without a needs decision beside it.
/// The same clients and filters as the monthly report.
#[utoipa::path(
    get,
    path = "/api/v1/reports/monthly-by-ksi",
    tag = "reports",
    security(("bearer" = [])),
    params(MonthlyQuery),
    responses(
        (status = 200, description = "The month per KSI code (JSON, or CSV with Accept: text/csv).",
            content((Report<KsiRow> = "application/json"), (String = "text/csv"))),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn ksi_report(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    q: web::Query<MonthlyQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let csv = wants_csv(&req, q.format.as_deref())?;
    let filter = reach(&p, q.provider_id, q.unit_id, q.caseworker_id)?;
    let parts = Parts {
        name: "ksi",
        month: q.month,
        csv,
        to_csv: report::ksi_csv,
    };
    answer(&state, p, parts, move |c, m, month, _| {
        report::monthly_by_ksi(c, m, month, &filter)
    })
    .await
}

/// `GET /api/v1/reports/fees?month=`: every client whose performed time
/// exceeds the granted time (R5), for the fee administrators.
#[utoipa::path(
    get,
    path = "/api/v1/reports/fees",
    tag = "reports",
    security(("bearer" = [])),
    params(MonthQuery),
    responses(
        (status = 200, description = "Months above granted time (JSON, or CSV).",
            content((Report<FeeRow> = "application/json"), (String = "text/csv"))),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn fee_report(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    q: web::Query<MonthQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::FeeAdmin, Role::Admin])?;
    let q = q.into_inner();
    let parts = Parts {
        name: "avgifter",
        month: q.month,
        csv: wants_csv(&req, q.format.as_deref())?,
        to_csv: report::fees_csv,
    };
    answer(&state, p, parts, |c, m, month, today| {
        report::fees(c, m, month, today)
    })
    .await
}

/// `GET /api/v1/reports/payment-basis?month=`: performed minutes per
/// provider and service group. Provider admins see their own.
#[utoipa::path(
    get,
    path = "/api/v1/reports/payment-basis",
    tag = "reports",
    security(("bearer" = [])),
    params(MonthQuery),
    responses(
        (status = 200, description = "Performed time per provider and group (JSON, or CSV).",
            content((Report<PaymentRow> = "application/json"), (String = "text/csv"))),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn payment_report(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    q: web::Query<MonthQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::FeeAdmin, Role::Admin, Role::ProviderAdmin])?;
    let own = match p.role {
        Role::ProviderAdmin => Some(p.provider()?.to_string()),
        _ => None,
    };
    let q = q.into_inner();
    let parts = Parts {
        name: "utford-tid",
        month: q.month,
        csv: wants_csv(&req, q.format.as_deref())?,
        to_csv: report::payment_csv,
    };
    answer(&state, p, parts, move |c, m, month, _| {
        report::payment_basis(c, m, month, own.as_deref())
    })
    .await
}

/// Query of `GET /api/v1/reports/measures`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MeasuresQuery {
    /// The first local day; by default the Monday of the municipality's
    /// national measurement weeks (`continuity_week`) in the latest year
    /// they have ended, or without it the two whole weeks before this one.
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[param(value_type = Option<crate::dates::Day>)]
    pub from: Option<NaiveDate>,
    /// The last local day, inclusive; by default 13 days after `from`. At
    /// most 92 days after it.
    #[serde(default, deserialize_with = "crate::dates::opt_day")]
    #[param(value_type = Option<crate::dates::Day>)]
    pub to: Option<NaiveDate>,
    pub provider_id: Option<Uuid>,
    /// Clients whose caseworker is in this authority unit.
    pub unit_id: Option<Uuid>,
    pub caseworker_id: Option<Uuid>,
    /// `csv` for the clients' rows as a CSV file (as `Accept: text/csv`).
    #[param(pattern = "^(csv|json)$")]
    pub format: Option<String>,
}

/// `GET /api/v1/reports/measures?from=&to=`: personalkontinuitet (the
/// different care workers a client meets in the first 14 days: clients of
/// 65 or more with two visits every day, 07:00–22:00, without alarm visits
/// and meal deliveries), fast omsorgskontakt (the contact person's and
/// deputy's share of visits and time, R13) and the verification rate (visits
/// verified at both ends by lock or NFC), per client, provider, authority
/// unit and municipality, with the national figure beside them.
///
/// Never per care worker: see `hemtid_core::measures`. Admins and fee
/// administrators see all clients (and may filter); caseworkers their
/// unit's, provider admins their provider's.
#[utoipa::path(
    get,
    path = "/api/v1/reports/measures",
    tag = "reports",
    security(("bearer" = [])),
    params(MeasuresQuery),
    responses(
        (status = 200, description = "The measures (JSON, or the clients' rows as CSV with Accept: text/csv).",
            content((hemtid_core::measures::Measures = "application/json"), (String = "text/csv"))),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn measures_report(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    q: web::Query<MeasuresQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let csv = wants_csv(&req, q.format.as_deref())?;
    let filter = reach(&p, q.provider_id, q.unit_id, q.caseworker_id)?;
    let now = state.clock.now();
    let out = state
        .db(move |c| {
            let m = municipality::get(c, &p.municipality_id)?;
            let today = local_date(now, super::tz_of(&m)?);
            let week = m
                .settings
                .continuity_week
                .and_then(|w| u32::try_from(w).ok());
            let from = q
                .from
                .unwrap_or_else(|| hemtid_core::domain::continuity::default_window(today, week));
            let to = q.to.unwrap_or(from + chrono::Days::new(13));
            if to < from || to > from + chrono::Days::new(92) {
                return Err(ApiError::with_detail(
                    ErrorCode::InvalidQuery,
                    "to: on or after from, at most 92 days after it",
                ));
            }
            Ok(hemtid_core::measures::measures(
                c, &m, from, to, today, &filter,
            )?)
        })
        .await?;
    if csv {
        return Ok(csv_file(
            &format!("hemtid-matt-{}-{}.csv", out.from, out.to),
            hemtid_core::measures::clients_csv(&out),
        ));
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/v1/reports/punctuality?month=`: the month's planned visits
/// per provider and authority unit (the clients' caseworkers'), and for
/// the municipality: planned, performed in time or late beyond the
/// tolerance, missed, still pending, the time-critical ones and the
/// visits no plan was kept by. Each plan's state is as at now, so this
/// month's may still change.
///
/// Never per care worker. Admins and fee administrators see all (and may
/// filter); caseworkers their unit's clients, provider admins their
/// provider's plans.
#[utoipa::path(
    get,
    path = "/api/v1/reports/punctuality",
    tag = "reports",
    security(("bearer" = [])),
    params(MonthlyQuery),
    responses(
        (status = 200, description = "The month's punctuality (JSON, or CSV with Accept: text/csv).",
            content((hemtid_core::report::Punctuality = "application/json"), (String = "text/csv"))),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn punctuality_report(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    q: web::Query<MonthlyQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let csv = wants_csv(&req, q.format.as_deref())?;
    let filter = reach(&p, q.provider_id, q.unit_id, q.caseworker_id)?;
    let now = state.clock.now();
    let month = q.month;
    let out = state
        .db(move |c| {
            let m = municipality::get(c, &p.municipality_id)?;
            Ok(report::punctuality(c, &m, month, now, &filter)?)
        })
        .await?;
    if csv {
        return Ok(csv_file(
            &format!("hemtid-punktlighet-{month}.csv"),
            report::punctuality_csv(&out),
        ));
    }
    Ok(HttpResponse::Ok().json(out))
}
