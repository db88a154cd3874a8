//! The device registry, staff credentials and dead letters over HTTP.

use super::*;

#[actix_web::test]
async fn a_provider_admin_registers_binds_and_retires_devices() {
    let ctx = setup().await;
    let chef = ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sven = ctx.find("/api/v1/clients", "given_name", "Sven").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let post = |token: String, path: &'static str, body: Value| {
        let ctx = &ctx;
        async move { ctx.call(Method::POST, path, Some(&token), Some(body)).await }
    };
    let r = post(
        chef.clone(),
        "/api/v1/devices",
        json!({"id": "lock-0042", "kind": "door_lock", "client_id": lisa, "signed": true}),
    )
    .await;
    let d = r.ok(StatusCode::CREATED).clone();
    assert!(d["mqtt_password"].as_str().unwrap().starts_with("hdk_"));
    assert_eq!(d["hmac_key"].as_str().unwrap().len(), 64);
    assert_eq!(
        (d["status"].as_str(), d["signs_payloads"].as_bool()),
        (Some("active"), Some(true))
    );
    assert!(d.get("secret_hash").is_none());
    post(
        chef.clone(),
        "/api/v1/devices",
        json!({"id": "lock-0042", "kind": "door_lock"}),
    )
    .await
    .problem(ErrorCode::AlreadyExists);
    // Devices sign by default; one that cannot is registered so explicitly.
    let r = post(
        chef.clone(),
        "/api/v1/devices",
        json!({"id": "lock-0043", "kind": "door_lock"}),
    )
    .await;
    let d = r.ok(StatusCode::CREATED).clone();
    assert_eq!(d["hmac_key"].as_str().map(str::len), Some(64), "{d}");
    assert_eq!(d["signs_payloads"], true);
    let r = post(
        chef.clone(),
        "/api/v1/devices",
        json!({"id": "lock-0044", "kind": "door_lock", "signed": false}),
    )
    .await;
    let d = r.ok(StatusCode::CREATED).clone();
    assert_eq!(
        (d["hmac_key"].clone(), d["signs_payloads"].clone()),
        (Value::Null, json!(false))
    );
    // Ids beginning with "hemtid-" are the gateway's client ids.
    let r = post(
        chef.clone(),
        "/api/v1/devices",
        json!({"id": "hemtid-gateway", "kind": "door_lock"}),
    )
    .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("id".into(), "reserved_device_id".into())]
    );
    // A new broker password: the old one is gone, the device is the same.
    let r = ctx
        .call(
            Method::POST,
            "/api/v1/devices/lock-0043/secret",
            Some(&chef),
            None,
        )
        .await;
    let rotated = r.ok(StatusCode::OK).clone();
    assert!(
        rotated["mqtt_password"]
            .as_str()
            .unwrap()
            .starts_with("hdk_")
    );
    assert_eq!(rotated["id"], "lock-0043");
    assert!(rotated.get("hmac_key").is_none());
    let r = post(
        chef.clone(),
        "/api/v1/devices",
        json!({"id": "bad/id", "kind": "toaster", "client_id": sven}),
    )
    .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("id".into(), "invalid_device_id".into()),
            ("kind".into(), "invalid_value".into()),
            ("client_id".into(), "unknown_reference".into()),
        ]
    );
    // Rebind to nobody, then retire.
    let r = ctx
        .call(
            Method::PUT,
            "/api/v1/devices/lock-0042/binding",
            Some(&chef),
            Some(json!({"client_id": null})),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["client_id"], Value::Null);
    let r = ctx
        .call(
            Method::POST,
            "/api/v1/devices/lock-0042/retire",
            Some(&chef),
            None,
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["status"], "retired");
    let r = ctx
        .call(Method::GET, "/api/v1/devices", Some(&chef), None)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"].as_array().unwrap().len(), 3);
    // Another provider's admin does not see it; care workers may not register.
    let other = ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;
    ctx.call(Method::GET, "/api/v1/devices/lock-0042", Some(&other), None)
        .await
        .problem(ErrorCode::NotFound);
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    post(
        anna,
        "/api/v1/devices",
        json!({"id": "x", "kind": "nfc_tag"}),
    )
    .await
    .problem(ErrorCode::Forbidden);

    // Staff credentials: only the provider's own care workers.
    let anna_id = ctx.find("/api/v1/users", "username", "demo.anna").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cecilia_id = ctx.find("/api/v1/users", "username", "demo.cecilia").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(
        chef.clone(),
        "/api/v1/staff-credentials",
        json!({"credential": "fob-17", "staff_id": anna_id, "kind": "key_fob"}),
    )
    .await;
    assert_eq!(r.ok(StatusCode::CREATED)["active"], true);
    let r = post(
        chef.clone(),
        "/api/v1/staff-credentials",
        json!({"credential": "fob-18", "staff_id": cecilia_id, "kind": "key_fob"}),
    )
    .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("staff_id".into(), "unknown_reference".into())]
    );
    ctx.call(
        Method::POST,
        "/api/v1/staff-credentials/fob-17/revoke",
        Some(&chef),
        None,
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    let r = ctx
        .call(Method::GET, "/api/v1/staff-credentials", Some(&chef), None)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"][0]["active"], false);
}

