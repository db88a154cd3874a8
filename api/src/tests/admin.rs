//! The integration API: organisations, people, orders; sign-in and errors.

use super::*;

#[actix_web::test]
async fn health_and_readiness() {
    let ctx = setup().await;
    assert_eq!(
        ctx.call(Method::GET, "/healthz", None, None)
            .await
            .ok(StatusCode::OK)["status"],
        "ok"
    );
    assert_eq!(
        ctx.call(Method::GET, "/readyz", None, None)
            .await
            .ok(StatusCode::OK)["database"],
        "ok"
    );
    // A database that does not answer makes /readyz 503.
    let down =
        hemtid_core::db::DatabaseUrl::parse("postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
            .unwrap();
    let broken = Ctx {
        _db: TestDb::empty(),
        state: AppState::new(
            hemtid_core::db::pool_lazy(&down, 1),
            hemtid_core::auth::TokenKeys::new(&[1; 32], 60),
        ),
        admin: String::new(),
    };
    broken
        .call(Method::GET, "/readyz", None, None)
        .await
        .problem(ErrorCode::NotReady);
}

#[actix_web::test]
async fn sign_in_and_roles() {
    let ctx = setup().await;
    let me = ctx.get("/api/v1/me").await;
    assert_eq!(me.ok(StatusCode::OK)["username"], "demo.admin");
    assert!(me.body.get("password_hash").is_none());
    for (user, pw) in [("demo.admin", "wrong-password"), ("nobody", "hemtid-demo")] {
        let r = ctx
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": user, "password": pw})),
            )
            .await;
        r.problem(ErrorCode::InvalidCredentials);
    }
    ctx.call(Method::GET, "/api/v1/providers", None, None)
        .await
        .problem(ErrorCode::Unauthorized);
    ctx.call(Method::GET, "/api/v1/providers", Some("garbage"), None)
        .await
        .problem(ErrorCode::Unauthorized);
    // Staff sign in but may not use the admin API.
    let staff = ctx.login("DEMO.ANNA", seed::DEMO_PASSWORD).await;
    let me = ctx
        .call(Method::GET, "/api/v1/me", Some(&staff), None)
        .await;
    assert_eq!(me.ok(StatusCode::OK)["role"], "staff");
    ctx.call(Method::GET, "/api/v1/providers", Some(&staff), None)
        .await
        .problem(ErrorCode::Forbidden);
    // A deactivated account cannot sign in.
    let anna = ctx.find("/api/v1/users", "username", "demo.anna").await;
    let mut body = anna.clone();
    for k in ["id", "municipality_id", "created_at", "updated_at"] {
        body.as_object_mut().unwrap().remove(k);
    }
    body["active"] = json!(false);
    ctx.put(
        &format!("/api/v1/users/{}", anna["id"].as_str().unwrap()),
        body,
    )
    .await
    .ok(StatusCode::OK);
    ctx.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "demo.anna", "password": seed::DEMO_PASSWORD})),
    )
    .await
    .problem(ErrorCode::InvalidCredentials);
}

#[actix_web::test]
async fn integration_tokens_act_as_admin_until_revoked() {
    let ctx = setup().await;
    let (token, hash) = hemtid_core::auth::new_integration_token().unwrap();
    let pool = ctx.state.pool.clone();
    let mut conn = pool.get().unwrap();
    let m = municipality::find_by_code(&mut conn, seed::DEMO_MUNICIPALITY_CODE)
        .unwrap()
        .unwrap();
    let t = api_token::create(
        &mut conn,
        &m.id,
        &hemtid_core::db::new_id(),
        "case system",
        &hash,
        None,
    )
    .unwrap();
    let r = ctx
        .call(Method::GET, "/api/v1/clients", Some(&token), None)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"].as_array().unwrap().len(), 6);
    api_token::revoke(&mut conn, &m.id, &t.id).unwrap();
    ctx.call(Method::GET, "/api/v1/clients", Some(&token), None)
        .await
        .problem(ErrorCode::Unauthorized);
}

