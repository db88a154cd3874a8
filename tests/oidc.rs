//! Sign-in through the municipality's identity provider (issue 22),
//! against a real, certified OpenID provider (`oidc-provider` on Node,
//! `tests/oidc/`), never a mock: the phone app's flow end to end (RFC
//! 8252), replayed and expired states, a stolen code without the app's
//! verifier, an unknown person, a key rotation, local passwords switched
//! off; and the ID token's checks on the provider's real tokens: expired,
//! tampered, another client's, another nonce, another issuer.
//!
//! Ignored by default (they need Node and `npm ci --prefix tests/oidc`);
//! `.ci/run` installs both and runs `cargo test --test oidc -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)] // test code; children are reaped in Drop

mod common;

use common::idp::{self, APP_REDIRECT, CLIENT_ID, CLIENT_SECRET, Idp, link, start_hemtid};
use common::*;
use hemtid_core::auth::oidc::{
    IdentityProvider, IdentityProviderConfig, OidcError, pkce_challenge, random_token,
};
use hemtid_core::db::testing::TestDb;
use serde_json::{Value, json};
use std::time::Duration;

use idp::MUNICIPALITY;

/// The people the provider knows, with the HSA-id claim hemtid matches.
fn claims() -> Value {
    json!({
        "anna.eid": {"hsa_id": "SE2321000016-A001", "name": "Anna"},
        "handl.eid": {"hsa_id": "SE2321000016-H001", "name": "Handläggare"},
        "stranger": {"hsa_id": "SE2321000016-X999", "name": "Okänd"},
        "admin.eid": {"hsa_id": "SE2321000016-ADM1", "name": "Admin"},
    })
}

/// What the phone app does: its own verifier, hemtid's authorize in the
/// in-app browser, the provider's sign-in as `login`, back to the app's
/// scheme with code and state. Answers (state, code, verifier).
fn app_sign_in(s: &Server, login: &str) -> (String, String, String) {
    let verifier = random_token().unwrap();
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let url = s.url(&format!(
        "/api/v1/auth/oidc/{MUNICIPALITY}/authorize?client=app&code_challenge={}",
        pkce_challenge(&verifier)
    ));
    let r = agent.get(&url).call().unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let to = r.header("location").unwrap().to_string();
    let at = url::Url::parse(&to).unwrap();
    let q: std::collections::HashMap<_, _> = at.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], APP_REDIRECT);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_ne!(
        q["code_challenge"],
        pkce_challenge(&verifier),
        "hemtid's own PKCE towards the provider, not the app's"
    );
    let back = idp::follow(&idp::as_person(&to, login), APP_REDIRECT);
    assert_eq!(back.get("state"), q.get("state"));
    (back["state"].clone(), back["code"].clone(), verifier)
}

fn finish(s: &Server, state: &str, code: &str, verifier: &str) -> (u16, Value) {
    let (status, ct, body) = request(
        "POST",
        &s.url("/api/v1/auth/oidc/token"),
        None,
        Some(json!({"state": state, "code": code, "code_verifier": verifier})),
    );
    if status != 200 {
        assert_eq!(ct, "application/problem+json", "{body}");
    }
    (status, body)
}

