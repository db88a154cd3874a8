//! Routes and the helpers handlers share.

pub(crate) mod absence;
pub(crate) mod alert;
pub(crate) mod approval;
pub(crate) mod auth;
pub(crate) mod care_plan;
pub(crate) mod client;
pub(crate) mod consent;
pub(crate) mod contact;
pub(crate) mod credential;
pub(crate) mod crud;
pub(crate) mod dead_letters;
pub(crate) mod decision;
pub(crate) mod device;
pub(crate) mod docs;
pub(crate) mod explanation;
pub(crate) mod health;
pub(crate) mod journal;
pub(crate) mod lock_key;
pub(crate) mod material;
pub(crate) mod me;
pub(crate) mod month;
pub(crate) mod month_figures;
pub(crate) mod month_lock;
pub(crate) mod municipality;
pub(crate) mod oidc;
pub(crate) mod order;
pub(crate) mod pages;
pub(crate) mod planned_visit;
pub(crate) mod provider;
pub(crate) mod report;
pub(crate) mod service;
pub(crate) mod sync;
pub(crate) mod unit;
pub(crate) mod user;
pub(crate) mod visit;

use crate::error::{ApiError, ErrorCode};
use actix_web::http::header;
use actix_web::{HttpResponse, Resource, web};
use hemtid_core::db::StoreError;
use hemtid_core::db::authority_unit::AuthorityUnit;
use hemtid_core::db::client::Client;
use hemtid_core::db::provider::Provider;
use hemtid_core::db::service::Service;
use hemtid_core::db::user_account::UserAccount;
use hemtid_core::validate::ValidationErrors;
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use web::{get, post, put};
    cfg.configure(pages::routes)
        .service(res("/healthz").route(get().to(health::healthz)))
        .service(res("/readyz").route(get().to(health::readyz)))
        .service(
            web::scope("/api/v1")
                .service(res("/openapi.json").route(get().to(docs::get_openapi)))
                .service(res("/auth/login").route(post().to(auth::login)))
                .service(res("/auth/refresh").route(post().to(auth::refresh)))
                .service(res("/auth/logout").route(post().to(auth::logout)))
                .service(
                    res("/auth/identity-providers").route(get().to(oidc::list_identity_providers)),
                )
                .service(res("/auth/oidc/token").route(post().to(oidc::token)))
                .service(res("/auth/oidc/{kommunkod}/authorize").route(get().to(oidc::authorize)))
                .service(res("/me").route(get().to(auth::me)))
                .service(res("/me/clients").route(get().to(me::my_clients)))
                .service(res("/me/password").route(put().to(user::change_own_password)))
                .service(res("/me/visits").route(get().to(me::my_visits)))
                .service(res("/visits/check-in").route(post().to(visit::post_check_in)))
                .service(res("/visits/check-out").route(post().to(visit::post_check_out)))
                .service(res("/visits/declined").route(post().to(visit::post_declined)))
                .service(res("/sync").route(post().to(sync::post_sync)))
                .service(res("/visits/entries").route(post().to(visit::post_entry)))
                .service(res("/visits/{id}/approval").route(post().to(approval::approve_visit)))
                .service(res("/visits/{id}/corrections").route(post().to(approval::correct_visit)))
                .service(res("/visits/{id}/void").route(post().to(approval::void_visit)))
                .service(res("/visits/{id}/history").route(get().to(approval::visit_history)))
                .service(res("/visits/{id}/evidence").route(get().to(approval::visit_evidence)))
                .service(res("/provider/visits").route(get().to(approval::day_visits)))
                .service(
                    res("/devices")
                        .route(get().to(device::list_devices))
                        .route(post().to(device::register_device)),
                )
                .service(res("/devices/{id}").route(get().to(device::get_device)))
                .service(res("/devices/{id}/binding").route(put().to(device::bind_device)))
                .service(res("/devices/{id}/retire").route(post().to(device::retire_device)))
                .service(res("/devices/{id}/secret").route(post().to(device::rotate_device_secret)))
                .service(
                    res("/staff-credentials")
                        .route(get().to(credential::list_credentials))
                        .route(post().to(credential::add_credential)),
                )
                .service(
                    res("/staff-credentials/{credential}/revoke")
                        .route(post().to(credential::revoke_credential)),
                )
                .service(res("/dead-letters").route(get().to(dead_letters::list_dead_letters)))
                .service(res("/provider/notices").route(get().to(dead_letters::list_notices)))
                .service(
                    res("/provider/device-conflicts")
                        .route(get().to(dead_letters::list_device_conflicts)),
                )
                .service(res("/locks/{device_id}/key").route(post().to(lock_key::issue_key)))
                .service(res("/users/{id}/keys/revoke").route(post().to(lock_key::revoke_keys)))
                .service(res("/users/{id}/sessions/end").route(post().to(lock_key::end_sessions)))
                .service(
                    res("/dead-letters/{id}/replay")
                        .route(post().to(dead_letters::replay_dead_letter)),
                )
                .service(
                    res("/provider/days/{date}/approval").route(post().to(approval::approve_day)),
                )
                .service(res("/provider/months").route(get().to(approval::locked_months)))
                .service(
                    res("/provider/months/{month}/lock").route(post().to(approval::lock_month)),
                )
                .service(
                    res("/municipality/retention-runs")
                        .route(get().to(municipality::retention_runs)),
                )
                .service(
                    res("/municipality")
                        .route(get().to(municipality::get_municipality))
                        .route(put().to(municipality::update_municipality)),
                )
                // Fixed paths before the `{id}` patterns of the same collection.
                .service(res("/clients/lookup").route(post().to(client::lookup_client)))
                .configure(crud::routes::<Provider>)
                .configure(crud::routes::<AuthorityUnit>)
                .configure(crud::routes::<Service>)
                .configure(crud::routes::<UserAccount>)
                .configure(crud::routes::<Client>)
                .service(res("/users/{id}/password").route(put().to(user::set_password)))
                .service(
                    res("/clients/{id}/months/{month}").route(get().to(month::get_client_month)),
                )
                .service(
                    res("/clients/{id}/months/{month}/figures")
                        .route(get().to(month_figures::month_figures)),
                )
                .service(
                    res("/clients/{id}/journal")
                        .route(get().to(journal::get_notes))
                        .route(post().to(journal::post_note)),
                )
                .service(
                    res("/clients/{id}/decisions").route(get().to(decision::list_client_decisions)),
                )
                .service(res("/clients/{id}/orders").route(get().to(order::list_client_orders)))
                .service(res("/decisions").route(post().to(decision::create_decision)))
                .service(
                    res("/decisions/{id}")
                        .route(get().to(decision::get_decision))
                        .route(put().to(decision::update_decision)),
                )
                .service(res("/orders").route(post().to(order::create_order)))
                .service(
                    res("/orders/{id}")
                        .route(get().to(order::get_order))
                        .route(put().to(order::update_order)),
                )
                .service(res("/orders/{id}/renewal").route(post().to(order::renew_order)))
                .service(res("/orders/{id}/ordered-time").route(get().to(order::get_ordered_time)))
                .service(
                    res("/providers/{id}/months/{month}/unlock")
                        .route(post().to(month_lock::unlock_month)),
                )
                .service(
                    res("/providers/{id}/months/{month}/lock-log")
                        .route(get().to(month_lock::lock_log)),
                )
                .service(
                    res("/providers/{id}/planned-visits")
                        .app_data(web::PayloadConfig::new(planned_visit::MAX_BODY_BYTES))
                        .app_data(crate::extract::BodyLimit(planned_visit::MAX_BODY_BYTES))
                        .route(put().to(planned_visit::put_plans))
                        .route(post().to(planned_visit::post_plans_csv))
                        .route(get().to(planned_visit::get_day)),
                )
                .service(res("/reports/monthly").route(get().to(report::monthly_report)))
                .service(res("/reports/monthly-by-ksi").route(get().to(report::ksi_report)))
                .service(res("/reports/fees").route(get().to(report::fee_report)))
                .service(res("/reports/payment-basis").route(get().to(report::payment_report)))
                .service(res("/reports/measures").route(get().to(report::measures_report)))
                .service(res("/reports/punctuality").route(get().to(report::punctuality_report)))
                .service(res("/alerts").route(get().to(alert::list_alerts)))
                .service(res("/alerts/stream").route(get().to(alert::alert_stream)))
                .service(res("/alerts/{id}").route(get().to(alert::get_alert)))
                .service(res("/alerts/{id}/acknowledge").route(post().to(alert::acknowledge_alert)))
                .service(res("/alerts/{id}/resolve").route(post().to(alert::resolve_alert)))
                .service(
                    res("/clients/{id}/absences")
                        .route(get().to(absence::list_absences))
                        .route(post().to(absence::create_absence)),
                )
                .service(res("/absences/{id}/end").route(post().to(absence::end_absence)))
                .service(res("/absences/{id}/cancel").route(post().to(absence::cancel_absence)))
                .service(
                    res("/clients/{id}/months/{month}/explanation")
                        .route(put().to(explanation::put_explanation)),
                )
                .service(
                    res("/clients/{id}/months/{month}/explanations")
                        .route(get().to(explanation::list_explanations)),
                )
                .service(
                    res("/explanations/{id}/review")
                        .route(post().to(explanation::review_explanation)),
                )
                .service(res("/clients/{id}/care-plan").route(get().to(care_plan::get_plan)))
                .service(
                    res("/clients/{id}/care-plan/versions")
                        .route(post().to(care_plan::start_version)),
                )
                .service(
                    res("/clients/{id}/care-plan/follow-ups")
                        .route(post().to(care_plan::follow_up_plan)),
                )
                .service(res("/care-plan-versions/{id}").route(put().to(care_plan::edit_version)))
                .service(
                    res("/care-plan-versions/{id}/approval")
                        .route(post().to(care_plan::approve_version)),
                )
                .service(
                    res("/care-plan-versions/{id}/review")
                        .route(post().to(care_plan::review_version)),
                )
                .service(
                    res("/clients/{id}/contact-person")
                        .route(get().to(contact::get_contact))
                        .route(put().to(contact::put_contact)),
                )
                .service(
                    res("/clients/{id}/individual-follow-ups")
                        .route(get().to(contact::list_individual))
                        .route(post().to(contact::post_individual)),
                )
                .service(
                    res("/clients/{id}/consents")
                        .route(get().to(consent::list_consents))
                        .route(post().to(consent::post_consent)),
                )
                .service(
                    res("/authority-units/{id}/shared-boards/{provider_id}")
                        .route(put().to(consent::put_shared_board)),
                )
                .service(res("/access-log").route(get().to(consent::access_log)))
                .service(res("/me/access-log").route(get().to(consent::my_access_log)))
                .service(
                    res("/clients/{id}/material-requests").route(post().to(material::send_request)),
                )
                .service(res("/material-requests").route(get().to(material::list_requests)))
                .service(res("/material-requests/{id}").route(get().to(material::get_request)))
                .service(
                    res("/material-requests/{id}/answer")
                        .route(post().to(material::answer_request)),
                )
                .service(
                    res("/material-requests/{id}/close").route(post().to(material::close_request)),
                )
                .service(res("/care-plan-lists").route(get().to(material::plan_lists))),
        );
}

