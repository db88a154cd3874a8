//! Care plans, consent (R14), the access log and requests for material
//! (R15) over the API.

use super::*;
use uuid::Uuid;

struct Care {
    ctx: Ctx,
    anna: String,
    anna_id: String,
    chef: String,
    cw: String,
    cw_id: String,
    unit: String,
    jakobsberg: String,
    lisa: String,
}

async fn care() -> Care {
    let ctx = setup().await;
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    let chef = ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await;
    let cw = ctx.login("demo.handlaggare", seed::DEMO_PASSWORD).await;
    let lisa = ctx.find("/api/v1/clients", "given_name", "Lisa").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let anna_user = ctx.find("/api/v1/users", "username", "demo.anna").await;
    let cw_user = ctx
        .find("/api/v1/users", "username", "demo.handlaggare")
        .await;
    Care {
        anna_id: anna_user["id"].as_str().unwrap().into(),
        jakobsberg: anna_user["provider_id"].as_str().unwrap().into(),
        cw_id: cw_user["id"].as_str().unwrap().into(),
        unit: cw_user["authority_unit_id"].as_str().unwrap().into(),
        ctx,
        anna,
        chef,
        cw,
        lisa,
    }
}

impl Care {
    /// Whether Lisa's entry on a care worker's list says she has a plan.
    async fn plan_on_phone(&self) -> bool {
        let r = self
            .call(Method::GET, &self.anna, "/api/v1/me/clients", None)
            .await;
        let items = r.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
        let lisa = items
            .iter()
            .find(|c| c["id"] == self.lisa.as_str())
            .expect("Lisa is on the care worker's list");
        lisa["care_plan_exists"].as_bool().unwrap()
    }

    async fn call(&self, method: Method, token: &str, path: &str, body: Option<Value>) -> Resp {
        self.ctx.call(method, path, Some(token), body).await
    }

    async fn note(&self, body: &str) {
        self.call(
            Method::POST,
            &self.anna,
            &format!("/api/v1/clients/{}/journal", self.lisa),
            Some(
                json!({"event_id": Uuid::new_v4(), "written_at": "2026-11-20T10:00:00+01:00",
                        "body": body}),
            ),
        )
        .await
        .ok(StatusCode::CREATED);
    }

    async fn journal(&self, token: &str) -> Resp {
        self.call(
            Method::GET,
            token,
            &format!("/api/v1/clients/{}/journal", self.lisa),
            None,
        )
        .await
    }

    /// An auditor account, made by the admin, signed in.
    async fn auditor(&self) -> String {
        self.ctx
            .post(
                "/api/v1/users",
                json!({"username": "revisor", "display_name": "Revisor", "role": "auditor",
                       "password": "revisor-lösen-1"}),
            )
            .await
            .ok(StatusCode::CREATED);
        self.ctx.login("revisor", "revisor-lösen-1").await
    }

    async fn consent(&self, state: &str) {
        self.call(
            Method::POST,
            &self.cw,
            &format!("/api/v1/clients/{}/consents", self.lisa),
            Some(json!({"state": state, "note": "Muntligen vid hembesök."})),
        )
        .await
        .ok(StatusCode::CREATED);
    }
}

