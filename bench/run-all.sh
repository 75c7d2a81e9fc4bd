#!/usr/bin/env bash
# Runs every benchmark docs/benchmarks.md quotes, in one go, and keeps the
# output in target/bench-results/. From the workspace root:
#   bash bench/run-all.sh
# The Python baseline gets its own venv under target/ (websockets from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
out="target/bench-results/$(date -u +%Y%m%dT%H%M%SZ).txt"
mkdir -p target/bench-results
{
  echo "== machine"
  date -u
  uname -srm
  nproc
  grep -m1 "model name" /proc/cpuinfo || true
  uptime
  rustc --version

  echo "== corpus"
  cargo run --quiet --release -p hermes-relay-core --example gen_corpus

  echo "== python setup"
  if [ ! -x target/bench-venv/bin/python ]; then
    python3 -m venv target/bench-venv
  fi
  target/bench-venv/bin/pip install --quiet -r bench/python/requirements.txt
  target/bench-venv/bin/python --version

  echo "== python codec"
  target/bench-venv/bin/python bench/python/bench.py codec

  echo "== cargo bench codec"
  cargo bench --quiet -p hermes-relay-core --bench codec 2>&1 | grep -v -E "^(Gnuplot|Benchmarking|Found|  [0-9]+ \()" || true

  echo "== cargo bench connection"
  cargo bench --quiet -p hermes-relay-core --bench connection 2>&1 | grep -v -E "^(Gnuplot|Benchmarking|Found|  [0-9]+ \()" || true

  echo "== python ws round trip"
  target/bench-venv/bin/python bench/python/bench.py ws
  echo "== python ws round trip, both processes pinned to one vCPU"
  taskset -c 0 target/bench-venv/bin/python bench/python/bench.py ws

  echo "== loopback: RelayClient vs raw async-tungstenite (round trip, streaming, idle memory)"
  cargo bench --quiet -p hermes-relay-tokio --bench loopback

  echo "== simulator"
  cargo build --quiet --release -p relay-sim
  /usr/bin/time -f "cpu user %U s, sys %S s, wall %e s" target/release/relay-sim --seeds 0..2000
  /usr/bin/time -f "cpu user %U s, sys %S s, wall %e s" target/release/relay-sim --seeds 0..2000 --threads 1
  uptime
} 2>&1 | tee "$out"
echo "results: $out"
