#!/bin/bash
# usage: run.sh <seeds...>; each run: DCN, ALPT, rowwise-adagrad (sparse lr 0.05), 5 epochs max
cd "$(dirname "$0")/../.." && mkdir -p ${OUT:-/tmp/bt-frappe}
for seed in "$@"; do for bits in 8 4 2; do
  for setting in "adam-f32:--step-optimizer adam --step-dtype f32" "adagrad-f16:--step-optimizer adagrad --step-dtype f16" "sgd-f16:--step-optimizer sgd --step-dtype f16"; do
    name=${setting%%:*}; flags=${setting#*:}
    out=${OUT:-/tmp/bt-frappe}/$name-b$bits-s$seed.json
    [ -s $out ] && continue
    node bin/alpt.js train --data /work/shared/data/bench/frappe --format libfm --model dcn --embedding alpt --bits $bits --seed $seed \
      --epochs 5 --threads 1 --progress none --sparse-optimizer rowwise-adagrad --sparse-lr 0.05 $flags > $out.tmp 2>${OUT:-/tmp/bt-frappe}/$name-b$bits-s$seed.err && mv $out.tmp $out
  done
done; done
