#!/usr/bin/env bash
# Generates a Python client from mobile-contract/openapi.json with
# openapi-python-client (which skipped endpoints whose parameters the
# document misplaced) and signs in, reads /me/clients and lists dead
# letters with a query parameter against a running `hemtid serve --demo`.
# Usage: .ci/generated-client.sh BIN
set -euo pipefail
BIN=$1
DIR=$(mktemp -d)
. "$(dirname "$0")/serve-demo.sh"
python_venv 'openapi-python-client==0.29.1'
# Every operation must come through: the generator warns of each it skips.
# No post hooks: they format the code with ruff, which is not needed here.
# The generator takes request bodies only of the content types it knows;
# its documented content_type_overrides has it send the plans' CSV file
# (text/csv, a binary string) as it sends any file.
printf 'post_hooks: []\ncontent_type_overrides:\n  text/csv: application/octet-stream\n' >"$DIR/config.yaml"
"$DIR/venv/bin/openapi-python-client" generate --path mobile-contract/openapi.json \
  --config "$DIR/config.yaml" --output-path "$DIR/gen/hemtid_client" --meta none \
  >"$DIR/generate.log" 2>&1 || {
  cat "$DIR/generate.log"; exit 1; }
if grep -Eiq 'warning|error|unable|skipp' "$DIR/generate.log"; then
  cat "$DIR/generate.log"
  echo "openapi-python-client did not take the whole document" >&2
  exit 1
fi
serve_demo --bare
cd "$DIR/gen"
BASE="$BASE" "$DIR/venv/bin/python" - <<'PY'
import os
from hemtid_client import AuthenticatedClient, Client
from hemtid_client.api.auth import login
from hemtid_client.api.devices import list_dead_letters
from hemtid_client.api.phone import my_clients
from hemtid_client.api.integration import list_providers
from hemtid_client.api.provider import post_plans_csv
from hemtid_client.models import LoginRequest, PlansStored, TokenResponse
from hemtid_client.types import File
import io

base = os.environ["BASE"]
def sign_in(user):
    t = login.sync(client=Client(base_url=base), body=LoginRequest(username=user, password="hemtid-demo"))
    assert isinstance(t, TokenResponse), t
    return AuthenticatedClient(base_url=base, token=t.access_token)

anna = sign_in("demo.anna")
r = my_clients.sync_detailed(client=anna)
assert r.status_code == 200 and r.parsed is not None, (r.status_code, r.content[:300])
print(f"/me/clients through the generated client: {len(r.parsed.items)} clients today")
admin = sign_in("demo.admin")
r = list_dead_letters.sync_detailed(client=admin, limit=5)
assert r.status_code == 200 and r.parsed is not None, (r.status_code, r.content[:300])
print(f"/dead-letters?limit=5 through the generated client: {len(r.parsed.items)} dead letters")
# A spreadsheet's plan file (the header alone: nothing to store) posted
# as text/csv through the generated client.
providers = list_providers.sync_detailed(client=admin)
assert providers.status_code == 200, (providers.status_code, providers.content[:300])
provider = providers.parsed.items[0].id
csv = "planner_ref;client_id;date;earliest_start;latest_start;expected_minutes\n".encode()
r = post_plans_csv.sync_detailed(id=provider, client=admin, body=File(payload=io.BytesIO(csv)))
assert r.status_code == 200 and isinstance(r.parsed, PlansStored), (r.status_code, r.content[:300])
print(f"a plan file through the generated client: {r.parsed.created} created")
PY
