//! The care worker's phone: visits, months, sync, journal, access.

use super::*;

/// The ids a phone test needs.
struct Phone {
    ctx: Ctx,
    anna: String,
    lisa: String,
    maj: String,
    sven: String,
}

async fn phone() -> Phone {
    let ctx = setup().await;
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let id = |c: &Value| c["id"].as_str().unwrap().to_string();
    let lisa = id(&ctx.find("/api/v1/clients", "given_name", "Lisa").await);
    let maj = id(&ctx.find("/api/v1/clients", "given_name", "Maj").await);
    let sven = id(&ctx.find("/api/v1/clients", "given_name", "Sven").await);
    Phone {
        ctx,
        anna,
        lisa,
        maj,
        sven,
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn check_in(client: &str, at: &str) -> Value {
    json!({"event_id": uuid(), "client_id": client, "occurred_at": at, "method": "nfc", "tag_uid": "04:A2:19:7C"})
}

fn check_out(client: &str, at: &str, services: Value) -> Value {
    json!({"event_id": uuid(), "client_id": client, "occurred_at": at, "method": "nfc",
           "tag_uid": "04:A2:19:7C", "services": services})
}

impl Phone {
    async fn send(&self, token: &str, path: &str, body: Value) -> Resp {
        self.ctx
            .call(Method::POST, path, Some(token), Some(body))
            .await
    }

    async fn month(&self, token: &str, client: &str, month: &str) -> Value {
        let r = self
            .ctx
            .call(
                Method::GET,
                &format!("/api/v1/clients/{client}/months/{month}"),
                Some(token),
                None,
            )
            .await;
        r.ok(StatusCode::OK).clone()
    }
}

#[actix_web::test]
async fn a_care_worker_day_from_check_in_to_the_month() {
    let p = phone().await;
    let r = p
        .ctx
        .call(Method::GET, "/api/v1/me/clients", Some(&p.anna), None)
        .await;
    let today = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let names: Vec<&str> = today
        .iter()
        .map(|c| c["given_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["Greta", "Lisa", "Maj", "Nils"],
        "Jakobsberg's clients, not Omsorgshuset's"
    );
    let lisa = today.iter().find(|c| c["given_name"] == "Lisa").unwrap();
    assert_eq!(lisa["order"]["daily_visits"], 6);
    assert_eq!(lisa["order"]["decision_kind"], "frame");
    assert_eq!(lisa["month"]["ordered_minutes"], 3096);
    assert_eq!(lisa["month"]["performed_minutes"], 0);
    assert_eq!(lisa["order"]["services"][0]["code"], "O-Promenad");
    assert_eq!(lisa["order"]["services"][0]["standard_minutes"], 30);

    let ci = check_in(&p.lisa, "2026-11-20T08:00:00+01:00");
    let r = p.send(&p.anna, "/api/v1/visits/check-in", ci).await;
    assert_eq!(r.ok(StatusCode::CREATED)["result"], "applied");
    assert_eq!(r.body["visits"][0]["status"], "open");
    let services = json!([{"code": "O-Duschhjälp"}, {"code": "O-Promenad"}]);
    let co = check_out(&p.lisa, "2026-11-20T08:45:00+01:00", services);
    let r = p
        .send(&p.anna, "/api/v1/visits/check-out", co.clone())
        .await;
    let v = &r.ok(StatusCode::CREATED)["visits"][0];
    assert_eq!(
        (v["status"].as_str(), v["seconds"].as_i64()),
        (Some("closed"), Some(2700))
    );
    assert_eq!(v["services"][0]["minutes"], 23); // 22.5 minutes each
    assert_eq!(v["services"][1]["minutes"], 23);
    // Sent again: a duplicate, nothing changes.
    let r = p.send(&p.anna, "/api/v1/visits/check-out", co).await;
    assert_eq!(r.ok(StatusCode::OK)["result"], "duplicate");

    let m = p.month(&p.anna, &p.lisa, "2026-11").await;
    assert_eq!(m["performed_minutes"], 45);
    assert_eq!(m["ordered"], "51:36");
    assert_eq!(m["counted_visits"], 1);
    let shower = m["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "O-Duschhjälp")
        .unwrap();
    assert_eq!(
        (
            shower["ordered_minutes"].as_i64(),
            shower["performed_minutes"].as_i64()
        ),
        (Some(260), Some(23))
    );
    let r = p
        .ctx
        .call(
            Method::GET,
            "/api/v1/me/visits?date=2026-11-20",
            Some(&p.anna),
            None,
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"].as_array().unwrap().len(), 1);
    // The care worker's list of clients says the same of the month.
    let r = p
        .ctx
        .call(Method::GET, "/api/v1/me/clients", Some(&p.anna), None)
        .await;
    let today = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let lisa = today.iter().find(|c| c["given_name"] == "Lisa").unwrap();
    assert_eq!(
        (
            lisa["month"]["ordered_minutes"].as_i64(),
            lisa["month"]["performed_minutes"].as_i64(),
            lisa["month"]["left"].as_str()
        ),
        (Some(3096), Some(45), Some("50:51"))
    );
    let greta = today.iter().find(|c| c["given_name"] == "Greta").unwrap();
    assert_eq!(greta["month"]["performed_minutes"], 0);
    // The caseworker sees the same month (the whole client).
    let cw = p.ctx.login("demo.handlaggare", seed::DEMO_PASSWORD).await;
    assert_eq!(
        p.month(&cw, &p.lisa, "2026-11").await["performed_minutes"],
        45
    );
}

#[actix_web::test]
async fn sync_with_a_shuffled_duplicated_batch_gives_the_same_month() {
    let p = phone().await;
    let services = json!([{"code": "O-Duschhjälp", "minutes": 20}, {"code": "O-Promenad"}]);
    let mut items = vec![
        json!({"type": "check_in"}).as_object().unwrap().clone(),
        json!({"type": "check_out"}).as_object().unwrap().clone(),
        json!({"type": "check_in"}).as_object().unwrap().clone(),
        json!({"type": "check_out"}).as_object().unwrap().clone(),
        json!({"type": "declined"}).as_object().unwrap().clone(),
        json!({"type": "note"}).as_object().unwrap().clone(),
    ];
    let bodies = [
        check_in(&p.lisa, "2026-11-18T07:00:00+01:00"),
        check_out(&p.lisa, "2026-11-18T07:40:00+01:00", services.clone()),
        check_in(&p.maj, "2026-11-18T09:00:00+01:00"),
        check_out(
            &p.maj,
            "2026-11-18T09:30:00+01:00",
            json!([{"code": "S-Inköp utan kund"}]),
        ),
        json!({"event_id": uuid(), "client_id": p.lisa, "occurred_at": "2026-11-18T12:00:00+01:00",
               "reason": "Lisa ville inte ha besök", "services": ["O-Tillsyn"]}),
        json!({"event_id": uuid(), "client_id": p.lisa, "written_at": "2026-11-18T07:41:00+01:00",
               "body": "Lisa var glad i dag."}),
    ];
    for (item, body) in items.iter_mut().zip(bodies) {
        item.extend(body.as_object().unwrap().clone());
    }
    // Reversed and with every item twice.
    let mut batch: Vec<Value> = items.iter().rev().cloned().map(Value::Object).collect();
    batch.extend(items.iter().cloned().map(Value::Object));
    let r = p
        .send(&p.anna, "/api/v1/sync", json!({"items": batch}))
        .await;
    let results = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let count = |what: &str| results.iter().filter(|i| i["result"] == what).count();
    assert_eq!(
        (count("applied"), count("duplicate"), count("rejected")),
        (6, 6, 0),
        "{results:?}"
    );
    let sync_month = p.month(&p.anna, &p.lisa, "2026-11").await;
    // The batch again: all duplicates, the month unchanged.
    let r = p
        .send(&p.anna, "/api/v1/sync", json!({"items": batch}))
        .await;
    assert!(
        r.ok(StatusCode::OK)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["result"] == "duplicate")
    );
    assert_eq!(p.month(&p.anna, &p.lisa, "2026-11").await, sync_month);
    assert_eq!(sync_month["performed_minutes"], 40);
    assert_eq!(sync_month["declined_visits"], 1);
    let shower = sync_month["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "O-Duschhjälp")
        .unwrap();
    assert_eq!(shower["performed_minutes"], 20);

    // The same items one by one, in order, on a fresh database: same month.
    let q = phone().await;
    let ids = [(&p.lisa, &q.lisa), (&p.maj, &q.maj)];
    for item in &items {
        let mut body = Value::Object(item.clone());
        let kind = body["type"].as_str().unwrap().to_string();
        body.as_object_mut().unwrap().remove("type");
        for (from, to) in ids {
            if body["client_id"] == from.as_str() {
                body["client_id"] = json!(to);
            }
        }
        let path = match kind.as_str() {
            "check_in" => "/api/v1/visits/check-in".to_string(),
            "check_out" => "/api/v1/visits/check-out".to_string(),
            "declined" => "/api/v1/visits/declined".to_string(),
            _ => {
                let client = body.as_object_mut().unwrap().remove("client_id").unwrap();
                format!("/api/v1/clients/{}/journal", client.as_str().unwrap())
            }
        };
        q.send(&q.anna, &path, body).await.ok(StatusCode::CREATED);
    }
    let one_by_one = q.month(&q.anna, &q.lisa, "2026-11").await;
    for key in [
        "performed_minutes",
        "services",
        "declined_visits",
        "counted_visits",
        "ordered_minutes",
    ] {
        assert_eq!(one_by_one[key], sync_month[key], "{key}");
    }
    // The note arrived once.
    let notes = q
        .ctx
        .call(
            Method::GET,
            &format!("/api/v1/clients/{}/journal", q.lisa),
            Some(&q.anna),
            None,
        )
        .await;
    assert_eq!(
        notes.ok(StatusCode::OK)["items"].as_array().unwrap().len(),
        1
    );
}

#[actix_web::test]
async fn sync_rejects_bad_items_and_keeps_the_good_ones() {
    let p = phone().await;
    let mut good = check_in(&p.lisa, "2026-11-19T07:00:00+01:00");
    good["type"] = json!("check_in");
    let mut foreign = check_in(&p.sven, "2026-11-19T08:00:00+01:00");
    foreign["type"] = json!("check_in");
    let mut future = check_in(&p.lisa, "2026-11-29T08:00:00+01:00");
    future["type"] = json!("check_in");
    let r = p
        .send(
            &p.anna,
            "/api/v1/sync",
            json!({"items": [foreign, good, future]}),
        )
        .await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let by = |i: usize| {
        (
            items[i]["result"].as_str().unwrap(),
            items[i]["code"].as_str(),
        )
    };
    assert_eq!(by(0), ("applied", None));
    assert_eq!(by(1), ("rejected", Some("not_found")));
    assert_eq!(by(2), ("rejected", Some("validation_failed")));
    assert_eq!(items[2]["errors"][0]["code"], "in_future");
    // A batch that is not a batch.
    let r = p
        .send(
            &p.anna,
            "/api/v1/sync",
            json!({"items": [{"type": "teleport"}]}),
        )
        .await;
    r.problem(ErrorCode::ValidationFailed);
}

#[actix_web::test]
async fn visits_across_midnight_and_the_october_dst_change() {
    let p = phone().await;
    let walk = json!([{"code": "O-Promenad"}]);
    // 23:30 on 31 October to 00:30 on 1 November: half in each month.
    p.send(
        &p.anna,
        "/api/v1/visits/check-in",
        check_in(&p.lisa, "2026-10-31T23:30:00+01:00"),
    )
    .await
    .ok(StatusCode::CREATED);
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-out",
            check_out(&p.lisa, "2026-11-01T00:30:00+01:00", walk.clone()),
        )
        .await;
    assert_eq!(
        r.ok(StatusCode::CREATED)["visits"][0]["local_date"],
        "2026-10-31"
    );
    assert_eq!(
        p.month(&p.anna, &p.lisa, "2026-10").await["performed_minutes"],
        30
    );
    assert_eq!(
        p.month(&p.anna, &p.lisa, "2026-11").await["performed_minutes"],
        30
    );
    // 01:30 summer time to 03:30 winter time on 25 October lasts three hours.
    p.send(
        &p.anna,
        "/api/v1/visits/check-in",
        check_in(&p.maj, "2026-10-25T01:30:00+02:00"),
    )
    .await
    .ok(StatusCode::CREATED);
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-out",
            check_out(&p.maj, "2026-10-25T03:30:00+01:00", walk),
        )
        .await;
    assert_eq!(r.ok(StatusCode::CREATED)["visits"][0]["seconds"], 3 * 3600);
    assert_eq!(
        p.month(&p.anna, &p.maj, "2026-10").await["performed_minutes"],
        180
    );
}

#[actix_web::test]
async fn a_check_out_without_check_in_is_an_exception_that_does_not_count() {
    let p = phone().await;
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-out",
            check_out(
                &p.lisa,
                "2026-11-21T10:00:00+01:00",
                json!([{"code": "O-Tillsyn"}]),
            ),
        )
        .await;
    let v = &r.ok(StatusCode::CREATED)["visits"][0];
    assert_eq!(
        (v["status"].as_str(), v["exception"].as_str()),
        (Some("exception"), Some("missing_check_in"))
    );
    assert_eq!(v["approval_reasons"], "exception");
    let m = p.month(&p.anna, &p.lisa, "2026-11").await;
    assert_eq!(
        (
            m["performed_minutes"].as_i64(),
            m["exception_visits"].as_i64()
        ),
        (Some(0), Some(1))
    );
    // A second check-in leaves the first visit without its check-out.
    p.send(
        &p.anna,
        "/api/v1/visits/check-in",
        check_in(&p.lisa, "2026-11-21T11:00:00+01:00"),
    )
    .await
    .ok(StatusCode::CREATED);
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-in",
            check_in(&p.maj, "2026-11-21T12:00:00+01:00"),
        )
        .await;
    let visits = r.ok(StatusCode::CREATED)["visits"]
        .as_array()
        .unwrap()
        .clone();
    let first = visits
        .iter()
        .find(|v| v["client_id"] == p.lisa.as_str())
        .unwrap();
    assert_eq!(first["exception"], "missing_check_out");
    let open = visits
        .iter()
        .find(|v| v["client_id"] == p.maj.as_str())
        .unwrap();
    assert_eq!(open["status"], "open");
}

#[actix_web::test]
async fn double_staffing_counts_per_person() {
    let p = phone().await;
    let bertil = p.ctx.login("demo.bertil", seed::DEMO_PASSWORD).await;
    let shower = json!([{"code": "O-Duschhjälp"}]);
    p.send(
        &p.anna,
        "/api/v1/visits/check-in",
        check_in(&p.lisa, "2026-11-16T08:00:00+01:00"),
    )
    .await
    .ok(StatusCode::CREATED);
    let mut second = check_in(&p.lisa, "2026-11-16T08:05:00+01:00");
    second["double_staffing"] = json!(true);
    p.send(&bertil, "/api/v1/visits/check-in", second)
        .await
        .ok(StatusCode::CREATED);
    p.send(
        &bertil,
        "/api/v1/visits/check-out",
        check_out(&p.lisa, "2026-11-16T08:35:00+01:00", shower.clone()),
    )
    .await
    .ok(StatusCode::CREATED);
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-out",
            check_out(&p.lisa, "2026-11-16T08:40:00+01:00", shower),
        )
        .await;
    assert_eq!(
        r.ok(StatusCode::CREATED)["visits"][0]["double_staffing"],
        false
    );
    // 40 + 30 person-minutes (R20).
    assert_eq!(
        p.month(&p.anna, &p.lisa, "2026-11").await["performed_minutes"],
        70
    );
    let r = p
        .ctx
        .call(
            Method::GET,
            "/api/v1/me/visits?date=2026-11-16",
            Some(&bertil),
            None,
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"][0]["double_staffing"], true);
}

/// Writes sent at the same moment (on SQLite committed together by the
/// single writer) are answered each as if it had come alone: a repeat is
/// a duplicate, a refused one changes nothing, the others are kept.
#[actix_web::test]
async fn writes_sent_together_are_answered_each_as_if_alone() {
    let p = phone().await;
    let ci = check_in(&p.lisa, "2026-11-20T08:00:00+01:00");
    let services = json!([{"code": "O-Promenad"}]);
    let (a, b, refused, maj, out) = tokio::join!(
        p.send(&p.anna, "/api/v1/visits/check-in", ci.clone()),
        p.send(&p.anna, "/api/v1/visits/check-in", ci),
        p.send(
            &p.anna,
            "/api/v1/visits/check-in",
            check_in(&p.sven, "2026-11-20T09:00:00+01:00")
        ),
        p.send(
            &p.anna,
            "/api/v1/visits/check-in",
            check_in(&p.maj, "2026-11-20T10:00:00+01:00")
        ),
        p.send(
            &p.anna,
            "/api/v1/visits/check-out",
            check_out(&p.maj, "2026-11-20T10:30:00+01:00", services)
        ),
    );
    let mut results: Vec<(u16, String)> = [&a, &b]
        .iter()
        .map(|r| {
            (
                r.status.as_u16(),
                r.body["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    results.sort();
    assert_eq!(
        results,
        [(200, "duplicate".to_string()), (201, "applied".to_string())]
    );
    refused.problem(ErrorCode::NotFound);
    maj.ok(StatusCode::CREATED);
    out.ok(StatusCode::CREATED);
    // Maj's visit closed whatever order the two arrived in; Lisa's lacks
    // its check-out (the next check-in came first), stored once.
    let r = p
        .ctx
        .call(
            Method::GET,
            "/api/v1/me/visits?date=2026-11-20",
            Some(&p.anna),
            None,
        )
        .await;
    let mut visits: Vec<(String, String)> = r.ok(StatusCode::OK)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["client_id"].as_str().unwrap().to_string(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    visits.sort();
    let mut want = vec![
        (p.lisa.clone(), "exception".to_string()),
        (p.maj.clone(), "closed".to_string()),
    ];
    want.sort();
    assert_eq!(visits, want);
    assert_eq!(
        p.month(&p.anna, &p.maj, "2026-11").await["performed_minutes"],
        30
    );
}

#[actix_web::test]
async fn another_providers_client_is_not_found() {
    let p = phone().await;
    // Sven is Omsorgshuset's client; Anna works for Jakobsberg.
    p.send(
        &p.anna,
        "/api/v1/visits/check-in",
        check_in(&p.sven, "2026-11-20T08:00:00+01:00"),
    )
    .await
    .problem(ErrorCode::NotFound);
    let r = p
        .ctx
        .call(
            Method::GET,
            &format!("/api/v1/clients/{}/months/2026-11", p.sven),
            Some(&p.anna),
            None,
        )
        .await;
    r.problem(ErrorCode::NotFound);
    let r = p
        .ctx
        .call(
            Method::GET,
            &format!("/api/v1/clients/{}/journal", p.sven),
            Some(&p.anna),
            None,
        )
        .await;
    r.problem(ErrorCode::NotFound);
    // Omsorgshuset's own care worker may.
    let cecilia = p.ctx.login("demo.cecilia", seed::DEMO_PASSWORD).await;
    p.send(
        &cecilia,
        "/api/v1/visits/check-in",
        check_in(&p.sven, "2026-11-20T08:00:00+01:00"),
    )
    .await
    .ok(StatusCode::CREATED);
    // Only care workers check in.
    p.send(
        &p.ctx.admin,
        "/api/v1/visits/check-in",
        check_in(&p.lisa, "2026-11-20T08:00:00+01:00"),
    )
    .await
    .problem(ErrorCode::Forbidden);
}

#[actix_web::test]
async fn bad_phone_input_gets_problem_json() {
    let p = phone().await;
    let r = p
        .ctx
        .raw(
            TestRequest::post()
                .uri("/api/v1/visits/check-in")
                .insert_header(("Authorization", format!("Bearer {}", p.anna)))
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"event_id\": "),
        )
        .await;
    r.problem(ErrorCode::InvalidJson);
    let mut body = check_in(&p.lisa, "2026-11-20T08:00:00+01:00");
    body["colour"] = json!("red");
    let r = p.send(&p.anna, "/api/v1/visits/check-in", body).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("colour".into(), "unknown_field".into())]
    );
    let mut body = check_in(&p.lisa, "2026-11-20T08:00:00");
    body["method"] = json!("manual");
    let r = p.send(&p.anna, "/api/v1/visits/check-in", body).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("occurred_at".into(), "invalid_value".into())]
    );
    let mut body = check_in(&p.lisa, "2026-11-20T08:00:00+01:00");
    body["method"] = json!("manual");
    let r = p
        .send(&p.anna, "/api/v1/visits/check-in", body.clone())
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("reason".into(), "required".into())]
    );
    body["reason"] = json!("Taggen saknas");
    let r = p.send(&p.anna, "/api/v1/visits/check-in", body).await;
    assert_eq!(
        r.ok(StatusCode::CREATED)["visits"][0]["approval_reasons"],
        "manual_method"
    );
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-out",
            check_out(
                &p.lisa,
                "2026-11-20T09:00:00+01:00",
                json!([{"code": "O-Okänd"}]),
            ),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("services[0]".into(), "unknown_service".into())]
    );
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-out",
            check_out(&p.lisa, "2026-11-20T09:00:00+01:00", json!([])),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("services".into(), "required".into())]
    );
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-in",
            check_in(&p.lisa, "2026-09-01T08:00:00+02:00"),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("occurred_at".into(), "too_old".into())]
    );
}

