//! Variance alerts for caseworkers, providers and fee administrators: the
//! list, one alert with its history, acknowledge and resolve, and a live
//! Server-Sent-Events stream of new and changed alerts.

use super::list;
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use hemtid_core::contract::{AlertBody, AlertChangeBody};
use hemtid_core::db::alert::{self, Alert, Filter, Viewer};
use hemtid_core::db::{DbConn, client};
use hemtid_core::model::{AlertKind, AlertState, Role};
use serde::{Deserialize, Serialize};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// An alert as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: AlertBody,
    /// The client's name, for the reader (never in MQTT payloads).
    pub client_name: String,
}

/// One alert with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertView,
    pub history: Vec<AlertChangeBody>,
}

/// Query of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// An alert kind: the variance kinds (`outside_band`, …), the
    /// deadline kinds (`care_plan_missing`, …) or the planned-visit kinds
    /// (`visit_late`, `visit_missed`, `visit_not_acknowledged`).
    #[param(
        pattern = "^(outside_band|follow_up_recommended|exceeds_granted|pace_warning|missing_visits|visit_open_too_long|care_plan_missing|care_plan_missing_escalated|care_plan_follow_up_due|individual_follow_up_due|contact_person_missing|visit_late|visit_missed|visit_not_acknowledged)$"
    )]
    pub kind: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    #[param(pattern = "^(open|acknowledged|resolved)$")]
    pub state: Option<String>,
    /// `YYYY-MM`.
    pub month: Option<hemtid_core::domain::YearMonth>,
    pub client_id: Option<Uuid>,
    /// At most this many, newest first (default 200, at most 1000).
    pub limit: Option<i64>,
}

/// Body of `POST /api/v1/alerts/{id}/acknowledge` and `…/resolve`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertAction {
    #[serde(default, deserialize_with = "crate::texts::up_to::<2000, _>")]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// Which alerts the principal may see (staff see none).
fn viewer_of(p: &Principal) -> Result<Viewer, ApiError> {
    match p.role {
        Role::Caseworker => Ok(Viewer::Caseworker(p.subject.clone())),
        Role::ProviderAdmin => Ok(Viewer::Provider(p.provider()?.to_string())),
        Role::FeeAdmin => Ok(Viewer::FeeAdmin),
        Role::Admin => Ok(Viewer::Admin),
        Role::Staff | Role::Auditor => Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "alerts are for caseworkers, provider admins, fee administrators and admins",
        )),
    }
}

fn sees(viewer: &Viewer, a: &Alert, municipality_id: &str) -> bool {
    a.municipality_id == municipality_id && alert::visible(a, viewer)
}

fn with_names(c: &mut DbConn, alerts: Vec<Alert>) -> Result<Vec<AlertView>, ApiError> {
    let mut out = Vec::with_capacity(alerts.len());
    let mut names = std::collections::HashMap::new();
    for a in alerts {
        if !names.contains_key(&a.client_id) {
            let cl = client::get_any(c, &a.client_id)?;
            names.insert(
                a.client_id.clone(),
                format!("{} {}", cl.fields.given_name, cl.fields.family_name),
            );
        }
        let client_name = names.get(&a.client_id).cloned().unwrap_or_default();
        out.push(AlertView {
            alert: AlertBody::from(&a),
            client_name,
        });
    }
    Ok(out)
}

/// The alert, if the principal may see it.
fn visible_alert(
    c: &mut DbConn,
    viewer: &Viewer,
    municipality_id: &str,
    id: &Uuid,
) -> Result<Alert, ApiError> {
    let a = alert::get(c, &id.to_string())?;
    if sees(viewer, &a, municipality_id) {
        Ok(a)
    } else {
        Err(ApiError::not_found())
    }
}

/// The kind and state asked for, if any.
fn check(q: &AlertQuery) -> Result<(Option<AlertKind>, Option<AlertState>), ApiError> {
    let unknown = || ApiError::with_detail(ErrorCode::InvalidQuery, "unknown kind or state");
    let kind = match q.kind.as_deref() {
        Some(k) => Some(AlertKind::parse(k).ok_or_else(unknown)?),
        None => None,
    };
    let state = match q.state.as_deref() {
        Some(s) => Some(AlertState::parse(s).ok_or_else(unknown)?),
        None => None,
    };
    Ok((kind, state))
}