#[actix_web::test]
async fn a_caseworker_reads_the_journal_only_with_consent_or_as_one_board() {
    let t = care().await;
    t.note("Lisa var glad i dag.").await;
    // The provider reads its own notes.
    let own = t.journal(&t.chef).await;
    assert_eq!(own.ok(StatusCode::OK)["items"].as_array().unwrap().len(), 1);
    // No consent recorded: 403 consent_required, and no content.
    let r = t.journal(&t.cw).await;
    r.problem(ErrorCode::ConsentRequired);
    assert!(r.body["detail"].as_str().unwrap().starts_with("no_consent"));
    assert!(!r.body.to_string().contains("glad"));
    // The client refused: the caseworker is told so.
    t.consent("refused").await;
    let r = t.journal(&t.cw).await;
    r.problem(ErrorCode::ConsentRequired);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.starts_with("refused"), "{detail}");
    assert!(detail.contains("inte samtyckt"), "{detail}");
    // Given: the caseworker reads.
    t.consent("given").await;
    let r = t.journal(&t.cw).await;
    assert_eq!(
        r.ok(StatusCode::OK)["items"][0]["body"],
        "Lisa var glad i dag."
    );
    // Withdrawn: refused again.
    t.consent("withdrawn").await;
    let r = t.journal(&t.cw).await;
    r.problem(ErrorCode::ConsentRequired);
    assert!(r.body["detail"].as_str().unwrap().starts_with("withdrawn"));
    // One board (Göteborg's ÄVO and municipal home care): no consent needed.
    t.ctx
        .put(
            &format!(
                "/api/v1/authority-units/{}/shared-boards/{}",
                t.unit, t.jakobsberg
            ),
            json!({"shared": true}),
        )
        .await
        .ok(StatusCode::OK);
    let r = t.journal(&t.cw).await;
    assert_eq!(r.ok(StatusCode::OK)["items"].as_array().unwrap().len(), 1);
    // Figures stay visible without consent: they are the order's follow-up.
    t.ctx
        .put(
            &format!(
                "/api/v1/authority-units/{}/shared-boards/{}",
                t.unit, t.jakobsberg
            ),
            json!({"shared": false}),
        )
        .await
        .ok(StatusCode::OK);
    t.journal(&t.cw).await.problem(ErrorCode::ConsentRequired);
    t.call(
        Method::GET,
        &t.cw,
        &format!("/api/v1/clients/{}/months/2026-11", t.lisa),
        None,
    )
    .await
    .ok(StatusCode::OK);
    // A care worker and a fee administrator read no journal of others.
    let fee = t.ctx.login("demo.avgift", seed::DEMO_PASSWORD).await;
    t.journal(&fee).await.problem(ErrorCode::Forbidden);
}

#[actix_web::test]
async fn every_read_is_logged_and_the_auditor_and_the_author_see_it() {
    let t = care().await;
    t.note("Handlat mat.").await;
    t.consent("given").await;
    t.journal(&t.cw).await.ok(StatusCode::OK);
    t.journal(&t.chef).await.ok(StatusCode::OK);
    // A refused read is not a read.
    let fee = t.ctx.login("demo.avgift", seed::DEMO_PASSWORD).await;
    t.journal(&fee).await.problem(ErrorCode::Forbidden);
    let auditor = t.auditor().await;
    let log = t
        .call(
            Method::GET,
            &auditor,
            &format!("/api/v1/access-log?client_id={}", t.lisa),
            None,
        )
        .await;
    let items = log.ok(StatusCode::OK)["items"].as_array().unwrap().clone();
    let journal: Vec<(&str, &str)> = items
        .iter()
        .filter(|i| i["what"] == "journal")
        .map(|i| (i["role"].as_str().unwrap(), i["user_id"].as_str().unwrap()))
        .collect();
    assert_eq!(journal.len(), 2, "{items:?}");
    assert_eq!(journal[1], ("caseworker", t.cw_id.as_str()), "oldest last");
    assert_eq!(journal[0].0, "provider_admin");
    // Per user: what the caseworker read.
    let by_cw = t
        .call(
            Method::GET,
            &auditor,
            &format!("/api/v1/access-log?user_id={}", t.cw_id),
            None,
        )
        .await;
    assert!(
        by_cw.ok(StatusCode::OK)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["user_id"] == t.cw_id.as_str())
    );
    // The auditor reads the log, not the journal.
    t.journal(&auditor).await.problem(ErrorCode::Forbidden);
    t.call(
        Method::GET,
        &auditor,
        &format!("/api/v1/clients/{}", t.lisa),
        None,
    )
    .await
    .problem(ErrorCode::Forbidden);
    // Anna sees who read what she wrote.
    let mine = t
        .call(Method::GET, &t.anna, "/api/v1/me/access-log", None)
        .await;
    let readers: Vec<&str> = mine.ok(StatusCode::OK)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert!(readers.contains(&"caseworker"), "{readers:?}");
    assert!(mine.body.to_string().contains(&t.anna_id));
    // A provider admin sees the reads of its clients; staff may not list.
    t.call(
        Method::GET,
        &t.chef,
        &format!("/api/v1/access-log?client_id={}", t.lisa),
        None,
    )
    .await
    .ok(StatusCode::OK);
    t.call(
        Method::GET,
        &t.anna,
        &format!("/api/v1/access-log?client_id={}", t.lisa),
        None,
    )
    .await
    .problem(ErrorCode::Forbidden);
    // The chain holds.
    let mut c = t.ctx.state.pool.get().unwrap();
    let chains = hemtid_core::audit::verify_chains(&mut c).unwrap();
    assert!(chains.iter().all(|r| r.broken.is_none()), "{chains:?}");
    assert!(chains[0].records >= 4);
}

