//! Device messages on a real database: rules, duplicates, every dead
//! letter reason, replay.

use super::ingest::{self, Outcome};
use crate::db::testing::TestDb;
use crate::db::*;
use crate::seed;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

struct Fx {
    _db: TestDb,
    conn: DbConn,
    now: DateTime<Utc>,
}

fn fx() -> Fx {
    let db = TestDb::new();
    let mut conn = db.connect();
    let demo = seed::demo(&mut conn, NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()).unwrap();
    let m = demo.municipality.id;
    let anna = user_account::find_by_username(&mut conn, "demo.anna")
        .unwrap()
        .unwrap();
    let provider = anna.fields.provider_id.clone().unwrap();
    let lisa = client::list(&mut conn, &m)
        .unwrap()
        .into_iter()
        .find(|c| c.fields.given_name == "Lisa")
        .unwrap();
    let t = now();
    for (id, kind, key) in [
        ("lock-1", "door_lock", None),
        (
            "nfc-1",
            "nfc_reader",
            Some("00112233445566778899aabbccddeeff"),
        ),
    ] {
        device::create(
            &mut conn,
            &device::NewDevice {
                id: id.into(),
                municipality_id: m.clone(),
                provider_id: provider.clone(),
                kind: crate::model::DeviceKind::parse(kind).expect("a device kind"),
                client_id: Some(lisa.id.clone()),
                secret_hash: crate::auth::hash_token("hdk_secret"),
                hmac_key: key.map(str::to_string),
                status: crate::model::DeviceStatus::Active,
                created_at: t,
                updated_at: t,
            },
        )
        .unwrap();
    }
    staff_credential::create(
        &mut conn,
        &staff_credential::StaffCredential {
            municipality_id: m,
            credential: "fob-anna".into(),
            staff_id: anna.id,
            kind: crate::model::CredentialKind::KeyFob,
            active: true,
            created_at: t,
            revoked_at: None,
        },
    )
    .unwrap();
    Fx {
        _db: db,
        conn,
        now: "2026-11-22T12:00:00Z".parse().unwrap(),
    }
}

fn msg(kind: &str, at: &str) -> Value {
    json!({"event_id": uuid::Uuid::new_v4(), "kind": kind, "occurred_at": at, "staff_credential": "fob-anna",
           "battery_pct": 77, "firmware": "2.1.0"})
}

impl Fx {
    fn send(&mut self, device: &str, body: &Value) -> Outcome {
        let topic = format!("hemtid/v1/devices/{device}/events");
        ingest::ingest(
            &mut self.conn,
            &topic,
            body.to_string().as_bytes(),
            self.now,
        )
        .unwrap()
    }

    fn dead(&mut self, device: &str, payload: &[u8]) -> &'static str {
        let topic = format!("hemtid/v1/devices/{device}/events");
        match ingest::ingest(&mut self.conn, &topic, payload, self.now).unwrap() {
            Outcome::Dead { rejection, .. } => rejection.reason,
            other => panic!("expected a dead letter, got {other:?}"),
        }
    }
}

#[test]
fn unlock_and_lock_make_a_visit_once() {
    let mut f = fx();
    let unlock = msg("unlock", "2026-11-20T08:00:00+01:00");
    assert!(matches!(f.send("lock-1", &unlock), Outcome::Stored { .. }));
    // The same message five times: stored once.
    for _ in 0..5 {
        assert!(matches!(
            f.send("lock-1", &unlock),
            Outcome::Duplicate { .. }
        ));
    }
    let Outcome::Stored { visits, .. } =
        f.send("lock-1", &msg("lock", "2026-11-20T08:40:00+01:00"))
    else {
        panic!("stored")
    };
    let v = &visits[0];
    assert_eq!(
        (v.fields.status, v.fields.seconds),
        (crate::model::VisitStatus::Closed, Some(2400))
    );
    assert_eq!(v.fields.method, Some(crate::model::Method::Lock));
    // A tag read inside the home is evidence, not a check-in.
    assert!(
        matches!(f.send("nfc-1", &signed(msg("tag_read", "2026-11-20T08:10:00+01:00"))), Outcome::Stored { visits, .. } if visits.is_empty())
    );
    let d = device::get_any(&mut f.conn, "lock-1").unwrap();
    assert_eq!(
        (d.battery_pct, d.firmware.as_deref()),
        (Some(77), Some("2.1.0"))
    );
    assert!(d.last_seen_at.is_some());
}

fn signed(mut body: Value) -> Value {
    let sig = ingest::sign(
        "00112233445566778899aabbccddeeff",
        &ingest::DeviceMessage::signed_text(&body),
    )
    .unwrap();
    body["sig"] = json!(sig);
    body
}

