#!/usr/bin/env bash
# Full few-shot MoleculeNet benchmark: meta-train one ProtoNet per dataset (selection on
# validation tasks only), then evaluate ProtoNet, RF and k-NN on identical support draws
# (10 seeds, 1- and 10-shot). Writes benchmarks/results/fewshot_moleculenet.{json,md}.
# Usage: bash benchmarks/fewshot_moleculenet.sh [steps]   (CPU: about 1 hour on 2 cores)
set -euo pipefail
STEPS=${1:-1500}
DATASETS=${DATASETS:-"tox21 sider muv toxcast"}
mkdir -p runs/logs
for ds in $DATASETS; do
  sciml train --dataset "$ds" --out "runs/protonet-$ds" --steps "$STEPS" --eval-every 150 --patience 4 --seed 0 \
    2>&1 | tee "runs/logs/train-$ds.log"
done
sciml evaluate --datasets "$(echo $DATASETS | tr ' ' ',')" --learners protonet,rf,knn --shots 1,10 --seeds 10 \
  --checkpoint 'runs/protonet-{dataset}' --results-dir benchmarks/results 2>&1 | tee runs/logs/evaluate.log
# Keep each checkpoint's config (training command, validation tasks, history) beside the results.
mkdir -p benchmarks/results/fewshot_moleculenet_checkpoints
for ds in $DATASETS; do cp "runs/protonet-$ds/config.json" "benchmarks/results/fewshot_moleculenet_checkpoints/$ds.json"; done
