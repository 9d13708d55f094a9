#!/usr/bin/env bash
# Every table and figure of results/, in order, each step resuming where it stopped (a finished run
# is never run again: experiments resume by config hash, the scripts skip finished jobs). results/REPRODUCE.md
# lists what each step makes and how long it took here (2 CPU cores, no GPU).
#   . .venv/bin/activate && nohup bash benchmarks/reproduce.sh > reproduce.log 2>&1 &
#   STEPS="digits ablation_digits" bash benchmarks/reproduce.sh      # some steps only
set -euo pipefail
cd "$(dirname "$0")/.."
export CLAD_DATA=${CLAD_DATA:-$(cd .. && pwd)/shared/data}
STEPS=${STEPS:-"data_load selection digits ablation_digits table1_mnist mnist_one_class neural_one_class ocnn_linear diagnosis clad_k_dev clad_plus_dev clad_plus ablation_scores table1_gtsrb table2_cifar10 cifar10_five_class bench bench_bf16_cpu launchers"}
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
if step neural_one_class; then  # OCCNN and OC-NN with issue 13's defaults (seed outermost: stopping early keeps whole seeds)
  one_thread python run.py experiment=table3_mnist_one_class_neural detector=occnn threads=1
  # OC-NN at its default, g = linear since session 19 (results/baselines_diagnosis.md, part 10)
  one_thread python run.py experiment=table3_mnist_one_class_neural detector=ocnn detector.activation=linear threads=1 \
    hydra.sweep.dir=multirun/table3_mnist_one_class_neural_ocnn_linear
  python -m benchmarks.mnist_one_class multirun/table3_mnist_one_class multirun/table3_mnist_one_class_clad \
    multirun/table3_mnist_one_class_neural multirun/table3_mnist_one_class_neural_ocnn_linear
fi
if step ocnn_linear; then  # issue 13: OC-NN's g = linear against the sigmoid, MNIST one-class (baselines_diagnosis.md, parts 9-10)
  one_thread python run.py experiment=table3_mnist_one_class_neural detector=ocnn detector.activation=sigmoid threads=1 \
    hydra.sweep.dir=multirun/table3_mnist_one_class_neural_ocnn_sigmoid
  python -m benchmarks.mnist_one_class multirun/table3_mnist_one_class_neural_ocnn_linear --out results/ocnn_linear_mnist/mnist_one_class
  python -m benchmarks.mnist_one_class multirun/table3_mnist_one_class_neural_ocnn_sigmoid --out results/ocnn_linear_mnist/sigmoid
  python -m benchmarks.ocnn_compare multirun/table3_mnist_one_class_neural_ocnn_linear \
    --baseline results/ocnn_linear_mnist/sigmoid_runs.csv --out results/ocnn_linear_mnist/compare
fi
if step diagnosis; then
  bash benchmarks/clad_diagnosis.sh
  python -m benchmarks.clad_report results/clad_diagnosis/mnist.jsonl > results/clad_diagnosis/mnist.md
