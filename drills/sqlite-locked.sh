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
# The lock holder marks when it has the lock and when it is about to let
# go, so the events stored while it was held are counted apart from those
# stored before it got the lock and after.
python3 - "$HEMTID_DATA_DIR/hemtid.sqlite3" "${DRILL_OUTAGE:-20}" "$WORK" <<'PY' &
import sqlite3, sys, time, pathlib
con = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
work = pathlib.Path(sys.argv[3])
(work / "locked").touch()
time.sleep(float(sys.argv[2]) - 1)
(work / "releasing").touch()
time.sleep(1)
con.execute("ROLLBACK")
PY
holder=$!
until [ -e "$WORK/locked" ]; do sleep 0.05; done
at_lock=$(stored_events)
say "database locked ($(( at_lock - before )) events stored while waiting for the lock)"
until [ -e "$WORK/releasing" ]; do sleep 0.05; done
while_locked=$(( $(stored_events) - at_lock ))
wait "$holder"
say "lock released; events stored while it was held: $while_locked"
status=0
finish_simulation || status=$?
say "'database is locked' retries logged: $(grep -c 'database is locked' "$WORK/serve.log" || true)"
exit "$status"
