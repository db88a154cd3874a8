//! The measures report through the API, and the rule that it is never a
//! figure per care worker.

use super::contract::document;
use super::schema_check::resolve;
use super::*;

/// Every key of a JSON value, at any depth.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                out.push(k.clone());
                keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

/// Names that identify a person who works in home care.
const PERSON: &[&str] = &[
    "staff_id",
    "user_id",
    "care_worker_id",
    "staff",
    "username",
    "by",
];
/// The properties of the measures.
const MEASURES: &[&str] = &[
    "care_workers_met",
    "continuity_mean",
    "contact_visits_basis_points",
    "contact_minutes_basis_points",
    "verified_basis_points",
    "verified_visits",
];

#[actix_web::test]
async fn the_measures_come_per_client_and_group_never_per_care_worker() {
    let ctx = setup().await;
    // The demo's visits since August, as `hemtid serve --demo` makes them.
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    seed::demo_visits(&mut ctx.state.pool.get().unwrap(), today).unwrap();
    let r = ctx
        .get("/api/v1/reports/measures?from=2026-11-02&to=2026-11-15")
        .await;
    let body = r.ok(StatusCode::OK).clone();
    assert_eq!(body["continuity_to"], "2026-11-15");
    assert_eq!(body["national"]["mean"], 14.9);
    assert!(
        body["municipality"]["visits"].as_i64().unwrap() > 0,
        "{body}"
    );
    assert!(!body["clients"].as_array().unwrap().is_empty());
    assert!(body["providers"].as_array().unwrap().len() >= 2);
    let mut all = Vec::new();
    keys(&body, &mut all);
    for k in PERSON {
        assert!(!all.iter().any(|x| x == k), "{k} in the measures: {body}");
    }
    // CSV: the clients' rows, Swedish headings.
    let req = TestRequest::get()
        .uri("/api/v1/reports/measures?from=2026-11-02&format=csv")
        .insert_header(("Authorization", format!("Bearer {}", ctx.admin)));
    let app = test::init_service(app(ctx.state.clone())).await;
    let resp = test::call_service(&app, req.to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(text.starts_with("\u{feff}Brukare;"), "{text}");
    assert!(text.contains("Lisa Lindqvist;"), "{text}");
    // A provider admin sees her provider's clients only.
    let chef = ctx.login("demo.chef.jakobsberg", seed::DEMO_PASSWORD).await;
    let r = ctx
        .call(
            Method::GET,
            "/api/v1/reports/measures?from=2026-11-02",
            Some(&chef),
            None,
        )
        .await;
    assert_eq!(
        r.ok(StatusCode::OK)["providers"].as_array().unwrap().len(),
        1
    );
    // Care workers do not get it; a care worker cannot be asked for.
    let anna = ctx.login("demo.anna", seed::DEMO_PASSWORD).await;
    ctx.call(Method::GET, "/api/v1/reports/measures", Some(&anna), None)
        .await
        .problem(ErrorCode::Forbidden);
    ctx.get("/api/v1/reports/measures?from=2026-11-02&staff_id=x")
        .await
        .problem(ErrorCode::InvalidQuery);
    ctx.get("/api/v1/reports/measures?from=2026-11-15&to=2026-11-02")
        .await
        .problem(ErrorCode::InvalidQuery);
}

/// No schema of the contract carries a measure beside a person's id, and
/// no operation that answers one takes a person's id as a parameter:
/// routines forbid measuring individual care workers by these logs.
#[test]
fn no_endpoint_reports_a_measure_per_person() {
    let doc = document();
    let mut checked = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let mut all = Vec::new();
        keys(resolve(&doc, schema), &mut all);
        if MEASURES.iter().any(|m| all.iter().any(|k| k == m)) {
            checked += 1;
            for p in PERSON {
                assert!(
                    !all.iter().any(|k| k == p),
                    "schema {name} has a measure and {p}"
                );
            }
        }
    }
    assert!(checked >= 2, "the measures' schemas were not found");
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let text = ops.to_string();
        if MEASURES.iter().any(|m| text.contains(m)) || path.contains("measures") {
            for p in PERSON {
                assert!(
                    !text.contains(&format!("\"name\":\"{p}\"")),
                    "{path} takes {p}"
                );
            }
        }
    }
}
