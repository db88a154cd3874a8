//! One way in for a visit's event. A phone's item (the API's visit
//! handlers) and a device's message ([`crate::ingest`]) each become an
//! [`Item`]; both pass the checks here, with the same limits, and an item
//! becomes the one row the visit engine records ([`Item::into_event`]).
//!
//! What only one of them has stays with it: the phone's input fields and
//! services (the API), the device's topic, signature, key and credential
//! (`ingest`). Each side says a refusal in its own contract's words (a
//! field error for a phone, a dead letter's reason for a device): the
//! refusals here are typed, and the codes they become are the callers'.
//!
//! - `directory`: what both look up that seldom changes, kept across
//!   batches and requests while the database's directory version stays;
//! - `lookup`: a phone request's view of it.

pub mod directory;
mod lookup;

pub use directory::Directory;
pub use lookup::Lookup;

use crate::db::visit_event::{NewVisitEvent, Payload};
use crate::db::{DbConn, StoreError, access, new_id, now};
use crate::domain::{EventKind, MAX_AGE_DAYS, MAX_SKEW_SECONDS, Method, Source, local_date};
use crate::model::{ClientId, ProviderId, UserId};
use chrono::{DateTime, NaiveDate, Utc};

/// A visit's event from a phone or a device, checked by its sender's
/// own rules, before the checks both share.
#[derive(Debug, Clone)]
pub struct Item {
    pub source: Source,
    /// Who sent it: the staff member's id for a phone, the device's id.
    /// With `event_id` it identifies a re-send.
    pub source_key: String,
    /// The sender's id of the event.
    pub event_id: String,
    pub kind: EventKind,
    pub staff_id: UserId,
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    pub occurred_at: DateTime<Utc>,
    pub method: Option<Method>,
    /// The NFC tag, lock or key the method names.
    pub method_ref: Option<String>,
    /// Why (blank counts as none).
    pub reason: Option<String>,
    pub payload: Payload,
}

/// An instant outside what is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// More than [`MAX_SKEW_SECONDS`] ahead of the server's clock.
    InFuture,
    /// More than [`MAX_AGE_DAYS`] old.
    TooOld,
}

/// Whether an event at `at` may be taken at `now`: clocks drift a little
/// ahead, and old events are refused (a locked month refuses earlier
/// still, R6, when the event is recorded).
pub fn check_time(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Timing> {
    if (at - now).num_seconds() > MAX_SKEW_SECONDS {
        Err(Timing::InFuture)
    } else if (now - at).num_days() > MAX_AGE_DAYS {
        Err(Timing::TooOld)
    } else {
        Ok(())
    }
}

/// Whether the client has an order at the provider on the local `day`:
/// without one, nobody of the provider's has anything to register there.
pub fn has_order(
    conn: &mut DbConn,
    client_id: &str,
    provider_id: &str,
    day: NaiveDate,
) -> Result<bool, StoreError> {
    Ok(access::active_order(conn, client_id, provider_id, day)?.is_some())
}

impl Item {
    /// The local date of the event in the municipality's time zone: the
    /// day and month it counts for.
    pub fn day(&self, tz: chrono_tz::Tz) -> NaiveDate {
        local_date(self.occurred_at, tz)
    }

    /// The row to record: a new id, received now.
    pub fn into_event(self, tz: chrono_tz::Tz) -> Result<NewVisitEvent, StoreError> {
        let day = self.day(tz);
        Ok(NewVisitEvent {
            id: crate::model::EventId::new(new_id()),
            source: self.source,
            source_key: self.source_key,
            event_id: self.event_id,
            kind: self.kind,
            staff_id: self.staff_id,
            client_id: self.client_id,
            provider_id: self.provider_id,
            occurred_at: self.occurred_at.naive_utc(),
            received_at: now(),
            local_date: day,
            method: self.method,
            method_ref: self.method_ref,
            reason: self
                .reason
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty()),
            payload: serde_json::to_string(&self.payload)
                .map_err(|e| StoreError::Encode(e.to_string()))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn the_time_limits_are_the_same_for_every_sender() {
        let now = at("2026-12-05T12:00:00Z");
        let skew = Duration::seconds(MAX_SKEW_SECONDS);
        assert_eq!(check_time(now + skew, now), Ok(()));
        assert_eq!(
            check_time(now + skew + Duration::seconds(1), now),
            Err(Timing::InFuture)
        );
        let age = Duration::days(MAX_AGE_DAYS);
        assert_eq!(check_time(now - age, now), Ok(()));
        assert_eq!(
            check_time(now - age - Duration::days(1), now),
            Err(Timing::TooOld)
        );
    }

    #[test]
    fn an_item_counts_for_its_local_day_and_drops_a_blank_reason() {
        let item = Item {
            source: Source::Device,
            source_key: "lock-1".into(),
            event_id: "e1".into(),
            kind: EventKind::CheckIn,
            staff_id: "s".into(),
            client_id: "c".into(),
            provider_id: "p".into(),
            // 23:30 UTC on 31 October is 1 November in Stockholm.
            occurred_at: at("2026-10-31T23:30:00Z"),
            method: Some(Method::Lock),
            method_ref: Some("lock-1".into()),
            reason: Some("  ".into()),
            payload: Payload::default(),
        };
        let e = item.into_event(crate::domain::STOCKHOLM).unwrap();
        assert_eq!(e.local_date, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(
            (e.source, e.kind, e.method),
            (Source::Device, EventKind::CheckIn, Some(Method::Lock))
        );
        assert_eq!(e.reason, None);
        assert_eq!(e.payload, "{}");
    }
}
