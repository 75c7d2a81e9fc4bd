#!/usr/bin/env bash
# The interop suite: the published reference gateway transport against a
# `relay connector` process.
#
#   tests/interop/run.sh            build `relay`, install the reference, run
#   RELAY_BIN=path tests/interop/run.sh   use an already built binary
#
# Exits non-zero when the build, the install from PyPI or any scenario fails
# (and when pytest collects no test).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

if [[ -z "${RELAY_BIN:-}" ]]; then
  echo "== building relay (release)"
  cargo build --release -p hermes-relay-cli --bin relay
  RELAY_BIN="$root/target/release/relay"
fi
export RELAY_BIN

venv="$root/target/interop/venv"
reqs="$root/tests/interop/requirements.txt"
stamp="$venv/.requirements"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$reqs" "$stamp"; then
  echo "== installing the reference from PyPI into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-deps hermes-agent==0.19.0
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    websockets==15.0.1 pytest==9.2.0
  cp "$reqs" "$stamp"
fi
"$venv/bin/python" -c 'import importlib.metadata as m; print("reference: hermes-agent", m.version("hermes-agent"), "websockets", m.version("websockets"))'

echo "== interop scenarios"
set +e
(cd "$root/tests/interop" && timeout 300 "$venv/bin/python" -m pytest -p no:cacheprovider -q "$@")
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "interop: pytest collected no test" >&2
  exit 1
fi
exit $status
