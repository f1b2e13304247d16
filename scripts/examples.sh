#!/usr/bin/env bash
# Writes the example outputs of docs/models.md: every model in models/ and candidates/ arranges two of the
# studio's sample melodies (one in 4/4, one in 3/4 or 6/8), with a fixed seed, into
# docs/examples/<model>-<sample>.mid. The melodies themselves go to docs/examples/melodies/.
#
#   scripts/examples.sh            # uses $CARGO_TARGET_DIR/debug/orchestrion (or target/)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${ORCHESTRION:-${CARGO_TARGET_DIR:-target}/debug/orchestrion}
if [[ ! -x "$BIN" ]]; then
    echo "no orchestrion binary at $BIN: run 'cargo build --workspace' first" >&2
    exit 1
fi

shopt -s nullglob  # candidates/ may not exist
OUT=docs/examples
mkdir -p "$OUT/melodies"
"$BIN" samples -o "$OUT/melodies" > /dev/null

for model in models/*/ candidates/*/; do
    name=$(basename "$model")
    for sample in ode_to_joy amazing_grace greensleeves; do
        "$BIN" generate --model "$model" --melody "$OUT/melodies/$sample.mid" --seed 1 \
            -o "$OUT/$name-$sample.mid" > /dev/null
        echo "$OUT/$name-$sample.mid"
    done
done
