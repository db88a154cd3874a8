#!/usr/bin/env bash
# Schemathesis (property-based tests from mobile-contract/openapi.json)
# against a running `hemtid serve --demo`, signed in as each kind of user
# in turn: every operation with its documented examples and generated
# data, failing on a server error (5xx), an undocumented status code, a
# wrong content type, a response that does not match its schema, or a
# request that matches the document refused (positive_data_acceptance;
# .ci/schemathesis_hooks.py names the few rules no schema can state).
# A fixed seed keeps CI repeatable. Usage: .ci/schemathesis.sh BIN
set -euo pipefail
BIN=$1
EXAMPLES=${HEMTID_SCHEMATHESIS_EXAMPLES:-5}
SEED=${HEMTID_SCHEMATHESIS_SEED:-20261204}
DIR=$(mktemp -d)
python3 -m venv "$DIR/venv"
"$DIR/venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HEMTID_DATA_DIR="$DIR/data" HEMTID_HTTP_ADDR="127.0.0.1:$PORT" HEMTID_MQTT_LISTEN="127.0.0.1:0" \
  "$BIN" serve --demo >"$DIR/serve.out" 2>"$DIR/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 1 600); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null
token() {
  curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/auth/login" \
    -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"hemtid-demo\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
failed=0
for user in demo.admin demo.handlaggare demo.chef.jakobsberg demo.anna; do
  echo "--- schemathesis signed in as $user"
  # Signing out and ending sessions would end the run's own sign-in.
  if ! SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$PWD/.ci" \
    "$DIR/venv/bin/st" run mobile-contract/openapi.json \
    --url "http://127.0.0.1:$PORT" \
    -H "Authorization: Bearer $(token "$user")" \
    --max-examples "$EXAMPLES" --seed "$SEED" \
    --phases examples,fuzzing \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,positive_data_acceptance \
    --exclude-path-regex 'auth/logout|sessions/end' \
    --request-timeout 10 --no-color >"$DIR/st-$user.log" 2>&1; then
    failed=1
    sed -n '/FAILURES/,$p' "$DIR/st-$user.log" | head -n 200
  fi
  grep -E '^(Test cases:|  [0-9]+ generated)|passed|failures?,|dropped' "$DIR/st-$user.log" | tail -n 4 || true
done
if grep -q 'panicked' "$DIR/serve.log"; then
  grep -B2 -A10 'panicked' "$DIR/serve.log" | head -n 60
  failed=1
fi
exit "$failed"
