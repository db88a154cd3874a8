//! What became of a message, and why one was refused.

use crate::db::{ChangeError, RuleError};
use crate::db::{StoreError, visit};

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
    "invalid_settings",
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

pub(super) fn reject(reason: &'static str, detail: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        detail: detail.into(),
    }
}

/// Why a message was not stored: refused for what it says (it becomes a
/// dead letter), or the database failed (nothing is acknowledged; the
/// message is tried again).
#[derive(Debug)]
pub enum Refusal {
    Refused(Rejection),
    Store(StoreError),
}

impl From<Rejection> for Refusal {
    fn from(r: Rejection) -> Refusal {
        Refusal::Refused(r)
    }
}

/// A rule's refusal is the message's (a locked month: `month_locked`);
/// storage's is the batch's, tried again.
impl From<ChangeError> for Refusal {
    fn from(e: ChangeError) -> Refusal {
        match e {
            ChangeError::Store(e) => Refusal::Store(e),
            ChangeError::Rule(RuleError::MonthLocked(month)) => Refusal::Refused(reject(
                "month_locked",
                format!("{month} is locked for billing"),
            )),
            // Not raised for one event; kept rather than lost if it were.
            ChangeError::Rule(other) => {
                Refusal::Refused(reject("storage_error", other.to_string()))
            }
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        Refusal::Store(e)
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
