#!/usr/bin/env bash
# A library user's view of the runtime crates: a consumer crate generated
# outside the workspace depends on one driver by path with default features;
# its normal dependency tree must hold no CLI parser, server or log
# subscriber (and, for smol, no tokio), and at most 90 crates.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="$root/target/consumer-check"
rm -rf "$work"
mkdir -p "$work"
status=0
check() {
  local driver="$1" folder="$2" forbidden="$3"
  local dir="$work/uses-$driver"
  mkdir -p "$dir/src"
  cat >"$dir/Cargo.toml" <<TOML
[package]
name = "uses-$driver"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
$driver = { path = "$root/$folder" }
TOML
  echo 'fn main() {}' >"$dir/src/main.rs"
  cp "$root/Cargo.lock" "$dir/Cargo.lock"
  (cd "$dir" && cargo tree -e normal --prefix none --format '{p}' --offline 2>/dev/null ||
    cd "$dir" && cargo tree -e normal --prefix none --format '{p}') |
    sed -e 's/ (\*)$//' -e 's/ (proc-macro)$//' -e 's/ (\/.*)$//' | sort -u >"$dir/tree.txt"
  local count
  count=$(grep -vc "^uses-$driver " "$dir/tree.txt" || true)
  echo "$driver: $count crates in the normal tree of a default-features consumer"
  local bad
  bad=$(grep -E "^($forbidden) v" "$dir/tree.txt" || true)
  if [ -n "$bad" ]; then
    echo "FAIL: $driver pulls in:"
    echo "$bad"
    status=1
  fi
  if [ "$count" -gt 90 ]; then
    echo "FAIL: $driver has $count crates (at most 90)"
    status=1
  fi
}
check hermes-relay-tokio io-tokio 'clap|clap_builder|hyper|hyper-util|tracing-subscriber|hermes-relay-connector|ureq'
check hermes-relay-smol io-smol 'clap|clap_builder|hyper|hyper-util|tracing-subscriber|hermes-relay-connector|ureq|tokio|[a-z-]*tokio[a-z-]*'
exit $status
