#!/usr/bin/env bash
# Meta-learner benchmark: meta-train MAML, FOMAML, BMAML and the deep-kernel GP (selection and
# post-hoc calibration on validation tasks only), then evaluate them with ProtoNet and the
# support-only baselines on identical support draws, 10 seeds.
#   stage "moleculeace": few-shot regression on the 9 MoleculeACE test targets, support 16/32/64,
#                        baselines rf, knn, gp_tanimoto
#   stage "fewshot":     few-shot MoleculeNet classification, 1- and 10-shot, on $DATASETS,
#                        with the ProtoNet checkpoints of benchmarks/fewshot_moleculenet.sh and
#                        the baselines in $BASELINES (rf and knn were run by that script)
# Checkpoints go to runs/<learner>-<dataset> (an existing one is reused, so the script resumes;
# MAML/FOMAML/BMAML runs come from benchmarks/meta_selection.sh, which picks their meta-training
# settings on validation tasks; the MoleculeACE deep-kernel GP gets its test-time adapt_steps
# from `sciml select` on the validation targets);
# results to benchmarks/results/{moleculeace,fewshot_moleculenet}{.json,.md,_episodes.csv.gz,_training.json}.
# Usage: bash benchmarks/meta_learners.sh [moleculeace|fewshot|all]   (needs `sciml` on PATH)
set -euo pipefail
STAGE=${1:-all}
DATASETS=${DATASETS:-"tox21 sider muv toxcast"}
LEARNERS=${LEARNERS:-"dkgp maml bmaml fomaml"}
BASELINES=${BASELINES:-"gp_tanimoto"}
# A smaller GINE than the ProtoNet benchmark (256 wide, 5 deep) keeps four learners x five
# datasets affordable on 2 CPU cores and the app's adapt-and-predict fast.
ENC="--hidden 128 --depth 4 --out-dim 128"
# The MoleculeACE deep-kernel GP adds a Tanimoto kernel on a 2048-bit Morgan fingerprint to
# the kernel on the embedding (chosen over the plain kernel on the validation targets:
# best validation R2 of the two runs, see moleculeace_training.json). The few-shot
# MoleculeNet deep-kernel GPs use the plain kernel.
mkdir -p runs/logs benchmarks/results/checkpoints

train() {  # dataset learner extra-args...
  local ds=$1 ln=$2; shift 2
  local extra=()
  if [ "$ln" = dkgp ] && [ "$ds" = moleculeace ]; then
    extra=(--fingerprint-bits 2048 --learner-config '{"fingerprint_kernel": true}')
  fi
  if [ -f "runs/$ln-$ds/config.json" ]; then echo "reusing runs/$ln-$ds"
  elif [ "$ln" != dkgp ]; then  # MAML, FOMAML, BMAML: meta-training settings chosen on validation
    DATASETS=$ds LEARNERS=$ln bash benchmarks/meta_selection.sh
  else
    sciml train --dataset "$ds" --learner "$ln" --out "runs/$ln-$ds" $ENC "${extra[@]}" --seed 0 "$@" \
      > "runs/logs/train-$ln-$ds.log" 2>&1
    tail -n 1 "runs/logs/train-$ln-$ds.log"
  fi
  if [ "$ln" = dkgp ] && [ "$ds" = moleculeace ] && ! grep -q '"test_time"' "runs/$ln-$ds/config.json"; then
    # test-time hyperparameter refits on the support set, chosen on the validation targets
    sciml select --checkpoint "runs/$ln-$ds" --dataset "$ds" --grid '{"adapt_steps": [0, 10, 50, 200]}' \
      --results-dir benchmarks/results/selection > "runs/logs/select-$ln-$ds.log" 2>&1
    tail -n 8 "runs/logs/select-$ln-$ds.log"
  fi
  cp "runs/$ln-$ds/config.json" "benchmarks/results/checkpoints/$ln-$ds.json"
}
csv() { echo "$*" | tr ' ' ','; }

if [ "$STAGE" = moleculeace ] || [ "$STAGE" = all ]; then
  for ln in $LEARNERS; do
    train moleculeace "$ln" --steps 800 --eval-every 100 --patience 3 --k-shot 16 --kshot-choices 16,32,64 --n-query 32
  done
  sciml evaluate --datasets moleculeace --learners "$(csv $LEARNERS),rf,knn,gp_tanimoto" --seeds 10 \
    --checkpoint 'runs/{learner}-{dataset}' --results-dir benchmarks/results > runs/logs/evaluate-moleculeace.log 2>&1
  tail -n 20 runs/logs/evaluate-moleculeace.log
fi

if [ "$STAGE" = fewshot ] || [ "$STAGE" = all ]; then
  for ds in $DATASETS; do
    for ln in $LEARNERS; do
      train "$ds" "$ln" --steps 600 --eval-every 100 --patience 3
    done
    sciml evaluate --datasets "$ds" --learners "protonet,$(csv $LEARNERS),$(csv $BASELINES)" \
      --shots 1,10 --seeds 10 --checkpoint 'runs/{learner}-{dataset}' --results-dir benchmarks/results \
      > "runs/logs/evaluate-$ds.log" 2>&1
    tail -n 12 "runs/logs/evaluate-$ds.log"
  done
fi
