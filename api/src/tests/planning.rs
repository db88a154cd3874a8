//! Planned visits through the API: who may send and read a provider's
//! plans, the checks with field paths, a batch sent twice, and the day's
//! states at the tests' fixed clock (2026-11-22 12:00 UTC, 13:00 in
//! Stockholm).

use super::*;

struct Planning {
    ctx: Ctx,
    jakobsberg: String,
    omsorgshuset: String,
    lisa: String,
    anna: String,
    cecilia: String,
}

async fn planning() -> Planning {
    let ctx = setup().await;
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let jakobsberg = id(ctx
        .find("/api/v1/providers", "name", "Hemtjänsten Jakobsberg")
        .await);
    let omsorgshuset = id(ctx
        .find("/api/v1/providers", "name", "Omsorgshuset Hemtjänst AB")
        .await);
    let lisa = id(ctx.find("/api/v1/clients", "given_name", "Lisa").await);
    let anna = id(ctx.find("/api/v1/users", "username", "demo.anna").await);
    let cecilia = id(ctx.find("/api/v1/users", "username", "demo.cecilia").await);
    Planning {
        ctx,
        jakobsberg,
        omsorgshuset,
        lisa,
        anna,
        cecilia,
    }
}

impl Planning {
    /// A plan for Lisa on 22 November, its window from `from` (UTC).
    fn plan(&self, r: &str, from: &str, to: &str) -> Value {
        json!({
            "planner_ref": r,
            "client_id": self.lisa,
            "earliest_start": format!("2026-11-22T{from}:00Z"),
            "latest_start": format!("2026-11-22T{to}:00Z"),
            "expected_minutes": 30,
            "services": ["O-Duschhjälp"],
            "staff": [self.anna],
        })
    }

    fn path(&self, provider: &str) -> String {
        format!("/api/v1/providers/{provider}/planned-visits")
    }

    /// A spreadsheet's file of one plan for Lisa on 23 November, 08:00 to
    /// 08:30 local time.
    fn csv(&self, r: &str) -> String {
        format!(
            "planner_ref;client_id;date;earliest_start;latest_start;expected_minutes;services;staff;time_critical\n\
             {r};{};2026-11-23;08:00;08:30;30;O-Duschhjälp;{};ja\n",
            self.lisa, self.anna
        )
    }

    async fn post_csv(&self, path: &str, token: Option<&str>, body: &str) -> Resp {
        let mut req = TestRequest::post()
            .uri(path)
            .insert_header(("Content-Type", "text/csv; charset=utf-8"))
            .set_payload(body.to_string());
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        self.ctx.raw(req).await
    }
}

