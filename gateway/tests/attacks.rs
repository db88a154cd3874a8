//! Device trust, tried as an attacker would with nothing but one lock's
//! MQTT password: every attack of issue 21 against the embedded broker
//! with real MQTT clients, and in the same run the legitimate locks'
//! events all stored and receipted. (The same attacks against Mosquitto
//! with the ACL `hemtid mqtt-acl` writes are in `mosquitto_acl.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Attackable, Conn, event};
use hemtid_gateway::broker;
use rumqttc::{ConnectReturnCode, QoS};
use std::time::Duration;

/// The two locks, the gateway and the case system on a fresh embedded
/// broker.
async fn embedded() -> (Attackable, broker::EmbeddedBroker) {
    let setting = broker::BrokerSettings::new("127.0.0.1:0".parse().unwrap());
    let mut t = Attackable::prepare();
    let b = broker::start_embedded(setting, t.pool.clone()).unwrap();
    t.host = "127.0.0.1".into();
    t.port = b.addr.port();
    t.start_gateway(b.gateway_options(&format!(
        "hemtid-gateway-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )))
    .await;
    (t, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_cannot_speak_for_another_or_read_what_is_not_its_own() {
    let (t, b) = embedded().await;
    common::attacks_fail_and_the_locks_work(&t, common::Refusals::Embedded).await;
    assert!(
        b.tally
            .refused_total
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_answers_sign_ins_as_mqtt_says() {
    let (t, _b) = embedded().await;
    // A wrong password is answered "bad user name or password", so a lock
    // can tell it from a network fault.
    let r = Conn::connect(&t, &t.lock_a, &t.lock_a, "wrong").await;
    assert_eq!(r.err(), Some(ConnectReturnCode::BadUserNamePassword));
    let r = Conn::connect(&t, &t.lock_a, "nobody", "secret").await;
    assert_eq!(r.err(), Some(ConnectReturnCode::BadUserNamePassword));
    // The right password under another client id: not authorized.
    let r = Conn::connect(&t, "someone-else", &t.lock_a, &t.secret_a).await;
    assert_eq!(r.err(), Some(ConnectReturnCode::NotAuthorized));
    // The gateway's name and client ids are the gateway's alone, and its
    // credential works only on its own listener.
    let r = Conn::connect(&t, "hemtid-gateway", &t.lock_a, &t.secret_a).await;
    assert_eq!(r.err(), Some(ConnectReturnCode::NotAuthorized));
    let gw = t.gateway_options.as_ref().unwrap();
    let r = Conn::connect(
        &t,
        &gw.client_id,
        broker::GATEWAY_USER,
        gw.password.as_deref().unwrap(),
    )
    .await;
    assert_eq!(r.err(), Some(ConnectReturnCode::NotAuthorized));
    // A publish to a wildcard or empty topic, and a malformed filter, are
    // refused (the connection ends: MQTT 3.1.1 cannot refuse one publish).
    // (Written out byte by byte: client libraries refuse to send these.)
    for topic in ["hemtid/v1/devices/+/events", "#", ""] {
        let (mut s, code) =
            common::raw::connect((&t.host, t.port), &t.lock_a, &t.lock_a, &t.secret_a).await;
        assert_eq!(code, 0, "{topic:?}");
        assert_eq!(
            common::raw::publish(&mut s, topic).await,
            Some(false),
            "{topic:?}"
        );
    }
    let (mut s, _) =
        common::raw::connect((&t.host, t.port), &t.lock_a, &t.lock_a, &t.secret_a).await;
    assert_eq!(
        common::raw::publish(&mut s, &hemtid_gateway::events_topic(&t.lock_a)).await,
        Some(true),
        "its own topic is fine"
    );
    // A malformed filter gets a failure (0x80) or ends the connection.
    drop(s);
    let (mut s, _) =
        common::raw::connect((&t.host, t.port), &t.lock_a, &t.lock_a, &t.secret_a).await;
    let answer = common::raw::subscribe(&mut s, "a/#/b").await;
    assert!(matches!(answer, Some(0x80) | None), "{answer:?}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_lock_or_a_rotated_secret_ends_the_connection_at_once() {
    let (t, _b) = embedded().await;
    let mut a = Conn::connect(&t, &t.lock_a, &t.lock_a, &t.secret_a)
        .await
        .unwrap();
    assert_eq!(
        a.subscribe(&hemtid_gateway::receipts_topic(&t.lock_a))
            .await,
        Some(true)
    );
    // Rotating the secret ends the connection, and the old one no longer
    // signs in.
    let new_hash = hemtid_core::auth::hash_token("hdk_rotated");
    hemtid_core::db::device::rotate_secret(
        &mut t.pool.get().unwrap(),
        &t.provider_a,
        &t.lock_a,
        &new_hash,
        None,
    )
    .unwrap();
    assert!(a.closed_within(Duration::from_secs(3)).await);
    let r = Conn::connect(&t, &t.lock_a, &t.lock_a, &t.secret_a).await;
    assert_eq!(r.err(), Some(ConnectReturnCode::BadUserNamePassword));
    let mut a = Conn::connect(&t, &t.lock_a, &t.lock_a, "hdk_rotated")
        .await
        .unwrap();
    assert_eq!(
        a.subscribe(&hemtid_gateway::receipts_topic(&t.lock_a))
            .await,
        Some(true)
    );
    // Retiring it ends the connection and it cannot come back; nothing
    // it was subscribed to reaches it.
    hemtid_core::db::device::retire(&mut t.pool.get().unwrap(), &t.provider_a, &t.lock_a).unwrap();
    assert!(a.closed_within(Duration::from_secs(3)).await);
    let r = Conn::connect(&t, &t.lock_a, &t.lock_a, "hdk_rotated").await;
    assert_eq!(r.err(), Some(ConnectReturnCode::BadUserNamePassword));
    // A revoked integration token ends the case system's connection too.
    let mut cs = Conn::connect(
        &t,
        "integration-test",
        broker::INTEGRATION_USER,
        &t.integration_token,
    )
    .await
    .unwrap();
    assert_eq!(
        cs.subscribe(&format!("hemtid/v1/caseworkers/{}/alerts", t.caseworker))
            .await,
        Some(true)
    );
    hemtid_core::db::api_token::revoke(
        &mut t.pool.get().unwrap(),
        &t.municipality,
        &t.integration_token_id,
    )
    .unwrap();
    assert!(cs.closed_within(Duration::from_secs(3)).await);
    // A provider's planning-system token is for HTTP only: as the case
    // system's user it does not sign in, so it reads no alerts.
    let planning = format!("hit_{}", uuid::Uuid::new_v4().simple());
    hemtid_core::db::api_token::create(
        &mut t.pool.get().unwrap(),
        &t.municipality,
        &uuid::Uuid::new_v4().to_string(),
        "planning system",
        &hemtid_core::auth::hash_token(&planning),
        Some(&t.provider_a),
    )
    .unwrap();
    let r = Conn::connect(&t, "planning-test", broker::INTEGRATION_USER, &planning).await;
    assert_eq!(r.err(), Some(ConnectReturnCode::BadUserNamePassword));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_payloads_and_wildcards_cannot_grow_the_broker() {
    let (t, _b) = embedded().await;
    // A 250 KB publish from a device ends its connection at the decoder;
    // nothing is stored or dead-lettered for it.
    let mut a = Conn::connect(&t, &t.lock_a, &t.lock_a, &t.secret_a)
        .await
        .unwrap();
    a.client
        .publish(
            hemtid_gateway::events_topic(&t.lock_a),
            QoS::AtLeastOnce,
            false,
            vec![b'x'; 250_000],
        )
        .await
        .unwrap();
    assert!(a.closed_within(Duration::from_secs(5)).await);
    // Wildcard subscriptions create nothing.
    let mut a = Conn::connect(&t, &t.lock_a, &t.lock_a, &t.secret_a)
        .await
        .unwrap();
    for f in [
        "#",
        "+/#",
        "hemtid/#",
        "hemtid/v1/+/+/+",
        "$SYS/#",
        "a/b/c/#",
    ] {
        assert_eq!(a.subscribe(f).await, Some(false), "{f}");
    }
    // The lock still works.
    let e = event("unlock", 3, "fob-anna");
    a.client
        .publish(
            hemtid_gateway::events_topic(&t.lock_a),
            QoS::AtLeastOnce,
            false,
            serde_json::to_vec(&e).unwrap(),
        )
        .await
        .unwrap();
    common::wait_for("the event stored", 20, || t.events_of(&t.lock_a) == 1).await;
    assert_eq!(t.count("dead_letter"), 0, "{:?}", t.dead_letters());
    t.stop().await;
}
