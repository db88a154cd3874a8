#!/usr/bin/env bash
# A PostgreSQL cluster of its own that speaks TLS only, with a CA and a
# server certificate made here (openssl), for the sslmode=verify-full
# test: `.ci/postgres-tls.sh start DIR` makes DIR/ca.pem, DIR/other-ca.pem
# (a CA the server's certificate is not from) and the cluster `hemtidtls`
# on port 5433 (localhost only: the certificate names localhost, not
# 127.0.0.1), and prints the URL; `.ci/postgres-tls.sh stop` drops the
# cluster. The machine's own cluster is left as it is.
set -euo pipefail

PORT=${HEMTID_CI_PG_TLS_PORT:-5433}
NAME=hemtidtls

version() { ls /usr/lib/postgresql | sort -V | tail -n 1; }

stop() {
  if pg_lsclusters -h 2>/dev/null | awk '{print $2}' | grep -qx "$NAME"; then
    pg_dropcluster --stop "$(version)" "$NAME"
  fi
}

start() {
  local dir=$1 v
  v=$(version)
  stop
  mkdir -p "$dir"
  chmod 755 "$dir"
  # The CA, and the server's certificate for localhost signed by it.
  openssl req -x509 -new -nodes -newkey rsa:2048 -days 2 -subj "/CN=hemtid CI CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -x509 -new -nodes -newkey rsa:2048 -days 2 -subj "/CN=elsewhere CA" \
    -keyout "$dir/other-ca.key" -out "$dir/other-ca.pem" 2>/dev/null
  openssl req -new -nodes -newkey rsa:2048 -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\n' >"$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null
  chmod 644 "$dir/ca.pem" "$dir/other-ca.pem"
  chown postgres:postgres "$dir/server.key" "$dir/server.pem"
  chmod 600 "$dir/server.key"

  pg_createcluster "$v" "$NAME" -p "$PORT" >/dev/null -- --auth-local=peer --auth-host=reject
  local conf=/etc/postgresql/$v/$NAME
  cat >>"$conf/postgresql.conf" <<EOF
listen_addresses = 'localhost'
ssl = on
ssl_cert_file = '$dir/server.pem'
ssl_key_file = '$dir/server.key'
ssl_min_protocol_version = 'TLSv1.2'
EOF
  # TLS or nothing: no plain host line at all.
  cat >"$conf/pg_hba.conf" <<EOF
local   all all          peer
hostssl all all 127.0.0.1/32 trust
hostssl all all ::1/128      trust
EOF
  pg_ctlcluster --skip-systemctl-redirect "$v" "$NAME" start
  for _ in $(seq 1 60); do pg_isready -q -h localhost -p "$PORT" && break; sleep 0.5; done
  runuser -u postgres -- createdb -p "$PORT" hemtid_tls
  echo "postgres://postgres@localhost:$PORT/hemtid_tls?sslmode=verify-full&sslrootcert=$dir/ca.pem"
}

case "${1:-}" in
  start) start "${2:?usage: .ci/postgres-tls.sh start DIR}" ;;
  stop) stop ;;
  *) echo "usage: .ci/postgres-tls.sh start DIR | stop" >&2; exit 2 ;;
esac
