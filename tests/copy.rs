//! `hemtid copy` (issue 23): an installation that started on the embedded
//! SQLite default moves to PostgreSQL whole: the demo and a simulated
//! municipality's run, every table's rows, ids and hash chains kept, the
//! same reports and figures read back, an occupied target refused.
//!
//! Needs a PostgreSQL server (`HEMTID_TEST_DATABASE_URL`), so ignored by
//! default; `.ci/run` runs `cargo test --test copy -- --ignored` with it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)] // test code; children are reaped in Drop

mod common;

use common::*;
use hemtid_core::db::testing::TestDb;
use serde_json::Value;

fn read_all(s: &Server, month: &str) -> (Value, Value) {
    let admin = login(s, "demo.admin", "hemtid-demo");
    let (status, _, clients) = request("GET", &s.url("/api/v1/clients"), Some(&admin), None);
    assert_eq!(status, 200);
    let (status, _, report) = request(
        "GET",
        &s.url(&format!("/api/v1/reports/monthly?month={month}")),
        Some(&admin),
        None,
    );
    assert_eq!(status, 200, "{report}");
    (clients, report)
}

#[test]
#[ignore = "needs PostgreSQL (HEMTID_TEST_DATABASE_URL): cargo test --test copy -- --ignored"]
fn a_sqlite_installation_moves_to_postgresql_whole() {
    assert!(
        std::env::var("HEMTID_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()),
        "HEMTID_TEST_DATABASE_URL must name a PostgreSQL server"
    );
    let target = TestDb::empty();
    let data = DataDir::new();
    let sqlite = format!("sqlite://{}", data.0.join("hemtid.sqlite3").display());
    let on_sqlite = |args: &[&str]| {
        let out = hemtid(&target, &data.0)
            .env("HEMTID_DATABASE_URL", &sqlite)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // The demo, and a small simulated municipality driven through its
    // locks and phones (its own serve on the same SQLite file).
    on_sqlite(&["seed", "--demo"]);
    on_sqlite(&["simulate", "--clients", "30", "--days", "2"]);
    // Two reads from 2015, past the access log's ten years: retention
    // removes them under a signed gap, which must verify on PostgreSQL too.
    {
        use hemtid_core::db::{DatabaseUrl, access_log, client, municipality, user_account};
        let mut c = DatabaseUrl::parse(&sqlite).unwrap().establish().unwrap();
        let m = municipality::find_by_code(&mut c, "9999").unwrap().unwrap();
        let reader = user_account::find_by_username(&mut c, "demo.handlaggare")
            .unwrap()
            .unwrap();
        let lisa = client::list(&mut c, &m.id).unwrap().remove(0);
        for day in [1, 2] {
            let read = access_log::Read {
                user_id: &reader.id,
                role: "caseworker",
                client_id: &lisa.id,
                what: "journal",
                subjects: vec![],
            };
            let at = chrono::NaiveDate::from_ymd_opt(2015, 1, day)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap();
            access_log::record(&mut c, &read, at).unwrap();
        }
    }
    let cut = on_sqlite(&["retention"]);
    assert!(cut.contains("  access_log 2\n"), "{cut}");
    let month = this_month().to_string();
    let before = {
        let s = Server::start_with(&target, &data.0, &[], &[("HEMTID_DATABASE_URL", &sqlite)]);
        let all = read_all(&s, &month);
        // Reading clients' records writes the access log, a hash chain.
        let admin = login(&s, "demo.admin", "hemtid-demo");
        for c in all.0["items"].as_array().unwrap().iter().take(3) {
            let url = s.url(&format!("/api/v1/clients/{}", c["id"].as_str().unwrap()));
            assert_eq!(request("GET", &url, Some(&admin), None).0, 200);
        }
        all
    };

    let said = on_sqlite(&["copy", "--to", target.url()]);
    assert!(said.starts_with("copied "), "{said}");
    // Never into a database that holds something.
    let again = hemtid(&target, &data.0)
        .env("HEMTID_DATABASE_URL", &sqlite)
        .args(["copy", "--to", target.url()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("needs an empty one"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // The hash chains still verify on PostgreSQL.
    let verified = hemtid(&target, &data.0)
        .arg("verify-logs")
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    let chains = String::from_utf8_lossy(&verified.stdout).to_string();
    let logged = |text: &str| -> u64 {
        let line = text.lines().find(|l| l.starts_with("access_log:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert!(
        chains.contains("access_log") && chains.contains("chain intact"),
        "{chains}"
    );
    let copied = logged(&chains);
    assert!(copied >= 3, "{chains}");
    assert!(
        chains.contains("(2 records removed by retention, under 1 signed gaps; key "),
        "{chains}"
    );

    // The same installation on PostgreSQL: the same clients, the same
    // month's figures, and what is written next gets a new number.
    let s = Server::start(&target, &data.0, &[]);
    let after = read_all(&s, &month);
    assert_eq!(after.0, before.0);
    assert_eq!(after.1, before.1);
    let admin = login(&s, "demo.admin", "hemtid-demo");
    let client = after.0["items"][0]["id"].as_str().unwrap();
    let (status, _, _) = request(
        "GET",
        &s.url(&format!("/api/v1/clients/{client}")),
        Some(&admin),
        None,
    );
    assert_eq!(status, 200, "a read writes the access log after the copy");
    // An alert's history is numbered by a sequence: it goes on after the
    // copied numbers.
    let (_, _, alerts) = request(
        "GET",
        &s.url("/api/v1/alerts?state=open"),
        Some(&admin),
        None,
    );
    let alert = alerts["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the demo has open alerts: {alerts}"));
    let (status, _, acked) = request(
        "POST",
        &s.url(&format!("/api/v1/alerts/{alert}/acknowledge")),
        Some(&admin),
        Some(serde_json::json!({"note": "flyttad till PostgreSQL"})),
    );
    assert_eq!(status, 200, "{acked}");
    drop(s);
    let verified = hemtid(&target, &data.0)
        .arg("verify-logs")
        .output()
        .unwrap();
    let chains = String::from_utf8_lossy(&verified.stdout).to_string();
    assert!(verified.status.success(), "{chains}");
    assert!(logged(&chains) > copied, "the chain goes on: {chains}");
}
