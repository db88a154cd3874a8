# Shared by the fault drills (sourced). Each drill runs `hemtid simulate`
# against hemtid while a fault is injected, and passes only if every
# check of the simulator holds afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${HEMTID_BIN:-target/release/hemtid}
if [ ! -x "$BIN" ]; then
  echo "no $BIN: build it first (cargo build --release) or set HEMTID_BIN" >&2
  exit 2
fi
BIN=$(realpath "$BIN")
# About 100,000 lock events with the defaults; CI runs smaller.
CLIENTS=${DRILL_CLIENTS:-2000}
DAYS=${DRILL_DAYS:-11}
WORK=$(mktemp -d /tmp/hemtid-drill.XXXXXX)
export HEMTID_DATA_DIR=$WORK/data HEMTID_LOG=${HEMTID_LOG:-warn}
mkdir -p "$HEMTID_DATA_DIR"
CHILDREN=()

cleanup() {
  local status=$?
  for p in "${CHILDREN[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -f "$WORK/mosquitto/mosquitto.pid" ]; then
    # Mosquitto writes its persistence file as it stops: wait for it (up to
    # 10 s) before removing the folder, or `rm -rf` races it and fails.
    local mpid
    mpid=$(cat "$WORK/mosquitto/mosquitto.pid")
    kill "$mpid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
  fi
  if mountpoint -q "$WORK/data" 2>/dev/null; then umount "$WORK/data" || true; fi
  [ "$status" -eq 0 ] && rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

say() { printf '[drill %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nothing listens on, below Linux's ephemeral range (32768-60999,
# where outgoing connections take theirs: a port picked there was once
# taken by one before serve could bind it), and never one this drill has
# handed out already (called in $(...), so remembered in a file).
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 12000 ))
    grep -qx "$p" "$WORK/ports" 2>/dev/null && continue
    port_free "$p" && { echo "$p" >>"$WORK/ports"; echo "$p"; return; }
  done
}

wait_port() {
  for _ in $(seq 1 100); do port_free "$1" || return 0; sleep 0.1; done
  echo "nothing listens on port $1" >&2
  return 1
}

# A Mosquitto of the drill's own, with persistence and large queues.
start_mosquitto() {
  local port=$1
  # Mosquitto started as root runs as user mosquitto: its folder is open.
  mkdir -p "$WORK/mosquitto"
  chmod 755 "$WORK"
  chmod 777 "$WORK/mosquitto"
  cat > "$WORK/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $WORK/mosquitto/
autosave_interval 5
max_queued_messages 1000000
max_inflight_messages 1000
pid_file $WORK/mosquitto/mosquitto.pid
CONF
  mosquitto -d -c "$WORK/mosquitto.conf"
  wait_port "$port"
}

stop_mosquitto() {
  local pid
  pid=$(cat "$WORK/mosquitto/mosquitto.pid")
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

# `hemtid serve` in the background on fixed ports; sets SERVE_PID and API.
start_serve() {
  local http
  http=$(free_port)
  # Every simulated lock connects from the loopback address.
  HEMTID_HTTP_ADDR=127.0.0.1:$http HEMTID_MQTT_MAX_CONNECTIONS_PER_ADDRESS=100000 \
    "$BIN" serve >>"$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
  CHILDREN+=("$SERVE_PID")
  API=http://127.0.0.1:$http
  for _ in $(seq 1 300); do
    curl -fsS "$API/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "hemtid serve did not start; its log:" >&2
  tail -n 30 "$WORK/serve.log" >&2
  return 1
}

# The simulator; its report goes to the terminal and to $WORK/simulate.log.
# The locks send at a pace that spreads their events over about half a
# minute (DRILL_RATE events/s in all), so the fault falls inside the run:
# as fast as they can, 2,000 events took a second, over before any fault.
simulate() {
  "$BIN" simulate --clients "$CLIENTS" --days "$DAYS" --timeout "${DRILL_TIMEOUT:-900}" \
    --rate "${DRILL_RATE:-$(( CLIENTS * DAYS / 6 + 10 ))}" "$@" \
    2> >(grep -v -e rumqttd -e 'phone error' >&2) | tee "$WORK/simulate.log"
  return "${PIPESTATUS[0]}"
}

# Lock events this hemtid serve has stored since it started (its /metrics).
stored_events() {
  curl -fsS "$API/metrics" 2>/dev/null | awk '/^hemtid_device_events_total\{outcome="stored"\}/ {print $2; exit}' || true
}

# Waits until serve has stored at least $1 lock events.
wait_stored() {
  for _ in $(seq 1 1200); do
    local n
    n=$(stored_events)
    [ "${n:-0}" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "serve stored fewer than $1 events in two minutes" >&2
  return 1
}

# Runs the simulator in the background; `finish_simulation` waits for it.
start_simulation() {
  simulate "$@" &
  SIM_PID=$!
}

finish_simulation() {
  if wait "$SIM_PID"; then
    say "PASSED: every simulator check holds after the fault"
  else
    say "FAILED: see the checks above (work folder $WORK kept)"
    return 1
  fi
}
