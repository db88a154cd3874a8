//! The attacks of issue 21 against Mosquitto run with the password and
//! ACL files `hemtid mqtt-acl` writes (`use_username_as_clientid true`):
//! what the embedded broker refuses, Mosquitto refuses too, and a retired
//! lock is shut out as soon as the files are written again and Mosquitto
//! reloads them.
//!
//! Each test starts a Mosquitto of its own on a free port (the program
//! `mosquitto` must be installed). Ignored unless asked for: CI runs them
//! with `cargo test -p hemtid-gateway --test mosquitto_acl -- --ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Attackable, Conn, event};
use hemtid_gateway::mosquitto::{self, GatewayAccount};
use rumqttc::QoS;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Mosquitto of the test's own, with hemtid's files; killed on drop.
struct Mosquitto {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Mosquitto {
    fn start(dir: PathBuf) -> Mosquitto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\n\
                 allow_anonymous false\n\
                 password_file {dir}/passwd\n\
                 acl_file {dir}/acl\n\
                 use_username_as_clientid true\n\
                 max_packet_size 17408\n\
                 persistence false\n\
                 # Started as root, Mosquitto would read its files as user\n\
                 # mosquitto after a reload; the test's files are root's.\n\
                 user root\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the mosquitto program (apt-get install mosquitto)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Mosquitto { child, dir, port }
    }

    /// Makes Mosquitto read its password and ACL files again.
    fn reload(&self) {
        let ok = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

/// Writes the files for the registry as it is now.
fn write_files(t: &Attackable, dir: &Path, account: &GatewayAccount) -> mosquitto::Rendered {
    let r = mosquitto::render(&mut t.pool.get().unwrap(), account).unwrap();
    mosquitto::write_atomically(&dir.join("passwd"), &r.password_file).unwrap();
    mosquitto::write_atomically(&dir.join("acl"), &r.acl_file).unwrap();
    r
}

/// The two locks, the case system and the gateway on a Mosquitto of the
/// test's own with hemtid's files.
async fn on_mosquitto() -> (Attackable, Mosquitto, GatewayAccount) {
    let mut t = Attackable::prepare();
    {
        let mut c = t.pool.get().unwrap();
        for (id, secret) in [(&t.lock_a, &t.secret_a), (&t.lock_b, &t.secret_b)] {
            let hash = hemtid_core::auth::broker_password_hash(secret).unwrap();
            hemtid_core::db::device::set_broker_hash(&mut c, id, &hash).unwrap();
        }
        let hash = hemtid_core::auth::broker_password_hash(&t.integration_token).unwrap();
        hemtid_core::db::api_token::set_broker_hash(&mut c, &t.integration_token_id, &hash)
            .unwrap();
    }
    // A provider's planning-system token, even with a broker hash, gets
    // no user in the files: it is for HTTP only.
    let planning_id = uuid::Uuid::new_v4().to_string();
    {
        let mut c = t.pool.get().unwrap();
        let planning = format!("hit_{}", uuid::Uuid::new_v4().simple());
        hemtid_core::db::api_token::create(
            &mut c,
            &t.municipality,
            &planning_id,
            "planning system",
            &hemtid_core::auth::hash_token(&planning),
            Some(&t.provider_a),
        )
        .unwrap();
        let hash = hemtid_core::auth::broker_password_hash(&planning).unwrap();
        hemtid_core::db::api_token::set_broker_hash(&mut c, &planning_id, &hash).unwrap();
    }
    t.integration_user = mosquitto::integration_username(&t.integration_token_id);
    let client_id = format!(
        "hemtid-gateway-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let password = format!("gw-{}", uuid::Uuid::new_v4().simple());
    let account = GatewayAccount {
        usernames: GatewayAccount::usernames_for(&client_id, 1),
        password_hash: hemtid_core::auth::broker_password_hash(&password).unwrap(),
    };
    let dir = std::env::temp_dir().join(format!("hemtid-mosq-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let r = write_files(&t, &dir, &account);
    assert_eq!((r.devices, r.case_systems), (2, 1), "{r:?}");
    assert!(
        !r.password_file
            .contains(&mosquitto::integration_username(&planning_id))
    );
    let m = Mosquitto::start(dir);
    t.host = "127.0.0.1".into();
    t.port = m.port;
    let mut o = hemtid_gateway::GatewayOptions::new("127.0.0.1", m.port, &client_id);
    o.password = Some(password);
    o.username_is_client_id = true;
    o.persistent = false;
    t.start_gateway(o).await;
    (t, m, account)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mosquitto program; CI runs it with --ignored"]
async fn mosquitto_with_hemtids_files_refuses_every_attack() {
    let (t, _m, _) = on_mosquitto().await;
    common::attacks_fail_and_the_locks_work(&t, common::Refusals::Mosquitto).await;
    // A wrong password, or nobody's username, is refused.
    for (user, pass) in [(t.lock_a.as_str(), "wrong"), ("nobody", "x")] {
        let r = Conn::connect(&t, user, user, pass).await;
        assert!(r.is_err(), "{user}");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the mosquitto program; CI runs it with --ignored"]
async fn a_retired_lock_is_shut_out_when_the_files_are_written_again() {
    let (t, m, account) = on_mosquitto().await;
    let b = t.lock_b.clone();
    let mut lock = Conn::connect(&t, &b, &b, &t.secret_b).await.unwrap();
    assert_eq!(
        lock.subscribe(&hemtid_gateway::receipts_topic(&b)).await,
        Some(true)
    );
    hemtid_core::db::device::retire(&mut t.pool.get().unwrap(), &t.provider_b, &b).unwrap();
    // A lock registered at the same time tells when Mosquitto has read
    // the new files: it can sign in from then on.
    let (c_id, c_secret) = (
        format!("lock-c-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        "hdk_c",
    );
    {
        let mut c = t.pool.get().unwrap();
        let lock_a = hemtid_core::db::device::get_any(&mut c, &t.lock_a).unwrap();
        let now = hemtid_core::db::now();
        hemtid_core::db::device::create(
            &mut c,
            &hemtid_core::db::device::NewDevice {
                id: c_id.clone(),
                municipality_id: lock_a.municipality_id,
                provider_id: lock_a.provider_id,
                kind: hemtid_core::model::DeviceKind::DoorLock,
                client_id: lock_a.client_id,
                secret_hash: hemtid_core::auth::hash_token(c_secret),
                hmac_key: None,
                status: hemtid_core::model::DeviceStatus::Active,
                created_at: now,
                updated_at: now,
            },
        )
        .unwrap();
        let hash = hemtid_core::auth::broker_password_hash(c_secret).unwrap();
        hemtid_core::db::device::set_broker_hash(&mut c, &c_id, &hash).unwrap();
    }
    let r = write_files(&t, &m.dir, &account);
    assert_eq!(r.devices, 2);
    assert!(!r.password_file.contains(&b));
    m.reload();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Conn::connect(&t, &c_id, &c_id, c_secret).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "mosquitto did not reload its files"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Whether Mosquitto ends the retired lock's connection or not, what it
    // publishes reaches nobody and nothing reaches it any more; and it
    // cannot sign in again.
    let _ = lock
        .client
        .publish(
            hemtid_gateway::events_topic(&b),
            QoS::AtLeastOnce,
            false,
            serde_json::to_vec(&event("unlock", 5, "fob-cecilia")).unwrap(),
        )
        .await;
    let seen = lock.messages(Duration::from_secs(2)).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(t.events_of(&b), 0, "{:?}", t.dead_letters());
    assert!(Conn::connect(&t, &b, &b, &t.secret_b).await.is_err());
    t.stop().await;
}
