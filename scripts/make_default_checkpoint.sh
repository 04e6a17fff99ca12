#!/usr/bin/env bash
# Re-create the shipped default checkpoint data/checkpoints/default: the deep-kernel GP
# (kernel = RBF on the meta-learned embedding + Tanimoto on a 2048-bit Morgan fingerprint)
# meta-trained by this project's pipeline on the 17 MoleculeACE train targets (early
# stopping and post-hoc interval calibration on the 4 validation targets; the 9 test targets
# are never read; test-time adapt_steps chosen on the validation targets too), then write its model card from its config.json and the benchmark records.
# This is the same run as `bash benchmarks/meta_learners.sh moleculeace` makes for dkgp.
# Usage: bash scripts/make_default_checkpoint.sh      (needs ../shared/data; ~10 min on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
if [ ! -f runs/dkgp-moleculeace/config.json ]; then
  sciml train --dataset moleculeace --learner dkgp --learner-config '{"fingerprint_kernel": true}' \
    --fingerprint-bits 2048 --out runs/dkgp-moleculeace --hidden 128 --depth 4 --out-dim 128 \
    --seed 0 --steps 800 --eval-every 100 --patience 3 --k-shot 16 --kshot-choices 16,32,64 --n-query 32
fi
if ! grep -q '"test_time"' runs/dkgp-moleculeace/config.json; then
  # test-time hyperparameter refits (adapt_steps) chosen on the validation targets; refits the calibration
  sciml select --checkpoint runs/dkgp-moleculeace --dataset moleculeace --grid '{"adapt_steps": [0, 10, 50, 200]}' \
    --results-dir benchmarks/results/selection
fi
rm -rf data/checkpoints/default
mkdir -p data/checkpoints
cp -r runs/dkgp-moleculeace data/checkpoints/default
rm -f data/checkpoints/default/MODEL_CARD.md
python scripts/model_card.py data/checkpoints/default --results benchmarks/results/moleculeace.json \
  --note "Chosen on the validation targets over the same run with the plain RBF kernel (best validation R2 0.0832 vs 0.0699; benchmarks/results/checkpoints/dkgp_plain-moleculeace.json). The shipped run was written as runs/dkgptk-moleculeace and renamed runs/dkgp-moleculeace after that choice, hence the --out in the recorded command."
du -sh data/checkpoints/default
