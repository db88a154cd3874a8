//! Every check a device message passes before its event is stored.

use super::batch::{Batch, Ready, Sender};
use super::message::{DeviceKind, DeviceMessage, MAX_PAYLOAD_BYTES, device_id_of, has_nul, verify};
use super::outcome::{Refusal, reject};
use crate::db::visit_event::Payload;
use crate::db::{
    DbConn, StoreError, device, digital_key, municipality, provider_notice, staff_credential,
    user_account,
};
use crate::domain::{EventKind, MAX_AGE_DAYS, MAX_SKEW_SECONDS, Method, Source, local_date};
use crate::intake::directory::cached;
use crate::intake::{self, Item, Timing};
use crate::model::{DeviceKind as Hardware, DeviceStatus};
use chrono::{DateTime, NaiveDateTime, Utc};

impl Batch {
    /// Everything [`Batch::interpret`] does before it stores the event.
    pub(super) fn check(
        &mut self,
        conn: &mut DbConn,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Ready, Refusal> {
        let Some(device_id) = device_id_of(topic) else {
            return Err(reject(
                "invalid_topic",
                "expected hemtid/v1/devices/{device_id}/events",
            )
            .into());
        };
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(reject(
                "payload_too_large",
                format!("{} bytes; at most {MAX_PAYLOAD_BYTES}", payload.len()),
            )
            .into());
        }
        let raw: serde_json::Value = match serde_json::from_slice(payload) {
            Ok(v) => v,
            Err(e) => return Err(reject("malformed_json", e.to_string()).into()),
        };
        // PostgreSQL text cannot hold U+0000: such a message is refused here,
        // before any of its text reaches a query.
        if has_nul(&raw) {
            return Err(reject(
                "invalid_payload",
                "a text contains the NUL character (U+0000)",
            )
            .into());
        }
        let de = serde_json::Value::clone(&raw);
        let msg: DeviceMessage = match serde_path_to_error::deserialize(de) {
            Ok(m) => m,
            Err(e) => {
                return Err(
                    reject("invalid_payload", format!("{}: {}", e.path(), e.inner())).into(),
                );
            }
        };
        let Some(dev) = self.device(conn, &device_id)? else {
            return Err(reject("unknown_device", "no device with this id is registered").into());
        };
        if dev.status != DeviceStatus::Active {
            return Err(reject("device_retired", "the device is retired").into());
        }
        if msg.device_id.as_deref().is_some_and(|d| d != device_id) {
            return Err(reject(
                "device_mismatch",
                "the payload's device_id differs from the topic's",
            )
            .into());
        }
        if let Some(key) = &dev.hmac_key {
            match &msg.sig {
                None => {
                    return Err(reject("unsigned", "this device must sign its messages").into());
                }
                Some(sig) if !verify(key, &DeviceMessage::signed_text(&raw), sig) => {
                    return Err(reject("bad_signature", "the signature does not match").into());
                }
                Some(_) => {}
            }
        }
        let at = msg.occurred_at.with_timezone(&Utc);
        match intake::check_time(at, received) {
            Ok(()) => {}
            Err(Timing::InFuture) => {
                return Err(reject(
                    "timestamp_in_future",
                    "occurred_at is ahead of the server's clock",
                )
                .into());
            }
            Err(Timing::TooOld) => {
                return Err(reject(
                    "timestamp_too_old",
                    format!("occurred_at is older than {MAX_AGE_DAYS} days"),
                )
                .into());
            }
        }
        if msg.firmware.as_ref().is_some_and(|f| f.len() > 100)
            || msg.battery_pct.is_some_and(|b| b > 100)
        {
            return Err(reject(
                "invalid_payload",
                "firmware at most 100 characters, battery_pct 0–100",
            )
            .into());
        }
        battery_notice(
            conn,
            &dev,
            msg.battery_pct.map(i32::from),
            received.naive_utc(),
        )?;
        self.seen(
            &device_id,
            received.naive_utc(),
            msg.firmware.as_deref(),
            msg.battery_pct.map(i32::from),
        );
        let Some(client_id) = dev.client_id.clone() else {
            return Err(reject(
                "device_unbound",
                "the device is not bound to a client's home",
            )
            .into());
        };
        let staff_id = staff_of(self, conn, &dev, &msg, at.naive_utc())?;
        let staff = cached(
            &mut self.staff,
            self.directory.as_ref(),
            |k| &mut k.staff,
            (dev.municipality_id.to_string(), staff_id.clone()),
            || user_account::get(conn, &dev.municipality_id, &staff_id),
        )?;
        if staff.fields.provider_id.as_deref() != Some(dev.provider_id.as_str())
            || !staff.fields.active
        {
            return Err(reject(
                "wrong_provider",
                "the staff member does not work for the device's provider",
            )
            .into());
        }
        let m = cached(
            &mut self.municipalities,
            self.directory.as_ref(),
            |k| &mut k.municipalities,
            dev.municipality_id.to_string(),
            || municipality::get(conn, &dev.municipality_id),
        )?;
        // The same rules as the phone's: an unreadable stored time zone is
        // the municipality's to correct, and the letter is kept to replay.
        let Some(rules) = m.rules() else {
            return Err(reject(
                "invalid_settings",
                "the municipality's stored time zone is not valid",
            )
            .into());
        };
        let day = local_date(at, rules.tz);
        let has_order = cached(
            &mut self.orders,
            self.directory.as_ref(),
            |k| &mut k.orders,
            (client_id.to_string(), dev.provider_id.to_string(), day),
            || intake::has_order(conn, &client_id, &dev.provider_id, day),
        )?;
        if !has_order {
            return Err(reject(
                "no_active_order",
                "the client has no order at the device's provider that day",
            )
            .into());
        }
        let kind = match msg.kind {
            DeviceKind::CheckIn | DeviceKind::Unlock => EventKind::CheckIn,
            DeviceKind::CheckOut | DeviceKind::Lock => EventKind::CheckOut,
            DeviceKind::TagRead => EventKind::Presence,
        };
        let method = if dev.kind == Hardware::DoorLock {
            Method::Lock
        } else {
            Method::Nfc
        };
        let event = Item {
            source: Source::Device,
            source_key: device_id.clone(),
            event_id: msg.event_id.to_string(),
            kind,
            staff_id: staff_id.into(),
            client_id,
            provider_id: dev.provider_id.clone(),
            occurred_at: at,
            method: Some(method),
            method_ref: Some(msg.key_id.clone().unwrap_or_else(|| device_id.clone())),
            reason: None,
            payload: Payload::default(),
        }
        .into_event(rules.tz)?;
        let sender = Sender {
            device_id,
            event_id: msg.event_id.to_string(),
            content_sha256: msg.content_sha256(),
            // Valid JSON, so valid UTF-8.
            body: String::from_utf8_lossy(payload).into_owned(),
            kind: event.kind,
            occurred_at: event.occurred_at,
            method_ref: event.method_ref.clone(),
            staff_id: event.staff_id.to_string(),
        };
        Ok(Ready {
            sender,
            event,
            rules,
        })
    }
}

