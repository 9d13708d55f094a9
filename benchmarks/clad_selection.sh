#!/usr/bin/env bash
# CLAD's defaults, chosen on the development set (issue 7): each variant below on the three embedded
# digits scenarios x seeds 0, 1, 2, one line per fit in results/clad_selection/dev_digits.jsonl
# (held-out pseudo-label accuracy, cluster shares, losses, and the dev-set AUROC of msp/odin/energy).
#   . .venv/bin/activate && bash benchmarks/clad_selection.sh   # ~15 min on 2 CPU cores (one job at a time, 1 thread)
#   python -m benchmarks.clad_report results/clad_selection/dev_digits.jsonl > results/clad_selection/dev_digits.md
# The variants are the candidates of results/selection_log.md; `default` is the frozen configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/clad_selection/dev_digits.jsonl}
mkdir -p "$(dirname "$OUT")"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
variant() {
  local name=$1; shift
  for split in digits_cur digits_str digits_mix; do
    for seed in 0 1 2; do
      if [ -f "$OUT" ] && grep -q "\"name\": \"$name\", \"overrides\": \[\"split=$split\", \"seed=$seed\"" "$OUT"; then continue; fi  # resume
      python -m benchmarks.clad_diagnosis --name "$name" --out "$OUT" --threads 1 -- "split=$split" "seed=$seed" "$@"
    done
  done
}
variant default
variant cnn_avg_head classifier=cnn classifier.head=avg  # classifier=cnn: the default is by_shape since session 24 (the cnn at 8x8)
variant conv_classifier classifier=conv
variant cosine_schedule detector.schedule=cosine
variant small_autoencoder 'detector.ae_channels=[16,32,64]' detector.ae_hidden=256
variant no_dec cluster=faiss
