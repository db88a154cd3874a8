//! The OpenAPI document: committed as generated, served as committed, with
//! every route, the security each one really has, and every error code.

use super::schema_check::resolve;
use super::*;
use crate::handlers::crud::Crud;
use hemtid_core::db::authority_unit::AuthorityUnit;
use hemtid_core::db::client::Client;
use hemtid_core::db::provider::Provider;
use hemtid_core::db::service::Service;
use hemtid_core::db::user_account::UserAccount;
use std::collections::BTreeSet;

/// `mobile-contract/openapi.json`.
fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-contract/openapi.json")
}

pub(super) fn document() -> Value {
    serde_json::to_value(crate::openapi::document()).unwrap()
}

#[test]
fn the_committed_contract_is_the_generated_one() {
    let generated = crate::openapi::to_json().unwrap();
    let path = committed_path();
    if std::env::var("HEMTID_UPDATE_CONTRACT").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "mobile-contract/openapi.json differs from the document the code generates \
             (first at {line}). Regenerate it with\n\n    \
             HEMTID_UPDATE_CONTRACT=1 cargo test -p hemtid-api the_committed_contract\n\n\
             (or `cargo run -- openapi > mobile-contract/openapi.json`), review the diff \
             and commit it."
        );
    }
}

#[actix_web::test]
async fn the_document_is_served_without_sign_in() {
    let ctx = setup().await;
    let req = TestRequest::get().uri("/api/v1/openapi.json");
    let app = test::init_service(app(ctx.state.clone())).await;
    let resp = test::call_service(&app, req.to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/json"
    );
    let body = test::read_body(resp).await;
    // The same bytes as the committed file (which the test above compares).
    assert_eq!(body, crate::openapi::to_json().unwrap().into_bytes());
}

/// (method, path) of every route `handlers::routes` registers, read from
/// its source: `res("…")` opens a path, `get()`/`post()`/`put()` add
/// methods to it, `crud::routes::<R>` adds the four of `R::PATH`.
fn registered_routes() -> BTreeSet<(String, String)> {
    let src = include_str!("../handlers/mod.rs");
    let body = src.split("pub fn routes").nth(1).unwrap();
    let body = body.split("\n}\n").next().unwrap();
    let mut routes = BTreeSet::new();
    let (mut scope, mut current) = (String::new(), String::new());
    let quoted = |rest: &str| rest.split('"').nth(1).unwrap().to_string();
    for (i, _) in body.char_indices() {
        let rest = &body[i..];
        if rest.starts_with("web::scope(") {
            scope = quoted(rest);
        } else if rest.starts_with("res(\"") {
            current = format!("{scope}{}", quoted(rest));
        } else if let Some(m) = ["get()", "post()", "put()"]
            .iter()
            .find(|m| rest.starts_with(**m))
        {
            routes.insert((m.trim_end_matches("()").to_string(), current.clone()));
        } else if let Some(r) = rest.strip_prefix("crud::routes::<") {
            let name = r.split('>').next().unwrap();
            let path = match name {
                "Provider" => Provider::PATH,
                "AuthorityUnit" => AuthorityUnit::PATH,
                "Service" => Service::PATH,
                "UserAccount" => UserAccount::PATH,
                "Client" => Client::PATH,
                other => panic!("crud resource {other}: add it to this test"),
            };
            let (one, all) = (format!("{scope}{path}/{{id}}"), format!("{scope}{path}"));
            for (m, p) in [("get", &all), ("post", &all), ("get", &one), ("put", &one)] {
                routes.insert((m.to_string(), p.clone()));
            }
        }
    }
    routes
}

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.clone(), path.clone()));
        }
    }
    ops
}

#[test]
fn every_route_is_documented() {
    let routes = registered_routes();
    assert!(routes.len() > 50, "the source scan found only {routes:?}");
    assert!(routes.contains(&("post".into(), "/api/v1/visits/check-in".into())));
    assert!(routes.contains(&("put".into(), "/api/v1/clients/{id}".into())));
    let documented = documented_operations(&document());
    let missing: Vec<_> = routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without documentation: {missing:?}; documented without a route: {extra:?}"
    );
}

/// A path with its parameters filled in with well-formed values.
fn concrete(path: &str) -> String {
    path.replace("{id}", &uuid::Uuid::new_v4().to_string())
        .replace("{month}", "2026-11")
        .replace("{date}", "2026-11-22")
}