#[actix_web::test]
async fn the_journal_is_append_only_and_stays_with_the_provider() {
    let p = phone().await;
    let note = |body: &str, corrects: Option<&str>| {
        let at = if corrects.is_some() {
            "2026-11-21T09:05:00+01:00"
        } else {
            "2026-11-21T09:00:00+01:00"
        };
        json!({"event_id": uuid(), "written_at": at, "body": body, "corrects_note_id": corrects})
    };
    let path = format!("/api/v1/clients/{}/journal", p.lisa);
    let first = p
        .send(&p.anna, &path, note("Lisa hade ont i foten.", None))
        .await;
    let first_id = first.ok(StatusCode::CREATED)["note"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let fix = p
        .send(
            &p.anna,
            &path,
            note("Rättelse: ont i vänster fot.", Some(&first_id)),
        )
        .await;
    assert_eq!(
        fix.ok(StatusCode::CREATED)["note"]["corrects_note_id"],
        first_id.as_str()
    );
    let r = p.send(&p.anna, &path, note("x", Some(&uuid()))).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("corrects_note_id".into(), "unknown_reference".into())]
    );
    // The provider admin reads both, the first unchanged.
    let chef = p
        .ctx
        .login("demo.chef.jakobsberg", seed::DEMO_PASSWORD)
        .await;
    let notes = p.ctx.call(Method::GET, &path, Some(&chef), None).await;
    let notes = notes.ok(StatusCode::OK)["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["body"], "Lisa hade ont i foten.");
    // The caseworker needs the client's consent (R14), none is recorded.
    let cw = p.ctx.login("demo.handlaggare", seed::DEMO_PASSWORD).await;
    p.ctx
        .call(Method::GET, &path, Some(&cw), None)
        .await
        .problem(ErrorCode::ConsentRequired);
    let other = p
        .ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;
    p.ctx
        .call(Method::GET, &path, Some(&other), None)
        .await
        .problem(ErrorCode::NotFound);
}

