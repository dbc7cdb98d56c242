#!/usr/bin/env bash
# Benchmarks the release binary's `run` against the dev server on loopback (see
# examples/bench.rs) and prints the README's table. Needs GNU time (Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
cargo build --locked --release --bin vault-k8s-handshake
cargo run --locked --release --example bench -- "$PWD/target/release/vault-k8s-handshake"