#[actix_web::test]
async fn bad_requests_get_problem_json() {
    let ctx = setup().await;
    let auth = ("Authorization", format!("Bearer {}", ctx.admin));
    // Malformed JSON.
    let r = ctx
        .raw(
            TestRequest::post()
                .uri("/api/v1/providers")
                .insert_header(auth.clone())
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"name\": "),
        )
        .await;
    r.problem(ErrorCode::InvalidJson);
    // Not JSON at all.
    let r = ctx
        .raw(
            TestRequest::post()
                .uri("/api/v1/providers")
                .insert_header(auth.clone())
                .insert_header(("content-type", "text/plain"))
                .set_payload("name=x"),
        )
        .await;
    r.problem(ErrorCode::UnsupportedMediaType);
    // Too large.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(300 * 1024));
    let r = ctx
        .raw(
            TestRequest::post()
                .uri("/api/v1/providers")
                .insert_header(auth.clone())
                .insert_header(("content-type", "application/json"))
                .set_payload(big),
        )
        .await;
    r.problem(ErrorCode::PayloadTooLarge);
    // Unknown field, wrong type, bad enum value.
    let r = ctx
        .post(
            "/api/v1/providers",
            json!({"name": "X", "regi": "private", "colour": "red"}),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("colour".into(), "unknown_field".into())]
    );
    let r = ctx
        .post("/api/v1/providers", json!({"name": 5, "regi": "private"}))
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("name".into(), "invalid_type".into())]
    );
    let r = ctx
        .post("/api/v1/providers", json!({"name": "X", "regi": "lov"}))
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("regi".into(), "invalid_value".into())]
    );
    // Bad ids in the path, unknown paths and wrong methods.
    ctx.get("/api/v1/providers/not-a-uuid")
        .await
        .problem(ErrorCode::InvalidPath);
    ctx.get(&format!("/api/v1/providers/{}", uuid::Uuid::new_v4()))
        .await
        .problem(ErrorCode::NotFound);
    ctx.get("/api/v1/nothing-here")
        .await
        .problem(ErrorCode::NotFound);
    ctx.call(Method::DELETE, "/api/v1/providers", Some(&ctx.admin), None)
        .await
        .problem(ErrorCode::MethodNotAllowed);
}

