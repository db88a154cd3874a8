//! A real OpenID provider for the tests: `tests/oidc/provider.mjs`, the
//! certified npm package `oidc-provider` run by Node (install it with
//! `npm ci --prefix tests/oidc`). Every login is accepted; the
//! authorization request's `login_hint` logs that person in without a page.

use super::{Server, request};
use hemtid_core::db::testing::TestDb;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The client hemtid is at the test provider.
pub const CLIENT_ID: &str = "hemtid";
pub const CLIENT_SECRET: &str = "test-client-secret";
/// The phone app's redirect URI (RFC 8252 private-use scheme).
pub const APP_REDIRECT: &str = "se.hemtid.app:/oidc";

/// The demo municipality, whose provider the tests configure.
pub const MUNICIPALITY: &str = hemtid_core::seed::DEMO_MUNICIPALITY_CODE;

/// A running provider; stopped on drop.
pub struct Idp {
    child: Child,
    pub issuer: String,
    pub port: u16,
    _dir: super::DataDir,
}

impl Idp {
    /// Starts the provider on `port` (0: a free one) with hemtid's client
    /// (a native client: the app's scheme and loopback web redirects of
    /// any port), `others` more clients and `claims` per login.
    pub fn start(port: u16, others: Value, claims: Value) -> Idp {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        assert!(
            root.join("node_modules/oidc-provider").is_dir(),
            "the test OpenID provider is not installed: npm ci --prefix tests/oidc"
        );
        let mut clients = vec![json!({
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "application_type": "native",
            "redirect_uris": ["http://127.0.0.1/inloggning", APP_REDIRECT],
        })];
        clients.extend(others.as_array().cloned().unwrap_or_default());
        let dir = super::DataDir::new();
        let config = dir.0.join("idp.json");
        std::fs::write(
            &config,
            json!({"port": port, "clients": clients, "claims": claims}).to_string(),
        )
        .unwrap();
        let node = std::env::var("HEMTID_NODE").unwrap_or_else(|_| "node".into());
        let log = dir.0.join("provider.log");
        // Once in a few hundred starts under a loaded CI machine the
        // provider listened and never got to its handshake line (its
        // stderr went nowhere then, so why is not known): give each start
        // a deadline, keep what it said, and start it again.
        let mut said = String::new();
        for attempt in 1..=3 {
            let mut child = Command::new(&node)
                .arg(root.join("provider.mjs"))
                .arg(&config)
                .stdout(Stdio::piped())
                .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
                .spawn()
                .unwrap_or_else(|e| panic!("{node}: {e} (Node 20.18 or newer is needed)"));
            let out = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(out).read_line(&mut line);
                let _ = tx.send(line);
            });
            let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
            if let Some(issuer) = line.trim().strip_prefix("listening ") {
                let issuer = issuer.to_string();
                let port = url::Url::parse(&issuer).unwrap().port().unwrap();
                return Idp {
                    child,
                    issuer,
                    port,
                    _dir: dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            said = std::fs::read_to_string(&log).unwrap_or_default();
            eprintln!(
                "the test OpenID provider did not start (attempt {attempt}): {line:?}; it said: {said}"
            );
        }
        panic!("the test OpenID provider did not start in three attempts; it said: {said}");
    }

    /// The key ids the provider publishes now.
    pub fn kids(&self) -> Vec<String> {
        let jwks: Value = ureq::get(&format!("{}/jwks", self.issuer))
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }

    /// Stops it; its port is free again when this returns.
    pub fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a browser does from `url` on: follows the redirects, keeping the
/// provider's cookies, until one goes to `until` (the redirect URI);
/// answers that redirect's query parameters.
pub fn follow(url: &str, until: &str) -> BTreeMap<String, String> {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(20))
        .build();
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let mut at = url::Url::parse(url).unwrap();
    for _ in 0..20 {
        let header = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let resp = match agent.get(at.as_str()).set("Cookie", &header).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(code, r)) => {
                panic!("{at}: {code} {}", r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("{at}: {e}"),
        };
        for c in resp.all("set-cookie") {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                cookies.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let status = resp.status();
        assert!(
            (300..400).contains(&status),
            "{at}: {status} where a redirect was expected"
        );
        let location = resp.header("location").unwrap().to_string();
        if location.starts_with(until) {
            let back = url::Url::parse(&location).unwrap();
            return back.query_pairs().into_owned().collect();
        }
        at = at.join(&location).unwrap();
    }
    panic!("no redirect to {until} within 20 steps");
}

/// A URL with `login_hint=<login>` added: the provider logs her in.
pub fn as_person(url: &str, login: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.query_pairs_mut().append_pair("login_hint", login);
    u.into()
}

/// A free port for hemtid's HTTP address, which the provider's redirect
/// URI must name before hemtid starts: below Linux's ephemeral range
/// (32768-60999), where another process's outgoing connection could take
/// it before hemtid binds it.
pub fn free_port() -> u16 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize;
    (0..12_000)
        .map(|i| 20_000 + ((seed + i * 7919) % 12_000) as u16)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .unwrap()
}

/// hemtid's `[[identity_provider]]` for the demo municipality.
pub fn hemtid_config(data: &std::path::Path, idp: &Idp, http_port: u16, passwords: bool) -> String {
    let path = data.join("hemtid.toml");
    std::fs::write(
        &path,
        format!(
            "[[identity_provider]]\n\
             municipality = \"{MUNICIPALITY}\"\n\
             issuer = \"{}\"\n\
             client_id = \"{CLIENT_ID}\"\n\
             client_secret = \"{CLIENT_SECRET}\"\n\
             claim = \"hsa_id\"\n\
             label = \"Logga in med SITHS\"\n\
             web_redirect_uri = \"http://127.0.0.1:{http_port}/inloggning\"\n\
             app_redirect_uri = \"{APP_REDIRECT}\"\n\
             password_login = {passwords}\n",
            idp.issuer
        ),
    )
    .unwrap();
    path.display().to_string()
}

pub fn start_hemtid(db: &TestDb, data: &std::path::Path, idp: &Idp, passwords: bool) -> Server {
    let port = free_port();
    let config = hemtid_config(data, idp, port, passwords);
    let addr = format!("127.0.0.1:{port}");
    Server::start_with(
        db,
        data,
        &["--demo"],
        &[("HEMTID_CONFIG", &config), ("HEMTID_HTTP_ADDR", &addr)],
    )
}

/// The admin gives `username` the provider's id `external_id`.
pub fn link(s: &Server, admin: &str, username: &str, external_id: &str) -> String {
    let (_, _, users) = request("GET", &s.url("/api/v1/users"), Some(admin), None);
    let u = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("no {username}"))
        .clone();
    let id = u["id"].as_str().unwrap().to_string();
    let mut body = json!({
        "username": u["username"], "display_name": u["display_name"], "role": u["role"],
        "active": u["active"], "external_id": external_id,
    });
    for k in ["provider_id", "authority_unit_id"] {
        if !u[k].is_null() {
            body[k] = u[k].clone();
        }
    }
    let (status, _, after) = request(
        "PUT",
        &s.url(&format!("/api/v1/users/{id}")),
        Some(admin),
        Some(body),
    );
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["external_id"], external_id);
    id
}
