//! Configuration: defaults, then an optional TOML file, then `HEMTID_*`
//! environment variables. One table ([`FIELDS`]) drives all three and
//! `hemtid print-config`.

mod fields;

pub use fields::FIELDS;

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The effective configuration, passed to the parts that need it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub http_addr: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub database_pool_size: u32,
    pub jwt_secret: Option<String>,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_seconds: i64,
    pub log: String,
    pub log_format: LogFormat,
    pub mqtt_url: Option<String>,
    pub mqtt_listen: String,
    /// Where the embedded broker accepts MQTT over TLS with the HTTPS
    /// certificate; unset: port 8883 on mqtt_listen's address when a
    /// certificate is configured; "off": none.
    pub mqtt_tls_listen: Option<String>,
    /// The CA certificates (PEM) an `mqtts://` broker's certificate must
    /// come from; unset: the public roots.
    pub mqtt_ca_file: Option<PathBuf>,
    pub mqtt_client_id: String,
    pub mqtt_share_group: Option<String>,
    /// Each gateway connection signs in with its client id as username
    /// (Mosquitto with `use_username_as_clientid` and `hemtid mqtt-acl`).
    pub mqtt_username_is_client_id: bool,
    /// Device messages stored in one transaction; 0 chooses by the
    /// database (see [`Config::gateway_batch_size`]).
    pub mqtt_batch_size: usize,
    /// Batches stored at once, each in its own transaction; 0 chooses by
    /// the database (see [`Config::gateway_lanes`]).
    pub mqtt_lanes: usize,
    /// Connections the gateway reads the broker on, in one shared
    /// subscription; 0 chooses by the broker (see
    /// [`Config::gateway_subscribers`]).
    pub mqtt_subscribers: usize,
    /// Device connections the embedded broker accepts at most (it also
    /// stays below the process's open-file limit).
    pub mqtt_max_connections: usize,
    /// Device connections the embedded broker accepts from one address.
    pub mqtt_max_connections_per_address: usize,
    /// Messages a device may publish per second on the embedded broker
    /// (ten seconds' worth at once); a faster one is read more slowly.
    pub mqtt_device_messages_per_second: u32,
    /// Seconds between full runs of the alert rules (changes are evaluated
    /// as they happen; the full run catches what time alone changes).
    pub evaluate_interval_seconds: u64,
    /// Reverse proxies (IP addresses, comma-separated) whose `Forwarded`
    /// or `X-Forwarded-For` name the client; empty: the peer is the client.
    pub trusted_proxies: String,
    /// PEM certificate chain and private key: with both, the HTTP address
    /// speaks HTTPS only (reloaded on SIGHUP).
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Where `/metrics` is served instead of the HTTP address (plain HTTP,
    /// for the scraper on a private network); unset: on the HTTP address.
    pub metrics_addr: Option<String>,
    /// Sign-in through municipalities' identity providers (OpenID
    /// Connect): `[[identity_provider]]` tables, in the file only.
    pub identity_provider: Vec<crate::auth::oidc::IdentityProviderConfig>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_addr: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_pool_size: 8,
            jwt_secret: None,
            access_token_ttl_seconds: 900,
            refresh_token_ttl_seconds: crate::auth::DEFAULT_REFRESH_TTL_SECONDS,
            log: "info".into(),
            log_format: LogFormat::Text,
            mqtt_url: None,
            mqtt_listen: "127.0.0.1:1883".into(),
            mqtt_tls_listen: None,
            mqtt_ca_file: None,
            mqtt_client_id: "hemtid-gateway".into(),
            mqtt_share_group: None,
            mqtt_username_is_client_id: false,
            mqtt_batch_size: 0,
            mqtt_lanes: 0,
            mqtt_subscribers: 0,
            mqtt_max_connections: 50_000,
            mqtt_max_connections_per_address: 1024,
            mqtt_device_messages_per_second: 50,
            evaluate_interval_seconds: 3600,
            trusted_proxies: String::new(),
            tls_cert_file: None,
            tls_key_file: None,
            metrics_addr: None,
            identity_provider: Vec::new(),
        }
    }
}

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parsing {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{var}: {message}")]
    Env { var: String, message: String },
}

