//! Extractors: a JSON body with field paths in its errors, the signed-in
//! principal, and error handlers for paths and queries.

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use hemtid_core::auth::{self, INTEGRATION_TOKEN_PREFIX};
use hemtid_core::db::api_token;
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// Largest JSON body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A resource's own body limit, set beside its `PayloadConfig` so that the
/// refusal names it (the plans' import takes more than the default).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    pub fn of(req: &HttpRequest) -> usize {
        req.app_data::<BodyLimit>().map_or(MAX_BODY_BYTES, |b| b.0)
    }
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// A JSON body. Unlike actix's `Json`, errors name the field
/// (`lines[0].amount`) and come as problem+json.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalFuture<Json<T>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        let body = web::Bytes::from_request(req, payload);
        let limit = BodyLimit::of(req);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
            }
            let bytes = body.await.map_err(|e| {
                if e.as_response_error().status_code()
                    == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                {
                    ApiError::with_detail(
                        ErrorCode::PayloadTooLarge,
                        format!("at most {limit} bytes"),
                    )
                } else {
                    ApiError::with_detail(ErrorCode::InvalidJson, "the body could not be read")
                }
            })?;
            parse_json(&bytes).map(Json)
        })
    }
}

/// Whether JSON text carries U+0000 (only possible as the escape `\u0000`;
/// an escaped backslash before `u0000` is not one).
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6) == Some(&b"0000"[..]) {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Parses JSON, mapping serde's errors to stable codes with field paths.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if has_nul_escape(bytes) {
        // PostgreSQL text cannot hold U+0000; no text here needs it.
        return Err(ApiError::with_detail(
            ErrorCode::InvalidJson,
            "a text contains the NUL character (\\u0000)",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let mut result: Result<T, _> = serde_path_to_error::deserialize(de);
    // JSON Schema (and so the OpenAPI document) counts `5.0` as an
    // integer; serde does not. Only when that was the refusal, read the
    // body again with such numbers written as integers.
    if let Err(e) = &result
        && e.inner()
            .to_string()
            .starts_with("invalid type: floating point")
        && let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes)
    {
        integral_floats_as_integers(&mut value);
        result = serde_path_to_error::deserialize(value);
    }
    result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                let (code, field) = classify_data_error(&message, &path);
                ValidationErrors::single(field, code, message).into()
            }
            _ => ApiError::with_detail(ErrorCode::InvalidJson, strip_position(&inner.to_string())),
        }
    })
}

/// Rewrites every number with no fraction (`5.0`, `1e3`) that fits an
/// `i64` or `u64` as that integer, in place.
fn integral_floats_as_integers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                // 2^63 and 2^64 are exact as f64; below them, `as` is exact.
                if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                    *n = (f as i64).into();
                } else if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    *n = (f as u64).into();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// serde reports missing fields at the parent path; name the field itself.
fn classify_data_error(message: &str, path: &str) -> (&'static str, String) {
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = || message.split('`').nth(1).unwrap_or_default().to_string();
    if message.starts_with("missing field") {
        ("missing_field", join(&quoted()))
    } else if message.starts_with("unknown field") {
        ("unknown_field", path.to_string())
    } else if message.starts_with("too long") {
        ("too_long", path.to_string())
    } else if message.starts_with("out of range") {
        ("out_of_range", path.to_string())
    } else if message.starts_with("invalid type") {
        ("invalid_type", path.to_string())
    } else {
        ("invalid_value", path.to_string())
    }
}