#[actix_web::test]
async fn a_visit_to_a_couple_is_split_by_share() {
    let p = phone().await;
    let nils = p.ctx.find("/api/v1/clients", "given_name", "Nils").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    p.send(
        &p.anna,
        "/api/v1/visits/check-in",
        check_in(&p.maj, "2026-11-17T10:00:00+01:00"),
    )
    .await
    .ok(StatusCode::CREATED);
    let mut out = check_out(
        &p.maj,
        "2026-11-17T11:00:00+01:00",
        json!([{"code": "S-Städning 2 r o k", "client_id": p.maj}, {"code": "O-Duschhjälp", "client_id": nils}]),
    );
    // Lisa does not live there; the shares must add up to 100.
    out["shares"] =
        json!([{"client_id": p.maj, "percent": 50}, {"client_id": p.lisa, "percent": 40}]);
    let r = p
        .send(&p.anna, "/api/v1/visits/check-out", out.clone())
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("shares".into(), "invalid_total".into()),
            ("shares[1].client_id".into(), "not_in_household".into()),
            ("services[1].client_id".into(), "not_sharing".into())
        ]
    );
    // Percents that would overflow a multiplication or a sum are refused
    // like any wrong total (schemathesis found a 500 here).
    out["shares"] = json!([
        {"client_id": p.maj, "percent": 611981159.0},
        {"client_id": nils, "percent": u32::MAX},
    ]);
    let r = p
        .send(&p.anna, "/api/v1/visits/check-out", out.clone())
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("shares".into(), "invalid_total".into())]
    );
    out["shares"] =
        json!([{"client_id": p.maj, "percent": 60}, {"client_id": nils, "percent": 40}]);
    let r = p.send(&p.anna, "/api/v1/visits/check-out", out).await;
    let v = &r.ok(StatusCode::CREATED)["visits"][0];
    assert_eq!(v["shares"].as_array().unwrap().len(), 2);
    let maj = p.month(&p.anna, &p.maj, "2026-11").await;
    let nils_month = p.month(&p.anna, &nils, "2026-11").await;
    assert_eq!(
        (
            maj["performed_minutes"].as_i64(),
            nils_month["performed_minutes"].as_i64()
        ),
        (Some(36), Some(24))
    );
    let service = |m: &Value, code: &str| {
        m["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["code"] == code)
            .unwrap()["performed_minutes"]
            .as_i64()
    };
    assert_eq!(service(&maj, "S-Städning 2 r o k"), Some(36));
    assert_eq!(service(&nils_month, "O-Duschhjälp"), Some(24));
    assert_eq!(service(&maj, "O-Duschhjälp"), Some(0));

    // Nils moves out. The phone's checks keep clients across requests
    // only while no client changes: his share is refused at once.
    let path = format!("/api/v1/clients/{nils}");
    let row = p.ctx.get(&path).await.ok(StatusCode::OK).clone();
    let mut put = json!({});
    for f in [
        "personal_number",
        "given_name",
        "family_name",
        "street_address",
        "postal_code",
        "city",
        "phone",
        "caseworker_id",
        "provider_id",
    ] {
        put[f] = row[f].clone();
    }
    p.ctx.put(&path, put).await.ok(StatusCode::OK);
    let mut again = check_out(
        &p.maj,
        "2026-11-18T11:00:00+01:00",
        json!([{"code": "O-Duschhjälp", "client_id": nils}]),
    );
    again["shares"] =
        json!([{"client_id": p.maj, "percent": 60}, {"client_id": nils, "percent": 40}]);
    let r = p.send(&p.anna, "/api/v1/visits/check-out", again).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("shares[1].client_id".into(), "not_in_household".into())]
    );
}