/// The addresses of a `trusted_proxies` value.
pub fn parse_proxies(value: &str) -> Result<Vec<std::net::IpAddr>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().map_err(|_| format!("{x:?} is not an IP address")))
        .collect()
}

impl Config {
    /// The trusted reverse proxies (validated when set).
    pub fn proxies(&self) -> Vec<std::net::IpAddr> {
        parse_proxies(&self.trusted_proxies).unwrap_or_default()
    }

    /// Where serve would answer in the clear beyond this machine: the API
    /// on a public address without TLS and without a proxy named in front,
    /// the embedded broker's plain listener on one. One sentence each
    /// (legitimate on a private network, hence warnings, not refusals).
    pub fn exposure_warnings(&self) -> Vec<String> {
        let beyond = |addr: &str| {
            addr.parse::<std::net::SocketAddr>()
                .is_ok_and(|a| !a.ip().is_loopback())
        };
        let tls = self.tls_cert_file.is_some() && self.tls_key_file.is_some();
        let mut out = Vec::new();
        if !tls && self.trusted_proxies.is_empty() && beyond(&self.http_addr) {
            out.push(format!(
                "the API and the pages answer in the clear on {}: put a reverse proxy with TLS \
                 in front (and name it in trusted_proxies) or set tls_cert_file and tls_key_file",
                self.http_addr
            ));
        }
        if self.mqtt_url.is_none() && beyond(&self.mqtt_listen) {
            let tls_door = self.mqtt_tls_addr().ok().flatten();
            out.push(match tls_door {
                Some(t) => format!(
                    "devices reach the embedded broker in the clear on {} as well as over TLS \
                     on {t}: keep mqtt_listen on loopback or a private network",
                    self.mqtt_listen
                ),
                None => format!(
                    "devices reach the embedded broker in the clear on {}: set tls_cert_file \
                     and tls_key_file for MQTT over TLS, or keep it on a private network",
                    self.mqtt_listen
                ),
            });
        }
        out
    }
}

/// A whole number, at least 1.
fn at_least_one(value: &str) -> Result<usize, String> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| "expected a whole number, at least 1".to_string())
}

