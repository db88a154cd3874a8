#!/usr/bin/env bash
# Installs the Debian package built by `cargo deb` on this machine and
# checks what it promises: the hemtid user, the data folder and the
# configuration's owners and modes, the unit (systemd-analyze verify), and
# the unit's own command line started as the packaged user with the
# packaged configuration: ready, a municipality bootstrapped and signed in
# to, the files it made private, a graceful stop on SIGTERM; then removal
# and purge, which keep the personal data. Needs root (CI runs as root).
# systemd need not run here: the unit's command line is run directly, with
# the unit's user, umask and working directory.
#
#   packaging/check-deb.sh target/debian/hemtid_0.1.0-1_amd64.deb
set -euo pipefail

DEB=${1:?usage: packaging/check-deb.sh FILE.deb}
UNIT=/lib/systemd/system/hemtid.service
CONF=/etc/hemtid/hemtid.toml
# Ports of their own (below the ephemeral range): the machine's Mosquitto
# may hold 1883, a developer's hemtid 8080.
HTTP_PORT=${CHECK_DEB_HTTP_PORT:-28480}
MQTT_PORT=${CHECK_DEB_MQTT_PORT:-28483}
LOG=$(mktemp)
pid=

say() { printf '[deb] %s\n' "$*"; }
fail() {
  printf '[deb] FAILED: %s\n' "$*" >&2
  if [ -s "$LOG" ]; then echo "--- the packaged hemtid's output:" >&2; tail -n 40 "$LOG" >&2; fi
  exit 1
}
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$LOG"
}
trap cleanup EXIT

# owner:group mode of a path, e.g. "hemtid:hemtid 700".
perms() { stat -c '%U:%G %a' "$1"; }
expect_perms() {
  local got
  got=$(perms "$1")
  [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
  say "$1 $got"
}

[ "$(id -u)" = 0 ] || fail "run as root (dpkg -i and setpriv)"
if dpkg -s hemtid >/dev/null 2>&1; then dpkg -P hemtid >/dev/null; fi

say "dpkg -i $(basename "$DEB")"
dpkg -i "$DEB"
dpkg -s hemtid | grep -E '^(Version|Depends):' | sed 's/^/[deb] /'

getent passwd hemtid >/dev/null || fail "no hemtid user"
shell=$(getent passwd hemtid | cut -d: -f7)
case "$shell" in */nologin|/bin/false) ;; *) fail "the hemtid user has a login shell: $shell" ;; esac
say "user hemtid ($(id hemtid)), shell $shell"
expect_perms /var/lib/hemtid "hemtid:hemtid 700"
expect_perms /var/backups/hemtid "hemtid:hemtid 700"
expect_perms /etc/hemtid "root:hemtid 750"
expect_perms "$CONF" "root:hemtid 640"
expect_perms /usr/bin/hemtid "root:root 755"
grep -qx "$CONF" /var/lib/dpkg/info/hemtid.conffiles || fail "$CONF is not a conffile"
/usr/bin/hemtid --version

if command -v systemd-analyze >/dev/null; then
  # --man=no: the Documentation= link is a file, not a man page.
  systemd-analyze verify --man=no "$UNIT" || fail "systemd-analyze verify $UNIT"
  say "systemd-analyze verify: no findings"
  # systemd's own exposure score of the unit's sandbox (0 is locked
  # down, 10 is none at all); above 2.0 fails.
  systemd-analyze security --offline=true --threshold=20 --no-pager "$UNIT" >"$LOG.security" 2>&1 ||
    { tail -n 30 "$LOG.security" >&2; fail "the unit's exposure is above 2.0"; }
  say "systemd-analyze security: $(tail -n 1 "$LOG.security" | sed 's/^→ //')"
  rm -f "$LOG.security"
else
  say "systemd-analyze is not installed here: the unit is not verified"
fi
for setting in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
  ReadWritePaths=/var/lib/hemtid User=hemtid UMask=0077 KillSignal=SIGTERM; do
  grep -qx "$setting" "$UNIT" || fail "$UNIT lacks $setting"