#[actix_web::test]
async fn a_csv_file_is_stored_whole_or_not_at_all_and_a_large_batch_fits() {
    let t = planning().await;
    let chef = t
        .ctx
        .login("demo.chef.jakobsberg", seed::DEMO_PASSWORD)
        .await;
    let path = t.path(&t.jakobsberg);
    let r = t.post_csv(&path, Some(&chef), &t.csv("TES-1")).await;
    let stored = r.ok(StatusCode::OK);
    assert_eq!(stored["created"], 1, "{stored}");
    // 08:00 in Stockholm on 23 November is 07:00 UTC.
    let day = format!("{path}?date=2026-11-23");
    let d = t.ctx.call(Method::GET, &day, Some(&chef), None).await;
    let item = &d.ok(StatusCode::OK)["items"][0];
    assert_eq!(item["planner_ref"], "TES-1");
    assert_eq!(item["earliest_start"], "2026-11-23T07:00:00Z");
    assert_eq!(item["services"], json!(["O-Duschhjälp"]));
    assert_eq!(item["time_critical"], true);
    // A faulty file: the readable rows are checked too, every fault is
    // named by its row, and nothing is stored.
    let faulty = format!(
        "{}TES-2;{};2026-11-24;08:00;08:30;30;;;\nTES-3;{};2026-11-24;8;08:30;30;;;\n",
        t.csv("TES-1"),
        uuid::Uuid::new_v4(),
        t.lisa
    );
    let r = t
        .post_csv(&format!("{path}?whole_days=true"), Some(&chef), &faulty)
        .await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(
        r.fields(),
        [
            ("rows[3].client_id", "unknown_client"),
            ("rows[4].earliest_start", "invalid_time"),
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );
    let d = t.ctx.call(Method::GET, &day, Some(&chef), None).await;
    assert_eq!(d.ok(StatusCode::OK)["items"].as_array().unwrap().len(), 1);
    // JSON is PUT, not POSTed.
    let r = t
        .ctx
        .call(Method::POST, &path, Some(&chef), Some(json!({"plans": []})))
        .await;
    r.problem(ErrorCode::UnsupportedMediaType);
    // 1,500 plans of JSON are more than the API's other bodies may be
    // (256 KiB); the plans' import takes them.
    let plans: Vec<Value> = (0..1500)
        .map(|i| t.plan(&format!("bulk-{i}"), "16:00", "16:30"))
        .collect();
    let body = json!({"plans": plans});
    assert!(body.to_string().len() > crate::extract::MAX_BODY_BYTES);
    let r = t
        .ctx
        .call(Method::PUT, &path, Some(&chef), Some(body))
        .await;
    assert_eq!(r.ok(StatusCode::OK)["created"], 1500);
}

#[actix_web::test]
async fn a_providers_admin_sends_plans_and_sees_the_days_states() {
    let t = planning().await;
    let chef = t
        .ctx
        .login("demo.chef.jakobsberg", seed::DEMO_PASSWORD)
        .await;
    let body = json!({
        "whole_days": true,
        "plans": [t.plan("morning", "07:00", "07:30"), t.plan("afternoon", "14:00", "14:30")],
    });
    let path = t.path(&t.jakobsberg);
    let r = t
        .ctx
        .call(Method::PUT, &path, Some(&chef), Some(body.clone()))
        .await;
    let stored = r.ok(StatusCode::OK);
    assert_eq!(
        (stored["created"].as_u64(), stored["unchanged"].as_u64()),
        (Some(2), Some(0))
    );
    // Sent again: nothing changes.
    let r = t
        .ctx
        .call(Method::PUT, &path, Some(&chef), Some(body))
        .await;
    let stored = r.ok(StatusCode::OK);
    assert_eq!(
        (stored["created"].as_u64(), stored["unchanged"].as_u64()),
        (Some(0), Some(2))
    );
    // At 12:00 UTC nobody has come to the morning plan: missed; the
    // afternoon one waits.
    let day = format!("{path}?date=2026-11-22");
    let r = t.ctx.call(Method::GET, &day, Some(&chef), None).await;
    let d = r.ok(StatusCode::OK);
    let states: Vec<(&str, &str)> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["planner_ref"].as_str().unwrap(),
                i["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("morning", "missed"), ("afternoon", "waiting")]);
    assert_eq!(d["items"][0]["services"], json!(["O-Duschhjälp"]));
    assert_eq!(d["items"][0]["staff"], json!([t.anna]));
    // The municipality's admin may read it too.
    let r = t
        .ctx
        .call(Method::GET, &day, Some(&t.ctx.admin), None)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn no_one_else_sends_or_reads_a_providers_plans() {
    let t = planning().await;
    let body = json!({"plans": [t.plan("p1", "07:00", "07:30")]});
    let path = t.path(&t.jakobsberg);
    let day = format!("{path}?date=2026-11-22");
    // Another provider's admin: as if there were no such provider.
    let other = t
        .ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;
    let r = t
        .ctx
        .call(Method::PUT, &path, Some(&other), Some(body.clone()))
        .await;
    r.problem(ErrorCode::NotFound);
    t.post_csv(&path, Some(&other), &t.csv("c1"))
        .await
        .problem(ErrorCode::NotFound);
    t.ctx
        .call(Method::GET, &day, Some(&other), None)
        .await
        .problem(ErrorCode::NotFound);
    // A care worker and a caseworker: not theirs to plan or watch.
    for user in ["demo.anna", "demo.handlaggare"] {
        let token = t.ctx.login(user, seed::DEMO_PASSWORD).await;
        let r = t
            .ctx
            .call(Method::PUT, &path, Some(&token), Some(body.clone()))
            .await;
        r.problem(ErrorCode::Forbidden);
        t.post_csv(&path, Some(&token), &t.csv("c1"))
            .await
            .problem(ErrorCode::Forbidden);
        t.ctx
            .call(Method::GET, &day, Some(&token), None)
            .await
            .problem(ErrorCode::Forbidden);
    }
    // Without a token.
    t.ctx
        .call(Method::PUT, &path, None, Some(body))
        .await
        .problem(ErrorCode::Unauthorized);
    t.post_csv(&path, None, &t.csv("c1"))
        .await
        .problem(ErrorCode::Unauthorized);
    // Nothing was stored.
    let r = t
        .ctx
        .call(Method::GET, &day, Some(&t.ctx.admin), None)
        .await;
    assert!(r.ok(StatusCode::OK)["items"].as_array().unwrap().is_empty());
    // Omsorgshuset's admin may plan Omsorgshuset's.
    let own = t.path(&t.omsorgshuset);
    let r = t
        .ctx
        .call(Method::PUT, &own, Some(&other), Some(json!({"plans": []})))
        .await;
    r.ok(StatusCode::OK);
}

#[actix_web::test]
async fn a_batch_with_faults_names_each_and_stores_nothing() {
    let t = planning().await;
    let mut twice = t.plan("p1", "07:00", "07:30");
    twice["expected_minutes"] = json!(0);
    let mut backwards = t.plan("p2", "09:00", "08:30");
    backwards["services"] = json!(["X-Finns-inte"]);
    // Cecilia works at Omsorgshuset, not at Jakobsberg.
    backwards["staff"] = json!([t.cecilia]);
    let mut stranger = t.plan("p3", "10:00", "10:30");
    stranger["client_id"] = json!(uuid::Uuid::new_v4());
    stranger["earliest_start"] = json!("2020-01-01T10:00:00Z");
    let body = json!({"plans": [t.plan("p1", "07:00", "07:30"), twice, backwards, stranger]});
    let r = t.ctx.put(&t.path(&t.jakobsberg), body).await;
    r.problem(ErrorCode::ValidationFailed);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("plans[1].expected_minutes", "out_of_range"),
            ("plans[1].planner_ref", "duplicate"),
            ("plans[2].latest_start", "before_earliest"),
            ("plans[2].services[0]", "unknown_service"),
            ("plans[2].staff[0]", "unknown_staff"),
            ("plans[3].client_id", "unknown_client"),
            ("plans[3].earliest_start", "out_of_range"),
            // Its latest start stayed on 22 November.
            ("plans[3].latest_start", "too_wide"),
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );
    let day = format!("{}?date=2026-11-22", t.path(&t.jakobsberg));
    let r = t.ctx.get(&day).await;
    assert!(r.ok(StatusCode::OK)["items"].as_array().unwrap().is_empty());
    // A day outside 1900-2200 is a typo, not a day to read.
    for date in ["0000-01-01", "9999-12-31", "%2B262142-12-31"] {
        let day = format!("{}?date={date}", t.path(&t.jakobsberg));
        t.ctx.get(&day).await.problem(ErrorCode::InvalidQuery);
    }
}

#[actix_web::test]
async fn late_and_missed_visits_alert_the_provider_and_reach_the_caseworker_unacknowledged() {
    let t = planning().await;
    let chef = t
        .ctx
        .login("demo.chef.jakobsberg", seed::DEMO_PASSWORD)
        .await;
    let other = t
        .ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;
    let caseworker = t.ctx.login("demo.handlaggare", seed::DEMO_PASSWORD).await;
    let body = json!({
        "whole_days": true,
        "plans": [t.plan("morning", "09:00", "09:30"), t.plan("noon", "11:00", "11:30")],
    });
    let path = t.path(&t.jakobsberg);
    t.ctx
        .call(Method::PUT, &path, Some(&chef), Some(body))
        .await
        .ok(StatusCode::OK);
    let run = |at: &str| {
        let at: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
        hemtid_core::evaluate::visit_alerts::all(&mut t.ctx.state.pool.get().unwrap(), at).unwrap();
    };
    // 11:50 UTC: the noon plan is late (11:30 + 15 minutes); the morning
    // plan was missed long ago and nobody acknowledged it within 30
    // minutes of its becoming late (09:45).
    run("2026-11-22T11:50:00Z");
    let list = |token: String, query: &str| {
        let query = query.to_string();
        let ctx = &t.ctx;
        async move {
            let r = ctx
                .call(
                    Method::GET,
                    &format!("/api/v1/alerts?{query}"),
                    Some(&token),
                    None,
                )
                .await;
            r.ok(StatusCode::OK)["items"].as_array().unwrap().clone()
        }
    };
    let late = list(chef.clone(), "kind=visit_late").await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0]["client_id"], t.lisa.as_str());
    assert_eq!(late[0]["figures"]["planner_ref"], "noon");
    assert!(late[0]["planned_visit_id"].is_string());
    assert_eq!(list(chef.clone(), "kind=visit_missed").await.len(), 1);
    // Another provider sees none of them; the caseworker only the
    // escalation of the unacknowledged morning plan.
    for kind in ["visit_late", "visit_missed", "visit_not_acknowledged"] {
        assert!(
            list(other.clone(), &format!("kind={kind}"))
                .await
                .is_empty(),
            "{kind}"
        );
    }
    assert!(list(caseworker.clone(), "kind=visit_late").await.is_empty());
    assert!(
        list(caseworker.clone(), "kind=visit_missed")
            .await
            .is_empty()
    );
    let told = list(caseworker.clone(), "kind=visit_not_acknowledged").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["figures"]["planner_ref"], "morning");
    // The provider's chef acknowledges the noon plan's alert by name; past
    // its escalation time (12:15) the caseworker is still not told.
    let id = late[0]["id"].as_str().unwrap();
    let r = t
        .ctx
        .call(
            Method::POST,
            &format!("/api/v1/alerts/{id}/acknowledge"),
            Some(&chef),
            Some(json!({"note": "Vikarie på väg."})),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["state"], "acknowledged");
    run("2026-11-22T12:30:00Z");
    let told = list(caseworker.clone(), "kind=visit_not_acknowledged").await;
    assert_eq!(told.len(), 1, "{told:?}");
    // The other provider's admin cannot acknowledge it.
    let r = t
        .ctx
        .call(
            Method::POST,
            &format!("/api/v1/alerts/{id}/acknowledge"),
            Some(&other),
            Some(json!({})),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
}

