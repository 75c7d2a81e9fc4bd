#!/usr/bin/env bash
# The loopback benchmark, every section, in one go: the cachegrind
# headline table (needs valgrind), the wall-clock sections with 9
# interleaved rounds, and idle memory. Prints the Markdown tables of
# docs/benchmarks-loopback.md and keeps them in target/bench-results/.
# From the workspace root, on an otherwise idle machine:
#   bash bench/loopback.sh
# Environment: LOOPBACK_SECTIONS (cg,multi,pinned,current,smol,mem),
# LOOPBACK_ROUNDS (9), LOOPBACK_CG_ROWS, LOOPBACK_CG_REPEAT (3).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed for the cachegrind table" >&2; exit 1; }
out="target/bench-results/loopback-$(date -u +%Y%m%dT%H%M%SZ).md"
mkdir -p target/bench-results
cargo bench -p hermes-relay-tokio --bench loopback --no-run
{
  echo "machine: $(nproc) vCPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr), $(rustc --version)"
  echo "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  cargo bench -q -p hermes-relay-tokio --bench loopback
  echo "ended: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"
echo "kept in $out" >&2
