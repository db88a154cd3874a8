//! The gateway against a real broker: the embedded one, and the external
//! one named by `HEMTID_TEST_MQTT_URL` (Mosquitto in CI). A real MQTT
//! client plays the door lock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration as Minutes, Utc};
use hemtid_core::db::testing::TestDb;
use hemtid_core::db::{self, Pool, client, device, staff_credential, user_account};
use hemtid_core::seed;
use hemtid_gateway::GatewayOptions;
use hemtid_gateway::broker;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::watch;

const SECRET: &str = "hdk_test-secret";

/// Every gateway subscribes to every device's events, so two tests on one
/// external broker would see (and dead-letter) each other's devices: the
/// external-broker tests take turns. (The embedded ones each have a broker.)
static EXTERNAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The external broker's URL. The external-broker tests are ignored by
/// default (`.ci/run` runs them against Mosquitto with `--ignored
/// external`); run by hand without the URL, they fail.
fn external_url() -> String {
    match std::env::var("HEMTID_TEST_MQTT_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("HEMTID_TEST_MQTT_URL is not set: this test needs an external MQTT broker"),
    }
}

struct Env {
    _db: TestDb,
    pool: Pool,
    host: String,
    port: u16,
    device_user: Option<(String, String)>,
    /// The demo's care worker Anna, who carries key fob `fob-anna`.
    anna: user_account::UserAccount,
    /// The embedded broker, kept running while the test runs.
    _broker: Option<broker::EmbeddedBroker>,
    /// Each gateway: its options, stop switch and task.
    gateways: Vec<(
        GatewayOptions,
        watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )>,
}

/// A fresh database with the demo, a lock at Lisa's bound to Jakobsberg,
/// Anna's key fob, and a gateway on `broker` (embedded when `None`).
async fn env(external: Option<String>, device_id: &str) -> Env {
    env_with(external, device_id, 1, None, 1, 1).await
}

/// Like [`env`], with `gateways` gateways sharing `share_group`, each
/// reading on `subscribers` connections (as `hemtid serve` does on the
/// embedded broker: without persistent sessions there).
async fn env_with(
    external: Option<String>,
    device_id: &str,
    gateways: usize,
    share_group: Option<&str>,
    lanes: usize,
    subscribers: usize,
) -> Env {
    let db = TestDb::new();
    let pool = db.pool();
    let mut c = pool.get().unwrap();
    let today = hemtid_core::domain::local_date(Utc::now(), hemtid_core::domain::STOCKHOLM);
    let demo = seed::demo(&mut c, today).unwrap();
    let m = demo.municipality.id;
    let anna = user_account::find_by_username(&mut c, "demo.anna")
        .unwrap()
        .unwrap();
    let lisa = client::list(&mut c, &m)
        .unwrap()
        .into_iter()
        .find(|x| x.fields.given_name == "Lisa")
        .unwrap();
    let t = db::now();
    device::create(
        &mut c,
        &device::NewDevice {
            id: device_id.into(),
            municipality_id: m.clone(),
            provider_id: anna.fields.provider_id.clone().unwrap(),
            kind: hemtid_core::model::DeviceKind::DoorLock,
            client_id: Some(lisa.id),
            secret_hash: hemtid_core::auth::hash_token(SECRET),
            hmac_key: None,
            status: hemtid_core::model::DeviceStatus::Active,
            created_at: t,
            updated_at: t,
        },
    )
    .unwrap();
    give_fob(&mut c, &m, &anna.id, "fob-anna");
    drop(c);
    let gateway_id = format!("hemtid-test-{}", uuid::Uuid::new_v4().simple());
    let mut embedded = None;
    let (mut opts, device_user, (host, port)) = match external {
        Some(url) => {
            let o = GatewayOptions::from_url(&url, &gateway_id).unwrap();
            let at = (o.host.clone(), o.port);
            (o, None, at)
        }
        None => {
            let mut settings = broker::BrokerSettings::new("127.0.0.1:0".parse().unwrap());
            // The bursts here come from one lock; a real one sends far less.
            settings.device_burst = 100_000;
            settings.device_rate_per_second = 100_000;
            let b = broker::start_embedded(settings, pool.clone()).unwrap();
            let o = b.gateway_options(&gateway_id);
            let at = ("127.0.0.1".to_string(), b.addr.port());
            embedded = Some(b);
            (o, Some((device_id.to_string(), SECRET.to_string())), at)
        }
    };
    opts.batch_size = 64;
    opts.lanes = lanes;
    opts.share_group = share_group.map(str::to_string);
    opts.subscribers = subscribers;
    opts.lock_keys = Some(lock_keys());
    let mut running = Vec::new();
    for i in 0..gateways {
        let mut o = opts.clone();
        o.client_id = format!("{gateway_id}-{i}");
        let (stop, rx) = watch::channel(false);
        let (ready_tx, mut ready) = watch::channel(false);
        let gateway = tokio::spawn(hemtid_gateway::run::run_with_ready(
            pool.clone(),
            o.clone(),
            rx,
            ready_tx,
        ));
        // Messages published before the gateway subscribed would reach nobody
        // (real devices re-send until receipted; the tests start in order).
        tokio::time::timeout(Duration::from_secs(20), ready.wait_for(|r| *r))
            .await
            .expect("the gateway subscribed in time")
            .unwrap();
        running.push((o, stop, gateway));
    }
    Env {
        _db: db,
        pool,
        host,
        port,
        device_user,
        anna,
        _broker: embedded,
        gateways: running,
    }
}

