#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what the tests need beyond Rust
# (Chromium for the HTML report test), then checks formatting, lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
