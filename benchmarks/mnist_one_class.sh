#!/usr/bin/env bash
# MNIST one-class benchmark (issue 4, item 8): each detector x the ten digits x seeds 0, 1 at budget=cpu
# (1,000 training images per digit, of which 900 train and 100 validate; the full 10,000-image test set).
# Two sequential Hydra multiruns side by side, one thread each (the machine has 2 shared cores); every
# job writes its metrics.json as soon as it ends, so an interrupted sweep loses nothing finished.
#   CLAD=1 bash benchmarks/mnist_one_class.sh                       # ~50 min on 2 CPU cores (~25 without CLAD=1)
#   python -m benchmarks.mnist_one_class multirun/mnist_one_class   # -> results/mnist_one_class.{csv,md}
# CLAD=1 also runs CLAD, at 20 + 20 + 20 epochs (as budget=cpu now has; about 2 min a run here).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-multirun/mnist_one_class}
mkdir -p "$OUT"
export CLAD_DATA=${CLAD_DATA:-$(cd .. && pwd)/shared/data} OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
common=(dataset=mnist split=one_class 'split.normal_class=range(10)' budget=cpu device=cpu)
clad=(detector=clad budget.pretrain_epochs=20 budget.cluster_epochs=20 budget.train_epochs=20)
# Two workers of about equal length (the CLAD-autoencoder detectors take 20-60 s a run, the kernel ones seconds).
(
  python run.py -m detector=ocsvm,svdd,deepsvdd,ae_recon "${common[@]}" seed=0,1 hydra.sweep.dir="$OUT/a" > "$OUT/a.log" 2>&1
  python run.py -m detector=latent_kmeans "${common[@]}" seed=0,1 hydra.sweep.dir="$OUT/c" > "$OUT/c.log" 2>&1
  if [ "${CLAD:-0}" = 1 ]; then
    python run.py -m "${clad[@]}" "${common[@]}" seed=0 hydra.sweep.dir="$OUT/d0" > "$OUT/d0.log" 2>&1
  fi
) &
(
  python run.py -m detector=ocnn,occnn "${common[@]}" seed=0,1 hydra.sweep.dir="$OUT/b" > "$OUT/b.log" 2>&1
  if [ "${CLAD:-0}" = 1 ]; then
    python run.py -m "${clad[@]}" "${common[@]}" seed=1 hydra.sweep.dir="$OUT/d1" > "$OUT/d1.log" 2>&1
  fi
) &
wait
