#!/usr/bin/env bash
# Checks the published test vectors with OpenSSL, which hemtid did not
# write: the HMAC-SHA256 event signatures and the Ed25519 signature of the
# lock configuration. CI runs it; a lock vendor can too.
set -euo pipefail
cd "$(dirname "$0")"
command -v openssl >/dev/null && command -v python3 >/dev/null || {
  echo "needs openssl and python3" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Event signatures: HMAC-SHA256 of the signed text with the key's bytes.
python3 - "$tmp" <<'PY'
import json, subprocess, sys
tmp = sys.argv[1]
v = json.load(open("event-signature.json"))
key = v["hmac_key"]
for i, x in enumerate(v["vectors"]):
    text = x["signed_text"].encode()
    assert text.hex() == x["signed_text_hex"], f"vector {i}: signed_text_hex"
    p = x["payload"]
    assert text == "\n".join([p["event_id"], p["kind"], p["occurred_at"], p.get("staff_credential", "")]).encode(), f"vector {i}: signed text is not the payload's fields"
    out = subprocess.run(["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{key}", "-r"],
                         input=text, capture_output=True, check=True).stdout.decode().split()[0]
    assert out == x["sig"] == p["sig"], f"vector {i}: openssl says {out}, the vector {x['sig']}"
    print(f"event-signature.json vector {i}: HMAC-SHA256 matches ({out[:16]}...)")

# The lock configuration: Ed25519 over header.payload with the pinned key.
c = json.load(open("lock-config.json"))
pub = bytes.fromhex(c["pinned_public_key_hex"])
# SubjectPublicKeyInfo of an Ed25519 key: a fixed prefix and the 32 bytes.
open(f"{tmp}/key.der", "wb").write(bytes.fromhex("302a300506032b6570032100") + pub)
header, payload, _ = c["message"].split(".")
assert c["signing_input"] == f"{header}.{payload}"
open(f"{tmp}/input", "wb").write(c["signing_input"].encode())
open(f"{tmp}/sig", "wb").write(bytes.fromhex(c["signature_hex"]))
import base64
pad = lambda s: s + "=" * (-len(s) % 4)
assert json.loads(base64.urlsafe_b64decode(pad(payload))) == c["claims"], "claims"
assert base64.urlsafe_b64decode(pad(c["pinned_public_key"])) == pub, "pinned key"
PY
openssl pkeyutl -verify -pubin -inkey "$tmp/key.der" -keyform DER -rawin \
  -in "$tmp/input" -sigfile "$tmp/sig"
echo "lock-config.json: Ed25519 signature verified by openssl"