#[actix_web::test]
async fn the_months_punctuality_counts_per_provider_and_unit_for_those_who_may_see_it() {
    let t = planning().await;
    let chef = t
        .ctx
        .login("demo.chef.jakobsberg", seed::DEMO_PASSWORD)
        .await;
    let anna = t.ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let mut missed = t.plan("missed", "04:00", "04:15");
    missed["time_critical"] = json!(true);
    let body = json!({"plans": [
        missed,
        t.plan("in-time", "07:00", "07:30"),
        t.plan("late", "09:00", "09:30"),
        t.plan("pending", "14:00", "14:30"),
    ]});
    t.ctx
        .call(Method::PUT, &t.path(&t.jakobsberg), Some(&chef), Some(body))
        .await
        .ok(StatusCode::OK);
    // Anna comes in time to one plan, 20 minutes late to another, and
    // once more unplanned.
    for (path, at) in [
        ("check-in", "07:05"),
        ("check-out", "07:35"),
        ("check-in", "09:50"),
        ("check-out", "10:20"),
        ("check-in", "11:00"),
        ("check-out", "11:20"),
    ] {
        let mut e = json!({"event_id": uuid::Uuid::new_v4(), "client_id": t.lisa,
            "occurred_at": format!("2026-11-22T{at}:00Z"), "method": "nfc", "tag_uid": "04:A2:19:7C"});
        if path == "check-out" {
            e["services"] = json!([{"code": "O-Duschhjälp"}]);
        }
        let r = t
            .ctx
            .call(
                Method::POST,
                &format!("/api/v1/visits/{path}"),
                Some(&anna),
                Some(e),
            )
            .await;
        r.ok(StatusCode::CREATED);
    }
    let report = "/api/v1/reports/punctuality?month=2026-11";
    let r = t.ctx.get(report).await;
    let body = r.ok(StatusCode::OK);
    let providers = body["providers"].as_array().unwrap();
    // Omsorgshuset plans nothing: it is not in the report.
    assert_eq!(providers.len(), 1, "{body}");
    let j = &providers[0];
    assert_eq!(j["id"], t.jakobsberg.as_str());
    let counts = |g: &Value| {
        [
            "planned",
            "performed",
            "in_time",
            "late",
            "missed",
            "pending",
            "time_critical",
            "time_critical_missed",
        ]
        .map(|k| g[k].as_i64().unwrap())
    };
    assert_eq!(counts(j), [4, 2, 1, 1, 1, 1, 1, 1], "{j}");
    // Settled: two performed and one missed, one of the three in time.
    assert_eq!(j["in_time_basis_points"], 3333);
    assert_eq!(j["unplanned"], 1, "{j}");
    assert_eq!(counts(&body["municipality"]), counts(j));
    assert_eq!(body["municipality"]["unplanned"], j["unplanned"]);
    // Lisa's caseworker's unit.
    let units = body["units"].as_array().unwrap();
    assert_eq!(units.len(), 1, "{body}");
    assert_eq!(units[0]["planned"], 4);
    assert!(!units[0]["name"].as_str().unwrap().is_empty());
    // Nothing names a care worker.
    assert!(!body.to_string().contains("demo.anna"));
    // As CSV, Swedish headings.
    let req = TestRequest::get()
        .uri(&format!("{report}&format=csv"))
        .insert_header(("Authorization", format!("Bearer {}", t.ctx.admin)));
    let app = test::init_service(crate::app(t.ctx.state.clone())).await;
    let resp = test::call_service(&app, req.to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        text.starts_with("\u{feff}Nivå;Namn;Planerade besök;"),
        "{text}"
    );
    assert!(
        text.contains("Utförare;Hemtjänsten Jakobsberg;4;2;1;1;1;1;1;1;1;33,3"),
        "{text}"
    );

    // Jakobsberg's admin sees its own; Omsorgshuset's admin nothing of
    // Jakobsberg's; the caseworker the unit's clients; a care worker no
    // report.
    let r = t.ctx.call(Method::GET, report, Some(&chef), None).await;
    assert_eq!(counts(&r.ok(StatusCode::OK)["municipality"])[0], 4);
    let other = t
        .ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;
    let r = t.ctx.call(Method::GET, report, Some(&other), None).await;
    let seen = r.ok(StatusCode::OK);
    assert_eq!(seen["municipality"]["planned"], 0, "{seen}");
    assert!(seen["providers"].as_array().unwrap().is_empty());
    let asked = format!("{report}&provider_id={}", t.jakobsberg);
    let r = t.ctx.call(Method::GET, &asked, Some(&other), None).await;
    assert_eq!(r.ok(StatusCode::OK)["municipality"]["planned"], 0);
    let caseworker = t.ctx.login("demo.handlaggare", seed::DEMO_PASSWORD).await;
    let r = t
        .ctx
        .call(Method::GET, report, Some(&caseworker), None)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["municipality"]["planned"], 4);
    t.ctx
        .call(Method::GET, report, Some(&anna), None)
        .await
        .problem(ErrorCode::Forbidden);
}