/// A resource whose wrong-method answer is problem+json with `Allow`.
pub(crate) fn res(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// 405 as problem+json, with the methods the resource has in `Allow`
/// (from the OpenAPI document; `GET, HEAD` for the pages, which it does
/// not describe).
async fn method_not_allowed(req: actix_web::HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    let allowed = req
        .match_pattern()
        .and_then(|p| ALLOWED.get(&template(&p)).cloned())
        .unwrap_or_else(|| "GET, HEAD".to_string());
    let mut res = ApiError::new(ErrorCode::MethodNotAllowed).error_response();
    if let Ok(v) = header::HeaderValue::from_str(&allowed) {
        res.headers_mut().insert(header::ALLOW, v);
    }
    res
}

/// A path template with its parameters' names left out, so that
/// `/clients/{id}` and `/clients/{client_id}` compare equal.
fn template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut inside = false;
    for ch in path.chars() {
        match ch {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Each documented path's methods as an `Allow` value (HEAD wherever GET
/// is: the API answers HEAD as GET without the body).
static ALLOWED: std::sync::LazyLock<std::collections::HashMap<String, String>> =
    std::sync::LazyLock::new(|| {
        let doc = crate::openapi::document();
        doc.paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods = Vec::new();
                if item.get.is_some() {
                    methods.extend(["GET", "HEAD"]);
                }
                for (m, op) in [
                    ("POST", &item.post),
                    ("PUT", &item.put),
                    ("PATCH", &item.patch),
                    ("DELETE", &item.delete),
                ] {
                    if op.is_some() {
                        methods.push(m);
                    }
                }
                (template(path), methods.join(", "))
            })
            .collect()
    });

/// `{"items": [...]}`: lists are wrapped so paging can be added later.
#[derive(Serialize, ToSchema)]
pub(crate) struct Items<T> {
    pub items: Vec<T>,
}

fn list<T: Serialize>(items: Vec<T>) -> HttpResponse {
    HttpResponse::Ok().json(Items { items })
}

/// 201 with a Location header.
fn created<T: Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(body)
}

