//! What the device-trust tests share: a demo municipality with two locks
//! of two providers, a case system's token, the gateway, real MQTT
//! clients, and the attacks of issue 21 as one scenario that any broker
//! (embedded, or Mosquitto with hemtid's ACL) must withstand.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration as Minutes, Utc};
use hemtid_core::db::testing::TestDb;
use hemtid_core::db::{self, Pool, api_token, client, device, staff_credential, user_account};
use hemtid_core::seed;
use hemtid_gateway::GatewayOptions;
use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// A demo municipality with lock A at Lisa's (Jakobsberg, care worker
/// Anna, `fob-anna`) and lock B at Sven's (Omsorgshuset, another
/// provider, care worker Cecilia, `fob-cecilia`), an integration token,
/// and a gateway once [`Attackable::start_gateway`] ran.
pub struct Attackable {
    pub db: TestDb,
    pub pool: Pool,
    pub host: String,
    pub port: u16,
    pub municipality: String,
    pub lock_a: String,
    pub secret_a: String,
    pub provider_a: String,
    pub lock_b: String,
    pub secret_b: String,
    pub provider_b: String,
    /// Sven, lock B's client.
    pub client_b: String,
    pub caseworker: String,
    /// The case system's username: `integration` on the embedded broker,
    /// `integration-<token id>` on a Mosquitto with hemtid's files.
    pub integration_user: String,
    pub integration_token: String,
    pub integration_token_id: String,
    /// The lock-signing key; the locks pinned its public half.
    pub lock_keys: hemtid_core::auth::lock_keys::LockKeys,
    pub gateway_options: Option<GatewayOptions>,
    gateway: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
}

fn short() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

impl Attackable {
    /// The database side; host, port and gateway are set by the caller.
    pub fn prepare() -> Attackable {
        let db = TestDb::new();
        let pool = db.pool();
        let mut c = pool.get().unwrap();
        let today = hemtid_core::domain::local_date(Utc::now(), hemtid_core::domain::STOCKHOLM);
        let demo = seed::demo(&mut c, today).unwrap();
        let m = demo.municipality.id.clone();
        let user = |c: &mut db::DbConn, name: &str| {
            user_account::find_by_username(c, name).unwrap().unwrap()
        };
        let anna = user(&mut c, "demo.anna");
        let cecilia = user(&mut c, "demo.cecilia");
        let caseworker = user(&mut c, "demo.handlaggare");
        let clients = client::list(&mut c, &m).unwrap();
        let lisa = clients
            .iter()
            .find(|x| x.fields.given_name == "Lisa")
            .unwrap();
        let sven = clients
            .iter()
            .find(|x| x.fields.given_name == "Sven")
            .unwrap();
        let (lock_a, lock_b) = (format!("lock-a-{}", short()), format!("lock-b-{}", short()));
        let (secret_a, secret_b) = (format!("hdk_a{}", short()), format!("hdk_b{}", short()));
        for (id, secret, staff, client) in [
            (&lock_a, &secret_a, &anna, &lisa.id),
            (&lock_b, &secret_b, &cecilia, &sven.id),
        ] {
            let t = db::now();
            device::create(
                &mut c,
                &device::NewDevice {
                    id: id.clone(),
                    municipality_id: m.clone(),
                    provider_id: staff.fields.provider_id.clone().unwrap(),
                    kind: hemtid_core::model::DeviceKind::DoorLock,
                    client_id: Some(client.clone()),
                    secret_hash: hemtid_core::auth::hash_token(secret),
                    hmac_key: None,
                    status: hemtid_core::model::DeviceStatus::Active,
                    created_at: t,
                    updated_at: t,
                },
            )
            .unwrap();
        }
        for (staff, credential) in [(&anna, "fob-anna"), (&cecilia, "fob-cecilia")] {
            staff_credential::create(
                &mut c,
                &staff_credential::StaffCredential {
                    municipality_id: m.clone(),
                    credential: credential.into(),
                    staff_id: staff.id.clone(),
                    kind: hemtid_core::model::CredentialKind::KeyFob,
                    active: true,
                    created_at: db::now(),
                    revoked_at: None,
                },
            )
            .unwrap();
        }
        let integration_token = format!("hit_{}", uuid::Uuid::new_v4().simple());
        let integration_token_id = uuid::Uuid::new_v4().to_string();
        api_token::create(
            &mut c,
            &m,
            &integration_token_id,
            "case system",
            &hemtid_core::auth::hash_token(&integration_token),
            None,
        )
        .unwrap();
        let lock_keys = hemtid_core::auth::lock_keys::LockKeys::from_seed(&[6u8; 32]).unwrap();
        hemtid_core::db::digital_key::register_signing_key(
            &mut c,
            lock_keys.kid(),
            &lock_keys.public_key(),
            db::now(),
        )
        .unwrap();
        drop(c);
        Attackable {
            db,
            pool,
            host: String::new(),
            port: 0,
            municipality: m.into_string(),
            lock_a,
            secret_a,
            provider_a: anna.fields.provider_id.clone().unwrap().to_string(),
            lock_b,
            secret_b,
            provider_b: cecilia.fields.provider_id.clone().unwrap().to_string(),
            client_b: sven.id.to_string(),
            caseworker: caseworker.id.to_string(),
            integration_user: hemtid_gateway::broker::INTEGRATION_USER.to_string(),
            integration_token,
            integration_token_id,
            lock_keys,
            gateway_options: None,
            gateway: None,
        }
    }

