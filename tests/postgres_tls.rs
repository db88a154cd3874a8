//! PostgreSQL over TLS with the server's certificate and name checked
//! (`sslmode=verify-full`, issue 23): libpq is built with OpenSSL
//! (compiled from source, no system `-dev` package). Needs a server that
//! speaks TLS and the URL to reach it with its CA, which `.ci/run` makes
//! with `.ci/postgres-tls.sh` (a cluster of its own, TLS only, its
//! certificate for `localhost` signed by a CA made there). The same
//! variable also runs any other PostgreSQL test over TLS.
#![allow(clippy::unwrap_used, clippy::panic, clippy::zombie_processes)] // test code; children are reaped in Drop

mod common;

use common::*;
use diesel::RunQueryDsl;
use hemtid_core::db::DbConn;
use hemtid_core::db::testing::TestDb;

fn tls_url() -> String {
    let url = std::env::var("HEMTID_TEST_DATABASE_URL").unwrap_or_default();
    assert!(
        url.contains("sslmode=verify-full") && url.contains("sslrootcert="),
        "HEMTID_TEST_DATABASE_URL must name a PostgreSQL with sslmode=verify-full and \
         sslrootcert (.ci/postgres-tls.sh start DIR prints one); got {url:?}"
    );
    url
}

/// `hemtid migrate` against `url`: whether it worked, and what it said.
fn migrate(url: &str, data: &DataDir) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hemtid"))
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HEMTID_DATA_DIR", &data.0)
        .env("HEMTID_DATABASE_URL", url)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
#[ignore = "needs HEMTID_TEST_DATABASE_URL with sslmode=verify-full (.ci/run makes the server)"]
fn hemtid_works_over_tls_that_checks_the_server_and_refuses_an_impostor() {
    tls_url();
    let db = TestDb::empty();
    let data = DataDir::new();

    // The whole product over it: migrations, the demo, a sign-in.
    let s = Server::start(&db, &data.0, &["--demo", "--bare"]);
    assert_eq!(s.wait_ready(60).0, 200);
    let token = login(&s, "demo.handlaggare", "hemtid-demo");
    let (status, _, body) = request("GET", &s.url("/api/v1/clients"), Some(&token), None);
    assert_eq!(status, 200, "{body}");
    assert!(!body["items"].as_array().unwrap().is_empty(), "{body}");

    // The server says this session is encrypted.
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let DbConn::Pg(mut pg) = db.connect() else {
        panic!("not PostgreSQL")
    };
    let ssl: Ssl = diesel::sql_query(
        "SELECT ssl, coalesce(version, '') AS version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .get_result(&mut pg)
    .unwrap();
    assert!(ssl.ssl, "the session is not encrypted");
    assert!(ssl.version.starts_with("TLSv1."), "{}", ssl.version);

    // A certificate from a CA we do not trust: refused.
    let other = data.0.join("other-ca.pem");
    let ca = {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.self_signed(&key).unwrap()
    };
    std::fs::write(&other, ca.pem()).unwrap();
    let url = db.url().to_string();
    let (start, rest) = url.split_once("sslrootcert=").unwrap();
    let tail = rest
        .split_once('&')
        .map(|(_, t)| format!("&{t}"))
        .unwrap_or_default();
    let wrong_ca = format!("{start}sslrootcert={}{tail}", other.display());
    let (ok, said) = migrate(&wrong_ca, &data);
    assert!(!ok, "a server whose CA is not trusted was accepted: {said}");
    assert!(said.contains("certificate verify failed"), "{said}");

    // The right CA but another name than the certificate's: refused.
    assert!(url.contains("@localhost:"), "{url}");
    let (ok, said) = migrate(&url.replace("@localhost:", "@127.0.0.1:"), &data);
    assert!(!ok, "a certificate for another name was accepted: {said}");
    assert!(said.contains("does not match host name"), "{said}");

    // And the URL itself works from the command line too.
    let (ok, said) = migrate(&url, &data);
    assert!(ok, "{said}");
    assert!(!said.contains("WARNING"), "{said}");
}
