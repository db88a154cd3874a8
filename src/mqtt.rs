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
    /// True while every subscriber connection has its subscription.
    pub ready: watch::Receiver<bool>,
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
    certificate: Option<std::sync::Arc<crate::tls::Certificate>>,
) -> Result<Gateway> {
    let mut broker_running = None;
    let mut opts = match &config.mqtt_url {
        Some(url) => {
            let mut o = GatewayOptions::from_url(url, &config.mqtt_client_id)?;
            o.share_group = config.mqtt_share_group.clone();
            // Mosquitto grants any subscription and checks deliveries: a
            // device that joins the gateways' group takes messages away
            // from them (they reach nobody until the device re-sends).
            if o.share_group.as_ref().is_some_and(|g| g.len() < 16) {
                tracing::warn!(
                    "HEMTID_MQTT_SHARE_GROUP is short: on a broker that grants any \
                     subscription (Mosquitto), use a long random name no device can guess"
                );
            }
            o.username_is_client_id = config.mqtt_username_is_client_id;
            if let Some(ca) = &config.mqtt_ca_file {
                if o.tls.is_none() {
                    anyhow::bail!("HEMTID_MQTT_CA_FILE is for an mqtts:// broker");
                }
                o.trust_only(ca)?;
            }
            o
        }
        None => {
            let listen: SocketAddr = config.mqtt_listen.parse().with_context(|| {
                format!("HEMTID_MQTT_LISTEN: not an address: {}", config.mqtt_listen)
            })?;
            let default = Config::default().mqtt_listen == config.mqtt_listen;
            // MQTT over TLS with the HTTPS certificate (and its reloads).
            let tls = match (
                config.mqtt_tls_addr().map_err(anyhow::Error::msg)?,
                &certificate,
            ) {
                (Some(listen), Some(c)) => Some(broker::TlsListen {
                    listen,
                    config: std::sync::Arc::new(crate::tls::mqtt_server_config(c.clone())?),
                }),
                _ => None,
            };
            let settings = |listen| {
                let mut s = BrokerSettings::new(listen);
                s.max_connections = config.mqtt_max_connections;
                s.max_connections_per_address = config.mqtt_max_connections_per_address;
                s.device_rate_per_second = config.mqtt_device_messages_per_second;
                s.device_burst = config.mqtt_device_messages_per_second.saturating_mul(10);
                s.tls = tls.clone();
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
            if let Some(a) = b.tls_addr {
                println!("hemtid MQTT broker on mqtts://{a}");
            }
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
    opts.batch_size = config.gateway_batch_size();
    opts.lanes = config.gateway_lanes();
    opts.subscribers = config.gateway_subscribers();
    let (shutdown, rx) = watch::channel(false);
    let (ready_tx, ready) = watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(hemtid_gateway::run::run_with_ready(
                    pool, opts, rx, ready_tx,
                )),
                Err(e) => tracing::error!(error = %e, "could not start the gateway's runtime"),
            }
        })?;
    Ok(Gateway {
        shutdown,
        thread: Some(thread),
        _broker: broker_running,
        ready,
    })
}

/// What `hemtid mqtt-acl` writes and how.
pub struct AclOptions {
    pub password_file: std::path::PathBuf,
    pub acl_file: std::path::PathBuf,
    pub gateway_client_ids: Vec<String>,
    pub watch: bool,
    pub every: Duration,
    pub reload_command: Option<String>,
}

/// `hemtid mqtt-acl`: writes Mosquitto's password and ACL files from the
/// registry, once or (`watch`) whenever what they would say changes.
pub fn acl_files(config: &Config, o: &AclOptions) -> Result<()> {
    use hemtid_gateway::mosquitto::{self, GatewayAccount};
    let url = config
        .mqtt_url
        .as_deref()
        .context("HEMTID_MQTT_URL names the broker and carries the gateway's password")?;
    let gw = GatewayOptions::from_url(url, &config.mqtt_client_id)?;
    let password = gw
        .password
        .context("HEMTID_MQTT_URL has no password (mqtt://user:password@host): the gateway's")?;
    let ids = if o.gateway_client_ids.is_empty() {
        vec![config.mqtt_client_id.clone()]
    } else {
        o.gateway_client_ids.clone()
    };
    let account = GatewayAccount {
        usernames: ids
            .iter()
            .flat_map(|id| GatewayAccount::usernames_for(id, config.gateway_subscribers()))
            .collect(),
        // Hashed once: a new salt every round would rewrite the files.
        password_hash: hemtid_core::auth::broker_password_hash(&password)?,
    };
    let pool = hemtid_core::db::pool(
        &hemtid_core::db::DatabaseUrl::parse(&config.database_url())?,
        1,
    )?;
    let mut written: Option<(String, String)> = None;
    loop {
        let rendered = {
            let mut c = pool.get()?;
            mosquitto::render(&mut c, &account)
        };
        match rendered {
            Ok(r) => {
                let now = (r.password_file.clone(), r.acl_file.clone());
                if written.as_ref() != Some(&now) {
                    mosquitto::write_atomically(&o.password_file, &r.password_file)
                        .with_context(|| format!("writing {}", o.password_file.display()))?;
                    mosquitto::write_atomically(&o.acl_file, &r.acl_file)
                        .with_context(|| format!("writing {}", o.acl_file.display()))?;
                    println!(
                        "wrote {} and {}: {} devices, {} case systems, {} gateway usernames",
                        o.password_file.display(),
                        o.acl_file.display(),
                        r.devices,
                        r.case_systems,
                        account.usernames.len()
                    );
                    if !r.devices_without_hash.is_empty() || !r.tokens_without_hash.is_empty() {
                        println!(
                            "left out {} devices and {} integration tokens made before broker \
                             passwords were kept: rotate their secrets (POST /api/v1/devices/{{id}}/secret, \
                             hemtid token create)",
                            r.devices_without_hash.len(),
                            r.tokens_without_hash.len()
                        );
                    }
                    if let Some(cmd) = &o.reload_command {
                        let status = std::process::Command::new("sh").arg("-c").arg(cmd).status();
                        match status {
                            Ok(s) if s.success() => {}
                            Ok(s) => eprintln!("the reload command ended with {s}"),
                            Err(e) => eprintln!("could not run the reload command: {e}"),
                        }
                    }
                    written = Some(now);
                }
            }
            Err(e) if o.watch => eprintln!("could not read the registry ({e}); trying again"),
            Err(e) => return Err(e.into()),
        }
        if !o.watch {
            return Ok(());
        }
        std::thread::sleep(o.every);
    }
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
