//! The embedded MQTT broker `hemtid serve` starts when no external broker
//! is configured, so a new user needs nothing else. It is rmqtt (a
//! maintained broker, see docs/BROKER.md for why) with hemtid's sign-in
//! and authorization as its hooks:
//!
//! - Devices sign in with their id (as username and client id) and the
//!   secret hemtid generated for them; the case system as `integration`
//!   with an integration token and a client id `integration-…`; the
//!   gateway with a password made at start, on an internal listener of its
//!   own that devices never reach.
//! - Each may publish and subscribe only to its own topics
//!   ([`rules`]); a retired device, a rotated secret or a revoked token
//!   ends the connection at once ([`watch`]).
//! - Devices reach the broker through a guard ([`guard`]) that keeps the
//!   connections below the open-file limit, in total and per address, and
//!   closes connections that say nothing; the broker limits their packets
//!   to the 16 KiB of a device message, their queues and their rate.
//!
//! The broker keeps everything in memory: a restart loses what it had
//! not delivered, and devices re-send what was not receipted.

mod guard;
mod hooks;
mod logs;
mod retain;
pub mod rules;
mod tally;
mod watch;

pub use guard::Limits;
pub use tally::Tally;

use hemtid_core::db::Pool;
use rmqtt::context::ServerContext;
use rmqtt::hook::Type;
use rmqtt::net::Builder;
use rmqtt::server::MqttServer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The username the gateway signs in with.
pub const GATEWAY_USER: &str = "hemtid-gateway";

/// The username of the municipality's case system, whose password is an
/// integration token (`hemtid token create`): it reads its municipality's
/// alert and care-plan-list topics.
pub const INTEGRATION_USER: &str = "integration";

/// The broker's listener for devices and case systems (behind the guard).
const DEVICE_LISTENER: u16 = 1;
/// The broker's listener for the gateway (loopback, never exposed).
const GATEWAY_LISTENER: u16 = 2;

/// File descriptors kept for everything but device connections: the HTTP
/// API, the database, the gateway's own connections, files.
pub const RESERVED_FILE_DESCRIPTORS: u64 = 256;

/// Descriptors one device connection takes: the device's socket, and the
/// guard's and the broker's ends of the loopback connection between them.
pub const DESCRIPTORS_PER_CONNECTION: u64 = 3;

/// How the embedded broker is set up.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// Where devices connect (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Device connections at most (further bounded by the open-file limit).
    pub max_connections: usize,
    /// Device connections at most from one address.
    pub max_connections_per_address: usize,
    /// How long a connection may take to send its first byte, and then
    /// its CONNECT.
    pub sign_in_timeout: Duration,
    /// Unacknowledged messages the broker sends the gateway at once: at
    /// least a batch, so a whole batch can wait for its commit.
    pub gateway_inflight: u16,
    /// Messages a device may publish at once, then per second; a faster
    /// device is read more slowly (never refused). A lock back online
    /// sends what it kept while offline at once.
    pub device_burst: u32,
    pub device_rate_per_second: u32,
    /// MQTT over TLS for devices as well, ended by the guard.
    pub tls: Option<TlsListen>,
}

/// A listener for MQTT over TLS: where, and the server side of TLS (whose
/// certificate resolver may read renewed files while it runs).
#[derive(Clone)]
pub struct TlsListen {
    pub listen: SocketAddr,
    pub config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListen")
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

impl BrokerSettings {
    /// The defaults for `listen`.
    pub fn new(listen: SocketAddr) -> BrokerSettings {
        BrokerSettings {
            listen,
            max_connections: 50_000,
            max_connections_per_address: 1024,
            sign_in_timeout: Duration::from_secs(5),
            gateway_inflight: 4096,
            device_burst: 500,
            device_rate_per_second: 50,
            tls: None,
        }
    }

