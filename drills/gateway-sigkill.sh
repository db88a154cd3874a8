#!/usr/bin/env bash
# Drill: `hemtid gateway` (against its own Mosquitto with persistence) is
# killed with SIGKILL every 2–5 seconds and started again while the locks
# of a simulated municipality send their events. Every event must be
# stored once: the broker redelivers what the gateway had not acked
# (persistent session), the locks re-send what was not receipted, and the
# event id drops the duplicates.
source "$(dirname "$0")/common.sh"
PORT=$(free_port)
start_mosquitto "$PORT"
export HEMTID_MQTT_URL=mqtt://127.0.0.1:$PORT HEMTID_MQTT_CLIENT_ID=drill-gateway
# The gateway's /healthz, /readyz and /metrics on a free port.
export HEMTID_HTTP_ADDR=127.0.0.1:0
"$BIN" migrate >/dev/null
(
  while :; do
    "$BIN" gateway >>"$WORK/gateway.log" 2>&1 &
    echo $! >"$WORK/gateway.pid"
    sleep $(( 2 + RANDOM % 4 ))
    kill -9 "$(cat "$WORK/gateway.pid")" 2>/dev/null || true
    wait "$(cat "$WORK/gateway.pid")" 2>/dev/null || true
    echo kill >>"$WORK/kills"
  done
) &
KILLER=$!
CHILDREN+=("$KILLER")
say "gateway killed with SIGKILL every 2-5 s from now"
status=0
simulate --phone-percent 0 --mqtt "$HEMTID_MQTT_URL" || status=$?
kill "$KILLER" 2>/dev/null || true
kill -9 "$(cat "$WORK/gateway.pid")" 2>/dev/null || true
kills=$(wc -l <"$WORK/kills" 2>/dev/null || echo 0)
say "the gateway was killed $kills times during the run"
# A run over before the first kill tested nothing.
if [ "$status" -eq 0 ] && [ "$kills" -eq 0 ]; then
  say "the run ended before the first kill: nothing was tested"
  status=1
fi
if [ "$status" -eq 0 ]; then say "PASSED"; else say "FAILED (work folder $WORK kept)"; fi
exit "$status"
