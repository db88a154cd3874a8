//! A device simulator that behaves like a real lock: it keeps every event
//! until the receipt for it arrives, re-sends what is not receipted after a
//! timeout and after every reconnect, and reconnects when the broker goes
//! away. Tests and fault drills use it; the AsyncAPI document asks the
//! same of real devices.

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Where and as whom the simulated device connects.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub id: String,
    pub host: String,
    pub port: u16,
    /// Username is the device id.
    pub password: Option<String>,
    /// The key it signs its events with (hex), as registration gave it.
    pub hmac_key: Option<String>,
}

/// `event` as a signing device sends it: with `sig`, the HMAC-SHA256 of
/// its signed text (`hemtid_core::ingest::DeviceMessage::signed_text`).
pub fn signed(event: &serde_json::Value, hmac_key: &str) -> serde_json::Value {
    let mut e = event.clone();
    let text = hemtid_core::ingest::DeviceMessage::signed_text(event);
    if let Some(sig) = hemtid_core::ingest::sign(hmac_key, &text) {
        e["sig"] = serde_json::Value::String(sig);
    }
    e
}

/// What the simulation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimReport {
    /// Events handed to the broker at least once.
    pub sent: usize,
    /// Re-sends of events not yet receipted.
    pub resent: usize,
    /// Every receipt received, by status (`stored`, `duplicate`,
    /// `rejected`), late ones for events already receipted included.
    pub receipts: BTreeMap<String, usize>,
    /// Events never receipted before the deadline.
    pub unreceipted: usize,
    pub reconnects: usize,
}

struct Pending {
    payload: Vec<u8>,
    /// `None`: due now (new, or after a reconnect).
    last_sent: Option<Instant>,
    sent_once: bool,
}

/// Publishes `events` (each with an `event_id`) at up to `per_second`, and
/// runs until every one is receipted or `deadline` passes.
pub async fn run_device(
    device: &SimDevice,
    events: Vec<serde_json::Value>,
    per_second: u32,
    resend_after: Duration,
    deadline: Instant,
) -> SimReport {
    // A device's client id is its id (the broker refuses any other).
    let mut o = MqttOptions::new(device.id.clone(), &device.host, device.port);
    o.set_keep_alive(Duration::from_secs(10))
        .set_clean_session(true)
        .set_inflight(200)
        .set_request_channel_capacity(events.len().max(16) * 2);
    if let Some(p) = &device.password {
        o.set_credentials(device.id.clone(), p.clone());
    }
    let (client, mut eventloop) = AsyncClient::new(o, events.len().max(16) * 2);
    // The event loop runs in a task of its own: rumqttc's `poll` is not
    // safe to cancel while it connects (a `select!` with the tick opened a
    // second connection while the first was still signing in).
    let (tx, mut incoming) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let event = eventloop.poll().await;
            let failed = event.is_err();
            if tx.send(event).is_err() {
                return;
            }
            if failed {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let topic = crate::events_topic(&device.id);
    let receipts_topic = crate::receipts_topic(&device.id);
    let mut queue: Vec<(String, Vec<u8>)> = events
        .iter()
        .map(|e| {
            let body = match &device.hmac_key {
                Some(key) => signed(e, key),
                None => e.clone(),
            };
            (
                e["event_id"].as_str().unwrap_or_default().to_string(),
                body.to_string().into_bytes(),
            )
        })
        .collect();
    queue.reverse();
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut report = SimReport::default();
    let mut connected = false;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let per_tick = (per_second / 50).max(1) as usize;
    loop {
        if Instant::now() > deadline || (queue.is_empty() && pending.is_empty()) {
            break;
        }
        tokio::select! {
            event = incoming.recv() => match event.unwrap_or(Err(rumqttc::ConnectionError::RequestsDone)) {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    connected = true;
                    if let Err(e) = client.try_subscribe(receipts_topic.clone(), QoS::AtLeastOnce) {
                        tracing::warn!(error = %e, "simulated device could not subscribe");
                    }
                    // Everything not receipted goes again after a reconnect.
                    for p in pending.values_mut() {
                        p.last_sent = None;
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == receipts_topic => {
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&p.payload) {
                        for r in v["receipts"].as_array().into_iter().flatten() {
                            let id = r["event_id"].as_str().unwrap_or_default();
                            pending.remove(id);
                            let status = r["status"].as_str().unwrap_or("?").to_string();
                            *report.receipts.entry(status).or_default() += 1;
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, device = %device.id, "simulated device lost its connection");
                    if connected {
                        report.reconnects += 1;
                    }
                    connected = false;
                }
            },
            _ = tick.tick() => {
                if !connected {
                    continue;
                }
                for _ in 0..per_tick {
                    let Some((id, payload)) = queue.pop() else { break };
                    pending.insert(id, Pending { payload, last_sent: None, sent_once: false });
                }
                let now = Instant::now();
                for p in pending.values_mut() {
                    let due = p.last_sent.is_none_or(|t| now.duration_since(t) >= resend_after);
                    if due && client.try_publish(topic.clone(), QoS::AtLeastOnce, false, p.payload.clone()).is_ok() {
                        if p.sent_once {
                            report.resent += 1;
                        } else {
                            report.sent += 1;
                        }
                        p.sent_once = true;
                        p.last_sent = Some(now);
                    }
                }
            }
        }
    }
    report.unreceipted = pending.len() + queue.len();
    // The broker may be gone already; the report is what matters.
    let _ = client.try_disconnect();
    report
}
