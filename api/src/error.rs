//! API errors as RFC 9457 `application/problem+json` with a stable
//! snake_case `code`. Causes of server errors are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use hemtid_core::db::{ChangeError, RuleError, StoreError};
use hemtid_core::validate::{FieldError, ValidationErrors};
use serde::Serialize;
use std::fmt;

/// Every error code the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidJson,
    ValidationFailed,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidPath,
    InvalidQuery,
    Unauthorized,
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
    TooManyAttempts,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    MalformedRequest,
    RequestHeadTooLarge,
    RequestTimeout,
    AlreadyExists,
    AlreadyRenewed,
    MonthLocked,
    VisitIncomplete,
    MonthNotApproved,
    ReplayRejected,
    ReviewTooEarly,
    NotReviewable,
    WrongState,
    ConsentRequired,
    NotReady,
    PasswordLoginDisabled,
    OidcNotConfigured,
    OidcProviderUnavailable,
    OidcUnknownState,
    OidcStateReplayed,
    OidcStateExpired,
    OidcPkceMismatch,
    OidcCodeRejected,
    OidcWrongIssuer,
    OidcWrongAudience,
    OidcTokenExpired,
    OidcInvalidToken,
    OidcClaimMissing,
    OidcUnknownPerson,
    InternalError,
}