/// The key the tests' gateways sign lock configurations with.
fn lock_keys() -> hemtid_core::auth::lock_keys::LockKeys {
    hemtid_core::auth::lock_keys::LockKeys::from_seed(&[4u8; 32]).unwrap()
}

/// Sends `events` from `device` as fast as receipts allow, re-sending
/// nothing for an hour: what is not receipted is lost, not re-sent.
async fn send_without_re_sends(
    device: &hemtid_gateway::sim::SimDevice,
    events: Vec<Value>,
) -> hemtid_gateway::sim::SimReport {
    hemtid_gateway::sim::run_device(
        device,
        events,
        50_000,
        Duration::from_secs(3600),
        std::time::Instant::now() + Duration::from_secs(60),
    )
    .await
}

/// Issues key fob `credential` to staff member `staff_id`.
fn give_fob(c: &mut db::DbConn, municipality_id: &str, staff_id: &str, credential: &str) {
    staff_credential::create(
        c,
        &staff_credential::StaffCredential {
            municipality_id: municipality_id.to_string().into(),
            credential: credential.to_string(),
            staff_id: staff_id.to_string().into(),
            kind: hemtid_core::model::CredentialKind::KeyFob,
            active: true,
            created_at: db::now(),
            revoked_at: None,
        },
    )
    .unwrap();
}

/// A device: publishes events, reads receipts.
struct Lock {
    id: String,
    client: AsyncClient,
    events: EventLoop,
}