#[actix_web::test]
async fn dead_letters_are_listed_and_replayed_by_the_admin() {
    let ctx = setup().await;
    let chef = ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let anna_id = ctx.find("/api/v1/users", "username", "demo.anna").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ctx.call(
        Method::POST,
        "/api/v1/staff-credentials",
        Some(&chef),
        Some(json!({"credential": "fob-1", "staff_id": anna_id, "kind": "key_fob"})),
    )
    .await
    .ok(StatusCode::CREATED);
    ctx.call(
        Method::POST,
        "/api/v1/devices",
        Some(&chef),
        // Its events here are unsigned: registered so, explicitly.
        Some(json!({"id": "lock-7", "kind": "door_lock", "client_id": lisa, "signed": false})),
    )
    .await
    .ok(StatusCode::CREATED);
    let received: chrono::DateTime<chrono::Utc> = NOW.parse().unwrap();
    let pool = ctx.state.pool.clone();
    let send = |device: &str, body: &[u8]| {
        hemtid_core::ingest::ingest(
            &mut pool.get().unwrap(),
            &format!("hemtid/v1/devices/{device}/events"),
            body,
            received,
        )
        .unwrap()
    };
    // A fob nobody registered yet, a device nobody knows, and a payload
    // far over the limit.
    let body = json!({"event_id": uuid::Uuid::new_v4(), "kind": "unlock", "occurred_at": "2026-11-22T08:00:00+01:00",
                      "staff_credential": "fob-new"});
    send("lock-7", body.to_string().as_bytes());
    send("lock-unknown", body.to_string().as_bytes());
    send("lock-7", &vec![b'x'; 250_000]);
    let r = ctx.get("/api/v1/dead-letters").await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    // The unknown device's message belongs to no municipality: counted,
    // not kept.
    assert_eq!(items.len(), 2, "{items:?}");
    let big = items
        .iter()
        .find(|l| l["reason"] == "payload_too_large")
        .unwrap();
    assert_eq!(
        (
            big["payload"].as_str().unwrap().len(),
            big["payload_bytes"].as_i64(),
            big["truncated"].as_bool()
        ),
        (4096, Some(250_000), Some(true))
    );
    assert_eq!(big["payload_sha256"].as_str().map(str::len), Some(64));
    let path = |l: &Value| format!("/api/v1/dead-letters/{}/replay", l["id"].as_str().unwrap());
    ctx.call(Method::POST, &path(big), Some(&ctx.admin), None)
        .await
        .problem(ErrorCode::ReplayRejected);
    let dl = items
        .iter()
        .find(|l| l["reason"] == "unknown_credential")
        .unwrap();
    assert_eq!(dl["device_id"], "lock-7");
    assert!(dl["payload"].as_str().unwrap().contains("fob-new"));
    ctx.call(Method::POST, &path(dl), Some(&ctx.admin), None)
        .await
        .problem(ErrorCode::ReplayRejected);
    // Another municipality's admin neither lists nor replays it.
    {
        let mut conn = pool.get().unwrap();
        let other = hemtid_core::db::municipality::create(
            &mut conn,
            "0180",
            "Stockholm",
            &Default::default(),
        )
        .unwrap();
        let hash = hemtid_core::auth::hash_password("other admin password").unwrap();
        hemtid_core::db::user_account::create(
            &mut conn,
            &other.id,
            &hemtid_core::db::new_id(),
            &hemtid_core::db::user_account::UserFields {
                username: "sthlm.admin".into(),
                display_name: "S".into(),
                role: hemtid_core::model::Role::Admin,
                provider_id: None,
                authority_unit_id: None,
                active: true,
                external_id: None,
            },
            Some(&hash),
        )
        .unwrap();
    }
    let sthlm = ctx.login("sthlm.admin", "other admin password").await;
    let r = ctx
        .call(Method::GET, "/api/v1/dead-letters", Some(&sthlm), None)
        .await;
    assert!(r.ok(StatusCode::OK)["items"].as_array().unwrap().is_empty());
    ctx.call(Method::POST, &path(dl), Some(&sthlm), None)
        .await
        .problem(ErrorCode::NotFound);
    // Once the fob is registered, the admin's replay stores the event.
    ctx.call(
        Method::POST,
        "/api/v1/staff-credentials",
        Some(&chef),
        Some(json!({"credential": "fob-new", "staff_id": anna_id, "kind": "key_fob"})),
    )
    .await
    .ok(StatusCode::CREATED);
    let r = ctx
        .call(Method::POST, &path(dl), Some(&ctx.admin), None)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["result"], "stored");
    // Only the admin.
    ctx.call(Method::GET, "/api/v1/dead-letters", Some(&chef), None)
        .await
        .problem(ErrorCode::Forbidden);
    // A conflicting re-send: the provider admin sees both versions.
    let mut moved = body.clone();
    moved["occurred_at"] = json!("2026-11-22T10:00:00+01:00");
    assert!(matches!(
        send("lock-7", moved.to_string().as_bytes()),
        hemtid_core::ingest::Outcome::Conflict { .. }
    ));
    let r = ctx
        .call(
            Method::GET,
            "/api/v1/provider/device-conflicts",
            Some(&chef),
            None,
        )
        .await;
    let conflicts = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert!(
        conflicts[0]["payload"]
            .as_str()
            .unwrap()
            .contains("10:00:00")
    );
    assert!(
        conflicts[0]["stored_payload"]
            .as_str()
            .unwrap()
            .contains("08:00:00")
    );
    let other_chef = ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;
    let r = ctx
        .call(
            Method::GET,
            "/api/v1/provider/device-conflicts",
            Some(&other_chef),
            None,
        )
        .await;
    assert!(r.ok(StatusCode::OK)["items"].as_array().unwrap().is_empty());
    ctx.call(Method::POST, &path(&conflicts[0]), Some(&ctx.admin), None)
        .await
        .problem(ErrorCode::ReplayRejected);
}