#[actix_web::test]
async fn documented_operations_exist_with_the_security_they_say() {
    let ctx = setup().await;
    let doc = document();
    for (method, path) in documented_operations(&doc) {
        let op = &doc["paths"][&path][&method];
        let secured = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get(crate::openapi::BEARER).is_some()));
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = ctx.call(m, &concrete(&path), None, None).await;
        if secured {
            // Without a token: the route exists and wants one.
            r.problem(ErrorCode::Unauthorized);
        } else {
            assert!(
                ![401, 404, 405].contains(&r.status.as_u16()),
                "{method} {path}: {} {}",
                r.status,
                r.body
            );
        }
    }
}

/// Client generators name methods after them; validators refuse twins.
#[test]
fn operation_ids_are_unique() {
    let doc = document();
    let mut seen = BTreeSet::new();
    for (method, path) in documented_operations(&doc) {
        let id = doc["paths"][&path][&method]["operationId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(!id.is_empty(), "{method} {path} has no operationId");
        assert!(seen.insert(id.clone()), "{id} twice ({method} {path})");
    }
}

#[test]
fn only_the_public_paths_go_without_a_token() {
    let doc = document();
    let public: BTreeSet<String> = documented_operations(&doc)
        .into_iter()
        .filter(|(m, p)| doc["paths"][p][m].get("security").is_none())
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let expected = [
        "get /healthz",
        "get /readyz",
        "get /api/v1/openapi.json",
        "post /api/v1/auth/login",
        "post /api/v1/auth/refresh",
        "post /api/v1/auth/logout",
        "get /api/v1/auth/identity-providers",
        "get /api/v1/auth/oidc/{kommunkod}/authorize",
        "post /api/v1/auth/oidc/token",
    ];
    assert_eq!(public, expected.iter().map(|s| s.to_string()).collect());
    let scheme = &doc["components"]["securitySchemes"][crate::openapi::BEARER];
    assert_eq!(
        (scheme["type"].as_str(), scheme["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
}

#[test]
fn every_operation_has_a_known_tag_and_problem_answers() {
    let doc = document();
    let tags = [
        "auth",
        "phone",
        "journal",
        "provider",
        "integration",
        "devices",
        "health",
        "alerts",
        "variance",
        "reports",
        "care",
    ];
    for (method, path) in documented_operations(&doc) {
        let op = &doc["paths"][&path][&method];
        let tag = op["tags"][0].as_str().unwrap_or_default();
        assert!(tags.contains(&tag), "{method} {path}: tag {tag:?}");
        for (status, response) in op["responses"].as_object().unwrap() {
            let response = resolve(&doc, response);
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
        if path != "/healthz" {
            // Every route but the liveness probe reaches the database, and
            // answers 503 when it does not answer: a client must know to
            // send it again (the phone's offline batches, for one).
            assert!(
                op["responses"]["503"].is_object(),
                "{method} {path} does not document 503"
            );
        }
    }
}

#[test]
fn every_error_code_is_in_the_document() {
    let doc = document();
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let enumerated = &doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"];
    assert_eq!(enumerated, &json!(codes));
    let description = doc["info"]["description"].as_str().unwrap();
    for c in ErrorCode::ALL {
        let row = format!(
            "| `{}` | {} | {} |",
            c.as_str(),
            c.status().as_u16(),
            c.title()
        );
        assert!(description.contains(&row), "{row}");
        let name = crate::openapi::problem::response_name(c.status());
        let response = &doc["components"]["responses"][&name]["description"];
        assert!(
            response
                .as_str()
                .unwrap()
                .contains(&format!("`{}`", c.as_str())),
            "{name}"
        );
    }
}

#[test]
fn every_reference_resolves() {
    fn walk(doc: &Value, v: &Value, seen: &mut usize) {
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                    assert!(doc.pointer(&r[1..]).is_some(), "unresolved {r}");
                    *seen += 1;
                }
                o.values().for_each(|x| walk(doc, x, seen));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(doc, x, seen)),
            _ => {}
        }
    }
    let doc = document();
    let mut seen = 0;
    walk(&doc, &doc, &mut seen);
    assert!(seen > 100, "{seen} references");
}

#[test]
fn custom_serialised_values_are_documented_as_the_strings_they_are() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    // A property, also one a flattened struct brings in through allOf.
    fn find(doc: &Value, schema: &Value, name: &str) -> Option<Value> {
        let s = resolve(doc, schema);
        s["properties"].get(name).cloned().or_else(|| {
            s["allOf"]
                .as_array()?
                .iter()
                .find_map(|p| find(doc, p, name))
        })
    }
    let prop = |schema: &str, name: &str| {
        find(&doc, &schemas[schema], name).unwrap_or_else(|| panic!("{schema}.{name}"))
    };
    assert_eq!(
        prop("Provider", "created_at"),
        json!({"type": "string", "format": "date-time"})
    );
    assert_eq!(
        prop("Visit", "approved_at"),
        json!({"type": ["string", "null"], "format": "date-time"})
    );
    let day = prop("VisitFields", "local_date");
    assert_eq!(
        (&day["type"], &day["format"]),
        (&json!("string"), &json!("date"))
    );
    assert_eq!(
        prop("MonthView", "month"),
        json!({"$ref": "#/components/schemas/YearMonth"})
    );
    assert_eq!(schemas["YearMonth"]["type"], "string");
    // Flattened fields are the row's own, through allOf.
    assert_eq!(prop("Provider", "name"), json!({"type": "string"}));
    assert_eq!(prop("VisitView", "status")["type"], "string");
}

#[test]
fn the_alert_kind_filter_names_every_kind_and_the_asyncapi_document_too() {
    use hemtid_core::model::AlertKind;
    let doc = document();
    let param = doc["paths"]["/api/v1/alerts"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "kind")
        .unwrap()
        .clone();
    let pattern = param["schema"]["pattern"].as_str().unwrap();
    let named: BTreeSet<&str> = pattern
        .trim_start_matches("^(")
        .trim_end_matches(")$")
        .split('|')
        .collect();
    let kinds: BTreeSet<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(named, kinds);
    let asyncapi = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-contract/asyncapi.yaml"),
    )
    .unwrap();
    let line = asyncapi
        .lines()
        .find(|l| l.trim_start().starts_with("enum: [outside_band"))
        .unwrap();
    let listed: BTreeSet<&str> = line
        .trim()
        .trim_start_matches("enum: [")
        .trim_end_matches(']')
        .split(", ")
        .collect();
    assert_eq!(listed, kinds);
}

