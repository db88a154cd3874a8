//! The provider admin's desk: approval, corrections, voids, history, locks.

use super::*;

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

struct Desk {
    ctx: Ctx,
    anna: String,
    chef: String,
    lisa: String,
}

async fn desk() -> Desk {
    let ctx = setup().await;
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let chef = ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    Desk {
        ctx,
        anna,
        chef,
        lisa,
    }
}

impl Desk {
    async fn post(&self, token: &str, path: &str, body: Value) -> Resp {
        self.ctx
            .call(Method::POST, path, Some(token), Some(body))
            .await
    }

    async fn check(&self, kind: &str, at: &str) -> Value {
        let mut body = json!({"event_id": uuid(), "client_id": self.lisa, "occurred_at": at,
                              "method": "nfc", "tag_uid": "t"});
        if kind == "check-out" {
            body["services"] = json!([{"code": "O-Tillsyn"}]);
        }
        let r = self
            .post(&self.anna, &format!("/api/v1/visits/{kind}"), body)
            .await;
        let event = r.ok(StatusCode::CREATED)["event"]["id"].clone();
        // The visit this event belongs to (the answer lists its neighbours' too).
        r.body["visits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["check_in_event_id"] == event || v["check_out_event_id"] == event)
            .cloned()
            .unwrap()
    }

    /// The ids of the provider's visits of a local day.
    async fn day_list(&self, date: &str) -> Vec<String> {
        let r = self
            .ctx
            .call(
                Method::GET,
                &format!("/api/v1/provider/visits?date={date}"),
                Some(&self.chef),
                None,
            )
            .await;
        r.ok(StatusCode::OK)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// (visits, performed minutes) of each day of the client's month.
    async fn days(&self, month: &str) -> Vec<(i64, i64)> {
        let r = self
            .ctx
            .call(
                Method::GET,
                &format!("/api/v1/clients/{}/months/{month}/figures", self.lisa),
                Some(&self.chef),
                None,
            )
            .await;
        r.ok(StatusCode::OK)["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["visits"].as_i64().unwrap(),
                    d["performed_minutes"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    async fn performed(&self, month: &str) -> i64 {
        let r = self
            .ctx
            .call(
                Method::GET,
                &format!("/api/v1/clients/{}/months/{month}", self.lisa),
                Some(&self.chef),
                None,
            )
            .await;
        r.ok(StatusCode::OK)["performed_minutes"].as_i64().unwrap()
    }
}

#[actix_web::test]
async fn a_day_is_approved_corrected_and_its_history_kept() {
    let d = desk().await;
    d.check("check-in", "2026-11-19T08:00:00+01:00").await;
    d.check("check-out", "2026-11-19T08:30:00+01:00").await;
    // Forgot to check out of the second visit; a check-in the next day
    // leaves it without an end.
    let forgot = d.check("check-in", "2026-11-19T10:00:00+01:00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.check("check-in", "2026-11-20T08:00:00+01:00").await;
    assert_eq!(d.performed("2026-11").await, 30);

    let r = d
        .ctx
        .call(
            Method::GET,
            "/api/v1/provider/visits?date=2026-11-19",
            Some(&d.chef),
            None,
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"].as_array().unwrap().len(), 2);
    let r = d
        .post(
            &d.chef,
            "/api/v1/provider/days/2026-11-19/approval",
            json!({"comment": "OK"}),
        )
        .await;
    let day = r.ok(StatusCode::OK).clone();
    assert_eq!(day["approved"], 1);
    assert_eq!(day["needs_correction"], json!([forgot]));

    // Approving it as it is will not do: it has no end.
    d.post(
        &d.chef,
        &format!("/api/v1/visits/{forgot}/approval"),
        json!({}),
    )
    .await
    .problem(ErrorCode::VisitIncomplete);
    let bad = json!({"reason_code": "forgot", "comment": " "});
    let r = d
        .post(
            &d.chef,
            &format!("/api/v1/visits/{forgot}/corrections"),
            bad,
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("reason_code".into(), "invalid_value".into()),
            ("comment".into(), "required".into()),
            ("started_at".into(), "required".into()),
        ]
    );
    let fix = json!({"reason_code": "forgot_check_out", "comment": "Ringde Anna, gick 10:40.",
                     "ended_at": "2026-11-19T10:40:00+01:00"});
    let r = d
        .post(
            &d.chef,
            &format!("/api/v1/visits/{forgot}/corrections"),
            fix,
        )
        .await;
    let v = r.ok(StatusCode::OK).clone();
    assert_eq!(
        (v["counts"].as_bool(), v["needs_approval"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(v["services"], json!([]));
    assert_eq!(d.performed("2026-11").await, 70);
    d.post(
        &d.chef,
        &format!("/api/v1/visits/{forgot}/approval"),
        json!({"comment": "Rättad"}),
    )
    .await
    .ok(StatusCode::OK);
    let h = d
        .ctx
        .call(
            Method::GET,
            &format!("/api/v1/visits/{forgot}/history"),
            Some(&d.chef),
            None,
        )
        .await;
    let h = h.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let kinds: Vec<&str> = h.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["correct", "approve"]);
    assert_eq!(h[0]["reason_code"], "forgot_check_out");
    assert_eq!(h[0]["before"]["corrected_ended_at"], Value::Null);
    assert_eq!(
        h[0]["after"]["corrected_ended_at"],
        "2026-11-19T09:40:00.000000Z"
    );
    assert!(!h[0]["changed_by"].as_str().unwrap().is_empty());

    // Only the provider's admin: staff are refused, another provider's admin finds nothing.
    d.post(
        &d.anna,
        &format!("/api/v1/visits/{forgot}/approval"),
        json!({}),
    )
    .await
    .problem(ErrorCode::Forbidden);
    let other = d
        .ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;
    d.post(
        &other,
        &format!("/api/v1/visits/{forgot}/approval"),
        json!({}),
    )
    .await
    .problem(ErrorCode::NotFound);
    // Every change is a link in the visit history's hash chain (R14).
    let mut c = d.ctx.state.pool.get().unwrap();
    let chains = hemtid_core::audit::verify_chains(&mut c).unwrap();
    let visits = chains.iter().find(|r| r.chain == "visit_change").unwrap();
    assert!(visits.records >= 3, "{visits:?}");
    assert_eq!(visits.broken, None);
}

#[actix_web::test]
async fn void_over_long_and_entries_after_the_fact() {
    let d = desk().await;
    // Registered by mistake: voided, kept, never counted.
    let v = d.check("check-in", "2026-11-10T08:00:00+01:00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.check("check-out", "2026-11-10T08:20:00+01:00").await;
    assert_eq!(d.performed("2026-11").await, 20);
    let void = json!({"reason_code": "registered_by_mistake", "comment": "Fel brukare."});
    let r = d
        .post(&d.chef, &format!("/api/v1/visits/{v}/void"), void)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["voided"], true);
    assert_eq!(d.performed("2026-11").await, 0);

    // Thirteen hours: an exception that counts only once approved.
    let long = d.check("check-in", "2026-11-11T07:00:00+01:00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = d.check("check-out", "2026-11-11T20:00:00+01:00").await;
    assert_eq!(out["exception"], "too_long");
    assert_eq!(d.performed("2026-11").await, 0);
    d.post(
        &d.chef,
        &format!("/api/v1/visits/{long}/approval"),
        json!({"comment": "Sjukhusresa"}),
    )
    .await
    .ok(StatusCode::OK);
    assert_eq!(d.performed("2026-11").await, 13 * 60);

    // A visit entered afterwards counts and waits for approval.
    let entry = json!({"event_id": uuid(), "client_id": d.lisa, "started_at": "2026-11-12T09:00:00+01:00",
                       "ended_at": "2026-11-12T09:25:00+01:00", "reason": "Telefonen var urladdad",
                       "services": [{"code": "O-Tillsyn"}]});
    let r = d
        .post(&d.anna, "/api/v1/visits/entries", entry.clone())
        .await;
    let v = &r.ok(StatusCode::CREATED)["visits"][0];
    assert_eq!(
        (v["approval_reasons"].as_str(), v["method"].as_str()),
        (Some("entered_after"), Some("entry"))
    );
    assert_eq!(d.performed("2026-11").await, 13 * 60 + 25);
    assert_eq!(
        d.post(&d.anna, "/api/v1/visits/entries", entry)
            .await
            .ok(StatusCode::OK)["result"],
        "duplicate"
    );
    let bad = json!({"event_id": uuid(), "client_id": d.lisa, "started_at": "2026-11-12T10:00:00+01:00",
                     "ended_at": "2026-11-12T09:00:00+01:00", "reason": "", "services": [{"code": "O-Tillsyn"}]});
    let r = d.post(&d.anna, "/api/v1/visits/entries", bad).await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![
            ("ended_at".into(), "before_start".into()),
            ("reason".into(), "required".into())
        ]
    );
    // Unplanned visits need a reason and are flagged.
    let mut unplanned = json!({"event_id": uuid(), "client_id": d.lisa, "occurred_at": "2026-11-13T03:00:00+01:00",
                               "method": "nfc", "tag_uid": "t", "unplanned": true});
    let r = d
        .post(&d.anna, "/api/v1/visits/check-in", unplanned.clone())
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("reason".into(), "required".into())]
    );
    unplanned["reason"] = json!("Trygghetslarm");
    let r = d.post(&d.anna, "/api/v1/visits/check-in", unplanned).await;
    let event = r.ok(StatusCode::CREATED)["event"]["id"].clone();
    let own = r.body["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == event)
        .unwrap();
    assert_eq!(own["approval_reasons"], "unplanned");
}

#[actix_web::test]
async fn a_locked_month_refuses_late_registrations_and_changes() {
    let d = desk().await;
    let first = d.check("check-in", "2026-10-20T08:00:00+02:00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.check("check-out", "2026-10-20T08:30:00+02:00").await;
    d.check("check-in", "2026-10-21T08:00:00+02:00").await;
    // A month lock for 9999-12 is a typo: not a month the API takes.
    d.post(&d.chef, "/api/v1/provider/months/9999-12/lock", json!({}))
        .await
        .problem(ErrorCode::InvalidPath);
    // Not everything is approved yet.
    d.post(&d.chef, "/api/v1/provider/months/2026-10/lock", json!({}))
        .await
        .problem(ErrorCode::MonthNotApproved);
    d.post(
        &d.chef,
        "/api/v1/provider/days/2026-10-20/approval",
        json!({}),
    )
    .await
    .ok(StatusCode::OK);
    // The open visit of the 21st: the care worker forgot; the admin closes it.
    let open = d
        .ctx
        .call(
            Method::GET,
            "/api/v1/provider/visits?date=2026-10-21",
            Some(&d.chef),
            None,
        )
        .await
        .ok(StatusCode::OK)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let fix = json!({"reason_code": "forgot_check_out", "comment": "Enligt Anna.", "ended_at": "2026-10-21T08:20:00+02:00"});
    d.post(&d.chef, &format!("/api/v1/visits/{open}/corrections"), fix)
        .await
        .ok(StatusCode::OK);
    d.post(
        &d.chef,
        "/api/v1/provider/days/2026-10-21/approval",
        json!({}),
    )
    .await
    .ok(StatusCode::OK);
    let r = d
        .post(&d.chef, "/api/v1/provider/months/2026-10/lock", json!({}))
        .await;
    assert_eq!(r.ok(StatusCode::OK)["locked"], true);
    let r = d
        .ctx
        .call(Method::GET, "/api/v1/provider/months", Some(&d.chef), None)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"][0]["month"], "2026-10");

    // Late registrations into October are refused with a clear code …
    let late = json!({"event_id": uuid(), "client_id": d.lisa, "occurred_at": "2026-10-25T09:00:00+01:00",
                      "method": "nfc", "tag_uid": "t"});
    d.post(&d.anna, "/api/v1/visits/check-in", late.clone())
        .await
        .problem(ErrorCode::MonthLocked);
    let mut item = late;
    item["type"] = json!("check_in");
    // In a batch the refusal is the item's alone: the item of November
    // recorded with it is kept.
    let open = json!({"type": "check_in", "event_id": uuid(), "client_id": d.lisa,
                      "occurred_at": "2026-11-01T08:00:00+01:00", "method": "nfc", "tag_uid": "t"});
    let r = d
        .post(&d.anna, "/api/v1/sync", json!({"items": [open, item]}))
        .await;
    let r = r.ok(StatusCode::OK);
    assert_eq!(r["items"][0]["code"], "month_locked", "{r}");
    assert_eq!(r["items"][1]["result"], "applied", "{r}");
    // … and so are changes.
    let void = json!({"reason_code": "other", "comment": "x"});
    d.post(&d.chef, &format!("/api/v1/visits/{first}/void"), void)
        .await
        .problem(ErrorCode::MonthLocked);
    d.post(
        &d.chef,
        "/api/v1/provider/days/2026-10-20/approval",
        json!({}),
    )
    .await
    .problem(ErrorCode::MonthLocked);
    // November is open.
    d.check("check-in", "2026-11-02T08:00:00+01:00").await;
    assert_eq!(d.performed("2026-10").await, 50);
}

#[actix_web::test]
async fn a_correction_to_another_day_moves_the_visit_there() {
    let d = desk().await;
    d.check("check-in", "2026-11-02T09:00:00+01:00").await;
    d.check("check-out", "2026-11-02T09:20:00+01:00").await;
    let moved = d.check("check-in", "2026-11-02T14:00:00+01:00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.check("check-out", "2026-11-02T14:30:00+01:00").await;
    assert_eq!(d.days("2026-11").await[..2], [(0, 0), (2, 50)]);
    // It happened the day before: the admin corrects both ends.
    let fix = json!({"reason_code": "wrong_time", "comment": "Besöket var dagen före.",
                     "started_at": "2026-11-01T14:00:00+01:00", "ended_at": "2026-11-01T14:30:00+01:00"});
    let r = d
        .post(&d.chef, &format!("/api/v1/visits/{moved}/corrections"), fix)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["local_date"], "2026-11-01");
    // The visit moved, not only its minutes: the day lists and the visit
    // counts per day (what R8's "fewer visits than ordered" reads).
    assert_eq!(d.day_list("2026-11-01").await, vec![moved.clone()]);
    assert!(!d.day_list("2026-11-02").await.contains(&moved));
    assert_eq!(d.days("2026-11").await[..2], [(1, 30), (1, 20)]);
    // A later event of the same care worker re-pairs her visits of the
    // day; the corrected one stays where the correction put it.
    d.check("check-in", "2026-11-02T16:00:00+01:00").await;
    d.check("check-out", "2026-11-02T16:10:00+01:00").await;
    assert_eq!(d.day_list("2026-11-01").await, vec![moved]);
    assert_eq!(d.days("2026-11").await[..2], [(1, 30), (2, 30)]);
    assert_eq!(d.performed("2026-11").await, 60);
}

#[actix_web::test]
async fn a_correction_cannot_move_a_visit_into_a_locked_month() {
    let d = desk().await;
    d.check("check-in", "2026-10-20T08:00:00+02:00").await;
    d.check("check-out", "2026-10-20T08:30:00+02:00").await;
    d.post(
        &d.chef,
        "/api/v1/provider/days/2026-10-20/approval",
        json!({}),
    )
    .await
    .ok(StatusCode::OK);
    d.post(&d.chef, "/api/v1/provider/months/2026-10/lock", json!({}))
        .await
        .ok(StatusCode::OK);
    let november = d.check("check-in", "2026-11-02T09:00:00+01:00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.check("check-out", "2026-11-02T09:30:00+01:00").await;
    // October's billing basis is fixed (R6): a correction into it is
    // refused like a late registration, whatever the visit's own month.
    let fix = json!({"reason_code": "wrong_time", "comment": "Fel datum.",
                     "started_at": "2026-10-08T09:00:00+02:00", "ended_at": "2026-10-08T11:00:00+02:00"});
    d.post(
        &d.chef,
        &format!("/api/v1/visits/{november}/corrections"),
        fix,
    )
    .await
    .problem(ErrorCode::MonthLocked);
    // Only the start: the visit would begin in October all the same.
    let fix = json!({"reason_code": "wrong_time", "comment": "Fel datum.",
                     "started_at": "2026-10-31T23:30:00+01:00"});
    d.post(
        &d.chef,
        &format!("/api/v1/visits/{november}/corrections"),
        fix,
    )
    .await
    .problem(ErrorCode::MonthLocked);
    assert_eq!(d.performed("2026-10").await, 30);
    assert_eq!(d.performed("2026-11").await, 30);
    assert_eq!(d.day_list("2026-11-02").await, vec![november.clone()]);
    assert!(d.day_list("2026-10-08").await.is_empty());
    let h = d
        .ctx
        .call(
            Method::GET,
            &format!("/api/v1/visits/{november}/history"),
            Some(&d.chef),
            None,
        )
        .await;
    assert!(h.ok(StatusCode::OK)["items"].as_array().unwrap().is_empty());
    // Within November the same correction is fine.
    let fix = json!({"reason_code": "wrong_time", "comment": "Fel tid.",
                     "started_at": "2026-11-01T00:30:00+01:00", "ended_at": "2026-11-01T01:00:00+01:00"});
    d.post(
        &d.chef,
        &format!("/api/v1/visits/{november}/corrections"),
        fix,
    )
    .await
    .ok(StatusCode::OK);
    assert_eq!(d.performed("2026-10").await, 30);
}
