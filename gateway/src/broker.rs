//! The embedded MQTT broker (rumqttd) `hemtid serve` starts when no
//! external broker is configured, so a new user needs nothing else.
//! Devices sign in with their id and the secret hemtid generated for them;
//! the gateway with a password made at start; the case system as
//! `integration` with an integration token. rumqttd has no topic ACLs:
//! whoever signs in can subscribe to any topic, which is why alert payloads
//! carry no names or personal numbers (a broker with ACLs is the answer
//! where that matters: see the README).
//!
//! rumqttd keeps everything in memory and drops messages for a subscriber
//! that falls behind its buffers (shared/CRATES.md), so the buffers are
//! sized generously here; receipts close what remains (a crash loses what
//! it had not delivered, and devices re-send what was not receipted).

use hemtid_core::db::{Pool, api_token, device};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, SegmentConfig, ServerSettings};
use std::collections::HashMap;
use std::net::SocketAddr;

/// The username the gateway signs in with.
pub const GATEWAY_USER: &str = "hemtid-gateway";

/// The username of the municipality's case system, whose password is an
/// integration token (`hemtid token create`): it reads the alert topics.
pub const INTEGRATION_USER: &str = "integration";

/// A running embedded broker.
#[derive(Debug, Clone)]
pub struct EmbeddedBroker {
    pub addr: SocketAddr,
    /// The gateway's password for this process's life.
    pub gateway_password: String,
}

/// Why the broker did not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Starts the broker on `listen` (port 0 picks a free one) in its own
/// threads.
pub fn start_embedded(
    listen: SocketAddr,
    pool: Pool,
    inflight: usize,
) -> Result<EmbeddedBroker, BrokerError> {
    // rumqttd logs a failed bind on its own thread; find out here instead.
    // Bound like rumqttd binds (tokio, SO_REUSEADDR), so a restart right
    // after a crash is not refused for connections still in TIME_WAIT.
    let bind = |addr: SocketAddr| -> std::io::Result<SocketAddr> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1)?;
        socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| std::io::Error::other("not an IP address"))
    };
    let addr = bind(listen).map_err(|source| BrokerError::Listen {
        addr: listen,
        source,
    })?;
    let gateway_password =
        hemtid_core::auth::generate_password().map_err(|e| BrokerError::Other(e.to_string()))?;
    let expected = gateway_password.clone();
    let mut connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 256 * 1024,
        // At least the gateway's batch, so a whole batch can wait for its commit.
        max_inflight_count: inflight.max(1024),
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    connections.set_auth_handler(move |_client_id: String, user: String, pass: String| {
        let pool = pool.clone();
        let expected = expected.clone();
        async move {
            if user == GATEWAY_USER {
                return pass == expected;
            }
            tokio::task::spawn_blocking(move || {
                pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
                    if user == INTEGRATION_USER {
                        // The case system subscribes to alerts with its
                        // integration token.
                        let hash = hemtid_core::auth::hash_token(&pass);
                        return api_token::find_active(&mut c, &hash)
                            .map(|t| t.is_some())
                            .map_err(|e| e.to_string());
                    }
                    device::check_secret(&mut c, &user, &pass).map_err(|e| e.to_string())
                })
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "device authentication failed");
                false
            })
        }
    });
    let server = ServerSettings {
        name: "hemtid-mqtt".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 30_000,
            max_outgoing_packet_count: 1_000,
            // Large segments: a slow subscriber must not lose messages.
            max_segment_size: 64 * 1024 * 1024,
            max_segment_count: 16,
            // rumqttd matches a topic against every filter (each lock's
            // receipts and configuration filters: thousands) on every
            // publish until a filter matches it, and remembers only
            // matches: an alert topic nobody subscribed to was scanned
            // again on each alert, which took a third of the broker
            // thread's time in the simulator. With the alert families as
            // filters from the start, each such topic is matched once.
            // Their logs keep what was published on them in memory, so
            // they are small: 4 MiB each, a few thousand alerts. A case
            // system further behind than that misses the oldest over MQTT
            // and reads them from the API (the alerts are kept there).
            custom_segment: Some(
                crate::ALERT_TOPIC_FILTERS
                    .iter()
                    .map(|f| {
                        (
                            f.to_string(),
                            SegmentConfig {
                                max_segment_size: 1024 * 1024,
                                max_segment_count: 4,
                            },
                        )
                    })
                    .collect(),
            ),
            initialized_filters: Some(
                crate::ALERT_TOPIC_FILTERS
                    .iter()
                    .map(|f| f.to_string())
                    .collect(),
            ),
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Config::default()
    };
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "the embedded broker stopped");
            }
        })
        .map_err(|e| BrokerError::Other(e.to_string()))?;
    // No probe connection to see it accept: rumqttd logs an aborted
    // handshake as an error. Clients (the gateway too) retry until it does.
    Ok(EmbeddedBroker {
        addr,
        gateway_password,
    })
}
