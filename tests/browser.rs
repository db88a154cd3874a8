//! The caseworker's and provider admin's pages in a real browser: headless
//! Chromium driven over WebDriver (chromedriver), against `hemtid serve
//! --demo`. Needs Debian's `chromium` and `chromium-driver`, so it is
//! ignored by default; `.ci/run` installs them and runs
//! `cargo test --test browser -- --ignored`. Screenshots of every page go
//! to `target/screenshots/` (artefacts, not committed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)] // test code; children are reaped in Drop

mod common;

use base64::Engine;
use chrono::Datelike;
use common::*;
use hemtid_core::db::testing::TestDb;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver and one browser session; both end on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    /// axe-core's script (`HEMTID_AXE_JS`), run on every page shown.
    axe: String,
    /// What axe-core found, per page.
    violations: std::cell::RefCell<Vec<String>>,
}

impl Browser {
    fn start() -> Browser {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver_bin =
            std::env::var("HEMTID_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{driver_bin}: {e} (apt-get install chromium-driver)"));
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let chromium =
            std::env::var("HEMTID_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--window-size=1280,1100",
                         "--lang=sv-SE"]
            }
        }}});
        let r: Value = ureq::post(&format!("{base}/session"))
            .send_json(caps)
            .unwrap()
            .into_json()
            .unwrap();
        let session = r["value"]["sessionId"].as_str().unwrap().to_string();
        let axe_path = std::env::var("HEMTID_AXE_JS").unwrap_or_else(|_| {
            panic!("HEMTID_AXE_JS: the path of axe-core's axe.min.js (npm install axe-core)")
        });
        let axe = std::fs::read_to_string(&axe_path)
            .unwrap_or_else(|e| panic!("HEMTID_AXE_JS={axe_path}: {e}"));
        Browser {
            driver,
            base,
            session,
            axe,
            violations: Default::default(),
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        match self.try_cmd(method, path, body) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// A WebDriver command; `Err` carries the driver's error code and text.
    fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = ureq::request(method, &url);
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match resp {
            Ok(r) => Ok(r.into_json::<Value>().unwrap()["value"].clone()),
            Err(ureq::Error::Status(code, r)) => {
                let body: Value = r.into_json().unwrap_or(Value::Null);
                Err(format!("webdriver {method} {path}: {code} {body}"))
            }
            Err(e) => Err(format!("webdriver {method} {path}: {e}")),
        }
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    /// The first element matching `css`, waiting up to `seconds`.
    fn wait(&self, css: &str, seconds: u64) -> String {
        self.wait_for(css, seconds, |_| true)
    }

    /// The first element matching `css` whose text passes `pick`.
    fn wait_for(&self, css: &str, seconds: u64, pick: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let found = self.cmd(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            );
            for e in found.as_array().cloned().unwrap_or_default() {
                let Some(id) = e[ELEMENT].as_str().map(str::to_string) else {
                    panic!("not an element: {e}");
                };
                // The page may re-render between finding an element and
                // reading it: a stale element is "not yet", look again.
                match self.try_cmd("GET", &format!("/element/{id}/text"), None) {
                    Ok(text) if pick(text.as_str().unwrap_or_default()) => return id,
                    Ok(_) => {}
                    Err(e) if e.contains("stale element reference") => {}
                    Err(e) => panic!("{e}"),
                }
            }
            if Instant::now() > deadline {
                self.screenshot("failure");
                panic!("no {css} as wanted within {seconds} s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn text(&self, id: &str) -> String {
        self.cmd("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn click(&self, id: &str) {
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn type_in(&self, id: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }

    /// Runs axe-core (Deque's accessibility engine, all its rules but the
    /// experimental) on the page as it is and keeps what it finds.
    fn check_accessibility(&self, name: &str) {
        self.script(&format!("{}\n;return typeof axe;", self.axe));
        let found = self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": r#"
                const done = arguments[arguments.length - 1];
                axe.run(document).then(
                    (r) => done(r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}: ` +
                        v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '))),
                    (e) => done([`axe failed: ${e}`]));
            "#, "args": []})),
        );
        for v in found.as_array().cloned().unwrap_or_default() {
            self.violations
                .borrow_mut()
                .push(format!("{name}: {}", v.as_str().unwrap_or_default()));
        }
    }

    /// The page as a picture in `target/screenshots/`, and axe-core's
    /// check of it.
    fn screenshot(&self, name: &str) {
        self.check_accessibility(name);
        let png = self.cmd("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .unwrap_or_default();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    fn sign_in(&self, server: &str, user: &str) {
        self.go(&format!("{server}/"));
        let u = self.wait("#username", 10);
        self.type_in(&u, user);
        let p = self.wait("#password", 5);
        self.type_in(&p, "hemtid-demo");
        let b = self.wait("#login", 5);
        self.click(&b);
        self.wait("#logout", 10);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
#[ignore = "needs chromium and chromedriver: cargo test --test browser -- --ignored"]
fn a_caseworker_sees_an_alert_arrive_live_approves_the_explanation_and_it_is_resolved() {
    let db = TestDb::empty();
    let data = DataDir::new();
    let s = Server::start(&db, &data.0, &["--demo"]);
    let server = s.url("");
    let server = server.trim_end_matches('/');
    let chef = login(&s, "demo.chef.jakobsberg", "hemtid-demo");
    let (_, _, clients) = request("GET", &s.url("/api/v1/clients"), Some(&chef), None);
    let id_of = |name: &str| {
        clients["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["given_name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let maj = id_of("Maj");
    let last_month = this_month().prev();
    let lm = last_month.to_string();
    // The demo's month: Maj was within the band last month.
    let (_, _, f) = request(
        "GET",
        &s.url(&format!("/api/v1/clients/{maj}/months/{lm}/figures")),
        Some(&chef),
        None,
    );
    assert_eq!(f["status"], "within_band", "{f}");

    let b = Browser::start();
    b.sign_in(server, "demo.handlaggare");
    b.wait("#live-dot.on", 15);
    b.screenshot("inbox");
    // The month filter is a list of months in Swedish, never an empty
    // month input's placeholder ("--------- ----").
    assert_eq!(
        b.script("return document.getElementById('f-month').tagName"),
        json!("SELECT")
    );
    let filter = b.text(&b.wait("#f-month", 5));
    assert!(filter.contains("Alla månader"), "{filter}");
    assert!(!filter.contains("--"), "{filter}");
    // Maj's door lock reports Anna's key fob: unlocked at 01:00 and locked
    // at 06:00 in the night to the 3rd of last month (no demo visit of
    // Anna's overlaps it). The device check-out takes her month over the
    // band.
    let (status, _, dev) = request(
        "POST",
        &s.url("/api/v1/devices"),
        Some(&chef),
        Some(json!({"id": "lock-maj", "kind": "door_lock", "client_id": maj})),
    );
    assert_eq!(status, 201, "{dev}");
    let admin = login(&s, "demo.admin", "hemtid-demo");
    // R3: last month's explanation is reviewed from the municipality's
    // review day (the 5th by default). The test runs on any day, so the
    // review opens on the 1st here; on the 1st to the 4th of a month it
    // would otherwise be refused as too early.
    let (status, _, mut m) = request("GET", &s.url("/api/v1/municipality"), Some(&admin), None);
    assert_eq!(status, 200, "{m}");
    for k in ["id", "code"] {
        m.as_object_mut().unwrap().remove(k);
    }
    m["review_from_day"] = json!(1);
    let (status, _, body) = request("PUT", &s.url("/api/v1/municipality"), Some(&admin), Some(m));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["review_from_day"], 1, "{body}");
    let (_, _, users) = request("GET", &s.url("/api/v1/users"), Some(&admin), None);
    let anna_id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "demo.anna")
        .unwrap()["id"]
        .clone();
    let (status, _, body) = request(
        "POST",
        &s.url("/api/v1/staff-credentials"),
        Some(&chef),
        Some(json!({"credential": "fob-anna", "staff_id": anna_id, "kind": "key_fob"})),
    );
    assert_eq!(status, 201, "{body}");
    let (host, port) = s.broker().expect("the embedded broker");
    let device = hemtid_gateway::sim::SimDevice {
        id: "lock-maj".into(),
        host,
        port,
        password: dev["mqtt_password"].as_str().map(str::to_string),
        // Devices sign by default: the simulated lock signs as a real one.
        hmac_key: dev["hmac_key"].as_str().map(str::to_string),
    };
    let day = last_month.first_day().with_day(3).unwrap();
    let local = |h| {
        use chrono::TimeZone;
        chrono_tz::Europe::Stockholm
            .from_local_datetime(&day.and_hms_opt(h, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .to_rfc3339()
    };
    let events = vec![
        json!({"event_id": uuid::Uuid::new_v4(), "kind": "unlock", "occurred_at": local(1),
               "staff_credential": "fob-anna"}),
        json!({"event_id": uuid::Uuid::new_v4(), "kind": "lock", "occurred_at": local(6),
               "staff_credential": "fob-anna"}),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sent = Instant::now();
    let report = rt.block_on(hemtid_gateway::sim::run_device(
        &device,
        events,
        10,
        Duration::from_secs(3),
        Instant::now() + Duration::from_secs(30),
    ));
    assert_eq!(report.unreceipted, 0, "{report:?}");
    // It arrives in the open inbox without a reload.
    let item = b.wait_for("li.alert.new[data-kind='outside_band']", 10, |t| {
        t.contains("Maj")
    });
    println!(
        "the alert reached the browser {} ms after the lock published",
        sent.elapsed().as_millis()
    );
    b.screenshot("inbox-live-alert");
    assert!(
        b.text(&item).contains("över beställd tid"),
        "{}",
        b.text(&item)
    );
    // Maj's band alerts of the month, as the caseworker reads them.
    let maj_alerts = || {
        let url = format!("/api/v1/alerts?client_id={maj}&month={lm}&kind=outside_band");
        let token = login(&s, "demo.handlaggare", "hemtid-demo");
        request("GET", &s.url(&url), Some(&token), None).2
    };
    // The rule ids stay in the API's text ("(R2)") and out of the
    // caseworker's, which names them as a small reference instead.
    let alerts = maj_alerts();
    let message = alerts["items"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("(R2)"), "{alerts}");
    let shown = b.text(&item);
    assert!(!shown.contains("(R"), "{shown}");
    assert!(shown.contains("regler"), "{shown}");
    // The provider explains the month.
    let (status, _, body) = request(
        "PUT",
        &s.url(&format!("/api/v1/clients/{maj}/months/{lm}/explanation")),
        Some(&chef),
        Some(json!({"cause": "temporarily_changed_needs",
                    "text": "Storstädning inför dotterns besök, beställd av Maj."})),
    );
    assert_eq!(status, 200, "{body}");
    // The caseworker opens the client's month from the alert and approves.
    let link = b.wait_for("li.alert[data-kind='outside_band'] h2 a", 5, |t| {
        t.contains("Maj")
    });
    b.click(&link);
    b.wait("#chart-services", 10);
    b.wait("#chart-history", 5);
    b.wait("#chart-days", 5);
    b.wait_for(".explanation", 10, |t| t.contains("Storstädning"));
    b.screenshot("client-month");
    let approve = b.wait("#approve", 5);
    b.click(&approve);
    b.wait(".explanation[data-state='approved']", 10);
    // The alert is resolved.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = maj_alerts();
        if a["items"][0]["state"] == "resolved" {
            break;
        }
        assert!(Instant::now() < deadline, "not resolved: {a}");
        std::thread::sleep(Duration::from_millis(200));
    }
    b.go(&format!("{server}/#/inbox?state=resolved"));
    b.wait_for("li.alert.state-resolved", 10, |t| t.contains("Maj"));
    b.screenshot("inbox-resolved");
    // The month overview: sortable, with the same figures as the report.
    b.go(&format!("{server}/#/overview/{lm}"));
    b.wait("#overview tbody tr", 10);
    let sort = b.wait("button.sort[data-key='variance_basis_points']", 5);
    b.click(&sort);
    let first = b.script("return document.querySelector('#overview tbody tr td a').textContent");
    assert!(first.as_str().is_some_and(|n| !n.is_empty()), "{first}");
    b.screenshot("month-overview");
    // The measures under it, beside the national figure (never per care
    // worker): the municipality's card and the scale of the national range.
    let card = b.wait_for("#m-continuity", 10, |t| t.contains("Riket 14,9 (2021)"));
    assert!(
        b.text(&card).contains("Personalkontinuitet"),
        "{}",
        b.text(&card)
    );
    b.wait("#chart-continuity", 5);
    let verified = b.wait("#m-verified", 5);
    assert!(b.text(&verified).contains('%'), "{}", b.text(&verified));
    b.script("document.getElementById('measures').scrollIntoView()");
    b.screenshot("month-overview-measures");
    // Keyboard: the sign-out button is reachable and labelled.
    let focusable = b.script(
        "return [...document.querySelectorAll('a[href], button')].filter(e => e.offsetParent !== null).length",
    );
    assert!(focusable.as_i64().unwrap_or(0) > 5);
    // 200 % zoom is a viewport half as wide: the client month reflows
    // without scrolling sideways.
    b.cmd(
        "POST",
        "/window/rect",
        Some(json!({"width": 640, "height": 1000})),
    );
    b.go(&format!("{server}/#/client/{maj}/{lm}"));
    b.wait("#chart-days", 10);
    let overflow = b.script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    assert!(overflow.as_i64().unwrap_or(99) <= 0, "{overflow}");
    b.screenshot("client-month-narrow");
    // Lisa's frame decision (R8): the services are drawn against their
    // shares of the frame, none coloured over or under on its own.
    let lisa = id_of("Lisa");
    b.go(&format!("{server}/#/client/{lisa}/{lm}"));
    b.wait("#chart-services", 10);
    b.wait_for("figure figcaption", 5, |t| t.contains("andel av ramen"));
    let judged = b.script(
        "return [...document.querySelectorAll('#chart-services rect')].filter(r => ['#1a7f37', '#b35900', '#8f2fb3'].includes(r.getAttribute('fill'))).length",
    );
    assert_eq!(judged.as_i64(), Some(0), "{judged}");
    b.screenshot("client-month-frame");

    // The provider admin's day.
    let b2 = Browser::start();
    b2.sign_in(server, "demo.chef.jakobsberg");
    b2.wait("#awaiting", 10);
    // Lisa has no plan: her open reminder is named whatever the day of the
    // month (the month's list only exists from the list day, the 16th).
    b2.wait_for("#plans ul.plan-reminders", 10, |t| t.contains("Lisa"));
    let plans = b2.wait("#plans", 5);
    assert!(!b2.text(&plans).contains("null"), "{}", b2.text(&plans));
    b2.screenshot("provider-day");
    // Her own password, changed from the pages (the sign-in goes on).
    b2.go(&format!("{server}/#/password"));
    for (id, text) in [
        ("#current-password", "hemtid-demo"),
        ("#new-password", "chefens-nya-losenord"),
        ("#repeat-password", "chefens-nya-losenord"),
    ] {
        let e = b2.wait(id, 5);
        b2.type_in(&e, text);
    }
    let button = b2.wait("#change-password", 5);
    b2.click(&button);
    b2.wait_for("#password-changed", 10, |t| {
        t.contains("Lösenordet är bytt")
    });
    b2.screenshot("password-changed");
    login(&s, "demo.chef.jakobsberg", "chefens-nya-losenord");
    // The accessibility statement, linked from every page, public.
    let linked =
        b2.script("return document.querySelector('footer a[href=\"/tillganglighet\"]') !== null");
    assert_eq!(linked, json!(true));
    b2.go(&format!("{server}/tillganglighet"));
    b2.wait_for("h1", 10, |t| t.contains("Tillgänglighetsredogörelse"));
    b2.screenshot("accessibility-statement");
    // axe-core found nothing on any page shown (every screenshot).
    let found: Vec<String> = b
        .violations
        .borrow()
        .iter()
        .chain(b2.violations.borrow().iter())
        .cloned()
        .collect();
    assert!(found.is_empty(), "axe-core:\n{}", found.join("\n"));
}

#[test]
#[ignore = "needs chromium, chromedriver and the test OpenID provider (npm ci --prefix tests/oidc): cargo test --test browser -- --ignored"]
fn a_caseworker_signs_in_with_e_identification_and_sees_her_inbox() {
    use common::idp::{self, Idp};
    let idp = Idp::start(
        0,
        json!([]),
        json!({"handl.eid": {"hsa_id": "SE2321000016-H001"},
               "stranger": {"hsa_id": "SE2321000016-X999"}}),
    );
    let db = TestDb::empty();
    let data = DataDir::new();
    let s = idp::start_hemtid(&db, &data.0, &idp, true);
    let server = s.url("");
    let server = server.trim_end_matches('/');
    let admin = login(&s, "demo.admin", "hemtid-demo");
    idp::link(&s, &admin, "demo.handlaggare", "SE2321000016-H001");
    let b = Browser::start();
    let through_provider = |login: &str| {
        b.go(&format!("{server}/"));
        let button = b.wait_for(&format!("#oidc-{}", idp::MUNICIPALITY), 10, |t| {
            t == "Logga in med SITHS"
        });
        b.click(&button);
        // The provider's own sign-in page (Freja or SITHS in real life).
        let field = b.wait("input#login[name=login]", 10);
        b.type_in(&field, login);
        let submit = b.wait("button[type=submit]", 5);
        b.click(&submit);
    };

    // Someone the provider knows and hemtid does not: told in Swedish.
    through_provider("stranger");
    b.wait_for(".error", 15, |t| {
        t.contains("Du har inget aktivt konto i hemtid")
    });
    b.screenshot("eid-unknown-person");
    // The provider remembers whom it signed in: a new browser session
    // (hemtid and the provider share 127.0.0.1, so this clears both).
    b.cmd("DELETE", "/cookie", None);

    // The caseworker: through the provider, back to her inbox, with the
    // code gone from the address bar.
    through_provider("handl.eid");
    b.wait("#logout", 15);
    b.wait("#live-dot.on", 15);
    let href = b.script("return location.href;");
    let href = href.as_str().unwrap();
    assert!(!href.contains("code="), "{href}");
    assert!(!href.contains("/inloggning"), "{href}");
    b.screenshot("eid-inbox");
    let violations = b.violations.borrow().clone();
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
#[ignore = "needs chromium and chromedriver: cargo test --test browser -- --ignored"]
fn a_provider_admin_sees_a_late_planned_visit_arrive_live_and_acknowledges_it() {
    let db = TestDb::empty();
    let data = DataDir::new();
    let s = Server::start(&db, &data.0, &["--demo", "--bare"]);
    let server = s.url("");
    let server = server.trim_end_matches('/');
    let chef = login(&s, "demo.chef.jakobsberg", "hemtid-demo");
    let (_, _, me) = request("GET", &s.url("/api/v1/me"), Some(&chef), None);
    let provider = me["provider_id"]
        .as_str()
        .expect("the chef's provider")
        .to_string();
    let chef_id = me["id"].as_str().unwrap().to_string();
    let (_, _, clients) = request("GET", &s.url("/api/v1/clients"), Some(&chef), None);
    let lisa = clients["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["given_name"] == "Lisa")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A plan whose latest start was 20 minutes ago: 5 minutes past the
    // municipality's 15-minute tolerance, nobody checked in.
    let now = chrono::Utc::now();
    let latest = now - chrono::Duration::minutes(20);
    let earliest = latest - chrono::Duration::minutes(30);
    let date = earliest
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .date_naive();

    let b = Browser::start();
    b.sign_in(server, "demo.chef.jakobsberg");
    b.go(&format!("{server}/#/provider?date={date}"));
    b.wait("#live-dot.on", 15);
    b.wait("#no-plans", 10);
    b.wait("#no-visit-alerts", 10);
    let (status, _, body) = request(
        "PUT",
        &s.url(&format!("/api/v1/providers/{provider}/planned-visits")),
        Some(&chef),
        Some(json!({"plans": [{
            "planner_ref": "tes-1",
            "client_id": lisa,
            "earliest_start": earliest.to_rfc3339(),
            "latest_start": latest.to_rfc3339(),
            "expected_minutes": 45,
            "time_critical": false,
        }]})),
    );
    assert_eq!(status, 200, "{body}");
    // The alert reaches the open page without a reload, and the day's
    // table shows the plan late.
    let started = Instant::now();
    b.wait("#visit-alerts li[data-kind='visit_late']", 90);
    println!(
        "visit_late reached the provider's page {} ms after the plan was sent",
        started.elapsed().as_millis()
    );
    b.wait_for("#planned-table tr[data-state='late']", 10, |t| {
        t.contains("Lisa") && t.contains("Sent")
    });
    b.screenshot("provider-planned-day");
    let ack = b.wait("#visit-alerts li[data-kind='visit_late'] button.ack", 5);
    b.click(&ack);
    b.wait(
        "#visit-alerts li[data-kind='visit_late'][data-state='acknowledged']",
        10,
    );
    b.screenshot("provider-planned-day-acknowledged");
    // Acknowledged by name.
    let (_, _, list) = request(
        "GET",
        &s.url("/api/v1/alerts?kind=visit_late"),
        Some(&chef),
        None,
    );
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let (_, _, detail) = request(
        "GET",
        &s.url(&format!("/api/v1/alerts/{id}")),
        Some(&chef),
        None,
    );
    let acknowledged = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["action"] == "acknowledged")
        .unwrap_or_else(|| panic!("no acknowledgement: {detail}"));
    assert_eq!(acknowledged["by_user_id"], chef_id.as_str());
    let violations = b.violations.borrow().clone();
    assert!(violations.is_empty(), "{violations:#?}");
}
