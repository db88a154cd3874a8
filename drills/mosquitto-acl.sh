#!/usr/bin/env bash
# Drill: hemtid against a Mosquitto of its own that runs with the password
# and ACL files `hemtid mqtt-acl --watch` keeps current
# (use_username_as_clientid, no anonymous clients). The simulator registers
# its locks as the run starts; the watcher writes them into the files and
# has Mosquitto reload them; each lock connects as itself once it is let
# in, and every simulator check must hold.
source "$(dirname "$0")/common.sh"
PORT=$(free_port)
mkdir -p "$WORK/mosquitto"
chmod 755 "$WORK"
chmod 777 "$WORK/mosquitto"
GATEWAY_PASSWORD=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
# Not the default client id: the simulator keeps a configured one.
export HEMTID_MQTT_CLIENT_ID=drill-gateway HEMTID_MQTT_USERNAME_IS_CLIENT_ID=true
export HEMTID_MQTT_URL=mqtt://drill-gateway:$GATEWAY_PASSWORD@127.0.0.1:$PORT
FILES=(--password-file "$WORK/mosquitto/passwd" --acl-file "$WORK/mosquitto/acl")
"$BIN" migrate >/dev/null
"$BIN" mqtt-acl "${FILES[@]}"
cat > "$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous false
password_file $WORK/mosquitto/passwd
acl_file $WORK/mosquitto/acl
use_username_as_clientid true
max_packet_size 17408
persistence false
pid_file $WORK/mosquitto/mosquitto.pid
# Started as root it would read the files as user mosquitto after a reload.
user root
CONF
mosquitto -d -c "$WORK/mosquitto.conf"
wait_port "$PORT"
"$BIN" mqtt-acl "${FILES[@]}" --watch --every 1 \
  --reload-command "kill -HUP \$(cat $WORK/mosquitto/mosquitto.pid)" >"$WORK/mqtt-acl.log" 2>&1 &
CHILDREN+=("$!")
say "Mosquitto on port $PORT with hemtid's files, kept current by hemtid mqtt-acl --watch"
status=0
simulate --phone-percent 0 || status=$?
rewrites=$(grep -c '^wrote' "$WORK/mqtt-acl.log" || true)
say "hemtid mqtt-acl rewrote the files $rewrites times"
if [ "$status" -eq 0 ] && [ "$rewrites" -lt 1 ]; then
  say "the locks were never written into the files: nothing was tested"
  status=1
fi
if [ "$status" -eq 0 ]; then say "PASSED"; else say "FAILED (work folder $WORK kept)"; fi
exit "$status"