    /// Starts the gateway and waits until it has subscribed.
    pub async fn start_gateway(&mut self, mut opts: GatewayOptions) {
        opts.batch_size = 64;
        opts.lock_keys = Some(self.lock_keys.clone());
        let (stop, rx) = watch::channel(false);
        let (ready_tx, mut ready) = watch::channel(false);
        let task = tokio::spawn(hemtid_gateway::run::run_with_ready(
            self.pool.clone(),
            opts.clone(),
            rx,
            ready_tx,
        ));
        tokio::time::timeout(Duration::from_secs(20), ready.wait_for(|r| *r))
            .await
            .expect("the gateway subscribed in time")
            .unwrap();
        self.gateway_options = Some(opts);
        self.gateway = Some((stop, task));
    }

    pub async fn stop(mut self) {
        if let Some((stop, task)) = self.gateway.take() {
            stop.send(true).unwrap();
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .unwrap()
                .unwrap();
        }
    }

    pub fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) AS n FROM {table}"))
    }

    /// Events stored for a device.
    pub fn events_of(&self, device_id: &str) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) AS n FROM visit_event WHERE source = 'device' AND source_key = '{device_id}'"
        ))
    }

    /// Visits at a client.
    pub fn visits_at(&self, client_id: &str) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) AS n FROM visit WHERE client_id = '{client_id}'"
        ))
    }

    fn scalar(&self, sql: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<N>(&mut *self.pool.get().unwrap())
            .unwrap()
            .n
    }

    pub fn dead_letters(&self) -> Vec<(String, String)> {
        use diesel::prelude::*;
        use hemtid_core::db::schema::dead_letter::dsl as d;
        d::dead_letter
            .select((d::reason, d::topic))
            .load::<(String, String)>(&mut *self.pool.get().unwrap())
            .unwrap()
    }
}

/// A device event `minutes_ago`, with a staff credential.
pub fn event(kind: &str, minutes_ago: i64, credential: &str) -> Value {
    json!({"event_id": uuid::Uuid::new_v4(), "kind": kind,
           "occurred_at": (Utc::now() - Minutes::minutes(minutes_ago)).to_rfc3339(),
           "staff_credential": credential})
}