/// The schema names the sources give (`ToSchema` types, or their `as =`
/// names), each with where it is declared. Generic types and the names a
/// macro makes are left out.
fn declared_schemas() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    walk(&root.join("api/src"), &mut files);
    walk(&root.join("core/src"), &mut files);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // The attributes and doc comments above an item.
        let mut above = String::new();
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            let item = [
                "pub struct ",
                "pub enum ",
                "struct ",
                "enum ",
                "pub(crate) struct ",
            ]
            .iter()
            .find_map(|k| t.strip_prefix(k));
            if let Some(rest) = item {
                if above.contains("ToSchema") {
                    let ident: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let generic = rest[ident.len()..].starts_with('<');
                    let name = above
                        .split("as = ")
                        .nth(1)
                        .map(|s| {
                            s.chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                                .collect::<String>()
                        })
                        .unwrap_or(ident);
                    if !generic && !name.starts_with('$') {
                        out.push((name, format!("{}:{}", f.display(), n + 1)));
                    }
                }
                above.clear();
            } else if t.starts_with("#[")
                || t.starts_with("///")
                || t.starts_with("//")
                || !above.is_empty() && !t.ends_with(';') && !t.ends_with('}') && !t.is_empty()
            {
                above.push_str(t);
                above.push('\n');
            } else {
                above.clear();
            }
        }
    }
    out
}

#[test]
fn no_two_types_publish_the_same_schema_name() {
    // utoipa keeps the last of two schemas of one name: the other's
    // references then silently point at the wrong shape.
    let declared = declared_schemas();
    assert!(declared.len() > 100, "the scan found {}", declared.len());
    let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
    let mut twice = Vec::new();
    for (name, at) in &declared {
        if let Some(first) = seen.insert(name, at) {
            twice.push(format!("{name}: {first} and {at}"));
        }
    }
    assert!(twice.is_empty(), "{}", twice.join("\n"));
}
