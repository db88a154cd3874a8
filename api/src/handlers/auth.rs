//! Sign-in and the signed-in user's own profile.

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpRequest, HttpResponse, web};
use hemtid_core::auth;
use hemtid_core::contract::UserAccountBody;
use hemtid_core::db::refresh_token::{self, RefreshError};
use hemtid_core::db::user_account::{self, UserAccount};
use hemtid_core::model::Role;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use utoipa::ToSchema;

/// `POST /api/v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// A successful sign-in or refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid.
    pub expires_in: i64,
    /// Send it to `/auth/refresh` for the next pair; it works once.
    pub refresh_token: String,
    /// Seconds the refresh token is valid.
    pub refresh_expires_in: i64,
    pub user: UserAccountBody,
}

/// Body of `/auth/refresh` and `/auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

pub(crate) fn tokens(
    state: &AppState,
    user: UserAccount,
    sid: &str,
    refresh: String,
) -> Result<TokenResponse, ApiError> {
    let access = state
        .keys
        .issue(&user, sid, chrono::Utc::now().timestamp())
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: state.keys.ttl_seconds(),
        refresh_token: refresh,
        refresh_expires_in: state.keys.refresh_ttl_seconds(),
        user: UserAccountBody::from(&user),
    })
}

/// `POST /api/v1/auth/login`: an access token and a refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse),
        problem::JsonBody,
        problem::Unauthorized,
        problem::Forbidden,
        problem::TooManyRequests,
        problem::Internal,
    ),
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let username = body.username.trim().to_lowercase();
    let address = crate::client_address(&req, &state.trusted_proxies());
    // Checked and counted in one step: concurrent attempts are counted.
    let attempt = state
        .throttle
        .lock()
        .map_err(|_| ApiError::internal("throttle lock poisoned"))?
        .begin(&username, &address, Instant::now())
        .map_err(ApiError::retry_after)?;
    let refresh_ttl = state.keys.refresh_ttl_seconds();
    let providers = state.identity_providers();
    // Lookup, argon2 and the refresh token all run on the blocking pool.
    let signed_in = state
        .db(move |c| {
            let user = user_account::find_by_username(c, &username)?;
            let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
            let ok = auth::verify_password(&body.password, hash);
            let Some(user) = user.filter(|u| ok && u.fields.active) else {
                return Ok(None);
            };
            // Told only to whoever knows the password; without identity
            // providers there is nothing to look up.
            if !providers.is_empty() {
                let m = hemtid_core::db::municipality::get(c, &user.municipality_id)?;
                if !providers.password_login(&m.code) {
                    return Err(ApiError::new(ErrorCode::PasswordLoginDisabled));
                }
            }
            let sid = hemtid_core::db::new_id();
            let refresh =
                refresh_token::issue(c, &user.id, &sid, hemtid_core::db::now(), refresh_ttl)
                    .map_err(ApiError::internal)?;
            Ok(Some((user, sid, refresh)))
        })
        .await?;
    let Some((user, sid, refresh)) = signed_in else {
        // Already counted when it was let through.
        return Err(ApiError::new(ErrorCode::InvalidCredentials));
    };
    state
        .throttle
        .lock()
        .map_err(|_| ApiError::internal("throttle lock poisoned"))?
        .succeeded(&attempt);
    tracing::info!(user_id = %user.id, role = %user.fields.role, "signed in");
    Ok(HttpResponse::Ok().json(tokens(&state, user, &sid, refresh)?))
}

/// `POST /api/v1/auth/refresh`: trades a refresh token for a new pair.
///
/// The refresh token works once; presenting a used one again ends the whole
/// sign-in (`refresh_token_reused`).
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access and refresh token.", body = TokenResponse),
        problem::JsonBody,
        problem::Unauthorized,
        problem::Internal,
    ),
)]
pub async fn refresh(
    state: web::Data<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let ttl = state.keys.refresh_ttl_seconds();
    let rotated = state
        .db(move |c| {
            refresh_token::rotate(c, &body.refresh_token, hemtid_core::db::now(), ttl).map_err(
                |e| match e {
                    RefreshError::Reused => {
                        tracing::warn!(
                            "a rotated refresh token was presented again; its sign-in is revoked"
                        );
                        // The copied sign-in's access tokens end too.
                        crate::sessions::forget();
                        ApiError::new(ErrorCode::RefreshTokenReused)
                    }
                    RefreshError::Store(e) => e.into(),
                    RefreshError::Auth(e) => ApiError::internal(e),
                    other => {
                        ApiError::with_detail(ErrorCode::InvalidRefreshToken, other.to_string())
                    }
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(tokens(
        &state,
        rotated.user,
        &rotated.family_id,
        rotated.token,
    )?))
}

/// `POST /api/v1/auth/logout`: ends the sign-in the refresh token belongs
/// to, and the access tokens issued to it.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out (also for an unknown token)."),
        problem::JsonBody,
        problem::Internal,
    ),
)]
pub async fn logout(
    state: web::Data<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .db(move |c| {
            Ok(refresh_token::revoke_by_token(
                c,
                &body.refresh_token,
                hemtid_core::db::now(),
            )?)
        })
        .await?;
    // Its access tokens end with it.
    crate::sessions::forget();
    Ok(HttpResponse::NoContent().finish())
}

/// Who `GET /api/v1/me` is: a user account, or the case-system integration.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Me {
    User(UserAccountBody),
    Integration(IntegrationMe),
}

/// An integration signed in with an integration token: the case system
/// (role `admin`), or a provider's planning system (role
/// `provider_admin` with its `provider_id`, reaching only the provider's
/// planned visits, its clients and this).
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationMe {
    /// `integration:<token id>`.
    pub subject: String,
    pub role: Role,
    pub municipality_id: String,
    /// A planning system's provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
}

/// `GET /api/v1/me`: the signed-in account.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account.", body = Me),
        problem::Unauthorized,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn me(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    if p.subject.starts_with("integration:") {
        return Ok(HttpResponse::Ok().json(Me::Integration(IntegrationMe {
            subject: p.subject,
            role: p.role,
            municipality_id: p.municipality_id,
            provider_id: p.provider_id,
        })));
    }
    let user = state
        .db(move |c| Ok(user_account::get(c, &p.municipality_id, &p.subject)?))
        .await?;
    Ok(HttpResponse::Ok().json(Me::User(UserAccountBody::from(&user))))
}
