#!/usr/bin/env python3
"""Validates every example payload in an AsyncAPI 3 document against its
message's payload schema (JSON Schema draft 7, the AsyncAPI schema format's
base), with the document as the root for `$ref`s. Exits 1 on any error."""
import sys

import jsonschema
import yaml

doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
checked, failed = 0, 0
for name, message in doc.get("components", {}).get("messages", {}).items():
    for example in message.get("examples", []):
        if "payload" not in example:
            print(f"{name}/{example.get('name')}: no payload")
            failed += 1
            continue
        schema = dict(doc, **{"$ref": f"#/components/messages/{name}/payload"})
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(example["payload"]))
        for e in errors:
            print(f"{name}/{example.get('name')}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
        failed += bool(errors)
        checked += 1
print(f"{sys.argv[1]}: {checked} examples checked against their schemas, {failed} failed")
sys.exit(1 if failed or checked == 0 else 0)