#[actix_web::test]
async fn phone_and_lock_seeing_one_visit_make_one_visit_with_both_as_evidence() {
    let ctx = setup().await;
    let chef = ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await;
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let anna_id = ctx.find("/api/v1/users", "username", "demo.anna").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ctx.call(
        Method::POST,
        "/api/v1/devices",
        Some(&chef),
        // Its events here are unsigned: registered so, explicitly.
        Some(json!({"id": "lock-5", "kind": "door_lock", "client_id": lisa, "signed": false})),
    )
    .await
    .ok(StatusCode::CREATED);
    ctx.call(
        Method::POST,
        "/api/v1/staff-credentials",
        Some(&chef),
        Some(json!({"credential": "fob-a", "staff_id": anna_id, "kind": "key_fob"})),
    )
    .await
    .ok(StatusCode::CREATED);
    let lock = |kind: &str, at: &str| {
        let body = json!({"event_id": uuid::Uuid::new_v4(), "kind": kind, "occurred_at": at, "staff_credential": "fob-a"});
        let pool = ctx.state.pool.clone();
        let received: chrono::DateTime<chrono::Utc> = NOW.parse().unwrap();
        hemtid_core::ingest::ingest(
            &mut pool.get().unwrap(),
            "hemtid/v1/devices/lock-5/events",
            body.to_string().as_bytes(),
            received,
        )
        .unwrap()
    };
    let phone =
        |path: &'static str, body: Value| ctx.call(Method::POST, path, Some(&anna), Some(body));
    // The door opens with Anna's fob, then her phone reads the NFC tag.
    lock("unlock", "2026-11-19T07:59:00+01:00");
    phone(
        "/api/v1/visits/check-in",
        json!({"event_id": uuid::Uuid::new_v4(), "client_id": lisa,
          "occurred_at": "2026-11-19T08:00:00+01:00", "method": "nfc", "tag_uid": "t"}),
    )
    .await
    .ok(StatusCode::CREATED);
    phone(
        "/api/v1/visits/check-out",
        json!({"event_id": uuid::Uuid::new_v4(), "client_id": lisa,
          "occurred_at": "2026-11-19T08:40:00+01:00", "services": [{"code": "O-Tillsyn"}]}),
    )
    .await
    .ok(StatusCode::CREATED);
    lock("lock", "2026-11-19T08:41:00+01:00");
    let day = ctx
        .call(
            Method::GET,
            "/api/v1/provider/visits?date=2026-11-19",
            Some(&chef),
            None,
        )
        .await;
    let visits = day.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    assert_eq!(visits.len(), 1, "{visits:?}");
    let v = &visits[0];
    assert_eq!(
        (
            v["status"].as_str(),
            v["seconds"].as_i64(),
            v["method"].as_str()
        ),
        (Some("closed"), Some(41 * 60), Some("lock"))
    );
    assert_eq!(v["services"][0]["code"], "O-Tillsyn");
    let ev = ctx
        .call(
            Method::GET,
            &format!("/api/v1/visits/{}/evidence", v["id"].as_str().unwrap()),
            Some(&chef),
            None,
        )
        .await;
    let sources: Vec<String> = ev.ok(StatusCode::OK)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["source"].as_str().unwrap(),
                e["kind"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        sources,
        vec![
            "device:check_in",
            "phone:check_in",
            "phone:check_out",
            "device:check_out"
        ]
    );
}

