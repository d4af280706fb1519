#!/usr/bin/env bash
# Fan-out of one registry change to many watchers: `meshctl identity` and `meshctl destination`
# on loopback, a load tool (bench/destination-fanout, Go) holding WATCHES watches on one Service
# over CONNS mutual-TLS connections; once every watch has its first answer, one pod is added to
# the registry and the tool times when each watch sees it.
# Usage: bench/destination_fanout.sh [BUILD_DIR] [WATCHES] [CONNS] [POLL]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
watches=${2:-10000}
conns=${3:-100}
poll=${4:-250ms}
meshctl="$(pwd)/$build/meshctl"
command -v go >/dev/null || { echo "go missing: the load tool is written in Go" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

(cd bench/destination-fanout && go build -o "$work/destination-fanout" .)

"$meshctl" identity create-anchor --cert "$work/ca.crt" --key "$work/ca.key" >/dev/null
"$meshctl" identity create-issuer --anchor-cert "$work/ca.crt" --anchor-key "$work/ca.key" \
  --cert "$work/issuer.crt" --key "$work/issuer.key" >/dev/null
"$meshctl" identity create-token-key --private-key "$work/token.key" --public-key "$work/token.pub" >/dev/null
"$meshctl" identity create-token --key "$work/token.key" --namespace meshctl \
  --service-account meshctl-destination --out "$work/destination.token" 2>/dev/null
"$meshctl" identity create-token --key "$work/token.key" --namespace default \
  --service-account web --out "$work/web.token" 2>/dev/null

wait_for() {  # file, text
  for _ in $(seq 200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2
  exit 1
}
addr_after() { grep -o "$2[^ ]*" "$1" | head -1 | sed "s|$2||"; }

"$meshctl" identity --addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 \
  --trust-anchors-file "$work/ca.crt" --issuer-certificate-file "$work/issuer.crt" \
  --issuer-key-file "$work/issuer.key" --token-validator jwt --token-public-key-file "$work/token.pub" \
  2> "$work/identity.log" &
pids+=($!)
wait_for "$work/identity.log" "serving certify on"
identity_addr=$(addr_after "$work/identity.log" "https://")

"$meshctl" identity certify --addr "$identity_addr" \
  --identity web.default.serviceaccount.identity.meshctl.cluster.local \
  --token-file "$work/web.token" --trust-anchors "$work/ca.crt" --out-dir "$work/web" >/dev/null

mkdir -p "$work/registry"
pod() {  # name ip
  cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: default
  labels: {app: web, pod-template-hash: 5f6c, meshctl.io/control-plane-ns: meshctl}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5f6c, controller: true}]
spec:
  serviceAccountName: web
  containers: [{name: app}, {name: meshctl-proxy}]
status: {phase: Running, podIP: $2}
YAML
}
cat > "$work/registry/service.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
YAML
{ for i in 1 2 3; do pod "web-5f6c-$i" "10.1.0.$i"; done; } > "$work/registry/pods.yaml"
{ for i in 1 2 3 4; do pod "web-5f6c-$i" "10.1.0.$i"; done; } > "$work/pods-plus-one.yaml"

"$meshctl" destination --addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --registry "$work/registry" \
  --registry-poll-interval "$poll" --identity-addr "$identity_addr" \
  --token-file "$work/destination.token" --trust-anchors-file "$work/ca.crt" 2> "$work/destination.log" &
pids+=($!)
wait_for "$work/destination.log" "serving destination on"
destination_addr=$(addr_after "$work/destination.log" "serving destination on ")
admin_addr=$(addr_after "$work/destination.log" "admin on http://")

echo "destination $destination_addr, $(nproc) cores, registry poll $poll"
"$work/destination-fanout" -addr "$destination_addr" -cert "$work/web/cert.pem" -key "$work/web/key.pem" \
  -ca "$work/ca.crt" -watches "$watches" -conns "$conns" \
  -change-file "$work/registry/pods.yaml" -change-from "$work/pods-plus-one.yaml"
curl -s "http://$admin_addr/metrics" | grep -E '^destination_(watches_open|updates_sent_total|updates_coalesced_total|last_fanout_seconds|connections_open) '
echo "destination RSS: $(ps -o rss= -p "${pids[1]}" | tr -d ' ') KiB"