#[test]
fn a_lock_event_closes_the_phone_visit_of_the_same_staff_member() {
    let mut f = fx();
    let anna = user_account::find_by_username(&mut f.conn, "demo.anna")
        .unwrap()
        .unwrap();
    let lisa_id = device::get_any(&mut f.conn, "lock-1")
        .unwrap()
        .client_id
        .unwrap();
    // A phone check-in…
    let at: DateTime<Utc> = "2026-11-20T07:00:00Z".parse().unwrap();
    let e = visit_event::NewVisitEvent {
        id: new_id().into(),
        source: crate::model::Source::Phone,
        source_key: anna.id.to_string(),
        event_id: "phone-1".into(),
        kind: crate::model::EventKind::CheckIn,
        staff_id: anna.id.clone(),
        client_id: lisa_id,
        provider_id: anna.fields.provider_id.clone().unwrap(),
        occurred_at: at.naive_utc(),
        received_at: now(),
        local_date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        method: Some(crate::model::Method::Nfc),
        method_ref: Some("tag".into()),
        reason: None,
        payload: "{}".into(),
    };
    let rules = crate::domain::Rules {
        tz: crate::domain::STOCKHOLM,
        max_seconds: 12 * 3600,
        window: crate::domain::figures::FrameWindow {
            start_minute: 420,
            end_minute: 1320,
        },
    };
    crate::record::record(&mut f.conn, &e, None, rules).unwrap();
    // … closed by locking the door on the way out.
    let Outcome::Stored { visits, .. } =
        f.send("lock-1", &msg("lock", "2026-11-20T08:30:00+01:00"))
    else {
        panic!("stored")
    };
    let v = visits.iter().find(|v| v.id.named_after(&e.id)).unwrap();
    assert_eq!(
        (v.fields.status.as_str(), v.fields.seconds),
        ("closed", Some(1800))
    );
}