#[actix_web::test]
async fn organisations_users_and_services() {
    let ctx = setup().await;
    let r = ctx
        .post(
            "/api/v1/providers",
            json!({"name": "Nya Omsorg AB", "regi": "private", "org_number": "2120000134"}),
        )
        .await;
    let provider = r.ok(StatusCode::CREATED).clone();
    assert_eq!(provider["org_number"], "212000-0134");
    ctx.post(
        "/api/v1/providers",
        json!({"name": "Nya Omsorg AB", "regi": "private"}),
    )
    .await
    .problem(ErrorCode::AlreadyExists);
    let r = ctx
        .post(
            "/api/v1/providers",
            json!({"name": " ", "regi": "private", "org_number": "2120000135"}),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("org_number".into(), "invalid_org_number".into()),
            ("name".into(), "required".into())
        ]
    );
    let pid = provider["id"].as_str().unwrap();
    let r = ctx
        .put(
            &format!("/api/v1/providers/{pid}"),
            json!({"name": "Nya Omsorg AB", "regi": "private", "active": false}),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["active"], false);
    assert_eq!(r.body["org_number"], Value::Null);
    let r = ctx
        .put(
            &format!("/api/v1/providers/{pid}"),
            json!({"id": uuid::Uuid::new_v4(), "name": "N", "regi": "private"}),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("id".into(), "id_mismatch".into())]
    );

    let unit = ctx
        .post(
            "/api/v1/authority-units",
            json!({"name": "ÄVO Väst", "kind": "elderly"}),
        )
        .await;
    let uid = unit.ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        ctx.get(&format!("/api/v1/authority-units/{uid}"))
            .await
            .ok(StatusCode::OK)["kind"],
        "elderly"
    );

    // Users: the role decides the organisation.
    let r = ctx
        .post(
            "/api/v1/users",
            json!({"username": "x", "display_name": "X", "role": "caseworker", "provider_id": pid}),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("username".into(), "invalid_username".into()),
            ("provider_id".into(), "not_allowed".into()),
            ("authority_unit_id".into(), "required".into()),
        ]
    );
    let r = ctx
        .post("/api/v1/users", json!({"username": "kim.k", "display_name": "Kim", "role": "staff", "provider_id": uuid::Uuid::new_v4(), "password": "short"}))
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("password".into(), "too_short".into()),
            ("provider_id".into(), "unknown_reference".into())
        ]
    );
    let r = ctx
        .post("/api/v1/users", json!({"username": "Kim.K", "display_name": "Kim", "role": "caseworker", "authority_unit_id": uid, "password": "a long enough password"}))
        .await;
    let kim = r.ok(StatusCode::CREATED).clone();
    assert_eq!(kim["username"], "kim.k");
    ctx.login("kim.k", "a long enough password").await;
    let kid = kim["id"].as_str().unwrap();
    ctx.put(
        &format!("/api/v1/users/{kid}/password"),
        json!({"password": "another long password"}),
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    ctx.login("kim.k", "another long password").await;
    ctx.post(
        "/api/v1/users",
        json!({"username": "kim.k", "display_name": "Kim 2", "role": "admin"}),
    )
    .await
    .problem(ErrorCode::AlreadyExists);

    // Services.
    let r = ctx
        .post(
            "/api/v1/services",
            json!({"code": "O-Fotvård", "name": "Fotvård", "group": "O", "standard_minutes": 20}),
        )
        .await;
    assert_eq!(r.ok(StatusCode::CREATED)["service_group"], "O");
    ctx.post(
        "/api/v1/services",
        json!({"code": "O-Fotvård", "name": "Fotvård", "group": "O", "standard_minutes": 20}),
    )
    .await
    .problem(ErrorCode::AlreadyExists);
    let r = ctx
        .post(
            "/api/v1/services",
            json!({"code": "S-X", "name": "X", "group": "S", "standard_minutes": -1}),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("standard_minutes".into(), "out_of_range".into())]
    );
    // A care bundle holds personal care (R19): not a service of group S.
    let r = ctx
        .post(
            "/api/v1/services",
            json!({"code": "S-Paket", "name": "Paket", "group": "S", "standard_minutes": 30,
                   "care_bundle": true}),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("care_bundle".into(), "not_personal_care".into())]
    );
    let list = ctx.get("/api/v1/services").await;
    let items = list.ok(StatusCode::OK)["items"].as_array().unwrap();
    assert_eq!(items.len(), seed::JARFALLA_SERVICES.len() + 1);
    // The demo catalogue's three omvårdnadspaket are bundles, nothing else.
    let mut bundles: Vec<&str> = items
        .iter()
        .filter(|s| s["care_bundle"] == true)
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    bundles.sort_unstable();
    assert_eq!(
        bundles,
        [
            "Omvårdnadspaket kväll",
            "Omvårdnadspaket lunch",
            "Omvårdnadspaket morgon"
        ]
    );
}

#[actix_web::test]
async fn municipality_settings_round_trip() {
    let ctx = setup().await;
    let mut m = ctx
        .get("/api/v1/municipality")
        .await
        .ok(StatusCode::OK)
        .clone();
    assert_eq!(m["tolerance_basis_points"], 500);
    assert_eq!(m["frame_window_start"], "07:00");
    assert_eq!(m["frame_window_end"], "22:00");
    assert_eq!(m["care_plan_deadline_days"], 14);
    assert_eq!(m["month_convention"], "average");
    for k in ["id", "code"] {
        m.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(m["plans_from_orders"], false);
    assert_eq!(
        m["order_visit_windows"],
        "07:00-09:00 11:00-13:00 16:00-18:00 19:30-21:30"
    );
    m["care_plan_deadline_days"] = json!(15); // Stockholm's rule (R10)
    m["month_convention"] = json!("calendar");
    m["plans_from_orders"] = json!(true);
    m["order_visit_windows"] = json!("07:30-09:00,  17:00-18:30");
    let r = ctx.put("/api/v1/municipality", m.clone()).await;
    let saved = r.ok(StatusCode::OK);
    assert_eq!(saved["care_plan_deadline_days"], 15);
    assert_eq!(saved["plans_from_orders"], true);
    assert_eq!(saved["order_visit_windows"], "07:30-09:00 17:00-18:30");
    m["time_zone"] = json!("Mars/Olympus");
    m["frame_window_start"] = json!("23:00");
    m["review_from_day"] = json!(31);
    m["order_visit_windows"] = json!("09:00-07:00");
    let r = ctx.put("/api/v1/municipality", m).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("time_zone".into(), "unknown_time_zone".into()),
            ("frame_window_end".into(), "invalid_window".into()),
            ("review_from_day".into(), "out_of_range".into()),
            ("order_visit_windows".into(), "invalid_windows".into()),
        ]
    );
}

