set -e
# Tables 1 and 2 on the shipped default model (runs/cpu_v4, session 3) and its stage-2 ablation.
# Models and evaluators are trained by:
#   (runs/cpu_v4 predates placement_anchor: with today's presets, add
#    --set model.placement_anchor=sequence to both train commands)
#   intersyn train --config cpu --data-root data/procedural --out runs/cpu_v4
#   python scripts/ship_default.py runs/cpu_v4/checkpoints/final.pt --data data/procedural
#   intersyn train --config cpu --stage rec --init runs/cpu_v4/checkpoints/final.pt \
#     --set loss.lambda_rela=0 --data-root data/procedural --out runs/abl_no_rela_v4
#   intersyn evaluator train --persons 2 --epochs 30 --data-root data/procedural --out runs/evaluator_2p_v2
#   intersyn evaluator train --persons 1 --data-root data/procedural --out runs/evaluator_1p
cd "$(dirname "$0")/../.." && . .venv/bin/activate
MODEL=src/intersyn/assets/default.pt
NO_RELA=runs/abl_no_rela_v4/checkpoints/final.pt
EV2=runs/evaluator_2p_v2/evaluator.pt
EV1=runs/evaluator_1p/evaluator.pt
COMMON=(--data-root data/procedural --evaluator-2p "$EV2" --replications 3 --steps 50 --guidance 2.5 --no-progress)
ROWS=(
  --row "InterSyn (shipped default)=$MODEL"
  --row "w/o coordinator=$MODEL,coordinator=off"
  --row "w/o L_rela=$NO_RELA"
  --row "w/o L_smooth=missing:stage-1 retrain: intersyn train --config cpu --set loss.lambda_smooth=0 (~45 min)"
  --row 'separate learning=missing:intersyn train --config cpu --set data.layouts=[["i","ti0-random-ts"]] (~45 min)'
  --row "MDM-style per person=missing:needs a solo-only model and per-person generation (not implemented)"
)
time intersyn evaluate --table 1 "${COMMON[@]}" --samples 96 --mm-samples 8 --mm-repeats 10 \
  "${ROWS[@]}" --out reports/tables/results
time intersyn evaluate --table 2 "${COMMON[@]}" --evaluator-1p "$EV1" --samples 64 \
  "${ROWS[@]}" --out reports/tables/results
intersyn report reports/tables/results --out reports/tables