/// Polls `f` until it holds or `seconds` pass (then fails).
pub async fn wait_for(what: &str, seconds: u64, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a connection saw.
#[derive(Debug)]
pub enum Seen {
    Message {
        topic: String,
        payload: Vec<u8>,
        retain: bool,
    },
    SubAck(bool),
    Closed,
}

/// A real MQTT 3.1.1 client whose event loop runs in a task.
pub struct Conn {
    pub client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Seen>,
    closed: bool,
}

impl Conn {
    /// Connects and waits for the CONNACK; `Err` is its refusal code.
    pub async fn connect(
        t: &Attackable,
        client_id: &str,
        user: &str,
        password: &str,
    ) -> Result<Conn, ConnectReturnCode> {
        let mut o = MqttOptions::new(client_id, &t.host, t.port);
        o.set_keep_alive(Duration::from_secs(10))
            .set_clean_session(true)
            .set_max_packet_size(1024 * 1024, 1024 * 1024)
            .set_credentials(user, password);
        let (client, mut events) = AsyncClient::new(o, 100);
        let (tx, rx) = mpsc::unbounded_channel();
        let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut ack_tx = Some(ack_tx);
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(a))) => {
                        if let Some(t) = ack_tx.take() {
                            let _ = t.send(Ok(()));
                        }
                        let _ = a;
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send(Seen::Message {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                        });
                    }
                    Ok(Event::Incoming(Packet::SubAck(s))) => {
                        let ok = s
                            .return_codes
                            .iter()
                            .all(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)));
                        let _ = tx.send(Seen::SubAck(ok));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if let Some(t) = ack_tx.take() {
                            let code = match e {
                                rumqttc::ConnectionError::ConnectionRefused(code) => code,
                                _ => ConnectReturnCode::ServiceUnavailable,
                            };
                            let _ = t.send(Err(code));
                        }
                        let _ = tx.send(Seen::Closed);
                        return;
                    }
                }
            }
        });
        match tokio::time::timeout(Duration::from_secs(10), ack_rx).await {
            Ok(Ok(Ok(()))) => Ok(Conn {
                client,
                rx,
                closed: false,
            }),
            Ok(Ok(Err(code))) => Err(code),
            _ => Err(ConnectReturnCode::ServiceUnavailable),
        }
    }

    /// [`Conn::connect`], trying again for a few seconds while the broker
    /// is still ending an earlier connection with the same client id.
    pub async fn connect_retrying(
        t: &Attackable,
        client_id: &str,
        user: &str,
        password: &str,
    ) -> Result<Conn, ConnectReturnCode> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match Conn::connect(t, client_id, user, password).await {
                Err(ConnectReturnCode::ServiceUnavailable) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }

    /// Subscribes: `Some(true)` granted, `Some(false)` refused, `None` no
    /// answer (the connection ended).
    pub async fn subscribe(&mut self, filter: &str) -> Option<bool> {
        self.client.subscribe(filter, QoS::AtLeastOnce).await.ok()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(Seen::SubAck(ok))) => return Some(ok),
                Ok(Some(Seen::Closed)) | Ok(None) => {
                    self.closed = true;
                    return None;
                }
                Ok(Some(_)) => {}
                Err(_) => return None,
            }
        }
    }

    /// Messages that arrive within `d`.
    pub async fn messages(&mut self, d: Duration) -> Vec<(String, Vec<u8>, bool)> {
        let deadline = Instant::now() + d;
        let mut out = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(Seen::Message {
                    topic,
                    payload,
                    retain,
                })) => out.push((topic, payload, retain)),
                Ok(Some(Seen::Closed)) | Ok(None) => {
                    self.closed = true;
                    break;
                }
                Ok(Some(_)) => {}
                Err(_) => break,
            }
        }
        out
    }

    /// Whether the broker ended the connection within `d`.
    pub async fn closed_within(&mut self, d: Duration) -> bool {
        if self.closed {
            return true;
        }
        let deadline = Instant::now() + d;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(Seen::Closed)) | Ok(None) => {
                    self.closed = true;
                    return true;
                }
                Ok(Some(_)) => {}
                Err(_) => return false,
            }
        }
        false
    }

    pub async fn publish(&self, topic: &str, retain: bool, payload: Vec<u8>) {
        // A refused publish may end the connection before this returns.
        let _ = self
            .client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await;
    }
}

