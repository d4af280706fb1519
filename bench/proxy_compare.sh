#!/usr/bin/env bash
# Direct traffic against traffic through two meshctl proxies (the client pod's outbound proxy and
# the server pod's inbound proxy), with and without mutual TLS.
#
# Everything runs in network namespaces this script creates: a "node" namespace holding a bridge
# (forwarding off, so nothing leaves it) plus the identity and destination services, and two pods
# on that bridge, "client" (wrk, h2load) and "server" (test/apps echo-server, HTTP/1.1 and h2c).
# Scenarios:
#   direct   client -> server pod IP:8080, no proxies, no iptables rules
#   mtls     `meshctl proxy init` + `meshctl proxy` (UID 2102) in both pods; client -> the
#            Service's cluster IP:80; the server pod is meshed in the registry
#   clear    the same proxies, the server pod no longer marked meshed in the registry, so the
#            client proxy forwards in the clear and the server proxy passes plaintext through
# Every run is checked against the proxies' request_total counters (and the peer address the
# echo-server saw); the script fails if traffic did not take the expected path.
#
# Usage: [MESHCTL=build/meshctl] [DURATION=10] [CONNS=16] [THREADS=2] [STREAMS=4] bench/proxy_compare.sh
#   DURATION  seconds per load run          CONNS    connections (wrk -c, h2load -c)
#   THREADS   load generator threads        STREAMS  concurrent streams per h2 connection (h2load -m)
#   H1=1      also run h2load --h1 (HTTP/1.1 with h2load's client)
#   GENERATORS  which load generators to run (default "wrk h2load")
# The markdown table goes to stdout; progress goes to stderr. Needs root (namespaces, iptables).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

