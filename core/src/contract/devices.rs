//! The device registry's contract types: devices, staff credentials,
//! provider notices and dead letters.

use crate::db::dead_letter::DeadLetter;
use crate::db::device::Device;
use crate::db::provider_notice::ProviderNotice;
use crate::db::staff_credential::StaffCredential;
use crate::db::utc;
use crate::model::{CredentialKind, DeviceKind, DeviceStatus};
use chrono::NaiveDateTime;
use serde::Serialize;

// A device as the registry shows it (the row is `crate::db::device::Device`;
// its secret's hash and signing key never leave it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Device))]
/// A registered device.
pub struct DeviceBody {
    /// The id in its topic, `hemtid/v1/devices/{id}/events`.
    pub id: String,
    pub municipality_id: String,
    pub provider_id: String,
    /// `door_lock`, `nfc_reader` or `nfc_tag`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: DeviceKind,
    /// The client whose home it is in (for a household, one of them).
    pub client_id: Option<String>,
    /// `active` or `retired`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: DeviceStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "utc::option")]
    pub last_seen_at: Option<NaiveDateTime>,
    pub firmware: Option<String>,
    pub battery_pct: Option<i32>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub updated_at: NaiveDateTime,
}

impl From<&Device> for DeviceBody {
    fn from(d: &Device) -> Self {
        DeviceBody {
            id: d.id.to_string(),
            municipality_id: d.municipality_id.to_string(),
            provider_id: d.provider_id.to_string(),
            kind: d.kind,
            client_id: d.client_id.as_deref().map(String::from),
            status: d.status,
            last_seen_at: d.last_seen_at,
            firmware: d.firmware.clone(),
            battery_pct: d.battery_pct,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

// A staff credential as the API shows it (the row is
// `crate::db::staff_credential::StaffCredential`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = StaffCredential))]
/// A credential and its staff member.
pub struct StaffCredentialBody {
    /// As the device reports it, e.g. a fob's serial.
    pub credential: String,
    pub staff_id: String,
    /// `key_fob`, `staff_tag` or `phone_key`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: CredentialKind,
    pub active: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "utc::option")]
    pub revoked_at: Option<NaiveDateTime>,
}

impl From<&StaffCredential> for StaffCredentialBody {
    fn from(c: &StaffCredential) -> Self {
        StaffCredentialBody {
            credential: c.credential.clone(),
            staff_id: c.staff_id.to_string(),
            kind: c.kind,
            active: c.active,
            created_at: c.created_at,
            revoked_at: c.revoked_at,
        }
    }
}

// A notice to a provider as the API shows it (the row is
// `crate::db::provider_notice::ProviderNotice`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ProviderNotice))]
/// A notice.
pub struct ProviderNoticeBody {
    pub id: String,
    pub provider_id: String,
    pub device_id: Option<String>,
    /// `low_battery`.
    pub kind: String,
    /// In Swedish, for the provider's staff.
    pub message: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "utc::option")]
    pub resolved_at: Option<NaiveDateTime>,
}

impl From<&ProviderNotice> for ProviderNoticeBody {
    fn from(n: &ProviderNotice) -> Self {
        ProviderNoticeBody {
            id: n.id.clone(),
            provider_id: n.provider_id.to_string(),
            device_id: n.device_id.as_deref().map(String::from),
            kind: n.kind.clone(),
            message: n.message.clone(),
            created_at: n.created_at,
            resolved_at: n.resolved_at,
        }
    }
}

// A dead letter as the API shows it (the row is
// `crate::db::dead_letter::DeadLetter`; the API adds its payload as text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = DeadLetter))]
/// A dead-lettered message.
pub struct DeadLetterBody {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "utc")]
    pub received_at: NaiveDateTime,
    pub topic: String,
    pub device_id: Option<String>,
    /// A stable code, e.g. `unknown_device`.
    pub reason: String,
    pub detail: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "utc::option")]
    pub replayed_at: Option<NaiveDateTime>,
    pub replay_result: Option<String>,
    /// The payload's length as received (more than is kept when over
    /// [`KEPT_PAYLOAD_BYTES`]).
    pub payload_bytes: i32,
    /// SHA-256 of the whole payload as received, hex.
    pub payload_sha256: Option<String>,
}

impl From<&DeadLetter> for DeadLetterBody {
    fn from(l: &DeadLetter) -> Self {
        DeadLetterBody {
            id: l.id.clone(),
            received_at: l.received_at,
            topic: l.topic.clone(),
            device_id: l.device_id.as_deref().map(String::from),
            reason: l.reason.clone(),
            detail: l.detail.clone(),
            replayed_at: l.replayed_at,
            replay_result: l.replay_result.clone(),
            payload_bytes: l.payload_bytes,
            payload_sha256: l.payload_sha256.clone(),
        }
    }
}
