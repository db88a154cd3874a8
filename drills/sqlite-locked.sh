#!/usr/bin/env bash
# Drill: another process holds SQLite's write lock for 20 seconds while
# locks and phones work against `hemtid serve` on its SQLite file. Writes
# wait (busy timeout), fail as "database is locked" and are retried: the
# gateway acks nothing it has not committed, the phones are told 503 and
# retry; afterwards everything is stored once.
source "$(dirname "$0")/common.sh"
MQTT_PORT=$(free_port)
export HEMTID_MQTT_LISTEN=127.0.0.1:$MQTT_PORT
start_serve
start_simulation --api "$API" --mqtt "mqtt://127.0.0.1:$MQTT_PORT"
wait_stored $(( CLIENTS * DAYS / 5 + 100 ))
before=$(stored_events)
say "$before events stored; locking the database for ${DRILL_OUTAGE:-20} s"
python3 - "$HEMTID_DATA_DIR/hemtid.sqlite3" "${DRILL_OUTAGE:-20}" <<'PY'
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
time.sleep(float(sys.argv[2]))
con.execute("ROLLBACK")
PY
say "lock released; events stored meanwhile: $(( $(stored_events) - before ))"
status=0
finish_simulation || status=$?
say "'database is locked' retries logged: $(grep -c 'database is locked' "$WORK/serve.log" || true)"
exit "$status"