impl Env {
    async fn lock(&self, id: &str) -> Lock {
        // On the embedded broker a device's client id is its id; on the
        // shared external broker a unique one keeps tests apart.
        let client_id = match self.device_user {
            Some(_) => id.to_string(),
            None => format!("{id}-{}", uuid::Uuid::new_v4().simple()),
        };
        let mut o = MqttOptions::new(client_id, &self.host, self.port);
        o.set_keep_alive(Duration::from_secs(10))
            .set_max_packet_size(64 * 1024, 64 * 1024);
        if let Some((u, p)) = &self.device_user {
            o.set_credentials(u.clone(), p.clone());
        }
        let (client, mut events) = AsyncClient::new(o, 2000);
        client
            .subscribe(hemtid_gateway::receipts_topic(id), QoS::AtLeastOnce)
            .await
            .unwrap();
        // Wait for the subscription to be in place (the broker may still
        // be starting: connection errors are retried until the deadline).
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => break,
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        })
        .await
        .expect("subscribed");
        Lock {
            id: id.into(),
            client,
            events,
        }
    }

    /// A simulated lock `id` on this environment's broker.
    fn device(&self, id: &str) -> hemtid_gateway::sim::SimDevice {
        hemtid_gateway::sim::SimDevice {
            id: id.to_string(),
            host: self.host.clone(),
            port: self.port,
            password: self.device_user.as_ref().map(|(_, p)| p.clone()),
            hmac_key: None,
        }
    }

    async fn stop(self) {
        for (opts, stop, gateway) in self.gateways {
            stop.send(true).unwrap();
            tokio::time::timeout(Duration::from_secs(10), gateway)
                .await
                .unwrap()
                .unwrap();
            // The persistent sessions a test gateway left on a shared broker.
            if self.device_user.is_none() {
                hemtid_gateway::run::end_session(&opts, Duration::from_secs(5))
                    .await
                    .expect("the gateway's sessions ended");
            }
        }
    }

    /// Reason, detail and payload of every dead letter (for failure messages).
    fn dead_letters(&self) -> Vec<(String, String, String)> {
        use diesel::prelude::*;
        use hemtid_core::db::schema::dead_letter::dsl as d;
        let mut c = self.pool.get().unwrap();
        d::dead_letter
            .select((d::reason, d::detail, d::payload))
            .load::<(String, String, Vec<u8>)>(&mut *c)
            .unwrap()
            .into_iter()
            .map(|(r, det, p)| (r, det, String::from_utf8_lossy(&p).into_owned()))
            .collect()
    }

    fn count(&self, sql_table: &str) -> i64 {
        use diesel::RunQueryDsl;
        use diesel::sql_types::BigInt;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut c = self.pool.get().unwrap();
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {sql_table}"))
            .get_result::<N>(&mut *c)
            .unwrap()
            .n
    }
}

impl Lock {
    async fn publish(&self, body: &[u8]) {
        self.client
            .publish(
                hemtid_gateway::events_topic(&self.id),
                QoS::AtLeastOnce,
                false,
                body.to_vec(),
            )
            .await
            .unwrap();
    }

    /// Receipts until `n` have arrived (or the deadline passes).
    async fn receipts(&mut self, n: usize) -> Vec<Value> {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), async {
            while got.len() < n {
                if let Event::Incoming(Packet::Publish(p)) = self.events.poll().await.unwrap() {
                    let v: Value = serde_json::from_slice(&p.payload).unwrap();
                    got.extend(v["receipts"].as_array().unwrap().iter().cloned());
                }
            }
        })
        .await;
        got
    }
}

fn event(kind: &str, minutes_ago: i64, credential: &str) -> Value {
    json!({"event_id": uuid::Uuid::new_v4(), "kind": kind,
           "occurred_at": (Utc::now() - Minutes::minutes(minutes_ago)).to_rfc3339(),
           "staff_credential": credential, "battery_pct": 64, "firmware": "1.4.2"})
}

