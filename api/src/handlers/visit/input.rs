//! What the phone sends: a check-in, a check-out, a declined visit or a
//! visit entered afterwards, and the services and shares in them.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How a check-in or check-out was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The client's NFC tag: `tag_uid` required.
    Nfc,
    /// The client's door lock: `lock_id` required.
    Lock,
    /// Without a tag or lock: `reason` required; the visit needs approval.
    Manual,
}

impl From<Method> for hemtid_core::domain::Method {
    fn from(m: Method) -> Self {
        match m {
            Method::Nfc => Self::Nfc,
            Method::Lock => Self::Lock,
            Method::Manual => Self::Manual,
        }
    }
}

/// `POST /api/v1/visits/check-in`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInInput {
    /// Made by the phone; sending it again is harmless.
    pub event_id: Uuid,
    pub client_id: Uuid,
    /// The phone's clock, RFC 3339 with offset.
    pub occurred_at: DateTime<FixedOffset>,
    pub method: Method,
    #[serde(default)]
    pub tag_uid: Option<String>,
    #[serde(default)]
    pub lock_id: Option<String>,
    /// Required for `manual` and for unplanned visits.
    #[serde(default)]
    pub reason: Option<String>,
    /// The second staff member of a double-staffed visit (R20).
    #[serde(default)]
    pub double_staffing: bool,
    /// A visit outside the plan: needs approval.
    #[serde(default)]
    pub unplanned: bool,
}

/// A service performed, by catalogue code.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDone {
    pub code: String,
    /// For a shared visit: whose service (default: the visit's client).
    #[serde(default)]
    pub client_id: Option<Uuid>,
    /// Minutes, if the care worker wants to say; else the visit's time is
    /// shared by standard minutes. Personal-care services registered
    /// beside a care bundle (omvårdnadspaket) are its contents and share
    /// its time; a bundle needs at least three of them (R19).
    #[serde(default)]
    #[schema(maximum = 720)]
    pub minutes: Option<u32>,
}

/// A co-habiting client's share of a visit, in whole percent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareInput {
    pub client_id: Uuid,
    /// Whole percent, 1–100; the visit's shares add up to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub percent: u32,
}

/// `POST /api/v1/visits/check-out`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckOutInput {
    pub event_id: Uuid,
    pub client_id: Uuid,
    pub occurred_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub method: Option<Method>,
    #[serde(default)]
    pub tag_uid: Option<String>,
    #[serde(default)]
    pub lock_id: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub services: Vec<ServiceDone>,
    /// Codes of services the client declined this time.
    #[serde(default)]
    pub declined_services: Vec<String>,
    /// A journal note written with the check-out.
    #[serde(default)]
    pub note: Option<String>,
    /// Co-habiting clients sharing the visit; empty: all the client's.
    #[serde(default)]
    pub shares: Vec<ShareInput>,
}

/// `POST /api/v1/visits/declined`: the client said no to a visit (R21).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclinedInput {
    pub event_id: Uuid,
    pub client_id: Uuid,
    pub occurred_at: DateTime<FixedOffset>,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// Codes of the services that were declined, if known.
    #[serde(default)]
    pub services: Vec<String>,
}

/// `POST /api/v1/visits/entries`: a whole visit registered afterwards (the
/// phone was dead, the tag missing). Who and when are recorded; the visit
/// waits for a provider admin's approval.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    pub event_id: Uuid,
    pub client_id: Uuid,
    pub started_at: DateTime<FixedOffset>,
    pub ended_at: DateTime<FixedOffset>,
    /// Why it was not registered at the time.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    #[serde(default)]
    pub services: Vec<ServiceDone>,
    #[serde(default)]
    pub declined_services: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub double_staffing: bool,
    #[serde(default)]
    pub shares: Vec<ShareInput>,
}