#[test]
#[ignore = "needs Node and npm ci --prefix tests/oidc: cargo test --test oidc -- --ignored"]
fn the_phone_app_signs_in_through_the_municipalitys_provider() {
    let idp = Idp::start(0, json!([]), claims());
    let db = TestDb::empty();
    let data = DataDir::new();
    let s = start_hemtid(&db, &data.0, &idp, true);
    let admin = login(&s, "demo.admin", "hemtid-demo");
    let anna = link(&s, &admin, "demo.anna", "SE2321000016-A001");

    // The sign-in page and the app learn where e-identification works.
    let (_, _, list) = request("GET", &s.url("/api/v1/auth/identity-providers"), None, None);
    assert_eq!(
        list["items"],
        json!([{"municipality_code": MUNICIPALITY, "municipality_name": "Demokommun",
                "label": "Logga in med SITHS", "password_login": true, "app": true}])
    );

    // The whole flow: the app is Anna, and her tokens work like any.
    let (state, code, verifier) = app_sign_in(&s, "anna.eid");
    let (status, tokens) = finish(&s, &state, &code, &verifier);
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["user"]["id"], anna);
    let access = tokens["access_token"].as_str().unwrap();
    let (status, _, me) = request("GET", &s.url("/api/v1/me"), Some(access), None);
    assert_eq!((status, me["username"].as_str()), (200, Some("demo.anna")));
    let (status, _, _) = request(
        "POST",
        &s.url("/api/v1/auth/refresh"),
        None,
        Some(json!({"refresh_token": tokens["refresh_token"]})),
    );
    assert_eq!(
        status, 200,
        "the refresh token works as a password sign-in's"
    );

    // The same state and code again: refused, whoever sends them.
    let (status, again) = finish(&s, &state, &code, &verifier);
    assert_eq!(
        (status, again["code"].as_str()),
        (400, Some("oidc_state_replayed"))
    );
    let (status, unknown) = finish(&s, &random_token().unwrap(), &code, &verifier);
    assert_eq!(
        (status, unknown["code"].as_str()),
        (400, Some("oidc_unknown_state"))
    );

    // A code caught on its way to the app (another app claiming the
    // scheme) is useless without the app's verifier; the state is spent.
    let (state, code, verifier) = app_sign_in(&s, "anna.eid");
    let (status, stolen) = finish(&s, &state, &code, &random_token().unwrap());
    assert_eq!(
        (status, stolen["code"].as_str()),
        (400, Some("oidc_pkce_mismatch"))
    );
    let (status, late) = finish(&s, &state, &code, &verifier);
    assert_eq!(
        (status, late["code"].as_str()),
        (400, Some("oidc_state_replayed"))
    );

    // Someone the provider knows but hemtid does not: no account made.
    let (state, code, verifier) = app_sign_in(&s, "stranger");
    let (status, stranger) = finish(&s, &state, &code, &verifier);
    assert_eq!(
        (status, stranger["code"].as_str()),
        (403, Some("oidc_unknown_person"))
    );
    let (_, _, users) = request("GET", &s.url("/api/v1/users"), Some(&admin), None);
    assert!(
        !users["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["external_id"] == "SE2321000016-X999")
    );

    // A code from the provider's sign-in that hemtid did not start.
    let (state, _, verifier) = app_sign_in(&s, "anna.eid");
    let (status, forged) = finish(&s, &state, "not-a-code-of-the-provider", &verifier);
    assert_eq!(
        (status, forged["code"].as_str()),
        (401, Some("oidc_code_rejected"))
    );

    // An account set inactive cannot sign in through the provider either.
    let (_, _, u) = request(
        "GET",
        &s.url(&format!("/api/v1/users/{anna}")),
        Some(&admin),
        None,
    );
    let mut body = json!({"username": u["username"], "display_name": u["display_name"],
        "role": u["role"], "provider_id": u["provider_id"], "active": false,
        "external_id": u["external_id"]});
    let (status, _, _) = request(
        "PUT",
        &s.url(&format!("/api/v1/users/{anna}")),
        Some(&admin),
        Some(body.clone()),
    );
    assert_eq!(status, 200);
    let (state, code, verifier) = app_sign_in(&s, "anna.eid");
    let (status, inactive) = finish(&s, &state, &code, &verifier);
    assert_eq!(
        (status, inactive["code"].as_str()),
        (403, Some("oidc_unknown_person"))
    );
    body["active"] = json!(true);
    let (status, _, _) = request(
        "PUT",
        &s.url(&format!("/api/v1/users/{anna}")),
        Some(&admin),
        Some(body),
    );
    assert_eq!(status, 200);
    link(&s, &admin, "demo.admin", "SE2321000016-ADM1");

    // The provider rotates its signing key (restarted on the same address
    // with a new one): hemtid reads the new key when a token names it.
    let old_kids = idp.kids();
    let port = idp.stop();
    let idp = Idp::start(port, json!([]), claims());
    assert!(
        idp.kids().iter().all(|k| !old_kids.contains(k)),
        "a new key"
    );
    let (state, code, verifier) = app_sign_in(&s, "anna.eid");
    let (status, rotated) = finish(&s, &state, &code, &verifier);
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["user"]["id"], anna);
    drop(s);

    // Local passwords switched off for the municipality: the right
    // password is refused with the reason, the provider still works.
    let s = start_hemtid(&db, &data.0, &idp, false);
    let (status, _, refused) = request(
        "POST",
        &s.url("/api/v1/auth/login"),
        None,
        Some(json!({"username": "demo.anna", "password": "hemtid-demo"})),
    );
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("password_login_disabled"))
    );
    let (status, _, wrong) = request(
        "POST",
        &s.url("/api/v1/auth/login"),
        None,
        Some(json!({"username": "demo.anna", "password": "not-her-password"})),
    );
    assert_eq!(
        (status, wrong["code"].as_str()),
        (401, Some("invalid_credentials")),
        "a wrong password learns nothing about the setting"
    );
    let (state, code, verifier) = app_sign_in(&s, "admin.eid");
    let (status, admin_tokens) = finish(&s, &state, &code, &verifier);
    assert_eq!(status, 200, "{admin_tokens}");
    assert_eq!(admin_tokens["user"]["username"], "demo.admin");
}

