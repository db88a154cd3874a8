//! The device registry for provider admins (register, bind, rebind,
//! retire; last seen, firmware, battery). Staff credentials are in
//! `credential`, the admin's notices and dead letters in `dead_letter`.

use super::{Items, list};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Json, Principal};
use crate::openapi::problem;
use actix_web::{HttpResponse, web};
use hemtid_core::contract::DeviceBody;
use hemtid_core::db::device::{self, Device, NewDevice};
use hemtid_core::db::{DbConn, access, now};
use hemtid_core::ingest::{self};
use hemtid_core::model::{DeviceKind, DeviceStatus, Role};
use hemtid_core::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /api/v1/devices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    /// The id it publishes under (A–Z, a–z, 0–9, `-`, `_`, `.`; at most
    /// 128; not beginning with `hemtid-`, which is reserved).
    #[schema(pattern = "^[A-Za-z0-9._-]{1,128}$")]
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
    pub device: DeviceBody,
    pub battery_low: bool,
    pub signs_payloads: bool,
}

impl From<Device> for DeviceView {
    fn from(d: Device) -> Self {
        DeviceView {
            battery_low: d.battery_low(),
            signs_payloads: d.signs_payloads(),
            device: DeviceBody::from(&d),
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

pub(super) fn provider_admin(p: &Principal) -> Result<String, ApiError> {
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
    let kind = DeviceKind::parse(&input.kind);
    if kind.is_none() {
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
            let kind = v
                .into_result(kind)?
                .ok_or_else(|| ApiError::internal("kind checked"))?;
            let t = now();
            let new = NewDevice {
                id: input.id,
                municipality_id: p.municipality_id.clone().into(),
                provider_id: provider.into(),
                kind,
                client_id: input.client_id.map(|u| u.to_string().into()),
                secret_hash,
                hmac_key: key,
                status: DeviceStatus::Active,
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
        .filter(|_| d.kind == DeviceKind::DoorLock)
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
