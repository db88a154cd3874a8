//! Staff credentials: the fob or card a device reads to know the care
//! worker, registered by the provider admin.

use super::device::provider_admin;
use super::{Items, list};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::contract::StaffCredentialBody;
use hemtid_core::db::staff_credential::{self, StaffCredential};
use hemtid_core::db::user_account;
use hemtid_core::model::CredentialKind;
use hemtid_core::validate::ValidationErrors;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/staff-credentials`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialInput {
    /// As devices report it, e.g. a fob's serial.
    #[schema(min_length = 1, max_length = 200)]
    pub credential: String,
    pub staff_id: Uuid,
    /// `key_fob`, `staff_tag` or `phone_key`.
    #[schema(pattern = "^(key_fob|staff_tag|phone_key)$")]
    pub kind: String,
}

/// `POST /api/v1/staff-credentials`: maps a credential to a care worker.
#[utoipa::path(
    post,
    path = "/api/v1/staff-credentials",
    tag = "devices",
    security(("bearer" = [])),
    request_body = CredentialInput,
    responses(
        (status = 201, description = "The credential, mapped to the care worker.", body = StaffCredentialBody),
        problem::JsonBody,
        problem::SignedIn,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn add_credential(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<CredentialInput>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let mut v = ValidationErrors::new();
    let credential = v.text("credential", &input.credential, 200);
    let kind = CredentialKind::parse(&input.kind);
    if kind.is_none() {
        v.add("kind", "invalid_value", "key_fob, staff_tag or phone_key");
    }
    let at = state.clock.now().naive_utc();
    let created = state
        .db(move |c| {
            let staff = input.staff_id.to_string();
            match user_account::get(c, &p.municipality_id, &staff) {
                Ok(u)
                    if u.fields.role == hemtid_core::model::Role::Staff
                        && u.fields.provider_id.as_deref() == Some(provider.as_str()) => {}
                Ok(_) | Err(hemtid_core::db::StoreError::NotFound) => v.add(
                    "staff_id",
                    "unknown_reference",
                    "no such care worker at your provider",
                ),
                Err(e) => return Err(e.into()),
            }
            let kind = v
                .into_result(kind)?
                .ok_or_else(|| ApiError::internal("kind not validated"))?;
            let row = StaffCredential {
                municipality_id: p.municipality_id.clone().into(),
                credential,
                staff_id: staff.into(),
                kind,
                active: true,
                created_at: at,
                revoked_at: None,
            };
            staff_credential::create(c, &row)
                .map_err(|e| super::conflict_detail(e, "the credential is registered"))
        })
        .await?;
    Ok(HttpResponse::Created().json(StaffCredentialBody::from(&created)))
}

/// `GET /api/v1/staff-credentials`: the provider's care workers' credentials.
#[utoipa::path(
    get,
    path = "/api/v1/staff-credentials",
    tag = "devices",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The provider's care workers' credentials.", body = Items<StaffCredentialBody>),
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_credentials(
    state: web::Data<AppState>,
    p: Principal,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let items = state
        .db(move |c| {
            let staff: Vec<String> = user_account::list(c, &p.municipality_id)?
                .into_iter()
                .filter(|u| u.fields.provider_id.as_deref() == Some(provider.as_str()))
                .map(|u| u.id.into_string())
                .collect();
            Ok(staff_credential::for_staff(c, &staff)?)
        })
        .await?;
    Ok(list(items.iter().map(StaffCredentialBody::from).collect()))
}

/// `POST /api/v1/staff-credentials/{credential}/revoke`.
#[utoipa::path(
    post,
    path = "/api/v1/staff-credentials/{credential}/revoke",
    tag = "devices",
    security(("bearer" = [])),
    params(("credential" = String, Path, description = "As devices report it.")),
    responses(
        (status = 204, description = "Revoked."),
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn revoke_credential(
    state: web::Data<AppState>,
    p: Principal,
    credential: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    state
        .db(move |c| {
            let cred = staff_credential::get(c, &p.municipality_id, &credential)?;
            let staff = user_account::get(c, &p.municipality_id, &cred.staff_id)?;
            if staff.fields.provider_id.as_deref() != Some(provider.as_str()) {
                return Err(ApiError::not_found());
            }
            Ok(staff_credential::revoke(
                c,
                &p.municipality_id,
                &credential,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
