set -e
# Table 3 models and Table 1's baselines (separate learning; the single-person model of the
# MDM-style row): stage 1 (INS) only, on a reduced budget of STEPS steps each (the full `cpu`
# schedule is 4000 steps, ~45 min per model on 2 cores; eleven of those do not fit one
# session). Every row, the reference included, gets the same budget and seed, so the rows
# compare with each other, not with the shipped model. Models go to runs/t3-<STEPS>/<row>.
# 1000 steps (~12 min each) is too few: R-precision at chance (session 4). Session 5 used
# 2000 steps (~23 min each). Rows are ordered by what the paper's claims need first:
# interleaving vs separate learning, then s-i-s vs longer organisations. Table 1 (interaction-
# only requests) compares the separate model with `mix`, the cpu preset's four layouts (an
# s-i-s-only model never sees a sequence that is interaction from start to end: at 2000
# steps it scores FID 53 there); Table 3 compares single-organisation models on interleaved
# sequences. The loss ablation (no-smooth) is the mix without L_smooth.
# ins.ema_warmup=false: the rows of session 5 were trained before the EMA warm-up existed.
# Re-running skips finished models and resumes a killed one from its last checkpoint.
# ROWS="a b" trains only those rows: two lanes with OMP_NUM_THREADS=1 each train 1.4x more
# samples per second on 2 cores than one two-thread run (60 vs 43; session 6), e.g.
#   OMP_NUM_THREADS=1 ROWS="s-i-s-i-s i-s-i-s" bash reports/tables/train_table3.sh &
#   OMP_NUM_THREADS=1 ROWS="no-smooth i-s-i-s-i" bash reports/tables/train_table3.sh &
# LAUNCH="torchrun --standalone --nproc_per_node 2 -m intersyn" trains one row on two processes
# (DDP gives the same model as one process; with OMP_NUM_THREADS=1, 53 samples/s: one row
# done sooner than with two lanes, a little less throughput).
cd "$(dirname "$0")/../.." && . .venv/bin/activate
STEPS=${STEPS:-2000}
train() {  # NAME, then --set overrides
  local name=$1; shift
  if [ -n "${ROWS:-}" ] && [[ " $ROWS " != *" $name "* ]]; then return; fi
  local out=runs/t3-$STEPS/$name
  if [ -f "$out/checkpoints/ins.pt" ]; then echo "$name: done"; return; fi
  local resume=()
  if [ -f "$out/checkpoints/latest.pt" ]; then resume=(--resume "$out/checkpoints/latest.pt"); fi
  echo "$name: training ($(date -u +%H:%M))"
  ${LAUNCH:-intersyn} train --config cpu --stage ins --data-root data/procedural --out "$out" --no-progress \
    --set ins.steps="$STEPS" --set ins.ema_warmup=false "$@" "${resume[@]}"
}
layout() { echo "data.layouts=[[\"$1\",\"$2\"]]"; }
train s-i-s       --set "$(layout s-i-s ts0-random-ti)"
train separate    --set "$(layout i ti0-random-ts)"
train mix         # the cpu preset's layouts (s-i-s, s-i, i-s, i): Table 1's InterSyn reference
train s-i-s-i     --set "$(layout s-i-s-i ts0-random-ti)"
train solo-only   --set data.interleaved_fraction=0
train s-i-s-i-s   --set "$(layout s-i-s-i-s ts0-random-ti)"
train no-smooth   --set loss.lambda_smooth=0
train i-s-i-s     --set "$(layout i-s-i-s ti0-random-ts)"
train i-s-i-s-i   --set "$(layout i-s-i-s-i ti0-random-ts)"
train ts0-ti60    --set "$(layout s-i-s ts0-ti60)"
train ti0-ts60    --set "$(layout i-s-i ti0-ts60)"
train ti0-random-ts --set "$(layout i-s-i ti0-random-ts)"
