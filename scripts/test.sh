#!/usr/bin/env bash
# The whole test suite, in order:
#  1. one build of every test target of the workspace, the `orchestrion` binary included (tests
#     that drive the real binary — inspect, the studio crash test, the console — need it);
#  2. Rust unit, property and integration tests, including the agreement tests against mido and
#     muspy and the API tests against the real server; then the studio's test binaries again
#     against Postgres and S3 (scripts/pg-throwaway.sh);
#  3. schemathesis against the studio's OpenAPI document (no request may get a 5xx);
#  4. the console's unit tests and its end-to-end tests in headless Chromium (Debian's chromium).
# Run `bash scripts/setup.sh` once first.
#
# Every cargo call below is the same `cargo test --workspace`: cargo resolves features per
# invocation, so `cargo build -p orchestrion` or `cargo test -p orchestrion-studio` would compile
# burn, sqlx and axum a second and third time with other feature sets.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"

artifacts="$(mktemp)"
trap 'rm -f "$artifacts"' EXIT
cargo test --workspace --no-run --message-format=json-render-diagnostics >"$artifacts"
cargo test --workspace

# The studio suite again on the scaled-out backends: a throwaway PostgreSQL cluster (a fresh
# database per test server) and the loopback S3-compatible server (a fresh bucket per server).
# The binaries are the ones just built, run from the crate's folder as cargo runs them.
mapfile -t studio_tests < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    message = json.loads(line)
    if (message.get("reason") == "compiler-artifact" and message.get("executable")
            and message["profile"]["test"] and "#orchestrion-studio@" in message["package_id"]):
        print(message["executable"])
' "$artifacts")
if [ ${#studio_tests[@]} -eq 0 ]; then
  echo "test.sh: no studio test binaries found in cargo's build output" >&2
  exit 1
fi
for binary in "${studio_tests[@]}"; do
  (cd crates/studio && ORCHESTRION_TEST_BLOB_STORE=s3 bash ../../scripts/pg-throwaway.sh "$binary")
done

bash scripts/schemathesis-studio.sh "$target/debug/orchestrion"
(cd web/tests && ORCHESTRION_BIN="$target/debug/orchestrion" node --test --test-concurrency=1 unit/ e2e/)
