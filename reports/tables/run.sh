set -e
# Tables 1, 2 and 3 on the procedural dataset, every model trained with the full `cpu` schedule
# (4000 + 500 steps). Re-running continues where a killed run stopped (rows already measured
# with the same checkpoint, settings and evaluators are kept); a row whose model is not trained
# yet is listed as missing with the command that trains it, so rows accumulate across sessions.
#
# Models: the shipped default (src/intersyn/assets/default.pt), the previous one and
#   STEPS=full bash reports/tables/train_table3.sh     (runs/t3-full/<row>, ~70 min each on 2
#   cores; ROWS="a b" picks rows; w/o L_rela is stage 2 alone on the session-22 default's INS, ~15 min)
# Evaluators: kept in reports/tables/evaluators/ so that rows measured in different sessions
# compare (a retrained evaluator differs even with the same seed). They were made by
#   intersyn evaluator train --persons 2 --epochs 30 --data-root data/procedural --out <dir>
#   intersyn evaluator train --persons 1 --data-root data/procedural --out <dir>
# (the data root from `intersyn dataset procedural --out data/procedural --seed 0`).
# The reduced-budget tables of sessions 5-7 (stage 1 only, 2000 steps) are in 2k-steps/.
cd "$(dirname "$0")/../.." && . .venv/bin/activate
MODEL=src/intersyn/assets/default.pt
# The default shipped until session 23 (WordLlama text; the ablation and baseline rows share
# its recipe): `git show 8c7e6b7:src/intersyn/assets/default.pt > runs/default_bff7dfc4.pt`
PREVIOUS=runs/default_bff7dfc4.pt
EV2=reports/tables/evaluators/two_person/evaluator.pt
EV1=reports/tables/evaluators/single_person/evaluator.pt
OUT=reports/tables/results
COMMON=(--data-root data/procedural --evaluator-2p "$EV2" --replications 3 --steps 50 --guidance 2.5 --no-progress)

trained() {  # ROW NAME, run name under runs/t3-full, checkpoint file, [row options]
  local ckpt=runs/t3-full/$2/checkpoints/$3
  if [ -f "$ckpt" ]; then echo "$1=$ckpt${4:+,$4}"
  else echo "$1=missing:train with: STEPS=full ROWS=$2 bash reports/tables/train_table3.sh"; fi
}
full() { trained "$1" "$2" final.pt "${3:-}"; }
# A run's stage-1 model alone (ins.pt, written before stage 2 starts): compares with the shipped
# model's own stage 1, the "w/o coordinator" row.
stage1() { trained "$1" "$2" ins.pt; }

MODELS=(
  --row "InterSyn (shipped default)=$MODEL"
  --row "w/o coordinator=$MODEL,coordinator=off"
  --row "InterSyn (session-22 default, WordLlama text)=$PREVIOUS"
  --row "session-22 default, w/o coordinator=$PREVIOUS,coordinator=off"
  --row "$(full 'w/o L_rela' no-rela)"
  --row "$(full 'w/o L_smooth' no-smooth)"
)
BASELINES=(
  --row "$(full 'separate learning' separate)"
  --row "$(stage1 'separate learning, w/o coordinator' separate)"
  --row "$(full 'MDM-style per person' solo-only per_person=on)"
)
TABLES=${TABLES:-1 2 3}  # which tables to (re)measure, e.g. TABLES=1
has() { [[ " $TABLES " == *" $1 "* ]]; }
has 1 && time intersyn evaluate --table 1 "${COMMON[@]}" --samples 96 --mm-samples 8 --mm-repeats 10 \
  "${MODELS[@]}" "${BASELINES[@]}" --out "$OUT"
# The interaction's frames under the interaction text alone (InterSynPipeline._denoise) only
# changes layouts with a solo and an interaction, so its ablation row is in Table 2 alone.
has 2 && time intersyn evaluate --table 2 "${COMMON[@]}" --evaluator-1p "$EV1" --samples 64 \
  "${MODELS[@]}" --row "interaction frames under the whole caption=$MODEL,interaction_text=caption" \
  "${BASELINES[@]}" --out "$OUT"
has 3 && time intersyn evaluate --table 3 "${COMMON[@]}" --evaluator-1p "$EV1" --samples 64 \
  --row "$(full 's-i-s / ts0-random-ti' s-i-s)" \
  --row "$(full s-i-s-i s-i-s-i)" \
  --row "$(full i-s-i-s i-s-i-s)" \
  --row "$(full s-i-s-i-s s-i-s-i-s)" \
  --row "$(full i-s-i-s-i i-s-i-s-i)" \
  --row "$(full 's-i-s / ts0-ti60' ts0-ti60)" \
  --row "$(full 'i-s-i / ti0-ts60' ti0-ts60)" \
  --row "$(full 'i-s-i / ti0-random-ts' ti0-random-ts)" \
  "${MODELS[@]}" --out "$OUT"
intersyn report "$OUT" --out reports/tables
