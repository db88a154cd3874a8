#!/usr/bin/env bash
# Drill: the disk under hemtid's SQLite file fills up mid-run (a tmpfs
# shrunk to what is in use), and gets room again 15 seconds later. Writes
# fail as "database or disk is full" and are retried: nothing is acked or
# answered as stored that was not, and afterwards everything is stored
# once. Needs root (mount).
source "$(dirname "$0")/common.sh"
mount -t tmpfs -o size=2g tmpfs "$HEMTID_DATA_DIR"
MQTT_PORT=$(free_port)
export HEMTID_MQTT_LISTEN=127.0.0.1:$MQTT_PORT
start_serve
start_simulation --api "$API" --mqtt "mqtt://127.0.0.1:$MQTT_PORT"
wait_stored $(( CLIENTS * DAYS / 5 + 100 ))
used=$(du -sk "$HEMTID_DATA_DIR" | cut -f1)
mount -o remount,size=$(( used + 256 ))k "$HEMTID_DATA_DIR"
before=$(stored_events)
say "$before events stored; the disk now holds $(( used + 256 )) KiB ($used in use)"
for _ in $(seq 1 60); do
  grep -q 'disk is full' "$WORK/serve.log" && break
  sleep 0.5
done
if ! grep -q 'disk is full' "$WORK/serve.log"; then
  say "FAILED: the disk never filled"
  exit 1
fi
say "the disk is full; room again in ${DRILL_OUTAGE:-15} s"
sleep "${DRILL_OUTAGE:-15}"
mount -o remount,size=2g "$HEMTID_DATA_DIR"
say "room again; events stored while full: $(( $(stored_events) - before ))"
status=0
finish_simulation || status=$?
say "'disk is full' errors logged: $(grep -c 'disk is full' "$WORK/serve.log" || true)"
kill -TERM "$SERVE_PID" 2>/dev/null || true
wait "$SERVE_PID" 2>/dev/null || true
exit "$status"
