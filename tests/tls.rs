//! HTTPS on the API and the pages (issue 23): with a certificate and key
//! configured, `hemtid serve` speaks TLS only on its HTTP address, and a
//! SIGHUP makes it read renewed files without a restart. The
//! certificates are made here with rcgen (a CA and the server's, for
//! 127.0.0.1); the client is rustls, trusting that CA alone.
#![allow(clippy::unwrap_used, clippy::panic, clippy::zombie_processes)] // test code; children are reaped in Drop

mod common;

use common::*;
use hemtid_core::db::testing::TestDb;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A CA and a server certificate for 127.0.0.1 signed by it: (CA
/// certificate, server certificate PEM, server key PEM, server DER).
fn issue(
    cn: &str,
) -> (
    CertificateDer<'static>,
    String,
    String,
    CertificateDer<'static>,
) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("{cn} CA"));
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (
        ca.der().clone(),
        cert.pem(),
        key.serialize_pem(),
        cert.der().clone(),
    )
}

/// One GET over TLS, trusting `roots` only: the answer's text and the
/// certificate the server showed.
fn get(
    addr: &str,
    roots: &[CertificateDer<'static>],
    path: &str,
) -> Result<(String, CertificateDer<'static>), String> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(store)
    .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let sock = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    // A peer that closes without close_notify still gave its answer.
    let _ = tls.read_to_end(&mut out);
    let peer = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.clone().into_owned())
        .ok_or("no certificate")?;
    Ok((String::from_utf8_lossy(&out).into_owned(), peer))
}

#[test]
fn https_with_the_configured_certificate_renewed_on_sighup() {
    let db = TestDb::empty();
    let data = DataDir::new();
    let (ca_a, cert_a, key_a, der_a) = issue("hemtid A");
    let (cert_file, key_file) = (data.0.join("cert.pem"), data.0.join("key.pem"));
    std::fs::write(&cert_file, &cert_a).unwrap();
    std::fs::write(&key_file, &key_a).unwrap();
    let s = Server::start_with(
        &db,
        &data.0,
        &["--demo", "--bare"],
        &[
            ("HEMTID_TLS_CERT_FILE", cert_file.to_str().unwrap()),
            ("HEMTID_TLS_KEY_FILE", key_file.to_str().unwrap()),
        ],
    );
    let addr = s
        .base
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("not https: {}", s.base))
        .to_string();
    let (answer, shown) = get(&addr, std::slice::from_ref(&ca_a), "/healthz").unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(shown, der_a);
    // No plain HTTP on the same address.
    let mut plain = std::net::TcpStream::connect(&addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = Vec::new();
    let _ = plain.read_to_end(&mut text);
    assert!(!String::from_utf8_lossy(&text).contains("200 OK"));
    // A client that trusts another CA is refused.
    let (ca_other, _, _, _) = issue("elsewhere");
    assert!(get(&addr, &[ca_other], "/healthz").is_err());
    // Renewed files, then SIGHUP: new connections get the new certificate.
    let (ca_b, cert_b, key_b, der_b) = issue("hemtid B");
    std::fs::write(&cert_file, &cert_b).unwrap();
    std::fs::write(&key_file, &key_b).unwrap();
    let hup = |pid: u32| {
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    hup(s.child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok((answer, shown)) = get(&addr, std::slice::from_ref(&ca_b), "/healthz")
            && shown == der_b
        {
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was not shown"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Broken files and another SIGHUP: the certificate in use stays.
    std::fs::write(&cert_file, "not a certificate").unwrap();
    hup(s.child.id());
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let (answer, shown) = get(&addr, std::slice::from_ref(&ca_b), "/healthz").unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(shown, der_b);
        std::thread::sleep(Duration::from_millis(200));
    }
    // Renewed files and no signal at all (a renewal tool without a deploy
    // hook): hemtid sees the files change and reads them. The key lands
    // after the certificate, so one look may find a pair that does not
    // match; the next finds the whole.
    let (ca_c, cert_c, key_c, der_c) = issue("hemtid C");
    std::fs::write(&cert_file, &cert_c).unwrap();
    std::fs::write(&key_file, &key_c).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((answer, shown)) = get(&addr, std::slice::from_ref(&ca_c), "/healthz")
            && shown == der_c
        {
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the changed files were not read without a SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `systemctl reload hemtid` sends SIGHUP whether or not TLS is
/// configured; without it hemtid has nothing to read again and must not
/// die of the signal's default action.
#[test]
fn a_sighup_without_tls_leaves_hemtid_serving() {
    let db = TestDb::empty();
    let data = DataDir::new();
    let mut s = Server::start(&db, &data.0, &["--demo", "--bare"]);
    assert_eq!(s.wait_ready(30).0, 200);
    let pid = s.child.id().to_string();
    for _ in 0..3 {
        assert!(
            std::process::Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
    }
    // Signals arrive at once; a process they end is gone well within this.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        assert!(
            s.child.try_wait().unwrap().is_none(),
            "hemtid exited on SIGHUP"
        );
        let (status, _, _) = common::request("GET", &s.url("/healthz"), None, None);
        assert_eq!(status, 200);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(s.terminate().success());
}

/// Half a TLS configuration is refused at start, not run as plain HTTP.
#[test]
fn a_certificate_without_its_key_is_refused() {
    let db = TestDb::empty();
    let data = DataDir::new();
    let out = hemtid(&db, &data.0)
        .args(["serve", "--demo", "--bare"])
        .env("HEMTID_TLS_CERT_FILE", data.0.join("cert.pem"))
        .env("HEMTID_HTTP_ADDR", "127.0.0.1:0")
        .env("HEMTID_MQTT_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls_key_file"), "{err}");
}
