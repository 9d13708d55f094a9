#!/usr/bin/env bash
# CLAD's number of clusters k and its classifier network on the development set (issue 7): every stage-4 score of
# one CLAD fit per (digits scenario, seed, row), at 8x8 and at MNIST's 28x28 (39 fits a row: 3 multi-class and
# 10 one-class scenarios x seeds 0-2). Two workers take the rows in order, one torch thread each; on 2 cores an 8x8 row takes
# ~5 min, a 28x28 row ~35-45 min (WORKERS=1: one worker). Resumes: a row whose JSON exists, or that a worker has claimed, is skipped
# (delete results/clad_k_dev/*.lock of a killed run). Then the table:
#   bash benchmarks/clad_k_dev.sh
#   python -m benchmarks.clad_k_dev results/clad_k_dev/*.json > results/clad_k_dev/README.md
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
out=results/clad_k_dev
mkdir -p "$out"
# size:k[:classifier/width[/blocks]] (size null: the native 8x8; no classifier: the cnn, passed as classifier=cnn
# since the default became by_shape in session 24; blocks: one digit a stage, e.g. resnet/16/1111 for one BasicBlock
# a stage). Session 22 ran the eight
# k rows, 28:3 and 28:20 last (k = 3 and 20 had already lost at 8x8, so they could not change the decision of
# results/selection_log.md); session 23 the ResNet rows:
#   ROWS="null:10:resnet/16 28:10:resnet/16" bash benchmarks/clad_k_dev.sh
# and session 24 the one-block ResNet and the ResNet-16 on fresh seeds (results/selection_log.md, session 24):
#   SEEDS="3 4 5" ROWS="28:10:resnet/16/1111 28:10:resnet/16" bash benchmarks/clad_k_dev.sh
ROWS=${ROWS:-"null:10 28:10 null:5 null:3 null:20 28:5 28:3 28:20"}
# SEEDS other than "0 1 2" go into the file name (session 23's confirmatory row: SEEDS="3 4 5" ROWS="28:10").
SEEDS=${SEEDS:-"0 1 2"}
for row in $ROWS; do  # checked before any fit starts
    if ! [[ $row =~ ^[^:]+:[0-9]+(:[a-z]+/[0-9]+(/[0-9]+)?)?$ ]]; then
        echo "row $row: expected size:k, size:k:classifier/width or size:k:classifier/width/blocks" \
            "(e.g. 28:10:resnet/16 or 28:10:resnet/16/1111)" >&2
        exit 2
    fi
done
worker() {
    for row in $ROWS; do
        local size k net file overrides name width blocks
        IFS=: read -r size k net <<< "$row"
        file="$out/size${size}_k${k}"
        overrides=("dataset.image_size=$size" "detector.n_clusters=$k")
        if [ -z "$net" ]; then
            overrides+=("classifier=cnn")
        else
            IFS=/ read -r name width blocks <<< "$net"
            file="${file}_${name}${width}"
            overrides+=("classifier=$name" "classifier.width=$width")
            if [ -n "$blocks" ]; then  # 1111 -> classifier.blocks=[1,1,1,1]
                file="${file}b${blocks}"
                overrides+=("classifier.blocks=[$(echo "$blocks" | sed 's/./&,/g; s/,$//')]")
            fi
        fi
        [ "$SEEDS" = "0 1 2" ] || file="${file}_seeds${SEEDS// /}"
        [ -f "$file.json" ] && continue
        mkdir "$file.lock" 2>/dev/null || continue
        # shellcheck disable=SC2086  # SEEDS: one word a seed
        python -m benchmarks.clad_plus_dev --out "$file" --seeds $SEEDS -- "${overrides[@]}" > "$file.log" 2>&1
        rmdir "$file.lock"
    done
}
for _ in $(seq "${WORKERS:-2}"); do
    worker &
    sleep 1
done
wait