#[actix_web::test]
async fn the_access_log_is_kept_at_least_five_years() {
    let ctx = setup().await;
    let mut m = ctx
        .get("/api/v1/municipality")
        .await
        .ok(StatusCode::OK)
        .clone();
    assert_eq!(m["access_log_retention_years"], 10);
    assert_eq!(m["client_retention_years"], 5);
    assert_eq!(m["keep_research_sample"], true);
    for k in ["id", "code"] {
        m.as_object_mut().unwrap().remove(k);
    }
    m["access_log_retention_years"] = json!(5);
    m["client_retention_years"] = json!(2);
    m["keep_research_sample"] = json!(false);
    let r = ctx.put("/api/v1/municipality", m.clone()).await;
    let stored = r.ok(StatusCode::OK);
    assert_eq!(stored["access_log_retention_years"], 5);
    assert_eq!(stored["client_retention_years"], 2);
    assert_eq!(stored["keep_research_sample"], false);
    m["access_log_retention_years"] = json!(4);
    m["client_retention_years"] = json!(0);
    let r = ctx.put("/api/v1/municipality", m).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            (
                "access_log_retention_years".into(),
                "retention_too_short".into()
            ),
            ("client_retention_years".into(), "out_of_range".into()),
        ]
    );
    let m = ctx
        .get("/api/v1/municipality")
        .await
        .ok(StatusCode::OK)
        .clone();
    assert_eq!(m["access_log_retention_years"], 5, "nothing was stored");
}

pub(super) fn client_body(personal_number: &str) -> Value {
    json!({
        "personal_number": personal_number,
        "given_name": "Tolvan",
        "family_name": "Tolvansson",
        "street_address": "Testgatan 12",
        "postal_code": "17561",
        "city": "Järfälla"
    })
}

#[actix_web::test]
async fn clients_validate_personal_numbers_and_never_put_them_in_urls() {
    let ctx = setup().await;
    for (number, code) in [
        ("19121212-1213", "invalid_check_digit"),
        ("19121312-1212", "invalid_date"),
        ("010101+TF11", "invalid_format"),
    ] {
        let r = ctx.post("/api/v1/clients", client_body(number)).await;
        assert_eq!(
            r.problem(ErrorCode::ValidationFailed).fields(),
            vec![("personal_number".into(), code.into())]
        );
        assert!(
            !r.body.to_string().contains(number),
            "the number is not echoed"
        );
    }
    let r = ctx
        .post("/api/v1/clients", client_body("121212-1212"))
        .await;
    let c = r.ok(StatusCode::CREATED).clone();
    assert_eq!(c["personal_number"], "20121212-1212");
    assert_eq!(c["postal_code"], "175 61");
    let location = r.body["id"].as_str().unwrap();
    assert!(!location.contains("1212"));
    ctx.post("/api/v1/clients", client_body("201212121212"))
        .await
        .problem(ErrorCode::AlreadyExists);
    // A coordination number (day + 60).
    ctx.post("/api/v1/clients", client_body("19701063-2391"))
        .await
        .ok(StatusCode::CREATED);
    // Lookup by value, in the body.
    let r = ctx
        .post(
            "/api/v1/clients/lookup",
            json!({"personal_number": "20121212-1212"}),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["id"], c["id"]);
    ctx.post(
        "/api/v1/clients/lookup",
        json!({"personal_number": "19121212-1212"}),
    )
    .await
    .problem(ErrorCode::NotFound);
    // References: the caseworker must be a caseworker.
    let staff = ctx.find("/api/v1/users", "username", "demo.anna").await;
    let mut body = client_body("19121212-1212");
    body["caseworker_id"] = staff["id"].clone();
    body["postal_code"] = json!("1756");
    let r = ctx.post("/api/v1/clients", body).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("postal_code".into(), "invalid_postal_code".into()),
            ("caseworker_id".into(), "not_a_caseworker".into())
        ]
    );
}