#[actix_web::test]
async fn a_plan_is_written_approved_revised_and_checked_by_the_caseworker() {
    let t = care().await;
    let plan_url = format!("/api/v1/clients/{}/care-plan", t.lisa);
    let r = t.call(Method::GET, &t.chef, &plan_url, None).await;
    assert_eq!(r.ok(StatusCode::OK)["status"], "missing");
    let body = json!({
        "content": {"manage_myself": "Klär på mig", "need_help_with": "Dusch",
                    "how_and_when": "Tisdagar 9-10", "by_whom": "Hemtjänsten Jakobsberg",
                    "my_goal": "Duscha tryggt"},
        "participation": "took_part",
        "participation_note": "Skrevs tillsammans med Lisa och hennes dotter."
    });
    // Declined participation needs the reason; unknown fields are refused.
    let r = t
        .call(
            Method::POST,
            &t.anna,
            &format!("{plan_url}/versions"),
            Some(json!({"content": {}, "participation": "declined"})),
        )
        .await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(
        r.fields(),
        [("participation_note".to_string(), "required".to_string())]
    );
    t.call(
        Method::POST,
        &t.anna,
        &format!("{plan_url}/versions"),
        Some(json!({"content": {"wishes": "x"}, "participation": "took_part"})),
    )
    .await
    .problem(ErrorCode::ValidationFailed);
    // Each text at most 8,000 characters, a service's part too.
    let long = "x".repeat(8001);
    let r = t
        .call(
            Method::POST,
            &t.anna,
            &format!("{plan_url}/versions"),
            Some(json!({
                "content": {"my_goal": long, "services": [
                    {"service_id": t.lisa, "by_whom": long}
                ]},
                "participation": "took_part"
            })),
        )
        .await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(
        r.fields(),
        [
            ("content.my_goal".to_string(), "too_long".to_string()),
            (
                "content.services[0].by_whom".to_string(),
                "too_long".to_string()
            ),
            (
                "content.services[0].service_id".to_string(),
                "unknown_reference".to_string()
            ),
        ]
    );
    let v1 = t
        .call(
            Method::POST,
            &t.anna,
            &format!("{plan_url}/versions"),
            Some(body.clone()),
        )
        .await
        .ok(StatusCode::CREATED)
        .clone();
    assert_eq!(
        (v1["state"].as_str(), v1["version"].as_i64()),
        (Some("draft"), Some(1))
    );
    // A draft is no plan yet on the care worker's phone (R10).
    assert!(!t.plan_on_phone().await);
    // One version at a time.
    t.call(
        Method::POST,
        &t.anna,
        &format!("{plan_url}/versions"),
        Some(body.clone()),
    )
    .await
    .problem(ErrorCode::WrongState);
    // Staff write, the provider admin approves.
    let v1_id = v1["id"].as_str().unwrap();
    t.call(
        Method::POST,
        &t.anna,
        &format!("/api/v1/care-plan-versions/{v1_id}/approval"),
        None,
    )
    .await
    .problem(ErrorCode::Forbidden);
    t.call(
        Method::POST,
        &t.chef,
        &format!("/api/v1/care-plan-versions/{v1_id}/approval"),
        None,
    )
    .await
    .ok(StatusCode::OK);
    // A revision: the plan still counts as present.
    let v2 = t
        .call(
            Method::POST,
            &t.anna,
            &format!("{plan_url}/versions"),
            Some(body.clone()),
        )
        .await
        .ok(StatusCode::CREATED)
        .clone();
    assert_eq!(v2["state"], "in_revision");
    assert!(t.plan_on_phone().await);
    let r = t.call(Method::GET, &t.chef, &plan_url, None).await;
    assert_eq!(r.ok(StatusCode::OK)["status"], "in_revision");
    assert_eq!(r.body["versions"][0]["content"]["need_help_with"], "Dusch");
    // The caseworker needs consent to read and check it.
    t.call(Method::GET, &t.cw, &plan_url, None)
        .await
        .problem(ErrorCode::ConsentRequired);
    t.consent("given").await;
    let r = t
        .call(
            Method::POST,
            &t.cw,
            &format!("/api/v1/care-plan-versions/{v1_id}/review"),
            Some(json!({"outcome": "remarks", "note": "Beställningen gäller även inköp."})),
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["review"], "remarks");
    let r = t.call(Method::GET, &t.cw, &plan_url, None).await;
    assert_eq!(
        r.ok(StatusCode::OK)["versions"].as_array().unwrap().len(),
        2
    );
    // The plan's follow-up (R11) by the provider.
    t.call(
        Method::POST,
        &t.chef,
        &format!("{plan_url}/follow-ups"),
        Some(json!({"followed_up_on": "2026-11-21", "note": "Oförändrat."})),
    )
    .await
    .ok(StatusCode::CREATED);
    t.call(
        Method::POST,
        &t.chef,
        &format!("{plan_url}/follow-ups"),
        Some(json!({"followed_up_on": "2026-12-24"})),
    )
    .await
    .problem(ErrorCode::ValidationFailed);
}

