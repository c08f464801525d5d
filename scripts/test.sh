#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what the tests need beyond Rust
# (Chromium for the HTML report test), then checks the layering of src/ (docs/ARCHITECTURE.md),
# formatting and lints, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean CI build never reuses incremental state; skipping it saves disk and time.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
scripts/install-test-deps.sh
python3 scripts/layering.py
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
