set -e
# Archive: the reduced-budget tables of sessions 5-7, scored by evaluators that were not kept
# (two-person wordllama+interclip@6c5743173fe4, single-person wordllama-words+t2m@2443e41ab9d7),
# so re-running it with retrained evaluators does not reproduce these numbers exactly.
# Tables 1, 2 and 3 on the procedural dataset. Re-running continues where a killed run stopped
# (rows already measured with the same checkpoint and settings are kept).
#
# Full-budget models (`cpu` preset, 4000 + 500 steps, ~47 min each on 2 cores):
#   (runs/cpu_v4 predates placement_anchor: with today's presets, add
#    --set model.placement_anchor=sequence to both train commands)
#   intersyn train --config cpu --data-root data/procedural --out runs/cpu_v4
#   python scripts/ship_default.py runs/cpu_v4/checkpoints/final.pt --data data/procedural
#   intersyn train --config cpu --stage rec --init runs/cpu_v4/checkpoints/final.pt \
#     --set loss.lambda_rela=0 --data-root data/procedural --out runs/abl_no_rela_v4
# Reduced-budget models (stage 1 only, STEPS steps each): reports/tables/train_table3.sh
# Evaluators:
#   intersyn evaluator train --persons 2 --epochs 30 --data-root data/procedural --out runs/evaluator_2p_v2
#   intersyn evaluator train --persons 1 --data-root data/procedural --out runs/evaluator_1p
cd "$(dirname "$0")/../../.." && . .venv/bin/activate
MODEL=src/intersyn/assets/default.pt
NO_RELA=runs/abl_no_rela_v4/checkpoints/final.pt
EV2=runs/evaluator_2p_v2/evaluator.pt
EV1=runs/evaluator_1p/evaluator.pt
COMMON=(--data-root data/procedural --evaluator-2p "$EV2" --replications 3 --steps 50 --guidance 2.5 --no-progress)

# A reduced-budget row: its INS checkpoint if trained, else a "missing" row saying how to make it.
STEPS=${STEPS:-2000}  # the reduced budget of reports/tables/train_table3.sh to report
if [ $((STEPS % 1000)) -eq 0 ]; then BUDGET="$((STEPS / 1000))k steps"; else BUDGET="$STEPS steps"; fi
short() {  # ROW NAME, run name, [row options]
  local ckpt=runs/t3-$STEPS/$2/checkpoints/ins.pt
  if [ -f "$ckpt" ]; then echo "$1 ($BUDGET)=$ckpt${3:+,$3}"
  else echo "$1 ($BUDGET)=missing:not trained yet: STEPS=$STEPS bash reports/tables/train_table3.sh (row $2)"; fi
}

FULL=(
  --row "InterSyn (shipped default)=$MODEL"
  --row "w/o coordinator=$MODEL,coordinator=off"
  --row "w/o L_rela=$NO_RELA"
)
BASELINES=(
  --row "$(short 'InterSyn, stage 1' mix)"
  --row "$(short 'w/o L_smooth' no-smooth)"
  --row "$(short 'separate learning' separate)"
  --row "$(short 'MDM-style per person' solo-only per_person=on)"
)
TABLES=${TABLES:-1 2 3}  # which tables to (re)measure, e.g. TABLES=1
has() { [[ " $TABLES " == *" $1 "* ]]; }
has 1 && time intersyn evaluate --table 1 "${COMMON[@]}" --samples 96 --mm-samples 8 --mm-repeats 10 \
  "${FULL[@]}" "${BASELINES[@]}" --out reports/tables/2k-steps/results
has 2 && time intersyn evaluate --table 2 "${COMMON[@]}" --evaluator-1p "$EV1" --samples 64 \
  "${FULL[@]}" "${BASELINES[@]}" --out reports/tables/2k-steps/results
has 3 && time intersyn evaluate --table 3 "${COMMON[@]}" --evaluator-1p "$EV1" --samples 64 \
  --row "$(short 's-i-s / ts0-random-ti' s-i-s)" \
  --row "$(short s-i-s-i s-i-s-i)" \
  --row "$(short i-s-i-s i-s-i-s)" \
  --row "$(short s-i-s-i-s s-i-s-i-s)" \
  --row "$(short i-s-i-s-i i-s-i-s-i)" \
  --row "$(short 's-i-s / ts0-ti60' ts0-ti60)" \
  --row "$(short 'i-s-i / ti0-ts60' ti0-ts60)" \
  --row "$(short 'i-s-i / ti0-random-ts' ti0-random-ts)" \
  --row "$(short 'InterSyn, stage 1, all layouts' mix)" \
  --row "$(short 'w/o L_smooth' no-smooth)" \
  "${FULL[@]}" --out reports/tables/2k-steps/results
intersyn report reports/tables/2k-steps/results --out reports/tables/2k-steps
