#!/usr/bin/env bash
# Starts `hemtid serve --demo` on a scratch data folder, makes a few
# requests (signed in and not, a made-up method), and has Prometheus'
# promtool check what /metrics says. Usage: .ci/check-metrics.sh BIN
set -euo pipefail
BIN=$1
DIR=$(mktemp -d)
. "$(dirname "$0")/serve-demo.sh"
serve_demo --bare
TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"username":"demo.handlaggare","password":"hemtid-demo"}' "$BASE/api/v1/auth/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/alerts" >/dev/null
curl -sS -o /dev/null "$BASE/api/v1/me" || true
curl -sS -o /dev/null -X MADEUP "$BASE/api/v1/me" || true
curl -fsS "$BASE/metrics" >"$DIR/metrics.txt"
echo "$(grep -vc '^#' "$DIR/metrics.txt") samples"
promtool check metrics <"$DIR/metrics.txt"
