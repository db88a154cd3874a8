//! The catalogue's codes and decisions through the reports: services
//! offered without a needs decision (SoL 2025:400) and KSI codes.

use super::*;

/// Creates a service as the admin; its id.
async fn service(ctx: &Ctx, body: Value) -> String {
    let r = ctx.post("/api/v1/services", body).await;
    r.ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn time_without_a_needs_decision_is_reported_but_not_judged() {
    let ctx = setup().await;
    // A KSI code in any of its spellings is stored in one; a wrong one is
    // refused with its field.
    let r = ctx
        .post(
            "/api/v1/services",
            json!({"code": "S-Fix", "name": "Fixartjänst", "group": "S",
                   "standard_minutes": 30, "ksi_code": "SNH RB"}),
        )
        .await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(r.fields(), [("ksi_code".into(), "invalid_ksi_code".into())]);
    let fix = service(
        &ctx,
        json!({"code": "S-Fixartjänst", "name": "Fixartjänst", "group": "S",
               "standard_minutes": 30, "without_decision": true, "ksi_code": "snh.rb.zz"}),
    )
    .await;
    let r = ctx.get(&format!("/api/v1/services/{fix}")).await;
    let body = r.ok(StatusCode::OK);
    assert_eq!(
        (
            body["ksi_code"].as_str(),
            body["without_decision"].as_bool()
        ),
        (Some("SNH RB ZZ"), Some(true))
    );
    // Promenad gets a code too.
    let walk = ctx.find("/api/v1/services", "code", "O-Promenad").await;
    let mut put = json!({"code": "O-Promenad", "name": walk["name"], "group": "O",
        "standard_minutes": walk["standard_minutes"], "ksi_code": "SIB RC ZZ"});
    put["active"] = walk["active"].clone();
    ctx.put(
        &format!("/api/v1/services/{}", walk["id"].as_str().unwrap()),
        put,
    )
    .await
    .ok(StatusCode::OK);

    // Anna's hour at Lisa's: 40 minutes of the undecided service, 20 of
    // the ordered walk.
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let at = |t: &str| {
        json!({"event_id": uuid::Uuid::new_v4().to_string(), "client_id": lisa,
               "occurred_at": t, "method": "nfc", "tag_uid": "04:A2:19:7C"})
    };
    ctx.call(
        Method::POST,
        "/api/v1/visits/check-in",
        Some(&anna),
        Some(at("2026-11-20T08:00:00+01:00")),
    )
    .await
    .ok(StatusCode::CREATED);
    let mut out = at("2026-11-20T09:00:00+01:00");
    out["services"] =
        json!([{"code": "S-Fixartjänst", "minutes": 40}, {"code": "O-Promenad", "minutes": 20}]);
    ctx.call(
        Method::POST,
        "/api/v1/visits/check-out",
        Some(&anna),
        Some(out),
    )
    .await
    .ok(StatusCode::CREATED);

    // The monthly report: 20 minutes judged against the order, 40 beside.
    let r = ctx.get("/api/v1/reports/monthly?month=2026-11").await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let row = items
        .iter()
        .find(|i| i["client_id"] == lisa.as_str())
        .unwrap();
    assert_eq!(
        (
            row["performed_minutes"].as_i64(),
            row["without_decision_minutes"].as_i64()
        ),
        (Some(20), Some(40)),
        "{row}"
    );
    // So does the client's month page.
    let r = ctx
        .get(&format!("/api/v1/clients/{lisa}/months/2026-11/figures"))
        .await;
    let f = r.ok(StatusCode::OK);
    assert_eq!(
        (
            f["performed_minutes"].as_i64(),
            f["without_decision_minutes"].as_i64()
        ),
        (Some(20), Some(40)),
        "{f}"
    );

    // Per KSI code: the coded groups first; the undecided time beside.
    let r = ctx
        .get("/api/v1/reports/monthly-by-ksi?month=2026-11")
        .await;
    let rows = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let codes: Vec<Option<&str>> = rows.iter().map(|r| r["ksi_code"].as_str()).collect();
    assert_eq!(
        codes[..2],
        [Some("SIB RC ZZ"), Some("SNH RB ZZ")],
        "{rows:?}"
    );
    assert_eq!(codes.last(), Some(&None), "{rows:?}");
    let fixed = &rows[1];
    assert_eq!(
        (
            fixed["services"].clone(),
            fixed["performed_minutes"].as_i64(),
            fixed["without_decision_minutes"].as_i64(),
            fixed["ordered_minutes"].as_i64(),
            fixed["clients"].as_i64()
        ),
        (
            json!(["S-Fixartjänst"]),
            Some(40),
            Some(40),
            Some(0),
            Some(1)
        )
    );
    let walks = &rows[0];
    assert_eq!(walks["performed_minutes"], 20, "{walks}");
    assert!(walks["ordered_minutes"].as_i64().unwrap() > 0, "{walks}");
    // As CSV, and for the provider admin of the other provider: none of
    // Lisa's time.
    let req = TestRequest::get()
        .uri("/api/v1/reports/monthly-by-ksi?month=2026-11&format=csv")
        .insert_header(("Authorization", format!("Bearer {}", ctx.admin)));
    let app = test::init_service(app(ctx.state.clone())).await;
    let resp = test::call_service(&app, req.to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        text.starts_with(
            "\u{feff}KSI-kod;Insatser;Brukare;Beställd tid;Utförd tid;Varav utan biståndsbeslut\r\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("SNH RB ZZ;S-Fixartjänst;1;0:00;0:40;0:40\r\n"),
        "{text}"
    );
    let other = ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;
    let r = ctx
        .call(
            Method::GET,
            "/api/v1/reports/monthly-by-ksi?month=2026-11",
            Some(&other),
            None,
        )
        .await;
    let theirs = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    assert!(
        theirs.iter().all(|r| r["ksi_code"] != "SNH RB ZZ"),
        "{theirs:?}"
    );
    let staff = ctx
        .call(
            Method::GET,
            "/api/v1/reports/monthly-by-ksi?month=2026-11",
            Some(&anna),
            None,
        )
        .await;
    staff.problem(ErrorCode::Forbidden);

    // Six hours of the undecided service at Nils's, whose month orders
    // about five: his performed time over the granted would put him in
    // the fee report (R5), but the time had no decision to exceed.
    let nils = ctx.find("/api/v1/clients", "given_name", "Nils").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let at_nils = |t: &str| {
        json!({"event_id": uuid::Uuid::new_v4().to_string(), "client_id": nils,
               "occurred_at": t, "method": "nfc", "tag_uid": "04:A2:19:7C"})
    };
    ctx.call(
        Method::POST,
        "/api/v1/visits/check-in",
        Some(&anna),
        Some(at_nils("2026-11-19T08:00:00+01:00")),
    )
    .await
    .ok(StatusCode::CREATED);
    let mut out = at_nils("2026-11-19T14:00:00+01:00");
    out["services"] = json!([{"code": "S-Fixartjänst"}]);
    ctx.call(
        Method::POST,
        "/api/v1/visits/check-out",
        Some(&anna),
        Some(out),
    )
    .await
    .ok(StatusCode::CREATED);
    let r = ctx.get("/api/v1/reports/monthly?month=2026-11").await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let row = items
        .iter()
        .find(|i| i["client_id"] == nils.as_str())
        .unwrap();
    assert!(
        row["ordered_minutes"].as_i64().unwrap() < 360,
        "Nils's order is not below six hours: {row}"
    );
    assert_eq!(row["without_decision_minutes"], 360, "{row}");
    let r = ctx.get("/api/v1/reports/fees?month=2026-11").await;
    let fees = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    assert!(
        fees.iter().all(|f| f["client_id"] != nils.as_str()),
        "{fees:?}"
    );
}

#[actix_web::test]
async fn the_measures_default_to_the_national_measurement_weeks() {
    let ctx = setup().await;
    // Without a week: the two whole weeks before this one (22 November
    // 2026 is a Sunday of week 47: weeks 45 and 46).
    let r = ctx.get("/api/v1/reports/measures").await;
    assert_eq!(r.ok(StatusCode::OK)["from"], "2026-11-02");
    let mut m = ctx
        .get("/api/v1/municipality")
        .await
        .ok(StatusCode::OK)
        .clone();
    for k in ["id", "code"] {
        m.as_object_mut().unwrap().remove(k);
    }
    m["continuity_week"] = json!(54);
    let r = ctx.put("/api/v1/municipality", m.clone()).await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(
        r.fields(),
        [("continuity_week".into(), "out_of_range".into())]
    );
    m["continuity_week"] = json!(40);
    ctx.put("/api/v1/municipality", m).await.ok(StatusCode::OK);
    let r = ctx.get("/api/v1/reports/measures").await;
    let body = r.ok(StatusCode::OK);
    assert_eq!(
        (body["from"].as_str(), body["continuity_to"].as_str()),
        (Some("2026-09-28"), Some("2026-10-11"))
    );
}

/// The phone's checks keep the catalogue across requests only while no
/// service changes: a service withdrawn is refused at the next check-out,
/// and a new one is taken at once, with its code in the answer.
#[actix_web::test]
async fn the_phone_sees_a_catalogue_change_at_once() {
    let ctx = setup().await;
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = |t: &str, code: &str| {
        json!({"event_id": uuid::Uuid::new_v4().to_string(), "client_id": lisa,
               "occurred_at": t, "method": "nfc", "tag_uid": "04:A2:19:7C",
               "services": [{"code": code}]})
    };
    let send = |body: Value| {
        ctx.call(
            Method::POST,
            "/api/v1/visits/check-out",
            Some(&anna),
            Some(body),
        )
    };
    let r = send(out("2026-11-20T09:00:00+01:00", "O-Promenad")).await;
    assert_eq!(
        r.ok(StatusCode::CREATED)["visits"][0]["services"][0]["code"],
        "O-Promenad"
    );
    // Withdrawn from the catalogue.
    let walk = ctx.find("/api/v1/services", "code", "O-Promenad").await;
    let put = json!({"code": "O-Promenad", "name": walk["name"], "group": "O",
        "standard_minutes": walk["standard_minutes"], "active": false});
    ctx.put(
        &format!("/api/v1/services/{}", walk["id"].as_str().unwrap()),
        put,
    )
    .await
    .ok(StatusCode::OK);
    let r = send(out("2026-11-21T09:00:00+01:00", "O-Promenad")).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("services[0]".into(), "unknown_service".into())]
    );
    // A new service.
    service(
        &ctx,
        json!({"code": "S-Trappstädning", "name": "Fönsterputs", "group": "S",
               "standard_minutes": 60}),
    )
    .await;
    let r = send(out("2026-11-22T09:00:00+01:00", "S-Trappstädning")).await;
    let codes: Vec<Value> = r.ok(StatusCode::CREATED)["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["services"][0]["code"].clone())
        .collect();
    assert!(codes.contains(&json!("S-Trappstädning")), "{codes:?}");
}
