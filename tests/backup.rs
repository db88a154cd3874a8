//! `hemtid backup` while hemtid serves and writes, and `hemtid restore`
//! into an empty installation (issue 23): the copy is one consistent
//! instant (the access log's hash chain verifies), every table's rows are
//! as counted in the backup, and the secrets came along (old tokens still
//! work). On PostgreSQL (`HEMTID_TEST_DATABASE_URL`) through pg_dump and
//! pg_restore.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)] // test code; children are reaped in Drop

mod common;

use common::*;
use hemtid_core::db::testing::TestDb;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[test]
fn a_serving_hemtid_is_backed_up_and_restored_into_an_empty_installation() {
    let db = TestDb::empty();
    let data = DataDir::new();
    let s = Server::start(&db, &data.0, &["--demo"]);
    let admin = login(&s, "demo.admin", "hemtid-demo");
    let (_, _, anna) = request(
        "POST",
        &s.url("/api/v1/auth/login"),
        None,
        Some(json!({"username": "demo.anna", "password": "hemtid-demo"})),
    );
    let (_, _, clients) = request("GET", &s.url("/api/v1/clients"), Some(&admin), None);
    let client = clients["items"][0]["id"].as_str().unwrap().to_string();

    // Reading a client's record writes the access log (a hash chain):
    // someone reads all through the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (stop, reads) = (stop.clone(), reads.clone());
        let url = s.url(&format!("/api/v1/clients/{client}"));
        let token = admin.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (status, _, _) = request("GET", &url, Some(&token), None);
                assert_eq!(status, 200);
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while reads.load(Ordering::Relaxed) < 20 {
        std::thread::yield_now();
    }
    let file = data.0.join("hemtid-backup.tar");
    let out = hemtid(&db, &data.0)
        .args(["backup", "--to"])
        .arg(&file)
        .output()
        .unwrap();
    let during = reads.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(summary.contains("backup "), "{summary}");
    assert!(
        during > 20,
        "the reader kept writing the log during the backup"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup holds the secrets");
    }
    // Never over an existing file.
    let again = hemtid(&db, &data.0)
        .args(["backup", "--to"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!again.status.success());
    drop(s);

    // A damaged copy is refused, and nothing is restored from it.
    let db2 = TestDb::empty();
    let data2 = DataDir::new();
    let damaged = data.0.join("damaged.tar");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&damaged, bytes).unwrap();
    let refused = hemtid(&db2, &data2.0)
        .args(["restore", "--from"])
        .arg(&damaged)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(!data2.0.join("jwt-secret").exists());

    // Into an empty installation: every table as counted in the backup.
    let restored = hemtid(&db2, &data2.0)
        .args(["restore", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&restored.stdout).to_string();
    assert!(
        restored.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(
        said.contains("every table's rows as in the backup"),
        "{said}"
    );
    // Not twice into the same installation.
    let twice = hemtid(&db2, &data2.0)
        .args(["restore", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!twice.status.success());

    // The copy is one instant: the access log's chain verifies.
    let verified = hemtid(&db2, &data2.0).arg("verify-logs").output().unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // The secrets came along: the tokens of before the backup work.
    let s2 = Server::start(&db2, &data2.0, &[]);
    let (status, _, me) = request("GET", &s2.url("/api/v1/me"), Some(&admin), None);
    assert_eq!((status, me["username"].as_str()), (200, Some("demo.admin")));
    let (status, _, refreshed) = request(
        "POST",
        &s2.url("/api/v1/auth/refresh"),
        None,
        Some(json!({"refresh_token": anna["refresh_token"]})),
    );
    assert_eq!(status, 200, "{refreshed}");
    let (status, _, again) = request("GET", &s2.url("/api/v1/clients"), Some(&admin), None);
    assert_eq!(status, 200);
    assert_eq!(again["items"], clients["items"]);
}
