//! Driving the simulated day through the real paths: locks publish over
//! MQTT (QoS 1) and wait for hemtid's receipts, re-sending what is not
//! receipted; phones call the REST API, retrying while hemtid is away, and
//! send their offline batches late.

use super::plan::{DeviceEvent, PhoneWork};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
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
    fn add(&mut self, o: DeviceReport) {
        self.sent += o.sent;
        self.resent += o.resent;
        for (k, v) in o.receipts {
            *self.receipts.entry(k).or_default() += v;
        }
        self.late_receipts += o.late_receipts;
        self.unreceipted += o.unreceipted;
        self.reconnects += o.reconnects;
        self.configs_verified += o.configs_verified;
        self.configs_ignored += o.configs_ignored;
        self.configs_misaddressed += o.configs_misaddressed;
        if self.config_refusal.is_none() {
            self.config_refusal = o.config_refusal;
        }
        self.latencies_us.extend(o.latencies_us);
        self.first_publish = match (self.first_publish, o.first_publish) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_receipt = self.last_receipt.max(o.last_receipt);
    }

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

struct Pending {
    payload: Vec<u8>,
    first_sent: Option<Instant>,
    last_sent: Option<Instant>,
}

/// Sends `events`, each lock over a connection of its own, at
/// `per_second` in all (0: as fast as the receipts allow), until every
/// event is receipted or `deadline` passes.
pub async fn run_devices(
    broker: &Broker,
    events: Vec<DeviceEvent>,
    per_second: u32,
    resend_after: Duration,
    deadline: Instant,
) -> DeviceReport {
    // Each lock's events in order.
    let mut by_lock: BTreeMap<String, Vec<DeviceEvent>> = BTreeMap::new();
    for e in events {
        by_lock.entry(e.lock.clone()).or_default().push(e);
    }
    // Each lock gets its share of the rate by its share of the events, so
    // all of them finish together (an even split left the busiest locks
    // sending long after the rest).
    let total = by_lock.values().map(Vec::len).sum::<usize>().max(1) as f64;
    let mut tasks = Vec::new();
    for (lock, share) in by_lock {
        let rate = f64::from(per_second) * share.len() as f64 / total;
        let secret = broker.credentials.get(&lock).cloned();
        let (host, port) = (broker.host.clone(), broker.port);
        let pinned = broker
            .pinned_key
            .as_ref()
            .map(|k| hemtid_core::auth::lock_keys::PinnedConfig::new(&lock, k));
        tasks.push(tokio::spawn(async move {
            one_lock(
                lock,
                &host,
                port,
                secret,
                pinned,
                share,
                rate,
                resend_after,
                deadline,
            )
            .await
        }));
    }
    let mut report = DeviceReport::default();
    for t in tasks {
        match t.await {
            Ok(r) => report.add(r),
            Err(e) => tracing::error!(error = %e, "a simulated lock failed"),
        }
    }
    report
}

