//! hemtid-gateway: the MQTT side of hemtid. Door locks and NFC readers
//! publish on `hemtid/v1/devices/{device_id}/events` (QoS 1); the gateway
//! stores each message through `hemtid_core::ingest` and acknowledges it
//! only after the commit, then publishes a receipt on
//! `hemtid/v1/devices/{device_id}/receipts`. At-least-once on the wire,
//! exactly once in the database (the device's event id is unique).
//!
//! [`broker`] is the embedded broker `hemtid serve` starts when no external
//! one is configured, with the authorization rules of [`broker::rules`].

pub mod broker;
mod error;
pub mod mosquitto;
pub mod options;
pub mod process;
mod publish;
pub mod run;
pub mod sim;

pub use error::Error;
pub use options::GatewayOptions;
pub use run::run;

/// The subscription filter for device events.
pub const EVENTS_TOPIC_FILTER: &str = "hemtid/v1/devices/+/events";

/// Filters covering every topic hemtid publishes alerts and care-plan
/// lists on (see [`alert_topics`] and [`plan_list_topics`]): what a case
/// system subscribes to.
pub const ALERT_TOPIC_FILTERS: [&str; 5] = [
    "hemtid/v1/caseworkers/+/alerts",
    "hemtid/v1/fee-admins/+/alerts",
    "hemtid/v1/providers/+/alerts",
    "hemtid/v1/providers/+/care-plan-lists",
    "hemtid/v1/authorities/+/care-plan-lists",
];

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
        .filter(|_| a.audience == hemtid_core::model::Audience::Caseworker)
    {
        out.push(format!("hemtid/v1/caseworkers/{id}/alerts"));
    }
    if a.audience == hemtid_core::model::Audience::FeeAdmin {
        out.push(format!("hemtid/v1/fee-admins/{}/alerts", a.municipality_id));
    } else if let Some(id) = &a.provider_id {
        out.push(format!("hemtid/v1/providers/{id}/alerts"));
    }
    out
}

/// The topics a monthly list of clients without a care plan goes to: the
/// provider's and the authority's (R10).
pub fn plan_list_topics(l: &hemtid_core::evaluate::deadlines::PlanList) -> Vec<String> {
    vec![
        format!("hemtid/v1/providers/{}/care-plan-lists", l.provider_id),
        format!(
            "hemtid/v1/authorities/{}/care-plan-lists",
            l.municipality_id
        ),
    ]
}

/// The MQTT payload of an alert change: the alert (no names) and `seq`.
pub fn alert_payload(
    seq: i64,
    a: &hemtid_core::db::alert::Alert,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&hemtid_core::contract::AlertMessage {
        alert: a.into(),
        seq,
    })
}

/// The topic a device reads its receipts on.
pub fn receipts_topic(device_id: &str) -> String {
    format!("hemtid/v1/devices/{device_id}/receipts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_filters_cover_every_alert_and_list_topic() {
        // As the embedded broker matches a topic against a filter.
        let covered = |t: &str| {
            ALERT_TOPIC_FILTERS.iter().any(|f| {
                f.parse::<rmqtt::topic::Topic>()
                    .is_ok_and(|f| f.matches_str(t))
            })
        };
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .expect("a date");
        let mut topics = Vec::new();
        for audience in ["caseworker", "fee_admin", "provider"] {
            let some = alert_topics(&alert(audience));
            assert!(!some.is_empty(), "{audience}");
            topics.extend(some);
        }
        topics.extend(plan_list_topics(
            &hemtid_core::evaluate::deadlines::PlanList {
                seq: 1,
                id: "l1".into(),
                municipality_id: "m1".into(),
                provider_id: "p1".into(),
                list_date: at.date(),
                generated_at: at,
                clients: "[]".into(),
            },
        ));
        topics.sort();
        topics.dedup();
        // One topic of each family.
        assert_eq!(topics.len(), ALERT_TOPIC_FILTERS.len(), "{topics:?}");
        for t in &topics {
            assert!(covered(t), "{t}");
        }
        assert!(!covered(&receipts_topic("lock-1")));
        assert!(!covered(&events_topic("lock-1")));
    }

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

    fn example_alert() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../mobile-contract/examples/mqtt-alert.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn alert(audience: &str) -> hemtid_core::db::alert::Alert {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(0, 0, 12)
            .unwrap();
        hemtid_core::db::alert::Alert {
            id: "a".into(),
            municipality_id: "m".into(),
            client_id: "c".into(),
            month: "2026-10".into(),
            kind: hemtid_core::model::AlertKind::OutsideBand,
            rules: "R1,R2".into(),
            audience: hemtid_core::model::Audience::parse(audience).expect("an audience"),
            caseworker_id: Some("cw".into()),
            provider_id: Some("p".into()),
            state: hemtid_core::model::AlertState::Open,
            message: "Utförd tid …".into(),
            figures: r#"{"performed_minutes": 2848}"#.into(),
            raised_at: t,
            updated_at: t,
            resolved_at: None,
            planned_visit_id: None,
        }
    }

    #[test]
    fn alert_payloads_follow_the_contract_example() {
        let ours: serde_json::Value =
            serde_json::from_slice(&alert_payload(42, &alert("caseworker")).unwrap()).unwrap();
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&ours), keys(&example_alert()));
        assert_eq!(ours["figures"]["performed_minutes"], 2848);
        assert!(ours.get("municipality_id").is_none());
    }

    #[test]
    fn alerts_go_to_those_they_are_for() {
        assert_eq!(
            alert_topics(&alert("caseworker")),
            [
                "hemtid/v1/caseworkers/cw/alerts",
                "hemtid/v1/providers/p/alerts"
            ]
        );
        assert_eq!(
            alert_topics(&alert("provider")),
            ["hemtid/v1/providers/p/alerts"]
        );
        assert_eq!(
            alert_topics(&alert("fee_admin")),
            ["hemtid/v1/fee-admins/m/alerts"]
        );
    }
}