    /// The device connections allowed with `open_files` descriptors.
    pub fn connections_for(&self, open_files: u64) -> usize {
        let usable =
            open_files.saturating_sub(RESERVED_FILE_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION;
        self.max_connections.min(usable as usize)
    }
}

/// A running embedded broker. It stops when the last clone is dropped.
#[derive(Clone)]
pub struct EmbeddedBroker {
    /// Where devices and case systems connect.
    pub addr: SocketAddr,
    /// Where they connect over TLS, when a certificate is configured.
    pub tls_addr: Option<SocketAddr>,
    /// Where the gateway connects (loopback).
    pub gateway_addr: SocketAddr,
    /// The gateway's password for this process's life.
    pub gateway_password: String,
    /// The guard's limits as applied.
    pub limits: Limits,
    /// What it refused.
    pub tally: Arc<Tally>,
    _running: Arc<Running>,
}

impl std::fmt::Debug for EmbeddedBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBroker")
            .field("addr", &self.addr)
            .field("tls_addr", &self.tls_addr)
            .field("gateway_addr", &self.gateway_addr)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl EmbeddedBroker {
    /// The gateway's connection options for this broker.
    pub fn gateway_options(&self, client_id: &str) -> crate::GatewayOptions {
        let mut o = crate::GatewayOptions::new(
            &self.gateway_addr.ip().to_string(),
            self.gateway_addr.port(),
            client_id,
        );
        o.username = Some(GATEWAY_USER.to_string());
        o.password = Some(self.gateway_password.clone());
        o
    }
}

/// Stops the broker's runtime when dropped.
struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
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

/// Raises the process's open-file limit to its hard limit and returns the
/// limit now in force (the soft limit is often 1,024, which a few hundred
/// locks and an attacker's idle connections would use up).
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

/// Binds like the broker binds (SO_REUSEADDR), so a restart right after a
/// crash is not refused for connections still in TIME_WAIT.
fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// A free loopback port for one of the broker's own listeners.
fn free_loopback_port() -> std::io::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    l.local_addr()
}

/// Starts the broker on `settings.listen` in threads of its own.
pub fn start_embedded(settings: BrokerSettings, pool: Pool) -> Result<EmbeddedBroker, BrokerError> {
    logs::forward_to_tracing();
    let public = bind(settings.listen).map_err(|source| BrokerError::Listen {
        addr: settings.listen,
        source,
    })?;
    let addr = public
        .local_addr()
        .map_err(|e| BrokerError::Other(e.to_string()))?;
    let tls_public = match &settings.tls {
        Some(t) => Some((
            bind(t.listen).map_err(|source| BrokerError::Listen {
                addr: t.listen,
                source,
            })?,
            t.config.clone(),
        )),
        None => None,
    };
    let tls_addr = match &tls_public {
        Some((l, _)) => Some(
            l.local_addr()
                .map_err(|e| BrokerError::Other(e.to_string()))?,
        ),
        None => None,
    };
    let open_files = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024);
    let limits = Limits {
        max_connections: settings.connections_for(open_files),
        max_per_address: settings.max_connections_per_address.max(1),
        first_byte_timeout: settings.sign_in_timeout,
    };
    let gateway_password =
        hemtid_core::auth::generate_password().map_err(|e| BrokerError::Other(e.to_string()))?;
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let password = gateway_password.clone();
    let t = tally.clone();
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("mqtt-broker")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = started_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                match serve(public, tls_public, settings, limits, pool, &password, t).await {
                    Ok(gateway_addr) => {
                        let _ = started_tx.send(Ok(gateway_addr));
                        // Runs until the broker is dropped; dropping the
                        // runtime then ends every connection and task.
                        let _ = stopped.await;
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(|e| BrokerError::Other(e.to_string()))?;
    let gateway_addr = started_rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|e| BrokerError::Other(format!("the broker did not start: {e}")))?
        .map_err(BrokerError::Other)?;
    tracing::info!(
        addr = %addr,
        tls_addr = ?tls_addr,
        max_connections = limits.max_connections,
        max_per_address = limits.max_per_address,
        open_files,
        "embedded MQTT broker started"
    );
    Ok(EmbeddedBroker {
        addr,
        tls_addr,
        gateway_addr,
        gateway_password,
        limits,
        tally,
        _running: Arc::new(Running { stop: Some(stop) }),
    })
}

/// Sets up rmqtt and the guard inside the broker's runtime; returns the
/// gateway's address.
async fn serve(
    public: std::net::TcpListener,
    tls_public: Option<(std::net::TcpListener, Arc<rustls::ServerConfig>)>,
    settings: BrokerSettings,
    limits: Limits,
    pool: Pool,
    gateway_password: &str,
    tally: Arc<Tally>,
) -> Result<SocketAddr, String> {
    // No refusal of sign-ins when the machine is busy (rmqtt's default
    // refuses them while the CPU load is high: a gateway batch would lock
    // devices out).
    let scx = ServerContext::new().busy_check_enable(false).build().await;
    *scx.extends.retain_mut().await = Box::new(retain::InMemory::default());
    let sessions = hooks::Sessions::default();
    let authority = Arc::new(hooks::Authority::new(
        pool.clone(),
        gateway_password,
        sessions.clone(),
        tally.clone(),
        (settings.device_burst, settings.device_rate_per_second),
    ));
    let register = scx.extends.hook_mgr().register();
    for typ in [
        Type::ClientAuthenticate,
        Type::ClientDisconnected,
        Type::SessionTerminated,
        Type::MessagePublishCheckAcl,
        Type::ClientSubscribeCheckAcl,
    ] {
        register
            .add(typ, Box::new(hooks::Shared(authority.clone())))
            .await;
    }
    register.start().await;

    let device_addr = free_loopback_port().map_err(|e| e.to_string())?;
    let gateway_addr = free_loopback_port().map_err(|e| e.to_string())?;
    let nz = |n: u16| std::num::NonZeroU16::new(n.max(1)).unwrap_or(std::num::NonZeroU16::MIN);
    let devices = Builder::new()
        .name("devices")
        .laddr(device_addr)
        .reuseaddr(Some(true))
        .nodelay(true)
        .allow_anonymous(false)
        // A device message is at most 16 KiB; its topic and header fit in
        // the rest. Larger packets end the connection at the decoder.
        .max_packet_size((rules::MAX_DEVICE_PAYLOAD_BYTES + 1024) as u32)
        .max_inflight(nz(16))
        // Receipts and configurations waiting for a device: a few.
        .max_mqueue_len(64)
        .handshake_timeout(settings.sign_in_timeout)
        .max_handshaking_limit(1_000)
        .max_clientid_len(128)
        .max_keepalive(3600)
        .session_expiry_interval(Duration::from_secs(3600))
        .max_session_expiry_interval(Duration::from_secs(3600))
        .message_expiry_interval(Duration::from_secs(3600))
        .bind()
        .map_err(|e| format!("devices' listener on {device_addr}: {e}"))?
        .tcp()
        .map_err(|e| e.to_string())?;
    let gateway = Builder::new()
        .name("gateway")
        .laddr(gateway_addr)
        .reuseaddr(Some(true))
        .nodelay(true)
        .allow_anonymous(false)
        .max_packet_size(1024 * 1024)
        .max_inflight(nz(settings.gateway_inflight))
        // Device events waiting for the gateway (while it reconnects, or
        // the database is away): beyond this the oldest wait in the
        // devices, which re-send what was not receipted.
        .max_mqueue_len(200_000)
        .handshake_timeout(Duration::from_secs(10))
        .session_expiry_interval(Duration::from_secs(3600))
        .message_expiry_interval(Duration::from_secs(3600))
        .bind()
        .map_err(|e| format!("gateway's listener on {gateway_addr}: {e}"))?
        .tcp()
        .map_err(|e| e.to_string())?;
    let server = MqttServer::new(scx.clone())
        .listener_by_id(devices, DEVICE_LISTENER)
        .listener_by_id(gateway, GATEWAY_LISTENER)
        .build();
    // Not `start()`: it ends the whole process if the server fails.
    tokio::spawn(async move {
        if let Err(e) = server.run().await {
            tracing::error!(error = %e, "the embedded broker stopped");
        }
    });
    // One count of open connections for both doors: the limits are the
    // process's descriptors, whichever way a device came in.
    let open = guard::Open::shared();
    let public = tokio::net::TcpListener::from_std(public).map_err(|e| e.to_string())?;
    tokio::spawn(guard::run(
        public,
        device_addr,
        limits,
        tally.clone(),
        open.clone(),
        None,
    ));
    if let Some((listener, config)) = tls_public {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
        tokio::spawn(guard::run(
            listener,
            device_addr,
            limits,
            tally.clone(),
            open,
            Some(tokio_rustls::TlsAcceptor::from(config)),
        ));
    }
    tokio::spawn(tally.log_every_interval());
    tokio::spawn(watch::run(scx, pool, sessions));
    Ok(gateway_addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_connections_stay_below_the_open_file_limit() {
        let s = BrokerSettings::new("127.0.0.1:0".parse().unwrap());
        assert_eq!(s.connections_for(1024), (1024 - 256) / 3);
        assert_eq!(s.connections_for(100), 0);
        assert_eq!(s.connections_for(1 << 20), 50_000);
    }
}
