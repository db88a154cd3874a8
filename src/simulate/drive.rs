//! Driving the simulated day through the real paths: locks publish over
//! MQTT (QoS 1) and wait for hemtid's receipts, re-sending what is not
//! receipted; phones call the REST API, retrying while hemtid is away, and
//! send their offline batches late.

use super::plan::PhoneWork;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the locks' MQTT connections go.
#[derive(Debug, Clone)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    /// Each lock's secret: a lock signs in as itself (its id as username
    /// and client id) and speaks only for itself.
    pub credentials: HashMap<String, String>,
    /// The lock-signing public key the locks pinned at enrolment; with it
    /// each lock reads its configuration and verifies it as a real one.
    pub pinned_key: Option<String>,
}

impl Broker {
    /// The broker at `mqtt://host[:port]`; the locks sign in with `credentials`.
    pub fn at(url: &str, credentials: HashMap<String, String>) -> anyhow::Result<Broker> {
        let g = hemtid_gateway::GatewayOptions::from_url(url, "hemtid-sim")?;
        Ok(Broker {
            host: g.host,
            port: g.port,
            credentials,
            pinned_key: None,
        })
    }
}

/// What the locks did.
#[derive(Debug, Clone, Default)]
pub struct DeviceReport {
    pub sent: usize,
    pub resent: usize,
    /// Receipts by status, the first for each event.
    pub receipts: BTreeMap<String, usize>,
    pub late_receipts: usize,
    pub unreceipted: usize,
    pub reconnects: usize,
    /// Configurations the locks received and verified with the pinned key
    /// (signed, for the lock, newer than the one held).
    pub configs_verified: usize,
    /// Configurations a lock ignored: not signed with its pinned key (a
    /// shared broker may hold another run's retained ones) or not newer
    /// than the one it holds (a retained one again after a reconnect).
    pub configs_ignored: usize,
    /// Configurations signed with the pinned key but for another lock: a
    /// fault of hemtid's.
    pub configs_misaddressed: usize,
    pub config_refusal: Option<String>,
    /// Microseconds from the first publish of an event to its receipt.
    pub latencies_us: Vec<u64>,
    /// The first publish and the last first-receipt: the throughput window.
    pub first_publish: Option<Instant>,
    pub last_receipt: Option<Instant>,
}

impl DeviceReport {
    /// Events receipted per second between the first publish and the last
    /// receipt.
    pub fn receipted_per_second(&self) -> f64 {
        let n: usize = self.receipts.values().sum();
        match (self.first_publish, self.last_receipt) {
            (Some(a), Some(b)) if b > a => n as f64 / b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        }
    }

    /// The `q` quantile (0..=1) of the latencies, in milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        percentile(&self.latencies_us, q) / 1000.0
    }
}

/// The `q` quantile of `values` (unsorted).
pub fn percentile(values: &[u64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)] as f64
}

pub use super::locks::run_devices;

/// What the phones did.
#[derive(Debug, Clone, Default)]
pub struct PhoneReport {
    pub logins: usize,
    pub requests: usize,
    /// Answers by HTTP status (the last try of each request).
    pub statuses: BTreeMap<u16, usize>,
    pub retries: usize,
    pub sync_batches: usize,
    pub sync_items: usize,
    /// Sync items not `applied` or `duplicate`.
    pub sync_refused: usize,
    /// The first few answers that were not 2xx.
    pub errors: Vec<String>,
    pub latencies_us: Vec<u64>,
}

/// The phones' work on `threads` threads, against `api` (base URL).
pub fn run_phones(
    api: &str,
    password: &str,
    work: Vec<PhoneWork>,
    threads: usize,
    deadline: Instant,
) -> PhoneReport {
    let queue = Arc::new(Mutex::new(work));
    let report = Arc::new(Mutex::new(PhoneReport::default()));
    let handles: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (queue, report) = (queue.clone(), report.clone());
            let (api, password) = (api.to_string(), password.to_string());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some(w) = next else { break };
                    let r = one_phone(&agent, &api, &password, w, deadline);
                    if let Ok(mut all) = report.lock() {
                        all.logins += r.logins;
                        all.requests += r.requests;
                        for (k, v) in r.statuses {
                            *all.statuses.entry(k).or_default() += v;
                        }
                        all.retries += r.retries;
                        all.sync_batches += r.sync_batches;
                        all.sync_items += r.sync_items;
                        all.sync_refused += r.sync_refused;
                        for e in r.errors {
                            if all.errors.len() < 10 {
                                all.errors.push(e);
                            }
                        }
                        all.latencies_us.extend(r.latencies_us);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    Arc::try_unwrap(report)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .unwrap_or_default()
}

/// Sends one request, retrying while hemtid cannot answer (connection
/// refused, 5xx): what the app does, as every registration is idempotent
/// by its event id.
fn send(
    agent: &ureq::Agent,
    url: &str,
    token: Option<&str>,
    body: &serde_json::Value,
    deadline: Instant,
    report: &mut PhoneReport,
) -> Option<(u16, serde_json::Value)> {
    let mut delay = Duration::from_millis(100);
    loop {
        let mut req = agent.post(url);
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let started = Instant::now();
        let result = req.send_json(body.clone());
        let answer = match result {
            Ok(r) => Some((r.status(), r.into_json().unwrap_or_default())),
            Err(ureq::Error::Status(s, r)) if s < 500 => {
                Some((s, r.into_json().unwrap_or_default()))
            }
            Err(_) => None,
        };
        if let Some((status, v)) = answer {
            report
                .latencies_us
                .push(started.elapsed().as_micros() as u64);
            *report.statuses.entry(status).or_default() += 1;
            if !(200..300).contains(&status) && report.errors.len() < 10 {
                report.errors.push(format!("{status} {url}: {v}"));
            }
            return Some((status, v));
        }
        if Instant::now() > deadline {
            report.errors.push(format!("gave up on {url}"));
            return None;
        }
        report.retries += 1;
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

fn one_phone(
    agent: &ureq::Agent,
    api: &str,
    password: &str,
    work: PhoneWork,
    deadline: Instant,
) -> PhoneReport {
    let mut r = PhoneReport::default();
    let login = serde_json::json!({"username": work.username, "password": password});
    let Some((200, v)) = send(
        agent,
        &format!("{api}/api/v1/auth/login"),
        None,
        &login,
        deadline,
        &mut r,
    ) else {
        return r;
    };
    r.logins += 1;
    let token = v["access_token"].as_str().unwrap_or_default().to_string();
    for (path, body) in &work.online {
        r.requests += 1;
        send(
            agent,
            &format!("{api}{path}"),
            Some(&token),
            body,
            deadline,
            &mut r,
        );
    }
    if !work.offline.is_empty() {
        r.sync_batches += 1;
        r.sync_items += work.offline.len();
        let batch = serde_json::json!({"items": work.offline});
        if let Some((_, v)) = send(
            agent,
            &format!("{api}/api/v1/sync"),
            Some(&token),
            &batch,
            deadline,
            &mut r,
        ) {
            let ok = v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|x| matches!(x["result"].as_str(), Some("applied" | "duplicate")))
                .count();
            r.sync_refused += work.offline.len().saturating_sub(ok);
        } else {
            r.sync_refused += work.offline.len();
        }
    }
    r
}
