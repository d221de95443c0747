#!/usr/bin/env bash
# The test command: formatting, lints, function lengths and the layer order (see
# the scripts' headers), then every unit and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
scripts/fn-lengths.sh --max 80
scripts/check-layers.sh
cargo nextest run --no-fail-fast
