#!/usr/bin/env bash
# The test command: formatting, lints, then every unit and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo nextest run --no-fail-fast
