//! The phone's examples in `mobile-contract/examples/`, sent to the real
//! handlers as a care worker's day on the demo municipality: each answer
//! has the status the table says and the structure of the example answer,
//! and every example, and every real answer, fits the document's schema.

use super::contract::document;
use super::schema_check::{check, resolve};
use super::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// One request of the day: `{name}.request.json` is its body (if any) and
/// `{name}.response.json` the answer (if any). `{{placeholders}}` in paths
/// and bodies are demo ids, or values of earlier answers.
struct Exchange {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    status: u16,
}

const fn x(name: &'static str, method: &'static str, path: &'static str, status: u16) -> Exchange {
    Exchange {
        name,
        method,
        path,
        status,
    }
}

const DAY: &[Exchange] = &[
    x("login", "POST", "/api/v1/auth/login", 200),
    x("refresh", "POST", "/api/v1/auth/refresh", 200),
    x("me", "GET", "/api/v1/me", 200),
    x("me-clients", "GET", "/api/v1/me/clients", 200),
    x("check-in", "POST", "/api/v1/visits/check-in", 201),
    x("check-out", "POST", "/api/v1/visits/check-out", 201),
    x("declined", "POST", "/api/v1/visits/declined", 201),
    x("entry", "POST", "/api/v1/visits/entries", 201),
    x("sync", "POST", "/api/v1/sync", 200),
    x("me-visits", "GET", "/api/v1/me/visits?date=2026-11-22", 200),
    x(
        "journal-post",
        "POST",
        "/api/v1/clients/{{lisa}}/journal",
        201,
    ),
    x(
        "journal-list",
        "GET",
        "/api/v1/clients/{{lisa}}/journal",
        200,
    ),
    x(
        "client-month",
        "GET",
        "/api/v1/clients/{{lisa}}/months/2026-11",
        200,
    ),
    x("check-in-invalid", "POST", "/api/v1/visits/check-in", 422),
    x("logout", "POST", "/api/v1/auth/logout", 204),
];

fn examples_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-contract/examples")
}

fn example(file: &str) -> Option<Value> {
    let text = std::fs::read_to_string(examples_dir().join(file)).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}")))
}

/// Replaces every `{{name}}` inside strings.
fn fill_text(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    assert!(!out.contains("{{"), "unknown placeholder in {out}");
    out
}

fn fill(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(fill_text(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, vars)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (k.clone(), fill(x, vars))).collect())
        }
        other => other.clone(),
    }
}

/// Same keys recursively and the same JSON types; arrays by their first
/// element (and both empty or both not).
fn same_shape(example: &Value, real: &Value, at: &str) -> Result<(), String> {
    match (example, real) {
        (Value::Object(e), Value::Object(r)) => {
            let (ek, rk): (BTreeSet<_>, BTreeSet<_>) = (e.keys().collect(), r.keys().collect());
            if ek != rk {
                return Err(format!(
                    "{at}: keys {ek:?} in the example, {rk:?} in the answer"
                ));
            }
            e.iter()
                .try_for_each(|(k, v)| same_shape(v, &r[k], &format!("{at}.{k}")))
        }
        (Value::Array(e), Value::Array(r)) => match (e.first(), r.first()) {
            (Some(e0), Some(r0)) => same_shape(e0, r0, &format!("{at}[0]")),
            (None, None) => Ok(()),
            _ => Err(format!("{at}: one of the example and the answer is empty")),
        },
        (Value::Number(e), Value::Number(r)) if e.is_f64() == r.is_f64() => Ok(()),
        (e, r) if std::mem::discriminant(e) == std::mem::discriminant(r) && !e.is_number() => {
            Ok(())
        }
        (e, r) => Err(format!("{at}: {e} in the example, {r} in the answer")),
    }
}

/// The documented path a concrete one belongs to: literal segments win
/// over `{parameters}`.
fn template<'a>(doc: &'a Value, path: &str) -> &'a str {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let score = |t: &str| {
        let ts: Vec<&str> = t.split('/').collect();
        let fits = ts.len() == segments.len()
            && ts
                .iter()
                .zip(&segments)
                .all(|(t, s)| t == s || t.starts_with('{'));
        fits.then(|| ts.iter().zip(&segments).filter(|(t, s)| t == s).count())
    };
    let paths = doc["paths"].as_object().unwrap().keys();
    let best = paths.filter_map(|t| Some((score(t)?, t))).max();
    best.map(|(_, t)| t.as_str())
        .unwrap_or_else(|| panic!("{path} is not in the document"))
}

