#!/usr/bin/env bash
# Drill: PostgreSQL is stopped for 30 seconds while locks and phones work
# against `hemtid serve`. The gateway stops acking and retries with
# backoff, /readyz says not ready, the phones are told 503 and retry, and
# after PostgreSQL is back everything is stored once.
# Needs a local cluster run by pg_ctlcluster and HEMTID_DRILL_PG_URL
# (default postgres://postgres@127.0.0.1:5432/test) to make a database on.
source "$(dirname "$0")/common.sh"
ADMIN=${HEMTID_DRILL_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
DB=hemtid_drill_$$
psql "$ADMIN" -qc "CREATE DATABASE $DB"
export HEMTID_DATABASE_URL=${ADMIN%/*}/$DB
drop_db() { psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true; }
MQTT_PORT=$(free_port)
export HEMTID_MQTT_LISTEN=127.0.0.1:$MQTT_PORT
start_serve
start_simulation --api "$API" --mqtt "mqtt://127.0.0.1:$MQTT_PORT"
wait_stored $(( CLIENTS * DAYS / 5 + 100 ))
VERSION=$(ls /etc/postgresql | sort -V | tail -n 1)
before=$(stored_events)
say "$before events stored; stopping PostgreSQL for ${DRILL_OUTAGE:-30} s"
pg_ctlcluster --skip-systemctl-redirect "$VERSION" main stop -m fast
not_ready=0
polls=0
end=$(( SECONDS + ${DRILL_OUTAGE:-30} ))
while [ "$SECONDS" -lt "$end" ]; do
  code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$API/readyz" || true)
  polls=$((polls + 1))
  [ "$code" = 503 ] && not_ready=$((not_ready + 1))
  sleep 1
done
during=$(stored_events)
pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start
say "PostgreSQL started again; /readyz answered 503 to $not_ready of $polls polls; events stored during the outage: $(( during - before ))"
status=0
finish_simulation || status=$?
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/readyz" || true)
say "/readyz after: $code; retries logged by the gateway: $(grep -c 'could not store a batch; retrying' "$WORK/serve.log" || true)"
kill -TERM "$SERVE_PID" 2>/dev/null || true
wait "$SERVE_PID" 2>/dev/null || true
drop_db
[ "$not_ready" -gt 0 ] || { say "FAILED: /readyz never said not ready"; exit 1; }
exit "$status"