#[actix_web::test]
async fn the_contact_person_must_be_a_care_worker_of_the_provider() {
    let t = care().await;
    let url = format!("/api/v1/clients/{}/contact-person", t.lisa);
    let r = t
        .call(
            Method::PUT,
            &t.chef,
            &url,
            Some(json!({"user_id": t.cw_id})),
        )
        .await;
    r.problem(ErrorCode::ValidationFailed);
    assert_eq!(r.fields()[0].0, "user_id");
    t.call(
        Method::PUT,
        &t.chef,
        &url,
        Some(json!({"user_id": t.anna_id})),
    )
    .await
    .ok(StatusCode::OK);
    let r = t.call(Method::GET, &t.cw, &url, None).await;
    assert_eq!(r.ok(StatusCode::OK)["user_id"], t.anna_id.as_str());
}

#[actix_web::test]
async fn a_request_for_material_is_answered_with_a_journal_compilation() {
    let t = care().await;
    t.note("Ville inte duscha i dag.").await;
    // A period of 0001-9999 is a typo: refused with the field named.
    let r = t
        .call(
            Method::POST,
            &t.cw,
            &format!("/api/v1/clients/{}/material-requests", t.lisa),
            Some(
                json!({"plan": true, "journal_from": "0001-01-01", "journal_to": "9999-12-31",
                        "due_on": "2026-12-01"}),
            ),
        )
        .await;
    assert_eq!(
        r.problem(ErrorCode::ValidationFailed).fields(),
        vec![("journal_from".into(), "out_of_range".into())]
    );
    let r = t
        .call(
            Method::POST,
            &t.cw,
            &format!("/api/v1/clients/{}/material-requests", t.lisa),
            Some(
                json!({"plan": true, "journal_from": "2026-11-01", "journal_to": "2026-11-21",
                        "unperformed": true, "message": "Inför uppföljning i december.",
                        "due_on": "2026-12-01"}),
            ),
        )
        .await;
    let req = r.ok(StatusCode::CREATED).clone();
    assert_eq!(req["state"], "sent");
    let id = req["id"].as_str().unwrap();
    // The provider sees it.
    let r = t
        .call(Method::GET, &t.chef, "/api/v1/material-requests", None)
        .await;
    assert_eq!(r.ok(StatusCode::OK)["items"][0]["id"], id);
    let answer = json!({"plan_note": "Planen revideras i december.",
                        "unperformed": "Lisa avböjde dusch två gånger."});
    // Without consent the journal may not be handed over.
    let r = t
        .call(
            Method::POST,
            &t.chef,
            &format!("/api/v1/material-requests/{id}/answer"),
            Some(answer.clone()),
        )
        .await;
    r.problem(ErrorCode::ConsentRequired);
    t.consent("given").await;
    // What was asked for must be answered.
    t.call(
        Method::POST,
        &t.chef,
        &format!("/api/v1/material-requests/{id}/answer"),
        Some(json!({"comment": "Hej"})),
    )
    .await
    .problem(ErrorCode::ValidationFailed);
    let r = t
        .call(
            Method::POST,
            &t.chef,
            &format!("/api/v1/material-requests/{id}/answer"),
            Some(answer.clone()),
        )
        .await;
    let done = r.ok(StatusCode::OK).clone();
    assert_eq!(done["state"], "answered");
    assert_eq!(
        done["answer_journal"][0]["body"],
        "Ville inte duscha i dag."
    );
    t.call(
        Method::POST,
        &t.chef,
        &format!("/api/v1/material-requests/{id}/answer"),
        Some(answer),
    )
    .await
    .problem(ErrorCode::WrongState);
    let r = t
        .call(
            Method::GET,
            &t.cw,
            &format!("/api/v1/material-requests/{id}"),
            None,
        )
        .await;
    assert_eq!(
        r.ok(StatusCode::OK)["answer_unperformed"],
        "Lisa avböjde dusch två gånger."
    );
    assert_eq!(
        r.body["answer_journal"][0]["body"],
        "Ville inte duscha i dag."
    );
    assert_eq!(r.body["journal_withheld"], Value::Null);
    // A list is not a read of the journal (R14): it carries none.
    let r = t
        .call(Method::GET, &t.cw, "/api/v1/material-requests", None)
        .await;
    let listed = &r.ok(StatusCode::OK)["items"][0];
    assert_eq!(listed["id"], id);
    assert_eq!(listed["answer_journal"], Value::Null);
    assert!(r.body.to_string().find("Ville inte duscha").is_none());
    assert_eq!(
        listed["journal_withheld"],
        "Journalutdraget visas när du öppnar förfrågan."
    );
    // The read by id is in the access log, as the caseworker's.
    let auditor = t.auditor().await;
    let log = t
        .call(
            Method::GET,
            &auditor,
            &format!("/api/v1/access-log?client_id={}", t.lisa),
            None,
        )
        .await;
    let reads: Vec<(String, String)> = log.ok(StatusCode::OK)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["what"].as_str().unwrap().starts_with("material_request"))
        .map(|i| {
            (
                i["what"].as_str().unwrap().to_string(),
                i["user_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reads,
        vec![("material_request_journal".to_string(), t.cw_id.clone())]
    );
    // Consent withdrawn: the journal is withheld from the caseworker, and
    // she is told why; the rest of the answer stays hers.
    t.consent("withdrawn").await;
    let r = t
        .call(
            Method::GET,
            &t.cw,
            &format!("/api/v1/material-requests/{id}"),
            None,
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["answer_journal"], Value::Null);
    assert!(r.body.to_string().find("Ville inte duscha").is_none());
    assert_eq!(
        r.body["journal_withheld"],
        "Brukaren har återkallat sitt samtycke."
    );
    assert_eq!(
        r.body["answer_unperformed"],
        "Lisa avböjde dusch två gånger."
    );
    // The provider's admin still reads the provider's own notes.
    let r = t
        .call(
            Method::GET,
            &t.chef,
            &format!("/api/v1/material-requests/{id}"),
            None,
        )
        .await;
    assert_eq!(
        r.ok(StatusCode::OK)["answer_journal"][0]["body"],
        "Ville inte duscha i dag."
    );
    let r = t
        .call(
            Method::POST,
            &t.cw,
            &format!("/api/v1/material-requests/{id}/close"),
            None,
        )
        .await;
    assert_eq!(r.ok(StatusCode::OK)["state"], "closed");
    // Another provider's admin does not find it.
    let other = t
        .ctx
        .login("demo.chef.omsorgshuset", seed::DEMO_PASSWORD)
        .await;
    t.call(
        Method::GET,
        &other,
        &format!("/api/v1/material-requests/{id}"),
        None,
    )
    .await
    .problem(ErrorCode::NotFound);
}
