//! Liveness and readiness.

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::openapi::problem;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

/// The process answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// The process and the database answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// Always `ready`.
    pub status: &'static str,
    /// Always `ok`.
    pub database: &'static str,
    /// `subscribed` when this process runs the MQTT gateway (it is not
    /// ready before the gateway has its subscriptions: devices' events
    /// published earlier would reach no one); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<&'static str>,
}

/// The process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "Alive.", body = Health)),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database answers too, and the MQTT gateway, where this process
/// runs one, has its subscriptions in place.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses((status = 200, description = "Ready.", body = Readiness), problem::NotReady),
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = state.pool.clone();
    let ok = web::block(move || {
        // Not the pool's own wait (seconds, while it retries a database
        // that is down): a readiness probe must answer promptly.
        pool.get_timeout(std::time::Duration::from_secs(2))
            .ok()
            .is_some_and(|mut c| hemtid_core::db::ping(&mut c).is_ok())
    })
    .await
    .unwrap_or(false);
    if !ok {
        return Err(ApiError::with_detail(
            ErrorCode::NotReady,
            "the database does not answer",
        ));
    }
    let gateway = match state.gateway_ready.get() {
        Some(ready) if !*ready.borrow() => {
            return Err(ApiError::with_detail(
                ErrorCode::NotReady,
                "the MQTT gateway is not subscribed to the broker",
            ));
        }
        Some(_) => Some("subscribed"),
        None => None,
    };
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        database: "ok",
        gateway,
    }))
}

/// `/metrics` on the API's address: answered only to a client on this
/// machine (a loopback address, after `trusted_proxies`: a proxy's
/// `X-Forwarded-For` names the real client), and to no one when the
/// metrics have a listener of their own (`metrics_addr`). Everyone else
/// gets 404, so the numbers are not public where the API is; a scraper
/// on another machine uses `metrics_addr` on a private network.
pub async fn metrics_here(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let local = crate::client_address(&req, &state.trusted_proxies())
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback());
    if state.metrics_elsewhere.get().is_some() || !local {
        return Err(ApiError::new(ErrorCode::NotFound));
    }
    Ok(metrics(state).await)
}

/// `GET /metrics`: the process metrics in the Prometheus text format
/// (counts and latencies, no personal data; no sign-in, like `/healthz`).
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut text = hemtid_core::metrics::global().render_counters();
    text.push_str(&hemtid_core::metrics::render_process());
    match state
        .db(|c| Ok(hemtid_core::metrics::render_gauges(c)?))
        .await
    {
        Ok(g) => text.push_str(&g),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database gauges could not be read");
            text.push_str("# the database gauges are unavailable\n");
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}