#[test]
fn every_bad_input_is_dead_lettered_and_the_next_good_one_lands() {
    let mut f = fx();
    let good = || msg("check_in", "2026-11-21T09:00:00+01:00");
    assert_eq!(f.dead("lock-1", b"{not json"), "malformed_json");
    assert_eq!(f.dead("lock-1", b"{\"event_id\": 1}"), "invalid_payload");
    assert_eq!(f.dead("lock-1", &vec![b' '; 20_000]), "payload_too_large");
    assert_eq!(
        f.dead("lock-9", good().to_string().as_bytes()),
        "unknown_device"
    );
    let mut other = good();
    other["device_id"] = json!("lock-2");
    assert_eq!(
        f.dead("lock-1", other.to_string().as_bytes()),
        "device_mismatch"
    );
    assert_eq!(
        f.dead(
            "lock-1",
            msg("check_in", "2026-11-25T09:00:00+01:00")
                .to_string()
                .as_bytes()
        ),
        "timestamp_in_future"
    );
    assert_eq!(
        f.dead(
            "lock-1",
            msg("check_in", "2026-08-01T09:00:00+02:00")
                .to_string()
                .as_bytes()
        ),
        "timestamp_too_old"
    );
    let mut stranger = good();
    stranger["staff_credential"] = json!("fob-unknown");
    assert_eq!(
        f.dead("lock-1", stranger.to_string().as_bytes()),
        "unknown_credential"
    );
    assert_eq!(f.dead("nfc-1", good().to_string().as_bytes()), "unsigned");
    let mut forged = signed(good());
    forged["staff_credential"] = json!("fob-anna ");
    assert_eq!(
        f.dead("nfc-1", forged.to_string().as_bytes()),
        "bad_signature"
    );
    let bad_topic =
        ingest::ingest(&mut f.conn, "hemtid/v1/devices/a/b/events", b"{}", f.now).unwrap();
    assert!(
        matches!(bad_topic, Outcome::Dead { rejection, .. } if rejection.reason == "invalid_topic")
    );
    // The next good message still lands.
    assert!(matches!(f.send("lock-1", &good()), Outcome::Stored { .. }));
    assert!(matches!(
        f.send("nfc-1", &signed(good())),
        Outcome::Stored { .. }
    ));
    // Nine are kept; the unknown device's and the bad topic's belong to
    // no municipality and are only counted.
    let counts = dead_letter::counts(&mut f.conn).unwrap();
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 9, "{counts:?}");
    assert!(
        counts
            .iter()
            .all(|(r, _)| r != "unknown_device" && r != "invalid_topic")
    );
    let text = crate::metrics::global().render_counters();
    for reason in ["unknown_device", "invalid_topic"] {
        assert!(
            text.contains(&format!(
                "hemtid_dead_letters_not_kept_total{{reason=\"{reason}\"}}"
            )),
            "{text}"
        );
    }
    // The 20,000-byte payload: its first 4 KiB, its length and SHA-256.
    let m = device::get_any(&mut f.conn, "lock-1")
        .unwrap()
        .municipality_id;
    let big = dead_letter::list(&mut f.conn, &m, Some("lock-1"), 100)
        .unwrap()
        .into_iter()
        .find(|l| l.reason == "payload_too_large")
        .unwrap();
    assert_eq!((big.payload.len(), big.payload_bytes), (4096, 20_000));
    assert!(big.truncated());
    assert_eq!(
        big.payload_sha256.as_deref(),
        Some(
            crate::auth::to_hex(&<sha2::Sha256 as sha2::Digest>::digest(vec![b' '; 20_000]))
                .as_str()
        )
    );
    // Another municipality's admin sees none of them.
    assert!(
        dead_letter::list(&mut f.conn, "another", None, 100)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_conflicting_re_send_is_kept_with_both_versions_and_changes_nothing() {
    let mut f = fx();
    let first = msg("unlock", "2026-11-20T09:40:00+01:00");
    assert!(matches!(f.send("lock-1", &first), Outcome::Stored { .. }));
    let closing = msg("lock", "2026-11-20T10:10:00+01:00");
    let Outcome::Stored { visits, .. } = f.send("lock-1", &closing) else {
        panic!("stored")
    };
    let visit_before = visits[0].clone();
    // Byte for byte again, and the same content spelt otherwise (another
    // battery reading, another order of keys): duplicates.
    assert!(matches!(
        f.send("lock-1", &first),
        Outcome::Duplicate { .. }
    ));
    let mut same = first.clone();
    same["battery_pct"] = json!(12);
    same["occurred_at"] = json!("2026-11-20T08:40:00Z");
    assert!(matches!(f.send("lock-1", &same), Outcome::Duplicate { .. }));
    // The same event id with another time: a conflict.
    let mut moved = first.clone();
    moved["occurred_at"] = json!("2026-11-20T11:40:00+01:00");
    let Outcome::Conflict {
        dead_letter_id,
        event_id,
        ..
    } = f.send("lock-1", &moved)
    else {
        panic!("a conflict")
    };
    assert_eq!(event_id, first["event_id"].as_str().unwrap());
    let dl = dead_letter::get(&mut f.conn, &dead_letter_id.unwrap()).unwrap();
    assert_eq!(dl.reason, "conflicting_duplicate");
    assert!(
        dl.detail
            .contains("occurred_at 2026-11-20T09:40:00+01:00 -> 2026-11-20T11:40:00+01:00"),
        "{}",
        dl.detail
    );
    assert_eq!(dl.payload, moved.to_string().into_bytes());
    assert_eq!(dl.stored_payload, Some(first.to_string().into_bytes()));
    // The provider admin sees it; the stored event and its visit stand.
    let provider = device::get_any(&mut f.conn, "lock-1").unwrap().provider_id;
    let conflicts = dead_letter::conflicts_of_provider(&mut f.conn, &provider, 10).unwrap();
    assert_eq!(conflicts.len(), 1);
    let stored = visit_event::find(
        &mut f.conn,
        crate::model::Source::Device,
        "lock-1",
        first["event_id"].as_str().unwrap(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(stored.occurred_at.format("%H:%M").to_string(), "08:40");
    let visit_after = visit::get(&mut f.conn, &visit_before.id).unwrap();
    assert_eq!(visit_after.fields.seconds, visit_before.fields.seconds);
    // Another kind under the same event id is a conflict too, even one
    // the event row cannot tell apart (unlock and check_in are both
    // check-ins).
    let mut other_kind = first.clone();
    other_kind["kind"] = json!("check_in");
    assert!(matches!(
        f.send("lock-1", &other_kind),
        Outcome::Conflict { .. }
    ));
}

#[test]
fn an_event_stored_before_messages_were_kept_is_compared_by_its_row() {
    let mut f = fx();
    let first = msg("unlock", "2026-11-20T09:40:00+01:00");
    assert!(matches!(f.send("lock-1", &first), Outcome::Stored { .. }));
    // As if stored before migration 000015.
    {
        use diesel::prelude::*;
        diesel::delete(crate::db::schema::device_message::table)
            .execute(&mut f.conn)
            .unwrap();
    }
    assert!(matches!(
        f.send("lock-1", &first),
        Outcome::Duplicate { .. }
    ));
    let mut moved = first.clone();
    moved["occurred_at"] = json!("2026-11-20T11:40:00+01:00");
    assert!(matches!(f.send("lock-1", &moved), Outcome::Conflict { .. }));
}

#[test]
fn conflicting_versions_in_one_batch_keep_the_first() {
    let mut f = fx();
    let dir = std::sync::Arc::new(ingest::Directory::default());
    let first = msg("unlock", "2026-11-20T09:40:00+01:00");
    let mut moved = first.clone();
    moved["occurred_at"] = json!("2026-11-20T11:40:00+01:00");
    assert_eq!(
        directory_batch(&mut f, &dir, &[first.clone(), first.clone(), moved]),
        ["Stored", "Duplicate", "Conflict"]
    );
}

#[test]
fn a_device_leaves_a_bounded_number_of_dead_letters() {
    let mut f = fx();
    let dir = std::sync::Arc::new(ingest::Directory::default());
    let bad: Vec<Value> = (0..130).map(|i| json!({"event_id": i})).collect();
    let reasons = directory_batch(&mut f, &dir, &bad);
    assert!(
        reasons.iter().all(|r| r == "invalid_payload"),
        "{reasons:?}"
    );
    let kept: i64 = dead_letter::counts(&mut f.conn)
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(kept, ingest::DEAD_LETTERS_PER_DEVICE_BURST as i64);
    // A good message still lands.
    assert_eq!(
        directory_batch(&mut f, &dir, &[msg("unlock", "2026-11-20T08:00:00+01:00")]),
        ["Stored"]
    );
}

#[test]
fn a_dead_letter_replays_once_the_credential_is_registered() {
    let mut f = fx();
    let mut body = msg("check_in", "2026-11-21T10:00:00+01:00");
    body["staff_credential"] = json!("fob-new");
    let Outcome::Dead { dead_letter_id, .. } = f.send("lock-1", &body) else {
        panic!("dead")
    };
    let dead_letter_id = dead_letter_id.expect("kept");
    let again = ingest::replay(&mut f.conn, &dead_letter_id, now()).unwrap();
    let Outcome::Dead {
        rejection,
        dead_letter_id: kept,
        ..
    } = again
    else {
        panic!("refused again: {again:?}")
    };
    assert_eq!(rejection.reason, "unknown_credential");
    // A refused replay adds no dead letter: it names the one replayed.
    assert_eq!(kept.as_deref(), Some(dead_letter_id.as_str()));
    let anna = user_account::find_by_username(&mut f.conn, "demo.anna")
        .unwrap()
        .unwrap();
    staff_credential::create(
        &mut f.conn,
        &staff_credential::StaffCredential {
            municipality_id: anna.municipality_id.clone(),
            credential: "fob-new".into(),
            staff_id: anna.id,
            kind: crate::model::CredentialKind::KeyFob,
            active: true,
            created_at: now(),
            revoked_at: None,
        },
    )
    .unwrap();
    assert!(matches!(
        ingest::replay(&mut f.conn, &dead_letter_id, now()).unwrap(),
        Outcome::Stored { .. }
    ));
    let dl = dead_letter::get(&mut f.conn, &dead_letter_id).unwrap();
    assert_eq!(dl.replay_result.as_deref(), Some("stored"));
    // Replaying again is a harmless duplicate.
    assert!(matches!(
        ingest::replay(&mut f.conn, &dead_letter_id, now()).unwrap(),
        Outcome::Duplicate { .. }
    ));
}

#[test]
fn a_device_no_municipality_knows_is_counted_not_kept() {
    let mut f = fx();
    let body = msg("check_in", "2026-11-21T10:00:00+01:00");
    let Outcome::Dead {
        dead_letter_id,
        rejection,
        ..
    } = f.send("lock-new", &body)
    else {
        panic!("dead")
    };
    assert_eq!((rejection.reason, dead_letter_id), ("unknown_device", None));
    assert_eq!(dead_letter::counts(&mut f.conn).unwrap().len(), 0);
}

/// Registers a signing key (once) and a digital key for Anna.
fn issue_key(f: &mut Fx, id: &str, lock: &str, revoked_at: Option<chrono::NaiveDateTime>) {
    let keys = crate::auth::lock_keys::LockKeys::from_seed(&[5u8; 32]).unwrap();
    digital_key::register_signing_key(&mut f.conn, keys.kid(), &keys.public_key(), now()).unwrap();
    let anna = user_account::find_by_username(&mut f.conn, "demo.anna")
        .unwrap()
        .unwrap();
    let issued = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    digital_key::issue(
        &mut f.conn,
        &digital_key::DigitalKey {
            id: id.into(),
            kid: keys.kid().into(),
            device_id: lock.into(),
            staff_id: anna.id,
            issued_at: issued,
            expires_at: issued + chrono::Duration::days(30),
            revoked_at,
        },
    )
    .unwrap();
}

#[test]
fn a_digital_key_names_the_staff_member_until_it_is_revoked() {
    let mut f = fx();
    let revoked = chrono::NaiveDate::from_ymd_opt(2026, 11, 21)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    issue_key(&mut f, "key-a", "lock-1", Some(revoked));
    issue_key(&mut f, "key-b", "nfc-1", None);
    let keyed = |key: &str, at: &str| json!({"event_id": uuid::Uuid::new_v4(), "kind": "unlock", "occurred_at": at, "key_id": key});
    // Before the revocation it opens the door, and the visit is Anna's.
    assert!(matches!(
        f.send("lock-1", &keyed("key-a", "2026-11-20T09:00:00+01:00")),
        Outcome::Stored { .. }
    ));
    assert_eq!(
        f.dead(
            "lock-1",
            keyed("key-a", "2026-11-21T09:00:00+01:00")
                .to_string()
                .as_bytes()
        ),
        "key_revoked"
    );
    assert_eq!(
        f.dead(
            "lock-1",
            keyed("key-b", "2026-11-20T10:00:00+01:00")
                .to_string()
                .as_bytes()
        ),
        "key_for_another_lock"
    );
    assert_eq!(
        f.dead(
            "lock-1",
            keyed("key-zzz", "2026-11-20T10:00:00+01:00")
                .to_string()
                .as_bytes()
        ),
        "unknown_key"
    );
    let mut anonymous = msg("unlock", "2026-11-20T10:00:00+01:00");
    anonymous
        .as_object_mut()
        .unwrap()
        .remove("staff_credential");
    assert_eq!(
        f.dead("lock-1", anonymous.to_string().as_bytes()),
        "missing_credential"
    );
    // The lock's configuration lists the revoked key until it expires (on
    // 1 December; asked as of the test's own day, not the wall clock's).
    let at = f.now.naive_utc();
    let cfg = digital_key::lock_config(&mut f.conn, "lock-1", at, 7)
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            cfg.algorithm.as_str(),
            cfg.revoked.clone(),
            cfg.version,
            cfg.lock.as_str()
        ),
        ("EdDSA", vec!["key-a".to_string()], 7, "lock-1")
    );
    let example: Value = serde_json::from_str(&contract("examples/device-config.json")).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&serde_json::to_value(&cfg).unwrap()), keys(&example));
}

