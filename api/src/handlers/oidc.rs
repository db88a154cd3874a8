//! Sign-in through the municipality's identity provider (OpenID Connect,
//! authorization code flow with PKCE), for the web pages and for phones
//! (RFC 8252: an in-app browser, then the redirect back to the app).
//!
//! 1. The page or app makes its own PKCE verifier and sends its challenge
//!    to `GET /auth/oidc/{kommunkod}/authorize`, which keeps a new state,
//!    nonce and hemtid's own PKCE verifier and redirects to the provider.
//! 2. The provider sends the user back to the registered redirect URI
//!    (hemtid's `/inloggning` page, or the app's) with `code` and `state`.
//! 3. The page or app posts both with its verifier to `/auth/oidc/token`:
//!    hemtid takes the state once, exchanges the code with its client
//!    secret and verifier, checks the ID token and signs in the account
//!    whose `external_id` is the configured claim's value.
//!
//! A code caught on its way back to a phone (another app claiming the
//! scheme) is worth nothing without the app's verifier.

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::Json;
use crate::openapi::problem;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use hemtid_core::auth::oidc::{self, IdentityProvider, OidcError};
use hemtid_core::db::oidc_login::{self, NewLogin, StateError};
use hemtid_core::db::{municipality, refresh_token, user_account};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

impl From<OidcError> for ApiError {
    fn from(e: OidcError) -> ApiError {
        let code = match e {
            OidcError::NotConfigured | OidcError::Config(_) => ErrorCode::OidcNotConfigured,
            OidcError::Unavailable(_) => ErrorCode::OidcProviderUnavailable,
            OidcError::CodeRejected(_) => ErrorCode::OidcCodeRejected,
            OidcError::WrongIssuer => ErrorCode::OidcWrongIssuer,
            OidcError::WrongAudience => ErrorCode::OidcWrongAudience,
            OidcError::Expired => ErrorCode::OidcTokenExpired,
            OidcError::InvalidToken(_) => ErrorCode::OidcInvalidToken,
            OidcError::ClaimMissing => ErrorCode::OidcClaimMissing,
        };
        // What went wrong, for the operator; never a claim's value.
        tracing::warn!(code = code.as_str(), reason = %e, "sign-in through the identity provider refused");
        ApiError::with_detail(code, e.to_string())
    }
}

/// A municipality whose staff sign in through its identity provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityProviderView {
    /// Kommunkod, for `/auth/oidc/{kommunkod}/authorize`.
    pub municipality_code: String,
    pub municipality_name: String,
    /// The sign-in button's text (Swedish).
    pub label: String,
    /// Whether local passwords also work there.
    pub password_login: bool,
    /// Whether the phone app can sign in through it.
    pub app: bool,
}

/// `GET /api/v1/auth/identity-providers`: where one can sign in with
/// e-identification (for the sign-in page and the app).
#[utoipa::path(
    get,
    path = "/api/v1/auth/identity-providers",
    tag = "auth",
    responses(
        (status = 200, description = "The configured identity providers.", body = super::Items<IdentityProviderView>),
        problem::Internal,
    ),
)]
pub async fn list_identity_providers(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let providers = state.identity_providers().all();
    let items = state
        .db(move |c| {
            let mut items = Vec::new();
            for p in providers {
                let Some(m) = municipality::find_by_code(c, &p.config.municipality)? else {
                    continue;
                };
                items.push(IdentityProviderView {
                    municipality_code: m.code,
                    label: p
                        .config
                        .label
                        .clone()
                        .unwrap_or_else(|| format!("Logga in med e-legitimation ({})", m.name)),
                    municipality_name: m.name,
                    password_login: p.config.password_login,
                    app: p.config.app_redirect_uri.is_some(),
                });
            }
            Ok(items)
        })
        .await?;
    Ok(super::list(items))
}

/// Who the sign-in is for: the web pages or the phone app.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OidcClient {
    #[default]
    Web,
    App,
}

/// Query of `GET /api/v1/auth/oidc/{kommunkod}/authorize`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeQuery {
    /// `web` (back to `/inloggning`) or `app` (back to the app's
    /// registered redirect URI).
    #[serde(default)]
    #[param(inline)]
    pub client: OidcClient,
    /// The page's or app's own PKCE challenge: base64url SHA-256 of its
    /// verifier (RFC 7636 S256), shown again at `/auth/oidc/token`.
    #[param(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub code_challenge: String,
}

