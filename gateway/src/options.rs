//! How the gateway reaches its broker.

use crate::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Connection and batching settings of one gateway.
#[derive(Clone)]
pub struct GatewayOptions {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Stable across restarts: the broker keeps the session (clean session
    /// off) and redelivers what was not acknowledged.
    pub client_id: String,
    /// Subscribe through `$share/<group>/…` so several gateways split devices.
    pub share_group: Option<String>,
    /// Messages committed together; the broker's inflight limit must allow it.
    pub batch_size: usize,
    /// Batches stored at once, each in its own transaction on its own
    /// connection; the messages of one staff credential or digital key
    /// always go to the same one.
    pub lanes: usize,
    /// Connections the gateway reads events on, in one shared subscription
    /// (`$share/<share_group or client_id>/…`). A broker sends each
    /// connection only so many unacknowledged messages (rumqttd: 100), and
    /// a batch can hold no more than are unacknowledged at once.
    pub subscribers: usize,
    /// Subscribe with a persistent session, so the broker redelivers what
    /// was not acknowledged after a reconnect. Off for the embedded broker
    /// when it has several subscribers: it keeps nothing across a restart
    /// anyway, and rumqttd 0.20 panics when the last member of a shared
    /// group with a persistent session leaves with messages unacknowledged.
    pub persistent: bool,
    pub keep_alive: Duration,
    /// Each connection signs in with its client id as username (and the
    /// URL's password): for a Mosquitto run with `use_username_as_clientid`
    /// and the files `hemtid mqtt-acl` writes.
    pub username_is_client_id: bool,
    /// The key the locks' configurations are signed with (the one they
    /// pinned at enrolment); without it no configuration is published.
    pub lock_keys: Option<hemtid_core::auth::lock_keys::LockKeys>,
    /// MQTT over TLS (`mqtts://`): the client side, checking the broker's
    /// certificate and name against the roots in it.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for GatewayOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("client_id", &self.client_id)
            .field("share_group", &self.share_group)
            .field("batch_size", &self.batch_size)
            .field("lanes", &self.lanes)
            .field("subscribers", &self.subscribers)
            .field("persistent", &self.persistent)
            .field("username_is_client_id", &self.username_is_client_id)
            .field("lock_keys", &self.lock_keys)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// The broker URL could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("expected mqtt://[user[:password]@]host[:port] or mqtts://…, got {0}")]
pub struct InvalidMqttUrl(pub String);

impl GatewayOptions {
    /// Options for a broker at `host:port`, without credentials, with the
    /// defaults.
    pub fn new(host: &str, port: u16, client_id: &str) -> GatewayOptions {
        GatewayOptions {
            host: host.to_string(),
            port,
            username: None,
            password: None,
            client_id: client_id.to_string(),
            share_group: None,
            batch_size: 256,
            lanes: 1,
            subscribers: 1,
            persistent: true,
            keep_alive: Duration::from_secs(30),
            username_is_client_id: false,
            lock_keys: None,
            tls: None,
        }
    }

    /// Checks the broker's certificate against the CA certificates in
    /// `ca_file` (PEM) instead of the public roots.
    pub fn trust_only(&mut self, ca_file: &Path) -> Result<(), Error> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let bad = |reason: String| Error::CaFile {
            path: ca_file.to_path_buf(),
            reason,
        };
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(ca_file).map_err(|e| bad(e.to_string()))?;
        for cert in certs {
            let cert = cert.map_err(|e| bad(e.to_string()))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("no certificate in it".into()));
        }
        self.tls = Some(client_config(roots)?);
        Ok(())
    }