#[actix_web::test]
async fn a_care_workers_signed_in_request_is_her_phones_contact_and_no_one_elses_is() {
    let t = planning().await;
    let contact = |who: String| {
        let pool = t.ctx.state.pool.clone();
        async move {
            hemtid_core::db::phone_contact::last_seen(&mut pool.get().unwrap(), &[who.as_str()])
                .unwrap()
                .remove(&who)
        }
    };
    assert_eq!(contact(t.anna.clone()).await, None);
    let anna = t.ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let chef = t
        .ctx
        .login("demo.chef.jakobsberg", seed::DEMO_PASSWORD)
        .await;
    let chef_id = t
        .ctx
        .find("/api/v1/users", "username", "demo.chef.jakobsberg")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for token in [&anna, &chef] {
        t.ctx
            .call(Method::GET, "/api/v1/me", Some(token), None)
            .await
            .ok(StatusCode::OK);
    }
    // Written after the answer: looked for until a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let seen = loop {
        if let Some(at) = contact(t.anna.clone()).await {
            break at;
        }
        assert!(std::time::Instant::now() < deadline, "no contact written");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    // The tests' clock: 2026-11-22 12:00 UTC.
    assert_eq!(seen.and_utc().to_rfc3339(), "2026-11-22T12:00:00+00:00");
    assert_eq!(contact(chef_id).await, None);
}