/// The fuzz target of the offline sync: batches of items that are valid,
/// broken in one field, or of another client, in any order. Every batch
/// gets either one result per item (applied, duplicate, or rejected with a
/// stable code) or, when the envelope itself is broken, a problem+json;
/// never a server error.
#[actix_web::test]
async fn any_sync_batch_is_answered_item_by_item_or_refused_with_a_code() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let p = phone().await;
    let clients = [p.lisa.clone(), p.maj.clone(), p.sven.clone(), "x".into()];
    let field = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,20}".prop_map(|s| json!(s)),
    ];
    let item = (
        prop::sample::select(vec![
            "check_in",
            "check_out",
            "declined",
            "note",
            "entry",
            "bogus",
        ]),
        prop::sample::select(clients.to_vec()),
        0i64..600,
        prop::option::of(("[a-z_]{1,14}", field)),
        any::<bool>(),
    )
        .prop_map(|(kind, client, minutes, broken, nfc)| {
            let at = (chrono::DateTime::parse_from_rfc3339("2026-11-22T12:00:00+01:00").unwrap()
                - chrono::Duration::minutes(minutes))
            .to_rfc3339();
            let mut v =
                json!({"type": kind, "event_id": uuid::Uuid::new_v4(), "client_id": client});
            match kind {
                "note" => {
                    v["written_at"] = json!(at);
                    v["body"] = json!("Anteckning.");
                }
                "declined" => {
                    v["occurred_at"] = json!(at);
                    v["reason"] = json!("Sov.");
                }
                "entry" => {
                    v["started_at"] = json!(at);
                    v["ended_at"] = json!(at);
                    v["reason"] = json!("Glömde.");
                }
                _ => {
                    v["occurred_at"] = json!(at);
                    if nfc {
                        v["method"] = json!("nfc");
                        v["tag_uid"] = json!("04:a2:b3");
                    } else {
                        v["method"] = json!("manual");
                        v["reason"] = json!("Taggen saknades.");
                    }
                }
            }
            if let Some((name, value)) = broken {
                v[name] = value;
            }
            v
        });
    let batch = prop::collection::vec(item, 0..12);
    let mut runner = TestRunner::deterministic();
    for _ in 0..60 {
        let items = batch.new_tree(&mut runner).unwrap().current();
        let n = items.len();
        let r = p
            .send(&p.anna, "/api/v1/sync", json!({"items": items}))
            .await;
        assert!(r.status.as_u16() < 500, "{}", r.body);
        if r.status == StatusCode::OK {
            let results = r.body["items"].as_array().unwrap();
            assert_eq!(results.len(), n, "{}", r.body);
            for x in results {
                let result = x["result"].as_str().unwrap();
                assert!(
                    ["applied", "duplicate", "rejected"].contains(&result),
                    "{x}"
                );
                if result == "rejected" {
                    assert!(x["code"].as_str().is_some_and(|c| !c.is_empty()), "{x}");
                }
            }
        } else {
            assert_eq!(r.content_type, "application/problem+json", "{}", r.body);
            assert!(r.body["code"].as_str().is_some(), "{}", r.body);
        }
    }
}

