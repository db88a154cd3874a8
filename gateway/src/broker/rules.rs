//! Who may publish and subscribe to what on hemtid's broker: pure rules,
//! no I/O. The embedded broker applies them to every PUBLISH and SUBSCRIBE
//! (see `hooks`); `hemtid mqtt-acl` writes the same rules for Mosquitto.
//!
//! - A **device** publishes only on its own
//!   `hemtid/v1/devices/{id}/events`, never retained, and subscribes only
//!   to its own `…/receipts` and `…/config`. No wildcards, no `$share/…`,
//!   no `$SYS/…`.
//! - The **integration** login (a municipality's case system) publishes
//!   nothing and subscribes only to exact alert and care-plan-list topics
//!   of its own municipality (whether an id in a topic belongs to it is a
//!   database question: [`Subscription::Owned`] says which to ask).
//! - The **gateway** publishes receipts, configurations (retained), alerts
//!   and plan lists, and subscribes to the devices' events. It signs in
//!   only on the broker's internal listener.

/// Who a connection signed in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Gateway,
    Device {
        id: String,
        municipality_id: String,
    },
    Integration {
        /// The integration token's id (not the secret).
        token_id: String,
        municipality_id: String,
    },
}

/// Why a publish or subscription was refused (a stable code, for the
/// broker's counters and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A wildcard, an empty level where none may be, or a `$` topic.
    InvalidTopic,
    /// Not this identity's topic.
    NotAllowed,
    /// A device may not retain.
    Retained,
    /// Over [`MAX_DEVICE_PAYLOAD_BYTES`].
    TooLarge,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::InvalidTopic => "invalid_topic",
            Refusal::NotAllowed => "not_allowed",
            Refusal::Retained => "retained",
            Refusal::TooLarge => "payload_too_large",
        }
    }
}

/// A device message's largest payload (the gateway's limit too).
pub const MAX_DEVICE_PAYLOAD_BYTES: usize = hemtid_core::ingest::MAX_PAYLOAD_BYTES;

/// Client ids beginning with this are the gateway's (and hemtid's own
/// tools'): no device or case system may use one.
pub const RESERVED_CLIENT_ID_PREFIX: &str = hemtid_core::ingest::RESERVED_DEVICE_ID_PREFIX;

/// A case system's client id begins with this.
pub const INTEGRATION_CLIENT_ID_PREFIX: &str = "integration-";

/// Whether `topic` is a topic name one may publish to: not empty, no
/// wildcard, no NUL, not a `$` topic.
pub fn valid_topic_name(topic: &str) -> bool {
    !topic.is_empty()
        && !topic.starts_with('$')
        && !topic.contains(['+', '#', '\0'])
        && topic.len() <= 1024
}

/// Whether `filter` is a well-formed subscription filter: `#` only as the
/// last level, `+` only as a whole level, not empty, no NUL.
pub fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') || filter.len() > 1024 {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    levels.iter().enumerate().all(|(i, level)| match *level {
        "#" => i == levels.len() - 1,
        "+" => true,
        l => !l.contains(['+', '#']),
    })
}

/// Whether the client id fits the identity: a device's is its id; a case
/// system's begins with [`INTEGRATION_CLIENT_ID_PREFIX`]; nobody but the
/// gateway uses [`RESERVED_CLIENT_ID_PREFIX`].
pub fn client_id_allowed(identity: &Identity, client_id: &str) -> bool {
    match identity {
        Identity::Gateway => true,
        Identity::Device { id, .. } => client_id == id,
        Identity::Integration { .. } => {
            client_id.starts_with(INTEGRATION_CLIENT_ID_PREFIX)
                && client_id.len() > INTEGRATION_CLIENT_ID_PREFIX.len()
                && client_id.len() <= 128
        }
    }
}

