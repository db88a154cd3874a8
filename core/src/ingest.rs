//! Device messages: from a topic and a payload to a visit event, or to a
//! dead letter with a stable reason. The gateway calls [`ingest`] for
//! every message; nothing here knows about MQTT.
//!
//! Rules (written down for devices in `mobile-contract/asyncapi.yaml`):
//! - `check_in` and `unlock` (a staff key opened the door) are check-ins;
//!   `check_out` and `lock` (a staff key locked it) are check-outs. They go
//!   through the same pairing as the phones' events, per staff member, so a
//!   lock event while a phone visit is open closes that visit.
//! - `tag_read` (a staff tag read inside the home) is presence: evidence
//!   that the staff member was there at that instant, not a check-in.
//! - The staff member is the one the digital key (`key_id`) was issued to,
//!   else the one the `staff_credential` belongs to; the
//!   client is the one the device is bound to; both must belong to the
//!   device's provider, and the client must have an order there that day.

use crate::db::device_message::{self, DeviceMessageRow};
use crate::db::visit;
use crate::db::visit_event::{NewVisitEvent, Payload};
use crate::db::{
    DbConn, StoreError, access, dead_letter, device, digital_key, municipality, new_id, now,
    provider_notice, staff_credential, user_account,
};
use crate::domain::local_date;
use crate::record::{self, Recorded, Rules};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};

/// Device ids beginning with this are reserved: client ids with it are
/// the gateway's and hemtid's own tools' on the broker.
pub const RESERVED_DEVICE_ID_PREFIX: &str = "hemtid-";

/// Largest payload accepted.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// Device clocks may be a little ahead.
const MAX_SKEW_SECONDS: i64 = 10 * 60;
/// Older events are refused (locked months refuse earlier still).
const MAX_AGE_DAYS: i64 = 62;

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
    pub device_id: Option<String>,
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

fn verify(key_hex: &str, text: &str, sig_hex: &str) -> bool {
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

/// Every reason a message can be dead-lettered for (the AsyncAPI document
/// lists them; a test keeps the two in step).
pub const REASONS: &[&str] = &[
    "invalid_topic",
    "payload_too_large",
    "malformed_json",
    "invalid_payload",
    "unknown_device",
    "device_retired",
    "device_mismatch",
    "unsigned",
    "bad_signature",
    "timestamp_in_future",
    "timestamp_too_old",
    "device_unbound",
    "missing_credential",
    "unknown_credential",
    "unknown_key",
    "key_for_another_lock",
    "key_revoked",
    "key_expired",
    "wrong_provider",
    "no_active_order",
    "month_locked",
    "storage_error",
    "conflicting_duplicate",
];

/// Why a message was dead-lettered: a stable code and a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: &'static str,
    pub detail: String,
}

fn reject(reason: &'static str, detail: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        detail: detail.into(),
    }
}

/// What became of a message.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Stored as a new event.
    Stored {
        device_id: String,
        event_id: String,
        visits: Vec<visit::Visit>,
    },
    /// The device sent it before: nothing changed.
    Duplicate { device_id: String, event_id: String },
    /// The device sent this event id before with other content: the stored
    /// event and its visit are unchanged; both versions are kept as a dead
    /// letter (`conflicting_duplicate`) for the provider to look into.
    Conflict {
        device_id: String,
        event_id: String,
        dead_letter_id: Option<String>,
    },
    /// Rejected: kept as a dead letter (`dead_letter_id`), or only counted
    /// (a device no municipality knows, or one over its dead-letter
    /// budget).
    Dead {
        device_id: Option<String>,
        event_id: Option<String>,
        rejection: Rejection,
        dead_letter_id: Option<String>,
    },
}

/// Turns a message into an event, or a dead letter. `received` is when the
/// gateway got it. Only database failures are errors (the caller must not
/// acknowledge the message then); every input problem is a dead letter.
pub fn ingest(
    conn: &mut DbConn,
    topic: &str,
    payload: &[u8],
    received: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    crate::db::transaction(conn, |c| {
        let mut batch = Batch::default();
        let outcome = batch.ingest(c, topic, payload, received)?;
        batch.finish(c)?;
        Ok(outcome)
    })
}

