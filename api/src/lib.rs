//! hemtid-api: the REST API, an actix-web application over `hemtid-core`.

mod dates;
pub mod error;
pub mod extract;
mod handlers;
pub mod openapi;
mod phones;
pub mod sessions;
mod texts;
mod views;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, web};
use error::{ApiError, ErrorCode};
use hemtid_core::auth::TokenKeys;
use hemtid_core::db::{DbConn, Pool};
use hemtid_core::record::Pending;

/// Where "now" comes from: the system clock, or a fixed instant so tests
/// can travel in time. (Token expiry always uses the system clock.)
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(chrono::DateTime<chrono::Utc>),
}

impl Clock {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            Clock::System => chrono::Utc::now(),
            Clock::Fixed(t) => *t,
        }
    }
}

/// What every handler can reach.
pub struct AppState {
    pub pool: Pool,
    pub keys: TokenKeys,
    pub clock: Clock,
    /// Failed sign-ins per account and address.
    pub throttle: std::sync::Mutex<hemtid_core::auth::throttle::LoginThrottle>,
    /// Signs digital lock keys; without it none are handed out.
    pub lock_keys: Option<hemtid_core::auth::lock_keys::LockKeys>,
    /// Fans the alert outbox out to the open alert streams.
    pub alerts: handlers::alert::AlertHub,
    /// Which sign-ins are live (answers of the last second).
    pub sessions: sessions::Sessions,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` name the
    /// client; set once at start.
    pub proxies: std::sync::OnceLock<Vec<std::net::IpAddr>>,
    /// Whether this process's MQTT gateway has its subscriptions in place
    /// (`/readyz` says not ready until it has); unset without a gateway.
    pub gateway_ready: std::sync::OnceLock<tokio::sync::watch::Receiver<bool>>,
    /// Set when `/metrics` has a listener of its own (`metrics_addr`):
    /// the API's address then answers 404 there.
    pub metrics_elsewhere: std::sync::OnceLock<()>,
    /// The municipalities' identity providers (OpenID Connect); set once
    /// at start, none unless configured.
    pub identity: std::sync::OnceLock<std::sync::Arc<hemtid_core::auth::oidc::IdentityProviders>>,
    /// What the phone's items look up that seldom changes, kept across
    /// requests while the database's directory version stays the same.
    pub directory: std::sync::Arc<hemtid_core::intake::Directory>,
    /// When each care worker's phone last reached hemtid, as written.
    pub phone_seen: phones::PhoneSeen,
    /// The writer the phone's items are recorded by together (on SQLite
    /// the single writer of every phone write), with the database's
    /// backend; started at the first write.
    writer: std::sync::OnceLock<Option<(hemtid_core::db::Backend, hemtid_core::writer::Writer)>>,
}

impl AppState {
    pub fn new(pool: Pool, keys: TokenKeys) -> web::Data<AppState> {
        AppState::with_clock(pool, keys, Clock::System)
    }

    pub fn with_clock(pool: Pool, keys: TokenKeys, clock: Clock) -> web::Data<AppState> {
        AppState::build(pool, keys, clock, None)
    }

    pub fn build(
        pool: Pool,
        keys: TokenKeys,
        clock: Clock,
        lock_keys: Option<hemtid_core::auth::lock_keys::LockKeys>,
    ) -> web::Data<AppState> {
        web::Data::new(AppState {
            pool,
            keys,
            clock,
            throttle: Default::default(),
            lock_keys,
            alerts: Default::default(),
            sessions: Default::default(),
            proxies: Default::default(),
            gateway_ready: Default::default(),
            metrics_elsewhere: Default::default(),
            identity: Default::default(),
            directory: Default::default(),
            phone_seen: Default::default(),
            writer: Default::default(),
        })
    }

    /// The configured identity providers (none unless configured).
    pub fn identity_providers(&self) -> std::sync::Arc<hemtid_core::auth::oidc::IdentityProviders> {
        self.identity.get().cloned().unwrap_or_default()
    }

    /// The trusted reverse proxies (none unless configured).
    pub fn trusted_proxies(&self) -> Vec<std::net::IpAddr> {
        self.proxies.get().cloned().unwrap_or_default()
    }

    /// Runs `f` with a pooled connection on the blocking thread pool; the
    /// async workers never wait on the database themselves.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(ApiError::internal)?;
            f(&mut conn)
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Runs `f`, which writes, and answers once its write is committed.
    /// What `f` defers to the figures ([`Pending`]) is written in the same
    /// transaction before the commit. On SQLite `f` runs in the single
    /// writer's next transaction (in a savepoint of its own) with the other
    /// writes waiting then, committed together (`hemtid_core::writer`); on
    /// PostgreSQL in a transaction of its own on a pooled connection.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn, &mut Pending) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let writer = match self.writer().await? {
            Some((hemtid_core::db::Backend::Sqlite, w)) => w,
            _ => return self.in_own_transaction(f).await,
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        writer.submit(f, move |r| {
            let _ = tx.send(r);
        });
        rx.await.map_err(ApiError::internal)?
    }

    /// Records a phone's item through the writer, together with the items
    /// waiting then (`hemtid_core::record::record_items`, one set of
    /// statements and one commit for all of them), and answers once it is
    /// committed.
    pub async fn record(
        &self,
        item: hemtid_core::record::Item,
    ) -> Result<hemtid_core::record::Recorded, ApiError> {
        let Some((_, writer)) = self.writer().await? else {
            // No writer thread: the item alone, in a transaction of its own.
            return self
                .in_own_transaction(move |c, pending| {
                    hemtid_core::record::record_items(c, std::slice::from_ref(&item), pending)?
                        .pop()
                        .ok_or_else(|| ApiError::internal("no result for the item"))?
                        .map_err(ApiError::from)
                })
                .await;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        writer.record(item, move |r| {
            let _ = tx.send(r);
        });
        Ok(rx.await.map_err(ApiError::internal)??)
    }

    /// Runs `f` in a transaction of its own on a pooled connection and
    /// writes what it defers to the figures before the commit.
    async fn in_own_transaction<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn, &mut Pending) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.db(move |c| {
            hemtid_core::db::transaction_for(c, |c| {
                let mut pending = Pending::default();
                let r = f(c, &mut pending)?;
                pending.apply(c)?;
                Ok(r)
            })
        })
        .await
    }

    /// The writer, started at the first call: one thread on SQLite (the
    /// only writer of the phone's writes), [`PG_WRITERS`] on PostgreSQL
    /// (for the phone's items only). None if its thread did not start.
    async fn writer(
        &self,
    ) -> Result<Option<&(hemtid_core::db::Backend, hemtid_core::writer::Writer)>, ApiError> {
        if let Some(w) = self.writer.get() {
            return Ok(w.as_ref());
        }
        let pool = self.pool.clone();
        let backend = web::block(move || hemtid_core::db::backend_of(&pool))
            .await
            .map_err(ApiError::internal)??;
        let threads = match backend {
            hemtid_core::db::Backend::Sqlite => 1,
            hemtid_core::db::Backend::Postgres => PG_WRITERS,
        };
        Ok(self
            .writer
            .get_or_init(|| {
                hemtid_core::writer::Writer::start_many(self.pool.clone(), threads)
                    .inspect_err(|e| tracing::error!(error = %e, "the writer thread did not start"))
                    .ok()
                    .map(|w| (backend, w))
            })
            .as_ref())
    }
}

/// PostgreSQL: the writer's threads, each a connection recording the
/// phone's items waiting when it is free. Measured on two cores (phone
/// bench, docs/BENCHMARKS.md): one thread gave 342 pairs/s, two 454.
const PG_WRITERS: usize = 2;

/// Set on every answer unless it sets its own: no answer is sniffed into
/// another type than it says, sends a referrer, or may be framed; API
/// answers load nothing (the pages set their own policy); and, as answers
/// carry personal data, no cache keeps them (the pages and the document
/// say what they allow). Names in lower case, as `HeaderName::from_static`
/// wants them.
const SAFE_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

/// [`SAFE_HEADERS`] as a middleware.
fn safe_headers() -> actix_web::middleware::DefaultHeaders {
    SAFE_HEADERS
        .iter()
        .fold(actix_web::middleware::DefaultHeaders::new(), |d, h| {
            d.add(*h)
        })
}

/// The answers actix-http's HTTP/1 dispatcher gives before any route runs
/// (a malformed request head, one too large or too slow, its internal
/// errors), as problem+json with the safe headers: hemtid's patch of the
/// crate (vendor/actix-http/PATCH.md) asks this for their bodies. Those
/// requests reach neither the access log nor the metrics.
fn framework_problem(
    status: actix_web::http::StatusCode,
) -> Option<(actix_web::http::header::HeaderMap, web::Bytes)> {
    use actix_web::http::StatusCode;
    use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
    let code = match status {
        StatusCode::BAD_REQUEST => ErrorCode::MalformedRequest,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ErrorCode::RequestHeadTooLarge,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::INTERNAL_SERVER_ERROR => ErrorCode::InternalError,
        _ => return None,
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(openapi::problem::PROBLEM_JSON),
    );
    for (name, value) in SAFE_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    Some((headers, ApiError::new(code).problem_json().into()))
}

/// The whole application: routes, extractor settings and fallbacks.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // Once per process; later calls change nothing.
    actix_http::error_body::set(framework_problem);
    App::new()
        // Registered first, so it runs last before the routes: a HEAD is
        // answered as the GET it stands for (the server sends the headers
        // only); the access log and metrics still see HEAD.
        .wrap_fn(head_as_get)
        .wrap_fn(access_log)
        // JSON and the document compressed when asked (gzip, br); the
        // alert stream opts out.
        .wrap(actix_web::middleware::Compress::default())
        // ... which it learns from `Content-Encoding: identity`, a value
        // HTTP says never to send: taken off again outside it.
        .wrap_fn(no_identity_encoding)
        // The safe headers on every answer that sets none of its own.
        .wrap(safe_headers())
        .app_data(state)
        .app_data(web::PayloadConfig::new(extract::MAX_BODY_BYTES))
        .app_data(web::PathConfig::default().error_handler(extract::path_error))
        .app_data(web::QueryConfig::default().error_handler(extract::query_error))
        .configure(handlers::routes)
        .default_service(web::to(not_found))
}

/// The operations endpoints alone, `/healthz`, `/readyz` and `/metrics`,
/// for `hemtid gateway`, which serves no API (a gateway scaled out on its
/// own is probed and scraped like `hemtid serve`).
pub fn ops_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    actix_http::error_body::set(framework_problem);
    use handlers::{health, res};
    // HEAD, `Allow` on 405 and the safe headers as on the API's address.
    App::new()
        .wrap_fn(head_as_get)
        .wrap(safe_headers())
        .app_data(state)
        .service(res("/healthz").route(web::get().to(health::healthz)))
        .service(res("/readyz").route(web::get().to(health::readyz)))
        .service(res("/metrics").route(web::get().to(health::metrics)))
        .default_service(web::to(not_found))
}

/// One line per request: method, path (ids only, never personal data:
/// those travel in bodies), status and duration; and the request in the
/// latency metrics by route.
fn access_log<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: actix_web::dev::Service<
            ServiceRequest,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let start = std::time::Instant::now();
    let method = req.method().clone();
    let path = redact_path(req.path());
    // The route's pattern (`/api/v1/clients/{id}`), never the ids, for the
    // latency metrics.
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let fut = srv.call(req);
    async move {
        let res = fut.await?;
        let status = res.status().as_u16();
        let micros = start.elapsed().as_micros();
        hemtid_core::metrics::global().http(
            method.as_str(),
            &route,
            status,
            start.elapsed().as_secs_f64(),
        );
        if path == "/healthz" || path == "/readyz" {
            tracing::debug!(%method, %path, status, micros, "request");
        } else {
            tracing::info!(%method, %path, status, micros, "request");
        }
        Ok(res)
    }
}

/// Takes `Content-Encoding: identity` off an answer: the alert stream sets
/// it so that `Compress` leaves it alone, and HTTP says never to send it.
fn no_identity_encoding<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: actix_web::dev::Service<
            ServiceRequest,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let fut = srv.call(req);
    async move {
        let mut res = fut.await?;
        let encoding = actix_web::http::header::CONTENT_ENCODING;
        if res
            .headers()
            .get(&encoding)
            .is_some_and(|v| v == "identity")
        {
            res.headers_mut().remove(encoding);
        }
        Ok(res)
    }
}

/// Routes HEAD as GET. HTTP/1.1 (the only protocol hemtid speaks) sends
/// no body in answer to a HEAD whatever the handler made, and the length
/// it would have had.
fn head_as_get<S, B>(
    mut req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: actix_web::dev::Service<
            ServiceRequest,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    srv.call(req)
}

/// The path as it may be logged: a segment that looks like a personal
/// identity number (10 or 12 digits, with or without `-` or `+` before
/// the last four; percent-encoding decoded first) becomes `{redacted}`.
/// The API never puts one in a path, but a client may by mistake.
pub fn redact_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            let digits: String = decoded
                .chars()
                .filter(|c| !matches!(c, '-' | '+' | ' '))
                .collect();
            let looks_like = (digits.len() == 10 || digits.len() == 12)
                && digits.bytes().all(|b| b.is_ascii_digit())
                && decoded.len() <= digits.len() + 2;
            if looks_like { "{redacted}" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Unknown paths get 404 as problem+json.
async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(ErrorCode::NotFound))
}

#[cfg(test)]
mod tests;

/// The client's address: the peer's, or when the peer is one of the
/// trusted reverse proxies, the nearest address before them in `Forwarded`
/// (RFC 7239) or else `X-Forwarded-For`. Anyone else's forwarding headers
/// are ignored: a client cannot choose its address.
pub fn client_address(req: &actix_web::HttpRequest, proxies: &[std::net::IpAddr]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    if !proxies.contains(&peer) {
        return peer.to_string();
    }
    let header = |name: &str| {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",")
    };
    let forwarded: Vec<std::net::IpAddr> = {
        let f = header("forwarded");
        if f.is_empty() {
            header("x-forwarded-for")
                .split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect()
        } else {
            f.split(',')
                .filter_map(|element| {
                    element.split(';').find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        if !k.trim().eq_ignore_ascii_case("for") {
                            return None;
                        }
                        parse_node(v.trim().trim_matches('"'))
                    })
                })
                .collect()
        }
    };
    // From the nearest hop back: the first that is not a trusted proxy.
    forwarded
        .iter()
        .rev()
        .find(|ip| !proxies.contains(ip))
        .map_or_else(|| peer.to_string(), |ip| ip.to_string())
}

/// An RFC 7239 node: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`.
fn parse_node(v: &str) -> Option<std::net::IpAddr> {
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    v.parse()
        .ok()
        .or_else(|| v.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok()))
}