/// Whether `identity` may publish `payload_len` bytes on `topic`.
pub fn may_publish(
    identity: &Identity,
    topic: &str,
    retain: bool,
    payload_len: usize,
) -> Result<(), Refusal> {
    if !valid_topic_name(topic) {
        return Err(Refusal::InvalidTopic);
    }
    match identity {
        Identity::Gateway => Ok(()),
        Identity::Integration { .. } => Err(Refusal::NotAllowed),
        Identity::Device { id, .. } => {
            if topic != crate::events_topic(id) {
                Err(Refusal::NotAllowed)
            } else if retain {
                Err(Refusal::Retained)
            } else if payload_len > MAX_DEVICE_PAYLOAD_BYTES {
                Err(Refusal::TooLarge)
            } else {
                Ok(())
            }
        }
    }
}

/// What a subscription needs besides the rules here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// Allowed.
    Allowed,
    /// Allowed if the id in the topic belongs to the identity's
    /// municipality (a database question).
    Owned(Owner),
}

/// The kind of id an integration's topic names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// `hemtid/v1/caseworkers/{user_id}/alerts`: a user of the municipality.
    User(String),
    /// `hemtid/v1/providers/{provider_id}/…`: a provider of the municipality.
    Provider(String),
}

/// Whether `identity` may subscribe to `filter`.
pub fn may_subscribe(identity: &Identity, filter: &str) -> Result<Subscription, Refusal> {
    if !valid_filter(filter) {
        return Err(Refusal::InvalidTopic);
    }
    match identity {
        Identity::Gateway => {
            // The gateway reads events on the internal listener; no `$`
            // topics there either (the embedded broker has no shared
            // subscriptions: one process, one gateway).
            if filter.starts_with('$') {
                Err(Refusal::InvalidTopic)
            } else {
                Ok(Subscription::Allowed)
            }
        }
        Identity::Device { id, .. } => {
            if filter == crate::receipts_topic(id) || filter == crate::config_topic(id) {
                Ok(Subscription::Allowed)
            } else {
                Err(Refusal::NotAllowed)
            }
        }
        Identity::Integration {
            municipality_id, ..
        } => {
            // Exact topics only: a wildcard would reach other
            // municipalities' alerts.
            if filter.contains(['+', '#']) || filter.starts_with('$') {
                return Err(Refusal::NotAllowed);
            }
            let levels: Vec<&str> = filter.split('/').collect();
            match levels.as_slice() {
                ["hemtid", "v1", "fee-admins", m, "alerts"]
                | ["hemtid", "v1", "authorities", m, "care-plan-lists"]
                    if m == municipality_id =>
                {
                    Ok(Subscription::Allowed)
                }
                ["hemtid", "v1", "caseworkers", user, "alerts"] if !user.is_empty() => {
                    Ok(Subscription::Owned(Owner::User(user.to_string())))
                }
                ["hemtid", "v1", "providers", p, "alerts" | "care-plan-lists"] if !p.is_empty() => {
                    Ok(Subscription::Owned(Owner::Provider(p.to_string())))
                }
                _ => Err(Refusal::NotAllowed),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str) -> Identity {
        Identity::Device {
            id: id.into(),
            municipality_id: "m1".into(),
        }
    }

    fn integration() -> Identity {
        Identity::Integration {
            token_id: "t1".into(),
            municipality_id: "m1".into(),
        }
    }

    #[test]
    fn a_device_publishes_only_its_own_events_unretained_and_small() {
        let a = device("lock-a");
        assert_eq!(
            may_publish(&a, "hemtid/v1/devices/lock-a/events", false, 200),
            Ok(())
        );
        for topic in [
            "hemtid/v1/devices/lock-b/events",
            "hemtid/v1/devices/lock-a/config",
            "hemtid/v1/devices/lock-b/receipts",
            "hemtid/v1/caseworkers/u1/alerts",
            "hemtid/v1/devices/lock-a/events/x",
        ] {
            assert_eq!(
                may_publish(&a, topic, false, 10),
                Err(Refusal::NotAllowed),
                "{topic}"
            );
        }
        assert_eq!(
            may_publish(&a, "hemtid/v1/devices/lock-a/events", true, 10),
            Err(Refusal::Retained)
        );
        assert_eq!(
            may_publish(
                &a,
                "hemtid/v1/devices/lock-a/events",
                false,
                MAX_DEVICE_PAYLOAD_BYTES + 1
            ),
            Err(Refusal::TooLarge)
        );
        for topic in ["", "a/+/b", "#", "$SYS/x", "hemtid/v1/devices/+/events"] {
            assert_eq!(
                may_publish(&Identity::Gateway, topic, false, 1),
                Err(Refusal::InvalidTopic),
                "{topic:?}"
            );
        }
    }

    #[test]
    fn a_device_subscribes_only_to_its_receipts_and_config() {
        let a = device("lock-a");
        for f in [
            "hemtid/v1/devices/lock-a/receipts",
            "hemtid/v1/devices/lock-a/config",
        ] {
            assert_eq!(may_subscribe(&a, f), Ok(Subscription::Allowed), "{f}");
        }
        for f in [
            "#",
            "hemtid/#",
            "hemtid/v1/devices/+/receipts",
            "hemtid/v1/devices/lock-b/config",
            "hemtid/v1/devices/lock-a/events",
            "$share/hemtid-gateway/hemtid/v1/devices/+/events",
            "$share/x/hemtid/v1/devices/lock-a/receipts",
            "$SYS/broker/clients",
            "hemtid/v1/caseworkers/u1/alerts",
        ] {
            assert!(may_subscribe(&a, f).is_err(), "{f}");
        }
        assert_eq!(may_subscribe(&a, "a/#/b"), Err(Refusal::InvalidTopic));
        assert_eq!(may_subscribe(&a, "a/b+/c"), Err(Refusal::InvalidTopic));
    }

    #[test]
    fn the_integration_reads_exact_topics_of_its_municipality_and_publishes_nothing() {
        let i = integration();
        assert_eq!(
            may_subscribe(&i, "hemtid/v1/fee-admins/m1/alerts"),
            Ok(Subscription::Allowed)
        );
        assert_eq!(
            may_subscribe(&i, "hemtid/v1/authorities/m1/care-plan-lists"),
            Ok(Subscription::Allowed)
        );
        assert_eq!(
            may_subscribe(&i, "hemtid/v1/caseworkers/u9/alerts"),
            Ok(Subscription::Owned(Owner::User("u9".into())))
        );
        assert_eq!(
            may_subscribe(&i, "hemtid/v1/providers/p1/care-plan-lists"),
            Ok(Subscription::Owned(Owner::Provider("p1".into())))
        );
        for f in [
            "hemtid/v1/fee-admins/m2/alerts",
            "hemtid/v1/authorities/m2/care-plan-lists",
            "hemtid/v1/caseworkers/+/alerts",
            "hemtid/v1/providers/+/alerts",
            "hemtid/v1/devices/lock-a/receipts",
            "hemtid/v1/devices/lock-a/config",
            "#",
        ] {
            assert_eq!(may_subscribe(&i, f), Err(Refusal::NotAllowed), "{f}");
        }
        assert_eq!(
            may_publish(&i, "hemtid/v1/caseworkers/u9/alerts", false, 10),
            Err(Refusal::NotAllowed)
        );
    }

    #[test]
    fn client_ids_are_bound_to_identities() {
        assert!(client_id_allowed(&device("lock-a"), "lock-a"));
        assert!(!client_id_allowed(&device("lock-a"), "lock-b"));
        assert!(!client_id_allowed(&device("lock-a"), "hemtid-gateway"));
        assert!(client_id_allowed(&integration(), "integration-lifecare"));
        assert!(!client_id_allowed(&integration(), "integration-"));
        assert!(!client_id_allowed(&integration(), "hemtid-gateway"));
        assert!(!client_id_allowed(&integration(), "lock-a"));
    }

    #[test]
    fn filters_are_checked_for_their_shape() {
        for f in ["a", "a/+", "+/+", "#", "a/#", "a//b", "+"] {
            assert!(valid_filter(f), "{f}");
        }
        for f in ["", "a/#/b", "a#", "a/b#", "a+/b", "#/a", "a\0"] {
            assert!(!valid_filter(f), "{f:?}");
        }
    }
}
