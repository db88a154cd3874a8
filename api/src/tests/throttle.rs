//! The sign-in throttle slows guessers, not users (issue 22): the findings
//! it was built against, each tried through the API from several client
//! addresses.

use super::*;
use hemtid_core::auth::throttle::{FREE_PER_ACCOUNT, FREE_PER_ADDRESS};

/// A sign-in from `peer`, with an `X-Forwarded-For` when given.
fn attempt(peer: &str, forwarded: Option<&str>, user: &str, password: &str) -> TestRequest {
    let mut r = TestRequest::post()
        .uri("/api/v1/auth/login")
        .peer_addr(format!("{peer}:40000").parse().unwrap())
        .set_json(json!({"username": user, "password": password}));
    if let Some(f) = forwarded {
        r = r.insert_header(("X-Forwarded-For", f));
    }
    r
}

#[actix_web::test]
async fn a_guesser_cannot_keep_a_user_or_a_shared_address_out() {
    let ctx = setup().await;
    let app = test::init_service(app(ctx.state.clone())).await;
    let status = |r: TestRequest| {
        let app = &app;
        async move { test::call_service(app, r.to_request()).await.status() }
    };
    // Five wrong passwords for Bertil from the attacker's address: that
    // address waits.
    for _ in 0..FREE_PER_ACCOUNT {
        let s = status(attempt("203.0.113.9", None, "demo.bertil", "fel")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let s = status(attempt(
        "203.0.113.9",
        None,
        "demo.bertil",
        seed::DEMO_PASSWORD,
    ))
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // Bertil's phone, elsewhere: signed in (it answered 429 before).
    let s = status(attempt(
        "198.51.100.4",
        None,
        "demo.bertil",
        seed::DEMO_PASSWORD,
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    // Twenty-five failures from one shared address, over many accounts:
    // the admin behind it still signs in with the right password.
    for i in 0..FREE_PER_ADDRESS + 5 {
        let s = status(attempt("192.0.2.1", None, &format!("nobody{i}"), "fel")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let s = status(attempt(
        "192.0.2.1",
        None,
        "demo.admin",
        seed::DEMO_PASSWORD,
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    // But a guessed account's next guess from there waits.
    let s = status(attempt("192.0.2.1", None, "nobody3", "fel")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn concurrent_guesses_are_counted_before_they_are_checked() {
    let ctx = setup().await;
    let app = std::rc::Rc::new(test::init_service(app(ctx.state.clone())).await);
    // Forty wrong passwords for Anna at once: only the free five are
    // checked, the rest wait (all forty were checked before).
    let handles: Vec<_> = (0..40)
        .map(|_| {
            let app = app.clone();
            actix_web::rt::spawn(async move {
                let r = attempt("203.0.113.20", None, "demo.anna", "fel-losenord");
                test::call_service(&*app, r.to_request()).await.status()
            })
        })
        .collect();
    let mut checked = 0;
    let mut waited = 0;
    for h in handles {
        match h.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => waited += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((checked, waited), (FREE_PER_ACCOUNT, 40 - FREE_PER_ACCOUNT));
}

#[actix_web::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let ctx = setup().await;
    ctx.state
        .proxies
        .set(vec!["10.0.0.1".parse().unwrap()])
        .unwrap();
    let app = test::init_service(app(ctx.state.clone())).await;
    let status = |r: TestRequest| {
        let app = &app;
        async move { test::call_service(app, r.to_request()).await.status() }
    };
    // Behind the proxy: the guesser's own address waits, a colleague's
    // (another address behind the same proxy) does not.
    for _ in 0..FREE_PER_ACCOUNT {
        let s = status(attempt(
            "10.0.0.1",
            Some("203.0.113.50"),
            "demo.bertil",
            "fel",
        ))
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let s = status(attempt(
        "10.0.0.1",
        Some("203.0.113.50"),
        "demo.bertil",
        seed::DEMO_PASSWORD,
    ))
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let s = status(attempt(
        "10.0.0.1",
        Some("198.51.100.60"),
        "demo.bertil",
        seed::DEMO_PASSWORD,
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    // A client that is not the proxy cannot choose its address.
    for _ in 0..FREE_PER_ACCOUNT {
        let s = status(attempt(
            "192.0.2.99",
            Some("198.51.100.61"),
            "demo.anna",
            "fel",
        ))
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let s = status(attempt(
        "192.0.2.99",
        Some("198.51.100.62"),
        "demo.anna",
        seed::DEMO_PASSWORD,
    ))
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}