/// How the broker under test refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusals {
    /// hemtid's embedded broker: a refused subscription gets a failure
    /// SUBACK, a refused publish ends the connection.
    Embedded,
    /// Mosquitto 2.0 with hemtid's ACL: it grants subscriptions and checks
    /// each delivery against the ACL; refused publishes are dropped
    /// silently.
    Mosquitto,
}

/// Receipts in messages, by event id: status.
fn receipts_in(messages: &[(String, Vec<u8>, bool)]) -> Vec<(String, String)> {
    messages
        .iter()
        .filter_map(|(_, p, _)| serde_json::from_slice::<Value>(p).ok())
        .flat_map(|v| v["receipts"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            (
                r["event_id"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Every attack of issue 21 that needs only one lock's password fails,
/// and the locks' own events are all stored and receipted in the same run.
pub async fn attacks_fail_and_the_locks_work(t: &Attackable, refusals: Refusals) {
    let (a, b) = (t.lock_a.as_str(), t.lock_b.as_str());
    // The victim, lock B, reads its receipts and its configuration.
    let mut victim = Conn::connect(t, b, b, &t.secret_b).await.expect("lock B");
    assert_eq!(
        victim.subscribe(&hemtid_gateway::receipts_topic(b)).await,
        Some(true)
    );
    assert_eq!(
        victim.subscribe(&hemtid_gateway::config_topic(b)).await,
        Some(true)
    );
    // The case system reads the caseworker's alerts.
    let mut case_system = Conn::connect(
        t,
        "integration-attack-test",
        &t.integration_user,
        &t.integration_token,
    )
    .await
    .expect("the case system");
    let alerts = format!("hemtid/v1/caseworkers/{}/alerts", t.caseworker);
    assert_eq!(case_system.subscribe(&alerts).await, Some(true));

    // The attacker, lock A, each attack on a fresh connection (the
    // embedded broker ends one that publishes where it may not).
    let attacker = || async {
        Conn::connect_retrying(t, a, a, &t.secret_a)
            .await
            .expect("lock A")
    };
    // 1. A forged, retained key configuration for B's door.
    let forged_config = json!({"algorithm": "EdDSA", "kid": "attacker",
        "public_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "revoked": []});
    attacker()
        .await
        .publish(
            &hemtid_gateway::config_topic(b),
            true,
            serde_json::to_vec(&forged_config).unwrap(),
        )
        .await;
    // 2. A forged visit at B's client, attributed to B's care worker.
    let forged: Vec<Value> = vec![
        event("unlock", 40, "fob-cecilia"),
        event("lock", 11, "fob-cecilia"),
    ];
    let spy = attacker().await;
    for e in &forged {
        spy.publish(
            &hemtid_gateway::events_topic(b),
            false,
            serde_json::to_vec(e).unwrap(),
        )
        .await;
    }
    // 3. A forged receipt telling B to delete an event, and a forged alert.
    attacker()
        .await
        .publish(
            &hemtid_gateway::receipts_topic(b),
            false,
            serde_json::to_vec(&json!({"receipts": [{"event_id": "forged", "status": "stored"}]}))
                .unwrap(),
        )
        .await;
    attacker()
        .await
        .publish(
            &alerts,
            false,
            serde_json::to_vec(&json!({"id": "forged", "kind": "outside_band"})).unwrap(),
        )
        .await;
    // 4. Reading everything, and displacing the gateway from its share.
    let mut reader = attacker().await;
    let gateway_group = t
        .gateway_options
        .as_ref()
        .map(|o| o.client_id.clone())
        .unwrap_or_default();
    for filter in [
        "#".to_string(),
        "hemtid/v1/devices/+/events".to_string(),
        "hemtid/v1/devices/+/receipts".to_string(),
        format!("hemtid/v1/devices/{b}/config"),
        "hemtid/v1/caseworkers/+/alerts".to_string(),
        format!("$share/{gateway_group}/hemtid/v1/devices/+/events"),
        "$share/hemtid-gateway/hemtid/v1/devices/+/events".to_string(),
        "$SYS/#".to_string(),
    ] {
        let granted = reader.subscribe(&filter).await;
        // The embedded broker refuses the subscription; Mosquitto grants
        // it and checks every delivery against the ACL instead: either
        // way nothing arrives (asserted below).
        if refusals == Refusals::Embedded {
            assert_ne!(granted, Some(true), "lock A was granted {filter}");
        }
        if granted.is_none() {
            reader = attacker().await;
        }
    }
    // 5. Taking over the gateway's client id with a lock's password.
    for id in [gateway_group.as_str(), "hemtid-gateway"] {
        if let Ok(c) = Conn::connect(t, id, a, &t.secret_a).await {
            // Mosquitto gives a lock its username as client id whatever it
            // asks for: no takeover, but it is connected as lock A.
            assert_eq!(refusals, Refusals::Mosquitto, "{id} accepted");
            drop(c);
        }
    }
    // The case system cannot publish, nor read another municipality's.
    let cs_writer = Conn::connect(
        t,
        "integration-attack-writer",
        &t.integration_user,
        &t.integration_token,
    )
    .await
    .expect("the case system's second connection");
    cs_writer
        .publish(
            &hemtid_gateway::events_topic(b),
            false,
            serde_json::to_vec(&event("unlock", 30, "fob-cecilia")).unwrap(),
        )
        .await;
    for filter in [
        format!("hemtid/v1/fee-admins/{}/alerts", uuid::Uuid::new_v4()),
        format!("hemtid/v1/caseworkers/{}/alerts", uuid::Uuid::new_v4()),
        "hemtid/v1/providers/+/alerts".to_string(),
        hemtid_gateway::receipts_topic(b),
    ] {
        let granted = case_system.subscribe(&filter).await;
        if refusals == Refusals::Embedded {
            assert_ne!(granted, Some(true), "{filter}");
        }
    }

    // Meanwhile the locks work: B's own visit and A's own visit are
    // stored and receipted, each to its own lock.
    let mine = [
        event("unlock", 30, "fob-cecilia"),
        event("lock", 8, "fob-cecilia"),
    ];
    for e in &mine {
        victim
            .publish(
                &hemtid_gateway::events_topic(b),
                false,
                serde_json::to_vec(e).unwrap(),
            )
            .await;
    }
    let mut own = attacker().await;
    assert_eq!(
        own.subscribe(&hemtid_gateway::receipts_topic(a)).await,
        Some(true)
    );
    let theirs = [
        event("unlock", 25, "fob-anna"),
        event("lock", 5, "fob-anna"),
    ];
    for e in &theirs {
        own.publish(
            &hemtid_gateway::events_topic(a),
            false,
            serde_json::to_vec(e).unwrap(),
        )
        .await;
    }
    let victim_saw = victim.messages(Duration::from_secs(4)).await;
    let own_saw = own.messages(Duration::from_secs(1)).await;
    let reader_saw = reader.messages(Duration::from_millis(200)).await;
    let case_system_saw = case_system.messages(Duration::from_millis(200)).await;

    // B saw its own two receipts, stored, and nothing forged.
    let b_receipts = receipts_in(&victim_saw);
    let mine_ids: Vec<String> = mine
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    for id in &mine_ids {
        assert!(
            b_receipts.contains(&(id.clone(), "stored".to_string())),
            "{b_receipts:?}"
        );
    }
    assert!(
        b_receipts.iter().all(|(id, _)| mine_ids.contains(id)),
        "lock B got receipts not its own: {b_receipts:?}"
    );
    assert!(
        victim_saw
            .iter()
            .all(|(_, p, _)| !String::from_utf8_lossy(p).contains("attacker")),
        "lock B received a forged configuration: {victim_saw:?}"
    );
    // A saw its own receipts only.
    let a_receipts = receipts_in(&own_saw);
    for e in &theirs {
        let id = e["event_id"].as_str().unwrap().to_string();
        assert!(
            a_receipts.contains(&(id, "stored".to_string())),
            "{a_receipts:?}"
        );
    }
    // Nobody read what was not theirs; the case system got no forged alert.
    assert!(reader_saw.is_empty(), "lock A read {reader_saw:?}");
    assert!(
        case_system_saw
            .iter()
            .all(|(_, p, _)| !String::from_utf8_lossy(p).contains("forged")),
        "{case_system_saw:?}"
    );
    // The database holds B's two events and one visit at Sven's, A's two
    // events; no forged event, no dead letter for them.
    assert_eq!(t.events_of(b), 2, "{:?}", t.dead_letters());
    assert_eq!(t.events_of(a), 2, "{:?}", t.dead_letters());
    assert_eq!(t.visits_at(&t.client_b), 1);
    for e in &forged {
        let id = e["event_id"].as_str().unwrap();
        assert_eq!(t.scalar_events_with_id(id), 0, "a forged event was stored");
    }
    // A lock connecting now finds no forged configuration retained.
    drop(victim);
    let mut fresh = Conn::connect_retrying(t, b, b, &t.secret_b)
        .await
        .expect("lock B again");
    assert_eq!(
        fresh.subscribe(&hemtid_gateway::config_topic(b)).await,
        Some(true)
    );
    let retained = fresh.messages(Duration::from_millis(500)).await;
    assert!(
        retained
            .iter()
            .all(|(_, p, _)| !String::from_utf8_lossy(p).contains("attacker")),
        "{retained:?}"
    );
}

impl Attackable {
    pub fn scalar_events_with_id(&self, event_id: &str) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) AS n FROM visit_event WHERE event_id = '{event_id}'"
        ))
    }
}

/// An MQTT 3.1.1 client written out byte by byte, for what real client
/// libraries refuse to send (a publish to a wildcard topic).
pub mod raw {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn packet(kind: u8, body: Vec<u8>) -> Vec<u8> {
        let mut out = vec![kind];
        let mut n = body.len();
        loop {
            let mut b = (n % 128) as u8;
            n /= 128;
            if n > 0 {
                b |= 0x80;
            }
            out.push(b);
            if n == 0 {
                break;
            }
        }
        out.extend(body);
        out
    }

    /// Connects and signs in; the CONNACK's return code.
    pub async fn connect(
        addr: (&str, u16),
        client_id: &str,
        user: &str,
        pass: &str,
    ) -> (TcpStream, u8) {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut body = Vec::new();
        string(&mut body, "MQTT");
        body.extend_from_slice(&[4, 0b1100_0010, 0, 30]);
        string(&mut body, client_id);
        string(&mut body, user);
        string(&mut body, pass);
        s.write_all(&packet(0x10, body)).await.unwrap();
        let mut ack = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut ack))
            .await
            .unwrap()
            .unwrap();
        (s, ack[3])
    }

    /// Subscribes to `filter`; the SUBACK's return code, or `None` if the
    /// connection closed or nothing came within 3 s.
    pub async fn subscribe(s: &mut TcpStream, filter: &str) -> Option<u8> {
        let mut body = vec![0, 2];
        string(&mut body, filter);
        body.push(1);
        s.write_all(&packet(0x82, body)).await.ok()?;
        let mut buf = [0u8; 5];
        match tokio::time::timeout(Duration::from_secs(3), s.read_exact(&mut buf)).await {
            Ok(Ok(_)) if buf[0] == 0x90 => Some(buf[4]),
            _ => None,
        }
    }

    /// Publishes QoS 1 on `topic`; whether a PUBACK came (`Some(true)`),
    /// the connection closed (`Some(false)`), or nothing within 3 s.
    pub async fn publish(s: &mut TcpStream, topic: &str) -> Option<bool> {
        let mut body = Vec::new();
        string(&mut body, topic);
        body.extend_from_slice(&[0, 1]);
        body.extend_from_slice(b"{}");
        s.write_all(&packet(0x32, body)).await.ok()?;
        let mut buf = [0u8; 4];
        match tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => Some(false),
            Ok(Ok(_)) => Some(buf[0] == 0x40),
            Err(_) => None,
        }
    }
}