/// A whole number from 0 to `max`.
fn at_most(value: &str, max: usize) -> Result<usize, String> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| format!("expected a whole number, at most {max}"))
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment (`env`
    /// looks a variable up; pass `|k| std::env::var(k).ok()`).
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        for (key, var, _) in FIELDS {
            if let Some(value) = env(var) {
                config
                    .set(key, &value)
                    .map_err(|message| ConfigError::Env {
                        var: (*var).to_string(),
                        message,
                    })?;
            }
        }
        // A file's value is checked here (the environment's when set).
        parse_proxies(&config.trusted_proxies).map_err(|message| ConfigError::Env {
            var: "trusted_proxies".into(),
            message,
        })?;
        config.mqtt_tls_addr().map_err(|message| ConfigError::Env {
            var: "mqtt_tls_listen".into(),
            message,
        })?;
        if config.tls_cert_file.is_some() != config.tls_key_file.is_some() {
            return Err(ConfigError::Env {
                var: "tls_cert_file".into(),
                message: "HTTPS needs both tls_cert_file and tls_key_file".into(),
            });
        }
        Ok(config)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
        match key {
            "http_addr" => self.http_addr = value.to_string(),
            "data_dir" => self.data_dir = PathBuf::from(value),
            "database_url" => self.database_url = opt(value),
            "database_pool_size" => {
                self.database_pool_size = value
                    .parse()
                    .map_err(|_| "expected a whole number".to_string())?
            }
            "jwt_secret" => self.jwt_secret = opt(value),
            "access_token_ttl_seconds" => {
                self.access_token_ttl_seconds =
                    value.parse().map_err(|_| "expected seconds".to_string())?
            }
            "refresh_token_ttl_seconds" => {
                self.refresh_token_ttl_seconds =
                    value.parse().map_err(|_| "expected seconds".to_string())?
            }
            "log" => self.log = value.to_string(),
            "mqtt_url" => self.mqtt_url = opt(value),
            "mqtt_listen" => self.mqtt_listen = value.to_string(),
            "mqtt_tls_listen" => self.mqtt_tls_listen = opt(value),
            "mqtt_ca_file" => self.mqtt_ca_file = opt(value).map(PathBuf::from),
            "mqtt_client_id" => self.mqtt_client_id = value.to_string(),
            "mqtt_share_group" => self.mqtt_share_group = opt(value),
            "mqtt_username_is_client_id" => {
                self.mqtt_username_is_client_id = match value {
                    "true" | "1" => true,
                    "false" | "0" | "" => false,
                    _ => return Err("expected true or false".into()),
                }
            }
            "mqtt_batch_size" => {
                self.mqtt_batch_size = value
                    .parse()
                    .map_err(|_| "expected a whole number".to_string())?
            }
            "mqtt_lanes" => self.mqtt_lanes = at_most(value, 64)?,
            "mqtt_subscribers" => self.mqtt_subscribers = at_most(value, 16)?,
            "mqtt_max_connections" => self.mqtt_max_connections = at_least_one(value)?,
            "mqtt_max_connections_per_address" => {
                self.mqtt_max_connections_per_address = at_least_one(value)?
            }
            "mqtt_device_messages_per_second" => {
                self.mqtt_device_messages_per_second =
                    u32::try_from(at_least_one(value)?).map_err(|_| "too large".to_string())?
            }
            "trusted_proxies" => {
                parse_proxies(value)?;
                self.trusted_proxies = value.trim().to_string()
            }
            "tls_cert_file" => self.tls_cert_file = opt(value).map(PathBuf::from),
            "tls_key_file" => self.tls_key_file = opt(value).map(PathBuf::from),
            "metrics_addr" => self.metrics_addr = opt(value),
            "evaluate_interval_seconds" => {
                self.evaluate_interval_seconds = value
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| "expected seconds, at least 1".to_string())?
            }
            "log_format" => {
                self.log_format = match value {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => return Err("expected text or json".into()),
                }
            }
            _ => return Err(format!("unknown setting {key}")),
        }
        Ok(())
    }

    /// Where the embedded broker takes MQTT over TLS, if anywhere: the
    /// setting, or port 8883 on `mqtt_listen`'s address (port 0 there
    /// keeps 0: a free port) when a certificate is configured.
    pub fn mqtt_tls_addr(&self) -> Result<Option<std::net::SocketAddr>, String> {
        let certificate = self.tls_cert_file.is_some() && self.tls_key_file.is_some();
        match self.mqtt_tls_listen.as_deref() {
            Some("off") => Ok(None),
            Some(a) => {
                if !certificate {
                    return Err(
                        "MQTT over TLS needs tls_cert_file and tls_key_file (or set it \"off\")"
                            .into(),
                    );
                }
                a.parse()
                    .map(Some)
                    .map_err(|_| format!("not an address: {a}"))
            }
            None if certificate => {
                let plain: std::net::SocketAddr = self
                    .mqtt_listen
                    .parse()
                    .map_err(|_| format!("mqtt_listen is not an address: {}", self.mqtt_listen))?;
                let port = if plain.port() == 0 { 0 } else { 8883 };
                Ok(Some(std::net::SocketAddr::new(plain.ip(), port)))
            }
            None => Ok(None),
        }
    }

    /// `HEMTID_DATABASE_URL`, or the SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}",
                self.data_dir.join("hemtid.sqlite3").display()
            ),
        }
    }

    /// Connections the gateway reads the broker on: one on the embedded
    /// broker (it sends the gateway up to 4,096 unacknowledged messages,
    /// and has no shared subscriptions: one process, one gateway); on an
    /// external one `mqtt_subscribers`, else one (a broker's limit per
    /// connection is its own setting: Mosquitto's `max_inflight_messages`,
    /// EMQX's `max_inflight`).
    pub fn gateway_subscribers(&self) -> usize {
        match self.mqtt_subscribers {
            _ if self.mqtt_url.is_none() => 1,
            0 => 1,
            n => n,
        }
    }

    /// Device messages the gateway stores per transaction:
    /// `mqtt_batch_size`, or by the database: 256 on PostgreSQL, whose four
    /// lanes take up to 1,024 at once, and 1,024 in SQLite's one lane. A
    /// round of the gateway then takes as much on either backend; on
    /// SQLite the larger transaction writes each index page and syncs
    /// once for four times the messages (20 % less CPU per event in the
    /// ingest benchmark, 7,000 to 8,800 events/s, 5 December).
    pub fn gateway_batch_size(&self) -> usize {
        match self.mqtt_batch_size {
            0 if self.database_url().starts_with("sqlite://") => 1024,
            0 => 256,
            n => n,
        }
    }

    /// Batches the gateway stores at once: `mqtt_lanes`, or by the
    /// database: PostgreSQL waits on round trips, so four connections at
    /// once do more; SQLite has one writer, so more would only queue.
    pub fn gateway_lanes(&self) -> usize {
        match self.mqtt_lanes {
            0 if self.database_url().starts_with("sqlite://") => 1,
            0 => 4,
            n => n,
        }
    }

    fn value_toml(&self, key: &str) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        match key {
            "http_addr" => q(&self.http_addr),
            "data_dir" => q(&self.data_dir.to_string_lossy()),
            "database_url" => match &self.database_url {
                Some(u) => q(&redact(u)),
                None => format!("# unset: {}", q(&self.database_url())),
            },
            "database_pool_size" => self.database_pool_size.to_string(),
            "jwt_secret" => match self.jwt_secret {
                Some(_) => "# set, hidden".into(),
                None => "# unset: generated in the data folder".into(),
            },
            "access_token_ttl_seconds" => self.access_token_ttl_seconds.to_string(),
            "refresh_token_ttl_seconds" => self.refresh_token_ttl_seconds.to_string(),
            "log" => q(&self.log),
            "mqtt_url" => match &self.mqtt_url {
                Some(u) => q(&redact_userinfo(u)),
                None => "# unset: the embedded broker".into(),
            },
            "mqtt_listen" => q(&self.mqtt_listen),
            "mqtt_tls_listen" => match &self.mqtt_tls_listen {
                Some(a) => q(a),
                None => "# unset: port 8883 on mqtt_listen's address with a TLS certificate".into(),
            },
            "mqtt_ca_file" => match &self.mqtt_ca_file {
                Some(p) => q(&p.to_string_lossy()),
                None => "# unset: the public roots for an mqtts:// broker".into(),
            },
            "mqtt_client_id" => q(&self.mqtt_client_id),
            "mqtt_share_group" => match &self.mqtt_share_group {
                Some(g) => q(g),
                None => "# unset: no shared subscription".into(),
            },
            "mqtt_username_is_client_id" => self.mqtt_username_is_client_id.to_string(),
            "mqtt_batch_size" => self.mqtt_batch_size.to_string(),
            "mqtt_lanes" => self.mqtt_lanes.to_string(),
            "mqtt_subscribers" => self.mqtt_subscribers.to_string(),
            "mqtt_max_connections" => self.mqtt_max_connections.to_string(),
            "mqtt_max_connections_per_address" => self.mqtt_max_connections_per_address.to_string(),
            "mqtt_device_messages_per_second" => self.mqtt_device_messages_per_second.to_string(),
            "evaluate_interval_seconds" => self.evaluate_interval_seconds.to_string(),
            "trusted_proxies" => q(&self.trusted_proxies),
            "tls_cert_file" => match &self.tls_cert_file {
                Some(p) => q(&p.to_string_lossy()),
                None => "# unset: plain HTTP".into(),
            },
            "tls_key_file" => match &self.tls_key_file {
                Some(p) => q(&p.to_string_lossy()),
                None => "# unset".into(),
            },
            "metrics_addr" => match &self.metrics_addr {
                Some(a) => q(a),
                None => "# unset: /metrics on http_addr".into(),
            },
            "log_format" => q(match self.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            }),
            _ => String::new(),
        }
    }

    /// The effective configuration as commented TOML (secrets hidden).
    pub fn to_commented_toml(&self) -> String {
        let mut out =
            String::from("# hemtid: effective configuration (defaults < file < environment)\n");
        for (key, var, doc) in FIELDS {
            let value = self.value_toml(key);
            out.push_str(&format!("\n# {doc}\n# env: {var}\n"));
            if let Some(default) = value.strip_prefix("# unset: ") {
                out.push_str(&format!("# {key} = {default}\n"));
            } else if let Some(note) = value.strip_prefix("# ") {
                out.push_str(&format!("# {key}: {note}\n"));
            } else {
                out.push_str(&format!("{key} = {value}\n"));
            }
        }
        out.push_str(&format!(
            "\n# Identity providers (OpenID Connect), one [[identity_provider]] table per\n\
             # municipality, file only (README: Sign-in through the municipality's\n\
             # identity provider): {} configured{}\n",
            self.identity_provider.len(),
            self.identity_provider
                .iter()
                .map(|p| format!(", {} at {}", p.municipality, p.issuer))
                .collect::<String>()
        ));
        out
    }
}

