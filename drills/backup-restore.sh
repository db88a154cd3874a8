#!/usr/bin/env bash
# Drill: `hemtid backup` while the locks and phones of a simulated
# municipality write into a serving hemtid on SQLite. The simulator's
# checks must hold afterwards; the copy, restored into a fresh data folder,
# must hold every table's rows as counted in the backup (restore compares
# them: clients, orders, visits, figures and the rest), its hash chains
# must verify, and it must start and answer /readyz.
source "$(dirname "$0")/common.sh"
MQTT_PORT=$(free_port)
export HEMTID_MQTT_LISTEN=127.0.0.1:$MQTT_PORT
start_serve
start_simulation --api "$API" --mqtt "mqtt://127.0.0.1:$MQTT_PORT"
wait_stored $(( CLIENTS * DAYS / 5 + 100 ))
before=$(stored_events)
say "$before events stored; backing up while the simulation runs"
"$BIN" backup --to "$WORK/backup.tar" | tee "$WORK/backup.log"
during=$(( $(stored_events) - before ))
say "events stored while the backup ran: $during"
status=0
finish_simulation || status=$?
[ "$status" -eq 0 ] || exit "$status"

RESTORED=$WORK/restored
restored() {
  HEMTID_DATA_DIR=$RESTORED HEMTID_DATABASE_URL="sqlite://$RESTORED/hemtid.sqlite3" "$BIN" "$@"
}
say "restoring into a fresh data folder"
restored restore --from "$WORK/backup.tar" | tee "$WORK/restore.log"
grep -q "every table's rows as in the backup" "$WORK/restore.log" || {
  say "FAILED: the restored rows were not compared"; exit 1; }
restored verify-logs
http=$(free_port)
# The binary itself in the background, not the function: $! must be
# hemtid's pid for the cleanup to stop it (a function's subshell killed
# left hemtid serving after the drill).
HEMTID_HTTP_ADDR=127.0.0.1:$http HEMTID_MQTT_LISTEN=127.0.0.1:$(free_port) \
  HEMTID_DATA_DIR=$RESTORED HEMTID_DATABASE_URL="sqlite://$RESTORED/hemtid.sqlite3" \
  "$BIN" serve >>"$WORK/restored-serve.log" 2>&1 &
CHILDREN+=("$!")
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
if curl -fsS "http://127.0.0.1:$http/readyz" >/dev/null; then
  say "PASSED: the restored copy starts and is ready"
else
  say "FAILED: the restored copy is not ready (work folder $WORK kept)"
  tail -n 30 "$WORK/restored-serve.log"
  exit 1
fi
