//! Sign-ins end when they must (issue 22): a new password, logout, ended
//! sessions, revoked keys and a disabled account end the access tokens
//! already issued, at once, not when they expire.

use super::*;

/// Whether the access token still reads the care worker's clients.
async fn reads(ctx: &Ctx, token: &str) -> bool {
    let r = ctx
        .call(Method::GET, "/api/v1/me/clients", Some(token), None)
        .await;
    match r.status {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => {
            r.problem(ErrorCode::Unauthorized);
            false
        }
        other => panic!("{other}: {}", r.body),
    }
}

#[actix_web::test]
async fn every_way_of_ending_a_sign_in_ends_its_access_tokens_at_once() {
    let ctx = setup().await;
    let anna = ctx.find("/api/v1/users", "username", "demo.anna").await;
    let id = anna["id"].as_str().unwrap().to_string();
    let chef = ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await;
    let other_chef = ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;

    // Logout ends that sign-in only.
    let (a1, r1) = ctx.sign_in("demo.anna", seed::DEMO_PASSWORD).await;
    let (a2, _) = ctx.sign_in("demo.anna", seed::DEMO_PASSWORD).await;
    assert!(reads(&ctx, &a1).await && reads(&ctx, &a2).await);
    ctx.call(
        Method::POST,
        "/api/v1/auth/logout",
        None,
        Some(json!({"refresh_token": r1})),
    )
    .await;
    assert!(!reads(&ctx, &a1).await, "logged out, still reads");
    assert!(reads(&ctx, &a2).await, "the other phone was signed out too");

    // A lost phone: the provider admin ends the care worker's sign-ins.
    // Only her own care workers', and care workers cannot.
    let path = format!("/api/v1/users/{id}/sessions/end");
    ctx.call(Method::POST, &path, Some(&other_chef), None)
        .await
        .problem(ErrorCode::NotFound);
    ctx.call(Method::POST, &path, Some(&a2), None)
        .await
        .problem(ErrorCode::Forbidden);
    let (a3, r3) = ctx.sign_in("demo.anna", seed::DEMO_PASSWORD).await;
    let r = ctx.call(Method::POST, &path, Some(&chef), None).await;
    assert!(
        r.ok(StatusCode::OK)["ended"].as_u64().unwrap() >= 2,
        "{}",
        r.body
    );
    assert!(!reads(&ctx, &a2).await && !reads(&ctx, &a3).await);
    ctx.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": r3})),
    )
    .await
    .problem(ErrorCode::InvalidRefreshToken);

    // Revoking her keys ends her sign-ins: the phone cannot fetch a new key.
    let (a4, _) = ctx.sign_in("demo.anna", seed::DEMO_PASSWORD).await;
    assert!(reads(&ctx, &a4).await);
    ctx.call(
        Method::POST,
        &format!("/api/v1/users/{id}/keys/revoke"),
        Some(&chef),
        None,
    )
    .await
    .ok(StatusCode::OK);
    assert!(
        !reads(&ctx, &a4).await,
        "keys revoked, the phone still reads"
    );

    // A new password.
    let (a5, _) = ctx.sign_in("demo.anna", seed::DEMO_PASSWORD).await;
    assert!(reads(&ctx, &a5).await);
    ctx.put(
        &format!("/api/v1/users/{id}/password"),
        json!({"password": "ett-nytt-langt-losenord"}),
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    assert!(!reads(&ctx, &a5).await, "new password, old token reads");

    // The account disabled.
    let (a6, _) = ctx.sign_in("demo.anna", "ett-nytt-langt-losenord").await;
    assert!(reads(&ctx, &a6).await);
    let mut body = json!({"username": anna["username"], "display_name": anna["display_name"],
        "role": anna["role"], "provider_id": anna["provider_id"], "active": false});
    if anna["authority_unit_id"].is_string() {
        body["authority_unit_id"] = anna["authority_unit_id"].clone();
    }
    ctx.put(&format!("/api/v1/users/{id}"), body)
        .await
        .ok(StatusCode::OK);
    assert!(!reads(&ctx, &a6).await, "disabled, still reads");
}

#[actix_web::test]
async fn anyone_changes_her_own_password_and_her_other_sign_ins_end() {
    let ctx = setup().await;
    let (here, _) = ctx.sign_in("demo.anna", seed::DEMO_PASSWORD).await;
    let (elsewhere, _) = ctx.sign_in("demo.anna", seed::DEMO_PASSWORD).await;
    let change = |token: String, current: &str, new: &str| {
        let body = json!({"current_password": current, "new_password": new});
        let ctx = &ctx;
        async move {
            ctx.call(Method::PUT, "/api/v1/me/password", Some(&token), Some(body))
                .await
        }
    };
    let r = change(here.clone(), "fel-losenord-helt", "ett-nytt-langt-losenord").await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(
        r.fields(),
        [("current_password".into(), "wrong_password".into())]
    );
    let r = change(here.clone(), seed::DEMO_PASSWORD, "kort").await;
    assert_eq!(r.fields(), [("new_password".into(), "too_short".into())]);
    change(here.clone(), seed::DEMO_PASSWORD, "ett-nytt-langt-losenord")
        .await
        .ok(StatusCode::NO_CONTENT);
    assert!(reads(&ctx, &here).await, "this sign-in goes on");
    assert!(
        !reads(&ctx, &elsewhere).await,
        "the other sign-in still reads"
    );
    ctx.sign_in("demo.anna", "ett-nytt-langt-losenord").await;
    // A caseworker too (she got 403 before).
    let cw = ctx.login("demo.handlaggare", seed::DEMO_PASSWORD).await;
    change(cw, seed::DEMO_PASSWORD, "handlaggarens-nya-losenord")
        .await
        .ok(StatusCode::NO_CONTENT);
    ctx.sign_in("demo.handlaggare", "handlaggarens-nya-losenord")
        .await;
}

#[actix_web::test]
async fn a_refused_token_is_told_which_scheme_to_use() {
    let ctx = setup().await;
    let app = test::init_service(app(ctx.state.clone())).await;
    for auth in [None, Some("Bearer not-a-token")] {
        let mut req = TestRequest::get().uri("/api/v1/me");
        if let Some(a) = auth {
            req = req.insert_header(("Authorization", a));
        }
        let resp = test::call_service(&app, req.to_request()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let h = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert!(
            h("www-authenticate").starts_with("Bearer realm=\"hemtid\""),
            "{auth:?}"
        );
        assert_eq!(h("x-content-type-options"), "nosniff");
    }
}

#[actix_web::test]
async fn an_integration_token_has_no_password_to_change() {
    let ctx = setup().await;
    let (token, hash) = hemtid_core::auth::new_integration_token().unwrap();
    let mut conn = ctx.state.pool.get().unwrap();
    let m = municipality::find_by_code(&mut conn, seed::DEMO_MUNICIPALITY_CODE)
        .unwrap()
        .unwrap();
    api_token::create(
        &mut conn,
        &m.id,
        &hemtid_core::db::new_id(),
        "case system",
        &hash,
        None,
    )
    .unwrap();
    let body = json!({"current_password": "x", "new_password": "ett-nytt-langt-losenord"});
    ctx.call(Method::PUT, "/api/v1/me/password", Some(&token), Some(body))
        .await
        .problem(ErrorCode::Forbidden);
}
