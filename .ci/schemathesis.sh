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
. "$(dirname "$0")/serve-demo.sh"
python_venv 'schemathesis==4.32.5'
serve_demo
token() {
  curl -fsS -X POST "$BASE/api/v1/auth/login" \
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
    --url "$BASE" \
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
