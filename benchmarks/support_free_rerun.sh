#!/usr/bin/env bash
# Re-run the older protocols' tables with support-free rows and adaptation gains: re-train each
# published checkpoint from the command its training record holds (benchmarks/rerun_recorded.py,
# JOBS trainings at once), then evaluate the meta-learners again on the same support draws.
#   few-shot MoleculeNet (tox21 sider muv toxcast): protonet, maml, fomaml, bmaml, dkgp at 1 and 10 shots
#   moleculeace: maml, fomaml, bmaml, dkgp at 16/32/64 (the deep-kernel GP's test-time adapt_steps
#                chosen on the validation targets by `sciml select`) and the two MiniMol anchors
# Records merge into benchmarks/results/{fewshot_moleculenet,moleculeace}.json (+ .md, episodes);
# the support-only baselines' rows already there are kept. Checkpoints go to runs/<learner>-<dataset>.
# Usage: JOBS=2 bash benchmarks/support_free_rerun.sh sider toxcast moleculeace   (needs `sciml` on PATH)
set -euo pipefail
JOBS=${JOBS:-2}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
mkdir -p runs/logs benchmarks/results/checkpoints
for ds in "$@"; do
  if [ "$ds" = moleculeace ]; then
    python benchmarks/rerun_recorded.py --training benchmarks/results/moleculeace_training.json --jobs "$JOBS"
    if ! grep -q '"test_time"' runs/dkgp-moleculeace/config.json; then
      sciml select --checkpoint runs/dkgp-moleculeace --dataset moleculeace \
        --grid '{"adapt_steps": [0, 10, 50, 200]}' --results-dir benchmarks/results/selection
    fi
    sciml evaluate --datasets moleculeace --learners maml,fomaml,bmaml,dkgp,minimol_gp,multitask_minimol \
      --seeds 10 --checkpoint 'runs/{learner}-{dataset}' --results-dir benchmarks/results
    learners="maml fomaml bmaml dkgp"
  else
    python benchmarks/rerun_recorded.py --training benchmarks/results/fewshot_moleculenet_training.json \
      --datasets "$ds" --jobs "$JOBS"
    sciml evaluate --datasets "$ds" --learners protonet,maml,fomaml,bmaml,dkgp --shots 1,10 --seeds 10 \
      --checkpoint 'runs/{learner}-{dataset}' --results-dir benchmarks/results
    learners="maml fomaml bmaml dkgp"
    cp "runs/protonet-$ds/config.json" "benchmarks/results/fewshot_moleculenet_checkpoints/$ds.json"
  fi
  for ln in $learners; do cp "runs/$ln-$ds/config.json" "benchmarks/results/checkpoints/$ln-$ds.json"; done
done