#[actix_web::test]
async fn another_municipality_sees_nothing() {
    let ctx = setup().await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await;
    let token = other_municipalitys_admin(&ctx).await;
    let path = format!("/api/v1/clients/{}", lisa["id"].as_str().unwrap());
    ctx.call(Method::GET, &path, Some(&token), None)
        .await
        .problem(ErrorCode::NotFound);
    let r = ctx
        .call(Method::GET, "/api/v1/clients", Some(&token), None)
        .await;
    assert!(r.ok(StatusCode::OK)["items"].as_array().unwrap().is_empty());
}

/// Järfälla Bilaga 4 through the API: lines as the case system writes
/// them and the stated total "51:36 timmar/månad".
fn bilaga4(decision: &str, provider: &str, valid_from: &str) -> Value {
    let daily = |code: &str, hours: &str| json!({"service_code": code, "amount": hours, "unit": "hours", "per": "day"});
    // A care bundle names the personal care it covers (R19).
    let bundle = |code: &str, hours: &str| {
        let mut line = daily(code, hours);
        line["contents"] = json!([
            "O-Personlig hygien",
            "O-På- och avklädning",
            "O-Toalettbesök"
        ]);
        line
    };
    json!({
        "decision_id": decision,
        "provider_id": provider,
        "ordered_on": "2022-03-10",
        "valid_from": valid_from,
        "daily_visits": 6,
        "monthly_total": "51:36",
        "free_text": "Omprövning - oförändrade insatser",
        "lines": [
            {"service_code": "O-Promenad", "amount": 1, "unit": "hours", "per": "week"},
            {"service_code": "O-Duschhjälp", "amount": "1", "unit": "hours", "per": "week"},
            bundle("O-Omvårdnadspaket morgon", "0.2"),
            bundle("O-Omvårdnadspaket kväll", "0.15"),
            daily("O-Toalettbesök", "0.3"),
            {"service_code": "O-Tillsyn", "amount": 0.2, "unit": "hours", "per": "day",
             "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
        ]
    })
}

#[actix_web::test]
async fn decisions_orders_ordered_time_and_renewal() {
    let ctx = setup().await;
    let client = ctx
        .post("/api/v1/clients", client_body("19121212-1212"))
        .await
        .ok(StatusCode::CREATED)
        .clone();
    let provider = ctx
        .find("/api/v1/providers", "name", "Hemtjänsten Jakobsberg")
        .await;
    let (cid, pid) = (
        client["id"].as_str().unwrap(),
        provider["id"].as_str().unwrap(),
    );
    let bad = ctx
        .post("/api/v1/decisions", json!({"client_id": cid, "kind": "frame", "decided_on": "2022-03-10", "valid_from": "2022-03-11", "valid_to": "2022-01-01"}))
        .await;
    assert_eq!(
        bad.problem(ErrorCode::ValidationFailed).fields(),
        vec![("valid_to".into(), "invalid_period".into())]
    );
    let decision = ctx
        .post("/api/v1/decisions", json!({"client_id": cid, "kind": "frame", "decided_on": "2022-03-10", "valid_from": "2022-03-11"}))
        .await;
    let did = decision.ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(decision.body["legal_basis"], "SoL 4 kap. 1 §");

    // Dates outside 1900-2200 are typos or attacks, never an order's.
    for (date, code) in [
        ("0000-01-01", "out_of_range"),
        ("9999-12-31", "out_of_range"),
        ("+262142-12-31", "invalid_value"),
    ] {
        let r = ctx.post("/api/v1/orders", bilaga4(&did, pid, date)).await;
        assert_eq!(
            r.problem(ErrorCode::ValidationFailed).fields(),
            vec![("valid_from".into(), code.into())],
            "{date}"
        );
    }
    let order = ctx
        .post("/api/v1/orders", bilaga4(&did, pid, "2022-03-11"))
        .await;
    let o = order.ok(StatusCode::CREATED).clone();
    assert_eq!(o["monthly_total_minutes"], 3096);
    assert_eq!(o["monthly_total"], "51:36");
    assert_eq!(o["client_id"], cid);
    assert_eq!(o["lines"][3]["amount"], "0.15");
    assert_eq!(o["lines"][3]["minutes_per_occurrence"], 9);
    assert_eq!(o["lines"][5]["weekdays"].as_array().unwrap().len(), 7);
    assert_eq!(
        o["lines"][2]["contents"],
        json!([
            "O-Personlig hygien",
            "O-På- och avklädning",
            "O-Toalettbesök"
        ])
    );
    assert_eq!(o["lines"][4]["contents"], json!([]));
    let oid = o["id"].as_str().unwrap().to_string();

    let t = ctx
        .get(&format!("/api/v1/orders/{oid}/ordered-time?month=2022-04"))
        .await;
    let t = t.ok(StatusCode::OK);
    assert_eq!(t["total_minutes"], 3096);
    assert_eq!(t["total"], "51:36");
    assert_eq!(t["computed_minutes"], 2072);
    assert_eq!(t["lines"][2]["service_code"], "O-Omvårdnadspaket morgon");
    // The first month is prorated: 21 of 31 March days.
    let t = ctx
        .get(&format!("/api/v1/orders/{oid}/ordered-time?month=2022-03"))
        .await;
    assert_eq!(t.ok(StatusCode::OK)["valid_days"], 21);
    assert_eq!(t.body["total_minutes"], 2097); // 3096 × 21/31 = 2097.3
    ctx.get(&format!("/api/v1/orders/{oid}/ordered-time?month=2022-13"))
        .await
        .problem(ErrorCode::InvalidQuery);
    ctx.get(&format!("/api/v1/orders/{oid}/ordered-time"))
        .await
        .problem(ErrorCode::InvalidQuery);

    // Field paths into lines.
    let mut broken = bilaga4(&did, pid, "2022-03-11");
    broken["lines"][1]["amount"] = json!("0.01");
    broken["lines"][2]["service_code"] = json!("O-Okänd");
    broken["lines"][4]["weekdays"] = json!(["mon", "funday"]);
    broken["monthly_total"] = json!("51:99");
    let r = ctx.post("/api/v1/orders", broken).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("monthly_total".into(), "invalid_duration".into()),
            ("lines[1].amount".into(), "invalid_amount".into()),
            ("lines[4].weekdays".into(), "invalid_weekdays".into()),
            ("lines[2].service_code".into(), "unknown_service".into()),
        ]
    );
    // R19: a bundle covers at least three personal-care services; only a
    // bundle's line names what it covers.
    let mut small = bilaga4(&did, pid, "2022-03-11");
    small["lines"][2]["contents"] = json!([
        "O-Personlig hygien",
        "O-Personlig hygien",
        "S-Städning 2 r o k"
    ]);
    small["lines"][3]["contents"] = json!([]);
    small["lines"][4]["contents"] = json!(["O-Personlig hygien"]);
    let r = ctx.post("/api/v1/orders", small).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("lines[2].contents[2]".into(), "not_personal_care".into()),
            ("lines[2].contents".into(), "care_bundle_too_small".into()),
            ("lines[3].contents".into(), "care_bundle_too_small".into()),
            ("lines[4].contents".into(), "not_a_care_bundle".into()),
        ]
    );
    let r = ctx
        .post("/api/v1/orders", bilaga4(&did, pid, "2022-03-01"))
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("valid_from".into(), "outside_decision".into())]
    );

    // Update replaces the lines.
    let mut update = bilaga4(&did, pid, "2022-03-11");
    update["lines"].as_array_mut().unwrap().truncate(2);
    update["monthly_total"] = Value::Null;
    let r = ctx.put(&format!("/api/v1/orders/{oid}"), update).await;
    assert_eq!(r.ok(StatusCode::OK)["lines"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["monthly_total_minutes"], Value::Null);

    // Renewal from 1 November 2026 (R17): new order linked, old one ends.
    let renewal = ctx
        .post(
            &format!("/api/v1/orders/{oid}/renewal"),
            bilaga4(&did, pid, "2026-11-01"),
        )
        .await;
    let n = renewal.ok(StatusCode::CREATED).clone();
    assert_eq!(n["previous_order_id"], oid.as_str());
    let old = ctx.get(&format!("/api/v1/orders/{oid}")).await;
    assert_eq!(old.ok(StatusCode::OK)["valid_to"], "2026-10-31");
    ctx.post(
        &format!("/api/v1/orders/{oid}/renewal"),
        bilaga4(&did, pid, "2026-12-01"),
    )
    .await
    .problem(ErrorCode::AlreadyRenewed);
    let r = ctx
        .post(
            &format!("/api/v1/orders/{}/renewal", n["id"].as_str().unwrap()),
            bilaga4(&did, pid, "2026-10-01"),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("valid_from".into(), "not_after_previous".into())]
    );
    let orders = ctx.get(&format!("/api/v1/clients/{cid}/orders")).await;
    assert_eq!(
        orders.ok(StatusCode::OK)["items"].as_array().unwrap().len(),
        2
    );
    let decisions = ctx.get(&format!("/api/v1/clients/{cid}/decisions")).await;
    assert_eq!(decisions.ok(StatusCode::OK)["items"][0]["id"], did.as_str());
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_sign_in() {
    let ctx = setup().await;
    let login = |pw: &str| json!({"username": "demo.anna", "password": pw});
    let r = ctx
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(login(seed::DEMO_PASSWORD)),
        )
        .await;
    let first = r.ok(StatusCode::OK)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(first.starts_with("hrt_"));
    assert_eq!(r.body["refresh_expires_in"], 14 * 24 * 3600);
    let refresh = |t: &str| json!({"refresh_token": t});
    let r = ctx
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(refresh(&first)),
        )
        .await;
    let second = r.ok(StatusCode::OK)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let access = r.body["access_token"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(
        ctx.call(Method::GET, "/api/v1/me", Some(&access), None)
            .await
            .ok(StatusCode::OK)["username"],
        "demo.anna"
    );
    // The first token again: someone copied it. The whole sign-in ends.
    ctx.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(refresh(&first)),
    )
    .await
    .problem(ErrorCode::RefreshTokenReused);
    ctx.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(refresh(&second)),
    )
    .await
    .problem(ErrorCode::InvalidRefreshToken);
    ctx.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(refresh("hrt_nonsense")),
    )
    .await
    .problem(ErrorCode::InvalidRefreshToken);

    // Logout revokes; logging out twice is harmless.
    let r = ctx
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(login(seed::DEMO_PASSWORD)),
        )
        .await;
    let token = r.ok(StatusCode::OK)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        ctx.call(
            Method::POST,
            "/api/v1/auth/logout",
            None,
            Some(refresh(&token)),
        )
        .await
        .ok(StatusCode::NO_CONTENT);
    }
    ctx.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(refresh(&token)),
    )
    .await
    .problem(ErrorCode::InvalidRefreshToken);

    // A new password ends every sign-in of the account.
    let r = ctx
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(login(seed::DEMO_PASSWORD)),
        )
        .await;
    let token = r.ok(StatusCode::OK)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let anna = ctx.find("/api/v1/users", "username", "demo.anna").await;
    ctx.put(
        &format!("/api/v1/users/{}/password", anna["id"].as_str().unwrap()),
        json!({"password": "a brand new password"}),
    )
    .await
    .ok(StatusCode::NO_CONTENT);
    ctx.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(refresh(&token)),
    )
    .await
    .problem(ErrorCode::InvalidRefreshToken);
}