MESHCTL=${MESHCTL:-build/meshctl}
case "$MESHCTL" in /*) ;; *) MESHCTL="$repo/$MESHCTL" ;; esac
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
STREAMS=${STREAMS:-4}
H1=${H1:-0}

# The script's own stdout and stderr, kept on 4 and 3: a trap can run while a command's output
# is redirected to a file, and its messages must still reach the terminal.
exec 3>&2 4>&1
log() { echo "proxy_compare: $*" >&3; }
die() { echo "proxy_compare: FAILED: $*" >&3; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, iptables)"
[ -x "$MESHCTL" ] || die "no meshctl binary at $MESHCTL (set MESHCTL)"
for tool in ip iptables-nft-restore wrk h2load go setpriv curl awk; do
  command -v "$tool" >/dev/null || die "$tool missing (scripts/install-deps.sh installs wrk, h2load, iptables)"
done
[ "$THREADS" -le "$CONNS" ] || die "THREADS ($THREADS) must not exceed CONNS ($CONNS)"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
proxy_uid=2102
mesh_ns=meshctl
app_ns=bench
id_suffix="$app_ns.serviceaccount.identity.$mesh_ns.cluster.local"
client_id="client.$id_suffix"
server_id="server.$id_suffix"
destination_name="meshctl-destination.$mesh_ns.serviceaccount.identity.$mesh_ns.cluster.local"
identity_name="meshctl-identity.$mesh_ns.serviceaccount.identity.$mesh_ns.cluster.local"

# Names and a /24 of their own per run: namespaces "mb-<pid>-*", addresses 10.198.<n>.0/24.
prefix="mb-$$-"
octet=$((1 + $$ % 254))
net="10.198.$octet"
node_ip="$net.1"
client_ip="$net.2"
server_ip="$net.3"
cluster_ip="$net.200"  # no host has it: only the client proxy's redirect ever reaches it
node="${prefix}node"
client="${prefix}client"
server="${prefix}server"

work=$(mktemp -d /tmp/proxy-compare.XXXXXX)
chmod 755 "$work"
pids=()
namespaces=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  exec 1>&4 2>&3
  local p ns
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 30); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  # Anything else still inside our namespaces (a load generator interrupted mid-run).
  for ns in "${namespaces[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  done
  wait 2>/dev/null || true
  # Pods first: deleting a pod namespace removes its veth pair from the bridge.
  for ((i = ${#namespaces[@]} - 1; i >= 0; i--)); do ip netns delete "${namespaces[i]}" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ] && [ -d "$work/logs" ]; then
    for f in "$work"/logs/*.log; do
      [ -s "$f" ] || continue
      echo "---- last lines of $(basename "$f")" >&2
      tail -n 15 "$f" >&2
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# Namespaces an earlier run left behind (its shell was killed with SIGKILL): only ours, by name,
# and only when the run that made them is gone.
for ns in $(ip netns list | awk '{print $1}' | grep '^mb-[0-9]*-' || true); do
  owner=${ns#mb-}
  owner=${owner%%-*}
  kill -0 "$owner" 2>/dev/null || ip netns delete "$ns" 2>/dev/null || true
done

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# For `spawn_in ... &`: the background subshell becomes the command (ip netns exec, setpriv and
# env each exec the next), so $! is the process itself.
spawn_in() { local ns=$1; shift; exec ip netns exec "$ns" "$@"; }
spawn_as_proxy() { local ns=$1; shift; exec ip netns exec "$ns" setpriv --reuid=$proxy_uid --regid=$proxy_uid --clear-groups -- "$@"; }

wait_for_log() {  # file, text
  for _ in $(seq 200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  die "timed out waiting for '$2' in $1"
}

# ---- the test application ---------------------------------------------------------------------
mkdir -p "$work/bin" "$work/logs" "$work/pki" "$work/registry"
log "building test/apps echo-server"
(cd test/apps && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 go build -o "$work/bin/" ./echo-server)

# ---- PKI and tokens, with the operator tools ---------------------------------------------------
pki="$work/pki"
"$MESHCTL" identity create-anchor --cert "$pki/ca.crt" --key "$pki/ca.key" >/dev/null
"$MESHCTL" identity create-issuer --anchor-cert "$pki/ca.crt" --anchor-key "$pki/ca.key" \
  --cert "$pki/issuer.crt" --key "$pki/issuer.key" >/dev/null
"$MESHCTL" identity create-token-key --private-key "$pki/token.key" --public-key "$pki/token.pub" >/dev/null
"$MESHCTL" identity create-token --key "$pki/token.key" --namespace "$mesh_ns" \
  --service-account meshctl-destination --out "$pki/destination.token" 2>/dev/null
chmod 644 "$pki/ca.crt"
for pod in client server; do
  mkdir -p "$work/$pod/identity"
  "$MESHCTL" identity create-token --key "$pki/token.key" --namespace "$app_ns" \
    --service-account "$pod" --out "$work/$pod/token" 2>/dev/null
  chown -R "$proxy_uid:$proxy_uid" "$work/$pod"
done

# ---- network ----------------------------------------------------------------------------------
log "network $net.0/24: node $node_ip, client $client_ip, server $server_ip, service $cluster_ip"
ip netns add "$node"
namespaces+=("$node")
ip -n "$node" link set lo up
ip -n "$node" link add br0 type bridge
ip -n "$node" addr add "$node_ip/24" dev br0
ip -n "$node" link set br0 up
in_ns "$node" sysctl -qw net.ipv4.ip_forward=0
add_pod() {  # name ns ip
  ip netns add "$2"
  namespaces+=("$2")
  # Both ends are made in the node namespace and one moves straight into the pod: no interface
  # ever appears in the machine's own namespace.
  ip -n "$node" link add "v-$1" type veth peer name eth0 netns "$2"
  ip -n "$node" link set "v-$1" master br0
  ip -n "$node" link set "v-$1" up
  ip -n "$2" link set lo up
  ip -n "$2" addr add "$3/24" dev eth0
  ip -n "$2" link set eth0 up
  # No default route: a pod reaches the /24 and nothing else.
}
add_pod client "$client" "$client_ip"
add_pod server "$server" "$server_ip"

# ---- registry ---------------------------------------------------------------------------------
pod_yaml() {  # name ip mode: meshed or plain
  local labels="app: $1" annotations="{}"
  [ "$3" != plain ] && labels="$labels, meshctl.io/control-plane-ns: $mesh_ns"
  cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: $app_ns
  labels: {$labels}
  annotations: $annotations
spec:
  serviceAccountName: $1
  containers: [{name: app, ports: [{containerPort: 8080}]}, {name: meshctl-proxy}]
status: {phase: Running, podIP: $2}
YAML
}
cat > "$work/registry/base.yaml" <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $app_ns}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: client, namespace: $app_ns}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: server, namespace: $app_ns}
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: $app_ns}
spec:
  clusterIP: $cluster_ip
  selector: {app: server}
  ports: [{name: http, port: 80, targetPort: 8080}]
YAML
write_pods() {  # the server pod's mode; replaced in one rename so the poller never sees half a file
  { pod_yaml client "$client_ip" meshed; pod_yaml server "$server_ip" "$1"; } > "$work/pods.yaml.new"
  mv "$work/pods.yaml.new" "$work/registry/pods.yaml"
}
write_pods meshed

# ---- control plane in the node namespace ------------------------------------------------------
spawn_in "$node" "$MESHCTL" identity --addr "$node_ip:8080" --admin-addr 127.0.0.1:9990 \
  --trust-anchors-file "$pki/ca.crt" --issuer-certificate-file "$pki/issuer.crt" \
  --issuer-key-file "$pki/issuer.key" --token-validator jwt --token-public-key-file "$pki/token.pub" \
  2> "$work/logs/identity.log" &
pids+=($!)
wait_for_log "$work/logs/identity.log" "serving certify on"
spawn_in "$node" "$MESHCTL" destination --addr "$node_ip:8086" --admin-addr 127.0.0.1:9996 \
  --registry "$work/registry" --registry-poll-interval 100ms --identity-addr "$node_ip:8080" \
  --token-file "$pki/destination.token" --trust-anchors-file "$pki/ca.crt" 2> "$work/logs/destination.log" &
pids+=($!)
wait_for_log "$work/logs/destination.log" "serving destination on"

# ---- the application --------------------------------------------------------------------------
spawn_in "$server" "$work/bin/echo-server" --pod server --http-port 8080 --grpc-port 0 --tcp-port 0 \
  --banner-port 0 2> "$work/logs/echo-server.log" &
app_pid=$!
pids+=("$app_pid")
wait_for_log "$work/logs/echo-server.log" "listening"
[ "$(readlink "/proc/$app_pid/exe")" = "$work/bin/echo-server" ] || die "pid $app_pid is not the echo-server"

# ---- measurement helpers ----------------------------------------------------------------------
client_proxy_pid=
server_proxy_pid=

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
reset_peak_rss() { echo 5 > "/proc/$1/clear_refs"; }  # VmHWM starts again from the current RSS
ticks=$(getconf CLK_TCK)

metrics() { in_ns "$1" curl -sf --max-time 5 http://127.0.0.1:4191/metrics; }
# Sum of request_total over the series whose labels contain every given label="value".
requests_total() {  # pod-ns label...
  local ns=$1; shift
  metrics "$ns" | awk -v want="$*" '
    BEGIN { n = split(want, w, " ") }
    /^request_total\{/ { ok = 1; for (i = 1; i <= n; i++) if (index($0, w[i]) == 0) ok = 0; if (ok) sum += $NF }
    END { print sum + 0 }'
}
# The four counters that say which way requests went: client proxy out over mTLS / in the clear,
# server proxy in over mTLS / in the clear. (Connections are pooled between proxies, so requests,
# not connections, are what to count.)
path_counters() {
  echo "$(requests_total "$client" 'direction="outbound"' 'tls="true"' "server_id=\"$server_id\"")" \
    "$(requests_total "$client" 'direction="outbound"' 'tls="no_identity"' 'dst_pod="server"')" \
    "$(requests_total "$server" 'direction="inbound"' 'tls="true"' "client_id=\"$client_id\"")" \
    "$(requests_total "$server" 'direction="inbound"' 'tls="no_identity"')"
}

# One request from the client pod; prints the peer address the echo-server saw.
probe() {  # url [h2]
  local extra=()
  [ "${2:-}" = h2 ] && extra=(--http2-prior-knowledge)
  in_ns "$client" curl -sS --noproxy '*' --max-time 5 "${extra[@]}" "$1" |
    grep -o '"remote" *: *"[^"]*"' | sed 's/.*: *"//; s/"$//'
}

to_ms() {  # wrk latency: 812.00us, 1.23ms, 1.02s, 1.50m
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else print "?" }'
}

# What the proxies counted, for a failed run's report.
dump_proxy_metrics() {
  local pod
  for pod in "$client" "$server"; do
    echo "---- /metrics of the proxy in $pod" >&3
    metrics "$pod" | grep -E '^(request_total|response_total|tcp_open_connections)' >&3 || true
  done
}

rows=()
# Runs one load generator; sets rps p50 p90 p99 reqs.
run_load() {  # generator url tag
  local gen=$1 url=$2 tag=$3 out="$work/logs/$3.out"
  case "$gen" in
    wrk)
      in_ns "$client" wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --latency "$url" > "$out" 2>&1 ||
        { cat "$out" >&2; die "$tag: wrk failed"; }
      grep -q "Non-2xx or 3xx responses" "$out" && { cat "$out" >&2; die "$tag: wrk got non-2xx answers"; }
      if grep -q "Socket errors" "$out"; then log "$tag: $(grep 'Socket errors' "$out")"; fi
      rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
      reqs=$(awk '/requests in/ {print $1}' "$out")
      p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
      p90=$(to_ms "$(awk '$1 == "90%" {print $2}' "$out")")
      p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
      ;;
    h2load | h2load-h1)
      local flags=(-m "$STREAMS")
      [ "$gen" = h2load-h1 ] && flags=(--h1)
      in_ns "$client" h2load "${flags[@]}" -t "$THREADS" -c "$CONNS" -D "$DURATION" \
        --log-file "$work/logs/$tag.requests" "$url" > "$out" 2>&1 || { cat "$out" >&2; die "$tag: h2load failed"; }
      local succeeded failed
      succeeded=$(awk '/^requests:/ {print $8}' "$out")
      failed=$(awk '/^requests:/ {print $10 + $12 + $14}' "$out")
      [ "${succeeded:-0}" -gt 0 ] || { cat "$out" >&2; dump_proxy_metrics; die "$tag: no request succeeded"; }
      [ "$failed" -eq 0 ] || log "$tag: $(grep '^requests:' "$out")"
      # (status codes can count a few answers more than "succeeded": the ones in flight at the end)
      grep -q "status codes: [0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx" "$out" || { cat "$out" >&2; die "$tag: answers other than 2xx"; }
      rps=$(awk '/^finished in/ {printf "%.0f", $4}' "$out")
      reqs=$succeeded
      # h2load prints only min/max/mean/sd; the percentiles come from its per-request log
      # (third column: microseconds until the end of the response), 2xx answers only.
      read -r p50 p90 p99 < <(awk -F'\t' '$2 ~ /^2/ {print $3}' "$work/logs/$tag.requests" | sort -n |
        awk '{ v[NR] = $1 } END {
          n = NR; split("0.50 0.90 0.99", q, " ")
          for (i = 1; i <= 3; i++) { k = int(q[i] * n); if (k < q[i] * n) k++; if (k < 1) k = 1; printf "%.2f ", v[k] / 1000 }
          print "" }')
      ;;
  esac
  [ -n "$rps" ] && [ -n "$p99" ] || { cat "$out" >&2; die "$tag: could not read the results"; }
}

fmt_cpu() { awk -v t="$1" -v hz="$ticks" 'BEGIN { printf "%.2f", t / hz }'; }
fmt_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Runs one scenario x generator, checks the path the traffic took, appends a table row.
measure() {  # scenario generator url
  local scenario=$1 gen=$2 url=$3 tag="$1-$2"
  local before after c_cpu0 s_cpu0 a_cpu0
  log "$tag: ${DURATION}s, $CONNS connections -> $url"
  a_cpu0=$(cpu_ticks "$app_pid")
  if [ "$scenario" != direct ]; then
    before=$(path_counters)
    c_cpu0=$(cpu_ticks "$client_proxy_pid")
    s_cpu0=$(cpu_ticks "$server_proxy_pid")
    reset_peak_rss "$client_proxy_pid"
    reset_peak_rss "$server_proxy_pid"
  fi
  run_load "$gen" "$url" "$tag"
  local app_cpu c_cpu="-" s_cpu="-" c_rss="-" s_rss="-" per_req="-" c_t s_t
  app_cpu=$(fmt_cpu $(($(cpu_ticks "$app_pid") - a_cpu0)))
  if [ "$scenario" != direct ]; then
    c_t=$(($(cpu_ticks "$client_proxy_pid") - c_cpu0))
    s_t=$(($(cpu_ticks "$server_proxy_pid") - s_cpu0))
    c_cpu=$(fmt_cpu "$c_t")
    s_cpu=$(fmt_cpu "$s_t")
    per_req=$(awk -v t=$((c_t + s_t)) -v hz="$ticks" -v n="$reqs" 'BEGIN { printf "%.0f", t / hz / n * 1e6 }')
    c_rss=$(fmt_mib "$(peak_rss_kib "$client_proxy_pid")")
    s_rss=$(fmt_mib "$(peak_rss_kib "$server_proxy_pid")")
    sleep 0.3  # the load generator's connections are closed and counted
    after=$(path_counters)
    local b a d=()
    read -r -a b <<< "$before"
    read -r -a a <<< "$after"
    d=($((a[0] - b[0])) $((a[1] - b[1])) $((a[2] - b[2])) $((a[3] - b[3])))
    log "$tag: requests counted: client->mTLS ${d[0]}, client->clear ${d[1]}, server<-mTLS ${d[2]}, server<-clear ${d[3]} (load generator: $reqs)"
    if [ "$scenario" = mtls ]; then
      [ "${d[0]}" -ge "$reqs" ] && [ "${d[2]}" -ge "$reqs" ] && [ "${d[1]}" -eq 0 ] && [ "${d[3]}" -eq 0 ] ||
        die "$tag: requests did not go through both proxies over mutual TLS"
    else
      [ "${d[1]}" -ge "$reqs" ] && [ "${d[3]}" -ge "$reqs" ] && [ "${d[0]}" -eq 0 ] && [ "${d[2]}" -eq 0 ] ||
        die "$tag: requests did not go through both proxies in the clear"
    fi
  fi
  rows+=("| $scenario | $gen | $rps | $p50 | $p90 | $p99 | $reqs | $c_cpu | $s_cpu | $per_req | $c_rss | $s_rss | $app_cpu |")
}

read -r -a generators <<< "${GENERATORS:-wrk h2load}"
[ "$H1" = 1 ] && generators+=(h2load-h1)

# ---- scenario 1: direct -----------------------------------------------------------------------
peer=$(probe "http://$server_ip:8080/probe" || true)
[[ "$peer" == "$client_ip:"* ]] || die "direct: the echo-server saw peer '$peer', not the client pod"
for gen in "${generators[@]}"; do measure direct "$gen" "http://$server_ip:8080/"; done

# ---- proxies ----------------------------------------------------------------------------------
start_proxy() {  # pod ns
  local pod=$1 ns=$2
  in_ns "$ns" "$MESHCTL" proxy init > "$work/logs/$pod-init.log" 2>&1 || { cat "$work/logs/$pod-init.log" >&2; die "proxy init in $pod"; }
  spawn_as_proxy "$ns" env \
    MESHCTL_PROXY_DESTINATION_ADDR="$node_ip:8086" \
    MESHCTL_PROXY_DESTINATION_NAME="$destination_name" \
    MESHCTL_PROXY_IDENTITY_ADDR="$node_ip:8080" \
    MESHCTL_PROXY_IDENTITY_SERVER_NAME="$identity_name" \
    MESHCTL_PROXY_IDENTITY_NAME="$pod.$id_suffix" \
    MESHCTL_PROXY_IDENTITY_DIR="$work/$pod/identity" \
    MESHCTL_PROXY_TRUST_ANCHORS="$(cat "$pki/ca.crt")" \
    MESHCTL_PROXY_TOKEN_FILE="$work/$pod/token" \
    MESHCTL_PROXY_NAMESPACE="$app_ns" \
    MESHCTL_PROXY_POD_NAME="$pod" \
    MESHCTL_PROXY_INBOUND_PORTS=8080 \
    MESHCTL_PROXY_SHUTDOWN_GRACE_PERIOD=2s \
    "$MESHCTL" proxy 2> "$work/logs/$pod-proxy.log" &
  pids+=($!)
  local pid=$!
  local exe
  exe=$(readlink -f "$MESHCTL")
  for _ in $(seq 200); do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] && break
    kill -0 "$pid" 2>/dev/null || die "$pod proxy exited"
    sleep 0.05
  done
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] || die "$pod proxy: pid $pid is not $exe"
  [ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = "$proxy_uid" ] || die "$pod proxy does not run as UID $proxy_uid"
  if [ "$pod" = client ]; then client_proxy_pid=$pid; else server_proxy_pid=$pid; fi
}
wait_ready() {  # pod ns
  for _ in $(seq 200); do
    in_ns "$2" curl -sf --max-time 1 http://127.0.0.1:4191/ready >/dev/null 2>&1 && return 0
    kill -0 "$([ "$1" = client ] && echo "$client_proxy_pid" || echo "$server_proxy_pid")" 2>/dev/null || die "$1 proxy exited"
    sleep 0.1
  done
  die "$1 proxy not ready after 20s"
}
start_proxy server "$server"
start_proxy client "$client"
wait_ready server "$server"
wait_ready client "$client"

# Requests through the Service until one takes the scenario's path end to end: the client proxy
# and the server proxy each count it over mTLS (or each in the clear), and the echo-server sees
# it come from the server proxy on loopback.
wait_for_path() {  # scenario
  local b a ok
  for _ in $(seq 100); do
    read -r -a b <<< "$(path_counters)"
    peer=$(probe "http://$cluster_ip/probe" || true)
    sleep 0.05  # the probe's connections are closed and counted
    read -r -a a <<< "$(path_counters)"
    if [ "$1" = mtls ]; then
      ok=$(( a[0] > b[0] && a[2] > b[2] && a[1] == b[1] && a[3] == b[3] ))
    else
      ok=$(( a[1] > b[1] && a[3] > b[3] && a[0] == b[0] && a[2] == b[2] ))
    fi
    [ "$ok" = 1 ] && [[ "$peer" == 127.0.0.1:* ]] && return 0
    sleep 0.1
  done
  die "$1: requests to $cluster_ip never took the expected path (counters before/after the last probe: ${b[*]} / ${a[*]}, peer seen: '$peer')"
}

# ---- scenario 2: both proxies, mutual TLS -----------------------------------------------------
mtls_note="HTTP port with discovery's h2 hint"
wait_for_path mtls
for gen in "${generators[@]}"; do measure mtls "$gen" "http://$cluster_ip/"; done

# ---- scenario 3: both proxies, server not meshed in discovery ---------------------------------
write_pods plain
wait_for_path clear  # the registry poll plus the streamed update
for gen in "${generators[@]}"; do measure clear "$gen" "http://$cluster_ip/"; done

# ---- report -----------------------------------------------------------------------------------
echo "# proxy_compare: ${DURATION}s per run, $CONNS connections, $THREADS load threads, h2load -m $STREAMS, $(nproc) cores;" \
  "load average at start $load_start, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# mtls scenario: $mtls_note"
echo
echo "| scenario | load | req/s | p50 ms | p90 ms | p99 ms | requests | client proxy CPU s | server proxy CPU s | both proxies CPU µs/request | client proxy peak RSS MiB | server proxy peak RSS MiB | echo-server CPU s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do echo "$r"; done