#[actix_web::test]
async fn a_care_bundle_is_registered_with_three_personal_care_services_r19() {
    let p = phone().await;
    let ci = check_in(&p.lisa, "2026-11-20T07:30:00+01:00");
    p.send(&p.anna, "/api/v1/visits/check-in", ci)
        .await
        .ok(StatusCode::CREATED);
    // The morning bundle with two personal-care services and a cleaning:
    // not what a bundle is for (R19).
    let few = json!([{"code": "O-Omvårdnadspaket morgon"}, {"code": "O-Personlig hygien"},
                     {"code": "O-På- och avklädning"}, {"code": "S-Städning 2 r o k"}]);
    let at = "2026-11-20T08:00:00+01:00";
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-out",
            check_out(&p.lisa, at, few.clone()),
        )
        .await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(
        r.fields(),
        vec![("services".to_string(), "care_bundle_incomplete".to_string())]
    );
    // The same in an offline batch: that item is rejected with the code.
    let mut item = check_out(&p.lisa, at, few);
    item["type"] = json!("check_out");
    let r = p
        .send(&p.anna, "/api/v1/sync", json!({"items": [item]}))
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"][0]["result"], "rejected");
    assert_eq!(
        r.body["items"][0]["errors"][0]["code"],
        "care_bundle_incomplete"
    );
    // With three personal-care services: stored, and the bundle takes the
    // visit's time; what it held takes none of its own.
    let full = json!([{"code": "O-Omvårdnadspaket morgon"}, {"code": "O-Personlig hygien"},
                      {"code": "O-På- och avklädning"}, {"code": "O-Toalettbesök"}]);
    let r = p
        .send(
            &p.anna,
            "/api/v1/visits/check-out",
            check_out(&p.lisa, at, full),
        )
        .await;
    let v = &r.ok(StatusCode::CREATED)["visits"][0];
    let minutes: std::collections::BTreeMap<&str, i64> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["code"].as_str().unwrap(), s["minutes"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        minutes,
        [
            ("O-Omvårdnadspaket morgon", 30),
            ("O-Personlig hygien", 0),
            ("O-På- och avklädning", 0),
            ("O-Toalettbesök", 0)
        ]
        .into_iter()
        .collect()
    );
}