#[test]
#[ignore = "needs Node and npm ci --prefix tests/oidc: cargo test --test oidc -- --ignored"]
fn a_stale_sign_in_and_a_bad_challenge_are_refused() {
    let idp = Idp::start(0, json!([]), claims());
    let db = TestDb::empty();
    let data = DataDir::new();
    let s = start_hemtid(&db, &data.0, &idp, true);
    // Not a challenge: a clear error before anything is kept.
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    for q in [
        "client=app",
        "client=app&code_challenge=short",
        "client=tv&code_challenge=x",
    ] {
        let url = s.url(&format!("/api/v1/auth/oidc/{MUNICIPALITY}/authorize?{q}"));
        match agent.get(&url).call() {
            Err(ureq::Error::Status(400, r)) => {
                assert_eq!(r.content_type(), "application/problem+json");
                let body: Value = r.into_json().unwrap();
                assert_eq!(body["code"], "invalid_query", "{q}");
            }
            other => panic!("{q}: {:?}", other.map(|r| r.status())),
        }
    }
    // A municipality without a provider.
    let url = s.url("/api/v1/auth/oidc/0180/authorize?code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    match agent.get(&url).call() {
        Err(ureq::Error::Status(404, r)) => {
            let body: Value = r.into_json().unwrap();
            assert_eq!(body["code"], "oidc_not_configured");
        }
        other => panic!("{:?}", other.map(|r| r.status())),
    }
    // A sign-in older than ten minutes: its state is refused.
    let (state, code, verifier) = app_sign_in(&s, "anna.eid");
    drop(s);
    age_sign_ins(&db, 11 * 60);
    let s = start_hemtid(&db, &data.0, &idp, true);
    let (status, stale) = finish(&s, &state, &code, &verifier);
    assert_eq!(
        (status, stale["code"].as_str()),
        (400, Some("oidc_state_expired"))
    );
}

/// Moves every started sign-in `seconds` into the past.
fn age_sign_ins(db: &TestDb, seconds: i64) {
    use diesel::prelude::*;
    use hemtid_core::db::schema::oidc_login;
    let mut c = db.connect();
    let rows: Vec<(String, chrono::NaiveDateTime)> = oidc_login::table
        .select((oidc_login::state_hash, oidc_login::created_at))
        .load(&mut c)
        .unwrap();
    for (hash, at) in rows {
        diesel::update(oidc_login::table.find(hash))
            .set(oidc_login::created_at.eq(at - chrono::Duration::seconds(seconds)))
            .execute(&mut c)
            .unwrap();
    }
}

/// hemtid as the provider's relying party, outside the server.
fn relying_party(idp: &Idp, client_id: &str, issuer: Option<&str>) -> IdentityProvider {
    IdentityProvider::new(IdentityProviderConfig {
        municipality: MUNICIPALITY.into(),
        issuer: issuer.unwrap_or(&idp.issuer).into(),
        client_id: client_id.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        client_secret_file: None,
        client_auth: Default::default(),
        claim: "hsa_id".into(),
        scopes: String::new(),
        label: None,
        web_redirect_uri: "http://127.0.0.1/inloggning".into(),
        app_redirect_uri: None,
        password_login: true,
        ca_file: None,
        clock_skew_seconds: 60,
    })
    .unwrap()
}

