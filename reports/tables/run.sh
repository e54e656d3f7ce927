set -e
cd /work/main && . .venv/bin/activate
MODEL=src/intersyn/assets/default.pt
EV2=runs/evaluator_2p/evaluator.pt
EV1=runs/evaluator_1p/evaluator.pt
COMMON=(--data-root data/procedural --evaluator-2p "$EV2" --replications 3 --steps 50 --guidance 2.5 --no-progress)
MISSING=(
  --row "w/o L_rela=missing:stage-2 retrain: intersyn train --config cpu --stage rec --init MODEL --set loss.lambda_rela=0 (~7 min)"
  --row "w/o L_smooth=missing:stage-1 retrain: intersyn train --config cpu --set loss.lambda_smooth=0 (~50 min)"
  --row 'separate learning=missing:intersyn train --config cpu --set data.layouts=[["i","ti0-random-ts"]] (~50 min)'
  --row "MDM-style per person=missing:needs a solo-only model and per-person generation (not implemented)"
)
time intersyn evaluate --table 1 "${COMMON[@]}" --samples 96 --mm-samples 8 --mm-repeats 10 \
  --row "InterSyn (shipped default)=$MODEL" --row "w/o coordinator=$MODEL,coordinator=off" \
  "${MISSING[@]}" --out reports/tables/results
time intersyn evaluate --table 2 "${COMMON[@]}" --evaluator-1p "$EV1" --samples 64 \
  --row "InterSyn (shipped default)=$MODEL" --row "w/o coordinator=$MODEL,coordinator=off" \
  "${MISSING[@]}" --out reports/tables/results
intersyn report reports/tables/results --out reports/tables
