#!/bin/sh
# ctest smoke run: the load generator against the no-op server, one short run per request shape.
# Checks only that every reply validates (loadgen exits non-zero otherwise); no timing.
set -eu
noop=$1
loadgen=$2
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
MEMCACHED_PORT_FILENAME=$dir/port "$noop" -p -1 -t 2 -v 100 &
pid=$!
i=0
while [ ! -s "$dir/port" ]; do
  i=$((i + 1)); [ $i -gt 200 ] && { echo "noop_server did not start"; exit 1; }
  sleep 0.01
done
port=$(sed 's/.*: //' "$dir/port")
run() { "$loadgen" -p "$port" --requests 400 "$@" > "$dir/out" || { cat "$dir/out"; exit 1; }; }
run --ratio 0:1
run --ratio 1:0 --pipeline 16
run --multiget 16 -c 2
run --ratio 1:9 --dist zipf -P meta --pipeline 8 --multiget 4
run --lookaside --dist zipf --warmup 100
run --rate 2000 -c 2 --requests 100
run --dist seq --keys 500 --ratio 1:0 --pipeline 32
grep -q '"errors": 0' "$dir/out"
echo ok
