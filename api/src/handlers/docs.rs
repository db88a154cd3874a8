//! `GET /api/v1/openapi.json`: the contract, as committed in
//! `mobile-contract/openapi.json`.

use crate::error::ApiError;
use crate::openapi::{self, problem};
use actix_web::HttpResponse;
use std::sync::LazyLock;

/// Built once: the document is fixed by the code.
static DOCUMENT: LazyLock<Result<String, String>> =
    LazyLock::new(|| openapi::to_json().map_err(|e| e.to_string()));

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "health",
    responses(
        (
            status = 200,
            description = "The document.",
            content_type = "application/json",
            body = Object,
        ),
        problem::Internal,
    ),
)]
pub async fn get_openapi() -> Result<HttpResponse, ApiError> {
    match &*DOCUMENT {
        Ok(json) => Ok(HttpResponse::Ok()
            .content_type(openapi::JSON)
            .body(json.clone())),
        Err(e) => Err(ApiError::internal(e)),
    }
}
