//! Messages the gateway could not use, kept with the reason and the raw
//! payload so nothing valid is lost and a bad device can be diagnosed.

use super::schema::dead_letter;
use super::{DbConn, StoreError, new_id};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

/// A dead-lettered message.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[diesel(table_name = dead_letter)]
pub struct DeadLetter {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "super::utc")]
    pub received_at: NaiveDateTime,
    pub topic: String,
    pub device_id: Option<String>,
    /// A stable code, e.g. `unknown_device`.
    pub reason: String,
    pub detail: String,
    /// The raw payload (shown as text where it is UTF-8).
    #[serde(skip)]
    pub payload: Vec<u8>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "super::utc::option")]
    pub replayed_at: Option<NaiveDateTime>,
    pub replay_result: Option<String>,
}

/// Stores a dead letter.
pub fn add(
    conn: &mut DbConn,
    at: NaiveDateTime,
    topic: &str,
    device_id: Option<&str>,
    reason: &str,
    detail: &str,
    payload: &[u8],
) -> Result<DeadLetter, StoreError> {
    // Whatever arrived is kept: U+0000, which PostgreSQL text cannot
    // hold, is shown as ␀ in the texts (the payload is kept as bytes).
    let clean = |t: &str| t.replace('\0', "\u{2400}");
    let row = DeadLetter {
        id: new_id(),
        received_at: at,
        topic: clean(topic),
        device_id: device_id.map(clean),
        reason: reason.to_string(),
        detail: clean(detail),
        payload: payload.to_vec(),
        replayed_at: None,
        replay_result: None,
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

/// Newest first; of one device if given.
pub fn list(
    conn: &mut DbConn,
    device_id: Option<&str>,
    limit: i64,
) -> Result<Vec<DeadLetter>, StoreError> {
    let mut q = dead_letter::table
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