fn contract(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mobile-contract")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The AsyncAPI document's examples carry their payloads (tools such as
/// `@asyncapi/parser` require them); each is the example file it names,
/// so the files the other tests check and the document never drift.
#[test]
fn the_asyncapi_examples_are_the_example_files() {
    let doc = contract("asyncapi.yaml");
    let lines: Vec<&str> = doc.lines().collect();
    let mut checked = 0;
    for (i, line) in lines.iter().enumerate() {
        let named = line.trim().strip_prefix("summary: The same as ");
        let message = line
            .trim()
            .strip_prefix("summary: The message of ")
            .is_some();
        if named.is_none() && !message {
            continue;
        }
        let payload = lines
            .get(i + 1)
            .and_then(|l| l.trim().strip_prefix("payload: "))
            .unwrap_or_else(|| panic!("no payload after line {}: {line}", i + 1));
        let inline: serde_json::Value = serde_json::from_str(payload).unwrap();
        let expected: serde_json::Value = match named {
            Some(file) => serde_json::from_str(&contract(file.trim_end_matches('.'))).unwrap(),
            None => {
                let vector: serde_json::Value =
                    serde_json::from_str(&contract("test-vectors/lock-config.json")).unwrap();
                vector["message"].clone()
            }
        };
        assert_eq!(inline, expected, "line {}", i + 2);
        checked += 1;
    }
    assert_eq!(
        checked, 8,
        "the examples of the alert, device events, config and receipts"
    );
}

#[test]
fn the_asyncapi_document_lists_every_rejection_reason_and_kind() {
    let doc = contract("asyncapi.yaml");
    for reason in ingest::REASONS {
        assert!(
            doc.contains(&format!("`{reason}`")),
            "asyncapi.yaml does not list {reason}"
        );
    }
    // Every reason the code can give is in the list.
    let code = [
        include_str!("ingest/check.rs"),
        include_str!("ingest/batch.rs"),
        include_str!("ingest/outcome.rs"),
    ]
    .concat();
    // `reject("reason", …)`, on one line or with the reason on the next.
    let reasons: Vec<&str> = code
        .split("reject(")
        .skip(1)
        .filter_map(|part| part.trim_start().strip_prefix('"'))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(reasons.len() >= 20, "the checks were read: {reasons:?}");
    for reason in reasons {
        assert!(
            ingest::REASONS.contains(&reason),
            "{reason} is missing from REASONS"
        );
    }
    for kind in ["check_in", "check_out", "unlock", "lock", "tag_read"] {
        assert!(doc.contains(kind), "{kind}");
    }
}

/// The device's battery and last contact, its battery notices (resolved
/// or not) and the visits' seconds.
type BatchState = (
    Option<i32>,
    Option<String>,
    Vec<(String, bool)>,
    Vec<Option<i32>>,
);

/// What one batch (one transaction, lookups and figures once) leaves
/// behind: the device's last contact, battery notices, visits, figures.
fn batch_state(f: &mut Fx) -> BatchState {
    let d = device::get_any(&mut f.conn, "lock-1").unwrap();
    let mut notices: Vec<(String, bool)> = provider_notice::list(&mut f.conn, &d.provider_id, true)
        .unwrap()
        .into_iter()
        .map(|n| (n.kind, n.resolved_at.is_some()))
        .collect();
    notices.sort();
    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let mut seconds: Vec<Option<i32>> =
        visit::for_client(&mut f.conn, d.client_id.as_deref().unwrap(), day, day)
            .unwrap()
            .into_iter()
            .map(|v| v.visit.fields.seconds)
            .collect();
    seconds.sort();
    // The figures written once for the batch equal a rebuild.
    let m = municipality::get(&mut f.conn, &d.municipality_id).unwrap();
    let month = crate::domain::YearMonth::of(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
    let rules = m.rules().unwrap();
    let (computed, _, _) = figure::compute_month(&mut f.conn, &m, month, rules).unwrap();
    assert_eq!(
        figure::stored_month(&mut f.conn, &m, month).unwrap(),
        computed
    );
    (
        d.battery_pct,
        d.last_seen_at.map(|t| t.to_string()),
        notices,
        seconds,
    )
}

#[test]
fn a_batch_stores_what_the_same_messages_one_by_one_store() {
    let with = |battery: u8, kind: &str, at: &str| {
        let mut m = msg(kind, at);
        m["battery_pct"] = json!(battery);
        m
    };
    let messages = [
        with(77, "unlock", "2026-11-20T08:00:00+01:00"),
        with(8, "lock", "2026-11-20T08:40:00+01:00"),
        // Low battery, then back: raised and resolved in the same batch.
        with(9, "unlock", "2026-11-20T10:00:00+01:00"),
        with(90, "lock", "2026-11-20T10:25:00+01:00"),
        // Out of order: a visit the later lock closed is split again.
        with(90, "unlock", "2026-11-20T08:10:00+01:00"),
        with(90, "lock", "2026-11-20T08:20:00+01:00"),
        with(90, "unlock", "2026-11-20T13:00:00+01:00"),
    ];
    let topic = "hemtid/v1/devices/lock-1/events";
    // Re-sent messages come last (their battery readings count again).
    let all: Vec<&Value> = messages.iter().chain(&messages[..2]).collect();
    let mut one = fx();
    let mut expected = Vec::new();
    for m in &all {
        let o = ingest::ingest(&mut one.conn, topic, m.to_string().as_bytes(), one.now).unwrap();
        expected.push(format!("{o:?}").split(' ').next().unwrap().to_string());
    }
    let mut many = fx();
    let now = many.now;
    // As the gateway stores a batch: checked in order, the care worker's
    // events paired together.
    let bodies: Vec<String> = all.iter().map(|m| m.to_string()).collect();
    let messages: Vec<(&str, &[u8], DateTime<Utc>)> =
        bodies.iter().map(|b| (topic, b.as_bytes(), now)).collect();
    let outcomes = transaction(&mut many.conn, |c| {
        let mut b = ingest::Batch::default();
        let out = b.ingest_many(c, &messages)?;
        b.finish(c)?;
        Ok(out)
    })
    .unwrap();
    let kinds: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{o:?}").split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(kinds, expected);
    assert_eq!(kinds[7..], ["Duplicate", "Duplicate"]);
    let a = batch_state(&mut one);
    let b = batch_state(&mut many);
    assert_eq!(a, b);
    // The last reading (8 %, re-sent) is low: one notice resolved at
    // 90 %, one open.
    assert_eq!(b.0, Some(8));
    assert_eq!(
        b.2,
        vec![
            ("low_battery".to_string(), false),
            ("low_battery".to_string(), true)
        ]
    );
    assert_eq!(b.3, [None, None, Some(1200), Some(1500)]);
}

#[test]
fn the_contract_examples_are_accepted() {
    let mut f = fx();
    // The digital key of the keyed example, issued to Anna for lock-1.
    let key: Value =
        serde_json::from_str(&contract("examples/device-unlock-with-key.json")).unwrap();
    issue_key(&mut f, key["key_id"].as_str().unwrap(), "lock-1", None);
    for file in [
        "device-unlock.json",
        "device-tag-read.json",
        "device-lock.json",
        "device-check-in-signed.json",
        "device-unlock-with-key.json",
    ] {
        let mut body: Value = serde_json::from_str(&contract(&format!("examples/{file}"))).unwrap();
        let device = if body["sig"].is_string() {
            body = signed(body);
            "nfc-1"
        } else {
            "lock-1"
        };
        let at: DateTime<Utc> = body["occurred_at"].as_str().unwrap().parse().unwrap();
        let topic = format!("hemtid/v1/devices/{device}/events");
        let received = at + chrono::Duration::minutes(1);
        let outcome =
            ingest::ingest(&mut f.conn, &topic, body.to_string().as_bytes(), received).unwrap();
        assert!(
            matches!(outcome, Outcome::Stored { .. }),
            "{file}: {outcome:?}"
        );
    }
    // The unlock and lock examples make one visit of 42 minutes 53 seconds.
    let anna = user_account::find_by_username(&mut f.conn, "demo.anna")
        .unwrap()
        .unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let visits = visit::for_staff(&mut f.conn, &anna.id, day, day).unwrap();
    assert_eq!(visits[0].fields.seconds, Some(42 * 60 + 53));
}

/// Property tests (the fuzz targets of the device parser): whatever a
/// device sends on whatever topic, the gateway stores it or keeps it as a
/// dead letter with one of the documented reasons; nothing panics and no
/// storage error escapes.
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;

    fn field() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            ".{0,40}".prop_map(Value::String),
        ]
    }

    /// Messages near the valid shape: each field valid, broken or missing.
    fn message() -> impl Strategy<Value = Vec<u8>> {
        let event_id = prop_oneof![
            Just(json!(uuid::Uuid::new_v4().to_string())),
            any::<u128>().prop_map(|n| json!(uuid::Uuid::from_u128(n).to_string())),
            field(),
        ];
        let kind = prop_oneof![
            Just(json!("unlock")),
            Just(json!("lock")),
            Just(json!("check_in")),
            Just(json!("check_out")),
            Just(json!("tag_read")),
            field(),
        ];
        let at = prop_oneof![
            (0i64..10_000).prop_map(|m| json!(format!(
                "{}",
                (chrono::DateTime::parse_from_rfc3339("2026-11-22T12:00:00+01:00").unwrap()
                    - chrono::Duration::minutes(m))
                .to_rfc3339()
            ))),
            field(),
        ];
        let credential = prop_oneof![Just(json!("fob-anna")), field()];
        (
            prop::option::of(event_id),
            prop::option::of(kind),
            prop::option::of(at),
            prop::option::of(credential),
            prop::option::of(field()),
            prop::option::of((".{1,12}", field())),
        )
            .prop_map(|(e, k, a, c, b, extra)| {
                let mut o = serde_json::Map::new();
                for (name, v) in [
                    ("event_id", e),
                    ("kind", k),
                    ("occurred_at", a),
                    ("staff_credential", c),
                    ("battery_pct", b),
                ] {
                    if let Some(v) = v {
                        o.insert(name.into(), v);
                    }
                }
                if let Some((name, v)) = extra {
                    o.insert(name, v);
                }
                serde_json::to_vec(&Value::Object(o)).unwrap()
            })
    }

    #[test]
    fn any_device_message_is_stored_or_dead_lettered_with_a_reason() {
        let f = RefCell::new(fx());
        let payloads = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            message(),
            message(),
        ];
        let topics = prop_oneof![
            Just("hemtid/v1/devices/lock-1/events".to_string()),
            Just("hemtid/v1/devices/nfc-1/events".to_string()),
            Just("hemtid/v1/devices/nobody/events".to_string()),
            ".{0,60}",
        ];
        let mut runner = TestRunner::new(Config {
            cases: 400,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&(topics, payloads), |(topic, payload)| {
                let mut f = f.borrow_mut();
                let now = f.now;
                match ingest::ingest(&mut f.conn, &topic, &payload, now) {
                    Ok(Outcome::Dead { rejection, .. }) => {
                        prop_assert!(
                            ingest::REASONS.contains(&rejection.reason),
                            "undocumented reason {}",
                            rejection.reason
                        );
                        prop_assert!(!rejection.detail.is_empty());
                    }
                    Ok(
                        Outcome::Stored { .. }
                        | Outcome::Duplicate { .. }
                        | Outcome::Conflict { .. },
                    ) => {}
                    Err(e) => prop_assert!(false, "a storage error escaped: {e}"),
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn any_text_is_a_personal_number_or_refused_with_a_code() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let texts = prop_oneof![
            ".{0,20}",
            "[0-9+ -]{8,15}",
            (1900u32..2030, 1u32..13, 1u32..92, 0u32..10_000)
                .prop_map(|(y, m, d, n)| format!("{y}{m:02}{d:02}-{n:04}")),
        ];
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&texts, |t| {
                match crate::domain::PersonalNumber::parse(&t, today) {
                    Ok(p) => {
                        // Accepted numbers are normalised and parse again.
                        let again = crate::domain::PersonalNumber::parse(p.as_str(), today);
                        prop_assert!(again.is_ok(), "{} does not parse again", p.as_str());
                    }
                    Err(e) => prop_assert!(!e.code().is_empty()),
                }
                Ok(())
            })
            .unwrap();
    }
}

/// Found by the property test on PostgreSQL, whose text cannot hold
/// U+0000: such a message is a dead letter with its reason, not a
/// storage error, and its bytes are kept.
#[test]
fn a_nul_character_is_refused_as_an_invalid_payload() {
    let mut f = fx();
    let now = f.now;
    for payload in [
        &br#"{"\u0000":null}"#[..],
        &br#"{"event_id":"e","kind":"unlock","occurred_at":"2026-11-22T11:00:00+01:00","staff_credential":"fob\u0000anna"}"#[..],
    ] {
        match ingest::ingest(&mut f.conn, "hemtid/v1/devices/lock-1/events", payload, now) {
            Ok(Outcome::Dead { rejection, dead_letter_id, .. }) => {
                assert_eq!(rejection.reason, "invalid_payload");
                let dl = dead_letter::get(&mut f.conn, &dead_letter_id.unwrap()).unwrap();
                assert_eq!(dl.payload, payload);
            }
            other => panic!("{other:?}"),
        }
    }
}

/// One gateway batch with a directory kept across batches: the outcome
/// kinds and reasons.
fn directory_batch(
    f: &mut Fx,
    dir: &std::sync::Arc<ingest::Directory>,
    msgs: &[Value],
) -> Vec<String> {
    let now = f.now;
    let bodies: Vec<String> = msgs.iter().map(|m| m.to_string()).collect();
    let messages: Vec<(&str, &[u8], DateTime<Utc>)> = bodies
        .iter()
        .map(|b| ("hemtid/v1/devices/lock-1/events", b.as_bytes(), now))
        .collect();
    let (outcomes, contacts) = transaction(&mut f.conn, |c| {
        let mut b = ingest::Batch::with_directory(c, dir)?;
        let out = b.ingest_many(c, &messages)?;
        Ok((out, b.finish(c)?))
    })
    .unwrap();
    dir.committed(contacts);
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Dead { rejection, .. } => rejection.reason.to_string(),
            other => format!("{other:?}").split(' ').next().unwrap().to_string(),
        })
        .collect()
}

