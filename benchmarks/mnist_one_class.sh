#!/usr/bin/env bash
# MNIST one-class benchmark (issue 4, item 8): each baseline x the ten digits x seeds 0, 1 at budget=cpu
# with 1,000 training images per digit (900 train, 100 validate; the full 10,000-image test set), as
# results/mnist_one_class.md was made; budget.max_train_per_class=1000 pins that since budget=cpu uses
# every training image (issue 7).
# Two sequential Hydra multiruns side by side, one thread each (the machine has 2 shared cores); every
# job writes its metrics.json as soon as it ends, so an interrupted sweep loses nothing finished.
#   . .venv/bin/activate && bash benchmarks/mnist_one_class.sh   # ~25 min on 2 CPU cores (~3 h more with CLAD=1)
#   python -m benchmarks.mnist_one_class multirun/mnist_one_class   # -> results/mnist_one_class.{csv,md}
# CLAD=1 also runs CLAD with its defaults (budget=cpu: every training image of the digit) over seeds
# 0, 1, 2; about 5 min a run here, one thread.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-multirun/mnist_one_class}
mkdir -p "$OUT"
export CLAD_DATA=${CLAD_DATA:-$(cd .. && pwd)/shared/data} OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
common=(dataset=mnist split=one_class 'split.normal_class=range(10)' budget=cpu device=cpu budget.max_train_per_class=1000)
clad=(detector=clad dataset=mnist split=one_class 'split.normal_class=range(10)' budget=cpu device=cpu)
# Two workers of about equal length (the CLAD-autoencoder detectors take 20-60 s a run, the kernel ones seconds).
(
  python run.py -m detector=ocsvm,svdd,deepsvdd,ae_recon "${common[@]}" seed=0,1 hydra.sweep.dir="$OUT/a" > "$OUT/a.log" 2>&1
  python run.py -m detector=latent_kmeans "${common[@]}" seed=0,1 hydra.sweep.dir="$OUT/c" > "$OUT/c.log" 2>&1
  if [ "${CLAD:-0}" = 1 ]; then
    python run.py -m "${clad[@]}" seed=0 hydra.sweep.dir="$OUT/d0" > "$OUT/d0.log" 2>&1
    python run.py -m "${clad[@]}" seed=2 hydra.sweep.dir="$OUT/d2" > "$OUT/d2.log" 2>&1
  fi
) &
(
  python run.py -m detector=ocnn,occnn "${common[@]}" seed=0,1 hydra.sweep.dir="$OUT/b" > "$OUT/b.log" 2>&1
  if [ "${CLAD:-0}" = 1 ]; then
    python run.py -m "${clad[@]}" seed=1 hydra.sweep.dir="$OUT/d1" > "$OUT/d1.log" 2>&1
  fi
) &
wait
