#!/usr/bin/env bash
# Reads `GET /api/v1/alerts/stream` of a running `hemtid serve --demo`
# with a Server-Sent Events parser nobody on the project wrote (httpx-sse)
# and validates what it hands over against the OpenAPI document: each
# event against `AlertStreamEvent`, an alert's `data` against `AlertView`,
# a reset's against `AlertStreamReset` (jsonschema, draft 2020-12, the
# document as the root for `$ref`s). Two streams: one resumed from change
# 0 (the demo's alerts replayed) and one resumed from a change that does
# not exist (a reset first). Usage: .ci/alert-stream.sh BIN
set -euo pipefail
BIN=$1
DIR=$(mktemp -d)
. "$(dirname "$0")/serve-demo.sh"
python_venv 'httpx==0.28.1' 'httpx-sse==0.4.3' 'jsonschema==4.26.0'
serve_demo
BASE="$BASE" "$DIR/venv/bin/python" - mobile-contract/openapi.json <<'PY'
import json, os, sys, time

import httpx
import jsonschema
from httpx_sse import connect_sse

base = os.environ["BASE"]
doc = json.load(open(sys.argv[1], encoding="utf-8"))


def validator(name):
    return jsonschema.Draft202012Validator(dict(doc, **{"$ref": f"#/components/schemas/{name}"}))


envelope, alert, reset = validator("AlertStreamEvent"), validator("AlertView"), validator("AlertStreamReset")
failed = 0


def check(v, value, what):
    global failed
    for e in v.iter_errors(value):
        print(f"{what}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
        failed += 1


token = httpx.post(f"{base}/api/v1/auth/login",
                   json={"username": "demo.handlaggare", "password": "hemtid-demo"}).json()["access_token"]
auth = {"Authorization": f"Bearer {token}"}
# The demo's evaluator writes its alerts shortly after start.
deadline = time.monotonic() + 120
while not httpx.get(f"{base}/api/v1/alerts", headers=auth).json()["items"]:
    assert time.monotonic() < deadline, "the demo wrote no alert in 120 s"
    time.sleep(0.2)


def read(last_event_id, want):
    """The first `want` events of a stream resumed after `last_event_id`."""
    events = []
    with httpx.Client(timeout=httpx.Timeout(30.0)) as c:
        with connect_sse(c, "GET", f"{base}/api/v1/alerts/stream",
                         headers=dict(auth, **{"Last-Event-ID": str(last_event_id)})) as s:
            ctype = s.response.headers["content-type"]
            assert s.response.status_code == 200, s.response.status_code
            assert ctype == "text/event-stream; charset=utf-8", ctype
            for ev in s.iter_sse():
                events.append(ev)
                if len(events) == want:
                    break
    return events


def validate(ev, what):
    env = {"event": ev.event, "data": ev.data, "id": ev.id or None, "retry": ev.retry}
    check(envelope, env, f"{what} envelope")
    data = json.loads(ev.data)
    check(alert if ev.event == "alert" else reset, data, f"{what} {ev.event} data")
    return data


replayed = read(0, 3)
for i, ev in enumerate(replayed):
    assert ev.event == "alert", (ev.event, ev.data)
    assert ev.id.isdigit(), ev.id
    validate(ev, f"replayed event {i}")
resumed = read(9223372036854775807, 1)[0]
assert resumed.event == "reset", (resumed.event, resumed.data)
data = validate(resumed, "event after an unknown Last-Event-ID")
assert data["reason"] == "replay_limited", data
print(f"alert stream: {len(replayed)} replayed alerts and a reset, "
      f"{failed} disagreements with the document")
sys.exit(1 if failed else 0)
PY
