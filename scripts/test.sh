#!/usr/bin/env bash
# The whole test suite: Rust unit, property and integration tests (including the agreement tests
# against pretty_midi and muspy, and the API tests against the real server), then the console's
# end-to-end tests in headless Chromium against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
