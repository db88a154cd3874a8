//! The device registry for provider admins (register, bind, rebind,
//! retire; last seen, firmware, battery), staff credentials, and the
//! admin's dead letters with replay.

use super::{Items, list};
use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::db::device::{self, Device, NewDevice};
use hemtid_core::db::provider_notice::{self, ProviderNotice};
use hemtid_core::db::staff_credential::{self, StaffCredential};
use hemtid_core::db::{DbConn, access, dead_letter, now, user_account};
use hemtid_core::ingest::{self, Outcome};
use hemtid_core::model::Role;
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Body of `POST /api/v1/devices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    /// The id it publishes under (A–Z, a–z, 0–9, `-`, `_`, `.`; at most 128).
    pub id: String,
    /// `door_lock`, `nfc_reader` or `nfc_tag`.
    #[schema(pattern = "^(door_lock|nfc_reader|nfc_tag)$")]
    pub kind: String,
    /// The client whose home it is in.
    #[serde(default)]
    pub client_id: Option<Uuid>,
    /// Whether the device signs its payloads with a key generated now
    /// (HMAC-SHA256, see the AsyncAPI document). On by default: a device
    /// that cannot sign must be registered with `false`, explicitly.
    #[serde(default = "signed_by_default")]
    pub signed: bool,
}

fn signed_by_default() -> bool {
    true
}

/// Body of `PUT /api/v1/devices/{id}/binding`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingInput {
    /// `null` unbinds it.
    pub client_id: Option<Uuid>,
}

/// A device as the registry shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    #[serde(flatten)]
    pub device: Device,
    pub battery_low: bool,
    pub signs_payloads: bool,
}

impl From<Device> for DeviceView {
    fn from(d: Device) -> Self {
        DeviceView {
            battery_low: d.battery_low(),
            signs_payloads: d.signs_payloads(),
            device: d,
        }
    }
}

/// A new device with its secrets, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredDevice {
    #[serde(flatten)]
    pub device: DeviceView,
    /// The broker password (username: the device id).
    pub mqtt_password: String,
    /// The payload-signing key: 32 bytes as 64 hex digits (`null` for a
    /// device registered with `signed: false`).
    pub hmac_key: Option<String>,
    /// For a door lock: the public key to pin at enrolment. The lock
    /// accepts a configuration (and digital keys) only when signed with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_signing_key: Option<PinnedKey>,
}

/// The key a lock pins at enrolment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PinnedKey {
    /// `EdDSA` (Ed25519).
    pub algorithm: &'static str,
    /// The key's id, as in the header of what it signs.
    pub kid: String,
    /// The Ed25519 public key, base64url without padding (a JWK's `x`).
    pub public_key: String,
}

/// A device's new broker password, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    #[serde(flatten)]
    pub device: DeviceView,
    /// The new broker password (username: the device id); the old one no
    /// longer signs in and its connection has been ended.
    pub mqtt_password: String,
}

fn provider_admin(p: &Principal) -> Result<String, ApiError> {
    p.require(&[Role::ProviderAdmin])?;
    Ok(p.provider()?.to_string())
}

/// The client must be one the provider admin may see.
fn check_client(
    c: &mut DbConn,
    p: &Principal,
    client: Option<&Uuid>,
    today: chrono::NaiveDate,
    v: &mut ValidationErrors,
) -> Result<(), ApiError> {
    if let Some(id) = client {
        match access::visible_client(c, &p.scope(), &id.to_string(), today) {
            Ok(_) => {}
            Err(hemtid_core::db::StoreError::NotFound) => v.add(
                "client_id",
                "unknown_reference",
                "no such client of your provider",
            ),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `POST /api/v1/devices`: registers a device; its secrets are shown once.
#[utoipa::path(
    post,
    path = "/api/v1/devices",
    tag = "devices",
    security(("bearer" = [])),
    request_body = DeviceInput,
    responses(
        (status = 201, description = "Registered; its secrets are shown this once.", body = RegisteredDevice),
        problem::JsonBody,
        problem::SignedIn,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn register_device(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<DeviceInput>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let mut v = ValidationErrors::new();
    if ingest::device_id_of(&format!("hemtid/v1/devices/{}/events", input.id)).is_none() {
        v.add(
            "id",
            "invalid_device_id",
            "1–128 characters: A–Z, a–z, 0–9, '-', '_' or '.'",
        );
    }
    // Client ids beginning with "hemtid-" are the gateway's and hemtid's
    // tools'; a device signs in with its id as client id.
    if input
        .id
        .to_ascii_lowercase()
        .starts_with(hemtid_core::ingest::RESERVED_DEVICE_ID_PREFIX)
    {
        v.add(
            "id",
            "reserved_device_id",
            "ids beginning with 'hemtid-' are reserved",
        );
    }
    if !["door_lock", "nfc_reader", "nfc_tag"].contains(&input.kind.as_str()) {
        v.add("kind", "invalid_value", "door_lock, nfc_reader or nfc_tag");
    }
    let (secret, secret_hash) =
        hemtid_core::auth::new_secret_token("hdk_").map_err(ApiError::internal)?;
    // For external brokers' password files (`hemtid mqtt-acl`).
    let broker_hash =
        hemtid_core::auth::broker_password_hash(&secret).map_err(ApiError::internal)?;
    let hmac_key = if input.signed {
        Some(hemtid_core::auth::new_hmac_key().map_err(ApiError::internal)?)
    } else {
        None
    };
    let key = hmac_key.clone();
    let today = super::crud::today(&state);
    let d = state
        .db(move |c| {
            check_client(c, &p, input.client_id.as_ref(), today, &mut v)?;
            v.into_result(())?;
            let t = now();
            let new = NewDevice {
                id: input.id,
                municipality_id: p.municipality_id.clone(),
                provider_id: provider,
                kind: input.kind,
                client_id: input.client_id.map(|u| u.to_string()),
                secret_hash,
                hmac_key: key,
                status: "active".into(),
                created_at: t,
                updated_at: t,
            };
            let d = device::create(c, &new)
                .map_err(|e| super::conflict_detail(e, "a device with this id is registered"))?;
            device::set_broker_hash(c, &d.id, &broker_hash)?;
            Ok(d)
        })
        .await?;
    tracing::info!(device_id = %d.id, "device registered");
    let lock_signing_key = state
        .lock_keys
        .as_ref()
        .filter(|_| d.kind == "door_lock")
        .map(|k| PinnedKey {
            algorithm: "EdDSA",
            kid: k.kid().to_string(),
            public_key: k.public_key(),
        });
    Ok(super::created(
        format!("/api/v1/devices/{}", d.id),
        &RegisteredDevice {
            device: d.into(),
            mqtt_password: secret,
            hmac_key,
            lock_signing_key,
        },
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/devices",
    tag = "devices",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The provider's devices.", body = Items<DeviceView>),
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_devices(
    state: web::Data<AppState>,
    p: Principal,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let items = state.db(move |c| Ok(device::list(c, &provider)?)).await?;
    Ok(list(items.into_iter().map(DeviceView::from).collect()))
}

#[utoipa::path(
    get,
    path = "/api/v1/devices/{id}",
    tag = "devices",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The device id.")),
    responses(
        (status = 200, description = "The device.", body = DeviceView),
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn get_device(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let d = state
        .db(move |c| Ok(device::get(c, &provider, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(DeviceView::from(d)))
}

/// `PUT /api/v1/devices/{id}/binding`: binds, rebinds or unbinds.
#[utoipa::path(
    put,
    path = "/api/v1/devices/{id}/binding",
    tag = "devices",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The device id.")),
    request_body = BindingInput,
    responses(
        (status = 200, description = "Bound, rebound or unbound.", body = DeviceView),
        problem::JsonBody,
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn bind_device(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    Json(input): Json<BindingInput>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let today = super::crud::today(&state);
    let d = state
        .db(move |c| {
            let mut v = ValidationErrors::new();
            check_client(c, &p, input.client_id.as_ref(), today, &mut v)?;
            v.into_result(())?;
            let client = input.client_id.map(|u| u.to_string());
            Ok(device::bind(c, &provider, &id, client.as_deref())?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(DeviceView::from(d)))
}

/// `POST /api/v1/devices/{id}/retire`: its messages are dead-lettered from now on.
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/retire",
    tag = "devices",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The device id.")),
    responses(
        (status = 200, description = "Retired: its messages are dead-lettered from now on.", body = DeviceView),
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn retire_device(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let d = state
        .db(move |c| Ok(device::retire(c, &provider, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(DeviceView::from(d)))
}

/// `POST /api/v1/devices/{id}/secret`: a new broker password, shown once;
/// the old one stops working and a connection made with it is ended.
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/secret",
    tag = "devices",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The device id.")),
    responses(
        (status = 200, description = "Rotated; the new password is shown this once.", body = RotatedSecret),
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn rotate_device_secret(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let (secret, secret_hash) =
        hemtid_core::auth::new_secret_token("hdk_").map_err(ApiError::internal)?;
    let broker_hash =
        hemtid_core::auth::broker_password_hash(&secret).map_err(ApiError::internal)?;
    let d = state
        .db(move |c| {
            Ok(device::rotate_secret(
                c,
                &provider,
                &id,
                &secret_hash,
                Some(&broker_hash),
            )?)
        })
        .await?;
    tracing::info!(device_id = %d.id, "device secret rotated");
    Ok(HttpResponse::Ok().json(RotatedSecret {
        device: d.into(),
        mqtt_password: secret,
    }))
}

/// Body of `POST /api/v1/staff-credentials`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialInput {
    /// As devices report it, e.g. a fob's serial.
    #[schema(min_length = 1, max_length = 200)]
    pub credential: String,
    pub staff_id: Uuid,
    /// `key_fob`, `staff_tag` or `phone_key`.
    #[schema(pattern = "^(key_fob|staff_tag|phone_key)$")]
    pub kind: String,
}

/// `POST /api/v1/staff-credentials`: maps a credential to a care worker.
#[utoipa::path(
    post,
    path = "/api/v1/staff-credentials",
    tag = "devices",
    security(("bearer" = [])),
    request_body = CredentialInput,
    responses(
        (status = 201, description = "The credential, mapped to the care worker.", body = StaffCredential),
        problem::JsonBody,
        problem::SignedIn,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn add_credential(
    state: web::Data<AppState>,
    p: Principal,
    Json(input): Json<CredentialInput>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let mut v = ValidationErrors::new();
    let credential = v.text("credential", &input.credential, 200);
    if !["key_fob", "staff_tag", "phone_key"].contains(&input.kind.as_str()) {
        v.add("kind", "invalid_value", "key_fob, staff_tag or phone_key");
    }
    let at = state.clock.now().naive_utc();
    let created = state
        .db(move |c| {
            let staff = input.staff_id.to_string();
            match user_account::get(c, &p.municipality_id, &staff) {
                Ok(u)
                    if u.fields.role == "staff"
                        && u.fields.provider_id.as_deref() == Some(provider.as_str()) => {}
                Ok(_) | Err(hemtid_core::db::StoreError::NotFound) => v.add(
                    "staff_id",
                    "unknown_reference",
                    "no such care worker at your provider",
                ),
                Err(e) => return Err(e.into()),
            }
            v.into_result(())?;
            let row = StaffCredential {
                municipality_id: p.municipality_id.clone(),
                credential,
                staff_id: staff,
                kind: input.kind,
                active: true,
                created_at: at,
                revoked_at: None,
            };
            staff_credential::create(c, &row)
                .map_err(|e| super::conflict_detail(e, "the credential is registered"))
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// `GET /api/v1/staff-credentials`: the provider's care workers' credentials.
#[utoipa::path(
    get,
    path = "/api/v1/staff-credentials",
    tag = "devices",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The provider's care workers' credentials.", body = Items<StaffCredential>),
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_credentials(
    state: web::Data<AppState>,
    p: Principal,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let items = state
        .db(move |c| {
            let staff: Vec<String> = user_account::list(c, &p.municipality_id)?
                .into_iter()
                .filter(|u| u.fields.provider_id.as_deref() == Some(provider.as_str()))
                .map(|u| u.id)
                .collect();
            Ok(staff_credential::for_staff(c, &staff)?)
        })
        .await?;
    Ok(list(items))
}

/// `POST /api/v1/staff-credentials/{credential}/revoke`.
#[utoipa::path(
    post,
    path = "/api/v1/staff-credentials/{credential}/revoke",
    tag = "devices",
    security(("bearer" = [])),
    params(("credential" = String, Path, description = "As devices report it.")),
    responses(
        (status = 204, description = "Revoked."),
        problem::SignedIn,
        problem::NotFound,
        problem::Internal,
    ),
)]
pub async fn revoke_credential(
    state: web::Data<AppState>,
    p: Principal,
    credential: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    state
        .db(move |c| {
            let cred = staff_credential::get(c, &p.municipality_id, &credential)?;
            let staff = user_account::get(c, &p.municipality_id, &cred.staff_id)?;
            if staff.fields.provider_id.as_deref() != Some(provider.as_str()) {
                return Err(ApiError::not_found());
            }
            Ok(staff_credential::revoke(
                c,
                &p.municipality_id,
                &credential,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Query of `GET /api/v1/provider/notices`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    /// Resolved notices too.
    #[serde(default)]
    pub all: bool,
}

/// `GET /api/v1/provider/notices`: the provider's notices about its
/// devices (a low battery), open ones first.
#[utoipa::path(
    get,
    path = "/api/v1/provider/notices",
    tag = "devices",
    security(("bearer" = [])),
    params(NoticeQuery),
    responses(
        (status = 200, description = "Open ones first, newest first.", body = Items<ProviderNotice>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_notices(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let all = q.all;
    let items = state
        .db(move |c| Ok(provider_notice::list(c, &provider, all)?))
        .await?;
    Ok(list(items))
}

/// A dead letter with its payload as text.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterView {
    #[serde(flatten)]
    pub letter: dead_letter::DeadLetter,
    /// The raw payload, lossily as UTF-8: its first 4 KiB at most
    /// (`payload_bytes` is its whole length).
    pub payload: String,
    /// Whether only the first 4 KiB are kept (it cannot be replayed).
    pub truncated: bool,
    /// For `conflicting_duplicate`: the message stored first, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_payload: Option<String>,
}

impl From<dead_letter::DeadLetter> for DeadLetterView {
    fn from(l: dead_letter::DeadLetter) -> Self {
        DeadLetterView {
            payload: String::from_utf8_lossy(&l.payload).into_owned(),
            truncated: l.truncated(),
            stored_payload: l
                .stored_payload
                .as_deref()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            letter: l,
        }
    }
}

/// Query of `GET /api/v1/dead-letters`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    #[serde(default)]
    pub device_id: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/dead-letters`: newest first (admin).
