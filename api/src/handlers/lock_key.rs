//! Digital keys: a care worker's phone gets a short-lived signed key for a
//! client's door lock; a provider admin revokes a care worker's keys at
//! once. Locks verify keys offline (see asyncapi.yaml).

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::Principal;
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::db::digital_key::{self, DigitalKey};
use hemtid_core::db::{access, device, new_id, refresh_token, user_account};
use hemtid_core::domain::local_date;
use hemtid_core::model::{DeviceKind, DeviceStatus, Role};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// How long a key opens the door: long enough to walk in, short enough
/// that a lost phone does not matter for long.
pub const KEY_TTL_SECONDS: i64 = 10 * 60;

/// A digital key for one lock.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// The signed key (JWT, EdDSA) to hand to the lock.
    pub key: String,
    /// Its id (`jti`); the lock reports it as `key_id`.
    pub key_id: String,
    /// The signing key's id (the JWT header's `kid`).
    pub kid: String,
    pub lock_id: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// What a revocation did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    /// Keys revoked (those not yet expired).
    pub revoked: usize,
}

/// `POST /api/v1/locks/{device_id}/key`.
#[utoipa::path(
    post,
    path = "/api/v1/locks/{device_id}/key",
    tag = "phone",
    security(("bearer" = [])),
    params(("device_id" = String, Path, description = "The lock.")),
    responses(
        (status = 201, description = "A key valid for ten minutes.", body = KeyView),
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn issue_key(
    state: web::Data<AppState>,
    p: Principal,
    device_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Staff])?;
    let keys = state.lock_keys.clone().ok_or_else(|| {
        ApiError::with_detail(ErrorCode::NotReady, "digital keys are not configured")
    })?;
    let now = state.clock.now();
    let view = state
        .db(move |c| {
            let provider = p.provider()?.to_string();
            // Only a lock of the care worker's provider, in the home of a
            // client with an order there today; anything else is not found.
            let lock = device::get(c, &provider, &device_id)?;
            let client = lock.client_id.clone().filter(|_| {
                lock.kind == DeviceKind::DoorLock && lock.status == DeviceStatus::Active
            });
            let Some(client) = client else {
                return Err(ApiError::not_found());
            };
            let today = local_date(now, hemtid_core::domain::STOCKHOLM);
            access::active_order(c, &client, &provider, today)?.ok_or_else(ApiError::not_found)?;
            let jti = new_id();
            let token = keys
                .issue(&jti, &lock.id, &p.subject, now.timestamp(), KEY_TTL_SECONDS)
                .map_err(ApiError::internal)?;
            let expires = now + chrono::Duration::seconds(KEY_TTL_SECONDS);
            digital_key::register_signing_key(c, keys.kid(), &keys.public_key(), now.naive_utc())?;
            digital_key::issue(
                c,
                &DigitalKey {
                    id: jti.clone(),
                    kid: keys.kid().to_string(),
                    device_id: lock.id.clone(),
                    staff_id: p.subject.clone().into(),
                    issued_at: now.naive_utc(),
                    expires_at: expires.naive_utc(),
                    revoked_at: None,
                },
            )?;
            Ok(KeyView {
                key: token,
                key_id: jti,
                kid: keys.kid().to_string(),
                lock_id: lock.id.to_string(),
                expires_at: expires.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `POST /api/v1/users/{id}/keys/revoke`: every key of a care worker of
/// the provider stops opening doors; the locks are told at once.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/keys/revoke",
    tag = "devices",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The care worker.")),
    responses(
        (status = 200, description = "How many keys were revoked.", body = Revoked),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn revoke_keys(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::ProviderAdmin])?;
    let at = state.clock.now().naive_utc();
    let n = state
        .db(move |c| {
            let staff = user_in_reach(c, &p, &id.to_string())?;
            let n = digital_key::revoke_staff(c, &staff.id, at)?;
            // A lost phone: its sign-ins end too, or it would fetch a new
            // key at once.
            refresh_token::revoke_user(c, &staff.id, at)?;
            Ok(n)
        })
        .await?;
    crate::sessions::forget();
    Ok(HttpResponse::Ok().json(Revoked { revoked: n }))
}

/// User `id` of the principal's municipality, for a provider admin only
/// one of her provider's (others are 404, as if they did not exist).
fn user_in_reach(
    c: &mut hemtid_core::db::DbConn,
    p: &Principal,
    id: &str,
) -> Result<user_account::UserAccount, ApiError> {
    let user = user_account::get(c, &p.municipality_id, id)?;
    if p.role == Role::ProviderAdmin && user.fields.provider_id.as_deref() != Some(p.provider()?) {
        return Err(ApiError::not_found());
    }
    Ok(user)
}

/// How many sign-ins were ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    /// Refresh tokens revoked (each sign-in has one live).
    pub ended: usize,
}

/// `POST /api/v1/users/{id}/sessions/end`: every sign-in of a user ends
/// now, its access tokens with it (a lost or stolen phone). The provider
/// admin ends her care workers'; the admin anyone's in the municipality.
/// The user signs in again with the password; keys are revoked apart
/// (`…/keys/revoke`, which ends the sign-ins too).
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/sessions/end",
    tag = "devices",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user.")),
    responses(
        (status = 200, description = "The sign-ins ended.", body = Ended),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn end_sessions(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::ProviderAdmin, Role::Admin])?;
    let at = state.clock.now().naive_utc();
    let ended = state
        .db(move |c| {
            let user = user_in_reach(c, &p, &id.to_string())?;
            Ok(refresh_token::revoke_user(c, &user.id, at)?)
        })
        .await?;
    crate::sessions::forget();
    Ok(HttpResponse::Ok().json(Ended { ended }))
}
