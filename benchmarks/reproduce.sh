#!/usr/bin/env bash
# Every table and figure of results/, in order, each step resuming where it stopped (a finished run
# is never run again: experiments resume by config hash, the scripts skip finished jobs). results/REPRODUCE.md
# lists what each step makes and how long it took here (2 CPU cores, no GPU).
#   . .venv/bin/activate && nohup bash benchmarks/reproduce.sh > reproduce.log 2>&1 &
#   STEPS="digits ablation_digits" bash benchmarks/reproduce.sh      # some steps only
set -euo pipefail
cd "$(dirname "$0")/.."
export CLAD_DATA=${CLAD_DATA:-$(cd .. && pwd)/shared/data}
STEPS=${STEPS:-"data_load selection digits ablation_digits table1_mnist mnist_one_class diagnosis"}
step() { [[ " $STEPS " == *" $1 "* ]]; }
one_thread() { OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$@"; }

if step data_load; then
  python benchmarks/bench_data_load.py --repeats 3
fi
if step selection; then  # the development set: every frozen default of CLAD (results/selection_log.md)
  bash benchmarks/clad_selection.sh
  python -m benchmarks.clad_report results/clad_selection/dev_digits.jsonl > results/clad_selection/dev_digits.md
fi
if step digits; then
  one_thread python run.py -m seed=0,1,2,3,4 hydra.sweep.dir=multirun/digits_cur_clad
  python sweep.py multirun/digits_cur_clad --out results/digits_cur_clad
fi
if step ablation_digits; then
  one_thread python run.py experiment=ablation_clusters_digits hydra/launcher=parallel
  python sweep.py multirun/ablation_clusters_digits --by split detector.n_clusters --x detector.n_clusters \
    --plot results/ablation_clusters_digits/auroc_vs_k.png --out results/ablation_clusters_digits
fi
if step table1_mnist; then
  bash benchmarks/table1_mnist.sh
  python -m benchmarks.table1_mnist multirun/table1_mnist_script
  python sweep.py multirun/table1_mnist_script --paper --out results/table1_mnist/report
fi
if step mnist_one_class; then
  one_thread python run.py experiment=table3_mnist_one_class_clad hydra/launcher=parallel
  one_thread python run.py experiment=table3_mnist_one_class hydra/launcher=parallel
  python -m benchmarks.mnist_one_class multirun/table3_mnist_one_class multirun/table3_mnist_one_class_clad
fi
if step diagnosis; then
  bash benchmarks/clad_diagnosis.sh
  python -m benchmarks.clad_report results/clad_diagnosis/mnist.jsonl > results/clad_diagnosis/mnist.md
fi
