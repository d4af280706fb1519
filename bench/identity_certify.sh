#!/usr/bin/env bash
# Certificates issued per second by `meshctl identity` on loopback: one service with the jwt
# token validator, h2load replaying one certify request (a fresh signature per request on the
# service side: every answer is a new certificate).
# Usage: bench/identity_certify.sh [BUILD_DIR] [REQUESTS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
requests=${2:-5000}
clients=${3:-8}
meshctl="$build/meshctl"
command -v h2load >/dev/null || { echo "h2load missing: apt-get install nghttp2-client" >&2; exit 1; }

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$meshctl" identity create-anchor --cert "$work/ca.crt" --key "$work/ca.key" >/dev/null
"$meshctl" identity create-issuer --anchor-cert "$work/ca.crt" --anchor-key "$work/ca.key" \
  --cert "$work/issuer.crt" --key "$work/issuer.key" >/dev/null
"$meshctl" identity create-token-key --private-key "$work/token.key" --public-key "$work/token.pub" >/dev/null
token=$("$meshctl" identity create-token --key "$work/token.key" --namespace default --service-account web)
identity=web.default.serviceaccount.identity.meshctl.cluster.local
openssl ecparam -name prime256v1 -genkey -noout -out "$work/web.key" 2>/dev/null
openssl req -new -key "$work/web.key" -subj "/CN=$identity" -addext "subjectAltName=DNS:$identity" -out "$work/web.csr"
python3 - "$identity" "$token" "$work/web.csr" > "$work/body.json" <<'PY'
import json, sys
print(json.dumps({"identity": sys.argv[1], "token": sys.argv[2], "csr": open(sys.argv[3]).read()}))
PY

"$meshctl" identity --addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 \
  --trust-anchors-file "$work/ca.crt" --issuer-certificate-file "$work/issuer.crt" \
  --issuer-key-file "$work/issuer.key" --token-validator jwt --token-public-key-file "$work/token.pub" \
  2> "$work/identity.log" &
pid=$!
for _ in $(seq 100); do
  grep -q "serving certify" "$work/identity.log" 2>/dev/null && break
  sleep 0.1
done
addr=$(grep -o 'https://[^ ]*' "$work/identity.log" | head -n1)
[ -n "$addr" ] || { cat "$work/identity.log" >&2; exit 1; }

echo "# meshctl identity: $requests certify requests, $clients clients, $(nproc) cores"
h2load --h1 -n "$requests" -c "$clients" -d "$work/body.json" -H 'content-type: application/json' \
  "$addr/v1/certify" | grep -E "finished in|requests:|status codes:|time for request:"
