//! A small structural check of JSON against the generated document's
//! schemas, enough to tell whether an example or a real answer fits its
//! endpoint. It knows `$ref`, `allOf`, `oneOf` (exactly one), `anyOf`,
//! `type` (one or a list), `enum`, `properties`, `required`,
//! `additionalProperties` (`false` or a schema), `items`, and the formats
//! `date-time`, `date` and `uuid`; other keywords are ignored.

use serde_json::Value;

/// Follows `$ref`s (`#/components/...`) until a schema or response that is
/// not a reference.
pub(super) fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let pointer = r.strip_prefix('#').unwrap_or(r);
        v = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("unresolved $ref {r}"));
    }
    v
}

/// Checks `value` against `schema`; the error names the JSON path.
pub(super) fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    for part in list(schema, "allOf") {
        check(doc, part, value, at)?;
    }
    let one_of = list(schema, "oneOf");
    if !one_of.is_empty() {
        let errors: Vec<String> = one_of
            .iter()
            .filter_map(|s| check(doc, s, value, at).err())
            .collect();
        match one_of.len() - errors.len() {
            1 => {}
            0 => return Err(format!("{at}: matches no oneOf alternative: {errors:?}")),
            n => return Err(format!("{at}: matches {n} oneOf alternatives")),
        }
    }
    let any_of = list(schema, "anyOf");
    if !any_of.is_empty() && any_of.iter().all(|s| check(doc, s, value, at).is_err()) {
        return Err(format!("{at}: matches no anyOf alternative"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        if !types.iter().any(|t| type_matches(t, value)) {
            return Err(format!("{at}: {value} is not of type {types:?}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(format), Some(text)) =
        (schema.get("format").and_then(Value::as_str), value.as_str())
        && !format_matches(format, text)
    {
        return Err(format!("{at}: {text:?} is not a {format}"));
    }
    if let Value::Object(object) = value {
        check_object(doc, schema, object, at)?;
    }
    if let (Some(items), Value::Array(array)) = (schema.get("items"), value) {
        for (i, item) in array.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

fn check_object(
    doc: &Value,
    schema: &Value,
    object: &serde_json::Map<String, Value>,
    at: &str,
) -> Result<(), String> {
    let empty = serde_json::Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for name in list(schema, "required").iter().filter_map(|v| v.as_str()) {
        if !object.contains_key(name) {
            return Err(format!("{at}: lacks the required {name:?}"));
        }
    }
    for (key, v) in object {
        let here = format!("{at}.{key}");
        match (properties.get(key), schema.get("additionalProperties")) {
            (Some(s), _) => check(doc, s, v, &here)?,
            (None, Some(Value::Bool(false))) => {
                return Err(format!("{here}: not a property of the schema"));
            }
            (None, Some(s @ Value::Object(_))) => check(doc, s, v, &here)?,
            (None, _) => {}
        }
    }
    Ok(())
}

fn list<'a>(schema: &'a Value, key: &str) -> &'a [Value] {
    schema
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

fn format_matches(format: &str, text: &str) -> bool {
    match format {
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        "uuid" => uuid::Uuid::parse_str(text).is_ok(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"components": {"schemas": {
            "Fields": {"type": "object", "required": ["name"],
                       "properties": {"name": {"type": "string"}}},
            "Row": {"allOf": [{"$ref": "#/components/schemas/Fields"},
                              {"type": "object", "required": ["at"], "properties": {
                                  "at": {"type": "string", "format": "date-time"},
                                  "end": {"type": ["string", "null"], "format": "date"}}}]},
            "Input": {"type": "object", "additionalProperties": false, "required": ["id"],
                      "properties": {"id": {"type": "string", "format": "uuid"},
                                     "n": {"type": "integer"},
                                     "tags": {"type": "array", "items": {"enum": ["a", "b"]}}}},
            "Either": {"oneOf": [{"type": "string"}, {"type": "number"}]},
        }}})
    }

    fn run(name: &str, value: Value) -> Result<(), String> {
        let d = doc();
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        check(&d, &schema, &value, "$")
    }

    #[test]
    fn accepts_what_fits() {
        let row = json!({"name": "x", "at": "2026-11-22T12:00:00.000000Z", "end": null, "more": 1});
        assert_eq!(run("Row", row), Ok(()));
        let input = json!({"id": "6f1c2b4e-8a51-4c3e-9a3e-2b7d2c1f0a11", "n": 3, "tags": ["b"]});
        assert_eq!(run("Input", input), Ok(()));
        assert_eq!(run("Either", json!(0.2)), Ok(()));
        assert_eq!(run("Either", json!("0.2")), Ok(()));
    }

    #[test]
    fn names_what_does_not_fit() {
        let err = |name, v| run(name, v).unwrap_err();
        assert!(err("Row", json!({"at": "2026-11-22T12:00:00Z"})).contains("\"name\""));
        assert!(err("Row", json!({"name": "x", "at": "22 Nov"})).contains("$.at"));
        assert!(
            err(
                "Row",
                json!({"name": "x", "at": "2026-11-22T12:00:00Z", "end": 5})
            )
            .contains("$.end")
        );
        let id = "6f1c2b4e-8a51-4c3e-9a3e-2b7d2c1f0a11";
        assert!(err("Input", json!({"id": id, "extra": 1})).contains("$.extra: not a property"));
        assert!(err("Input", json!({"id": "lisa"})).contains("not a uuid"));
        assert!(err("Input", json!({"id": id, "n": 1.5})).contains("$.n"));
        assert!(err("Input", json!({"id": id, "tags": ["a", "c"]})).contains("$.tags[1]"));
        assert!(err("Either", json!(true)).contains("no oneOf"));
    }

    #[test]
    fn one_of_means_exactly_one() {
        let d = json!({});
        let schema = json!({"oneOf": [{"type": "integer"}, {"type": "number"}]});
        assert!(
            check(&d, &schema, &json!(2), "$")
                .unwrap_err()
                .contains("2 oneOf")
        );
        assert_eq!(check(&d, &schema, &json!(2.5), "$"), Ok(()));
    }
}