/// Who is calling: a signed-in user (JWT) or the case-system integration.
#[derive(Debug, Clone)]
pub struct Principal {
    /// User id, or `integration:<token id>`.
    pub subject: String,
    pub role: Role,
    pub municipality_id: String,
    pub provider_id: Option<String>,
    pub unit_id: Option<String>,
    /// The sign-in (refresh-token family) of a user's access token; unset
    /// for an integration token.
    pub sid: Option<String>,
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalFuture<Principal>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme's name is case-insensitive (RFC 9110 11.1).
            .and_then(|v| v.trim_start().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_string());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        // Only an integration token asks: phones and pages pay nothing.
        let planning_may = token
            .as_deref()
            .is_some_and(|t| t.starts_with(INTEGRATION_TOKEN_PREFIX))
            && planning_system_may(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("AppState missing"))?;
            let token = token.ok_or_else(|| {
                ApiError::with_detail(
                    ErrorCode::Unauthorized,
                    "send Authorization: Bearer <token>",
                )
            })?;
            if token.starts_with(INTEGRATION_TOKEN_PREFIX) {
                let hash = auth::hash_token(&token);
                let found = state
                    .db(move |c| Ok(api_token::find_active(c, &hash)?))
                    .await?;
                let t = found.ok_or_else(|| {
                    ApiError::with_detail(ErrorCode::Unauthorized, "unknown or revoked token")
                })?;
                // A provider's planning system is its provider's admin on
                // the few resources a planning system needs; the case
                // system is the municipality's admin.
                let role = match &t.provider_id {
                    Some(_) if !planning_may => {
                        return Err(ApiError::with_detail(
                            ErrorCode::Forbidden,
                            "a provider's planning-system token reaches only the provider's \
                             planned visits, its clients and /me",
                        ));
                    }
                    Some(_) => Role::ProviderAdmin,
                    None => Role::Admin,
                };
                return Ok(Principal {
                    subject: format!("integration:{}", t.id),
                    role,
                    municipality_id: t.municipality_id.to_string(),
                    provider_id: t.provider_id.map(|p| p.to_string()),
                    unit_id: None,
                    sid: None,
                });
            }
            let claims = state.keys.verify(&token).map_err(|_| {
                ApiError::with_detail(ErrorCode::Unauthorized, "invalid or expired token")
            })?;
            let role = Role::parse(&claims.role)
                .ok_or_else(|| ApiError::with_detail(ErrorCode::Unauthorized, "invalid token"))?;
            // The sign-in must still be live: deactivation, a new
            // password, logout and ended sessions end its tokens now.
            let live = crate::sessions::check(&state, &claims.sub, &claims.sid).await?;
            if !live {
                return Err(ApiError::with_detail(
                    ErrorCode::Unauthorized,
                    "the sign-in has ended: sign in again",
                ));
            }
            if role == Role::Staff {
                crate::phones::seen(&state, &claims.sub);
            }
            Ok(Principal {
                subject: claims.sub,
                role,
                municipality_id: claims.mun,
                provider_id: claims.provider,
                unit_id: claims.unit,
                sid: Some(claims.sid),
            })
        })
    }
}

/// The resources a provider's planning-system token reaches, by route
/// and method (HEAD as GET): the provider's plans (sent as JSON or CSV,
/// read by day), the provider's clients (to know their ids) and itself.
/// Everything else its provider's admin may do (staff, phones, devices,
/// door keys, journals, alerts) it may not: allowed by name, refused by
/// default.
const PLANNING_SYSTEM_MAY: &[(&str, &[&str])] = &[
    (
        "/api/v1/providers/{id}/planned-visits",
        &["GET", "PUT", "POST"],
    ),
    ("/api/v1/clients", &["GET"]),
    ("/api/v1/me", &["GET"]),
];

/// Whether a provider's planning-system token may make this request.
fn planning_system_may(req: &HttpRequest) -> bool {
    let method = match req.method().as_str() {
        "HEAD" => "GET",
        m => m,
    };
    req.match_pattern().is_some_and(|pattern| {
        PLANNING_SYSTEM_MAY
            .iter()
            .any(|(p, methods)| *p == pattern && methods.contains(&method))
    })
}

impl Principal {
    /// Fails with 403 unless the principal has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::with_detail(
                ErrorCode::Forbidden,
                format!("needs the role {}", names.join(" or ")),
            ))
        }
    }

    /// The principal's reach, for access checks in storage.
    pub fn scope(&self) -> hemtid_core::db::access::Scope<'_> {
        hemtid_core::db::access::Scope {
            municipality_id: &self.municipality_id,
            role: self.role,
            provider_id: self.provider_id.as_deref(),
            unit_id: self.unit_id.as_deref(),
        }
    }

    /// The signed-in person's user id; an integration token is refused:
    /// `what` says what only a person does.
    pub fn person(&self, what: &str) -> Result<&str, ApiError> {
        if self.subject.starts_with("integration:") {
            return Err(ApiError::with_detail(
                ErrorCode::Forbidden,
                format!("{what}: sign in as a person"),
            ));
        }
        Ok(&self.subject)
    }

    /// The provider of a staff member or provider admin.
    pub fn provider(&self) -> Result<&str, ApiError> {
        self.provider_id
            .as_deref()
            .ok_or_else(|| ApiError::with_detail(ErrorCode::Forbidden, "needs a provider account"))
    }
}