done
grep -q '^LimitNOFILE=' "$UNIT" || fail "$UNIT does not raise LimitNOFILE"

# The unit's command line, its user, umask and working directory.
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
[ -n "$exec_start" ] || fail "no ExecStart in $UNIT"
say "starting the unit's command line as hemtid: $exec_start"
read -r -a command <<<"$exec_start"
(
  cd /var/lib/hemtid
  umask 0077
  # setpriv execs (no process in between, as under systemd), so $pid is
  # hemtid itself and receives the SIGTERM below the way systemd sends it.
  exec setpriv --reuid=hemtid --regid=hemtid --init-groups --no-new-privs -- \
    env HEMTID_HTTP_ADDR="127.0.0.1:$HTTP_PORT" HEMTID_MQTT_LISTEN="127.0.0.1:$MQTT_PORT" \
    "${command[@]}"
) >"$LOG" 2>&1 &
pid=$!

base="http://127.0.0.1:$HTTP_PORT"
deadline=$((SECONDS + 90))
until curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || fail "the packaged hemtid exited before it was ready"
  [ "$SECONDS" -lt "$deadline" ] || fail "not ready within 90 s"
  sleep 0.2
done
say "ready: $base/readyz answers 200"
user=$(ps -o user= -p "$pid" | tr -d ' ')
[ "$user" = hemtid ] || fail "hemtid runs as $user"
say "the process runs as $user"

# What it made in the data folder is its own and private.
for f in hemtid.sqlite3 jwt-secret; do
  [ -e "/var/lib/hemtid/$f" ] || fail "no /var/lib/hemtid/$f"
  expect_perms "/var/lib/hemtid/$f" "hemtid:hemtid 600"
done

# A municipality, as the README tells an administrator, then a sign-in.
out=$(runuser -u hemtid -- /usr/bin/hemtid --config "$CONF" bootstrap \
  --municipality-code 0999 --municipality-name "Paketkommunen")
# "admin login: USERNAME / PASSWORD  (shown once; …)"
read -r login password <<<"$(printf '%s\n' "$out" | sed -n 's|^admin login: \([^ ]*\) / \([^ ]*\) .*|\1 \2|p')"

[ -n "$login" ] && [ -n "$password" ] || fail "bootstrap printed no login and password"
status=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/auth/login" \
  -H 'content-type: application/json' \
  -d "{\"username\":\"$login\",\"password\":\"$password\"}")
[ "$status" = 200 ] || fail "the bootstrapped admin's sign-in answered $status"
say "bootstrapped a municipality; its admin signs in (200)"
for f in /var/lib/hemtid/*; do
  owner=$(stat -c %U "$f")
  [ "$owner" = hemtid ] || fail "$f belongs to $owner"
done

say "SIGTERM"
kill -TERM "$pid"
deadline=$((SECONDS + 30))
while kill -0 "$pid" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "still running 30 s after SIGTERM (the unit's TimeoutStopSec)"
  sleep 0.2
done
if wait "$pid"; then code=0; else code=$?; fi
pid=
[ "$code" = 0 ] || fail "exit status $code after SIGTERM"
grep -q 'stopped' "$LOG" || fail "no 'stopped' in the log after SIGTERM"
say "stopped gracefully (exit 0)"

dpkg -r hemtid >/dev/null
[ ! -e /usr/bin/hemtid ] || fail "/usr/bin/hemtid is still there after dpkg -r"
[ -e "$CONF" ] || fail "dpkg -r removed the configuration"
dpkg -P hemtid >/dev/null 2>&1
[ ! -e "$CONF" ] || fail "dpkg -P kept $CONF"
[ -e /var/lib/hemtid/hemtid.sqlite3 ] || fail "dpkg -P deleted the database"
say "removed and purged: binary and configuration gone, /var/lib/hemtid kept"
rm -rf /var/lib/hemtid /var/backups/hemtid
say "all checks passed"