#[actix_web::test]
async fn a_low_battery_raises_one_notice_until_the_battery_is_changed() {
    let ctx = setup().await;
    let chef = ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let anna_id = ctx.find("/api/v1/users", "username", "demo.anna").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ctx.call(
        Method::POST,
        "/api/v1/devices",
        Some(&chef),
        // Its events here are unsigned: registered so, explicitly.
        Some(json!({"id": "lock-9", "kind": "door_lock", "client_id": lisa, "signed": false})),
    )
    .await
    .ok(StatusCode::CREATED);
    ctx.call(
        Method::POST,
        "/api/v1/staff-credentials",
        Some(&chef),
        Some(json!({"credential": "fob-9", "staff_id": anna_id, "kind": "key_fob"})),
    )
    .await
    .ok(StatusCode::CREATED);
    let report = |battery: u8, minute: u32| {
        let body = json!({"event_id": uuid::Uuid::new_v4(), "kind": "tag_read", "staff_credential": "fob-9",
                          "occurred_at": format!("2026-11-21T10:{minute:02}:00+01:00"), "battery_pct": battery});
        let pool = ctx.state.pool.clone();
        let received: chrono::DateTime<chrono::Utc> = NOW.parse().unwrap();
        hemtid_core::ingest::ingest(
            &mut pool.get().unwrap(),
            "hemtid/v1/devices/lock-9/events",
            body.to_string().as_bytes(),
            received,
        )
        .unwrap();
    };
    let notices = |all: bool| {
        let path = format!("/api/v1/provider/notices?all={all}");
        let ctx = &ctx;
        let chef = chef.clone();
        async move {
            ctx.call(Method::GET, &path, Some(&chef), None)
                .await
                .ok(StatusCode::OK)["items"]
                .clone()
        }
    };
    report(35, 0);
    assert_eq!(notices(false).await, json!([]));
    report(15, 1);
    report(12, 2);
    let open = notices(false).await;
    assert_eq!(
        open.as_array().unwrap().len(),
        1,
        "one notice, not one per message"
    );
    assert_eq!(
        open[0]["message"],
        "Lågt batteri (15 %) i låset lock-9. Byt batteri snart."
    );
    let r = ctx
        .call(Method::GET, "/api/v1/devices/lock-9", Some(&chef), None)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["battery_low"], true);
    report(100, 3);
    assert_eq!(notices(false).await, json!([]));
    assert!(notices(true).await[0]["resolved_at"].is_string());
}

