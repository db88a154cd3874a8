//! The machine-readable contract: an OpenAPI 3.1 document generated from
//! the handlers' `#[utoipa::path]` annotations and the types they take and
//! give. `GET /api/v1/openapi.json` serves it and
//! `mobile-contract/openapi.json` is its committed copy; a test keeps the
//! two equal.

pub(crate) mod crud;
pub(crate) mod problem;
mod sync_item;

use crate::error::{ErrorCode, Problem};
use crate::handlers::{
    absence, alert, approval, auth, care_plan, client, consent, contact, credential, dead_letters,
    decision, device, docs, explanation, health, journal, lock_key, material, me, month,
    month_figures, month_lock, municipality, oidc, order, planned_visit, report, sync, user, visit,
};
use crud::Readers;
use hemtid_core::db::authority_unit::AuthorityUnit;
use hemtid_core::db::client::Client;
use hemtid_core::db::provider::Provider;
use hemtid_core::db::service::Service;
use hemtid_core::db::user_account::UserAccount;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The name of the bearer security scheme.
pub const BEARER: &str = "bearer";
/// The media type of request and success bodies.
pub const JSON: &str = "application/json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hemtid API",
        description = "hemtid's REST API: sign-in, the care worker's phone, the care journal, \
            the provider admin's approvals and the integration API for the municipality's case \
            system. JSON in and out; lists answer `{\"items\": [...]}`. Times are RFC 3339: \
            requests carry an offset, answers are UTC with `Z`. Errors are \
            `application/problem+json` with a stable `code` (below); a method a path does not \
            have answers 405 `method_not_allowed`, an unknown path 404 `not_found`. Any \
            operation may answer a request that is not valid HTTP with 400 \
            `malformed_request`, one whose URL and headers pass 128 KiB with 431 \
            `request_head_too_large`, and one whose head takes over 5 s to arrive with 408 \
            `request_timeout`. No text may hold U+0000 (400 `invalid_json`). Rules a schema \
            cannot state answer 422 `validation_failed` with a code per field: an id must name \
            something that exists (`unknown_reference`), a body's `id` must equal the URL's \
            (`id_mismatch`), a personal identity number's date and check digit \
            (`invalid_date`, `invalid_check_digit`), a window must end after it starts."
    ),
    paths(
        health::healthz,
        health::readyz,
        docs::get_openapi,
        auth::login,
        auth::refresh,
        auth::logout,
        oidc::list_identity_providers,
        oidc::authorize,
        oidc::token,
        auth::me,
        me::my_clients,
        me::my_visits,
        visit::post_check_in,
        visit::post_check_out,
        visit::post_declined,
        visit::post_entry,
        sync::post_sync,
        month::get_client_month,
        journal::get_notes,
        journal::post_note,
        approval::approve_visit,
        approval::correct_visit,
        approval::void_visit,
        approval::visit_history,
        approval::visit_evidence,
        approval::day_visits,
        approval::approve_day,
        approval::locked_months,
        approval::lock_month,
        municipality::get_municipality,
        municipality::update_municipality,
        municipality::retention_runs,
        client::lookup_client,
        user::set_password,
        user::change_own_password,
        decision::list_client_decisions,
        decision::create_decision,
        decision::get_decision,
        decision::update_decision,
        order::list_client_orders,
        order::create_order,
        order::get_order,
        order::update_order,
        order::renew_order,
        order::get_ordered_time,
        device::register_device,
        device::list_devices,
        device::get_device,
        device::bind_device,
        device::retire_device,
        device::rotate_device_secret,
        dead_letters::list_device_conflicts,
        credential::add_credential,
        credential::list_credentials,
        credential::revoke_credential,
        dead_letters::list_dead_letters,
        dead_letters::list_notices,
        lock_key::issue_key,
        lock_key::revoke_keys,
        lock_key::end_sessions,
        dead_letters::replay_dead_letter,
        alert::list_alerts,
        alert::get_alert,
        alert::acknowledge_alert,
        alert::resolve_alert,
        alert::alert_stream,
        absence::create_absence,
        absence::list_absences,
        absence::end_absence,
        absence::cancel_absence,
        explanation::put_explanation,
        explanation::list_explanations,
        explanation::review_explanation,
        report::monthly_report,
        report::ksi_report,
        report::fee_report,
        report::payment_report,
        report::measures_report,
        report::punctuality_report,
        month_lock::unlock_month,
        month_lock::lock_log,
        planned_visit::put_plans,
        planned_visit::post_plans_csv,
        planned_visit::get_day,
        care_plan::get_plan,
        care_plan::start_version,
        care_plan::edit_version,
        care_plan::approve_version,
        care_plan::review_version,
        care_plan::follow_up_plan,
        contact::get_contact,
        contact::put_contact,
        contact::post_individual,
        contact::list_individual,
        consent::post_consent,
        consent::list_consents,
        consent::put_shared_board,
        consent::access_log,
        consent::my_access_log,
        material::send_request,
        material::list_requests,
        material::get_request,
        material::answer_request,
        material::close_request,
        material::plan_lists,
        month_figures::month_figures,
    ),
    components(schemas(Problem, alert::AlertStreamReset)),
    modifiers(&Contract),
    tags(
        (name = "auth", description = "Sign-in, token refresh and the signed-in account."),
        (name = "phone", description = "The care worker's phone: today's clients, visits \
            (check-in, check-out, declined, entered afterwards), offline sync and the client's \
            month."),
        (name = "journal", description = "The care journal: append-only notes, read by the \
            provider."),
        (name = "provider", description = "The provider admin: a day's visits, approval, \
            corrections, voids, history and month locks."),
        (name = "integration", description = "The municipality's case system and admins: \
            settings, organisations, users, clients, decisions and orders."),
        (name = "devices", description = "The device registry of a provider (door locks, \
            NFC readers and tags), staff credentials, and the admin's dead letters. Devices \
            themselves speak MQTT: see asyncapi.yaml."),
        (name = "alerts", description = "Variance alerts for caseworkers, provider admins \
            and fee administrators: one per client, month and kind (rule ids R1–R8 in the \
            glossary), with a Swedish message and the figures behind it; acknowledge, resolve, \
            and a live Server-Sent-Events stream. The same changes go out over MQTT: see \
            asyncapi.yaml."),
        (name = "variance", description = "What explains a month: client absences and the \
            provider's explanations, reviewed by the caseworker from the municipality's review \
            day (R3)."),
        (name = "reports", description = "Monthly reports from the kept figures: performed \
            against ordered per client, months above granted time for the fee administrators \
            (R5), the providers' payment basis. JSON, or CSV with Swedish headings (`Accept: \
            text/csv` or `?format=csv`)."),
        (name = "care", description = "Care plans (genomförandeplan) with versions and \
            follow-ups (R10, R11, R17), contact persons (R13), the caseworker's individual \
            follow-ups (R12), consent and one-board units (R14), requests for material (R15), \
            the monthly lists of clients without a plan (R10), and the access log."),
        (name = "health", description = "Liveness, readiness and this document; no sign-in."),
    )
)]
struct ApiDoc;

