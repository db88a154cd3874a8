//! Each device event's message as the device sent it, and the SHA-256 of
//! what it says: a re-send with the same event id and other content is a
//! conflict (a firmware bug, a clock jump, injected traffic), kept as
//! evidence, never a silent duplicate. Append-only, as the events are.

use super::schema::device_message;
use super::{DbConn, StoreError};
use diesel::prelude::*;

/// A stored message: the event's row id, its content hash, its body.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = device_message)]
pub struct DeviceMessageRow {
    pub visit_event_id: crate::model::EventId,
    pub content_sha256: String,
    pub body: String,
}

/// Stores the messages of newly stored events (one statement per 500; on
/// PostgreSQL one kept prepared, `super::unnest`).
pub fn insert_many(conn: &mut DbConn, rows: &[DeviceMessageRow]) -> Result<(), StoreError> {
    use super::unnest::{Query, texts};
    if let DbConn::Pg(pg) = conn {
        if !rows.is_empty() {
            Query::new(
                "INSERT INTO device_message (visit_event_id, content_sha256, body) \
                 SELECT * FROM unnest(?::text[], ?::text[], ?::text[])",
            )
            .bind(texts(rows, |r| r.visit_event_id.as_str()))
            .bind(texts(rows, |r| r.content_sha256.as_str()))
            .bind(texts(rows, |r| r.body.as_str()))
            .execute(pg)?;
        }
        return Ok(());
    }
    for chunk in rows.chunks(500) {
        super::execute_on(
            conn,
            diesel::insert_into(device_message::table).values(chunk),
        )?;
    }
    Ok(())
}

/// The message stored with an event, if one was (events stored before
/// December 2026 have none).
pub fn get(
    conn: &mut DbConn,
    visit_event_id: &str,
) -> Result<Option<DeviceMessageRow>, StoreError> {
    Ok(device_message::table
        .find(visit_event_id)
        .first(conn)
        .optional()?)
}