#[actix_web::test]
async fn a_care_worker_gets_a_short_lived_key_for_a_lock_and_the_admin_revokes_it() {
    let mut ctx = setup().await;
    let keys = hemtid_core::auth::lock_keys::LockKeys::from_seed(&[3u8; 32]).unwrap();
    ctx.state = AppState::build(
        ctx.state.pool.clone(),
        hemtid_core::auth::TokenKeys::new(&[42u8; 32], 900),
        Clock::Fixed(NOW.parse().unwrap()),
        Some(keys.clone()),
    );
    let chef = ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await;
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let anna_id = ctx.find("/api/v1/users", "username", "demo.anna").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = ctx
        .call(
            Method::POST,
            "/api/v1/devices",
            Some(&chef),
            Some(json!({"id": "lock-k", "kind": "door_lock", "client_id": lisa})),
        )
        .await;
    // Enrolment gives the key the lock pins: it signs its configurations.
    let enrolled = r.ok(StatusCode::CREATED).clone();
    assert_eq!(
        (
            enrolled["lock_signing_key"]["algorithm"].as_str(),
            enrolled["lock_signing_key"]["public_key"].as_str()
        ),
        (Some("EdDSA"), Some(keys.public_key().as_str()))
    );
    let r = ctx
        .call(Method::POST, "/api/v1/locks/lock-k/key", Some(&anna), None)
        .await;
    let k = r.ok(StatusCode::CREATED).clone();
    assert_eq!(k["expires_at"], "2026-11-22T12:10:00Z");
    // The lock verifies it with the public key alone (the fixed clock is in
    // the past, so check the signature and claims, not the time).
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.validate_exp = false;
    v.validate_nbf = false;
    let claims = jsonwebtoken::decode::<hemtid_core::auth::lock_keys::KeyClaims>(
        k["key"].as_str().unwrap(),
        &jsonwebtoken::DecodingKey::from_ed_components(&keys.public_key()).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(
        (
            claims.lock.as_str(),
            claims.sub.as_str(),
            claims.jti.as_str()
        ),
        ("lock-k", anna_id.as_str(), k["key_id"].as_str().unwrap())
    );
    // Not for locks elsewhere, not for the admin.
    ctx.call(
        Method::POST,
        "/api/v1/locks/lock-nowhere/key",
        Some(&anna),
        None,
    )
    .await
    .problem(ErrorCode::NotFound);
    let cecilia = ctx.login("demo.cecilia", seed::DEMO_PASSWORD).await;
    ctx.call(
        Method::POST,
        "/api/v1/locks/lock-k/key",
        Some(&cecilia),
        None,
    )
    .await
    .problem(ErrorCode::NotFound);
    ctx.call(Method::POST, "/api/v1/locks/lock-k/key", Some(&chef), None)
        .await
        .problem(ErrorCode::Forbidden);
    // The admin revokes all of Anna's keys; the lock's configuration lists it.
    let r = ctx
        .call(
            Method::POST,
            &format!("/api/v1/users/{anna_id}/keys/revoke"),
            Some(&chef),
            None,
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["revoked"], 1);
    let pool = ctx.state.pool.clone();
    let cfg = hemtid_core::db::digital_key::lock_config(
        &mut pool.get().unwrap(),
        "lock-k",
        NOW.parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            .naive_utc(),
        1,
    )
    .unwrap()
    .unwrap();
    assert_eq!(cfg.revoked, vec![k["key_id"].as_str().unwrap().to_string()]);
    assert_eq!(cfg.public_key, keys.public_key());
}
