#!/usr/bin/env bash
# Everything CI checks: install what is needed, then format, lints, all tests (end-to-end included),
# and that the benchmarks build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
cargo bench --locked -p tandem-codec --no-run
