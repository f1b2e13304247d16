#!/usr/bin/env bash
# The whole test suite, in order:
#  1. the `orchestrion` binary (tests that drive the real binary — inspect, the studio crash test,
#     the console — need it built first);
#  2. Rust unit, property and integration tests, including the agreement tests against mido and
#     muspy and the API tests against the real server; then the studio's suite again against
#     Postgres and S3 (scripts/pg-throwaway.sh);
#  3. schemathesis against the studio's OpenAPI document (no request may get a 5xx);
#  4. the console's unit tests and its end-to-end tests in headless Chromium (Debian's chromium).
# Run `bash scripts/setup.sh` once first.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"

cargo build -p orchestrion
cargo test --workspace
# The studio suite again on the scaled-out backends: a throwaway PostgreSQL cluster (a fresh
# database per test server) and the loopback S3-compatible server (a fresh bucket per server).
ORCHESTRION_TEST_BLOB_STORE=s3 bash scripts/pg-throwaway.sh cargo test -p orchestrion-studio
bash scripts/schemathesis-studio.sh "$target/debug/orchestrion"
(cd web/tests && ORCHESTRION_BIN="$target/debug/orchestrion" node --test --test-concurrency=1 unit/ e2e/)