/// What the derive cannot say: the security scheme, the problem
/// responses, the error-code table and the generic CRUD paths.
struct Contract;

impl Modify for Contract {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "`Authorization: Bearer <token>`: an access token from \
                         `POST /api/v1/auth/login` (a JWT, short-lived; renew it with \
                         `/auth/refresh`) or an integration token of the case system \
                         (`hit_…`, made with `hemtid token create`).",
                    ))
                    .build(),
            ),
        );
        components.responses.extend(problem::components());
        let readers = Readers("other roles may not");
        crud::add::<Provider>(doc, "providers (utförare)", readers);
        crud::add::<AuthorityUnit>(doc, "authority units (ÄVO, FFS)", readers);
        crud::add::<Service>(doc, "services (insatser) of the catalogue", readers);
        crud::add::<UserAccount>(doc, "user accounts", readers);
        crud::add::<Client>(
            doc,
            "clients (brukare)",
            Readers(
                "every other role reads the clients within its reach: fee administrators \
                 the municipality's, caseworkers their unit's, provider admins their \
                 provider's, care workers today's; others' clients are not found",
            ),
        );
        let intro = doc.info.description.take().unwrap_or_default();
        doc.info.description = Some(format!("{intro}\n\n{}", error_table()));
    }
}

/// Every error code with its status and title, as a Markdown table.
pub fn error_table() -> String {
    let mut out = String::from("## Error codes\n\n| code | status | title |\n|---|---|---|\n");
    for c in ErrorCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            c.as_str(),
            c.status().as_u16(),
            c.title()
        ));
    }
    out
}

/// The document.
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// The document as pretty JSON with sorted keys and a final newline: the
/// bytes of `mobile-contract/openapi.json`.
pub fn to_json() -> Result<String, serde_json::Error> {
    // Through `Value`, whose maps sort their keys, so the order never
    // depends on how the document was built.
    let value = serde_json::to_value(document())?;
    Ok(serde_json::to_string_pretty(&value)? + "\n")
}
