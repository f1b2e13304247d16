#!/usr/bin/env bash
# Rebuilds the reference dataset of every corpus in ../shared/datasets and rewrites the generated
# part of docs/datasets.md (between the BEGIN/END GENERATED markers) with each corpus's counts and
# reference metric table. Nothing in that part is typed by hand.
#
#   scripts/datasets_doc.sh            # uses $CARGO_TARGET_DIR/debug/orchestrion (or target/)
#   ORCHESTRION=path/to/orchestrion DATASETS_DIR=../shared/datasets DATA_DIR=data scripts/datasets_doc.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${ORCHESTRION:-${CARGO_TARGET_DIR:-target}/debug/orchestrion}
DATA=${DATA_DIR:-data}
DATASETS=${DATASETS_DIR:-../shared/datasets}
DOC=docs/datasets.md

if [[ ! -x "$BIN" ]]; then
    echo "no orchestrion binary at $BIN: run 'cargo build --workspace' first" >&2
    exit 1
fi

# corpus folder → the recipe whose stats stand for it
CORPORA=(
    "pop909 recipes/corpus/pop909.toml"
    "jsb-chorales-music21 recipes/chorale.toml"
    "nottingham-folk recipes/folk.toml"
    "openscore-string-quartets recipes/symphony.toml"
    "freedoom-rock-midi recipes/corpus/freedoom-rock-midi.toml"
    "openmsx-jazz-blues-midi recipes/jazz.toml"
    "openscore-lieder recipes/corpus/openscore-lieder.toml"
    "openewld-pd-leadsheets recipes/corpus/openewld-pd-leadsheets.toml"
    "wjd-jazz-solos recipes/corpus/wjd-jazz-solos.toml"
    "groove-midi-drums recipes/corpus/groove-midi-drums.toml"
    "aws-deepcomposer-jsb-samples recipes/corpus/aws-deepcomposer-jsb-samples.toml"
)

generated=$(mktemp)
trap 'rm -f "$generated"' EXIT
for entry in "${CORPORA[@]}"; do
    read -r folder recipe <<<"$entry"
    name=$(basename "$recipe" .toml)
    if [[ ! -d "$DATASETS/$folder" ]]; then
        echo "skipping $folder: $DATASETS/$folder is absent" >&2
        continue
    fi
    echo "building $recipe → $DATA/$name" >&2
    "$BIN" dataset build "$recipe" -o "$DATA/$name" --datasets-dir "$DATASETS" --quiet >/dev/null
    {
        echo "### \`$folder\`"
        echo
        echo "Recipe \`$recipe\`, built with \`orchestrion dataset build $recipe -o data/$name\`."
        "$BIN" dataset info "$DATA/$name" --markdown
        echo
    } >>"$generated"
done

awk -v gen="$generated" '
    /<!-- BEGIN GENERATED: corpus tables -->/ { print; while ((getline line < gen) > 0) print line; skip = 1; next }
    /<!-- END GENERATED: corpus tables -->/ { skip = 0 }
    !skip { print }
' "$DOC" >"$DOC.tmp"
mv "$DOC.tmp" "$DOC"
echo "rewrote the generated part of $DOC" >&2
