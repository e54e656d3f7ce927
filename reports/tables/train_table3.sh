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
# ROWS="a b" trains only those rows. Two lanes side by side (OMP_NUM_THREADS=1 each) were
# measured at 60 samples/s together against 43 for one two-thread run in session 6, but at 37
# against 36 in session 10: on today's machines run one row at a time with OMP_NUM_THREADS=2.
# LAUNCH="torchrun --standalone --nproc_per_node 2 -m intersyn" trains one row on two processes
# (DDP gives the same model as one process; with OMP_NUM_THREADS=1, 53 samples/s: one row
# done sooner than with two lanes, a little less throughput).
# Session 12 (2026-12-03): with LAUNCH torchrun and OMP_NUM_THREADS=1, 26-29 samples/s in
# stage 1 and ~22-33 in stage 2, about what one two-thread process gets on that day's machine:
# a full model took ~95 min (s-i-s: 12:52-14:28).
# STEPS=full trains the whole `cpu` schedule (both stages, 4000 + 500 steps, ~70 min per model
# alone on 2 cores) with the shipped model's recipe (sequence-anchored placement, no EMA
# warm-up): the rows that issue #5 asks for. Models go to runs/t3-full/<row>
# (final.pt). Full-budget rows accumulate across sessions: each session trains what fits.
# DEVICE=cuda trains on a GPU in fp32 (autocast off, as on the CPU) with WORKERS (default 3)
# sample-building processes: session 17 trained the full-budget no-smooth row that way on an
# H200, four rows side by side (one `ROWS=<row>` invocation each), stage 1 at 200-400
# samples/s per row, bound by building U(·) samples on 16 cores, against ~40 on 2 CPU cores.
cd "$(dirname "$0")/../.." && if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
STEPS=${STEPS:-2000}
device=()
if [ -n "${DEVICE:-}" ]; then
  device=(--device "$DEVICE" --set ins.amp=false --set rec.amp=false --set data.workers="${WORKERS:-3}")
fi
pending() {  # NAME, checkpoint that marks it done: false when ROWS leaves it out or it is done
  if [ -n "${ROWS:-}" ] && [[ " $ROWS " != *" $1 "* ]]; then return 1; fi
  if [ -f "$2" ]; then echo "$1: done"; return 1; fi
  echo "$1: training ($(date -u +%H:%M))"
}
train() {  # NAME, then --set overrides
  local name=$1; shift
  local out=runs/t3-$STEPS/$name
  local done_file=ins.pt budget=(--stage ins --set ins.steps="$STEPS" --set ins.ema_warmup=false)
  if [ "$STEPS" = full ]; then
    done_file=final.pt
    budget=(--set model.placement_anchor=sequence --set ins.ema_warmup=false --set rec.ema_warmup=false)
  fi
  pending "$name" "$out/checkpoints/$done_file" || return 0
  local resume=()
  if [ -f "$out/checkpoints/latest.pt" ]; then resume=(--resume "$out/checkpoints/latest.pt"); fi
  ${LAUNCH:-intersyn} train --config cpu --data-root data/procedural --out "$out" --no-progress \
    "${budget[@]}" "${device[@]}" "$@" "${resume[@]}"
}
# w/o L_rela at full budget: stage 2 alone on the shipped model's (frozen) INS, without L_rela.
train_rec() {  # NAME, then --set overrides
  local name=$1; shift
  local out=runs/t3-full/$name
  pending "$name" "$out/checkpoints/final.pt" || return 0
  intersyn train --config cpu --stage rec --init src/intersyn/assets/default.pt \
    --data-root data/procedural --out "$out" --no-progress \
    --set model.placement_anchor=sequence --set rec.ema_warmup=false "$@"
}
if [ "$STEPS" = full ]; then train_rec no-rela --set loss.lambda_rela=0; fi
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
