#!/bin/bash
# Memory-light Δ settings on Frappe (docs/big-tables.md §4, issue 11).
# usage: [OUT=dir] [BITS="8 4 2"] [SETTINGS="name:flags;name:flags"] frappe-light-grid.sh <seeds...>
# Each run: DCN, ALPT, row-wise Adagrad on the weights (sparse lr 0.05), 5 epochs at most, 1 thread,
# niced; only Δ's storage/optimizer/learning rate change. Writes $OUT/<name>-b<bits>-s<seed>.json
# (the train summary) and keeps the run folder (summary.json with the Δ histogram) beside it; runs
# whose JSON exists are skipped. Table: scripts/big-tables/frappe-light-table.py $OUT.
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/bt-light}; mkdir -p "$OUT"
SETTINGS=${SETTINGS:-"adam-f32:--step-optimizer adam --step-dtype f32;sgd-f16:--step-optimizer sgd --step-dtype f16"}
IFS=';' read -ra LIST <<< "$SETTINGS"
for seed in "$@"; do for bits in ${BITS:-8 4 2}; do for setting in "${LIST[@]}"; do
  name=${setting%%:*}; flags=${setting#*:}
  base=$OUT/$name-b$bits-s$seed
  [ -s "$base.json" ] && continue
  # shellcheck disable=SC2086
  nice -n 19 node bin/alpt.js train --data /work/shared/data/bench/frappe --format libfm --model dcn --embedding alpt \
    --bits "$bits" --seed "$seed" --epochs 5 --threads 1 --progress none \
    --sparse-optimizer rowwise-adagrad --sparse-lr 0.05 $flags --out "$base.run" \
    > "$base.json.tmp" 2> "$base.err" && mv "$base.json.tmp" "$base.json"
done; done; done
