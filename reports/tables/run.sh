#!/usr/bin/env bash
# The commands that made reports/tables/ (2-core CPU). Models: `intersyn train --config cpu`
# on `intersyn dataset procedural --out data/procedural --seed 0`; evaluators:
# `intersyn evaluator train --persons {1,2}` on the same data.
set -euo pipefail
MODEL=runs/cpu_v3/checkpoints/final.pt
ABLATION_RELA=runs/abl_no_rela/checkpoints/final.pt
EV2=runs/evaluator_2p/evaluator.pt
EV1=runs/evaluator_1p/evaluator.pt
COMMON=(--data-root data/procedural --evaluator-2p "$EV2" --replications 3 --steps 50 --guidance 2.5)
MISSING=(
  --row "w/o L_smooth=missing:stage-1 retrain, intersyn train --config cpu --set loss.lambda_smooth=0 (~50 min on 2 cores)"
  --row 'separate learning=missing:intersyn train --config cpu --set data.layouts=[["i","ti0-random-ts"]] (~50 min)'
  --row "MDM-style single-person model per person=missing:needs a solo-only model (--set data.interleaved_fraction=0) and per-person generation, not implemented yet"
)
intersyn evaluate --table 1 "${COMMON[@]}" --samples 192 --mm-samples 16 --mm-repeats 10 \
  --row "InterSyn=$MODEL" --row "w/o coordinator=$MODEL,coordinator=off" \
  --row "w/o L_rela=$ABLATION_RELA" "${MISSING[@]}" --out reports/tables/results
intersyn evaluate --table 2 "${COMMON[@]}" --evaluator-1p "$EV1" --samples 128 \
  --row "InterSyn=$MODEL" --row "w/o coordinator=$MODEL,coordinator=off" \
  --row "w/o L_rela=$ABLATION_RELA" "${MISSING[@]}" --out reports/tables/results
intersyn report reports/tables/results --out reports/tables
