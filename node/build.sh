#!/usr/bin/env bash
# Builds the Node action's core into node/dist/core.wasm: the Rust core compiled to WebAssembly
# (no imports), beside the driver that loads it (node/dist/index.js, written by hand: it is the
# source, nothing builds it). The result is committed; .ci/test runs this again and fails if the
# committed module differs from what the source builds.
#
# The build is reproducible: paths of this checkout and of cargo's registry are remapped, so the
# same toolchain gives the same bytes on any machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cargo_home=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$root=/vault-k8s-handshake --remap-path-prefix=$cargo_home=/cargo"
cargo build --locked -p vkh-node-core --profile wasm --target wasm32-unknown-unknown
mkdir -p node/dist
cp target/wasm32-unknown-unknown/wasm/vkh_node_core.wasm node/dist/core.wasm
size=$(wc -c < node/dist/core.wasm)
echo "node/dist/core.wasm: $size bytes"
# The size budget of the core (1.5 MB).
if [ "$size" -gt 1500000 ]; then
  echo "node/dist/core.wasm is $size bytes, over the 1.5 MB budget" >&2
  exit 1
fi
