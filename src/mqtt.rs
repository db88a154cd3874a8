//! Starting the broker and the gateway from the command line.

use anyhow::{Context, Result};
use hemtid_core::config::Config;
use hemtid_core::db::Pool;
use hemtid_gateway::GatewayOptions;
use hemtid_gateway::broker::{self, BrokerSettings};
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;

/// A running gateway; [`Gateway::stop`] ends it.
pub struct Gateway {
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    /// The embedded broker, if this process runs it (it stops when dropped).
    _broker: Option<broker::EmbeddedBroker>,
}

impl Gateway {
    /// Asks the gateway to stop and waits a little for it.
    pub fn stop(mut self) {
        // An error means the gateway has stopped already.
        let _ = self.shutdown.send(true);
        if let Some(t) = self.thread.take() {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// Starts the embedded broker unless an external one is configured, then
/// the gateway in its own thread and runtime.
pub fn start(
    config: &Config,
    pool: Pool,
    lock_keys: Option<hemtid_core::auth::lock_keys::LockKeys>,
) -> Result<Gateway> {
    let mut broker_running = None;
    let mut opts = match &config.mqtt_url {
        Some(url) => {
            let mut o = GatewayOptions::from_url(url, &config.mqtt_client_id)?;
            o.share_group = config.mqtt_share_group.clone();
            o
        }
        None => {
            let listen: SocketAddr = config.mqtt_listen.parse().with_context(|| {
                format!("HEMTID_MQTT_LISTEN: not an address: {}", config.mqtt_listen)
            })?;
            let default = Config::default().mqtt_listen == config.mqtt_listen;
            let settings = |listen| {
                let mut s = BrokerSettings::new(listen);
                s.max_connections = config.mqtt_max_connections;
                s.max_connections_per_address = config.mqtt_max_connections_per_address;
                s.device_rate_per_second = config.mqtt_device_messages_per_second;
                s.device_burst = config.mqtt_device_messages_per_second.saturating_mul(10);
                s
            };
            let b = match broker::start_embedded(settings(listen), pool.clone()) {
                // Port 1883 is often taken by a broker already installed:
                // with the default setting, take a free port and say which.
                Err(broker::BrokerError::Listen { source, .. })
                    if default && source.kind() == std::io::ErrorKind::AddrInUse =>
                {
                    tracing::warn!(
                        "{listen} is in use; the embedded broker takes a free port \
                         (set HEMTID_MQTT_LISTEN, or HEMTID_MQTT_URL to use that broker)"
                    );
                    broker::start_embedded(settings(SocketAddr::new(listen.ip(), 0)), pool.clone())?
                }
                other => other?,
            };
            println!("hemtid MQTT broker on mqtt://{}", b.addr);
            let o = b.gateway_options(&config.mqtt_client_id);
            if config.mqtt_share_group.is_some() {
                tracing::warn!(
                    "HEMTID_MQTT_SHARE_GROUP is for external brokers; the embedded broker has one gateway"
                );
            }
            broker_running = Some(b);
            o
        }
    };
    opts.lock_keys = lock_keys;
    opts.batch_size = config.mqtt_batch_size.max(1);
    opts.lanes = config.gateway_lanes();
    opts.subscribers = config.gateway_subscribers();
    let (shutdown, rx) = watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(hemtid_gateway::run(pool, opts, rx)),
                Err(e) => tracing::error!(error = %e, "could not start the gateway's runtime"),
            }
        })?;
    Ok(Gateway {
        shutdown,
        thread: Some(thread),
        _broker: broker_running,
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn until_signal() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
