//! Alerts, absences and explanations through the API: roles, reach,
//! validation, the review day (R3).

use super::*;

struct People {
    chef: String,
    other_chef: String,
    caseworker: String,
    staff: String,
    fee: String,
    lisa: String,
}

async fn people(ctx: &Ctx) -> People {
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    People {
        chef: ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await,
        other_chef: ctx
            .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
            .await,
        caseworker: ctx.login("demo.handlaggare", seed::DEMO_PASSWORD).await,
        staff: ctx.login("demo.anna", seed::DEMO_PASSWORD).await,
        fee: ctx.login("demo.avgift", seed::DEMO_PASSWORD).await,
        lisa,
    }
}

#[actix_web::test]
async fn explanations_are_written_by_the_provider_and_reviewed_from_the_fifth() {
    let ctx = setup().await;
    let p = people(&ctx).await;
    let put = |month: &str, body: Value, token: &str| {
        let path = format!("/api/v1/clients/{}/months/{month}/explanation", p.lisa);
        let token = token.to_string();
        let ctx = &ctx;
        async move { ctx.call(Method::PUT, &path, Some(&token), Some(body)).await }
    };
    let r = put(
        "2026-10",
        json!({"cause": "sick_cat", "text": " "}),
        &p.chef,
    )
    .await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(
        r.fields(),
        [
            ("cause".into(), "invalid_value".into()),
            ("text".into(), "required".into())
        ]
    );
    put(
        "2026-10",
        json!({"cause": "other", "text": "x"}),
        &p.caseworker,
    )
    .await
    .problem(ErrorCode::Forbidden);
    put(
        "2026-10",
        json!({"cause": "other", "text": "x"}),
        &p.other_chef,
    )
    .await
    .problem(ErrorCode::NotFound);
    put("2026-12", json!({"cause": "other", "text": "x"}), &p.chef)
        .await
        .problem(ErrorCode::ValidationFailed);
    let r = put(
        "2026-10",
        json!({"cause": "declined_visits", "text": "Lisa avböjde besök under tre veckor."}),
        &p.chef,
    )
    .await;
    let oct = r.ok(StatusCode::OK).clone();
    assert_eq!(
        (oct["state"].as_str(), oct["month"].as_str()),
        (Some("submitted"), Some("2026-10"))
    );
    let review = |id: &str, body: Value, token: &str| {
        let path = format!("/api/v1/explanations/{id}/review");
        let token = token.to_string();
        let ctx = &ctx;
        async move {
            ctx.call(Method::POST, &path, Some(&token), Some(body))
                .await
        }
    };
    let id = oct["id"].as_str().unwrap();
    review(id, json!({"decision": "reject"}), &p.caseworker)
        .await
        .problem(ErrorCode::ValidationFailed);
    review(id, json!({"decision": "approve"}), &p.chef)
        .await
        .problem(ErrorCode::Forbidden);
    // 22 November: October can be reviewed (from the 5th), November not.
    let r = review(
        id,
        json!({"decision": "approve", "note": "Rimligt."}),
        &p.caseworker,
    )
    .await;
    let body = r.ok(StatusCode::OK);
    assert_eq!(body["state"], "approved");
    let actions: Vec<&str> = body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submitted", "approved"]);
    review(id, json!({"decision": "approve"}), &p.caseworker)
        .await
        .problem(ErrorCode::NotReviewable);
    let nov = put(
        "2026-11",
        json!({"cause": "absence", "text": "Sjukhus."}),
        &p.chef,
    )
    .await;
    let nov_id = nov.ok(StatusCode::OK)["id"].as_str().unwrap().to_string();
    let r = review(&nov_id, json!({"decision": "approve"}), &p.caseworker).await;
    r.problem(ErrorCode::ReviewTooEarly);
    assert!(
        r.body["detail"].as_str().unwrap().contains("2026-12-05"),
        "{}",
        r.body
    );
    // Both sides read it.
    let path = format!("/api/v1/clients/{}/months/2026-10/explanations", p.lisa);
    for token in [&p.chef, &p.caseworker] {
        let r = ctx.call(Method::GET, &path, Some(token), None).await;
        assert_eq!(r.ok(StatusCode::OK)["items"][0]["state"], "approved");
    }
}

