//! Alerts pushed as they happen: a visit registered on the phone changes a
//! client's month, and an MQTT subscriber (the case system, signed in with
//! its integration token) and a caseworker's Server-Sent-Events stream both
//! get the changed alert within a second. Then `hemtid evaluate` and
//! `hemtid rebuild-figures` from the command line. And a planned visit
//! nobody came to: `visit_late` on MQTT at its threshold, resolved when
//! the door lock opens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)] // test code; children are reaped in Drop

mod common;

use chrono::{Datelike, TimeZone};
use common::*;
use hemtid_core::db::testing::TestDb;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// An alert and when it arrived.
type Arrival = (Instant, Value);

/// Reads a Server-Sent-Events stream into `tx`, one alert per event.
fn sse(
    url: String,
    token: String,
    resume: Option<i64>,
    tx: mpsc::Sender<Arrival>,
    connected: mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        let mut req = ureq::get(&url);
        if let Some(id) = resume {
            req = req.set("Last-Event-ID", &id.to_string());
        }
        let resp = req
            .set("Authorization", &format!("Bearer {token}"))
            .set("Accept-Encoding", "gzip, br")
            .timeout(Duration::from_secs(300))
            .call()
            .unwrap();
        assert_eq!(
            resp.header("content-type"),
            Some("text/event-stream; charset=utf-8")
        );
        // Never compressed, so no event waits in a compressor.
        assert_eq!(resp.header("content-encoding"), None);
        let mut event = String::new();
        for line in BufReader::new(resp.into_reader()).lines() {
            let Ok(line) = line else { return };
            if line.starts_with(": connected") {
                let _ = connected.send(());
            }
            if let Some(data) = line.strip_prefix("data: ") {
                event = data.to_string();
            }
            if line.is_empty() && !event.is_empty() {
                let v: Value = serde_json::from_str(&event).unwrap();
                if tx.send((Instant::now(), v)).is_err() {
                    return;
                }
                event.clear();
            }
        }
    });
}