/// A principal with the admin role (municipality admin or integration).
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalFuture<Admin>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        Box::pin(async move {
            let p = principal.await?;
            if p.role == Role::Admin {
                Ok(Admin(p))
            } else {
                Err(ApiError::with_detail(
                    ErrorCode::Forbidden,
                    "needs the admin role",
                ))
            }
        })
    }
}

/// Path segments that fail to parse (e.g. a malformed id).
pub fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::with_detail(ErrorCode::InvalidPath, err.to_string()).into()
}

/// Query strings that fail to parse.
pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::with_detail(ErrorCode::InvalidQuery, strip_position(&err.to_string())).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn the_nul_character_is_refused_but_an_escaped_backslash_is_not_one() {
        assert!(has_nul_escape(br#"{"body":"a\u0000b"}"#));
        assert!(!has_nul_escape(br#"{"body":"a\\u0000b"}"#));
        assert!(!has_nul_escape(br#"{"body":"a\u0001b"}"#));
        let e = parse_json::<serde_json::Value>(br#"{"body":"\u0000"}"#).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidJson);
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        lines: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        times: u32,
    }

    fn field_of(body: &str) -> (String, String) {
        let err = parse_json::<Outer>(body.as_bytes()).unwrap_err();
        let resp = actix_web::ResponseError::error_response(&err);
        assert_eq!(resp.status().as_u16(), 422);
        let body = format!("{err:?}");
        let field = body
            .split("field: \"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let code = body
            .split("code: \"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        (field, code)
    }

    #[test]
    fn names_the_field_in_nested_errors() {
        assert_eq!(
            field_of(r#"{"name":"x","lines":[{"times":1},{"times":"two"}]}"#),
            ("lines[1].times".into(), "invalid_type".into())
        );
        assert_eq!(
            field_of(r#"{"name":"x","lines":[{"times":1,"extra":true}]}"#),
            ("lines[0].extra".into(), "unknown_field".into())
        );
        assert_eq!(
            field_of(r#"{"lines":[]}"#),
            ("name".into(), "missing_field".into())
        );
        assert_eq!(
            field_of(r#"{"name":"x","lines":[{}]}"#),
            ("lines[0].times".into(), "missing_field".into())
        );
    }

    #[test]
    fn integral_floats_are_integers_as_in_json_schema() {
        #[derive(serde::Deserialize, Debug)]
        struct Counts {
            minutes: u32,
            shares: Vec<i64>,
            ratio: f64,
        }
        let c: Counts =
            parse_json(br#"{"minutes": 2687.0, "shares": [1e3, -4.0], "ratio": 2.0}"#).unwrap();
        assert_eq!((c.minutes, c.shares, c.ratio), (2687, vec![1000, -4], 2.0));
        // A fraction is still refused, and so is an integer out of range.
        for (body, code) in [
            (
                r#"{"minutes": 2.5, "shares": [], "ratio": 1}"#,
                "invalid_type",
            ),
            (
                r#"{"minutes": 1e10, "shares": [], "ratio": 1}"#,
                "invalid_value",
            ),
            (
                r#"{"minutes": 1, "shares": [1e19], "ratio": 1}"#,
                "invalid_value",
            ),
            (
                r#"{"minutes": 1, "shares": [1e30], "ratio": 1}"#,
                "invalid_type",
            ),
        ] {
            let e = parse_json::<Counts>(body.as_bytes()).unwrap_err();
            let v: serde_json::Value = serde_json::from_slice(&e.problem_json()).unwrap();
            assert_eq!(v["errors"][0]["code"], code, "{body}: {v}");
        }
    }

    #[test]
    fn syntax_errors_are_invalid_json() {
        let err = parse_json::<Outer>(b"{\"name\": ").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidJson);
        let err = parse_json::<Outer>(b"not json").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidJson);
    }
}