#[cfg(test)]
mod address_tests {
    use super::{client_address, parse_node};
    use actix_web::test::TestRequest;

    #[test]
    fn forwarded_nodes_in_their_forms() {
        assert_eq!(parse_node("192.0.2.1"), "192.0.2.1".parse().ok());
        assert_eq!(parse_node("192.0.2.1:4711"), "192.0.2.1".parse().ok());
        assert_eq!(parse_node("[2001:db8::1]:4711"), "2001:db8::1".parse().ok());
        assert_eq!(parse_node("_hidden"), None);
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxies = ["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        let from = |peer: &str, name: &str, value: &str| {
            let req = TestRequest::default()
                .peer_addr(format!("{peer}:1234").parse().unwrap())
                .insert_header((name, value))
                .to_http_request();
            client_address(&req, &proxies)
        };
        // Two proxies in a row; the client before them; a spoofed first
        // entry the client wrote itself is not reached.
        assert_eq!(
            from(
                "10.0.0.1",
                "X-Forwarded-For",
                "1.2.3.4, 203.0.113.7, 10.0.0.2"
            ),
            "203.0.113.7"
        );
        assert_eq!(
            from(
                "10.0.0.1",
                "Forwarded",
                "for=203.0.113.8;proto=https, for=\"[2001:db8::9]:80\""
            ),
            "2001:db8::9"
        );
        // Not from a proxy: the header is ignored.
        assert_eq!(
            from("192.0.2.5", "X-Forwarded-For", "203.0.113.7"),
            "192.0.2.5"
        );
    }
}
