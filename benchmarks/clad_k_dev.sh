#!/usr/bin/env bash
# CLAD's number of clusters k on the development set (issue 7): every stage-4 score of one CLAD fit per
# (digits scenario, seed, k), at 8x8 and at MNIST's 28x28. Resumes: a k whose JSON exists is skipped.
# Two workers, one torch thread each (~16 min for the 8x8 column and ~? for 28x28 on 2 cores), then the table:
#   bash benchmarks/clad_k_dev.sh
#   python -m benchmarks.clad_k_dev results/clad_k_dev/*.json > results/clad_k_dev/README.md
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
out=results/clad_k_dev
mkdir -p "$out"
one() {  # size k (size null: the native 8x8)
    local file="$out/size$1_k$2"
    [ -f "$file.json" ] && return 0
    python -m benchmarks.clad_plus_dev --out "$file" -- "dataset.image_size=$1" "detector.n_clusters=$2" \
        > "$file.log" 2>&1
}
(for k in 10 5 3 20; do one null "$k"; done) &
(for k in 10 5 3 20; do one 28 "$k"; done) &
wait