fi
if step clad_k_dev; then  # issue 7: CLAD's k and classifier on the development set, 8x8 and 28x28 (results/selection_log.md, sessions 22-24)
  bash benchmarks/clad_k_dev.sh   # ~1 h on 2 cores
  ROWS="null:10:resnet/16 28:10:resnet/16" bash benchmarks/clad_k_dev.sh   # ~1 h
  SEEDS="3 4 5" ROWS="28:10" bash benchmarks/clad_k_dev.sh   # the confirmatory test's cnn row (~35 min; it failed on time, its ResNet row never ran)
  SEEDS="3 4 5" ROWS="28:10:resnet/16/1111 28:10:resnet/16" bash benchmarks/clad_k_dev.sh   # session 24's rule (~35 and ~50 min on an Intel Xeon)
  python -m benchmarks.clad_k_dev results/clad_k_dev/*.json > results/clad_k_dev/README.md
fi
if step clad_plus_dev; then  # the development set behind CLAD+ (results/selection_log.md, session 4)
  python -m benchmarks.clad_plus_dev --out results/clad_plus_dev
  python -m benchmarks.clad_plus_dev --out results/clad_plus_dev_28px --seeds 0 --kind multi-class -- dataset.image_size=28
fi
if step clad_plus; then  # CLAD+ on MNIST, fits saved for the rescoring ablations; beside the faithful CLAD and baselines
  one_thread python run.py experiment=table1_mnist_clad_plus hydra/launcher=parallel
  python sweep.py multirun/table1_mnist_script multirun/table1_mnist_clad_plus --paper --out results/table1_mnist_clad_plus
fi
if step ablation_scores; then  # every score and ODIN's T x eps on those fits, no training
  one_thread python run.py experiment=ablation_confidence
  python sweep.py multirun/ablation_confidence --by split score._target_ --x score._target_ \
    --plot results/ablation_confidence/auroc_by_score.png --out results/ablation_confidence
  one_thread python run.py experiment=ablation_odin
  python sweep.py multirun/ablation_odin --by split score.temperature score.epsilon --x score.epsilon \
    --plot results/ablation_odin/auroc_vs_eps.png --out results/ablation_odin
fi
if step table1_gtsrb; then  # in pieces, as results/table1_gtsrb/README.md ran it: CLAD fits saved, CLAD+ rescored from them
  one_thread python run.py experiment=table1_gtsrb detector=clad save_model=true threads=1
  one_thread python run.py experiment=table1_gtsrb detector=clad_plus rescore=multirun/table1_gtsrb threads=1 hydra.sweep.dir=multirun/table1_gtsrb_clad_plus
  one_thread python run.py experiment=table1_gtsrb detector=ocsvm,svdd threads=1 hydra.sweep.dir=multirun/table1_gtsrb_kernel
  one_thread python run.py experiment=table1_gtsrb detector=deepsvdd threads=1 hydra.sweep.dir=multirun/table1_gtsrb_deepsvdd
  one_thread python run.py experiment=table1_gtsrb detector=ae_recon,latent_kmeans threads=1 hydra.sweep.dir=multirun/table1_gtsrb_ae
  # sessions 8-10 (results/table1_gtsrb/README.md): OCCNN, and the autoencoder baselines' seeds the first sweep had not reached
  one_thread python run.py experiment=table1_gtsrb detector=occnn seed=0 threads=1 hydra.sweep.dir=multirun/table1_gtsrb_occnn
  one_thread python run.py experiment=table1_gtsrb detector=ae_recon,latent_kmeans seed=1 split=gtsrb_warn,gtsrb_dirc,gtsrb_spec,gtsrb_regn threads=1 hydra.sweep.dir=multirun/table1_gtsrb_ae_s1
  one_thread python run.py experiment=table1_gtsrb detector=ae_recon,latent_kmeans seed=2 threads=1 hydra.sweep.dir=multirun/table1_gtsrb_ae_s2
  one_thread python run.py experiment=table1_gtsrb detector=occnn seed=1 threads=1 hydra.sweep.dir=multirun/table1_gtsrb_occnn_s1
  one_thread python run.py experiment=table1_gtsrb detector=occnn seed=2 threads=1 hydra.sweep.dir=multirun/table1_gtsrb_occnn_s2
  # sessions 14-16: OC-NN, seeds 0, 1, 2, with g = sigmoid (OC-NN's default then; linear since session 19)
  for S in gtsrb_spdl gtsrb_inst gtsrb_warn gtsrb_dirc gtsrb_spec gtsrb_regn; do
    one_thread python run.py experiment=table1_gtsrb detector=ocnn detector.activation=sigmoid seed=0 split=$S threads=1 hydra.sweep.dir=multirun/table1_gtsrb_ocnn_$S
    one_thread python run.py experiment=table1_gtsrb detector=ocnn detector.activation=sigmoid seed=1 split=$S threads=1 hydra.sweep.dir=multirun/table1_gtsrb_ocnn_${S}_s1
    one_thread python run.py experiment=table1_gtsrb detector=ocnn detector.activation=sigmoid seed=2 split=$S threads=1 hydra.sweep.dir=multirun/table1_gtsrb_ocnn_${S}_s2
  done
  python sweep.py multirun/table1_gtsrb multirun/table1_gtsrb_clad_plus multirun/table1_gtsrb_kernel multirun/table1_gtsrb_deepsvdd multirun/table1_gtsrb_ae \
    multirun/table1_gtsrb_occnn multirun/table1_gtsrb_ae_s1 multirun/table1_gtsrb_ae_s2 multirun/table1_gtsrb_occnn_s1 \
    multirun/table1_gtsrb_occnn_s2 multirun/table1_gtsrb_ocnn_gtsrb_{spdl,inst,warn,dirc,spec,regn} \
    multirun/table1_gtsrb_ocnn_gtsrb_{spdl,inst,warn,dirc,spec,regn}_s1 \
    multirun/table1_gtsrb_ocnn_gtsrb_{spdl,inst,warn,dirc,spec,regn}_s2 --paper --out results/table1_gtsrb
fi
# The OC-NN cells of GTSRB's Table 1 and of the five-class CIFAR-10 table ran with g = sigmoid, OC-NN's default
# before session 19: their commands say detector.activation=sigmoid (drop it to re-run them at the current default).
# Table 1 MNIST (session 20) and Table 2 CIFAR-10 THG / LIV (session 21) were re-run at g = linear.
if step table2_cifar10; then  # THG and LIV, in pieces as results/table2_cifar10/README.md ran them
  T2="python run.py experiment=table2_cifar10 threads=1"
  one_thread $T2 detector=clad save_model=true
  one_thread $T2 detector=clad_plus rescore=multirun/table2_cifar10 hydra.sweep.dir=multirun/table2_cifar10_clad_plus
  # seed=0: the recorded sweep swept seeds 0-2 and was stopped after seed 0 (the README of results/table2_cifar10)
  one_thread $T2 detector=ocsvm,svdd,deepsvdd,ae_recon,latent_kmeans seed=0 hydra.sweep.dir=multirun/table2_cifar10_baselines
  one_thread $T2 detector=deepsvdd seed=1,2 hydra.sweep.dir=multirun/table2_cifar10_deepsvdd
  one_thread $T2 detector=ocsvm,svdd,ae_recon,latent_kmeans seed=1,2 hydra.sweep.dir=multirun/table2_cifar10_other
  one_thread $T2 detector=occnn hydra.sweep.dir=multirun/table2_cifar10_occnn
  # OC-NN at g = linear (session 21), in three pieces as they ran on two workers
  one_thread $T2 detector=ocnn split=cifar10_thg seed=0,1,2 hydra.sweep.dir=multirun/table2_cifar10_ocnn_linear_thg
  one_thread $T2 detector=ocnn split=cifar10_liv seed=0,1 hydra.sweep.dir=multirun/table2_cifar10_ocnn_linear_liv
  one_thread $T2 detector=ocnn split=cifar10_liv seed=2 hydra.sweep.dir=multirun/table2_cifar10_ocnn_linear_liv_s2
  python sweep.py multirun/table2_cifar10 multirun/table2_cifar10_clad_plus multirun/table2_cifar10_baselines \
    multirun/table2_cifar10_deepsvdd multirun/table2_cifar10_other multirun/table2_cifar10_occnn \
    multirun/table2_cifar10_ocnn_linear_{thg,liv,liv_s2} --paper --out results/table2_cifar10
  one_thread python run.py experiment=ablation_confidence_cifar10 threads=1
  python sweep.py multirun/ablation_confidence_cifar10 --by split score._target_ --x score._target_ \
    --plot results/ablation_confidence_cifar10/auroc_by_score.png --out results/ablation_confidence_cifar10
fi
if step cifar10_five_class; then  # five normal classes; seeds 0, 1, 2 (sessions 11-14)
  for S in 0 1 2; do
    X=$([ "$S" = 0 ] || echo "_s$S")  # seed 0's folders have no suffix
    F="python run.py experiment=cifar10_five_class seed=$S threads=1"
    one_thread $F detector=clad save_model=true hydra.sweep.dir=multirun/cifar10_five_class$X
    one_thread $F detector=clad_plus rescore=multirun/cifar10_five_class$X hydra.sweep.dir=multirun/cifar10_five_class_clad_plus$X
    one_thread $F detector=deepsvdd hydra.sweep.dir=multirun/cifar10_five_class_deepsvdd$X
    one_thread $F detector=ocsvm,svdd,ae_recon,latent_kmeans hydra.sweep.dir=multirun/cifar10_five_class_baselines$X
    one_thread $F detector=occnn hydra.sweep.dir=multirun/cifar10_five_class_occnn$X
    one_thread $F detector=ocnn detector.activation=sigmoid hydra.sweep.dir=multirun/cifar10_five_class_ocnn$X
  done
  python sweep.py multirun/cifar10_five_class{,_s1,_s2} multirun/cifar10_five_class_{clad_plus,deepsvdd,baselines,occnn,ocnn}{,_s1,_s2} \
    --out results/cifar10_five_class
fi
if step bench; then  # the suite's own speed; on an otherwise idle machine
  python -m benchmarks.bench
  python -m benchmarks.bench --skip-micro --e2e ocsvm svdd --growth deepsvdd clad --threads 1 --out results/benchmarks_e2e
  # CLAD's plain, fast and bf16 paths end to end on mnist_cur, seeds 0-2 (~40 min on 2 cores with AMX)
  python -m benchmarks.bench --skip-micro --e2e clad:plain clad clad:bf16 --seeds 0 1 2 --out results/benchmarks_e2e_precision
  # the fast path and bf16 again with the classifier NHWC under bf16 (session 21; ~22 min)
  python -m benchmarks.bench --skip-micro --e2e clad clad:bf16 --seeds 0 1 2 --out results/benchmarks_e2e_bf16_nhwc
fi
if step bench_bf16_cpu; then  # CPU training under bf16 autocast beside float32 (pays on CPUs with AMX); idle machine
  python -m benchmarks.bench_bf16_cpu --steps 80   # session 21's run: an Intel Xeon with AMX
  # session 22's run on a 2-core AMD EPYC without AMX (with the float32 NHWC-classifier row)
  # python -m benchmarks.bench_bf16_cpu --steps 80 --out results/bench_bf16_cpu_epyc
  # and with the float32 fast path through torch.compile (needs a C++ compiler; ~6 min)
  # python -m benchmarks.bench_bf16_cpu --steps 80 --compile --out results/bench_compile_cpu
fi

if step launchers; then  # experiment=table1_mnist budget=smoke under the basic and the joblib launcher; idle machine
  python -m benchmarks.launcher_timing
fi
