# Sourced by the CI scripts that need a running hemtid. With BIN and DIR
# (a scratch folder) set:
#   python_venv PKG...   a virtualenv in $DIR/venv with the pinned packages
#   serve_demo [ARG...]  starts `$BIN serve --demo ARG...` on a data folder
#                        in $DIR and free loopback ports, stops it and
#                        removes $DIR on exit, and waits (60 s at most)
#                        until /readyz answers; sets PORT and BASE. Its
#                        log is $DIR/serve.log.

python_venv() {
  python3 -m venv "$DIR/venv"
  "$DIR/venv/bin/pip" install --quiet --disable-pip-version-check "$@"
}

serve_demo() {
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  BASE="http://127.0.0.1:$PORT"
  HEMTID_DATA_DIR="$DIR/data" HEMTID_HTTP_ADDR="127.0.0.1:$PORT" HEMTID_MQTT_LISTEN="127.0.0.1:0" \
    "$BIN" serve --demo "$@" >"$DIR/serve.out" 2>"$DIR/serve.log" &
  SERVE_PID=$!
  trap 'kill $SERVE_PID 2>/dev/null || true; wait $SERVE_PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
  for _ in $(seq 1 600); do
    curl -fsS "$BASE/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  curl -fsS "$BASE/readyz" >/dev/null
}
