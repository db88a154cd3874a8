//! What the end-to-end tests share: a temporary data folder, a running
//! `hemtid serve`, HTTP requests.
#![allow(dead_code)] // each test binary uses part of it

pub mod idp;

use hemtid_core::db::testing::TestDb;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_hemtid");

/// This month as Stockholm counts months, by the (possibly faked) clock:
/// the demo's orders and visits are dated from it.
pub fn this_month() -> hemtid_core::domain::YearMonth {
    hemtid_core::domain::YearMonth::of(hemtid_core::domain::local_date(
        chrono::Utc::now(),
        hemtid_core::domain::STOCKHOLM,
    ))
}

/// A temporary data folder.
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn new() -> DataDir {
        let d = std::env::temp_dir().join(format!("hemtid-e2e-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        DataDir(d)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn hemtid(db: &TestDb, data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HEMTID_DATA_DIR", data)
        .env("HEMTID_DATABASE_URL", db.url())
        .env("HEMTID_LOG", "warn");
    // A run under libfaketime (`.ci/run`'s calendar runs) keeps its clock
    // in the processes it starts.
    for k in FAKETIME_VARS {
        if let Some(v) = std::env::var_os(k) {
            c.env(k, v);
        }
    }
    c
}

/// What `faketime` sets: the library and the time it fakes.
const FAKETIME_VARS: [&str; 4] = [
    "LD_PRELOAD",
    "FAKETIME",
    "FAKETIME_DONT_FAKE_MONOTONIC",
    "TZ",
];

/// A running `hemtid serve`; killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// What it printed before its address (the broker's address, demo logins).
    pub printed: Vec<String>,
    /// Kept so the reader thread keeps draining the child's stdout.
    _stdout: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(db: &TestDb, data: &Path, args: &[&str]) -> Server {
        Server::start_with(db, data, args, &[])
    }

    /// Like [`Server::start`], with extra environment (which wins).
    pub fn start_with(db: &TestDb, data: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = hemtid(db, data);
        cmd.arg("serve")
            .args(args)
            .env("HEMTID_HTTP_ADDR", "127.0.0.1:0")
            .env("HEMTID_MQTT_LISTEN", "127.0.0.1:0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stderr(Stdio::inherit());
        Server::spawn(cmd)
    }

    /// `hemtid serve` with its log (stderr) written to `log`, under an
    /// open-file limit (soft and hard) of `open_files` if given (`prlimit`).
    pub fn start_logged(
        db: &TestDb,
        data: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        log: &Path,
        open_files: Option<u64>,
    ) -> Server {
        let inner = {
            let mut c = hemtid(db, data);
            c.arg("serve")
                .args(args)
                .env("HEMTID_HTTP_ADDR", "127.0.0.1:0")
                .env("HEMTID_MQTT_LISTEN", "127.0.0.1:0");
            for (k, v) in env {
                c.env(k, v);
            }
            c
        };
        let mut cmd = match open_files {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}"))
                    .arg("--")
                    .arg(inner.get_program())
                    .args(inner.get_args());
                c.env_clear();
                for (k, v) in inner.get_envs() {
                    if let Some(v) = v {
                        c.env(k, v);
                    }
                }
                c
            }
            None => inner,
        };
        cmd.stderr(Stdio::from(std::fs::File::create(log).unwrap()));
        Server::spawn(cmd)
    }

    // The child is waited for in `Drop` (and the panics below end the test).
    #[allow(clippy::zombie_processes)]
    fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // `--demo` records its visits before listening: 55-75 s on the
        // debug build over PostgreSQL with TLS on a 2-core machine.
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut printed = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no address printed; got {printed:?}"));
            if let Some(base) = line.strip_prefix("hemtid listening on ") {
                return Server {
                    child,
                    base: base.to_string(),
                    printed,
                    _stdout: rx,
                };
            }
            printed.push(line);
        }
    }

    /// Polls `/readyz` until it answers 200 (the database answers and the
    /// gateway has subscribed) or `seconds` pass: its last status and body.
    pub fn wait_ready(&self, seconds: u64) -> (u16, Value) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let (status, _, body) = request("GET", &self.url("/readyz"), None, None);
            if status == 200 || Instant::now() > deadline {
                return (status, body);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The embedded broker's `(host, port)`, from what `serve` printed.
    pub fn broker(&self) -> Option<(String, u16)> {
        self.printed.iter().find_map(|l| {
            let addr = l.strip_prefix("hemtid MQTT broker on mqtt://")?;
            let (host, port) = addr.rsplit_once(':')?;
            Some((host.to_string(), port.parse().ok()?))
        })
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "hemtid did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (status, content type, JSON body or Null).
pub fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut req = ureq::request(method, url).timeout(Duration::from_secs(30));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let result = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let ct = resp.content_type().to_string();
    let text = resp.into_string().unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, ct, body)
}

pub fn login(s: &Server, username: &str, password: &str) -> String {
    let (status, _, body) = request(
        "POST",
        &s.url("/api/v1/auth/login"),
        None,
        Some(json!({"username": username, "password": password})),
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}