/// Subscribes to `topic` and forwards every message to `tx`.
fn mqtt(
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
    topic: String,
    tx: mpsc::Sender<Arrival>,
    subscribed: mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        // A case system's client id begins with "integration-".
        let mut o = rumqttc::MqttOptions::new(
            format!("integration-{}", uuid::Uuid::new_v4().simple()),
            host,
            port,
        );
        o.set_keep_alive(Duration::from_secs(10));
        if let Some((u, p)) = credentials {
            o.set_credentials(u, p);
        }
        let (client, mut conn) = rumqttc::Client::new(o, 100);
        client.subscribe(&topic, rumqttc::QoS::AtLeastOnce).unwrap();
        for ev in conn.iter() {
            match ev {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    let _ = subscribed.send(());
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let v: Value = serde_json::from_slice(&p.payload).unwrap();
                    if tx.send((Instant::now(), v)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    });
}

/// The first arrival that `pick` accepts, within `seconds`.
fn first(
    rx: &mpsc::Receiver<Arrival>,
    seconds: u64,
    pick: impl Fn(&Value) -> bool,
) -> Option<Arrival> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match rx.recv_timeout(left) {
            Ok((at, v)) if pick(&v) => return Some((at, v)),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn a_visit_reaches_mqtt_and_sse_subscribers_within_a_second() {
    let db = TestDb::empty();
    let data = DataDir::new();
    run_ok(hemtid(&db, &data.0).args(["seed", "--demo", "--bare"]));
    let out = run_ok(hemtid(&db, &data.0).args([
        "token",
        "create",
        "--municipality-code",
        "9999",
        "--name",
        "Ärendesystemet",
    ]));
    let integration = out.lines().nth(1).unwrap().trim().to_string();
    // The external broker when the test run names one (Mosquitto in CI),
    // else the embedded one.
    let external = std::env::var("HEMTID_TEST_MQTT_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let client_id = format!("hemtid-alerts-{}", uuid::Uuid::new_v4().simple());
    let mut env = vec![("HEMTID_MQTT_CLIENT_ID", client_id.as_str())];
    if let Some(url) = &external {
        env.push(("HEMTID_MQTT_URL", url.as_str()));
    }
    let s = Server::start_with(&db, &data.0, &["--demo", "--bare"], &env);
    let (host, port, credentials) = match &external {
        Some(url) => {
            let o = hemtid_gateway::GatewayOptions::from_url(url, "x").unwrap();
            let cred = o
                .username
                .clone()
                .map(|u| (u, o.password.clone().unwrap_or_default()));
            (o.host, o.port, cred)
        }
        None => {
            let (h, p) = s.broker().expect("the embedded broker's address");
            (h, p, Some(("integration".to_string(), integration.clone())))
        }
    };
    let caseworker = login(&s, "demo.handlaggare", "hemtid-demo");
    let anna = login(&s, "demo.anna", "hemtid-demo");
    let (_, _, me) = request("GET", &s.url("/api/v1/me"), Some(&caseworker), None);
    let caseworker_id = me["id"].as_str().unwrap().to_string();
    let municipality_id = me["municipality_id"].as_str().unwrap().to_string();
    let (_, _, clients) = request("GET", &s.url("/api/v1/clients"), Some(&caseworker), None);
    let lisa = clients["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["given_name"] == "Lisa")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Last month, as Stockholm counts months.
    let this_month = this_month();
    let last_month = this_month.prev();
    // The first run of the rules finds last month empty: outside the band.
    let alerts_url = s.url(&format!(
        "/api/v1/alerts?client_id={lisa}&kind=outside_band&month={last_month}"
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = request("GET", &alerts_url, Some(&caseworker), None);
        assert_eq!(status, 200, "{body}");
        if body["items"].as_array().is_some_and(|a| !a.is_empty()) {
            let a = &body["items"][0];
            assert_eq!(a["state"], "open");
            assert_eq!(a["client_name"], "Lisa Lindqvist");
            assert!(
                a["message"]
                    .as_str()
                    .unwrap()
                    .contains("under beställd tid"),
                "{a}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no alert for last month");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (tx_sse, rx_sse) = mpsc::channel();
    let (tx_up, rx_up) = mpsc::channel();
    sse(
        s.url("/api/v1/alerts/stream"),
        caseworker.clone(),
        None,
        tx_sse,
        tx_up.clone(),
    );
    // A client resuming from a change that does not exist (a number from
    // another database, or garbage) is told to reload, and still gets
    // what happens next (issue 27: it used to wait for that number).
    let (tx_future, rx_future) = mpsc::channel();
    sse(
        s.url("/api/v1/alerts/stream"),
        caseworker.clone(),
        Some(i64::MAX),
        tx_future,
        tx_up.clone(),
    );
    let (tx_mqtt, rx_mqtt) = mpsc::channel();
    let broker = (host.clone(), port, credentials.clone());
    mqtt(
        host,
        port,
        credentials,
        format!("hemtid/v1/caseworkers/{caseworker_id}/alerts"),
        tx_mqtt,
        tx_up,
    );
    for _ in 0..3 {
        rx_up
            .recv_timeout(Duration::from_secs(20))
            .expect("SSE connected and MQTT subscribed");
    }
    // A visit to Lisa on the 2nd of last month, 09:00–12:00, entered afterwards.
    let day = last_month.first_day().with_day(2).unwrap();
    let local = |h| {
        chrono_tz::Europe::Stockholm
            .from_local_datetime(&day.and_hms_opt(h, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .to_rfc3339()
    };
    let (status, _, body) = request(
        "POST",
        &s.url("/api/v1/visits/entries"),
        Some(&anna),
        Some(json!({
            "event_id": uuid::Uuid::new_v4(),
            "client_id": lisa,
            "started_at": local(9),
            "ended_at": local(12),
            "reason": "Telefonen var urladdad.",
            "services": [{"code": "O-Duschhjälp"}],
        })),
    );
    let sent = Instant::now();
    assert_eq!(status, 201, "{body}");
    let is_it = |v: &Value| {
        v["client_id"] == lisa.as_str()
            && v["kind"] == "outside_band"
            && v["month"] == last_month.to_string().as_str()
            && v["figures"]["performed_minutes"] == 180
    };
    let (at_sse, via_sse) = first(&rx_sse, 10, is_it).expect("the alert on the SSE stream");
    let (_, reset) = first(&rx_future, 10, |_| true).expect("an event on the resumed stream");
    assert_eq!(reset["reason"], "replay_limited", "{reset}");
    first(&rx_future, 10, is_it).expect("the alert on the stream resumed from the future");
    let got = first(&rx_mqtt, 10, is_it);
    if got.is_none() {
        let mut c = db.connect();
        let last = hemtid_core::db::alert::last_seq(&mut c).unwrap();
        let cur = hemtid_core::db::alert::cursor(&mut c, "mqtt-alerts").unwrap();
        let ev = hemtid_core::db::alert::events_after(&mut c, cur, 100).unwrap();
        panic!(
            "last {last} cursor {cur} events after {:?}",
            ev.iter()
                .map(|(s, a)| (s, &a.kind, &a.month))
                .collect::<Vec<_>>()
        );
    }
    let (at_mqtt, via_mqtt) = got.unwrap();
    let sse_ms = at_sse.saturating_duration_since(sent).as_millis();
    let mqtt_ms = at_mqtt.saturating_duration_since(sent).as_millis();
    eprintln!("alert after the visit: SSE {sse_ms} ms, MQTT {mqtt_ms} ms");
    assert!(sse_ms < 1000, "SSE took {sse_ms} ms");
    assert!(mqtt_ms < 1000, "MQTT took {mqtt_ms} ms");
    // The same alert both ways; MQTT carries no names.
    assert_eq!(via_sse["id"], via_mqtt["id"]);
    assert_eq!(via_sse["client_name"], "Lisa Lindqvist");
    assert!(via_mqtt.get("client_name").is_none());
    assert_eq!(via_mqtt["rules"], "R1,R2");
    // The caseworker acknowledges it; the history says who and when.
    let id = via_sse["id"].as_str().unwrap();
    let (status, _, body) = request(
        "POST",
        &s.url(&format!("/api/v1/alerts/{id}/acknowledge")),
        Some(&caseworker),
        Some(json!({"note": "Ringer brukaren."})),
    );
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("acknowledged")),
        "{body}"
    );
    let (_, _, detail) = request(
        "GET",
        &s.url(&format!("/api/v1/alerts/{id}")),
        Some(&caseworker),
        None,
    );
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.first(), Some(&"raised"));
    assert!(actions.contains(&"updated"));
    assert_eq!(actions.last(), Some(&"acknowledged"));
    // Care workers do not read alerts.
    let (status, _, body) = request("GET", &s.url("/api/v1/alerts"), Some(&anna), None);
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    // The monthly list of clients without a care plan (R10) goes to the
    // authority and the provider: the rules run as at last month's 16th.
    let (tx_list, rx_list) = mpsc::channel();
    let (tx_up, rx_up) = mpsc::channel();
    mqtt(
        broker.0,
        broker.1,
        broker.2,
        // Its own municipality's topic: a wildcard would reach others'.
        format!("hemtid/v1/authorities/{municipality_id}/care-plan-lists"),
        tx_list,
        tx_up,
    );
    rx_up
        .recv_timeout(Duration::from_secs(20))
        .expect("subscribed to the plan lists");
    let sixteenth = format!(
        "{}T08:00:00+01:00",
        last_month.first_day().with_day(16).unwrap()
    );
    run_ok(hemtid(&db, &data.0).args(["evaluate", "--at", &sixteenth]));
    let listed = |v: &Value| {
        v["list_date"] == last_month.first_day().with_day(16).unwrap().to_string()
            && v["clients"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["client_id"] == lisa.as_str()))
    };
    let (_, list) = first(&rx_list, 15, listed).expect("the plan list over MQTT");
    assert_eq!(list["clients"].as_array().unwrap().len(), 1, "{list}");
    assert!(list["clients"][0].get("name").is_none(), "no names: {list}");
    assert_eq!(list["clients"][0]["plan_status"], "missing");
    drop(s);

    // From the command line: the figures rebuild to what was kept, and the
    // rules run as at a chosen instant.
    let out =
        run_ok(hemtid(&db, &data.0).args(["rebuild-figures", "--month", &last_month.to_string()]));
    assert!(out.contains("1 visits"), "{out}");
    let at = format!(
        "{}T08:00:00+01:00",
        this_month.first_day().with_day(6).unwrap()
    );
    let out = run_ok(hemtid(&db, &data.0).args(["evaluate", "--at", &at]));
    assert!(out.starts_with("evaluated "), "{out}");
    let out = hemtid(&db, &data.0)
        .args(["evaluate", "--at", "tomorrow"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// Issue 25's end-to-end line: a plan sent through the API, nobody comes,
/// the provider's case system gets `visit_late` on MQTT within seconds of
/// the threshold; the door lock then opens with Anna's key fob 20 minutes
/// after the latest start, and the same subscriber gets the alert
/// resolved, saying so. On the embedded broker, where the lock signs in
/// as a real one.
#[test]
fn a_late_visit_is_told_on_mqtt_at_its_threshold_and_resolved_when_the_lock_opens() {
    let db = TestDb::empty();
    let data = DataDir::new();
    run_ok(hemtid(&db, &data.0).args(["seed", "--demo", "--bare"]));
    let out = run_ok(hemtid(&db, &data.0).args([
        "token",
        "create",
        "--municipality-code",
        "9999",
        "--name",
        "Planeringssystemet",
    ]));
    let integration = out.lines().nth(1).unwrap().trim().to_string();
    let client_id = format!("hemtid-plans-{}", uuid::Uuid::new_v4().simple());
    let s = Server::start_with(
        &db,
        &data.0,
        &["--demo", "--bare"],
        &[("HEMTID_MQTT_CLIENT_ID", client_id.as_str())],
    );
    let (host, port) = s.broker().expect("the embedded broker's address");
    let admin = login(&s, "demo.admin", "hemtid-demo");
    let chef = login(&s, "demo.chef.jakobsberg", "hemtid-demo");
    let find = |path: &str, key: &str, value: &str| {
        let (status, _, body) = request("GET", &s.url(path), Some(&admin), None);
        assert_eq!(status, 200, "{body}");
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i[key] == value)
            .unwrap_or_else(|| panic!("no {value} in {path}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let provider = find("/api/v1/providers", "name", "Hemtjänsten Jakobsberg");
    let lisa = find("/api/v1/clients", "given_name", "Lisa");
    let anna = find("/api/v1/users", "username", "demo.anna");
    let (status, _, dev) = request(
        "POST",
        &s.url("/api/v1/devices"),
        Some(&chef),
        Some(json!({"id": "lock-lisa", "kind": "door_lock", "client_id": lisa})),
    );
    assert_eq!(status, 201, "{dev}");
    let (status, _, body) = request(
        "POST",
        &s.url("/api/v1/staff-credentials"),
        Some(&chef),
        Some(json!({"credential": "fob-anna", "staff_id": anna, "kind": "key_fob"})),
    );
    assert_eq!(status, 201, "{body}");
    let (tx, rx) = mpsc::channel();
    let (tx_up, rx_up) = mpsc::channel();
    mqtt(
        host.clone(),
        port,
        Some(("integration".to_string(), integration)),
        format!("hemtid/v1/providers/{provider}/alerts"),
        tx,
        tx_up,
    );
    rx_up
        .recv_timeout(Duration::from_secs(20))
        .expect("MQTT subscribed");
    // The plan's own tolerance is 20 minutes and its latest start 20
    // minutes less 4 seconds ago: it becomes late 4 seconds after it is
    // sent.
    let now = chrono::Utc::now();
    let latest = now - chrono::Duration::minutes(20) + chrono::Duration::seconds(4);
    let threshold = latest + chrono::Duration::minutes(20);
    let earliest = latest - chrono::Duration::minutes(30);
    let (status, _, body) = request(
        "PUT",
        &s.url(&format!("/api/v1/providers/{provider}/planned-visits")),
        Some(&chef),
        Some(json!({
            "whole_days": false,
            "plans": [{
                "planner_ref": "tes-4711",
                "client_id": lisa,
                "earliest_start": earliest.to_rfc3339(),
                "latest_start": latest.to_rfc3339(),
                "expected_minutes": 60,
                "tolerance_minutes": 20,
                "staff": [anna],
            }],
        })),
    );
    assert_eq!(status, 200, "{body}");
    let (arrived, late) = first(&rx, 30, |v| v["kind"] == "visit_late").expect("visit_late");
    let after = chrono::Utc::now() - threshold;
    assert_eq!(late["state"], "open", "{late}");
    assert_eq!(late["figures"]["planner_ref"], "tes-4711");
    assert!(late["planned_visit_id"].is_string(), "{late}");
    assert!(
        after < chrono::Duration::seconds(5),
        "visit_late came {} ms after the threshold",
        after.num_milliseconds()
    );
    println!(
        "visit_late reached the subscriber {} ms after the threshold",
        after.num_milliseconds()
    );
    // The lock opens now, 20 minutes after the latest start.
    let device = hemtid_gateway::sim::SimDevice {
        id: "lock-lisa".into(),
        host,
        port,
        password: dev["mqtt_password"].as_str().map(str::to_string),
        hmac_key: dev["hmac_key"].as_str().map(str::to_string),
    };
    let events = vec![json!({
        "event_id": uuid::Uuid::new_v4(),
        "kind": "unlock",
        "occurred_at": chrono::Utc::now().to_rfc3339(),
        "staff_credential": "fob-anna",
    })];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let opened = Instant::now();
    let report = rt.block_on(hemtid_gateway::sim::run_device(
        &device,
        events,
        10,
        Duration::from_secs(3),
        Instant::now() + Duration::from_secs(30),
    ));
    assert_eq!(report.unreceipted, 0, "{report:?}");
    let Some((resolved_at, resolved)) = first(&rx, 30, |v| {
        v["kind"] == "visit_late" && v["state"] == "resolved"
    }) else {
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Stockholm)
            .date_naive();
        let (_, _, day) = request(
            "GET",
            &s.url(&format!(
                "/api/v1/providers/{provider}/planned-visits?date={today}"
            )),
            Some(&chef),
            None,
        );
        panic!("visit_late not resolved; the day: {day}");
    };
    assert_eq!(resolved["id"], late["id"]);
    assert!(
        resolved["message"]
            .as_str()
            .unwrap()
            .contains("20 min efter senaste start"),
        "{resolved}"
    );
    println!(
        "resolved reached the subscriber {} ms after the lock began sending ({} ms after visit_late)",
        resolved_at.duration_since(opened).as_millis(),
        resolved_at.duration_since(arrived).as_millis()
    );
}

#[test]
fn a_plan_file_is_imported_from_the_command_line_whole_or_not_at_all() {
    use hemtid_core::db::{client, municipality, planned_visit, provider};
    let db = TestDb::empty();
    let data = DataDir::new();
    run_ok(hemtid(&db, &data.0).args(["seed", "--demo", "--bare"]));
    let mut c = db.connect();
    let m = municipality::find_by_code(&mut c, "9999").unwrap().unwrap();
    let jakobsberg = provider::list(&mut c, &m.id)
        .unwrap()
        .into_iter()
        .find(|p| p.fields.name == "Hemtjänsten Jakobsberg")
        .unwrap()
        .id
        .to_string();
    let lisa = client::list(&mut c, &m.id)
        .unwrap()
        .into_iter()
        .find(|x| x.fields.given_name == "Lisa")
        .unwrap()
        .id;
    let tomorrow =
        hemtid_core::domain::local_date(chrono::Utc::now(), chrono_tz::Europe::Stockholm)
            + chrono::Days::new(1);
    let file = data.0.join("plan.csv");
    std::fs::write(
        &file,
        format!(
            "planner_ref;client_id;date;earliest_start;latest_start;expected_minutes;time_critical\n\
             TES-1;{lisa};{tomorrow};08:00;08:30;30;ja\n"
        ),
    )
    .unwrap();
    let import = |file: &std::path::Path, whole_days: bool| {
        let mut cmd = hemtid(&db, &data.0);
        cmd.args([
            "import-plan",
            file.to_str().unwrap(),
            "--provider",
            &jakobsberg,
        ]);
        if whole_days {
            cmd.arg("--whole-days");
        }
        cmd.output().unwrap()
    };
    let out = import(&file, false);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("1 plans created, 0 updated, 0 unchanged"),
        "{said}"
    );
    let out = import(&file, true);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("0 plans created, 0 updated, 1 unchanged"),
        "{said}"
    );
    // A file with a fault: exit code 1, the row named, nothing stored.
    let faulty = data.0.join("faulty.csv");
    std::fs::write(
        &faulty,
        format!(
            "planner_ref,client_id,date,earliest_start,latest_start,expected_minutes\n\
             TES-2,{lisa},{tomorrow},09:00,09:30,30\n\
             TES-3,{},{tomorrow},10:00,10:30,30\n",
            uuid::Uuid::new_v4()
        ),
    )
    .unwrap();
    let out = import(&faulty, true);
    let told = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{told}");
    assert!(told.contains("rows[3].client_id: unknown_client"), "{told}");
    assert!(told.contains("nothing stored, 1 faults"), "{told}");
    let plans = planned_visit::for_day(&mut c, &jakobsberg, tomorrow).unwrap();
    let refs: Vec<&str> = plans.iter().map(|p| p.plan.planner_ref.as_str()).collect();
    assert_eq!(refs, ["TES-1"]);
}
