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
//!
//! - `message`: the message format, its limits and signature, the topic
//!   grammar's device id;
//! - `check`: every check a message passes before its event is stored;
//! - `batch`: many messages in one transaction, stored through
//!   `crate::record`, and what became of each;
//! - what batches look up is kept across them in the
//!   [`crate::intake::directory`] the phone's items share;
//! - `outcome`: what became of a message, and the reasons for refusing one.

mod batch;
mod check;
mod message;
mod outcome;

pub use crate::intake::directory::{
    CONTACT_RESOLUTION_SECONDS, Contacts, DEAD_LETTERS_PER_DEVICE_BURST,
    DEAD_LETTERS_PER_DEVICE_HOUR, Directory,
};
pub use batch::Batch;
pub use message::{
    DeviceKind, DeviceMessage, MAX_PAYLOAD_BYTES, RESERVED_DEVICE_ID_PREFIX, device_id_of,
    event_id_of, sign,
};
pub use outcome::{Outcome, REASONS, Refusal, Rejection};

use crate::db::{DbConn, StoreError, dead_letter};
use chrono::{DateTime, NaiveDateTime, Utc};

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

/// Tries a dead letter again (after the device was registered, say).
/// The dead letter records the outcome; a new rejection adds no new row
/// (the outcome is `Dead` with the letter's own id).
pub fn replay(
    conn: &mut DbConn,
    dead_letter_id: &str,
    at: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    // One transaction: the event, its figures (written by `finish`) and
    // the dead letter's note.
    crate::db::transaction(conn, |conn| {
        let dl = dead_letter::get(conn, dead_letter_id)?;
        let mut batch = Batch::default();
        let result = match batch.interpret(conn, &dl.topic, &dl.payload, dl.received_at.and_utc()) {
            Ok(o) => o,
            Err(Refusal::Refused(rejection)) => Outcome::Dead {
                device_id: device_id_of(&dl.topic),
                event_id: event_id_of(&dl.payload),
                rejection,
                dead_letter_id: Some(dead_letter_id.to_string()),
            },
            Err(Refusal::Store(e)) => return Err(e),
        };
        batch.finish(conn)?;
        let note = match &result {
            Outcome::Stored { .. } => "stored".to_string(),
            Outcome::Duplicate { .. } => "duplicate".to_string(),
            Outcome::Conflict { .. } => "conflict".to_string(),
            Outcome::Dead { rejection, .. } => format!("rejected: {}", rejection.reason),
        };
        dead_letter::mark_replayed(conn, dead_letter_id, at, &note)?;
        Ok(result)
    })
}
