//! The device message: its format, limits and signature.

use crate::model::DeviceId;
use chrono::{DateTime, FixedOffset, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// Device ids beginning with this are reserved: client ids with it are
/// the gateway's and hemtid's own tools' on the broker.
pub const RESERVED_DEVICE_ID_PREFIX: &str = "hemtid-";

/// Largest payload accepted.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

/// What a device reports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    CheckIn,
    CheckOut,
    Unlock,
    Lock,
    TagRead,
}

/// The payload of `hemtid/v1/devices/{device_id}/events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceMessage {
    /// The device's UUID for the event; a re-send carries the same one.
    pub event_id: uuid::Uuid,
    pub kind: DeviceKind,
    /// RFC 3339 with offset.
    pub occurred_at: DateTime<FixedOffset>,
    /// The key fob, staff tag or phone key the device saw; not needed when
    /// a digital key (`key_id`) opened the lock.
    #[serde(default)]
    pub staff_credential: Option<String>,
    #[serde(default)]
    pub battery_pct: Option<u8>,
    #[serde(default)]
    pub firmware: Option<String>,
    /// The digital key that opened the lock, if one did: it names the
    /// staff member.
    #[serde(default)]
    pub key_id: Option<String>,
    /// If present, must equal the id in the topic.
    #[serde(default)]
    pub device_id: Option<DeviceId>,
    /// HMAC-SHA256 (hex) of [`DeviceMessage::signed_text`], for devices
    /// registered with a key.
    #[serde(default)]
    pub sig: Option<String>,
}

impl DeviceMessage {
    /// What the signature covers: `event_id`, `kind`, `occurred_at` (as
    /// sent) and `staff_credential`, one per line.
    pub fn signed_text(raw: &serde_json::Value) -> String {
        let field = |k: &str| {
            raw.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        [
            field("event_id"),
            field("kind"),
            field("occurred_at"),
            field("staff_credential"),
        ]
        .join("\n")
    }
}

impl DeviceMessage {
    /// SHA-256 (hex) of what the message says: event id, kind, the instant
    /// (in UTC, to the microsecond), staff credential and key id. Two
    /// messages with the same event id and another hash are a conflict;
    /// battery, firmware, signature and the JSON's spelling are not
    /// content.
    pub fn content_sha256(&self) -> String {
        use sha2::Digest;
        let at = self
            .occurred_at
            .with_timezone(&Utc)
            .format("%Y-%m-%dT%H:%M:%S%.6fZ");
        let kind = match self.kind {
            DeviceKind::CheckIn => "check_in",
            DeviceKind::CheckOut => "check_out",
            DeviceKind::Unlock => "unlock",
            DeviceKind::Lock => "lock",
            DeviceKind::TagRead => "tag_read",
        };
        let text = format!(
            "{}\n{kind}\n{at}\n{}\n{}",
            self.event_id,
            self.staff_credential.as_deref().unwrap_or_default(),
            self.key_id.as_deref().unwrap_or_default()
        );
        crate::auth::to_hex(&Sha256::digest(text.as_bytes()))
    }
}

/// Signs `text` with a hex key (for devices, simulators and tests).
pub fn sign(key_hex: &str, text: &str) -> Option<String> {
    let key = from_hex(key_hex)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(text.as_bytes());
    Some(
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

pub(super) fn verify(key_hex: &str, text: &str, sig_hex: &str) -> bool {
    let (Some(key), Some(sig)) = (from_hex(key_hex), from_hex(sig_hex)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(text.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether a key or string anywhere in `v` contains U+0000.
pub(super) fn has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(has_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// The device id in `hemtid/v1/devices/{id}/events`, if the topic has one.
pub fn device_id_of(topic: &str) -> Option<String> {
    let id = topic
        .strip_prefix("hemtid/v1/devices/")?
        .strip_suffix("/events")?;
    let valid = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    valid.then(|| id.to_string())
}

/// The `event_id` of a payload, if it has one (for receipts of dead letters).
pub fn event_id_of(payload: &[u8]) -> Option<String> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    Some(v.get("event_id")?.as_str()?.to_string())
}

/// The fields in which two versions of a device message differ, e.g.
/// `occurred_at 2026-11-20T09:40:00+01:00 -> 2026-11-20T11:40:00+01:00`.
pub(super) fn differences(first: &str, second: &str) -> String {
    let (Ok(a), Ok(b)) = (
        serde_json::from_str::<serde_json::Value>(first),
        serde_json::from_str::<serde_json::Value>(second),
    ) else {
        return "the messages differ".into();
    };
    let fields: Vec<String> = ["kind", "occurred_at", "staff_credential", "key_id"]
        .iter()
        .filter(|k| a.get(**k) != b.get(**k))
        .map(|k| {
            let show = |v: &serde_json::Value| match v.get(*k) {
                Some(serde_json::Value::String(s)) => s.chars().take(64).collect(),
                Some(other) => other.to_string().chars().take(64).collect(),
                None => "(none)".to_string(),
            };
            format!("{k} {} -> {}", show(&a), show(&b))
        })
        .collect();
    if fields.is_empty() {
        "the messages differ".into()
    } else {
        fields.join(", ")
    }
}
