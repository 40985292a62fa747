#!/usr/bin/env bash
# A small local Redis Cluster for alpt's distributed training (tests, benchmarks, README).
#
#   scripts/redis-cluster.sh start DIR [MASTERS] [REPLICAS_PER_MASTER]
#       starts MASTERS (default 3) masters with REPLICAS_PER_MASTER (default 1) replicas each, on
#       free loopback ports (127.0.0.1 only), files under DIR; the last line printed is the seed
#       address redis://127.0.0.1:PORT.
#   scripts/redis-cluster.sh stop DIR       stops every node started in DIR (by its pid file).
#   scripts/redis-cluster.sh ports DIR      prints the node ports, one a line.
#
# cluster-node-timeout is 1000 ms so that a killed master's replica is promoted within ~2 s.
# Environment: REDIS_SERVER, REDIS_CLI (default: from PATH), ALPT_REDIS_NODE_TIMEOUT (ms).
set -euo pipefail

SERVER=${REDIS_SERVER:-redis-server}
CLI=${REDIS_CLI:-redis-cli}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|ports DIR [MASTERS] [REPLICAS]" >&2; exit 2; }

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "$cmd" in
start)
  masters=${3:-3}
  replicas=${4:-1}
  command -v "$SERVER" >/dev/null || { echo "redis-cluster: $SERVER not found (apt-get install redis-server)" >&2; exit 3; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -s "$dir/ports" ]; then echo "redis-cluster: $dir already holds a cluster (stop it first)" >&2; exit 1; fi
  n=$((masters * (1 + replicas)))
  ports=()
  # pick free ports (and their cluster-bus ports, +10000) from a random start
  p=$((20000 + (RANDOM % 4000) * 2 + ($$ % 2)))
  tries=0
  while [ ${#ports[@]} -lt "$n" ]; do
    tries=$((tries + 1))
    [ $tries -lt 2000 ] || { echo "redis-cluster: no free ports" >&2; exit 1; }
    if ! in_use "$p" && ! in_use $((p + 10000)); then ports+=("$p"); fi
    p=$((p + 1))
    [ $p -lt 29990 ] || p=20000
  done
  : >"$dir/ports"
  for port in "${ports[@]}"; do
    mkdir -p "$dir/$port"
    "$SERVER" --port "$port" --bind 127.0.0.1 --protected-mode yes --daemonize yes \
      --dir "$dir/$port" --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log" \
      --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout "${ALPT_REDIS_NODE_TIMEOUT:-1000}" --cluster-replica-validity-factor 0 \
      --save '' --appendonly no --maxmemory-policy noeviction
    echo "$port" >>"$dir/ports"
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 100); do "$CLI" -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  done
  addrs=()
  for port in "${ports[@]}"; do addrs+=("127.0.0.1:$port"); done
  "$CLI" --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes >"$dir/create.log" 2>&1 \
    || { cat "$dir/create.log" >&2; "$0" stop "$dir"; exit 1; }
  # wait until every node sees the cluster as ok
  for port in "${ports[@]}"; do
    for i in $(seq 200); do
      "$CLI" -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
      [ "$i" -lt 200 ] || { echo "redis-cluster: node $port never reached cluster_state:ok" >&2; "$0" stop "$dir"; exit 1; }
      sleep 0.05
    done
  done
  echo "redis-cluster: ${masters} masters + $((masters * replicas)) replicas on 127.0.0.1 ports ${ports[*]} (files in $dir)" >&2
  echo "redis://127.0.0.1:${ports[0]}"
  ;;
stop)
  [ -f "$dir/ports" ] || { echo "redis-cluster: no cluster in $dir" >&2; exit 0; }
  while read -r port; do
    pidf="$dir/$port/redis.pid"
    if [ -s "$pidf" ]; then
      pid=$(cat "$pidf")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done <"$dir/ports"
  rm -f "$dir/ports"
  ;;
ports)
  cat "$dir/ports"
  ;;
*)
  echo "usage: $0 start|stop|ports DIR" >&2
  exit 2
  ;;
esac