    /// Parses `mqtt://[user[:password]@]host[:port]` (port 1883 by default).
    pub fn from_url(url: &str, client_id: &str) -> Result<GatewayOptions, InvalidMqttUrl> {
        let bad = || InvalidMqttUrl(redact(url));
        let (rest, tls) = match url.split_once("://") {
            Some(("mqtt" | "tcp", rest)) => (rest, false),
            Some(("mqtts" | "ssl", rest)) => (rest, true),
            _ => return Err(bad()),
        };
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (username, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(user.to_string()), Some(pass.to_string())),
                None => (Some(u.to_string()), None),
            },
            None => (None, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| bad())?),
            None => (hostport, if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() {
            return Err(bad());
        }
        let mut o = GatewayOptions::new(host, port, client_id);
        o.username = username;
        o.password = password;
        if tls {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            o.tls = Some(client_config(roots).map_err(|_| bad())?);
        }
        Ok(o)
    }

    /// The subscription filter, shared when a group is set or the gateway
    /// reads on several connections.
    pub fn filter(&self) -> String {
        match (&self.share_group, self.subscribers > 1) {
            (Some(g), _) => format!("$share/{g}/{}", crate::EVENTS_TOPIC_FILTER),
            (None, true) => format!("$share/{}/{}", self.client_id, crate::EVENTS_TOPIC_FILTER),
            (None, false) => crate::EVENTS_TOPIC_FILTER.to_string(),
        }
    }

    /// Options for a connection as `client_id` to this broker, with the
    /// credentials and keep-alive: each connection adds its own settings.
    pub fn mqtt_options(&self, client_id: &str) -> rumqttc::MqttOptions {
        let mut mqtt = rumqttc::MqttOptions::new(client_id, &self.host, self.port);
        mqtt.set_keep_alive(self.keep_alive);
        let user = match self.username_is_client_id {
            true => Some(client_id.to_string()),
            false => self.username.clone(),
        };
        if let Some(user) = user {
            mqtt.set_credentials(user, self.password.clone().unwrap_or_default());
        }
        if let Some(tls) = &self.tls {
            mqtt.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(tls.clone()),
            ));
        }
        mqtt
    }

    /// The client id of subscriber connection `i`: the gateway's own for
    /// the first, so a single-connection gateway keeps its session.
    pub fn subscriber_id(&self, i: usize) -> String {
        match i {
            0 => self.client_id.clone(),
            i => format!("{}-{i}", self.client_id),
        }
    }
}

/// TLS 1.2 and 1.3 with ring (the provider in the tree) trusting `roots`.
fn client_config(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, Error> {
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    ))
}

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, rest)), Some(_)) => {
            let (userinfo, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_broker_urls() {
        let o = GatewayOptions::from_url("mqtt://gw:s3cret@broker.example:8883", "gw-1").unwrap();
        assert_eq!((o.host.as_str(), o.port), ("broker.example", 8883));
        assert_eq!(
            (o.username.as_deref(), o.password.as_deref()),
            (Some("gw"), Some("s3cret"))
        );
        let o = GatewayOptions::from_url("mqtt://127.0.0.1", "gw").unwrap();
        assert_eq!(o.port, 1883);
        assert!(o.username.is_none());
        assert!(o.tls.is_none());
        // MQTT over TLS: port 8883 unless given, the public roots until a
        // CA file is named.
        let o = GatewayOptions::from_url("mqtts://gw:pw@broker.kommun.se", "gw").unwrap();
        assert_eq!((o.host.as_str(), o.port), ("broker.kommun.se", 8883));
        assert!(o.tls.is_some());
        let o = GatewayOptions::from_url("ssl://broker:9883", "gw").unwrap();
        assert_eq!(o.port, 9883);
        assert!(o.tls.is_some());
        assert!(GatewayOptions::from_url("http://x", "gw").is_err());
        assert!(GatewayOptions::from_url("mqtt://:1883", "gw").is_err());
        assert!(!format!("{o:?}").contains("s3cret"));
        assert_eq!(redact("mqtt://gw:s3cret@b:1"), "mqtt://gw:***@b:1");
    }

    #[test]
    fn shared_subscriptions_use_the_group() {
        let mut o = GatewayOptions::from_url("mqtt://b", "gw").unwrap();
        assert_eq!(o.filter(), "hemtid/v1/devices/+/events");
        o.share_group = Some("hemtid".into());
        assert_eq!(o.filter(), "$share/hemtid/hemtid/v1/devices/+/events");
        o.subscribers = 4;
        assert_eq!(o.filter(), "$share/hemtid/hemtid/v1/devices/+/events");
    }

    #[test]
    fn several_subscribers_share_one_subscription() {
        let mut o = GatewayOptions::from_url("mqtt://b", "gw").unwrap();
        o.subscribers = 3;
        assert_eq!(o.filter(), "$share/gw/hemtid/v1/devices/+/events");
        let ids: Vec<String> = (0..3).map(|i| o.subscriber_id(i)).collect();
        assert_eq!(ids, ["gw", "gw-1", "gw-2"]);
    }
}
