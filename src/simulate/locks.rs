//! The simulated locks: each on an MQTT connection of its own, signed in
//! as itself, publishing its events and reading its receipts (and, with a
//! pinned key, its signed configuration, verified as a lock must).
//!
//! The events go out as things happen in a municipality: in time order,
//! with as many awaiting their receipts at once as there are locks (each
//! lock about one), and never fewer than [`MIN_IN_FLIGHT`]; a lock keeps
//! each event until its receipt and re-sends it after a timeout and after
//! every reconnect. One task decides what is sent when; each connection's task
//! only carries packets. (2,000 locks each deciding on a timer of their
//! own took a sixth of the machine the server under test shares, and each
//! sending its whole backlog at once put the care workers' events days
//! out of order, another workload than a day.)

use super::drive::{Broker, DeviceReport};
use super::plan::DeviceEvent;
use hemtid_core::auth::lock_keys::{ConfigRefused, PinnedConfig};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Events sent and not yet receipted at once, at least (with fewer locks
/// than this). Before each lock had a connection of its own, four shared
/// connections of 200 each allowed 800.
pub const MIN_IN_FLIGHT: usize = 200;

/// What a connection's task tells the sender.
enum Seen {
    /// Signed in and subscribed: ready to publish.
    Ready(usize),
    Lost(usize),
    /// Receipts: (event id, status).
    Receipts(Vec<(String, String)>),
    Config(Result<(), ConfigRefused>),
}

struct Pending {
    lock: usize,
    body: Vec<u8>,
    first_sent: Option<Instant>,
    last_sent: Option<Instant>,
}

/// Sends `events` (sorted by time) from their locks at `per_second` in
/// all (0: as fast as the receipts allow), until every event is
/// receipted or `deadline` passes.
pub async fn run_devices(
    broker: &Broker,
    events: Vec<DeviceEvent>,
    per_second: u32,
    resend_after: Duration,
    deadline: Instant,
) -> DeviceReport {
    let mut report = DeviceReport::default();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut queue: VecDeque<(usize, String, Vec<u8>)> = VecDeque::with_capacity(events.len());
    for e in events {
        let lock = *index.entry(e.lock.clone()).or_insert_with(|| {
            names.push(e.lock.clone());
            names.len() - 1
        });
        queue.push_back((lock, e.event_id, e.body));
    }
    if queue.is_empty() {
        return report;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Seen>();
    let mut clients: Vec<AsyncClient> = Vec::with_capacity(names.len());
    let mut tasks = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let (client, task) = connect(broker, i, name, tx.clone());
        clients.push(client);
        tasks.push(task);
    }
    drop(tx);
    let mut ready = vec![false; names.len()];
    let in_flight = names.len().max(MIN_IN_FLIGHT);
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut receipted: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut credit = 0.0f64;
    let mut last_tick = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let publish = |clients: &[AsyncClient], p: &mut Pending, report: &mut DeviceReport| {
        let topic = hemtid_gateway::events_topic(&names[p.lock]);
        if clients[p.lock]
            .try_publish(topic, QoS::AtLeastOnce, false, p.body.clone())
            .is_err()
        {
            return;
        }
        let now = Instant::now();
        if p.first_sent.is_some() {
            report.resent += 1;
        } else {
            report.sent += 1;
            p.first_sent = Some(now);
            report.first_publish.get_or_insert(now);
        }
        p.last_sent = Some(now);
    };
    while Instant::now() < deadline && !(queue.is_empty() && pending.is_empty()) {
        tokio::select! {
            seen = rx.recv() => match seen {
                Some(Seen::Ready(lock)) => {
                    if std::mem::replace(&mut ready[lock], true) {
                        continue;
                    }
                    // Everything of this lock not receipted goes (again).
                    let mine: Vec<String> = pending
                        .iter()
                        .filter(|(_, p)| p.lock == lock)
                        .map(|(id, _)| id.clone())
                        .collect();
                    for id in mine {
                        if let Some(p) = pending.get_mut(&id) {
                            publish(&clients, p, &mut report);
                        }
                    }
                }
                Some(Seen::Lost(lock)) => {
                    if std::mem::replace(&mut ready[lock], false) {
                        report.reconnects += 1;
                    }
                }
                Some(Seen::Receipts(receipts)) => {
                    let now = Instant::now();
                    for (id, status) in receipts {
                        match pending.remove(&id) {
                            Some(p) => {
                                if let Some(t) = p.first_sent {
                                    report.latencies_us.push(now.duration_since(t).as_micros() as u64);
                                }
                                report.last_receipt = Some(now);
                                *report.receipts.entry(status).or_default() += 1;
                                receipted.insert(id);
                            }
                            None if receipted.contains(&id) => report.late_receipts += 1,
                            None => {}
                        }
                    }
                }
                Some(Seen::Config(Ok(()))) => report.configs_verified += 1,
                Some(Seen::Config(Err(e))) => {
                    if e == ConfigRefused::OtherLock {
                        report.configs_misaddressed += 1;
                    } else {
                        report.configs_ignored += 1;
                    }
                    report.config_refusal.get_or_insert_with(|| e.to_string());
                }
                None => break,
            },
            _ = tick.tick() => {
                // Re-send what waited too long for its receipt.
                let now = Instant::now();
                for p in pending.values_mut() {
                    let due = p.last_sent.is_some_and(|t| now.duration_since(t) >= resend_after);
                    if due && ready[p.lock] {
                        publish(&clients, p, &mut report);
                    }
                }
            }
        }
        // Release the next events in time order, within the window and
        // the rate.
        let now = Instant::now();
        let mut allowed = if per_second == 0 {
            usize::MAX
        } else {
            credit += now.duration_since(last_tick).as_secs_f64() * f64::from(per_second);
            credit = credit.min(f64::from(per_second.max(1)));
            credit as usize
        };
        last_tick = now;
        while allowed > 0 && pending.len() < in_flight {
            let Some((lock, id, body)) = queue.pop_front() else {
                break;
            };
            allowed -= 1;
            credit -= 1.0;
            let mut p = Pending {
                lock,
                body,
                first_sent: None,
                last_sent: None,
            };
            // A lock that is away sends it when it is back (Ready).
            if ready[lock] {
                publish(&clients, &mut p, &mut report);
            }
            pending.insert(id, p);
        }
    }
    report.unreceipted = pending.len() + queue.len();
    for c in &clients {
        let _ = c.try_disconnect();
    }
    for t in tasks {
        t.abort();
    }
    report
}

/// A lock's connection: its task signs in, subscribes to the lock's
/// receipts (and configuration, with a pinned key), and passes what it
/// sees on; it reconnects after a short pause when the connection is lost.
fn connect(
    broker: &Broker,
    i: usize,
    lock: &str,
    tx: mpsc::UnboundedSender<Seen>,
) -> (AsyncClient, tokio::task::JoinHandle<()>) {
    let mut o = MqttOptions::new(lock, &broker.host, broker.port);
    o.set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_inflight(200)
        .set_request_channel_capacity(400);
    if let Some(secret) = broker.credentials.get(lock) {
        o.set_credentials(lock, secret);
    }
    let (client, mut eventloop) = AsyncClient::new(o, 400);
    let receipts = hemtid_gateway::receipts_topic(lock);
    let config = hemtid_gateway::config_topic(lock);
    let mut pinned = broker
        .pinned_key
        .as_ref()
        .map(|k| PinnedConfig::new(lock, k));
    let mut filters = vec![rumqttc::SubscribeFilter::new(
        receipts.clone(),
        QoS::AtLeastOnce,
    )];
    if pinned.is_some() {
        filters.push(rumqttc::SubscribeFilter::new(
            config.clone(),
            QoS::AtLeastOnce,
        ));
    }
    let c = client.clone();
    let task = tokio::spawn(async move {
        loop {
            let sent = match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = c.try_subscribe_many(filters.clone());
                    Ok(())
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => tx.send(Seen::Ready(i)),
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == config => match &mut pinned {
                    Some(held) => tx.send(Seen::Config(held.accept(&p.payload).map(|_| ()))),
                    None => Ok(()),
                },
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == receipts => {
                    let list: Vec<(String, String)> =
                        serde_json::from_slice::<serde_json::Value>(&p.payload)
                            .ok()
                            .and_then(|v| v["receipts"].as_array().cloned())
                            .unwrap_or_default()
                            .iter()
                            .map(|r| {
                                (
                                    r["event_id"].as_str().unwrap_or_default().to_string(),
                                    r["status"].as_str().unwrap_or("?").to_string(),
                                )
                            })
                            .collect();
                    tx.send(Seen::Receipts(list))
                }
                Ok(_) => Ok(()),
                Err(e) => {
                    tracing::debug!(error = %e, lock = i, "a simulated lock lost its connection");
                    let sent = tx.send(Seen::Lost(i));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    sent
                }
            };
            if sent.is_err() {
                return;
            }
        }
    });
    (client, task)
}