#[test]
fn the_directory_keeps_lookups_across_batches_until_a_row_changes() {
    let mut f = fx();
    let dir = std::sync::Arc::new(ingest::Directory::default());
    let with_battery = |kind: &str, at: &str, pct: u8| {
        let mut m = msg(kind, at);
        m["battery_pct"] = json!(pct);
        m
    };
    assert_eq!(
        directory_batch(&mut f, &dir, &[msg("unlock", "2026-11-20T08:00:00+01:00")]),
        ["Stored"]
    );
    // The device, care worker, credential, municipality and order are kept.
    assert_eq!(dir.len(), 5);
    assert_eq!(
        directory_batch(&mut f, &dir, &[msg("lock", "2026-11-20T08:30:00+01:00")]),
        ["Stored"]
    );
    assert_eq!(dir.len(), 5);

    // Another gateway (no directory here) sees the battery go low and
    // raises a notice; ours must see it as low, and resolve the notice at 90 %.
    let other = with_battery("unlock", "2026-11-20T09:00:00+01:00", 8);
    assert!(matches!(f.send("lock-1", &other), Outcome::Stored { .. }));
    assert_eq!(
        directory_batch(
            &mut f,
            &dir,
            &[with_battery("lock", "2026-11-20T09:20:00+01:00", 90)]
        ),
        ["Stored"]
    );
    assert_eq!(batch_state(&mut f).2, [("low_battery".to_string(), true)]);

    // A credential revoked through the ordinary write path is refused by
    // the next batch, although the directory held it as valid.
    let m = device::get_any(&mut f.conn, "lock-1")
        .unwrap()
        .municipality_id;
    staff_credential::revoke(&mut f.conn, &m, "fob-anna").unwrap();
    assert_eq!(
        directory_batch(&mut f, &dir, &[msg("unlock", "2026-11-20T10:00:00+01:00")]),
        ["unknown_credential"]
    );
    // A retired device too.
    let provider = device::get_any(&mut f.conn, "lock-1").unwrap().provider_id;
    device::retire(&mut f.conn, &provider, "lock-1").unwrap();
    assert_eq!(
        directory_batch(&mut f, &dir, &[msg("unlock", "2026-11-20T10:05:00+01:00")]),
        ["device_retired"]
    );
}