#[actix_web::test]
async fn repeated_failed_sign_ins_are_slowed_down() {
    let ctx = setup().await;
    let attempt = |pw: &str| json!({"username": "demo.bertil", "password": pw});
    for _ in 0..hemtid_core::auth::throttle::FREE_PER_ACCOUNT {
        ctx.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(attempt("wrong password")),
        )
        .await
        .problem(ErrorCode::InvalidCredentials);
    }
    // Now even the right password has to wait.
    let app = test::init_service(app(ctx.state.clone())).await;
    let req = TestRequest::post()
        .uri("/api/v1/auth/login")
        .set_json(attempt(seed::DEMO_PASSWORD))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["code"], ErrorCode::TooManyAttempts.as_str());
    // Another account from the same address is not blocked yet.
    ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
}

#[actix_web::test]
async fn every_role_reads_the_clients_within_its_reach() {
    let ctx = setup().await;
    let names = |r: &Resp| -> Vec<String> {
        let mut v: Vec<String> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["given_name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    for (user, expected) in [
        (
            "demo.handlaggare",
            vec!["Greta", "Lisa", "Maj", "Nils", "Olof"],
        ),
        ("demo.handlaggare.ffs", vec!["Sven"]),
        ("demo.chef.jakobsberg", vec!["Greta", "Lisa", "Maj", "Nils"]),
        ("demo.chef.omsorgshuset", vec!["Olof", "Sven"]),
        ("demo.anna", vec!["Greta", "Lisa", "Maj", "Nils"]),
        (
            "demo.avgift",
            vec!["Greta", "Lisa", "Maj", "Nils", "Olof", "Sven"],
        ),
    ] {
        let token = ctx.login(user, seed::DEMO_PASSWORD).await;
        let r = ctx
            .call(Method::GET, "/api/v1/clients", Some(&token), None)
            .await;
        r.ok(StatusCode::OK);
        assert_eq!(names(&r), expected, "{user}");
    }
    let sven = ctx.find("/api/v1/clients", "given_name", "Sven").await;
    let path = format!("/api/v1/clients/{}", sven["id"].as_str().unwrap());
    let cw = ctx.login("demo.handlaggare", seed::DEMO_PASSWORD).await;
    ctx.call(Method::GET, &path, Some(&cw), None)
        .await
        .problem(ErrorCode::NotFound);
    let ffs = ctx.login("demo.handlaggare.ffs", seed::DEMO_PASSWORD).await;
    ctx.call(Method::GET, &path, Some(&ffs), None)
        .await
        .ok(StatusCode::OK);
    // Writing stays with the admin and the integration.
    ctx.call(
        Method::POST,
        "/api/v1/clients",
        Some(&cw),
        Some(client_body("19121212-1212")),
    )
    .await
    .problem(ErrorCode::Forbidden);
    // Other catalogues stay admin-only to read.
    ctx.call(Method::GET, "/api/v1/providers", Some(&cw), None)
        .await
        .problem(ErrorCode::Forbidden);
}

#[actix_web::test]
async fn retention_runs_are_shown_to_their_municipalitys_admin_only() {
    let ctx = setup().await;
    let pool = ctx.state.pool.clone();
    let mut conn = pool.get().unwrap();
    let keys = hemtid_core::auth::lock_keys::LockKeys::from_seed(&[3; 32]).unwrap();
    let at: chrono::DateTime<chrono::Utc> = "2026-11-22T02:00:00Z".parse().unwrap();
    let outcomes = hemtid_core::retention::run_all(&mut conn, at, &keys, false).unwrap();
    assert_eq!(outcomes.len(), 1);
    let r = ctx.get("/api/v1/municipality/retention-runs").await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["ran_at"], "2026-11-22T02:00:00Z");
    assert_eq!(items[0]["orders_ended_before"], "2021-11-22");
    assert_eq!(items[0]["access_log_before"], "2016-11-21T23:00:00Z");
    assert_eq!(items[0]["clients_purged"], 0);
    assert_eq!(items[0]["rows_deleted"], 0);
    assert!(items[0]["counts"].as_object().unwrap().is_empty());
    // A care worker may not see it; another municipality's admin sees none.
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    ctx.call(
        Method::GET,
        "/api/v1/municipality/retention-runs",
        Some(&anna),
        None,
    )
    .await
    .problem(ErrorCode::Forbidden);
    let token = other_municipalitys_admin(&ctx).await;
    let r = ctx
        .call(
            Method::GET,
            "/api/v1/municipality/retention-runs",
            Some(&token),
            None,
        )
        .await;
    assert!(r.ok(StatusCode::OK)["items"].as_array().unwrap().is_empty());
}

/// Signs in the admin of a second municipality (Stockholm) in the same
/// database.
async fn other_municipalitys_admin(ctx: &Ctx) -> String {
    let mut conn = ctx.state.pool.get().unwrap();
    let other = municipality::create(&mut conn, "0180", "Stockholm", &Default::default()).unwrap();
    let hash = hemtid_core::auth::hash_password("other admin password").unwrap();
    user_account::create(
        &mut conn,
        &other.id,
        &hemtid_core::db::new_id(),
        &user_account::UserFields {
            username: "sthlm.admin".into(),
            display_name: "S".into(),
            role: hemtid_core::model::Role::Admin,
            provider_id: None,
            authority_unit_id: None,
            active: true,
            external_id: None,
        },
        Some(&hash),
    )
    .unwrap();
    ctx.login("sthlm.admin", "other admin password").await
}