/// `GET /api/v1/alerts`: the alerts the principal may see, newest first.
///
/// Caseworkers see the alerts for them about their clients; provider
/// admins those about their provider's clients; fee administrators those
/// for them (R5); admins all of the municipality's.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    security(("bearer" = [])),
    params(AlertQuery),
    responses(
        (status = 200, description = "The alerts.", body = super::Items<AlertView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_alerts(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<AlertQuery>,
) -> Result<HttpResponse, ApiError> {
    let viewer = viewer_of(&p)?;
    let q = q.into_inner();
    let (kind, alert_state) = check(&q)?;
    let items = state
        .db(move |c| {
            let month = q.month.map(|m| m.to_string());
            let client_id = q.client_id.map(|u| u.to_string());
            let f = Filter {
                kind,
                state: alert_state,
                month: month.as_deref(),
                client_id: client_id.as_deref(),
            };
            let limit = q.limit.unwrap_or(200).clamp(1, 1000);
            let alerts = alert::list(c, &p.municipality_id, &viewer, &f, limit)?;
            with_names(c, alerts)
        })
        .await?;
    Ok(list(items))
}

/// `GET /api/v1/alerts/{id}`: one alert and its history.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 200, description = "The alert.", body = AlertDetail),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_alert(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let viewer = viewer_of(&p)?;
    let detail = state
        .db(move |c| {
            let a = visible_alert(c, &viewer, &p.municipality_id, &id)?;
            let history = alert::history(c, &a.id)?
                .iter()
                .map(AlertChangeBody::from)
                .collect();
            let alert = with_names(c, vec![a])?
                .pop()
                .ok_or_else(|| ApiError::internal("alert lost"))?;
            Ok(AlertDetail { alert, history })
        })
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

async fn act(
    state: web::Data<AppState>,
    p: Principal,
    id: Uuid,
    input: AlertAction,
    to: AlertState,
) -> Result<HttpResponse, ApiError> {
    let viewer = viewer_of(&p)?;
    p.person("a person acknowledges and resolves alerts")?;
    let at = state.clock.now().naive_utc();
    let view = state
        .db(move |c| {
            visible_alert(c, &viewer, &p.municipality_id, &id)?;
            let a = alert::act(c, &id.to_string(), to, &p.subject, input.note.trim(), at)?;
            with_names(c, vec![a])?
                .pop()
                .ok_or_else(|| ApiError::internal("alert lost"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/alerts/{id}/acknowledge`: seen, being handled.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/acknowledge",
    tag = "alerts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The alert.")),
    request_body = AlertAction,
    responses(
        (status = 200, description = "The alert, acknowledged.", body = AlertView),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn acknowledge_alert(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<AlertAction>,
) -> Result<HttpResponse, ApiError> {
    act(state, p, id.into_inner(), input, AlertState::Acknowledged).await
}

/// `POST /api/v1/alerts/{id}/resolve`: handled. The rules reopen it if its
/// condition still holds when they next change it; a planned visit's
/// alert stays resolved until the planning system sends the plan again
/// changed.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/resolve",
    tag = "alerts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The alert.")),
    request_body = AlertAction,
    responses(
        (status = 200, description = "The alert, resolved.", body = AlertView),
        problem::BadRequest,
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn resolve_alert(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
    Json(input): Json<AlertAction>,
) -> Result<HttpResponse, ApiError> {
    act(state, p, id.into_inner(), input, AlertState::Resolved).await
}

/// One outbox entry: the change's sequence number and the alert after it.
type Change = (i64, Arc<Alert>);

/// Reads the alert outbox once for every open stream and fans it out.
pub struct AlertHub {
    tx: broadcast::Sender<Change>,
    started: AtomicBool,
}

impl Default for AlertHub {
    fn default() -> Self {
        AlertHub {
            tx: broadcast::channel(1024).0,
            started: AtomicBool::new(false),
        }
    }
}

/// How often the hub reads the outbox.
const POLL: Duration = Duration::from_millis(150);
/// A comment line now and then keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How many changes a resuming stream replays at most: a laptop woken
/// after a night catches up; a `Last-Event-ID` of 0 (or far below) does not
/// read the whole outbox.
const REPLAY_LIMIT: i64 = 10_000;

/// Where a stream starts, given the client's `Last-Event-ID` and the last
/// change: and whether the client must reload its list instead (it asked
/// for more than the replay keeps, or for a change that does not exist,
/// e.g. after a restore; following such a number would skip every new
/// change below it).
fn replay_from(resume: Option<i64>, last: i64) -> (i64, bool) {
    let floor = last.saturating_sub(REPLAY_LIMIT).max(0);
    match resume {
        None => (last, false),
        Some(s) if s > last => (last, true),
        Some(s) if s < floor => (floor, floor > 0),
        Some(s) => (s, false),
    }
}

impl AlertHub {
    /// Starts the reader on first use (it needs the server's runtime).
    fn ensure_started(&self, state: web::Data<AppState>) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let tx = self.tx.clone();
        actix_web::rt::spawn(async move {
            let mut seq = match state.db(|c| Ok(alert::last_seq(c)?)).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = ?e, "alert stream: could not read the outbox");
                    0
                }
            };
            loop {
                actix_web::rt::time::sleep(POLL).await;
                let from = seq;
                match state
                    .db(move |c| Ok(alert::events_after(c, from, 500)?))
                    .await
                {
                    Ok(events) => {
                        for (s, a) in events {
                            seq = s;
                            // No receiver is fine: nobody is listening.
                            let _ = tx.send((s, Arc::new(a)));
                        }
                    }
                    Err(e) => tracing::warn!(error = ?e, "alert stream: could not read the outbox"),
                }
            }
        });
    }
}

/// A body fed by a channel: the stream ends when the sender is dropped.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl MessageBody for ChannelBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.get_mut().0.poll_recv(cx).map(|b| b.map(Ok))
    }
}

fn sse_event(seq: i64, view: &AlertView) -> Option<Bytes> {
    let data = serde_json::to_string(view).ok()?;
    Some(Bytes::from(format!(
        "id: {seq}\nevent: alert\ndata: {data}\n\n"
    )))
}

/// One event of `GET /api/v1/alerts/stream`, as a client's Server-Sent
/// Events parser hands it over.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the stream's shape; written as text
pub struct AlertStreamEvent {
    /// `alert`, or `reset` (more changes were missed than are replayed:
    /// reload the list with `GET /api/v1/alerts`).
    #[schema(pattern = "^(alert|reset)$")]
    pub event: String,
    /// `alert`: the change's sequence number (send it back as
    /// `Last-Event-ID`).
    pub id: Option<String>,
    /// `alert`: the alert as JSON (`AlertView`); `reset`: JSON
    /// (`AlertStreamReset`).
    #[schema(content_media_type = "application/json")]
    pub data: String,
    pub retry: Option<i64>,
}

/// The `data` of an `event: reset` on `GET /api/v1/alerts/stream`: more
/// changes were missed than are replayed (or the `Last-Event-ID` is not
/// one of this server's); reload the list with `GET /api/v1/alerts`. The
/// stream goes on after change `from`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertStreamReset {
    #[schema(pattern = "^replay_limited$")]
    pub reason: &'static str,
    pub from: i64,
}

/// `GET /api/v1/alerts/stream`: new and changed alerts as Server-Sent
/// Events (`event: alert`, `id:` the change's sequence number, `data:` the
/// alert as JSON). Send `Last-Event-ID` to resume after a reconnect: at
/// most the last 10,000 changes are replayed; when more were missed, or
/// the id is unknown, the stream starts with `event: reset` (reload the
/// list with `GET /api/v1/alerts`) and goes on from there.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/stream",
    tag = "alerts",
    security(("bearer" = [])),
    params(("Last-Event-ID" = Option<i64>, Header, description = "Resume after this change.")),
    responses(
        (status = 200, description = "A `text/event-stream` of alerts, until the client disconnects. The schema describes one event as an SSE parser hands it over.",
            content_type = "text/event-stream", body = AlertStreamEvent),
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn alert_stream(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let viewer = viewer_of(&p)?;
    let resume = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    state.alerts.ensure_started(state.clone());
    // Subscribe before reading where to start, so nothing falls between.
    let mut live = state.alerts.tx.subscribe();
    let last = state.db(|c| Ok(alert::last_seq(c)?)).await?;
    let (mut sent, reset) = replay_from(resume, last);
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let municipality = p.municipality_id.clone();
    actix_web::rt::spawn(async move {
        // Tell the client it is connected (and which change it is at).
        if tx
            .send(Bytes::from(format!(": connected at {sent}\n\n")))
            .await
            .is_err()
        {
            return;
        }
        let reset = reset.then_some(AlertStreamReset {
            reason: "replay_limited",
            from: sent,
        });
        if let Some(data) = reset.and_then(|r| serde_json::to_string(&r).ok())
            && tx
                .send(Bytes::from(format!("event: reset\ndata: {data}\n\n")))
                .await
                .is_err()
        {
            return;
        }
        let mut catch_up = sent < last;
        loop {
            if catch_up {
                let from = sent;
                let events = match state
                    .db(move |c| Ok(alert::events_after(c, from, 500)?))
                    .await
                {
                    Ok(e) => e,
                    Err(e) => {
                        // Ending the stream makes the client reconnect
                        // with Last-Event-ID: nothing is skipped.
                        tracing::warn!(error = ?e, "alert stream: could not read the outbox");
                        return;
                    }
                };
                let done = events.len() < 500;
                for (s, a) in events {
                    sent = s;
                    if !forward(&state, &tx, &viewer, &municipality, s, a).await {
                        return;
                    }
                }
                catch_up = !done;
                continue;
            }
            // A sign-in that has ended ends its stream too (the client's
            // reconnect is then refused).
            if let Some(sid) = &p.sid
                && !matches!(
                    crate::sessions::check(&state, &p.subject, sid).await,
                    Ok(true)
                )
            {
                return;
            }
            let next = actix_web::rt::time::timeout(KEEP_ALIVE, live.recv()).await;
            match next {
                Err(_) => {
                    if tx
                        .send(Bytes::from_static(b": keep-alive\n\n"))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(Ok((s, a))) if s > sent => {
                    sent = s;
                    if !forward(&state, &tx, &viewer, &municipality, s, (*a).clone()).await {
                        return;
                    }
                }
                Ok(Ok(_)) => {}
                // Fell behind the hub: read what was missed from the outbox.
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => catch_up = true,
                Ok(Err(broadcast::error::RecvError::Closed)) => return,
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream; charset=utf-8")
        // Never compressed: a compressor would hold events back.
        .insert_header(actix_web::http::header::ContentEncoding::Identity)
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .body(ChannelBody(rx)))
}

/// Sends the alert if the reader may see it; false when the client is gone.
async fn forward(
    state: &web::Data<AppState>,
    tx: &mpsc::Sender<Bytes>,
    viewer: &Viewer,
    municipality: &str,
    seq: i64,
    a: Alert,
) -> bool {
    if !sees(viewer, &a, municipality) {
        return true;
    }
    let mut views = match state.db(move |c| with_names(c, vec![a])).await {
        Ok(v) => v,
        Err(e) => {
            // End the stream rather than skip the alert: the client
            // reconnects with Last-Event-ID and gets it then.
            tracing::warn!(error = ?e, "alert stream: could not read an alert's client");
            return false;
        }
    };
    match views.pop().and_then(|v| sse_event(seq, &v)) {
        Some(bytes) => tx.send(bytes).await.is_ok(),
        None => true,
    }
}

#[cfg(test)]
mod replay_tests {
    use super::*;

    #[test]
    fn a_resume_replays_a_bounded_window_and_never_waits_for_the_future() {
        assert_eq!(replay_from(None, 50), (50, false));
        assert_eq!(replay_from(Some(40), 50), (40, false));
        assert_eq!(
            replay_from(Some(0), 50),
            (0, false),
            "all 50 are within the window"
        );
        assert_eq!(
            replay_from(Some(-9_223_372_036_854_775_807), 50),
            (0, false)
        );
        assert_eq!(replay_from(Some(0), 25_000), (15_000, true));
        assert_eq!(replay_from(Some(i64::MIN), 25_000), (15_000, true));
        assert_eq!(replay_from(Some(i64::MAX), 50), (50, true));
        assert_eq!(replay_from(Some(51), 50), (50, true));
    }
}