#[actix_web::test]
async fn absences_are_validated_and_kept_within_reach() {
    let ctx = setup().await;
    let p = people(&ctx).await;
    let path = format!("/api/v1/clients/{}/absences", p.lisa);
    let r = ctx
        .call(
            Method::POST,
            &path,
            Some(&p.chef),
            Some(json!({"starts_on": "2026-10-19", "ends_on": "2026-10-10", "cause": "spa"})),
        )
        .await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(
        r.fields(),
        [
            ("cause".into(), "invalid_value".into()),
            ("ends_on".into(), "before_start".into())
        ]
    );
    // Dates outside 1900–2200 and overlong notes are refused with the
    // field that holds them.
    for (body, field, code) in [
        (
            json!({"starts_on": "0000-01-01", "cause": "hospital"}),
            "starts_on",
            "out_of_range",
        ),
        (
            json!({"starts_on": "2026-10-10", "ends_on": "+262142-12-31", "cause": "hospital"}),
            "ends_on",
            "invalid_value",
        ),
        (
            json!({"starts_on": "2026-10-10", "ends_on": "9999-12-31", "cause": "hospital"}),
            "ends_on",
            "out_of_range",
        ),
        (
            json!({"starts_on": "2026-10-10", "cause": "hospital", "note": "x".repeat(2001)}),
            "note",
            "too_long",
        ),
    ] {
        let r = ctx
            .call(Method::POST, &path, Some(&p.chef), Some(body))
            .await;
        r.problem(ErrorCode::ValidationFailed);
        assert_eq!(r.fields(), [(field.into(), code.into())]);
    }
    let good = json!({"starts_on": "2026-10-10", "ends_on": "2026-10-19", "cause": "hospital"});
    ctx.call(Method::POST, &path, Some(&p.staff), Some(good.clone()))
        .await
        .problem(ErrorCode::Forbidden);
    ctx.call(Method::POST, &path, Some(&p.other_chef), Some(good.clone()))
        .await
        .problem(ErrorCode::NotFound);
    let r = ctx
        .call(Method::POST, &path, Some(&p.chef), Some(good))
        .await;
    let id = r.ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = ctx
        .call(
            Method::POST,
            &format!("/api/v1/absences/{id}/end"),
            Some(&p.caseworker),
            Some(json!({"ends_on": "2026-10-21"})),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["ends_on"], "2026-10-21");
    let r = ctx
        .call(
            Method::POST,
            &format!("/api/v1/absences/{id}/cancel"),
            Some(&p.chef),
            None,
        )
        .await;
    assert!(r.ok(StatusCode::OK)["cancelled_at"].is_string());
    let r = ctx.call(Method::GET, &path, Some(&p.fee), None).await;
    assert_eq!(r.ok(StatusCode::OK)["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn alerts_are_listed_acknowledged_and_resolved_by_whoever_may_see_them() {
    let ctx = setup().await;
    let p = people(&ctx).await;
    // The rules as at 6 November: October is closed and nothing was done.
    let at: chrono::DateTime<chrono::Utc> = "2026-11-06T07:00:00Z".parse().unwrap();
    hemtid_core::evaluate::all(&mut ctx.state.pool.get().unwrap(), at).unwrap();
    let path = format!(
        "/api/v1/alerts?client_id={}&kind=outside_band&month=2026-10",
        p.lisa
    );
    let r = ctx
        .call(Method::GET, &path, Some(&p.caseworker), None)
        .await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    let a = &items[0];
    assert_eq!(
        (
            a["rules"].as_str(),
            a["state"].as_str(),
            a["client_name"].as_str()
        ),
        (Some("R1,R2"), Some("open"), Some("Lisa Lindqvist"))
    );
    assert_eq!(a["figures"]["expected_minutes"], 3096);
    let id = a["id"].as_str().unwrap();
    // The provider sees it; the other provider and the staff do not.
    let one = format!("/api/v1/alerts/{id}");
    ctx.call(Method::GET, &one, Some(&p.chef), None)
        .await
        .ok(StatusCode::OK);
    ctx.call(Method::GET, &one, Some(&p.other_chef), None)
        .await
        .problem(ErrorCode::NotFound);
    ctx.call(Method::GET, &one, Some(&p.staff), None)
        .await
        .problem(ErrorCode::Forbidden);
    // Fee administrators see only theirs (nothing was over: none).
    let r = ctx
        .call(Method::GET, "/api/v1/alerts", Some(&p.fee), None)
        .await;
    assert!(r.ok(StatusCode::OK)["items"].as_array().unwrap().is_empty());
    ctx.call(
        Method::GET,
        "/api/v1/alerts?kind=gossip",
        Some(&p.caseworker),
        None,
    )
    .await
    .problem(ErrorCode::InvalidQuery);
    // A 200,000-character note is refused, not stored and sent on.
    let r = ctx
        .call(
            Method::POST,
            &format!("{one}/acknowledge"),
            Some(&p.caseworker),
            Some(json!({"note": "a".repeat(200_000)})),
        )
        .await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(r.fields(), [("note".into(), "too_long".into())]);
    let r = ctx
        .call(
            Method::POST,
            &format!("{one}/acknowledge"),
            Some(&p.caseworker),
            Some(json!({"note": "Kontaktar utföraren."})),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["state"], "acknowledged");
    let r = ctx
        .call(
            Method::POST,
            &format!("{one}/resolve"),
            Some(&p.caseworker),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["state"], "resolved");
    // Acknowledging what is resolved changes nothing.
    let r = ctx
        .call(
            Method::POST,
            &format!("{one}/acknowledge"),
            Some(&ctx.admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["state"], "resolved");
    let r = ctx.call(Method::GET, &one, Some(&p.caseworker), None).await;
    let history: Vec<(String, Option<String>)> = r.ok(StatusCode::OK)["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap().to_string(),
                h["note"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(history[0].0, "raised");
    assert_eq!(
        history[1],
        ("acknowledged".into(), Some("Kontaktar utföraren.".into()))
    );
    assert_eq!(history[2].0, "resolved");
}

#[actix_web::test]
async fn reports_answer_json_or_csv_within_each_role_s_reach() {
    let ctx = setup().await;
    let p = people(&ctx).await;
    let r = ctx
        .call(
            Method::GET,
            "/api/v1/reports/monthly?month=2026-10",
            Some(&p.fee),
            None,
        )
        .await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let lisa = items
        .iter()
        .find(|i| i["client_id"] == p.lisa.as_str())
        .unwrap();
    assert_eq!(
        (
            lisa["ordered"].as_str(),
            lisa["status"].as_str(),
            lisa["decision"].as_str()
        ),
        (Some("51:36"), Some("under"), Some("frame"))
    );
    // The other provider's admin sees only its own clients.
    let r = ctx
        .call(
            Method::GET,
            "/api/v1/reports/monthly?month=2026-10",
            Some(&p.other_chef),
            None,
        )
        .await;
    let theirs = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    assert!(!theirs.is_empty() && theirs.len() < items.len());
    assert!(
        theirs
            .iter()
            .all(|i| i["provider_name"] == "Omsorgshuset Hemtjänst AB")
    );
    // CSV, by Accept or by format=csv, Swedish headings.
    let req = TestRequest::get()
        .uri("/api/v1/reports/monthly?month=2026-10")
        .insert_header(("Authorization", format!("Bearer {}", p.caseworker)))
        .insert_header(("Accept", "text/csv"));
    let app = test::init_service(app(ctx.state.clone())).await;
    let resp = test::call_service(&app, req.to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        text.starts_with("\u{feff}Brukare;Utförare;Handläggare"),
        "{text}"
    );
    assert!(text.contains("Lisa Lindqvist;"), "{text}");
    let req = TestRequest::get()
        .uri("/api/v1/reports/fees?month=2026-10&format=csv")
        .insert_header(("Authorization", format!("Bearer {}", p.fee)));
    let resp = test::call_service(&app, req.to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert_eq!(
        text,
        "\u{feff}Brukare;Utförare;Beviljad tid;Utförd tid;Överskjutande tid\r\n"
    );
    for (path, token) in [
        ("/api/v1/reports/monthly?month=2026-10", &p.staff),
        ("/api/v1/reports/fees?month=2026-10", &p.chef),
    ] {
        ctx.call(Method::GET, path, Some(token), None)
            .await
            .problem(ErrorCode::Forbidden);
    }
    ctx.call(
        Method::GET,
        "/api/v1/reports/monthly?month=2026-13",
        Some(&p.fee),
        None,
    )
    .await
    .problem(ErrorCode::InvalidQuery);
    ctx.call(
        Method::GET,
        "/api/v1/reports/payment-basis?month=2026-10&format=pdf",
        Some(&p.chef),
        None,
    )
    .await
    .problem(ErrorCode::InvalidQuery);
    let r = ctx
        .call(
            Method::GET,
            "/api/v1/reports/payment-basis?month=2026-10",
            Some(&p.chef),
            None,
        )
        .await;
    assert!(r.ok(StatusCode::OK)["items"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn an_admin_unlocks_a_locked_month_with_a_reason_and_it_is_logged() {
    let ctx = setup().await;
    let p = people(&ctx).await;
    let jakobsberg = ctx
        .find("/api/v1/providers", "name", "Hemtjänsten Jakobsberg")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ctx.call(
        Method::POST,
        "/api/v1/provider/months/2026-10/lock",
        Some(&p.chef),
        None,
    )
    .await
    .ok(StatusCode::OK);
    let entry = |event: &str| {
        json!({
            "event_id": event, "client_id": p.lisa,
            "started_at": "2026-10-15T09:00:00+02:00", "ended_at": "2026-10-15T10:00:00+02:00",
            "reason": "Glömde registrera.", "services": [{"code": "O-Duschhjälp"}],
        })
    };
    let first = uuid::Uuid::new_v4().to_string();
    ctx.call(
        Method::POST,
        "/api/v1/visits/entries",
        Some(&p.staff),
        Some(entry(&first)),
    )
    .await
    .problem(ErrorCode::MonthLocked);
    let unlock = format!("/api/v1/providers/{jakobsberg}/months/2026-10/unlock");
    ctx.call(
        Method::POST,
        &unlock,
        Some(&p.chef),
        Some(json!({"reason": "x"})),
    )
    .await
    .problem(ErrorCode::Forbidden);
    let r = ctx
        .call(
            Method::POST,
            &unlock,
            Some(&ctx.admin),
            Some(json!({"reason": " "})),
        )
        .await;
    r.problem(ErrorCode::ValidationFailed);
    let r = ctx
        .call(
            Method::POST,
            &unlock,
            Some(&ctx.admin),
            Some(json!({"reason": "Sen registrering före räkningskörningen."})),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["unlocked"], true);
    ctx.call(
        Method::POST,
        "/api/v1/visits/entries",
        Some(&p.staff),
        Some(entry(&first)),
    )
    .await
    .ok(StatusCode::CREATED);
    let log = format!("/api/v1/providers/{jakobsberg}/months/2026-10/lock-log");
    let r = ctx.call(Method::GET, &log, Some(&p.chef), None).await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let actions: Vec<(&str, &str)> = items
        .iter()
        .map(|i| (i["action"].as_str().unwrap(), i["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("locked", ""),
            ("unlocked", "Sen registrering före räkningskörningen.")
        ]
    );
    ctx.call(Method::GET, &log, Some(&p.other_chef), None)
        .await
        .problem(ErrorCode::NotFound);
}

#[actix_web::test]
async fn a_clients_month_figures_have_days_services_and_a_year() {
    let ctx = setup().await;
    let p = people(&ctx).await;
    // A visit on 2 October, 09:00-10:30, entered afterwards.
    let r = ctx
        .call(
            Method::POST,
            "/api/v1/visits/entries",
            Some(&p.staff),
            Some(
                json!({"event_id": uuid::Uuid::new_v4(), "client_id": p.lisa,
                        "started_at": "2026-10-02T09:00:00+02:00",
                        "ended_at": "2026-10-02T10:30:00+02:00",
                        "reason": "Telefonen var urladdad.",
                        "services": [{"code": "O-Duschhjälp"}]}),
            ),
        )
        .await;
    r.ok(StatusCode::CREATED);
    let path = format!("/api/v1/clients/{}/months/2026-10/figures", p.lisa);
    let r = ctx
        .call(Method::GET, &path, Some(&p.caseworker), None)
        .await;
    let f = r.ok(StatusCode::OK).clone();
    assert_eq!(f["client_name"], "Lisa Lindqvist");
    assert_eq!(f["decision"], "frame");
    assert_eq!(
        (
            f["ordered_minutes"].as_i64(),
            f["performed_minutes"].as_i64()
        ),
        (Some(3096), Some(90))
    );
    assert_eq!(f["status"], "under");
    let days = f["days"].as_array().unwrap();
    assert_eq!(days.len(), 31);
    assert_eq!(days[1]["date"], "2026-10-02");
    assert_eq!(
        (
            days[1]["visits"].as_i64(),
            days[1]["performed_minutes"].as_i64()
        ),
        (Some(1), Some(90))
    );
    assert_eq!(days[1]["ordered_visits"], 6, "Järfälla's six visits a day");
    // Under the frame the total binds (R8): each service is shown against
    // its share of the month's expected total, and none is judged alone.
    let services = f["services"].as_array().unwrap();
    assert_eq!(services.len(), 6);
    assert!(
        services.iter().all(|s| s["status"] == "not_judged"),
        "{services:?}"
    );
    let shares: i64 = services
        .iter()
        .map(|s| s["frame_share_minutes"].as_i64().unwrap())
        .sum();
    assert_eq!(shares, f["expected_minutes"].as_i64().unwrap());
    // The year: the months with an order (the demo's start from August).
    let months: Vec<&str> = f["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2026-08", "2026-09", "2026-10"]);
    // Another provider's admin does not find her; a care worker may not look.
    ctx.call(Method::GET, &path, Some(&p.other_chef), None)
        .await
        .problem(ErrorCode::NotFound);
    ctx.call(Method::GET, &path, Some(&p.staff), None)
        .await
        .problem(ErrorCode::Forbidden);
    let bad = format!("/api/v1/clients/{}/months/2026-13/figures", p.lisa);
    ctx.call(Method::GET, &bad, Some(&p.chef), None)
        .await
        .problem(ErrorCode::InvalidPath);
}

#[actix_web::test]
async fn metrics_show_latency_per_route_and_the_database_gauges() {
    let ctx = setup().await;
    let p = people(&ctx).await;
    ctx.call(Method::GET, "/api/v1/alerts", Some(&p.caseworker), None)
        .await
        .ok(StatusCode::OK);
    let app = actix_web::test::init_service(app(ctx.state.clone())).await;
    let on_this_machine = TestRequest::default()
        .uri("/metrics")
        .peer_addr("127.0.0.1:40000".parse().unwrap())
        .to_request();
    let resp = actix_web::test::call_service(&app, on_this_machine).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = String::from_utf8(actix_web::test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        text.contains(
            "hemtid_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/alerts\",status=\"2xx\"}"
        ),
        "{text}"
    );
    assert!(text.contains("hemtid_open_visits 0"), "{text}");
    assert!(text.contains("# TYPE hemtid_alerts gauge"), "{text}");
    // Every kind and state is a series, 0 when there is no such alert, so
    // none vanishes when its last alert is resolved.
    for kind in hemtid_core::model::AlertKind::ALL {
        for state in hemtid_core::model::AlertState::ALL {
            assert!(
                text.contains(&format!(
                    "hemtid_alerts{{kind=\"{kind}\",state=\"{state}\"}} "
                )),
                "{kind} {state}: {text}"
            );
        }
    }
    assert!(text.contains("hemtid_alerts{kind=\"visit_open_too_long\",state=\"acknowledged\"} 0"));
    // The process's own figures, under the names every client uses.
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_threads",
    ] {
        assert!(text.contains(&format!("\n{name} ")), "{name}: {text}");
    }
    assert!(text.contains("hemtid_device_events_total{outcome=\"stored\"}"));
    // Route patterns, never ids.
    assert!(!text.contains(&p.lisa));
}
