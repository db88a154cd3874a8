#!/usr/bin/env bash
# Drill: the broker (Mosquitto with persistence) is stopped and started
# again while locks and phones work against `hemtid serve`. The gateway
# and the locks reconnect; the persistent session keeps what the gateway
# had not acked; every event is stored once.
source "$(dirname "$0")/common.sh"
PORT=$(free_port)
start_mosquitto "$PORT"
export HEMTID_MQTT_URL=mqtt://127.0.0.1:$PORT HEMTID_MQTT_CLIENT_ID=drill-broker
start_serve
start_simulation --api "$API" --mqtt "$HEMTID_MQTT_URL"
wait_stored $(( CLIENTS * DAYS / 5 + 100 ))
say "$(stored_events) events stored; stopping the broker"
stop_mosquitto
sleep "${DRILL_OUTAGE:-5}"
start_mosquitto "$PORT"
say "broker started again"
finish_simulation