/// One lock: connects as itself, reads its receipts (and, with a pinned
/// key, its configuration, which it verifies as a real lock does),
/// publishes its events (`per_second`: 0 as fast as receipts come) and
/// re-sends what is not receipted after `resend_after` and after every
/// reconnect.
#[allow(clippy::too_many_arguments)]
async fn one_lock(
    lock: String,
    host: &str,
    port: u16,
    secret: Option<String>,
    mut pinned: Option<hemtid_core::auth::lock_keys::PinnedConfig>,
    events: Vec<DeviceEvent>,
    per_second: f64,
    resend_after: Duration,
    deadline: Instant,
) -> DeviceReport {
    // Events sent and not yet receipted, at most: a lock holds a few, and
    // a broker queues only so many for a busy gateway.
    const WINDOW: usize = 200;
    let mut report = DeviceReport::default();
    if events.is_empty() {
        return report;
    }
    let events_list = events;
    let mut o = MqttOptions::new(lock.clone(), host, port);
    o.set_keep_alive(Duration::from_secs(15))
        .set_clean_session(true)
        .set_inflight(WINDOW as u16)
        .set_request_channel_capacity(WINDOW * 2);
    if let Some(secret) = secret {
        o.set_credentials(lock.clone(), secret);
    }
    let (client, eventloop) = AsyncClient::new(o, WINDOW * 2);
    // The event loop runs in a task of its own: rumqttc's `poll` is not
    // safe to cancel while it connects, and a `select!` with the tick
    // cancelled it there, so each lock opened a second connection while
    // its first was still signing in.
    let mut events = crate::simulate::drive::events_of(eventloop);
    let topic = hemtid_gateway::events_topic(&lock);
    let receipts_topic = hemtid_gateway::receipts_topic(&lock);
    let config_topic = hemtid_gateway::config_topic(&lock);
    let mut filters = vec![rumqttc::SubscribeFilter::new(
        receipts_topic.clone(),
        QoS::AtLeastOnce,
    )];
    if pinned.is_some() {
        filters.push(rumqttc::SubscribeFilter::new(
            config_topic.clone(),
            QoS::AtLeastOnce,
        ));
    }
    let mut queue: std::collections::VecDeque<(String, Vec<u8>)> = events_in_order(events_list);
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut receipted: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut subscribed = false;
    let mut connected = false;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut credit = 0.0f64;
    let mut last_tick = Instant::now();
    loop {
        if Instant::now() > deadline || (queue.is_empty() && pending.is_empty()) {
            break;
        }
        tokio::select! {
            event = events.recv() => match event {
                Some(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                    connected = true;
                    subscribed = client.try_subscribe_many(filters.clone()).is_err();
                    for p in pending.values_mut() {
                        p.last_sent = None;
                    }
                }
                Some(Ok(Event::Incoming(Packet::SubAck(_)))) => subscribed = true,
                Some(Ok(Event::Incoming(Packet::Publish(p)))) if p.topic == config_topic => {
                    if let Some(held) = pinned.as_mut() {
                        match held.accept(&p.payload) {
                            Ok(_) => report.configs_verified += 1,
                            Err(e) => {
                                if e == hemtid_core::auth::lock_keys::ConfigRefused::OtherLock {
                                    report.configs_misaddressed += 1;
                                } else {
                                    report.configs_ignored += 1;
                                }
                                report.config_refusal.get_or_insert_with(|| e.to_string());
                            }
                        }
                    }
                }
                Some(Ok(Event::Incoming(Packet::Publish(p)))) => {
                    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&p.payload) else { continue };
                    let now = Instant::now();
                    for r in v["receipts"].as_array().into_iter().flatten() {
                        let id = r["event_id"].as_str().unwrap_or_default();
                        let status = r["status"].as_str().unwrap_or("?").to_string();
                        match pending.remove(id) {
                            Some(p) => {
                                if let Some(t) = p.first_sent {
                                    report.latencies_us.push(now.duration_since(t).as_micros() as u64);
                                }
                                receipted.insert(id.to_string());
                                report.last_receipt = Some(now);
                                *report.receipts.entry(status).or_default() += 1;
                            }
                            None if receipted.contains(id) => report.late_receipts += 1,
                            None => {}
                        }
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(error = %e, lock = %lock, "a simulated lock lost its connection");
                    if connected {
                        report.reconnects += 1;
                    }
                    connected = false;
                    subscribed = false;
                }
                None => break,
            },
            _ = tick.tick() => {
                if !connected || !subscribed {
                    continue;
                }
                let now = Instant::now();
                let room = WINDOW.saturating_sub(pending.len());
                let allowed = if per_second <= 0.0 {
                    room
                } else {
                    credit += now.duration_since(last_tick).as_secs_f64() * per_second;
                    credit = credit.min(per_second.max(1.0));
                    (credit as usize).min(room)
                };
                last_tick = now;
                for _ in 0..allowed {
                    let Some((id, payload)) = queue.pop_front() else { break };
                    pending.insert(id, Pending { payload, first_sent: None, last_sent: None });
                    credit -= 1.0;
                }
                for p in pending.values_mut() {
                    let due = p.last_sent.is_none_or(|t| now.duration_since(t) >= resend_after);
                    if !due {
                        continue;
                    }
                    if client.try_publish(topic.clone(), QoS::AtLeastOnce, false, p.payload.clone()).is_err() {
                        break;
                    }
                    if p.first_sent.is_some() {
                        report.resent += 1;
                    } else {
                        report.sent += 1;
                        p.first_sent = Some(now);
                        report.first_publish.get_or_insert(now);
                    }
                    p.last_sent = Some(now);
                }
            }
        }
    }
    report.unreceipted = pending.len() + queue.len();
    let _ = client.try_disconnect();
    report
}

/// Each lock's events in order, as (event id, body).
fn events_in_order(events: Vec<DeviceEvent>) -> std::collections::VecDeque<(String, Vec<u8>)> {
    events.into_iter().map(|e| (e.event_id, e.body)).collect()
}

/// Runs an MQTT event loop in a task of its own and hands what it sees
/// to the caller (errors too: it reconnects after a short pause). It ends
/// when the receiver is dropped.
pub fn events_of(
    mut eventloop: rumqttc::EventLoop,
) -> tokio::sync::mpsc::UnboundedReceiver<Result<Event, rumqttc::ConnectionError>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let event = eventloop.poll().await;
            let failed = event.is_err();
            if tx.send(event).is_err() {
                return;
            }
            if failed {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    rx
}

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