#[actix_web::test]
async fn the_providers_day_of_visits_names_the_plan_each_kept_or_says_unplanned() {
    let t = planning().await;
    let chef = t
        .ctx
        .login("demo.chef.jakobsberg", seed::DEMO_PASSWORD)
        .await;
    let anna = t.ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let body = json!({"whole_days": true, "plans": [t.plan("morning", "07:00", "07:30")]});
    t.ctx
        .call(Method::PUT, &t.path(&t.jakobsberg), Some(&chef), Some(body))
        .await
        .ok(StatusCode::OK);
    // Anna comes 10 minutes after the latest start and stays 25 of the 30
    // minutes; later she makes a visit nobody planned. The day before was
    // not planned at all.
    for (kind, at) in [
        ("check-in", "2026-11-22T07:40:00Z"),
        ("check-out", "2026-11-22T08:05:00Z"),
        ("check-in", "2026-11-22T10:00:00Z"),
        ("check-out", "2026-11-22T10:20:00Z"),
        ("check-in", "2026-11-21T10:00:00Z"),
        ("check-out", "2026-11-21T10:20:00Z"),
    ] {
        let mut body = json!({"event_id": uuid::Uuid::new_v4(), "client_id": t.lisa, "occurred_at": at,
                              "method": "nfc", "tag_uid": "t"});
        if kind == "check-out" {
            body["services"] = json!([{"code": "O-Tillsyn"}]);
        }
        t.ctx
            .call(
                Method::POST,
                &format!("/api/v1/visits/{kind}"),
                Some(&anna),
                Some(body),
            )
            .await
            .ok(StatusCode::CREATED);
    }
    let day = |d: &str| format!("/api/v1/provider/visits?date={d}");
    let r = t
        .ctx
        .call(Method::GET, &day("2026-11-22"), Some(&chef), None)
        .await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let kept = &items[0]["plan"];
    assert_eq!(kept["result"], "kept");
    assert_eq!(kept["planner_ref"], "morning");
    assert_eq!(kept["plan_state"], "done");
    assert_eq!(kept["started_late_minutes"], 10);
    assert_eq!(kept["shorter_by_minutes"], 5);
    assert_eq!(items[1]["plan"]["result"], "unplanned");
    assert!(items[1]["plan"]["planned_visit_id"].is_null());
    // The plan's side names the same visit.
    let r = t
        .ctx
        .call(
            Method::GET,
            &format!("{}?date=2026-11-22", t.path(&t.jakobsberg)),
            Some(&chef),
            None,
        )
        .await;
    let d = r.ok(StatusCode::OK);
    assert_eq!(d["items"][0]["visit_ids"], json!([items[0]["id"]]));
    assert_eq!(d["unplanned_visit_ids"], json!([items[1]["id"]]));
    assert_eq!(kept["planned_visit_id"], d["items"][0]["id"]);
    // A day without plans says nothing of them.
    let r = t
        .ctx
        .call(Method::GET, &day("2026-11-21"), Some(&chef), None)
        .await;
    let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert!(items[0].get("plan").is_none(), "{}", items[0]);
}