/// The id a create uses: the caller's (so a case system can keep its own
/// UUIDs) or a new one.
fn id_or_new(id: Option<uuid::Uuid>) -> String {
    id.map_or_else(hemtid_core::db::new_id, |u| u.to_string())
}

/// On update, an `id` in the body must match the path.
fn check_body_id(errors: &mut ValidationErrors, body: Option<uuid::Uuid>, path: &uuid::Uuid) {
    if body.is_some_and(|b| b != *path) {
        errors.add(
            "id",
            "id_mismatch",
            "the id in the body differs from the URL",
        );
    }
}

/// Looks up a referenced row; a missing one becomes a field error.
fn reference<T>(
    errors: &mut ValidationErrors,
    field: &str,
    found: Result<T, StoreError>,
) -> Result<Option<T>, ApiError> {
    match found {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::NotFound) => {
            errors.add(
                field,
                "unknown_reference",
                "no such item in this municipality",
            );
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Maps a unique-constraint conflict to a 409 with a detail that names the
/// rule, never the value.
fn conflict_detail(e: StoreError, detail: &str) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::with_detail(ErrorCode::AlreadyExists, detail),
        other => other.into(),
    }
}

/// Serde default for `active` flags.
fn yes() -> bool {
    true
}

/// The municipality's time zone.
fn tz_of(m: &hemtid_core::db::municipality::Municipality) -> Result<chrono_tz::Tz, ApiError> {
    m.tz()
        .ok_or_else(|| ApiError::internal("invalid stored time zone"))
}