#[utoipa::path(
    get,
    path = "/api/v1/dead-letters",
    tag = "devices",
    security(("bearer" = [])),
    params(DeadLetterQuery),
    responses(
        (status = 200, description = "Newest first.", body = Items<DeadLetterView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_dead_letters(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<DeadLetterQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Admin])?;
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    // The admin's own municipality's dead letters only.
    let m = p.municipality_id.clone();
    let items = state
        .db(move |c| Ok(dead_letter::list(c, &m, q.device_id.as_deref(), limit)?))
        .await?;
    Ok(list(items.into_iter().map(DeadLetterView::from).collect()))
}

/// What a replay did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayResult {
    /// `stored` or `duplicate`.
    pub result: &'static str,
    pub event_id: String,
}

/// `POST /api/v1/dead-letters/{id}/replay`: tries it again (admin).
#[utoipa::path(
    post,
    path = "/api/v1/dead-letters/{id}/replay",
    tag = "devices",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The dead letter.")),
    responses(
        (status = 200, description = "Stored now, or a duplicate of what is stored.", body = ReplayResult),
        problem::BadRequest,
        problem::SignedIn,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
)]
pub async fn replay_dead_letter(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    p.require(&[Role::Admin])?;
    let at = state.clock.now().naive_utc();
    let m = p.municipality_id.clone();
    let result = state
        .db(move |c| {
            // Another municipality's dead letter is not found.
            let letter = dead_letter::get_of(c, &m, &id.to_string())?;
            if letter.truncated() {
                return Err(ApiError::with_detail(
                    ErrorCode::ReplayRejected,
                    "only the first 4 KiB of this payload were kept: it cannot be replayed",
                ));
            }
            if letter.reason == "conflicting_duplicate" {
                return Err(ApiError::with_detail(
                    ErrorCode::ReplayRejected,
                    "a conflicting re-send is evidence: the event stored first stands",
                ));
            }
            Ok(ingest::replay(c, &letter.id, at)?)
        })
        .await?;
    let body = match result {
        Ok(Outcome::Stored { event_id, .. }) => {
            serde_json::json!({"result": "stored", "event_id": event_id})
        }
        Ok(Outcome::Duplicate { event_id, .. }) => {
            serde_json::json!({"result": "duplicate", "event_id": event_id})
        }
        Ok(Outcome::Conflict { .. }) => {
            return Err(ApiError::with_detail(
                ErrorCode::ReplayRejected,
                "conflicting_duplicate: this event id was stored before with other content",
            ));
        }
        Ok(Outcome::Dead { rejection, .. }) | Err(rejection) => {
            return Err(ApiError::with_detail(
                ErrorCode::ReplayRejected,
                format!("{}: {}", rejection.reason, rejection.detail),
            ));
        }
    };
    Ok(HttpResponse::Ok().json(body))
}

/// Query of `GET /api/v1/provider/device-conflicts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/provider/device-conflicts`: events the provider's devices
/// sent again with the same event id and other content (a firmware bug, a
/// clock that jumped, or someone else's traffic), newest first, each with
/// both versions. The event stored first stands.
#[utoipa::path(
    get,
    path = "/api/v1/provider/device-conflicts",
    tag = "devices",
    security(("bearer" = [])),
    params(ConflictQuery),
    responses(
        (status = 200, description = "Newest first, both versions of each.", body = Items<DeadLetterView>),
        problem::BadRequest,
        problem::SignedIn,
        problem::Internal,
    ),
)]
pub async fn list_device_conflicts(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<ConflictQuery>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_admin(&p)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let items = state
        .db(move |c| Ok(dead_letter::conflicts_of_provider(c, &provider, limit)?))
        .await?;
    Ok(list(items.into_iter().map(DeadLetterView::from).collect()))
}
