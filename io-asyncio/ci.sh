#!/usr/bin/env bash
# Builds the hermes_relay wheel, installs it into a fresh virtual environment
# and runs the pytest suite against a real `relay connector`.
#
#   RELAY_BIN=/path/to/relay io-asyncio/ci.sh     # use a built relay binary
#   io-asyncio/ci.sh                               # build it first (release)
#
# Environment: PYTHON (default python3), RELAY_BIN, PYTEST_TIMEOUT (seconds,
# default 900), BENCH=1 to also run the benchmark afterwards.
# Everything is created under <repo>/target/. Exits non-zero on any failure,
# including "no tests collected".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-python3}"
OUT="$ROOT/target/py"
mkdir -p "$OUT"

if [[ -z "${RELAY_BIN:-}" ]]; then
    echo "== building the relay binary (release)"
    (cd "$ROOT" && cargo build --release -p hermes-relay-cli --bin relay)
    RELAY_BIN="$ROOT/target/release/relay"
fi
[[ -x "$RELAY_BIN" ]] || { echo "RELAY_BIN=$RELAY_BIN is not executable" >&2; exit 2; }
export RELAY_BIN

echo "== build venv"
rm -rf "$OUT/build-venv" "$OUT/test-venv" "$OUT/wheels"
"$PYTHON" -m venv "$OUT/build-venv"
"$OUT/build-venv/bin/pip" install -q --upgrade pip
"$OUT/build-venv/bin/pip" install -q "maturin>=1.7,<2"

echo "== maturin build --release"
(cd "$HERE" && CARGO_TARGET_DIR="$ROOT/target/asyncio" \
    "$OUT/build-venv/bin/maturin" build --release --locked \
    -i "$OUT/build-venv/bin/python" --out "$OUT/wheels")
WHEEL="$(ls "$OUT"/wheels/hermes_relay-*.whl | head -n1)"

echo "== fresh test venv"
"$PYTHON" -m venv "$OUT/test-venv"
PIP="$OUT/test-venv/bin/pip"
"$PIP" install -q --upgrade pip
"$PIP" install -q "$WHEEL" "websockets==15.0.1" "pytest>=8" "pytest-asyncio>=0.24"
# The reference gateway (for the adapter round trip, the fault comparisons
# and the benchmark), without its heavy dependency set: only what its
# gateway.relay modules import.
"$PIP" install -q --no-deps --no-warn-conflicts "hermes-agent==0.19.0"
"$PIP" install -q --no-warn-conflicts pyyaml requests

echo "== pytest"
cd "$HERE"
set +e
timeout --kill-after=30 "${PYTEST_TIMEOUT:-900}" \
    "$OUT/test-venv/bin/python" -m pytest -p no:cacheprovider "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
if [[ $rc -ne 0 ]]; then
    echo "pytest failed (exit $rc)" >&2
    exit "$rc"
fi

if [[ "${BENCH:-0}" == "1" ]]; then
    echo "== benchmark"
    timeout 900 "$OUT/test-venv/bin/python" "$HERE/bench/bench.py"
fi
