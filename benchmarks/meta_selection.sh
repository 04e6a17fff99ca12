#!/usr/bin/env bash
# Validation-only choice of the meta-training settings of MAML, FOMAML and BMAML (test tasks
# are never read here): each candidate config is meta-trained (runs/sel/<learner>-<dataset>-<tag>,
# reused when present) and the run with the best validation score (training.best_val_score) is
# copied to runs/<learner>-<dataset>, which benchmarks/meta_learners.sh evaluates (it calls this
# script for a missing run). Tables: benchmarks/results/selection/training_<learner>-<dataset>.md.
# Usage: bash benchmarks/meta_selection.sh   (needs `sciml` on PATH; DATASETS and LEARNERS
#        override the defaults below; ONLY_TAGS="maml:lr0.5 nll-lr0.5" trains only those missing
#        candidates (tag, or learner:tag), e.g. the settings that won on the validation tasks of the
#        other datasets, to save CPU time; runs already trained always compete)
# A candidate is "tag=json" optionally followed by "|steps" (a longer meta-training schedule, same
# patience), "|fpN" (the encoder also reads an N-bit Morgan count fingerprint, --fingerprint-bits N)
# and/or "|init" (the encoder starts from the chosen MAML run's encoder, runs/maml-<dataset>, which
# meta-trained on the same train tasks and was chosen on the same validation tasks; --init-encoder).
# CV="muv:4 tox21:3" (the default) selects on those datasets by leave-tasks-out cross-validation over
# their train + validation tasks (`sciml train --cv-folds K`: the candidates' scores are the folds' mean
# validation score, the final run trains on every train-side task); runs go to runs/sel/...-cvK and the
# table to training_<learner>-<dataset>-cv.md. CV="" keeps the single validation split everywhere.
set -euo pipefail
DATASETS=${DATASETS:-"tox21 sider"}
CV=${CV-"muv:4 tox21:3"}
LEARNERS=${LEARNERS:-"maml fomaml bmaml"}
ENC="--hidden 128 --depth 4 --out-dim 128"   # as benchmarks/meta_learners.sh
OUT=benchmarks/results/selection
mkdir -p runs/sel runs/logs "$OUT"

candidates() {  # learner -> "tag=json" words (JSON without spaces)
  case $1 in
    maml) echo 'lr0.05={"inner_lr":0.05} lr0.5={"inner_lr":0.5} zero-lr0.5={"inner_lr":0.5,"zero_init_head":true}' \
               'lr0.05-s1500={"inner_lr":0.05}|1500' \
               'zero-lr0.5-fp2048={"inner_lr":0.5,"zero_init_head":true}|fp2048' 'lr0.05-fp2048={"inner_lr":0.05}|fp2048' \
               'lr0.05-s3000={"inner_lr":0.05}|3000' ;;
    fomaml) echo 'lr0.05={"inner_lr":0.05} lr0.5={"inner_lr":0.5}' ;;
    bmaml) echo 'chaser-lr0.05={"inner_lr":0.05,"objective":"chaser"} nll-lr0.5={"inner_lr":0.5,"objective":"nll"}' \
                'nll-lr0.05={"inner_lr":0.05,"objective":"nll"}' 'nll-lr0.05-s1500={"inner_lr":0.05,"objective":"nll"}|1500' \
                'nll-lr0.05-p10-s1500={"inner_lr":0.05,"objective":"nll","n_particles":10}|1500' \
                'nll-lr0.05-fp2048={"inner_lr":0.05,"objective":"nll"}|fp2048' \
                'nll-lr0.05-s3000={"inner_lr":0.05,"objective":"nll"}|3000' \
                'nll-lr0.05-p10-s3000={"inner_lr":0.05,"objective":"nll","n_particles":10}|3000' \
                'nll-lr0.05-p10-s1500-init={"inner_lr":0.05,"objective":"nll","n_particles":10}|1500|init' ;;
    *) echo "no candidates for $1" >&2; exit 2 ;;
  esac
}

for ds in $DATASETS; do
  steps=(--steps 600 --eval-every 100 --patience 3)   # as benchmarks/meta_learners.sh
  if [ "$ds" = moleculeace ]; then
    steps=(--steps 800 --eval-every 100 --patience 3 --k-shot 16 --kshot-choices 16,32,64 --n-query 32)
  fi
  cvk=""; for m in $CV; do [ "${m%%:*}" = "$ds" ] && cvk=${m#*:}; done
  for ln in $LEARNERS; do
    runs=()
    for c in $(candidates "$ln"); do
      tag=${c%%=*}; cfg=${c#*=}; run=runs/sel/$ln-$ds-$tag${cvk:+-cv$cvk}; csteps=("${steps[@]}"); extra=()
      [ -n "$cvk" ] && extra+=(--cv-folds "$cvk")
      while [[ "$cfg" == *"|"* ]]; do  # trailing "|steps" / "|fpN" / "|init" fields
        opt=${cfg##*|}; cfg=${cfg%|*}
        case $opt in
          fp*) extra+=(--fingerprint-bits "${opt#fp}") ;;
          init) extra+=(--init-encoder "runs/maml-$ds") ;;
          *) csteps[1]=$opt ;;  # steps[0..1] = --steps N
        esac
      done
      if [ ! -f "$run/config.json" ] && [ -n "${ONLY_TAGS:-}" ] && [[ " $ONLY_TAGS " != *" $tag "* ]] \
         && [[ " $ONLY_TAGS " != *" $ln:$tag "* ]]; then
        continue  # not trained and not asked for; an existing run always competes
      fi
      if [ ! -f "$run/config.json" ] && [[ " ${extra[*]} " == *" --init-encoder "* ]] && [ ! -f "runs/maml-$ds/config.json" ]; then
        echo "skipping $ln-$ds-$tag: it starts from runs/maml-$ds, which is not there (select MAML first)" >&2
        continue
      fi
      if [ ! -f "$run/config.json" ]; then
        sciml train --dataset "$ds" --learner "$ln" --out "$run" $ENC --seed 0 "${csteps[@]}" "${extra[@]}" \
          --learner-config "$cfg" > "runs/logs/train-$ln-$ds-$tag.log" 2>&1
        tail -n 1 "runs/logs/train-$ln-$ds-$tag.log"
      fi
      runs+=("$run")
    done
    if [ -n "$cvk" ]; then  # CV scores are not comparable with recorded single-split scores
      python benchmarks/pick_best_run.py --out "runs/$ln-$ds" --report "$OUT/training_$ln-$ds-cv.md" "${runs[@]}"
    else
      python benchmarks/pick_best_run.py --out "runs/$ln-$ds" --report "$OUT/training_$ln-$ds.md" --keep-recorded "${runs[@]}"
    fi
  done
done

