#!/usr/bin/env bash
# Starts `hemtid serve --demo` on a scratch data folder, makes a few
# requests (signed in and not, a made-up method), and has Prometheus'
# promtool check what /metrics says. Usage: .ci/check-metrics.sh BIN
set -euo pipefail
BIN=$1
DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HEMTID_DATA_DIR="$DIR" HEMTID_HTTP_ADDR="127.0.0.1:$PORT" HEMTID_MQTT_LISTEN="127.0.0.1:0" \
  "$BIN" serve --demo --bare >"$DIR/serve.out" 2>"$DIR/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$BASE/readyz" >/dev/null
TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"username":"demo.handlaggare","password":"hemtid-demo"}' "$BASE/api/v1/auth/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/alerts" >/dev/null
curl -sS -o /dev/null "$BASE/api/v1/me" || true
curl -sS -o /dev/null -X MADEUP "$BASE/api/v1/me" || true
curl -fsS "$BASE/metrics" >"$DIR/metrics.txt"
echo "$(grep -vc '^#' "$DIR/metrics.txt") samples"
promtool check metrics <"$DIR/metrics.txt"