impl ErrorCode {
    /// Every code, for documentation and the test that each one is used.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidJson,
        ErrorCode::ValidationFailed,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::InvalidPath,
        ErrorCode::InvalidQuery,
        ErrorCode::Unauthorized,
        ErrorCode::InvalidCredentials,
        ErrorCode::InvalidRefreshToken,
        ErrorCode::RefreshTokenReused,
        ErrorCode::TooManyAttempts,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::MalformedRequest,
        ErrorCode::RequestHeadTooLarge,
        ErrorCode::RequestTimeout,
        ErrorCode::AlreadyExists,
        ErrorCode::AlreadyRenewed,
        ErrorCode::MonthLocked,
        ErrorCode::VisitIncomplete,
        ErrorCode::MonthNotApproved,
        ErrorCode::ReplayRejected,
        ErrorCode::ReviewTooEarly,
        ErrorCode::NotReviewable,
        ErrorCode::WrongState,
        ErrorCode::ConsentRequired,
        ErrorCode::NotReady,
        ErrorCode::PasswordLoginDisabled,
        ErrorCode::OidcNotConfigured,
        ErrorCode::OidcProviderUnavailable,
        ErrorCode::OidcUnknownState,
        ErrorCode::OidcStateReplayed,
        ErrorCode::OidcStateExpired,
        ErrorCode::OidcPkceMismatch,
        ErrorCode::OidcCodeRejected,
        ErrorCode::OidcWrongIssuer,
        ErrorCode::OidcWrongAudience,
        ErrorCode::OidcTokenExpired,
        ErrorCode::OidcInvalidToken,
        ErrorCode::OidcClaimMissing,
        ErrorCode::OidcUnknownPerson,
        ErrorCode::InternalError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::InvalidPath => "invalid_path",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::InvalidRefreshToken => "invalid_refresh_token",
            ErrorCode::RefreshTokenReused => "refresh_token_reused",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::MalformedRequest => "malformed_request",
            ErrorCode::RequestHeadTooLarge => "request_head_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::AlreadyRenewed => "already_renewed",
            ErrorCode::MonthLocked => "month_locked",
            ErrorCode::VisitIncomplete => "visit_incomplete",
            ErrorCode::MonthNotApproved => "month_not_approved",
            ErrorCode::ReplayRejected => "replay_rejected",
            ErrorCode::ReviewTooEarly => "review_too_early",
            ErrorCode::NotReviewable => "not_reviewable",
            ErrorCode::WrongState => "wrong_state",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::PasswordLoginDisabled => "password_login_disabled",
            ErrorCode::OidcNotConfigured => "oidc_not_configured",
            ErrorCode::OidcProviderUnavailable => "oidc_provider_unavailable",
            ErrorCode::OidcUnknownState => "oidc_unknown_state",
            ErrorCode::OidcStateReplayed => "oidc_state_replayed",
            ErrorCode::OidcStateExpired => "oidc_state_expired",
            ErrorCode::OidcPkceMismatch => "oidc_pkce_mismatch",
            ErrorCode::OidcCodeRejected => "oidc_code_rejected",
            ErrorCode::OidcWrongIssuer => "oidc_wrong_issuer",
            ErrorCode::OidcWrongAudience => "oidc_wrong_audience",
            ErrorCode::OidcTokenExpired => "oidc_token_expired",
            ErrorCode::OidcInvalidToken => "oidc_invalid_token",
            ErrorCode::OidcClaimMissing => "oidc_claim_missing",
            ErrorCode::OidcUnknownPerson => "oidc_unknown_person",
            ErrorCode::InternalError => "internal_error",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidJson | ErrorCode::InvalidPath | ErrorCode::InvalidQuery => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unauthorized
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidRefreshToken
            | ErrorCode::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MalformedRequest => StatusCode::BAD_REQUEST,
            ErrorCode::RequestHeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::AlreadyExists
            | ErrorCode::AlreadyRenewed
            | ErrorCode::MonthLocked
            | ErrorCode::VisitIncomplete
            | ErrorCode::MonthNotApproved
            | ErrorCode::ReplayRejected
            | ErrorCode::ReviewTooEarly
            | ErrorCode::NotReviewable
            | ErrorCode::WrongState => StatusCode::CONFLICT,
            ErrorCode::ConsentRequired => StatusCode::FORBIDDEN,
            ErrorCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::PasswordLoginDisabled => StatusCode::FORBIDDEN,
            ErrorCode::OidcNotConfigured => StatusCode::NOT_FOUND,
            ErrorCode::OidcProviderUnavailable => StatusCode::BAD_GATEWAY,
            ErrorCode::OidcUnknownState => StatusCode::BAD_REQUEST,
            ErrorCode::OidcStateReplayed => StatusCode::BAD_REQUEST,
            ErrorCode::OidcStateExpired => StatusCode::BAD_REQUEST,
            ErrorCode::OidcPkceMismatch => StatusCode::BAD_REQUEST,
            ErrorCode::OidcCodeRejected => StatusCode::UNAUTHORIZED,
            ErrorCode::OidcWrongIssuer => StatusCode::UNAUTHORIZED,
            ErrorCode::OidcWrongAudience => StatusCode::UNAUTHORIZED,
            ErrorCode::OidcTokenExpired => StatusCode::UNAUTHORIZED,
            ErrorCode::OidcInvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::OidcClaimMissing => StatusCode::UNAUTHORIZED,
            ErrorCode::OidcUnknownPerson => StatusCode::FORBIDDEN,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem's human-readable title.
    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "The body is not valid JSON",
            ErrorCode::ValidationFailed => "Some fields are invalid",
            ErrorCode::UnsupportedMediaType => "Send application/json",
            ErrorCode::PayloadTooLarge => "The body is too large",
            ErrorCode::InvalidPath => "The URL has an invalid part",
            ErrorCode::InvalidQuery => "The query string is invalid",
            ErrorCode::Unauthorized => "Sign in first",
            ErrorCode::InvalidCredentials => "Wrong username or password",
            ErrorCode::InvalidRefreshToken => "Sign in again",
            ErrorCode::RefreshTokenReused => "This sign-in was ended because its token was reused",
            ErrorCode::TooManyAttempts => "Too many failed attempts: wait and try again",
            ErrorCode::Forbidden => "Your role may not do this",
            ErrorCode::NotFound => "Not found",
            ErrorCode::MethodNotAllowed => "Method not allowed here",
            ErrorCode::MalformedRequest => "The request is not valid HTTP",
            ErrorCode::RequestHeadTooLarge => "The URL and headers are too large",
            ErrorCode::RequestTimeout => "The request did not arrive in time",
            ErrorCode::AlreadyExists => "It exists already",
            ErrorCode::AlreadyRenewed => "The order has been renewed already",
            ErrorCode::MonthLocked => "The month is locked for billing",
            ErrorCode::VisitIncomplete => "The visit lacks a start or an end: correct it first",
            ErrorCode::MonthNotApproved => "Approve every visit of the month before locking it",
            ErrorCode::ReplayRejected => "The dead letter was rejected again",
            ErrorCode::ReviewTooEarly => "The month cannot be reviewed yet",
            ErrorCode::NotReviewable => "The explanation is not waiting for review",
            ErrorCode::WrongState => "Not possible in the item's present state",
            ErrorCode::ConsentRequired => "The client's consent is needed to read this",
            ErrorCode::NotReady => "Not ready",
            ErrorCode::PasswordLoginDisabled => {
                "Sign in with e-identification: passwords are off in this municipality"
            }
            ErrorCode::OidcNotConfigured => "No identity provider is configured for this",
            ErrorCode::OidcProviderUnavailable => "The identity provider could not be reached",
            ErrorCode::OidcUnknownState => "Unknown sign-in: start again",
            ErrorCode::OidcStateReplayed => "This sign-in was used already: start again",
            ErrorCode::OidcStateExpired => "The sign-in took too long: start again",
            ErrorCode::OidcPkceMismatch => "The code verifier does not match this sign-in",
            ErrorCode::OidcCodeRejected => "The identity provider refused the code",
            ErrorCode::OidcWrongIssuer => {
                "The ID token is not from the configured identity provider"
            }
            ErrorCode::OidcWrongAudience => "The ID token is not meant for hemtid",
            ErrorCode::OidcTokenExpired => "The ID token has expired",
            ErrorCode::OidcInvalidToken => "The ID token is invalid",
            ErrorCode::OidcClaimMissing => "The ID token does not say who the person is",
            ErrorCode::OidcUnknownPerson => {
                "The person has no active hemtid account in this municipality"
            }
            ErrorCode::InternalError => "Internal error",
        }
    }
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: Option<String>,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
}