/// `scheme://user:password@host` without the password.
fn redact_userinfo(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((before, host))) => {
            let userinfo = before.split_once("://").map_or(before, |(_, u)| u);
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

fn redact(url: &str) -> String {
    crate::db::DatabaseUrl::parse(url).map_or_else(|_| url.to_string(), |u| u.redacted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn layers_defaults_file_and_environment() {
        let dir = std::env::temp_dir().join(format!("hemtid-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hemtid.toml");
        std::fs::write(
            &file,
            "http_addr = \"0.0.0.0:9000\"\ndata_dir = \"/var/lib/hemtid\"\nlog = \"debug\"\n",
        )
        .unwrap();
        let env: HashMap<&str, &str> =
            [("HEMTID_LOG", "warn"), ("HEMTID_DATABASE_POOL_SIZE", "3")].into();
        let c = Config::load(Some(&file), |k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.http_addr, "0.0.0.0:9000"); // file
        assert_eq!(c.log, "warn"); // env beats file
        assert_eq!(c.database_pool_size, 3);
        assert_eq!(c.access_token_ttl_seconds, 900); // default
        assert_eq!(c.database_url(), "sqlite:///var/lib/hemtid/hemtid.sqlite3");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The Debian package's /etc/hemtid/hemtid.toml loads as it is and
    /// with every commented example setting switched on (so none of them
    /// is misspelled).
    #[test]
    fn the_packaged_configuration_loads_with_and_without_its_examples() {
        let text = include_str!("../../../packaging/deb/hemtid.toml");
        let dir = std::env::temp_dir().join(format!("hemtid-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hemtid.toml");
        std::fs::write(&file, text).unwrap();
        let c = Config::load(Some(&file), |_| None).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/hemtid"));
        assert_eq!(c.http_addr, "127.0.0.1:8080");
        assert!(c.tls_cert_file.is_none() && c.identity_provider.is_empty());
        assert_eq!(c.proxies().len(), 2);
        // "# key = value" and "# [[table]]" lines are examples; the
        // rest of the comments are prose.
        let examples: String = text
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with("[[")
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                        }) =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&file, &examples).unwrap();
        let c = Config::load(Some(&file), |_| None).unwrap();
        assert!(c.database_url().starts_with("postgres://"));
        assert!(c.tls_cert_file.is_some() && c.metrics_addr.is_some() && c.mqtt_url.is_some());
        assert_eq!(c.identity_provider.len(), 1);
        assert_eq!(c.identity_provider[0].municipality, "0123");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn listeners_in_the_clear_beyond_loopback_are_warned_of() {
        let load = |pairs: &[(&str, &str)]| {
            let env: HashMap<&str, &str> = pairs.iter().copied().collect();
            Config::load(None, |k| env.get(k).map(|v| v.to_string())).unwrap()
        };
        // The defaults: loopback only.
        assert!(load(&[]).exposure_warnings().is_empty());
        let open = [
            ("HEMTID_HTTP_ADDR", "0.0.0.0:8080"),
            ("HEMTID_MQTT_LISTEN", "0.0.0.0:1883"),
        ];
        let w = load(&open).exposure_warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("0.0.0.0:8080") && w[1].contains("0.0.0.0:1883"));
        // A proxy named in front, TLS on the API: only the broker's plain
        // door is left to mention, with the TLS door beside it.
        let mut behind = open.to_vec();
        behind.push(("HEMTID_TRUSTED_PROXIES", "10.0.0.5"));
        assert_eq!(load(&behind).exposure_warnings().len(), 1);
        let mut tls = open.to_vec();
        tls.push(("HEMTID_TLS_CERT_FILE", "/c.pem"));
        tls.push(("HEMTID_TLS_KEY_FILE", "/k.pem"));
        let w = load(&tls).exposure_warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("0.0.0.0:8883"), "{w:?}");
        // An external broker: the embedded one's listener is not opened.
        let mut external = tls.clone();
        external.push(("HEMTID_MQTT_URL", "mqtts://broker:8883"));
        assert!(load(&external).exposure_warnings().is_empty());
    }

    #[test]
    fn mqtt_over_tls_follows_the_certificate_unless_set() {
        let load = |pairs: &[(&str, &str)]| {
            let env: HashMap<&str, &str> = pairs.iter().copied().collect();
            Config::load(None, |k| env.get(k).map(|v| v.to_string()))
        };
        let cert = [
            ("HEMTID_TLS_CERT_FILE", "/etc/hemtid/cert.pem"),
            ("HEMTID_TLS_KEY_FILE", "/etc/hemtid/key.pem"),
        ];
        assert_eq!(load(&[]).unwrap().mqtt_tls_addr().unwrap(), None);
        let c = load(&cert).unwrap();
        assert_eq!(
            c.mqtt_tls_addr().unwrap(),
            Some("127.0.0.1:8883".parse().unwrap())
        );
        let mut any = cert.to_vec();
        any.push(("HEMTID_MQTT_LISTEN", "0.0.0.0:0"));
        assert_eq!(
            load(&any).unwrap().mqtt_tls_addr().unwrap(),
            Some("0.0.0.0:0".parse().unwrap())
        );
        let mut off = cert.to_vec();
        off.push(("HEMTID_MQTT_TLS_LISTEN", "off"));
        assert_eq!(load(&off).unwrap().mqtt_tls_addr().unwrap(), None);
        let mut set = cert.to_vec();
        set.push(("HEMTID_MQTT_TLS_LISTEN", "0.0.0.0:9883"));
        assert_eq!(
            load(&set).unwrap().mqtt_tls_addr().unwrap(),
            Some("0.0.0.0:9883".parse().unwrap())
        );
        // A TLS listener without a certificate is refused at start.
        let err = load(&[("HEMTID_MQTT_TLS_LISTEN", "0.0.0.0:8883")]).unwrap_err();
        assert!(err.to_string().contains("mqtt_tls_listen"), "{err}");
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        let dir = std::env::temp_dir().join(format!("hemtid-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.toml");
        std::fs::write(&file, "http_adr = \"x\"\n").unwrap();
        assert!(matches!(
            Config::load(Some(&file), |_| None),
            Err(ConfigError::Parse { .. })
        ));
        let err =
            Config::load(None, |k| (k == "HEMTID_LOG_FORMAT").then(|| "xml".into())).unwrap_err();
        assert!(err.to_string().contains("HEMTID_LOG_FORMAT"));
        // Trusted proxies are addresses, from the environment or a file.
        let err = Config::load(None, |k| {
            (k == "HEMTID_TRUSTED_PROXIES").then(|| "10.0.0.1, proxy.example".into())
        })
        .unwrap_err();
        assert!(err.to_string().contains("proxy.example"), "{err}");
        std::fs::write(&file, "trusted_proxies = \"10.0.0.1,nope\"\n").unwrap();
        assert!(Config::load(Some(&file), |_| None).is_err());
        let ok = Config::load(None, |k| {
            (k == "HEMTID_TRUSTED_PROXIES").then(|| "10.0.0.1, ::1".into())
        })
        .unwrap();
        assert_eq!(ok.proxies().len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gateway_lanes_and_connections_follow_their_backends_unless_set() {
        let load = |vars: &[(&str, &str)]| {
            let env: HashMap<&str, &str> = vars.iter().copied().collect();
            Config::load(None, |k| env.get(k).map(|v| v.to_string()))
        };
        assert_eq!(load(&[]).unwrap().gateway_lanes(), 1);
        let pg = ("HEMTID_DATABASE_URL", "postgres://h/db");
        assert_eq!(load(&[pg]).unwrap().gateway_lanes(), 4);
        // A round takes up to 1,024 messages on either backend.
        assert_eq!(load(&[]).unwrap().gateway_batch_size(), 1024);
        assert_eq!(load(&[pg]).unwrap().gateway_batch_size(), 256);
        assert_eq!(
            load(&[pg, ("HEMTID_MQTT_BATCH_SIZE", "50")])
                .unwrap()
                .gateway_batch_size(),
            50
        );
        assert_eq!(
            load(&[pg, ("HEMTID_MQTT_LANES", "2")])
                .unwrap()
                .gateway_lanes(),
            2
        );
        let err = load(&[("HEMTID_MQTT_LANES", "100")]).unwrap_err();
        assert!(err.to_string().contains("HEMTID_MQTT_LANES"), "{err}");
        // One subscriber connection on the embedded broker; on an external
        // one as set.
        assert_eq!(load(&[]).unwrap().gateway_subscribers(), 1);
        assert_eq!(
            load(&[("HEMTID_MQTT_SUBSCRIBERS", "3")])
                .unwrap()
                .gateway_subscribers(),
            1
        );
        let external = ("HEMTID_MQTT_URL", "mqtt://broker:1883");
        assert_eq!(load(&[external]).unwrap().gateway_subscribers(), 1);
        assert_eq!(
            load(&[external, ("HEMTID_MQTT_SUBSCRIBERS", "3")])
                .unwrap()
                .gateway_subscribers(),
            3
        );
        let err = load(&[("HEMTID_MQTT_SUBSCRIBERS", "17")]).unwrap_err();
        assert!(err.to_string().contains("HEMTID_MQTT_SUBSCRIBERS"), "{err}");
    }

    #[test]
    fn print_config_hides_secrets_and_documents_every_field() {
        let c = Config {
            jwt_secret: Some("super-secret-value".into()),
            database_url: Some("postgres://app:pw@db/hemtid".into()),
            ..Config::default()
        };
        let text = c.to_commented_toml();
        assert!(!text.contains("super-secret-value"));
        assert!(!text.contains(":pw@"));
        for (key, var, _) in FIELDS {
            assert!(text.contains(key) && text.contains(var), "{key}");
        }
        // What it prints parses back.
        let parsed: Config = toml::from_str(&text).unwrap();
        assert_eq!(parsed.http_addr, c.http_addr);
        assert_eq!(parsed.jwt_secret, None);
    }
}
