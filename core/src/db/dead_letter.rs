//! Messages the gateway could not use, kept with the reason and the raw
//! payload so nothing valid is lost and a bad device can be diagnosed.
//! Each belongs to the municipality of its device (only its admin lists
//! and replays it) and keeps at most the first [`KEPT_PAYLOAD_BYTES`] of
//! the payload, with its length and SHA-256: a device message is at most
//! 16 KiB, and 250 KB ones were a way to fill the disk.

use super::schema::dead_letter;
use super::{DbConn, StoreError, new_id};
use crate::model::{DeviceId, MunicipalityId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A dead-lettered message.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dead_letter)]
pub struct DeadLetter {
    pub id: String,
    pub received_at: NaiveDateTime,
    pub topic: String,
    pub device_id: Option<DeviceId>,
    /// A stable code, e.g. `unknown_device`.
    pub reason: String,
    pub detail: String,
    /// The raw payload (shown as text where it is UTF-8).
    pub payload: Vec<u8>,
    pub replayed_at: Option<NaiveDateTime>,
    pub replay_result: Option<String>,
    /// The device's municipality; only its admin sees the letter.
    pub municipality_id: Option<MunicipalityId>,
    /// The payload's length as received (more than is kept when over
    /// [`KEPT_PAYLOAD_BYTES`]).
    pub payload_bytes: i32,
    /// SHA-256 of the whole payload as received, hex.
    pub payload_sha256: Option<String>,
    /// For `conflicting_duplicate`: the message stored first.
    pub stored_payload: Option<Vec<u8>>,
}

impl DeadLetter {
    /// Whether only a part of the payload is kept (it cannot be replayed).
    pub fn truncated(&self) -> bool {
        self.payload.len() < self.payload_bytes as usize
    }
}

/// Payload bytes kept of a dead letter.
pub const KEPT_PAYLOAD_BYTES: usize = 4096;

/// A dead letter to store.
#[derive(Debug, Clone, Copy)]
pub struct NewLetter<'a> {
    pub at: NaiveDateTime,
    pub topic: &'a str,
    pub device_id: Option<&'a str>,
    pub municipality_id: Option<&'a str>,
    pub reason: &'a str,
    pub detail: &'a str,
    pub payload: &'a [u8],
    /// For a conflicting re-send: the message stored first.
    pub stored_payload: Option<&'a [u8]>,
}

/// Stores a dead letter: at most the first [`KEPT_PAYLOAD_BYTES`] of the
/// payload, with its length and SHA-256.
pub fn add(conn: &mut DbConn, l: NewLetter<'_>) -> Result<DeadLetter, StoreError> {
    use sha2::{Digest, Sha256};
    // Whatever arrived is kept: U+0000, which PostgreSQL text cannot
    // hold, is shown as ␀ in the texts (the payload is kept as bytes).
    let clean = |t: &str| t.replace('\0', "\u{2400}");
    let kept = &l.payload[..l.payload.len().min(KEPT_PAYLOAD_BYTES)];
    let row = DeadLetter {
        id: new_id(),
        received_at: l.at,
        topic: clean(&l.topic.chars().take(300).collect::<String>()),
        device_id: l.device_id.map(clean).map(Into::into),
        reason: l.reason.to_string(),
        detail: clean(&l.detail.chars().take(1000).collect::<String>()),
        payload: kept.to_vec(),
        replayed_at: None,
        replay_result: None,
        municipality_id: l.municipality_id.map(str::to_string).map(Into::into),
        payload_bytes: i32::try_from(l.payload.len()).unwrap_or(i32::MAX),
        payload_sha256: Some(crate::auth::to_hex(&Sha256::digest(l.payload))),
        stored_payload: l
            .stored_payload
            .map(|p| p[..p.len().min(KEPT_PAYLOAD_BYTES)].to_vec()),
    };
    diesel::insert_into(dead_letter::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<DeadLetter, StoreError> {
    Ok(dead_letter::table
        .find(id)
        .select(DeadLetter::as_select())
        .first(conn)?)
}

/// A municipality's dead letter.
pub fn get_of(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
) -> Result<DeadLetter, StoreError> {
    Ok(dead_letter::table
        .find(id)
        .filter(dead_letter::municipality_id.eq(municipality_id))
        .select(DeadLetter::as_select())
        .first(conn)?)
}

/// A municipality's dead letters, newest first; of one device if given.
pub fn list(
    conn: &mut DbConn,
    municipality_id: &str,
    device_id: Option<&str>,
    limit: i64,
) -> Result<Vec<DeadLetter>, StoreError> {
    let mut q = dead_letter::table
        .filter(dead_letter::municipality_id.eq(municipality_id.to_string()))
        .order((dead_letter::received_at.desc(), dead_letter::id))
        .limit(limit)
        .select(DeadLetter::as_select())
        .into_boxed();
    if let Some(d) = device_id {
        q = q.filter(dead_letter::device_id.eq(d.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Counts by reason (for monitoring).
pub fn counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(dead_letter::table
        .group_by(dead_letter::reason)
        .select((dead_letter::reason, diesel::dsl::count_star()))
        .order(dead_letter::reason)
        .load(conn)?)
}

/// Notes the outcome of a replay.
pub fn mark_replayed(
    conn: &mut DbConn,
    id: &str,
    at: NaiveDateTime,
    result: &str,
) -> Result<(), StoreError> {
    diesel::update(dead_letter::table.find(id))
        .set((
            dead_letter::replayed_at.eq(Some(at)),
            dead_letter::replay_result.eq(Some(result)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A provider's conflicting re-sends (its devices' dead letters of reason
/// `conflicting_duplicate`), newest first.
pub fn conflicts_of_provider(
    conn: &mut DbConn,
    provider_id: &str,
    limit: i64,
) -> Result<Vec<DeadLetter>, StoreError> {
    use super::schema::device;
    let devices = device::table
        .filter(device::provider_id.eq(provider_id))
        .select(device::id.nullable());
    Ok(dead_letter::table
        .filter(dead_letter::reason.eq("conflicting_duplicate"))
        .filter(dead_letter::device_id.eq_any(devices))
        .order((dead_letter::received_at.desc(), dead_letter::id))
        .limit(limit)
        .select(DeadLetter::as_select())
        .load(conn)?)
}
