#!/usr/bin/env bash
# Self-supervised pretraining of the GINE on MOSES (attribute masking + graph contrastive), without the
# test molecules of the new-assay split, then ProtoNet meta-trained from it on the new-assay protocol
# (variant protonet_ssl of benchmarks/new_assay.py), evaluated on the test collections.
# CPU scale (about 25 min for the pretraining on one core); STEPS / BATCH override; resumable.
# Usage: bash benchmarks/pretrain_ssl.sh   (needs `sciml` on PATH and the shared data)
set -euo pipefail
STEPS=${STEPS:-2000}
BATCH=${BATCH:-128}
sciml pretrain --out runs/pretrain/moses --steps "$STEPS" --batch-size "$BATCH" --hidden 128 --depth 4 --out-dim 128 \
  --seed 0
mkdir -p benchmarks/results/pretraining
python - <<'PY'
import json
r = json.load(open("runs/pretrain/moses/pretraining.json"))
json.dump(r, open("benchmarks/results/pretraining/moses_ssl.json", "w"), indent=1)
PY
python benchmarks/new_assay.py train --kinds classification --learners protonet_ssl
python benchmarks/new_assay.py evaluate --seeds 10 --learners protonet_ssl --baselines "" \
  --collections tox21,sider,toxcast,muv --no-default