/// An error answer (RFC 9457): `code` is stable, `errors` name the invalid
/// fields by JSON path.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Problem<'a> {
    /// `https://hemtid.se/problems/<code>`.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    kind: String,
    title: &'static str,
    /// The HTTP status, repeated.
    status: u16,
    #[schema(schema_with = code_schema)]
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

/// Every code the API answers with, as the `code` property's enum.
pub(crate) fn code_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
        .description(Some(
            "Stable snake_case code; the list of codes is in `info.description`.",
        ))
        .build()
}

impl ApiError {
    pub fn new(code: ErrorCode) -> ApiError {
        ApiError {
            code,
            detail: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 429 with a Retry-After header.
    pub fn retry_after(wait: std::time::Duration) -> ApiError {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError {
            retry_after: Some(secs.max(1)),
            ..ApiError::with_detail(
                ErrorCode::TooManyAttempts,
                format!("retry in {} s", secs.max(1)),
            )
        }
    }

    /// With a human-readable detail (never personal data or internals).
    pub fn with_detail(code: ErrorCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            code,
            detail: Some(detail.into()),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn not_found() -> ApiError {
        ApiError::new(ErrorCode::NotFound)
    }

    /// One invalid field.
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> ApiError {
        ValidationErrors::single(field, code, message).into()
    }

    /// Logs the cause and answers 500 without it.
    pub fn internal(cause: impl fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(ErrorCode::InternalError)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The answer's body.
    fn problem(&self) -> Problem<'_> {
        Problem {
            kind: format!("https://hemtid.se/problems/{}", self.code.as_str()),
            title: self.code.title(),
            status: self.code.status().as_u16(),
            code: self.code.as_str(),
            detail: self.detail.as_deref(),
            errors: &self.errors,
        }
    }

    /// The answer's body as JSON, for answers built outside actix-web.
    pub fn problem_json(&self) -> Vec<u8> {
        // A struct of strings and numbers always serialises.
        serde_json::to_vec(&self.problem()).unwrap_or_default()
    }

    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        let mut resp = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after {
            resp.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
        // RFC 6750: a 401 names the scheme it wants.
        if self.status_code() == actix_web::http::StatusCode::UNAUTHORIZED {
            resp.insert_header((
                actix_web::http::header::WWW_AUTHENTICATE,
                match self.code {
                    ErrorCode::Unauthorized => "Bearer realm=\"hemtid\", error=\"invalid_token\"",
                    _ => "Bearer realm=\"hemtid\"",
                },
            ));
        }
        resp.content_type("application/problem+json").json(problem)
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(v: ValidationErrors) -> ApiError {
        ApiError {
            code: ErrorCode::ValidationFailed,
            detail: None,
            errors: v.0,
            retry_after: None,
        }
    }
}

/// A rule's refusal is the request's conflict with the data's state (409).
impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> ApiError {
        match e {
            RuleError::MonthLocked(month) => {
                ApiError::with_detail(ErrorCode::MonthLocked, format!("{month} is locked"))
            }
            RuleError::NotApprovable => ApiError::new(ErrorCode::VisitIncomplete),
            RuleError::NotApproved(n) => ApiError::with_detail(
                ErrorCode::MonthNotApproved,
                format!("{n} visits are not approved or voided"),
            ),
            RuleError::WrongState(why) => ApiError::with_detail(ErrorCode::WrongState, why),
        }
    }
}

impl From<hemtid_core::planning::ImportError> for ApiError {
    fn from(e: hemtid_core::planning::ImportError) -> ApiError {
        match e {
            hemtid_core::planning::ImportError::Invalid(v) => v.into(),
            hemtid_core::planning::ImportError::Store(e) => e.into(),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> ApiError {
        match e {
            ChangeError::Store(e) => e.into(),
            ChangeError::Rule(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(_) => ApiError::new(ErrorCode::AlreadyExists),
            // References are checked before writing; this is a lost race.
            StoreError::ForeignKey(_) => ApiError::with_detail(
                ErrorCode::ValidationFailed,
                "a referenced item does not exist",
            ),
            StoreError::Check(msg) => {
                // Validation should catch everything first: log the miss.
                tracing::warn!(constraint = %msg, "check constraint caught invalid input");
                ApiError::with_detail(ErrorCode::ValidationFailed, "a value is out of range")
            }
            // Busy, unreachable or out of disk: nothing was stored, and the
            // same request can succeed later (registrations are idempotent).
            other if other.is_transient() => {
                tracing::warn!(error = %other, "database unavailable");
                ApiError::with_detail(
                    ErrorCode::NotReady,
                    "the database is unavailable just now; nothing was stored: try again",
                )
            }
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_is_used_outside_this_file() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut text = String::new();
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.file_name().is_some_and(|n| n != "error.rs") {
                    text.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        // An internal error cannot be provoked from outside on purpose.
        for code in ErrorCode::ALL
            .iter()
            .filter(|c| **c != ErrorCode::InternalError)
        {
            let name = format!("ErrorCode::{code:?}");
            assert!(text.contains(&name), "{name} is never used");
        }
    }

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            let s = c.as_str();
            assert!(
                s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{s}"
            );
            assert!(seen.insert(s), "duplicate {s}");
        }
    }
}