/// What the gateway's batches look up that seldom changes: devices, care
/// workers, staff credentials, orders and municipalities, kept across
/// batches while the directory's version ([`crate::db::directory`], bumped
/// by database triggers on every change to those rows) stays the same. One
/// per gateway; lanes share it.
pub struct Directory {
    known: std::sync::Mutex<Known>,
    /// Emptied at the next batch when it holds more entries.
    max_entries: usize,
    /// Dead letters each device may still leave (a token bucket).
    budget: std::sync::Mutex<HashMap<String, (f64, std::time::Instant)>>,
}

/// Dead letters a device may leave at once, and then per hour: what a
/// faulty or hostile device sends beyond that is counted, not kept.
pub const DEAD_LETTERS_PER_DEVICE_BURST: f64 = 120.0;
pub const DEAD_LETTERS_PER_DEVICE_HOUR: f64 = 120.0;

impl Default for Directory {
    fn default() -> Self {
        Directory::with_max_entries(DIRECTORY_MAX_ENTRIES)
    }
}

#[derive(Default)]
struct Known {
    /// The version the entries were read at (or after).
    version: Option<i64>,
    devices: HashMap<String, Option<device::Device>>,
    municipalities: HashMap<String, municipality::Municipality>,
    staff: HashMap<(String, String), user_account::UserAccount>,
    credentials: HashMap<(String, String), Option<String>>,
    orders: HashMap<(String, String, NaiveDate), bool>,
}

impl Known {
    fn len(&self) -> usize {
        self.devices.len()
            + self.municipalities.len()
            + self.staff.len()
            + self.credentials.len()
            + self.orders.len()
    }
}

/// A [`Directory`] holding more entries is emptied at the next batch: a
/// large city's devices, staff and credentials (about 20,000) and four
/// weeks of its clients' orders by day fit under it.
const DIRECTORY_MAX_ENTRIES: usize = 500_000;