/// A real ID token of the provider for `client_id`, and its nonce.
fn id_token(idp: &Idp, client_id: &str, login: &str) -> (String, String) {
    let rp = relying_party(idp, client_id, None);
    let started = rp.start("http://127.0.0.1/inloggning").unwrap();
    let back = idp::follow(
        &idp::as_person(&started.authorization_url, login),
        "http://127.0.0.1/inloggning",
    );
    let answer: Value = ureq::post(&format!("{}/token", idp.issuer))
        .timeout(Duration::from_secs(20))
        .send_form(&[
            ("grant_type", "authorization_code"),
            ("code", &back["code"]),
            ("redirect_uri", "http://127.0.0.1/inloggning"),
            ("code_verifier", &started.pkce_verifier),
            ("client_id", client_id),
            ("client_secret", CLIENT_SECRET),
        ])
        .unwrap()
        .into_json()
        .unwrap();
    (
        answer["id_token"].as_str().unwrap().to_string(),
        started.nonce,
    )
}

#[test]
#[ignore = "needs Node and npm ci --prefix tests/oidc: cargo test --test oidc -- --ignored"]
fn id_tokens_are_checked_expired_tampered_foreign_and_replayed_ones_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let other = json!([{"client_id": "another-system", "client_secret": CLIENT_SECRET,
        "application_type": "native", "redirect_uris": ["http://127.0.0.1/inloggning"]}]);
    let idp = Idp::start(0, other, claims());
    let rp = relying_party(&idp, CLIENT_ID, None);
    let (token, nonce) = id_token(&idp, CLIENT_ID, "anna.eid");
    let now = chrono::Utc::now().timestamp();

    let claims = rp.verify_id_token(&token, &nonce, now).unwrap();
    assert_eq!(rp.person(&claims).unwrap(), "SE2321000016-A001");
    assert_eq!(claims["sub"], "anna.eid");

    // Expired: a minute of skew is allowed, not more.
    let exp = claims["exp"].as_i64().unwrap();
    assert!(rp.verify_id_token(&token, &nonce, exp + 30).is_ok());
    assert!(matches!(
        rp.verify_id_token(&token, &nonce, exp + 61),
        Err(OidcError::Expired)
    ));
    // Issued in the future (a clock far behind).
    let iat = claims["iat"].as_i64().unwrap();
    assert!(matches!(
        rp.verify_id_token(&token, &nonce, iat - 3600),
        Err(OidcError::InvalidToken(_))
    ));

    // Tampered: another person in the payload, or another signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["hsa_id"] = json!("SE2321000016-ADM1");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert!(matches!(
        rp.verify_id_token(&forged, &nonce, now),
        Err(OidcError::InvalidToken(_))
    ));
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[10] ^= 1;
    let bad_sig = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
    assert!(matches!(
        rp.verify_id_token(&bad_sig, &nonce, now),
        Err(OidcError::InvalidToken(_))
    ));
    // Unsigned ("alg": "none") and HMAC-signed tokens are not accepted.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    assert!(rp.verify_id_token(&none, &nonce, now).is_err());
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
    )
    .unwrap();
    assert!(matches!(
        rp.verify_id_token(&hmac, &nonce, now),
        Err(OidcError::InvalidToken(_))
    ));

    // Another sign-in's nonce: a token replayed into this one.
    assert!(matches!(
        rp.verify_id_token(&token, &random_token().unwrap(), now),
        Err(OidcError::InvalidToken(_))
    ));

    // A token the provider issued to another system: wrong audience.
    let (theirs, their_nonce) = id_token(&idp, "another-system", "anna.eid");
    assert!(matches!(
        rp.verify_id_token(&theirs, &their_nonce, now),
        Err(OidcError::WrongAudience)
    ));

    // A provider configured under another issuer name: its discovery
    // document, and so its tokens, are refused.
    let port = idp.port;
    let elsewhere = relying_party(&idp, CLIENT_ID, Some(&format!("http://localhost:{port}")));
    assert!(matches!(
        elsewhere.start("http://127.0.0.1/inloggning"),
        Err(OidcError::WrongIssuer)
    ));
    assert!(matches!(
        elsewhere.verify_id_token(&token, &nonce, now),
        Err(OidcError::WrongIssuer)
    ));
}