async fn events_become_visits_once_and_bad_input_is_dead_lettered(external: Option<String>) {
    let id = format!("lock-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let env = env(external, &id).await;
    let mut lock = env.lock(&id).await;
    let unlock = event("unlock", 40, "fob-anna");
    lock.publish(unlock.to_string().as_bytes()).await;
    lock.publish(event("lock", 10, "fob-anna").to_string().as_bytes())
        .await;
    let r = lock.receipts(2).await;
    assert_eq!(
        r.iter().filter(|r| r["status"] == "stored").count(),
        2,
        "{r:?}"
    );
    // The same event five more times: stored once, receipted as a duplicate.
    for _ in 0..5 {
        lock.publish(unlock.to_string().as_bytes()).await;
    }
    let r = lock.receipts(5).await;
    assert!(
        r.iter()
            .all(|r| r["status"] == "duplicate" && r["event_id"] == unlock["event_id"]),
        "{r:?}"
    );
    assert_eq!(env.count("visit_event"), 2);
    assert_eq!(env.count("visit"), 1);
    // Bad input is kept as a dead letter; the next good event still lands.
    lock.publish(b"{not json").await;
    lock.publish(event("unlock", 5, "fob-stranger").to_string().as_bytes())
        .await;
    let r = lock.receipts(1).await;
    assert_eq!(
        (r[0]["status"].as_str(), r[0]["reason"].as_str()),
        (Some("rejected"), Some("unknown_credential"))
    );
    lock.publish(event("unlock", 4, "fob-anna").to_string().as_bytes())
        .await;
    let r = lock.receipts(1).await;
    assert_eq!(r[0]["status"], "stored");
    assert_eq!(env.count("dead_letter"), 2);
    let d = device::get_any(&mut env.pool.get().unwrap(), &id).unwrap();
    assert_eq!(d.battery_pct, Some(64));
    // The process metrics counted the commits (other tests in this binary
    // add to the same counters, so at least these).
    let m = hemtid_core::metrics::global().render_counters();
    let value = |prefix: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(
        value("hemtid_device_events_total{outcome=\"stored\"}") >= 3,
        "{m}"
    );
    assert!(
        value("hemtid_device_events_total{outcome=\"duplicate\"}") >= 5,
        "{m}"
    );
    assert!(
        value("hemtid_dead_letters_total{reason=\"unknown_credential\"}") >= 1,
        "{m}"
    );
    assert!(value("hemtid_gateway_batch_size_count") >= 1, "{m}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker() {
    events_become_visits_once_and_bad_input_is_dead_lettered(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an external MQTT broker at HEMTID_TEST_MQTT_URL (.ci/run: --ignored external)"]
async fn external_broker() {
    let url = external_url();
    let _turn = EXTERNAL.lock().await;
    events_become_visits_once_and_bad_input_is_dead_lettered(Some(url)).await;
}

async fn two_gateways_on_a_shared_subscription_store_each_event_once(external: Option<String>) {
    const N: usize = 300;
    let id = format!("lock-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let group = format!("g{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let env = env_with(external, &id, 2, Some(&group), 1, 1).await;
    // A lock that re-sends what is not receipted, as real ones must.
    let device = env.device(&id);
    let events: Vec<Value> = (0..N)
        .map(|i| {
            event(
                if i % 2 == 0 { "unlock" } else { "lock" },
                2000 - 3 * i as i64,
                "fob-anna",
            )
        })
        .collect();
    let report = hemtid_gateway::sim::run_device(
        &device,
        events,
        2000,
        Duration::from_secs(2),
        std::time::Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert_eq!(report.unreceipted, 0, "{report:?}");
    assert_eq!(
        (report.unreceipted, env.count("visit_event")),
        (0, N as i64),
        "{report:?} {:?}",
        env.dead_letters()
    );
    // answer to a re-send, never to a second delivery of one message.
    let duplicates = report.receipts.get("duplicate").copied().unwrap_or(0);
    assert!(duplicates <= report.resent, "{report:?}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an external MQTT broker at HEMTID_TEST_MQTT_URL (.ci/run: --ignored external)"]
async fn shared_subscription_external() {
    let url = external_url();
    let _turn = EXTERNAL.lock().await;
    two_gateways_on_a_shared_subscription_store_each_event_once(Some(url)).await;
}

/// A burst with no re-sends at all: the broker's buffers and inflight
/// limit must hold every message for the gateway.
/// With several subscriber connections, the shared subscription splits
/// the burst between them and loses nothing either.
async fn a_burst_without_re_sends_loses_nothing(external: Option<String>, subscribers: usize) {
    const N: usize = 3000;
    let id = format!("lock-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let env = env_with(external, &id, 1, None, 1, subscribers).await;
    let device = env.device(&id);
    let events: Vec<Value> = (0..N)
        .map(|i| {
            event(
                if i % 2 == 0 { "unlock" } else { "lock" },
                20_000 - 3 * i as i64,
                "fob-anna",
            )
        })
        .collect();
    let report = send_without_re_sends(&device, events).await;
    assert_eq!(
        (report.resent, report.unreceipted),
        (0, 0),
        "{report:?}, {} stored, dead letters: {:?}",
        env.count("visit_event"),
        env.dead_letters()
    );
    assert_eq!(env.count("visit_event"), N as i64, "{report:?}");
    // Each subscriber connection took a share of them.
    let shares = hemtid_core::metrics::global().received_by(&env.gateways[0].0.client_id);
    assert_eq!(shares.len(), subscribers, "{shares:?}");
    assert!(shares.iter().all(|n| *n > 0), "{shares:?}");
    assert!(shares.iter().sum::<u64>() >= N as u64, "{shares:?}");
    // Arriving in bursts out of order, the events still make exactly the
    // visits a derivation from all of them at once makes.
    let full = {
        let mut c = env.pool.get().unwrap();
        let rules = hemtid_core::domain::Rules {
            tz: hemtid_core::domain::STOCKHOLM,
            max_seconds: 12 * 3600,
            window: hemtid_core::domain::figures::FrameWindow {
                start_minute: 420,
                end_minute: 1320,
            },
        };
        hemtid_core::record::rederive_staff(&mut c, &env.anna.id, rules)
            .unwrap()
            .len()
    };
    assert_eq!(env.count("visit"), full as i64);
    env.stop().await;
}

/// The next configuration a lock receives, verified as a lock verifies it.
async fn next_config(
    events: &mut EventLoop,
    held: &mut hemtid_core::auth::lock_keys::PinnedConfig,
) -> Value {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let cfg = held
                        .accept(&p.payload)
                        .expect("a signed, newer configuration");
                    return serde_json::to_value(cfg).unwrap();
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
    .expect("a configuration")
}

async fn locks_get_their_key_configuration_retained(external: Option<String>) {
    let id = format!("lock-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let env = env(external, &id).await;
    let keys = lock_keys();
    // The lock pinned the public key at enrolment.
    let mut held = hemtid_core::auth::lock_keys::PinnedConfig::new(&id, &keys.public_key());
    {
        let mut c = env.pool.get().unwrap();
        hemtid_core::db::digital_key::register_signing_key(
            &mut c,
            keys.kid(),
            &keys.public_key(),
            db::now(),
        )
        .unwrap();
        hemtid_core::db::digital_key::issue(
            &mut c,
            &hemtid_core::db::digital_key::DigitalKey {
                id: "key-1".into(),
                kid: keys.kid().into(),
                device_id: id.clone().into(),
                staff_id: env.anna.id.clone(),
                issued_at: db::now(),
                expires_at: db::now() + chrono::Duration::minutes(10),
                revoked_at: None,
            },
        )
        .unwrap();
    }
    // The lock connects later and still finds its configuration (retained).
    let mut o = MqttOptions::new(id.clone(), &env.host, env.port);
    if let Some((u, p)) = &env.device_user {
        o.set_credentials(u.clone(), p.clone());
    }
    let (client, mut events) = AsyncClient::new(o, 100);
    client
        .subscribe(hemtid_gateway::config_topic(&id), QoS::AtLeastOnce)
        .await
        .unwrap();
    let first = next_config(&mut events, &mut held).await;
    assert_eq!(
        (first["kid"].as_str(), first["public_key"].as_str()),
        (Some(keys.kid()), Some(keys.public_key().as_str()))
    );
    assert_eq!(first["revoked"], json!([]));
    // Revoking Anna's keys reaches the lock at once.
    hemtid_core::db::digital_key::revoke_staff(
        &mut env.pool.get().unwrap(),
        &env.anna.id,
        db::now(),
    )
    .unwrap();
    let second = next_config(&mut events, &mut held).await;
    assert_eq!(second["revoked"], json!(["key-1"]));
    assert!(second["version"].as_i64() > first["version"].as_i64());
    assert_eq!(second["lock"], json!(id));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_configuration_embedded() {
    locks_get_their_key_configuration_retained(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an external MQTT broker at HEMTID_TEST_MQTT_URL (.ci/run: --ignored external)"]
async fn key_configuration_external() {
    let url = external_url();
    let _turn = EXTERNAL.lock().await;
    locks_get_their_key_configuration_retained(Some(url)).await;
}

/// Four lanes store batches at once; one care worker carrying two key
/// fobs that fall in different lanes has events in two transactions at
/// once, which must wait for each other and still pair as one sequence.
async fn lanes_keep_one_care_workers_events_in_order(external: Option<String>) {
    const N: usize = 800;
    const LANES: usize = 4;
    let id = format!("lock-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let env = env_with(external, &id, 1, None, LANES, 1).await;
    let topic = hemtid_gateway::events_topic(&id);
    let lane = |cred: &str| {
        let body = serde_json::to_vec(&event("lock", 1, cred)).unwrap();
        hemtid_gateway::run::lane_of_message(&topic, &body, LANES)
    };
    let second = (2..100)
        .map(|i| format!("fob-anna-{i}"))
        .find(|c| lane(c) != lane("fob-anna"))
        .unwrap();
    give_fob(
        &mut env.pool.get().unwrap(),
        &env.anna.municipality_id,
        &env.anna.id,
        &second,
    );
    let device = env.device(&id);
    // Unlock with one fob, lock with the other: every visit's two events
    // are in different lanes.
    let events: Vec<Value> = (0..N)
        .map(|i| {
            let (kind, cred) = if i % 2 == 0 {
                ("unlock", "fob-anna")
            } else {
                ("lock", second.as_str())
            };
            event(kind, 20_000 - 3 * i as i64, cred)
        })
        .collect();
    let report = send_without_re_sends(&device, events).await;
    assert_eq!(
        report.unreceipted,
        0,
        "{report:?}, dead letters: {:?}",
        env.dead_letters()
    );
    assert_eq!(env.count("visit_event"), N as i64, "{report:?}");
    assert!(env.dead_letters().is_empty(), "{:?}", env.dead_letters());
    let mut c = env.pool.get().unwrap();
    let stored: Vec<(Option<i32>, String)> = {
        use diesel::prelude::*;
        use hemtid_core::db::schema::visit;
        visit::table
            .filter(visit::staff_id.eq(&env.anna.id))
            .select((visit::seconds, visit::status))
            .order(visit::started_at)
            .load(&mut *c)
            .unwrap()
    };
    // Each unlock and the lock 3 minutes later make one closed visit.
    assert_eq!(stored.len(), N / 2, "{:?}", &stored[..stored.len().min(6)]);
    assert!(
        stored
            .iter()
            .all(|(s, st)| *s == Some(180) && st == "closed"),
        "{:?}",
        stored
            .iter()
            .find(|(s, st)| *s != Some(180) || st != "closed")
    );
    drop(c);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lanes_embedded() {
    lanes_keep_one_care_workers_events_in_order(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an external MQTT broker at HEMTID_TEST_MQTT_URL (.ci/run: --ignored external)"]
async fn lanes_external() {
    let url = external_url();
    let _turn = EXTERNAL.lock().await;
    lanes_keep_one_care_workers_events_in_order(Some(url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an external MQTT broker at HEMTID_TEST_MQTT_URL (.ci/run: --ignored external)"]
async fn burst_external() {
    let url = external_url();
    let _turn = EXTERNAL.lock().await;
    a_burst_without_re_sends_loses_nothing(Some(url), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_embedded() {
    a_burst_without_re_sends_loses_nothing(None, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an external MQTT broker at HEMTID_TEST_MQTT_URL (.ci/run: --ignored external)"]
async fn burst_external_four_subscribers() {
    let url = external_url();
    let _turn = EXTERNAL.lock().await;
    a_burst_without_re_sends_loses_nothing(Some(url), 4).await;
}