/// The client, if within the principal's reach on the municipality's
/// local date at `now` (others' clients are not found).
fn client_in_reach(
    c: &mut hemtid_core::db::DbConn,
    p: &crate::extract::Principal,
    client_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Client, ApiError> {
    let m = hemtid_core::db::municipality::get(c, &p.municipality_id)?;
    let today = hemtid_core::domain::local_date(now, tz_of(&m)?);
    Ok(hemtid_core::db::access::visible_client(
        c,
        &p.scope(),
        client_id,
        today,
    )?)
}

/// Writes a read of a client's personal data to the access log (R14).
/// `subjects` are the users whose registrations were read.
pub(crate) fn log_read(
    c: &mut hemtid_core::db::DbConn,
    p: &crate::extract::Principal,
    client_id: &str,
    what: &str,
    subjects: Vec<String>,
) -> Result<(), StoreError> {
    hemtid_core::db::access_log::record(
        c,
        &hemtid_core::db::access_log::Read {
            user_id: &p.subject,
            role: p.role.as_str(),
            client_id,
            what,
            subjects,
        },
        hemtid_core::db::now(),
    )?;
    Ok(())
}

/// Today in Stockholm, for validating dates of birth.
fn today() -> chrono::NaiveDate {
    hemtid_core::domain::local_date(chrono::Utc::now(), hemtid_core::domain::STOCKHOLM)
}
