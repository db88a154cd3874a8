//! A provider's month locked for the billing run: an admin may unlock it
//! to let a late change in (R3: the month is locked after review; later
//! changes need an unlock), with a reason, and every lock and unlock is
//! logged.

use super::list;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::contract::LockEventBody;
use hemtid_core::db::month_lock;
use hemtid_core::db::provider;
use hemtid_core::domain::YearMonth;
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/providers/{id}/months/{month}/unlock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlockInput {
    /// Why the month is opened again (kept in the log).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// The answer to an unlock.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthUnlocked {
    pub month: YearMonth,
    /// `false`: the month was not locked.
    pub unlocked: bool,
}

/// `POST /api/v1/providers/{id}/months/{month}/unlock`: an admin opens a
/// locked month again; the provider locks it anew after the change.
#[utoipa::path(
    post,
    path = "/api/v1/providers/{id}/months/{month}/unlock",
    tag = "provider",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The provider."),
        ("month" = YearMonth, Path, description = "The local month, `YYYY-MM`."),
    ),
    request_body = UnlockInput,
    responses(
        (status = 200, description = "Unlocked (or it was not locked).", body = MonthUnlocked),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn unlock_month(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(Uuid, YearMonth)>,
    Json(input): Json<UnlockInput>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Admin])?;
    p.person("a person unlocks a month")?;
    let mut v = ValidationErrors::new();
    let reason = v.text("reason", &input.reason, 2000);
    v.into_result(())?;
    let (provider_id, month) = path.into_inner();
    let at = state.clock.now().naive_utc();
    let unlocked = state
        .db(move |c| {
            let pr = provider::get(c, &p.municipality_id, &provider_id.to_string())?;
            Ok(month_lock::unlock_month(
                c, &pr.id, month, &p.subject, &reason, at,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MonthUnlocked { month, unlocked }))
}

/// `GET /api/v1/providers/{id}/months/{month}/lock-log`: every lock and
/// unlock of the month, oldest first (admins, and the provider's admins).
#[utoipa::path(
    get,
    path = "/api/v1/providers/{id}/months/{month}/lock-log",
    tag = "provider",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The provider."),
        ("month" = YearMonth, Path, description = "The local month, `YYYY-MM`."),
    ),
    responses(
        (status = 200, description = "The log.", body = super::Items<LockEventBody>),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn lock_log(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(Uuid, YearMonth)>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Admin, Role::ProviderAdmin, Role::FeeAdmin])?;
    let (provider_id, month) = path.into_inner();
    let provider_id = provider_id.to_string();
    if p.role == Role::ProviderAdmin && p.provider()? != provider_id {
        return Err(ApiError::not_found());
    }
    let items = state
        .db(move |c| {
            let pr = provider::get(c, &p.municipality_id, &provider_id)?;
            Ok(month_lock::lock_log(c, &pr.id, month)?)
        })
        .await?;
    Ok(list(items.iter().map(LockEventBody::from).collect()))
}