#[test]
fn a_care_workers_events_in_a_locked_month_are_refused_and_the_rest_of_the_batch_kept() {
    let mut f = fx();
    let d = device::get_any(&mut f.conn, "lock-1").unwrap();
    let anna = user_account::find_by_username(&mut f.conn, "demo.anna")
        .unwrap()
        .unwrap();
    let october = crate::domain::YearMonth::of(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
    month_lock::lock_month(&mut f.conn, &d.provider_id, october, &anna.id, now()).unwrap();
    let dir = std::sync::Arc::new(ingest::Directory::default());
    // One care worker's events, paired together until the lock refuses
    // one; then one by one.
    assert_eq!(
        directory_batch(
            &mut f,
            &dir,
            &[
                msg("unlock", "2026-11-20T08:00:00+01:00"),
                msg("unlock", "2026-10-31T08:00:00+01:00"),
                msg("lock", "2026-11-20T08:30:00+01:00"),
                msg("lock", "2026-10-31T08:30:00+01:00"),
            ]
        ),
        ["Stored", "month_locked", "Stored", "month_locked"]
    );
    assert_eq!(batch_state(&mut f).3, [Some(1800)]);
}

#[test]
fn the_directory_answers_between_changes_and_is_emptied_when_full() {
    use diesel::connection::SimpleConnection;
    let mut f = fx();
    let kept = std::sync::Arc::new(ingest::Directory::default());
    let small = std::sync::Arc::new(ingest::Directory::with_max_entries(3));
    assert_eq!(
        directory_batch(&mut f, &kept, &[msg("unlock", "2026-11-20T08:00:00+01:00")]),
        ["Stored"]
    );
    assert_eq!(
        directory_batch(&mut f, &small, &[msg("lock", "2026-11-20T08:30:00+01:00")]),
        ["Stored"]
    );
    assert_eq!(small.len(), 5);
    // The credential revoked behind the triggers' back (the version put
    // back): a directory that answers from what it holds still takes it...
    let version = directory::version(&mut f.conn).unwrap();
    let m = device::get_any(&mut f.conn, "lock-1")
        .unwrap()
        .municipality_id;
    staff_credential::revoke(&mut f.conn, &m, "fob-anna").unwrap();
    f.conn
        .batch_execute(&format!("UPDATE directory_version SET version = {version}"))
        .unwrap();
    assert_eq!(
        directory_batch(&mut f, &kept, &[msg("unlock", "2026-11-20T09:00:00+01:00")]),
        ["Stored"]
    );
    // ...and one over its size reads everything again.
    assert_eq!(
        directory_batch(&mut f, &small, &[msg("lock", "2026-11-20T09:30:00+01:00")]),
        ["unknown_credential"]
    );
}

#[test]
fn a_device_s_last_contact_is_kept_to_the_minute() {
    let mut f = fx();
    let topic = "hemtid/v1/devices/lock-1/events";
    let t0 = f.now;
    let send = |f: &mut Fx, body: Value, seconds: i64| {
        let received = t0 + chrono::Duration::seconds(seconds);
        let o = ingest::ingest(&mut f.conn, topic, body.to_string().as_bytes(), received).unwrap();
        assert!(matches!(o, Outcome::Stored { .. }), "{o:?}");
        let d = device::get_any(&mut f.conn, "lock-1").unwrap();
        (d.last_seen_at, d.battery_pct)
    };
    let at = |s: i64| t0.naive_utc() + chrono::Duration::seconds(s);
    // The first contact is written.
    let first = send(&mut f, msg("unlock", "2026-11-20T08:00:00+01:00"), 0);
    assert_eq!(first, (Some(at(0)), Some(77)));
    // Half a minute later, nothing new: not written again.
    let same = send(&mut f, msg("lock", "2026-11-20T08:30:00+01:00"), 30);
    assert_eq!(same, (Some(at(0)), Some(77)));
    // A new battery reading is written at once, with the contact.
    let mut low = msg("unlock", "2026-11-20T09:00:00+01:00");
    low["battery_pct"] = json!(40);
    assert_eq!(send(&mut f, low, 40), (Some(at(40)), Some(40)));
    // A minute after the stored contact, the contact moves.
    let mut later = msg("lock", "2026-11-20T09:30:00+01:00");
    later["battery_pct"] = json!(40);
    assert_eq!(send(&mut f, later, 100), (Some(at(100)), Some(40)));
}

/// The test vectors published for lock vendors
/// (mobile-contract/test-vectors/event-signature.json, computed with
/// openssl) are what hemtid computes and accepts.
#[test]
fn the_published_signature_vectors_hold() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mobile-contract/test-vectors/event-signature.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let key = v["hmac_key"].as_str().unwrap();
    assert_eq!(key.len(), 64);
    let vectors = v["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 2);
    for x in vectors {
        let text = ingest::DeviceMessage::signed_text(&x["payload"]);
        assert_eq!(text, x["signed_text"].as_str().unwrap());
        assert_eq!(
            crate::auth::to_hex(text.as_bytes()),
            x["signed_text_hex"].as_str().unwrap()
        );
        assert_eq!(
            ingest::sign(key, &text).as_deref(),
            x["sig"].as_str(),
            "{x}"
        );
        assert_eq!(x["payload"]["sig"], x["sig"]);
    }
}

/// A stored time zone no longer readable (edited in the database, or gone
/// from a newer time-zone table) is the municipality's to correct: the
/// message is kept under its own reason, not read in another time zone,
/// and replays once the setting is corrected.
#[test]
fn an_unreadable_time_zone_keeps_the_message_until_it_is_corrected() {
    use crate::db::schema::municipality;
    use diesel::prelude::*;
    let mut f = fx();
    let set_zone = |f: &mut Fx, zone: &str| {
        diesel::update(municipality::table)
            .set(municipality::time_zone.eq(zone))
            .execute(&mut f.conn)
            .unwrap();
    };
    set_zone(&mut f, "Mars/Olympus");
    let Outcome::Dead {
        rejection,
        dead_letter_id,
        ..
    } = f.send("lock-1", &msg("unlock", "2026-11-21T08:00:00+01:00"))
    else {
        panic!("dead")
    };
    assert_eq!(rejection.reason, "invalid_settings");
    set_zone(&mut f, "Europe/Stockholm");
    let Outcome::Stored { .. } =
        ingest::replay(&mut f.conn, &dead_letter_id.expect("kept"), now()).unwrap()
    else {
        panic!("stored once corrected")
    };
}