#[actix_web::test]
async fn a_providers_planning_system_token_reaches_its_plans_and_clients_and_nothing_else() {
    let t = planning().await;
    let (token, hash) = hemtid_core::auth::new_integration_token().unwrap();
    let mut conn = t.ctx.state.pool.get().unwrap();
    let m = municipality::find_by_code(&mut conn, seed::DEMO_MUNICIPALITY_CODE)
        .unwrap()
        .unwrap();
    let id = hemtid_core::db::new_id();
    api_token::create(&mut conn, &m.id, &id, "TES", &hash, Some(&t.jakobsberg)).unwrap();
    let chef = t
        .ctx
        .login("demo.chef.jakobsberg", seed::DEMO_PASSWORD)
        .await;
    // Its provider's plans: sent as JSON and as CSV, and read by day.
    let path = t.path(&t.jakobsberg);
    let body = json!({"plans": [t.plan("p1", "07:00", "07:30")]});
    let r = t
        .ctx
        .call(Method::PUT, &path, Some(&token), Some(body.clone()))
        .await;
    assert_eq!(r.ok(StatusCode::OK)["created"], 1);
    let r = t.post_csv(&path, Some(&token), &t.csv("c1")).await;
    assert_eq!(r.ok(StatusCode::OK)["created"], 1);
    let day = format!("{path}?date=2026-11-22");
    let r = t.ctx.call(Method::GET, &day, Some(&token), None).await;
    assert_eq!(r.ok(StatusCode::OK)["items"][0]["planner_ref"], "p1");
    // Itself, and the provider's clients as its admin sees them.
    let me = t
        .ctx
        .call(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    let me = me.ok(StatusCode::OK);
    assert_eq!(me["subject"], format!("integration:{id}"));
    assert_eq!(me["role"], "provider_admin");
    assert_eq!(me["provider_id"], t.jakobsberg);
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let mine = t
        .ctx
        .call(Method::GET, "/api/v1/clients", Some(&token), None)
        .await;
    let theirs = t
        .ctx
        .call(Method::GET, "/api/v1/clients", Some(&chef), None)
        .await;
    let all = t.ctx.get("/api/v1/clients").await;
    let mine = ids(mine.ok(StatusCode::OK));
    assert!(mine.contains(&t.lisa), "{mine:?}");
    assert_eq!(mine, ids(theirs.ok(StatusCode::OK)));
    assert!(mine.len() < ids(all.ok(StatusCode::OK)).len());
    // Another provider's plans: as if there were no such provider.
    let other = t.path(&t.omsorgshuset);
    t.ctx
        .call(Method::PUT, &other, Some(&token), Some(body))
        .await
        .problem(ErrorCode::NotFound);
    // What the provider's admin may do and a planning system may not:
    // the admin gets each, the token none.
    for path in [
        "/api/v1/devices".to_string(),
        "/api/v1/alerts".to_string(),
        "/api/v1/staff-credentials".to_string(),
        "/api/v1/provider/months".to_string(),
        format!("/api/v1/clients/{}", t.lisa),
        format!("/api/v1/clients/{}/journal", t.lisa),
        "/api/v1/provider/visits?date=2026-11-22".to_string(),
    ] {
        t.ctx
            .call(Method::GET, &path, Some(&chef), None)
            .await
            .ok(StatusCode::OK);
        t.ctx
            .call(Method::GET, &path, Some(&token), None)
            .await
            .problem(ErrorCode::Forbidden);
    }
    // Nor may it create a client or a user.
    let staff = json!({"username": "tes.kim", "display_name": "Kim", "role": "staff",
        "provider_id": t.jakobsberg, "password": "a long enough password"});
    t.ctx
        .call(Method::POST, "/api/v1/users", Some(&token), Some(staff))
        .await
        .problem(ErrorCode::Forbidden);
    // Revoked, it reaches nothing.
    api_token::revoke(&mut conn, &m.id, &id).unwrap();
    t.ctx
        .call(Method::GET, &day, Some(&token), None)
        .await
        .problem(ErrorCode::Unauthorized);
}