/// The schema of a request or response body of an operation.
fn body_schema<'a>(doc: &'a Value, op: &'a Value, status: Option<u16>) -> (&'a str, &'a Value) {
    let holder = match status {
        None => &op["requestBody"],
        Some(s) => resolve(doc, &op["responses"][s.to_string()]),
    };
    let (media, content) = holder["content"]
        .as_object()
        .and_then(|c| c.iter().next())
        .unwrap_or_else(|| panic!("no body documented: {holder}"));
    (media.as_str(), &content["schema"])
}

fn fits(doc: &Value, schema: &Value, value: &Value, what: &str) {
    if let Err(e) = check(doc, schema, value, "$") {
        panic!("{what} does not fit the document: {e}");
    }
}

#[actix_web::test]
async fn the_phone_examples_match_the_handlers_and_the_document() {
    let ctx = setup().await;
    let doc = document();
    let mut vars = BTreeMap::new();
    for name in ["Lisa", "Maj", "Nils", "Greta"] {
        let c = ctx.find("/api/v1/clients", "given_name", name).await;
        vars.insert(name.to_lowercase(), c["id"].as_str().unwrap().to_string());
    }
    let mut token: Option<String> = None;
    let mut used = BTreeSet::new();
    for ex in DAY {
        let what = |part: &str| format!("{}.{part}.json", ex.name);
        let path = fill_text(ex.path, &vars);
        let op = &doc["paths"][template(&doc, &path)][ex.method.to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} is not documented",
            ex.method,
            ex.path
        );
        let request = example(&what("request")).map(|b| fill(&b, &vars));
        if let Some(body) = &request {
            used.insert(what("request"));
            fits(&doc, body_schema(&doc, op, None).1, body, &what("request"));
        }
        let method = Method::from_bytes(ex.method.as_bytes()).unwrap();
        let auth = token.as_deref().filter(|_| !ex.path.contains("/auth/"));
        let r = ctx.call(method, &path, auth, request).await;
        assert_eq!(r.status.as_u16(), ex.status, "{}: {}", ex.name, r.body);
        match example(&what("response")) {
            Some(expected) => {
                used.insert(what("response"));
                let (media, schema) = body_schema(&doc, op, Some(ex.status));
                assert_eq!(r.content_type, media, "{}", ex.name);
                fits(&doc, schema, &expected, &what("response"));
                fits(&doc, schema, &r.body, &format!("the answer to {}", ex.name));
                if let Err(e) = same_shape(&expected, &r.body, "$") {
                    panic!(
                        "{} differs from the real answer: {e}\n{:#}",
                        what("response"),
                        r.body
                    );
                }
            }
            None => assert_eq!(r.body, Value::Null, "{} answers a body", ex.name),
        }
        if let Some(t) = r.body["access_token"].as_str() {
            token = Some(t.to_string());
            let refresh = r.body["refresh_token"].as_str().unwrap();
            vars.insert("refresh_token".into(), refresh.to_string());
        }
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        // MQTT messages belong to asyncapi.yaml; core's and the gateway's
        // tests check them.
        .filter(|n| !n.starts_with("device-") && !n.starts_with("mqtt-"))
        .collect();
    assert_eq!(on_disk, used, "every example file is sent or compared");
}

#[test]
fn shapes_compare_keys_types_and_first_elements() {
    let ok = |e: Value, r: Value| same_shape(&e, &r, "$");
    assert_eq!(
        ok(
            json!({"a": [{"b": 1}], "c": null}),
            json!({"a": [{"b": 2}, {}], "c": null})
        ),
        Ok(())
    );
    assert!(
        ok(json!({"a": 1}), json!({"a": 1, "b": 2}))
            .unwrap_err()
            .contains("keys")
    );
    assert!(ok(json!({"a": "1"}), json!({"a": 1})).is_err());
    assert!(ok(json!({"a": 1}), json!({"a": 1.5})).is_err());
    assert!(ok(json!({"a": null}), json!({"a": "x"})).is_err());
    assert!(
        ok(json!([{"b": 1}]), json!([{"c": 1}]))
            .unwrap_err()
            .contains("$[0]")
    );
    assert!(ok(json!([1]), json!([])).is_err());
}