/// `GET /api/v1/auth/oidc/{kommunkod}/authorize`: starts a sign-in and
/// redirects (302) to the municipality's identity provider.
#[utoipa::path(
    get,
    path = "/api/v1/auth/oidc/{kommunkod}/authorize",
    tag = "auth",
    params(("kommunkod" = String, Path, description = "The municipality's kommunkod."), AuthorizeQuery),
    responses(
        (status = 302, description = "To the identity provider.",
         headers(("Location" = String, description = "The provider's authorization endpoint."))),
        problem::BadRequest,
        problem::NotFound,
        problem::BadGateway,
        problem::Internal,
    ),
)]
pub async fn authorize(
    state: web::Data<AppState>,
    code: web::Path<String>,
    q: web::Query<AuthorizeQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    if q.code_challenge.len() != 43
        || !q
            .code_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::with_detail(
            ErrorCode::InvalidQuery,
            "code_challenge: the base64url SHA-256 of a PKCE verifier (43 characters)",
        ));
    }
    let provider = provider_of(&state, &code)?;
    let redirect_uri = match q.client {
        OidcClient::Web => provider.config.web_redirect_uri.clone(),
        OidcClient::App => provider.config.app_redirect_uri.clone().ok_or_else(|| {
            ApiError::with_detail(
                ErrorCode::OidcNotConfigured,
                "this municipality's identity provider has no redirect URI for the app",
            )
        })?,
    };
    // The provider is asked (discovery) without holding a connection.
    let started = {
        let (provider, redirect_uri) = (provider.clone(), redirect_uri.clone());
        web::block(move || provider.start(&redirect_uri))
            .await
            .map_err(ApiError::internal)??
    };
    let location = started.authorization_url.clone();
    state
        .db(move |c| {
            let m = municipality::find_by_code(c, &provider.config.municipality)?
                .ok_or_else(|| ApiError::new(ErrorCode::OidcNotConfigured))?;
            oidc_login::begin(
                c,
                &NewLogin {
                    state: &started.state,
                    municipality_id: &m.id,
                    redirect_uri: &redirect_uri,
                    nonce: &started.nonce,
                    pkce_verifier: &started.pkce_verifier,
                    client_challenge: &q.code_challenge,
                },
                hemtid_core::db::now(),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Body of `POST /api/v1/auth/oidc/token`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcTokenRequest {
    /// `state` of the redirect back from the provider.
    pub state: String,
    /// `code` of the redirect back from the provider.
    pub code: String,
    /// The verifier whose challenge was sent to `authorize` (RFC 7636).
    #[schema(pattern = "^[A-Za-z0-9._~-]{43,128}$")]
    pub code_verifier: String,
}

/// `POST /api/v1/auth/oidc/token`: finishes a sign-in through the
/// identity provider; the same tokens as `/auth/login`.
#[utoipa::path(
    post,
    path = "/api/v1/auth/oidc/token",
    tag = "auth",
    request_body = OidcTokenRequest,
    responses(
        (status = 200, description = "Signed in.", body = super::auth::TokenResponse),
        problem::JsonBody,
        problem::Unauthorized,
        problem::Forbidden,
        problem::NotFound,
        problem::BadGateway,
        problem::Internal,
    ),
)]
pub async fn token(
    state: web::Data<AppState>,
    Json(body): Json<OidcTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    if !oidc::valid_verifier(&body.code_verifier) {
        return Err(ApiError::field(
            "code_verifier",
            "invalid",
            "an RFC 7636 verifier: 43-128 characters of A-Z a-z 0-9 - . _ ~",
        ));
    }
    if body.state.len() > 256 || body.code.len() > 2048 {
        return Err(ApiError::with_detail(
            ErrorCode::OidcUnknownState,
            "state or code too long",
        ));
    }
    let providers = state.identity_providers();
    let refresh_ttl = state.keys.refresh_ttl_seconds();
    let verifier = body.code_verifier.clone();
    let (login, m) = state
        .db(move |c| {
            let login =
                oidc_login::take(c, &body.state, hemtid_core::db::now()).map_err(|e| match e {
                    StateError::Unknown => ApiError::new(ErrorCode::OidcUnknownState),
                    StateError::Replayed => ApiError::new(ErrorCode::OidcStateReplayed),
                    StateError::Expired => ApiError::new(ErrorCode::OidcStateExpired),
                    StateError::Store(e) => e.into(),
                })?;
            if oidc::pkce_challenge(&verifier) != login.client_challenge {
                return Err(ApiError::new(ErrorCode::OidcPkceMismatch));
            }
            let m = municipality::get(c, &login.municipality_id)?;
            Ok((login, m))
        })
        .await?;
    let provider = providers
        .get(&m.code)
        .ok_or_else(|| ApiError::new(ErrorCode::OidcNotConfigured))?;
    // The provider is asked without holding a connection; its calls time
    // out after 10 s.
    let person = web::block(move || {
        let claims = provider.finish(
            &body.code,
            &login.redirect_uri,
            &login.pkce_verifier,
            &login.nonce,
            chrono::Utc::now().timestamp(),
        )?;
        provider.person(&claims)
    })
    .await
    .map_err(ApiError::internal)??;
    let signed_in = state
        .db(move |c| {
            let user = user_account::find_by_external_id(c, &m.id, &person)?
                .filter(|u| u.fields.active)
                .ok_or_else(|| {
                    tracing::warn!(
                        municipality = %m.code,
                        "sign-in through the identity provider: no active account has the claim's value"
                    );
                    ApiError::new(ErrorCode::OidcUnknownPerson)
                })?;
            let sid = hemtid_core::db::new_id();
            let refresh =
                refresh_token::issue(c, &user.id, &sid, hemtid_core::db::now(), refresh_ttl)
                    .map_err(ApiError::internal)?;
            Ok((user, sid, refresh))
        })
        .await?;
    let (user, sid, refresh) = signed_in;
    tracing::info!(user_id = %user.id, role = %user.fields.role, method = "oidc", "signed in");
    Ok(HttpResponse::Ok().json(super::auth::tokens(&state, user, &sid, refresh)?))
}

fn provider_of(state: &AppState, code: &str) -> Result<Arc<IdentityProvider>, ApiError> {
    state
        .identity_providers()
        .get(code)
        .ok_or_else(|| ApiError::new(ErrorCode::OidcNotConfigured))
}
