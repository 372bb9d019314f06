#!/usr/bin/env bash
# Pairing latency and Redis round trips per pairing on a 3-node cluster (relay_load), loopback
# only. Needs redis-server, redis-cli and curl; see crates/relay/PERFORMANCE.md.
set -euo pipefail
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/examples/relay_load}
W=$(mktemp -d /tmp/cluster-perf.XXXX)
redis-server --port 16379 --bind 127.0.0.1 --save '' --appendonly no --dir $W >/dev/null 2>&1 &
RPID=$!
for i in $(seq 50); do redis-cli -p 16379 ping >/dev/null 2>&1 && break; sleep 0.1; done
PIDS=()
for i in 1 2 3; do
  $BIN serve --listen 127.0.0.1:1744$i --data-dir $W/n$i --metrics 127.0.0.1:1944$i \
     --cluster redis://127.0.0.1:16379/0 --node-id n$i > $W/n$i.out 2>$W/n$i.err &
  PIDS+=($!)
done
# a lone relay for comparison
$BIN serve --listen 127.0.0.1:17440 --data-dir $W/lone --metrics 127.0.0.1:19440 > $W/lone.out 2>$W/lone.err &
PIDS+=($!)
sleep 0.5
for i in 0 1 2 3; do
  until curl -sf 127.0.0.1:1944$i/readyz >/dev/null; do sleep 0.1; done
done
fp() { awk '{print $4}' $W/$1.out; }
F0=$(fp lone); F1=$(fp n1); F2=$(fp n2); F3=$(fp n3)
NODES="127.0.0.1:17442=$F2,127.0.0.1:17443=$F3"
ops() { # sum of cluster requests except heartbeat/connect/release, and sessions started, over nodes
  for i in 1 2 3; do curl -s 127.0.0.1:1944$i/metrics; done | awk '
    /^tandem_relay_cluster_requests_total/ && !/op="(heartbeat|connect|release|leave)"/ {r+=$NF}
    /^tandem_relay_sessions_started_total/ {s+=$NF}
    END {print r, s}'
}
cmds() { redis-cli -p 16379 info stats | awk -F: '/total_commands_processed/ {print $2+0}'; }
perop() { for i in 1 2 3; do curl -s 127.0.0.1:1944$i/metrics; done | grep '^tandem_relay_cluster_requests_total' | sed 's/node_id="n[0-9]",//' | awk '{split($1,a,"op=\""); split(a[2],b,"\""); t[b[1]]+=$NF} END {for (k in t) printf "%s=%d ", k, t[k]; print ""}'; }
N=${N:-300}
run() { # label, load args...
  local label=$1; shift
  read r0 s0 < <(ops); c0=$(cmds)
  out=$($BIN load "$@" --sessions $N --rate 10000 --ticks 10 --secs 2 --endpoints 4 2>>$W/load.err)
  read r1 s1 < <(ops); c1=$(cmds)
  echo "$label: $out"
  echo "   cluster round trips (no heartbeats): $((r1-r0)) for $((s1-s0)) pairings; redis commands incl. heartbeats: $((c1-c0))"
}
echo "== concurrency 1 (latency)"
run "lone relay       " --relay 127.0.0.1:17440 --fingerprint $F0 --concurrency 1
run "cluster same-node" --relay 127.0.0.1:17441 --fingerprint $F1 --nodes $NODES --viewer-offset 0 --concurrency 1
run "cluster cross    " --relay 127.0.0.1:17441 --fingerprint $F1 --nodes $NODES --viewer-offset 1 --concurrency 1
echo "== concurrency 20 (load)"
run "lone relay       " --relay 127.0.0.1:17440 --fingerprint $F0 --concurrency 20
run "cluster same-node" --relay 127.0.0.1:17441 --fingerprint $F1 --nodes $NODES --viewer-offset 0 --concurrency 20
run "cluster cross    " --relay 127.0.0.1:17441 --fingerprint $F1 --nodes $NODES --viewer-offset 1 --concurrency 20
echo "per op: $(perop)"
for i in 1 2 3; do echo "n$i sessions_started $(curl -s 127.0.0.1:1944$i/metrics | awk '/^tandem_relay_sessions_started_total/ {print $NF}') redirects $(curl -s 127.0.0.1:1944$i/metrics | awk '/^tandem_relay_redirects_total/ {print $NF}')"; done
echo "redis commandstats:"; redis-cli -p 16379 info commandstats | grep -E "cmdstat_(set|getdel|get|incr|evalsha|mget|zadd|zrange|zremrangebyscore|multi|exec|del|zrem):" | cut -d, -f1
for p in "${PIDS[@]}"; do kill -INT $p 2>/dev/null || true; done
sleep 1; kill $RPID; wait 2>/dev/null || true
rm -rf $W
