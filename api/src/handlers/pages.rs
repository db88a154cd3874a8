//! The pages for caseworkers and provider admins: a small single-page app
//! (HTML, CSS, JavaScript with SVG charts) compiled into the binary, so
//! `hemtid serve` serves it at `/` with no build step and no network.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const INDEX: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const APP_CSS: &str = include_str!("../../web/app.css");
const ACCESSIBILITY: &str = include_str!("../../web/tillganglighet.html");

fn page(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .body(body)
}

pub async fn index() -> HttpResponse {
    page(INDEX, "text/html; charset=utf-8")
}

pub async fn app_js() -> HttpResponse {
    page(APP_JS, "text/javascript; charset=utf-8")
}

pub async fn app_css() -> HttpResponse {
    page(APP_CSS, "text/css; charset=utf-8")
}

/// The accessibility statement (tillgänglighetsredogörelse) that Swedish
/// public-sector digital services publish (lagen 2018:1937); public,
/// linked from every page.
pub async fn accessibility() -> HttpResponse {
    page(ACCESSIBILITY, "text/html; charset=utf-8")
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(super::res("/").route(web::get().to(index)))
        // Where the identity provider sends the browser back (the page
        // finishes the sign-in).
        .service(super::res("/inloggning").route(web::get().to(index)))
        .service(super::res("/web/app.js").route(web::get().to(app_js)))
        .service(super::res("/web/app.css").route(web::get().to(app_css)))
        .service(super::res("/tillganglighet").route(web::get().to(accessibility)))
        .service(super::res("/metrics").route(web::get().to(super::health::metrics_here)));
}
