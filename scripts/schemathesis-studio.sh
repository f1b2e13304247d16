#!/usr/bin/env bash
# Runs schemathesis against the studio's OpenAPI document: every operation is fuzzed with
# generated requests, and any 5xx answer fails the run. Starts its own server (loopback only,
# temporary data folder) from the built binary and stops it afterwards.
#
# Usage: scripts/schemathesis-studio.sh [path/to/orchestrion]
# Needs: pip install schemathesis
set -euo pipefail
BIN="${1:-${CARGO_TARGET_DIR:-target}/debug/orchestrion}"
if ! command -v schemathesis >/dev/null 2>&1; then
    echo "schemathesis is not installed (pip install schemathesis)" >&2
    exit 2
fi
DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
MODELS_ARGS=()
if [ -d models ]; then MODELS_ARGS=(--models-dir models); fi
"$BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$DATA" --workers 1 --max-jobs-per-user 1000 "${MODELS_ARGS[@]}" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
schemathesis run "http://127.0.0.1:$PORT/api/openapi.json" \
    --checks not_a_server_error \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
    --exclude-path-regex '.*/events$'
