//! The gateway loop: subscribe with a persistent session and manual acks,
//! store messages in batches, acknowledge each only after its batch
//! committed, then publish receipts. The loop never exits on its own: it
//! reconnects with backoff and resubscribes on every ConnAck.

use crate::error::{Error, blocking};
use crate::options::GatewayOptions;
use crate::process::{self, Message};
use crate::publish::{publish_alerts, publish_configs};
use chrono::Utc;
use hemtid_core::db::{Pool, digital_key};
use rumqttc::{AsyncClient, Event, Packet, Publish, QoS};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Largest message the gateway reads (bigger ones are dead-lettered by
/// `ingest`, so the limit here only has to exceed its own).
const MAX_PACKET_BYTES: usize = 256 * 1024;

/// Our own QoS 1 publishes (receipts, alerts, configurations) that may
/// wait for the broker's ack. rumqttc stops reading its request queue when
/// this is reached, and our acks for the devices' events wait in that
/// queue: with one receipt message per device per batch, a small limit
/// (it was 100) deadlocked against rumqttd, which sends a connection no
/// more than 100 unacked messages (found by the simulator with 2,000
/// locks); they now go over a connection of their own as well.
pub const OUTGOING_INFLIGHT: u16 = 1_000;

/// A received message, the subscriber connection it came on and that
/// connection's generation (it counts the connection's ConnAcks).
struct Received {
    subscriber: usize,
    connection: u64,
    publish: Publish,
    at: chrono::DateTime<Utc>,
}

/// Runs until `shutdown` turns true.
pub async fn run(pool: Pool, opts: GatewayOptions, shutdown: watch::Receiver<bool>) {
    let (ready, _) = watch::channel(false);
    run_with_ready(pool, opts, shutdown, ready).await;
}

/// Like [`run`]; `ready` turns true each time every subscriber connection
/// has its subscription in place and false when one is lost.
pub async fn run_with_ready(
    pool: Pool,
    opts: GatewayOptions,
    mut shutdown: watch::Receiver<bool>,
    ready: watch::Sender<bool>,
) {
    let ready = Arc::new(ready);
    let n = opts.subscribers.max(1);
    let (clients, eventloops): (Vec<AsyncClient>, Vec<_>) = (0..n)
        .map(|i| {
            let mut mqtt = opts.mqtt_options(&opts.subscriber_id(i));
            mqtt.set_clean_session(!opts.persistent)
                .set_manual_acks(true)
                .set_inflight(OUTGOING_INFLIGHT)
                .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
                .set_request_channel_capacity(opts.batch_size.max(100) * 4);
            AsyncClient::new(mqtt, opts.batch_size.max(100) * 4)
        })
        .unzip();
    // What we publish (receipts, alerts, lock configurations) goes over a
    // connection of its own. On one connection, rumqttd 0.20 stopped
    // acking our publishes while it waited for our acks of the devices'
    // events, and ours waited behind those publishes in rumqttc's queue: a
    // deadlock the simulator hit within seconds at 2,000 locks (or with
    // the thousands of alerts a first evaluation raises).
    let (publisher, publishing) = publisher_connection(&opts);
    // The messages go to the batcher through an unbounded channel: the
    // event loops must never wait on the database (they also carry our
    // acks). The broker's inflight limit bounds how many can be waiting.
    let (tx, rx) = mpsc::unbounded_channel::<Received>();
    let connections: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let subscribed: Arc<Vec<AtomicBool>> =
        Arc::new((0..n).map(|_| AtomicBool::new(false)).collect());
    // Retained messages may be gone (the embedded broker keeps them in
    // memory): every lock's configuration is published again after a start.
    {
        let marked = blocking(&pool, |c| Ok(digital_key::mark_all_locks_dirty(c)?)).await;
        if let Err(e) = marked {
            tracing::error!(error = %e, "could not schedule the locks' configurations");
        }
    }
    let mut tasks = vec![
        publishing,
        tokio::spawn(publish_configs(
            publisher.clone(),
            pool.clone(),
            ready.subscribe(),
            opts.lock_keys.clone(),
        )),
        tokio::spawn(publish_alerts(
            publisher.clone(),
            pool.clone(),
            ready.subscribe(),
        )),
        tokio::spawn(batcher(
            clients.clone(),
            publisher.clone(),
            rx,
            pool,
            connections.clone(),
            opts.clone(),
        )),
    ];
    let filter = opts.filter();
    tracing::info!(
        broker = %format!("{}:{}", opts.host, opts.port),
        client_id = %opts.client_id,
        subscribers = n,
        "gateway starting"
    );
    for (i, eventloop) in eventloops.into_iter().enumerate() {
        let link = Link {
            subscriber: i,
            received: hemtid_core::metrics::global().received(&opts.client_id, i),
            client: clients[i].clone(),
            filter: filter.clone(),
            connections: connections.clone(),
            subscribed: subscribed.clone(),
            ready: ready.clone(),
            tx: tx.clone(),
        };
        tasks.push(tokio::spawn(link.run(eventloop)));
    }
    drop(tx);
    // Stops when asked, or when the one who could ask is gone.
    let _ = shutdown.changed().await;
    // Aborting the event loops' tasks drops them, which closes their
    // connections (a DISCONNECT queued now would never be sent).
    for t in &tasks {
        t.abort();
    }
    tracing::info!("gateway stopped");
}

/// One subscriber connection: connects with backoff, subscribes on every
/// ConnAck and passes the devices' messages to the batcher.
struct Link {
    subscriber: usize,
    /// Its count of messages in `/metrics`.
    received: Arc<AtomicU64>,
    client: AsyncClient,
    filter: String,
    connections: Arc<Vec<AtomicU64>>,
    subscribed: Arc<Vec<AtomicBool>>,
    ready: Arc<watch::Sender<bool>>,
    tx: mpsc::UnboundedSender<Received>,
}

impl Link {
    async fn run(self, mut eventloop: rumqttc::EventLoop) {
        let mut backoff = Duration::from_millis(200);
        // The embedded broker may still be starting: the first failures are quiet.
        let mut ever_connected = false;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let n = self.connections[self.subscriber].fetch_add(1, Ordering::SeqCst) + 1;
                    ever_connected = true;
                    backoff = Duration::from_millis(200);
                    if self
                        .client
                        .try_subscribe(self.filter.clone(), QoS::AtLeastOnce)
                        .is_err()
                    {
                        // The request queue is full (acks): wait for room
                        // instead of never subscribing.
                        let (client, filter) = (self.client.clone(), self.filter.clone());
                        tokio::spawn(async move {
                            if let Err(e) = client.subscribe(filter, QoS::AtLeastOnce).await {
                                tracing::error!(error = %e, "could not subscribe");
                            }
                        });
                    }
                    tracing::info!(subscriber = self.subscriber, connection = n, filter = %self.filter, "connected to the broker");
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    self.subscribed[self.subscriber].store(true, Ordering::SeqCst);
                    if self.subscribed.iter().all(|s| s.load(Ordering::SeqCst)) {
                        self.ready.send_replace(true);
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    self.received.fetch_add(1, Ordering::Relaxed);
                    let item = Received {
                        subscriber: self.subscriber,
                        connection: self.connections[self.subscriber].load(Ordering::SeqCst),
                        publish,
                        at: Utc::now(),
                    };
                    if self.tx.send(item).is_err() {
                        tracing::error!("the batcher stopped");
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    self.subscribed[self.subscriber].store(false, Ordering::SeqCst);
                    self.ready.send_replace(false);
                    if !ever_connected && backoff < Duration::from_secs(2) {
                        tracing::debug!(error = %e, "broker not reachable yet");
                    } else {
                        tracing::warn!(subscriber = self.subscriber, error = %e, retry_in_ms = backoff.as_millis() as u64, "broker connection lost");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

/// Ends the broker's persistent session of `opts.client_id`: a connection
/// with a clean session makes the broker discard what it kept for that id
/// (subscriptions and queued messages), and keep nothing after it
/// disconnects. For a gateway id that is not used again (the simulator's
/// and the bench's).
pub async fn end_session(opts: &GatewayOptions, limit: Duration) -> Result<(), Error> {
    for i in 0..opts.subscribers.max(1) {
        end_one_session(opts, &opts.subscriber_id(i), limit).await?;
    }
    Ok(())
}

/// [`end_session`] for one client id.
async fn end_one_session(
    opts: &GatewayOptions,
    client_id: &str,
    limit: Duration,
) -> Result<(), Error> {
    let mut mqtt = opts.mqtt_options(client_id);
    mqtt.set_keep_alive(Duration::from_secs(5))
        .set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(mqtt, 10);
    let work = async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client.disconnect().await?;
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(Error::from(e)),
            }
        }
    };
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| Error::Timeout(limit))?
}

/// [`end_session`] from synchronous code (not from inside a runtime).
pub fn end_session_blocking(opts: &GatewayOptions, limit: Duration) -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(end_session(opts, limit))
}

/// The connection the gateway publishes on, and the task its event loop
/// runs in, reconnecting with backoff until the task is aborted.
fn publisher_connection(opts: &GatewayOptions) -> (AsyncClient, tokio::task::JoinHandle<()>) {
    let mut mqtt = opts.mqtt_options(&format!("{}-pub", opts.client_id));
    mqtt.set_clean_session(true)
        .set_inflight(OUTGOING_INFLIGHT)
        .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
        .set_request_channel_capacity(4_000);
    let (client, mut eventloop) = AsyncClient::new(mqtt, 4_000);
    let task = tokio::spawn(async move {
        let mut backoff = Duration::from_millis(200);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => backoff = Duration::from_millis(200),
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "publishing connection lost");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
    (client, task)
}

/// Takes what has arrived (up to `batch_size` per lane), stores it in one
/// transaction per lane, the lanes at once, then acknowledges in receive
/// order and publishes receipts.
async fn batcher(
    clients: Vec<AsyncClient>,
    publisher: AsyncClient,
    mut rx: mpsc::UnboundedReceiver<Received>,
    pool: Pool,
    connections: Arc<Vec<AtomicU64>>,
    opts: GatewayOptions,
) {
    let (batch_size, lanes) = (opts.batch_size.max(1), opts.lanes.max(1));
    // Given up on when their connection is gone only if it comes back.
    let redelivered = opts.persistent;
    // What the lanes look up, kept across batches (see `ingest::Directory`).
    let directory = Arc::new(hemtid_core::ingest::Directory::default());
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < batch_size * lanes {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        // Each lane's part, in receive order.
        let mut parts: Vec<Vec<usize>> = vec![Vec::new(); lanes];
        for (i, r) in batch.iter().enumerate() {
            parts[lane_of(&r.publish, lanes)].push(i);
        }
        let mut running = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let messages: Vec<Message> = part
                .iter()
                .map(|i| {
                    let r = &batch[*i];
                    Message {
                        topic: r.publish.topic.clone(),
                        payload: r.publish.payload.to_vec(),
                        received: r.at,
                    }
                })
                .collect();
            let came_on: Vec<(usize, u64)> = part
                .iter()
                .map(|i| (batch[*i].subscriber, batch[*i].connection))
                .collect();
            let (pool, connections, directory) =
                (pool.clone(), connections.clone(), directory.clone());
            let task = tokio::spawn(async move {
                store(
                    &pool,
                    &directory,
                    messages,
                    &came_on,
                    &connections,
                    redelivered,
                )
                .await
            });
            running.push((part, task));
        }
        // What each message became; `None` for a part whose connection is
        // gone (the broker redelivers it).
        let mut outcomes: Vec<Option<hemtid_core::ingest::Outcome>> = vec![None; batch.len()];
        for (part, task) in running {
            match task.await {
                Ok(Some(stored)) => {
                    for (i, o) in part.into_iter().zip(stored) {
                        outcomes[i] = Some(o);
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "a storage lane failed"),
            }
        }
        // Acks of an earlier connection are not sent: the broker redelivers
        // those messages and they come back as duplicates.
        for (r, o) in batch.iter().zip(&outcomes) {
            if o.is_none() || r.connection != connections[r.subscriber].load(Ordering::SeqCst) {
                continue;
            }
            if let Err(e) = clients[r.subscriber].ack(&r.publish).await {
                tracing::warn!(error = %e, "could not acknowledge");
            }
        }
        let outcomes: Vec<_> = outcomes.into_iter().flatten().collect();
        for (device, receipts) in process::receipt_messages(&outcomes) {
            match serde_json::to_vec(&receipts) {
                Ok(body) => {
                    if let Err(e) = publisher
                        .publish(
                            crate::receipts_topic(&device),
                            QoS::AtLeastOnce,
                            false,
                            body,
                        )
                        .await
                    {
                        tracing::warn!(error = %e, device = %device, "could not publish receipts");
                    }
                }
                Err(e) => tracing::error!(error = %e, "could not encode receipts"),
            }
        }
        tracing::debug!(size = batch.len(), "batch stored");
    }
}

/// The lane of a message: by the staff credential or digital key it
/// carries, so one care worker's events are paired in one transaction at
/// a time and lanes seldom wait on each other (else by its topic).
fn lane_of(publish: &Publish, lanes: usize) -> usize {
    lane_of_message(&publish.topic, &publish.payload, lanes)
}

/// [`lane_of`] for a topic and payload.
pub fn lane_of_message(topic: &str, payload: &[u8], lanes: usize) -> usize {
    use std::hash::{Hash, Hasher};
    #[derive(serde::Deserialize)]
    struct Carrier {
        #[serde(default)]
        staff_credential: Option<String>,
        #[serde(default)]
        key_id: Option<String>,
    }
    if lanes <= 1 {
        return 0;
    }
    let mut h = std::hash::DefaultHasher::new();
    match serde_json::from_slice::<Carrier>(payload) {
        Ok(Carrier {
            key_id: Some(k), ..
        }) => ("key", k).hash(&mut h),
        Ok(Carrier {
            staff_credential: Some(c),
            ..
        }) => ("credential", c).hash(&mut h),
        _ => ("topic", topic).hash(&mut h),
    }
    (h.finish() % lanes as u64) as usize
}

/// Stores a batch, retrying while the database is unusable. `None` when
/// every connection the messages came on (`came_on`: subscriber and
/// generation) is gone meanwhile and the broker will redeliver them
/// (`redelivered`: persistent sessions); without that it keeps trying.
async fn store(
    pool: &Pool,
    directory: &Arc<hemtid_core::ingest::Directory>,
    messages: Vec<Message>,
    came_on: &[(usize, u64)],
    connections: &[AtomicU64],
    redelivered: bool,
) -> Option<Vec<hemtid_core::ingest::Outcome>> {
    let mut delay = Duration::from_millis(100);
    loop {
        let (p, d, m) = (pool.clone(), directory.clone(), messages.clone());
        match tokio::task::spawn_blocking(move || process::process(&p, &d, &m)).await {
            Ok(Ok(outcomes)) => return Some(outcomes),
            Ok(Err(e)) => tracing::error!(error = %e, "could not store a batch; retrying"),
            Err(e) => tracing::error!(error = %e, "the storage task failed; retrying"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
        if redelivered
            && came_on
                .iter()
                .all(|(s, c)| *c != connections[*s].load(Ordering::SeqCst))
        {
            return None;
        }
    }
}
