//! hemtid-gateway: the MQTT side of hemtid. Door locks and NFC readers
//! publish on `hemtid/v1/devices/{device_id}/events` (QoS 1); the gateway
//! stores each message through `hemtid_core::ingest` and acknowledges it
//! only after the commit, then publishes a receipt on
//! `hemtid/v1/devices/{device_id}/receipts`. At-least-once on the wire,
//! exactly once in the database (the device's event id is unique).
//!
//! [`broker`] is the embedded broker `hemtid serve` starts when no external
//! one is configured.

pub mod broker;
pub mod options;
pub mod process;
pub mod run;
pub mod sim;

pub use options::GatewayOptions;
pub use run::run;

/// The subscription filter for device events.
pub const EVENTS_TOPIC_FILTER: &str = "hemtid/v1/devices/+/events";

/// Why a topic is not a device-event topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("not a hemtid/v1/devices/{{device_id}}/events topic")]
    Shape,
    #[error("the device id is empty, too long or has characters outside A-Z a-z 0-9 - _ .")]
    DeviceId,
}

/// The device id in `hemtid/v1/devices/{device_id}/events`.
pub fn device_id_from_topic(topic: &str) -> Result<&str, TopicError> {
    let id = topic
        .strip_prefix("hemtid/v1/devices/")
        .and_then(|rest| rest.strip_suffix("/events"))
        .ok_or(TopicError::Shape)?;
    let valid = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(id)
    } else {
        Err(TopicError::DeviceId)
    }
}

/// The topic a device publishes its events on.
pub fn events_topic(device_id: &str) -> String {
    format!("hemtid/v1/devices/{device_id}/events")
}

/// The retained topic a lock reads its key configuration on.
pub fn config_topic(device_id: &str) -> String {
    format!("hemtid/v1/devices/{device_id}/config")
}

/// The topics an alert change goes to: the caseworker's, the provider's
/// (all but the fee administrators' alerts) and the fee administrators'.
pub fn alert_topics(a: &hemtid_core::db::alert::Alert) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(id) = a
        .caseworker_id
        .as_ref()
        .filter(|_| a.audience == "caseworker")
    {
        out.push(format!("hemtid/v1/caseworkers/{id}/alerts"));
    }
    if a.audience == "fee_admin" {
        out.push(format!("hemtid/v1/fee-admins/{}/alerts", a.municipality_id));
    } else if let Some(id) = &a.provider_id {
        out.push(format!("hemtid/v1/providers/{id}/alerts"));
    }
    out
}

/// The topic a device reads its receipts on.
pub fn receipts_topic(device_id: &str) -> String {
    format!("hemtid/v1/devices/{device_id}/receipts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_topics() {
        assert_eq!(
            device_id_from_topic("hemtid/v1/devices/lock-17/events"),
            Ok("lock-17")
        );
        assert_eq!(device_id_from_topic(&events_topic("nfc.4")), Ok("nfc.4"));
        assert_eq!(
            device_id_from_topic("hemtid/v1/devices//events"),
            Err(TopicError::DeviceId)
        );
        assert_eq!(
            device_id_from_topic("hemtid/v1/devices/a/b/events"),
            Err(TopicError::DeviceId)
        );
        assert_eq!(
            device_id_from_topic("hemtid/v1/devices/a/status"),
            Err(TopicError::Shape)
        );
        assert_eq!(
            device_id_from_topic(&events_topic(&"x".repeat(129))),
            Err(TopicError::DeviceId)
        );
        assert_eq!(
            receipts_topic("lock-1"),
            "hemtid/v1/devices/lock-1/receipts"
        );
    }
}
