//! problem+json answers in the contract: one reusable response per HTTP
//! status, each naming the error codes of that status, and the groups of
//! them that handlers list in `#[utoipa::path(responses(...))]`. Everything
//! is derived from `ErrorCode::ALL`, so a new code shows up by itself.

use crate::error::{ErrorCode, Problem};
use actix_web::http::StatusCode;
use std::collections::BTreeMap;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, ToSchema};

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The response component of a status, e.g. `NotFound`,
/// `UnprocessableEntity`.
pub fn response_name(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("Problem")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The codes answered with `status`, in `ErrorCode::ALL` order.
pub fn codes_of(status: StatusCode) -> Vec<ErrorCode> {
    ErrorCode::ALL
        .iter()
        .copied()
        .filter(|c| c.status() == status)
        .collect()
}

/// One response component per status that some code has; its description
/// lists the codes, its body is the `Problem` schema.
pub fn components() -> BTreeMap<String, RefOr<Response>> {
    let mut statuses: Vec<StatusCode> = ErrorCode::ALL.iter().map(|c| c.status()).collect();
    statuses.sort();
    statuses.dedup();
    statuses
        .into_iter()
        .map(|status| {
            let codes: Vec<String> = codes_of(status)
                .into_iter()
                .map(|c| format!("`{}`: {}", c.as_str(), c.title()))
                .collect();
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(Problem::name())))
                .build();
            let mut response = ResponseBuilder::new()
                .description(format!(
                    "problem+json; `code` is one of {}.",
                    codes.join("; ")
                ))
                .content(PROBLEM_JSON, content);
            if status == StatusCode::TOO_MANY_REQUESTS {
                let seconds = ObjectBuilder::new().schema_type(Type::Integer).build();
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(seconds)
                        .description(Some("Seconds to wait before trying again."))
                        .build(),
                );
            }
            (response_name(status), RefOr::T(response.build()))
        })
        .collect()
}

/// References to the response components of `statuses`.
fn refs(statuses: &[StatusCode]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|s| {
            let reference = Ref::from_response_name(response_name(*s));
            (s.as_u16().to_string(), RefOr::Ref(reference))
        })
        .collect()
}

/// Declares a type per group whose `IntoResponses` lists its statuses.
macro_rules! problems {
    ($($(#[$meta:meta])* $name:ident => [$($status:ident),+];)+) => {
        $(
            $(#[$meta])*
            pub struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    refs(&[$(StatusCode::$status),+])
                }
            }
        )+
    };
}

problems! {
    /// A JSON body: unreadable (400), too large (413), not JSON (415), or
    /// with invalid fields (422).
    JsonBody => [BAD_REQUEST, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, UNPROCESSABLE_ENTITY];
    /// A bearer token is missing or invalid (401), or the role may not (403).
    SignedIn => [UNAUTHORIZED, FORBIDDEN];
    /// A bearer token is missing or invalid, or the credentials are wrong.
    Unauthorized => [UNAUTHORIZED];
    /// A malformed path segment or query string.
    BadRequest => [BAD_REQUEST];
    /// Not found, or not within the caller's reach.
    NotFound => [NOT_FOUND];
    /// A state conflict: exists already, renewed already, a locked month.
    Conflict => [CONFLICT];
    /// Too many failed sign-ins: wait `Retry-After` seconds.
    TooManyRequests => [TOO_MANY_REQUESTS];
    /// A server fault (500; the cause is logged, never sent), or the
    /// database did not answer (503): nothing of the request was kept, send
    /// it again.
    Internal => [INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE];
    /// The database does not answer.
    NotReady => [SERVICE_UNAVAILABLE];
    /// The account or the municipality's settings do not allow it.
    Forbidden => [FORBIDDEN];
    /// A service hemtid relies on (the identity provider) did not answer.
    BadGateway => [BAD_GATEWAY];
}