impl Directory {
    /// A directory emptied whenever it holds more than `n` entries.
    pub fn with_max_entries(n: usize) -> Directory {
        Directory {
            known: std::sync::Mutex::default(),
            max_entries: n,
            budget: std::sync::Mutex::default(),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        // A lane that panicked while holding it left plain maps behind.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the devices' last contact as a committed batch left it.
    pub fn committed(&self, contacts: Contacts) {
        let mut k = self.known();
        if contacts.version.is_none() || k.version != contacts.version {
            return;
        }
        for d in contacts.devices {
            k.devices.insert(d.id.clone(), Some(d));
        }
    }

    /// Whether `device_id` may leave one more dead letter now.
    fn may_dead_letter(&self, device_id: &str) -> bool {
        let mut b = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        if b.len() > 100_000 {
            b.clear();
        }
        let (tokens, at) = b
            .entry(device_id.to_string())
            .or_insert((DEAD_LETTERS_PER_DEVICE_BURST, now));
        let refill = now.duration_since(*at).as_secs_f64() * DEAD_LETTERS_PER_DEVICE_HOUR / 3600.0;
        *tokens = (*tokens + refill).min(DEAD_LETTERS_PER_DEVICE_BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How many entries it holds (for tests and metrics).
    pub fn len(&self) -> usize {
        self.known().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The devices a batch saw, as it wrote them, for [`Directory::committed`]
/// once the batch's transaction has committed.
#[derive(Debug, Default)]
pub struct Contacts {
    /// The directory's version the batch read; `None` without a directory.
    version: Option<i64>,
    devices: Vec<device::Device>,
}

/// Many messages in one transaction: what they look up (devices,
/// municipalities, staff, credentials, orders) is read once for the
/// batch (or taken from the gateway's [`Directory`]), and what they change
/// that is shared (devices' last contact, the day and month figures) is
/// written once, by [`Batch::finish`], which must run in the same
/// transaction before it commits.
#[derive(Default)]
pub struct Batch {
    devices: HashMap<String, Option<device::Device>>,
    /// Devices whose last contact, firmware or battery changed.
    seen: BTreeSet<String>,
    municipalities: HashMap<String, municipality::Municipality>,
    staff: HashMap<(String, String), user_account::UserAccount>,
    credentials: HashMap<(String, String), Option<String>>,
    orders: HashMap<(String, String, NaiveDate), bool>,
    pending: record::Pending,
    /// The gateway's directory and its version as this transaction read it.
    directory: Option<(std::sync::Arc<Directory>, i64)>,
    /// The messages of the events stored, written by [`Batch::finish`].
    messages: Vec<DeviceMessageRow>,
}

impl Batch {
    /// A batch that takes what it looks up from `directory` and adds to it;
    /// the directory is emptied first if its version is not the database's.
    /// Call inside the batch's transaction.
    pub fn with_directory(
        conn: &mut DbConn,
        directory: &std::sync::Arc<Directory>,
    ) -> Result<Batch, StoreError> {
        let version = crate::db::directory::version(conn)?;
        {
            let mut k = directory.known();
            // Orders are kept by day: a directory nothing changes for days
            // would grow by a municipality's clients every day.
            if k.version != Some(version) || k.len() > directory.max_entries {
                *k = Known {
                    version: Some(version),
                    ..Known::default()
                };
            }
        }
        Ok(Batch {
            directory: Some((directory.clone(), version)),
            ..Batch::default()
        })
    }

    /// [`ingest`] one message of the batch.
    pub fn ingest(
        &mut self,
        conn: &mut DbConn,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        match self.interpret(conn, topic, payload, received)? {
            Ok(o) => Ok(o),
            Err(rejection) => self.dead(conn, topic, payload, received, rejection, None),
        }
    }

    /// [`Batch::ingest`] for many messages: each checked in order, then
    /// each care worker's events paired together and all of them stored
    /// together ([`record::record_groups_deferred`]). One outcome per
    /// message, in order.
    pub fn ingest_many(
        &mut self,
        conn: &mut DbConn,
        messages: &[(&str, &[u8], DateTime<Utc>)],
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(messages.len());
        let mut ready: Vec<(usize, Ready)> = Vec::new();
        for (i, (topic, payload, received)) in messages.iter().enumerate() {
            match self.check(conn, topic, payload, *received)? {
                Ok(r) => {
                    ready.push((i, r));
                    outcomes.push(None);
                }
                Err(rejection) => {
                    outcomes.push(Some(
                        self.dead(conn, topic, payload, *received, rejection, None)?,
                    ));
                }
            }
        }
        // By care worker, in the order each first appears: the events, and
        // for each its message's place, device and event id.
        struct Group {
            rules: Rules,
            events: Vec<NewVisitEvent>,
            senders: Vec<(usize, Sender)>,
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for (i, r) in ready {
            let g = *group_of.entry(r.event.staff_id.clone()).or_insert_with(|| {
                groups.push(Group {
                    rules: r.rules,
                    events: Vec::new(),
                    senders: Vec::new(),
                });
                groups.len() - 1
            });
            groups[g].events.push(r.event);
            groups[g].senders.push((i, r.sender));
        }
        tracing::debug!(
            messages = messages.len(),
            care_workers = groups.len(),
            "batch paired by care worker"
        );
        // All groups together; if a month lock refuses something, group
        // by group to learn which.
        let together: Vec<record::Group> = groups
            .iter()
            .map(|g| record::Group {
                events: &g.events,
                rules: g.rules,
            })
            .collect();
        match record::record_groups_deferred(conn, &together, &mut self.pending) {
            Ok(all) => {
                for (g, recorded) in groups.into_iter().zip(all) {
                    for ((i, sender), rec) in g.senders.into_iter().zip(recorded) {
                        let (topic, payload, received) = messages[i];
                        outcomes[i] =
                            Some(self.settle(conn, rec, sender, topic, payload, received)?);
                    }
                }
                return Ok(outcomes.into_iter().flatten().collect());
            }
            Err(StoreError::MonthLocked(_)) => {}
            Err(e) => return Err(e),
        }
        for g in groups {
            match record::record_group_deferred(conn, &g.events, g.rules, &mut self.pending) {
                Ok(recorded) => {
                    for ((i, sender), rec) in g.senders.into_iter().zip(recorded) {
                        let (topic, payload, received) = messages[i];
                        outcomes[i] =
                            Some(self.settle(conn, rec, sender, topic, payload, received)?);
                    }
                }
                // Which of them the lock refuses shows one by one.
                Err(StoreError::MonthLocked(_)) => {
                    for ((i, sender), event) in g.senders.into_iter().zip(g.events) {
                        let ready = Ready {
                            sender,
                            event,
                            rules: g.rules,
                        };
                        let (topic, payload, received) = messages[i];
                        outcomes[i] =
                            Some(match self.record(conn, ready, topic, payload, received)? {
                                Ok(o) => o,
                                Err(rejection) => {
                                    self.dead(conn, topic, payload, received, rejection, None)?
                                }
                            });
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Writes what the batch's messages changed together; returns the
    /// devices as written, for [`Directory::committed`] after the commit.
    pub fn finish(self, conn: &mut DbConn) -> Result<Contacts, StoreError> {
        let devices: Vec<device::Device> = self
            .seen
            .iter()
            .filter_map(|id| self.devices.get(id).cloned().flatten())
            .collect();
        device::save_contacts(conn, &devices)?;
        device_message::insert_many(conn, &self.messages)?;
        self.pending.apply(conn)?;
        Ok(Contacts {
            version: self.directory.as_ref().map(|(_, v)| *v),
            devices,
        })
    }

    fn device(
        &mut self,
        conn: &mut DbConn,
        id: &str,
    ) -> Result<Option<device::Device>, StoreError> {
        cached(
            &mut self.devices,
            self.directory.as_ref(),
            |k| &mut k.devices,
            id.to_string(),
            || match device::get_any(conn, id) {
                Ok(d) => Ok(Some(d)),
                Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e),
            },
        )
    }

    /// The device's last contact, firmware and battery, written by
    /// [`Batch::finish`] when one of them changed: the last contact is kept
    /// to the minute ([`CONTACT_RESOLUTION_SECONDS`]), so a device's events
    /// within a minute of the stored contact write nothing more.
    fn seen(&mut self, id: &str, at: NaiveDateTime, firmware: Option<&str>, battery: Option<i32>) {
        if let Some(Some(d)) = self.devices.get_mut(id) {
            let moved = d
                .last_seen_at
                .is_none_or(|t| (at - t).num_seconds() >= CONTACT_RESOLUTION_SECONDS);
            let changed = firmware.is_some_and(|f| d.firmware.as_deref() != Some(f))
                || (battery.is_some() && battery != d.battery_pct);
            d.last_seen_at = Some(d.last_seen_at.map_or(at, |t| t.max(at)));
            if let Some(f) = firmware {
                d.firmware = Some(f.to_string());
            }
            if battery.is_some() {
                d.battery_pct = battery;
            }
            if moved || changed {
                self.seen.insert(id.to_string());
            }
        }
    }
}

/// How exactly a device's last contact is kept: a lock's events at a
/// client's door come seconds apart (unlock, lock), and writing the device
/// for each was one statement per event.
pub const CONTACT_RESOLUTION_SECONDS: i64 = 60;

/// `local[key]`, else the directory's (if it is still at the version the
/// batch read), else read with `load` and kept in both.
fn cached<K: std::hash::Hash + Eq + Clone, V: Clone>(
    local: &mut HashMap<K, V>,
    directory: Option<&(std::sync::Arc<Directory>, i64)>,
    pick: fn(&mut Known) -> &mut HashMap<K, V>,
    key: K,
    load: impl FnOnce() -> Result<V, StoreError>,
) -> Result<V, StoreError> {
    if let Some(v) = local.get(&key) {
        return Ok(v.clone());
    }
    if let Some((dir, version)) = directory {
        let mut k = dir.known();
        if k.version == Some(*version)
            && let Some(v) = pick(&mut k).get(&key).cloned()
        {
            drop(k);
            local.insert(key, v.clone());
            return Ok(v);
        }
    }
    let v = load()?;
    if let Some((dir, version)) = directory {
        let mut k = dir.known();
        if k.version == Some(*version) {
            pick(&mut k).insert(key.clone(), v.clone());
        }
    }
    local.insert(key, v.clone());
    Ok(v)
}

/// Tries a dead letter again (after the device was registered, say).
/// The dead letter records the outcome; a new rejection adds no new row.
pub fn replay(
    conn: &mut DbConn,
    dead_letter_id: &str,
    at: NaiveDateTime,
) -> Result<Result<Outcome, Rejection>, StoreError> {
    // One transaction: the event, its figures (written by `finish`) and
    // the dead letter's note.
    crate::db::transaction(conn, |conn| {
        let dl = dead_letter::get(conn, dead_letter_id)?;
        let mut batch = Batch::default();
        let result = batch.interpret(conn, &dl.topic, &dl.payload, dl.received_at.and_utc())?;
        batch.finish(conn)?;
        let note = match &result {
            Ok(Outcome::Stored { .. }) => "stored".to_string(),
            Ok(Outcome::Duplicate { .. }) => "duplicate".to_string(),
            Ok(Outcome::Conflict { .. }) => "conflict".to_string(),
            Ok(Outcome::Dead { rejection, .. }) | Err(rejection) => {
                format!("rejected: {}", rejection.reason)
            }
        };
        dead_letter::mark_replayed(conn, dead_letter_id, at, &note)?;
        Ok(result)
    })
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
        let kind = match dev.kind.as_str() {
            "door_lock" => "låset",
            "nfc_reader" => "NFC-läsaren",
            _ => "NFC-taggen",
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
) -> Result<Result<String, Rejection>, StoreError> {
    if let Some(key_id) = &msg.key_id {
        let Some(key) = digital_key::get(conn, key_id)? else {
            return Ok(Err(reject(
                "unknown_key",
                "no digital key with this id was issued",
            )));
        };
        if key.device_id != dev.id {
            return Ok(Err(reject(
                "key_for_another_lock",
                "the key was issued for another lock",
            )));
        }
        if key.revoked_at.is_some_and(|r| r <= at) {
            return Ok(Err(reject(
                "key_revoked",
                "the key was revoked before the event",
            )));
        }
        if at > key.expires_at + chrono::Duration::seconds(MAX_SKEW_SECONDS) {
            return Ok(Err(reject(
                "key_expired",
                "the key had expired at the event",
            )));
        }
        return Ok(Ok(key.staff_id));
    }
    let Some(credential) = msg.staff_credential.as_deref() else {
        return Ok(Err(reject(
            "missing_credential",
            "give staff_credential or key_id",
        )));
    };
    Ok(
        match cached(
            &mut batch.credentials,
            batch.directory.as_ref(),
            |k| &mut k.credentials,
            (dev.municipality_id.clone(), credential.to_string()),
            || staff_credential::staff_of(conn, &dev.municipality_id, credential),
        )? {
            Some(s) => Ok(s),
            None => Err(reject(
                "unknown_credential",
                "no active staff credential with this id",
            )),
        },
    )
}

/// Whether a key or string anywhere in `v` contains U+0000.
fn has_nul(v: &serde_json::Value) -> bool {
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

impl Batch {
    /// Keeps a rejected message as a dead letter of its device's
    /// municipality, within the device's budget; a message of a device no
    /// municipality knows, or beyond the budget, is counted, not kept.
    fn dead(
        &mut self,
        conn: &mut DbConn,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
        rejection: Rejection,
        stored_payload: Option<&[u8]>,
    ) -> Result<Outcome, StoreError> {
        let device_id = device_id_of(topic);
        let event_id = event_id_of(payload);
        let municipality = match &device_id {
            Some(id) => self.device(conn, id)?.map(|d| d.municipality_id),
            None => None,
        };
        let within_budget = match (&device_id, &self.directory) {
            (Some(id), Some((dir, _))) => dir.may_dead_letter(id),
            _ => true,
        };
        let dead_letter_id = match municipality {
            Some(m) if within_budget => Some(
                dead_letter::add(
                    conn,
                    dead_letter::NewLetter {
                        at: received.naive_utc(),
                        topic,
                        device_id: device_id.as_deref(),
                        municipality_id: Some(&m),
                        reason: rejection.reason,
                        detail: &rejection.detail,
                        payload,
                        stored_payload,
                    },
                )?
                .id,
            ),
            _ => {
                crate::metrics::global().not_kept(rejection.reason);
                None
            }
        };
        // The device id is a registered one or has passed the topic's
        // check: safe to log as it is, but logged as data all the same.
        tracing::warn!(reason = rejection.reason, device = ?device_id, kept = dead_letter_id.is_some(), "dead-lettered a device message");
        if rejection.reason == "conflicting_duplicate" {
            return Ok(Outcome::Conflict {
                device_id: device_id.unwrap_or_default(),
                event_id: event_id.unwrap_or_default(),
                dead_letter_id,
            });
        }
        Ok(Outcome::Dead {
            device_id,
            event_id,
            rejection,
            dead_letter_id,
        })
    }

    /// What a recorded event became: stored (its message kept with it), a
    /// duplicate, or a conflicting re-send (kept as a dead letter with both
    /// versions; the stored event is unchanged).
    fn settle(
        &mut self,
        conn: &mut DbConn,
        rec: Recorded,
        sender: Sender,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        match rec {
            Recorded::Applied { event, visits, .. } => {
                self.messages.push(DeviceMessageRow {
                    visit_event_id: event.id,
                    content_sha256: sender.content_sha256,
                    body: sender.body,
                });
                Ok(Outcome::Stored {
                    device_id: sender.device_id,
                    event_id: sender.event_id,
                    visits,
                })
            }
            Recorded::Duplicate { event } => {
                // The first version: in this batch, or stored before.
                let first = match self.messages.iter().find(|m| m.visit_event_id == event.id) {
                    Some(m) => Some(m.clone()),
                    None => device_message::get(conn, &event.id)?,
                };
                let differs = match &first {
                    Some(m) => m.content_sha256 != sender.content_sha256,
                    // Stored before messages were kept: what the row says.
                    None => {
                        use chrono::SubsecRound;
                        event.kind != sender.kind
                            || event.occurred_at != sender.occurred_at.trunc_subsecs(6)
                            || event.method_ref != sender.method_ref
                            || event.staff_id != sender.staff_id
                    }
                };
                if !differs {
                    return Ok(Outcome::Duplicate {
                        device_id: sender.device_id,
                        event_id: sender.event_id,
                    });
                }
                let detail = match &first {
                    Some(m) => differences(&m.body, &sender.body),
                    None => format!(
                        "stored before as {} at {}Z",
                        event.kind,
                        event.occurred_at.format("%Y-%m-%dT%H:%M:%S")
                    ),
                };
                let stored = first.map(|m| m.body.into_bytes());
                let rejection = reject(
                    "conflicting_duplicate",
                    format!("this event id was stored before with other content: {detail}"),
                );
                self.dead(conn, topic, payload, received, rejection, stored.as_deref())
            }
        }
    }

    fn interpret(
        &mut self,
        conn: &mut DbConn,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Result<Outcome, Rejection>, StoreError> {
        match self.check(conn, topic, payload, received)? {
            Ok(ready) => self.record(conn, ready, topic, payload, received),
            Err(r) => Ok(Err(r)),
        }
    }

    /// Everything [`Batch::interpret`] does before it stores the event.
    fn check(
        &mut self,
        conn: &mut DbConn,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Result<Ready, Rejection>, StoreError> {
        let Some(device_id) = device_id_of(topic) else {
            return Ok(Err(reject(
                "invalid_topic",
                "expected hemtid/v1/devices/{device_id}/events",
            )));
        };
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Ok(Err(reject(
                "payload_too_large",
                format!("{} bytes; at most {MAX_PAYLOAD_BYTES}", payload.len()),
            )));
        }
        let raw: serde_json::Value = match serde_json::from_slice(payload) {
            Ok(v) => v,
            Err(e) => return Ok(Err(reject("malformed_json", e.to_string()))),
        };
        // PostgreSQL text cannot hold U+0000: such a message is refused here,
        // before any of its text reaches a query.
        if has_nul(&raw) {
            return Ok(Err(reject(
                "invalid_payload",
                "a text contains the NUL character (U+0000)",
            )));
        }
        let de = serde_json::Value::clone(&raw);
        let msg: DeviceMessage = match serde_path_to_error::deserialize(de) {
            Ok(m) => m,
            Err(e) => {
                return Ok(Err(reject(
                    "invalid_payload",
                    format!("{}: {}", e.path(), e.inner()),
                )));
            }
        };
        let Some(dev) = self.device(conn, &device_id)? else {
            return Ok(Err(reject(
                "unknown_device",
                "no device with this id is registered",
            )));
        };
        if dev.status != "active" {
            return Ok(Err(reject("device_retired", "the device is retired")));
        }
        if msg.device_id.as_deref().is_some_and(|d| d != device_id) {
            return Ok(Err(reject(
                "device_mismatch",
                "the payload's device_id differs from the topic's",
            )));
        }
        if let Some(key) = &dev.hmac_key {
            match &msg.sig {
                None => {
                    return Ok(Err(reject(
                        "unsigned",
                        "this device must sign its messages",
                    )));
                }
                Some(sig) if !verify(key, &DeviceMessage::signed_text(&raw), sig) => {
                    return Ok(Err(reject("bad_signature", "the signature does not match")));
                }
                Some(_) => {}
            }
        }
        let at = msg.occurred_at.with_timezone(&Utc);
        if (at - received).num_seconds() > MAX_SKEW_SECONDS {
            return Ok(Err(reject(
                "timestamp_in_future",
                "occurred_at is ahead of the server's clock",
            )));
        }
        if (received - at).num_days() > MAX_AGE_DAYS {
            return Ok(Err(reject(
                "timestamp_too_old",
                format!("occurred_at is older than {MAX_AGE_DAYS} days"),
            )));
        }
        if msg.firmware.as_ref().is_some_and(|f| f.len() > 100)
            || msg.battery_pct.is_some_and(|b| b > 100)
        {
            return Ok(Err(reject(
                "invalid_payload",
                "firmware at most 100 characters, battery_pct 0–100",
            )));
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
            return Ok(Err(reject(
                "device_unbound",
                "the device is not bound to a client's home",
            )));
        };
        let staff_id = match staff_of(self, conn, &dev, &msg, at.naive_utc())? {
            Ok(s) => s,
            Err(r) => return Ok(Err(r)),
        };
        let staff = cached(
            &mut self.staff,
            self.directory.as_ref(),
            |k| &mut k.staff,
            (dev.municipality_id.clone(), staff_id.clone()),
            || user_account::get(conn, &dev.municipality_id, &staff_id),
        )?;
        if staff.fields.provider_id.as_deref() != Some(dev.provider_id.as_str())
            || !staff.fields.active
        {
            return Ok(Err(reject(
                "wrong_provider",
                "the staff member does not work for the device's provider",
            )));
        }
        let m = cached(
            &mut self.municipalities,
            self.directory.as_ref(),
            |k| &mut k.municipalities,
            dev.municipality_id.clone(),
            || municipality::get(conn, &dev.municipality_id),
        )?;
        let tz = m.tz().unwrap_or(crate::domain::STOCKHOLM);
        let day = local_date(at, tz);
        let has_order = cached(
            &mut self.orders,
            self.directory.as_ref(),
            |k| &mut k.orders,
            (client_id.clone(), dev.provider_id.clone(), day),
            || Ok(access::active_order(conn, &client_id, &dev.provider_id, day)?.is_some()),
        )?;
        if !has_order {
            return Ok(Err(reject(
                "no_active_order",
                "the client has no order at the device's provider that day",
            )));
        }
        let kind = match msg.kind {
            DeviceKind::CheckIn | DeviceKind::Unlock => "check_in",
            DeviceKind::CheckOut | DeviceKind::Lock => "check_out",
            DeviceKind::TagRead => "presence",
        };
        let method = if dev.kind == "door_lock" {
            "lock"
        } else {
            "nfc"
        };
        let event = NewVisitEvent {
            id: new_id(),
            source: "device".into(),
            source_key: device_id.clone(),
            event_id: msg.event_id.to_string(),
            kind: kind.into(),
            staff_id,
            client_id,
            provider_id: dev.provider_id.clone(),
            occurred_at: at.naive_utc(),
            received_at: now(),
            local_date: day,
            method: Some(method.into()),
            method_ref: Some(msg.key_id.clone().unwrap_or_else(|| device_id.clone())),
            reason: None,
            payload: serde_json::to_string(&Payload::default())
                .map_err(|e| StoreError::Encode(e.to_string()))?,
        };
        let rules = Rules {
            tz,
            max_seconds: i64::from(m.settings.max_visit_minutes) * 60,
            window: m.frame_window(),
        };
        let sender = Sender {
            device_id,
            event_id: msg.event_id.to_string(),
            content_sha256: msg.content_sha256(),
            // Valid JSON, so valid UTF-8.
            body: String::from_utf8_lossy(payload).into_owned(),
            kind: event.kind.clone(),
            occurred_at: event.occurred_at,
            method_ref: event.method_ref.clone(),
            staff_id: event.staff_id.clone(),
        };
        Ok(Ok(Ready {
            sender,
            event,
            rules,
        }))
    }

    /// Stores a checked event on its own.
    fn record(
        &mut self,
        conn: &mut DbConn,
        ready: Ready,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Result<Outcome, Rejection>, StoreError> {
        let Ready {
            sender,
            event,
            rules,
        } = ready;
        match record::record_deferred(conn, &event, None, rules, &mut self.pending) {
            Ok(r) => Ok(Ok(self.settle(conn, r, sender, topic, payload, received)?)),
            Err(StoreError::MonthLocked(month)) => Ok(Err(month_locked(&month))),
            Err(e) => Err(e),
        }
    }
}

fn month_locked(month: &str) -> Rejection {
    reject("month_locked", format!("{month} is locked for billing"))
}

/// A message that passed every check: the event to store.
struct Ready {
    sender: Sender,
    event: NewVisitEvent,
    rules: Rules,
}

/// Who sent a checked event and what it said, to settle its outcome.
struct Sender {
    device_id: String,
    event_id: String,
    content_sha256: String,
    /// The message as received.
    body: String,
    /// As the event row holds them, for events stored before messages
    /// were kept.
    kind: String,
    occurred_at: NaiveDateTime,
    method_ref: Option<String>,
    staff_id: String,
}

/// The fields in which two versions of a device message differ, e.g.
/// `occurred_at 2026-11-20T09:40:00+01:00 -> 2026-11-20T11:40:00+01:00`.
fn differences(first: &str, second: &str) -> String {
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