/// A battery going below the limit raises a notice to the provider; one
/// back above it (changed) resolves it. `dev` is the device as last seen:
/// a battery that was not low had no notice to resolve.
fn battery_notice(
    conn: &mut DbConn,
    dev: &device::Device,
    battery: Option<i32>,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let Some(pct) = battery else { return Ok(()) };
    let was_low = dev.battery_pct.is_none_or(|b| b < device::LOW_BATTERY_PCT);
    if pct < device::LOW_BATTERY_PCT {
        let kind = match dev.kind {
            Hardware::DoorLock => "låset",
            Hardware::NfcReader => "NFC-läsaren",
            Hardware::NfcTag => "NFC-taggen",
        };
        let message = format!(
            "Lågt batteri ({pct} %) i {kind} {}. Byt batteri snart.",
            dev.id
        );
        provider_notice::raise(conn, &dev.provider_id, &dev.id, "low_battery", &message, at)?;
    } else if was_low {
        provider_notice::resolve(conn, &dev.id, "low_battery", at)?;
    }
    Ok(())
}

/// Who the device saw: the staff member a digital key was issued to (for
/// this lock, not revoked before the event, not expired), or the owner of
/// the staff credential.
fn staff_of(
    batch: &mut Batch,
    conn: &mut DbConn,
    dev: &device::Device,
    msg: &DeviceMessage,
    at: NaiveDateTime,
) -> Result<String, Refusal> {
    if let Some(key_id) = &msg.key_id {
        let Some(key) = digital_key::get(conn, key_id)? else {
            return Err(reject("unknown_key", "no digital key with this id was issued").into());
        };
        if key.device_id != dev.id {
            return Err(reject(
                "key_for_another_lock",
                "the key was issued for another lock",
            )
            .into());
        }
        if key.revoked_at.is_some_and(|r| r <= at) {
            return Err(reject("key_revoked", "the key was revoked before the event").into());
        }
        if at > key.expires_at + chrono::Duration::seconds(MAX_SKEW_SECONDS) {
            return Err(reject("key_expired", "the key had expired at the event").into());
        }
        return Ok(key.staff_id.to_string());
    }
    let Some(credential) = msg.staff_credential.as_deref() else {
        return Err(reject("missing_credential", "give staff_credential or key_id").into());
    };
    Ok(
        match cached(
            &mut batch.credentials,
            batch.directory.as_ref(),
            |k| &mut k.credentials,
            (dev.municipality_id.to_string(), credential.to_string()),
            || staff_credential::staff_of(conn, &dev.municipality_id, credential),
        )? {
            Some(s) => s,
            None => {
                return Err(reject(
                    "unknown_credential",
                    "no active staff credential with this id",
                )
                .into());
            }
        },
    )
}
