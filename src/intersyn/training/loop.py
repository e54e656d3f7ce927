"""`intersyn train`: two-stage training (paper §5.1) on one CPU, one GPU or many (torchrun).

A run directory holds `config.json`, `metrics.jsonl` (every logged step), TensorBoard events
in `tb/`, and `checkpoints/` with `latest.pt` (everything needed to resume), `best.pt` (lowest
validation loss of the current stage), `ins.pt` (end of stage 1) and `final.pt` (the
inference checkpoint: EMA weights, feature statistics and config). All writes are atomic.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from intersyn.data.loaders import (
    AlternatingBatches,
    Batch,
    InterleavedDataset,
    SoloDataset,
    SourceBank,
)
from intersyn.diffusion.schedule import NoiseSchedule
from intersyn.errors import InterSynError
from intersyn.io import write_json
from intersyn.models.config import ModelConfig
from intersyn.models.coordinator import build_coordinator
from intersyn.models.denoiser import build_denoiser
from intersyn.text.factory import build_text_encoder
from intersyn.text.known_wording import (
    caption_bank,
    check_caption_bank,
    check_caption_embeddings,
)
from intersyn.text.vocabulary import caption_word_pairs, caption_words
from intersyn.training.checkpoint import (
    EMA,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from intersyn.training.config import TrainConfig
from intersyn.training.distributed import DistInfo, all_mean, barrier, init_distributed, shutdown
from intersyn.training.stages import (
    FeatureStats,
    StepContext,
    TextConditioner,
    estimate_stats,
    ins_step,
    rec_step,
)

STAGES = ("ins", "rec")
CHECKPOINT_KIND = "intersyn-train"
STATS_INDEX_OFFSET = 10**12  # sample ids reserved for statistics and validation batches
VALIDATION_BATCHES = 2
VALIDATION_STEP = 2**40  # step numbers reserved for the validation draws


@dataclass
class RunResult:
    """What a finished (or stopped) run left behind."""

    run_dir: Path
    steps: dict[str, int]
    final_checkpoint: Path | None
    last_losses: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def load_training_items(data_root: Path, cfg: TrainConfig, split: str = "train"):
    """Single-person and interaction items of `split` under `data_root`, capped as configured."""
    from intersyn.data.humanml3d import load_humanml3d
    from intersyn.data.interhuman import load_interhuman

    root = Path(data_root)
    if not root.is_dir():
        raise InterSynError(
            f"data root {root}: not a directory; expected HumanML3D/ and/or InterHuman/"
        )
    solo, pairs = [], []
    if (root / "HumanML3D").is_dir():
        solo = list(load_humanml3d(root, split, skip_bad=cfg.data.skip_bad))
        solo = solo[: cfg.data.max_solo_clips]
    if (root / "InterHuman").is_dir():
        pairs = list(load_interhuman(root, split, skip_bad=cfg.data.skip_bad))
        pairs = pairs[: cfg.data.max_pair_clips]
    if not solo and not pairs:
        raise InterSynError(
            f"data root {root}: no {split} samples found; expected HumanML3D/ and/or InterHuman/ "
            "in the official layout (e.g. made by `intersyn dataset procedural`)"
        )
    return solo, pairs


def caption_texts(solo_items, pair_items, person_captions: bool = True) -> list[str]:
    """The training items' captions: solo, interaction and, with `person_captions`, per-person."""
    texts = [c.text for item in solo_items for c in item.captions]
    for item in pair_items:
        texts += list(item.captions)
        if person_captions:
            for person in item.person_captions or ():
                texts += list(person)
    return texts


def training_vocabulary(solo_items, pair_items, cfg: TrainConfig) -> list[str]:
    """The words the model reads in training (`caption_words` of the captions it is conditioned
    on): what generation reads an unseen word as the nearest of. Per-person captions count only
    when `data.interleave.person_caption_share` shows them to the model; U(·) records them
    either way, and a word only they use ("trails", "shakes") is as new to the model as one
    no caption uses."""
    return training_wording(solo_items, pair_items, cfg)["text_vocabulary"]


def training_wording(solo_items, pair_items, cfg: TrainConfig) -> dict[str, Any]:
    """What a checkpoint records of the captions the model is conditioned on: their words
    (`text_vocabulary`, see `training_vocabulary`), adjacent word pairs (`text_word_pairs`,
    which choose among an unseen word's WordNet readings) and the solo and interaction
    captions themselves (`text_captions`, `intersyn.text.known_wording`)."""
    captions = caption_texts(solo_items, pair_items, person_captions=cfg.reads_person_texts)
    return {
        "text_vocabulary": caption_words(captions),
        "text_word_pairs": caption_word_pairs(captions),
        "text_captions": caption_bank(
            caption_texts(solo_items, []), caption_texts([], pair_items, person_captions=False)
        ),
    }


@dataclass
class DataPlan:
    """The datasets a stage draws from."""

    interleaved: InterleavedDataset | None
    solo: SoloDataset | None
    fraction: float


def plan_data(cfg: TrainConfig, bank: SourceBank, solo_items, stage: str) -> DataPlan:
    has_pairs, has_solo = bool(bank.pairs), bool(bank.solo)
    layouts = cfg.data.layouts or ((cfg.data.interleave.organisation, cfg.data.interleave.timing),)
    # Without solo clips only the interaction-only layouts can be built.
    usable = [(o, t) for o, t in layouts if has_solo or "s" not in o.split("-")]
    interleaved = None
    if has_pairs and usable:
        interleaved = InterleavedDataset(
            bank,
            cfg.data.interleave,
            seed=cfg.seed,
            layouts=usable if cfg.data.layouts else (),
            anchor=cfg.model.placement_anchor,
        )
    solo = (
        SoloDataset(solo_items, cfg.data.interleave.frames, seed=cfg.seed) if solo_items else None
    )
    if stage == "rec":
        if interleaved is None:
            raise InterSynError(
                "stage rec: the coordinator trains on interactions; the data root has no "
                "InterHuman/ clips (or no solo clips for the configured organisation)"
            )
        return DataPlan(interleaved, None, 1.0)
    fraction = cfg.data.interleaved_fraction
    if interleaved is None:
        fraction = 0.0
    if solo is None:
        fraction = 1.0
    if interleaved is None and solo is None:
        raise InterSynError("no usable training data for stage ins")
    return DataPlan(interleaved, solo, fraction)


def make_batches(
    cfg: TrainConfig, plan: DataPlan, start: int, info: DistInfo, seed: int
) -> AlternatingBatches:
    return AlternatingBatches(
        plan.interleaved,
        plan.solo,
        cfg.data.batch_size,
        interleaved_fraction=plan.fraction,
        seed=seed,
        start=start,
        rank=info.rank,
        world=info.world,
        workers=cfg.data.workers,
    )


def fixed_batches(plan: DataPlan, count: int, batch_size: int) -> list[Batch]:
    """Deterministic batches from reserved sample ids (statistics, validation)."""
    from intersyn.data.loaders import collate_samples

    out = []
    for b in range(count):
        samples = []
        for j in range(batch_size):
            index = STATS_INDEX_OFFSET + b * batch_size + j
            use_solo = (
                plan.solo is not None
                and (plan.interleaved is None or j % 2 == 1)
                and plan.fraction < 1
            )
            dataset = plan.solo if use_solo else plan.interleaved
            samples.append(dataset[index])
        out.append(collate_samples(samples))
    return out


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def lr_at(step: int, base: float, warmup: int, total: int) -> float:
    """Linear warm-up then cosine decay to 10% of the base rate."""
    if step < warmup:
        return base * (step + 1) / max(1, warmup)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _check_resume_config(payload: dict, cfg: TrainConfig, path: Path) -> None:
    saved = payload.get("config", {})
    if payload.get("kind") != CHECKPOINT_KIND:
        raise InterSynError(
            f"checkpoint {path}: not a training checkpoint (kind {payload.get('kind')!r})"
        )
    if saved.get("model") != cfg.model.to_dict():
        raise InterSynError(
            f"checkpoint {path}: was trained with config {saved.get('name')!r} whose model "
            f"differs from config {cfg.name!r}; resume with the same --config"
        )


def train(
    cfg: TrainConfig,
    data_root: str | Path,
    out_dir: str | Path,
    *,
    stage: str = "all",
    max_steps: int | None = None,
    resume: str | Path | None = None,
    init: str | Path | None = None,
    device: str = "auto",
    progress: bool = True,
    reanchor: bool = False,
) -> RunResult:
    """Train stage 1 (INS) and/or stage 2 (REC); see the module docstring for the outputs.

    `init`: a trained model (`final.pt`/`ins.pt`) whose INS weights and feature statistics the
    run starts from: with `stage="rec"` stage 2 trains on that frozen INS (coordinator and
    loss ablations reuse one stage-1 run); with `stage="ins"` stage 1 fine-tunes it for
    `cfg.ins.steps` more steps with a fresh optimiser. A trained text encoder that `init` (or
    `resume`) carries conditions the run when `cfg.text_path` is unset; a candidate ranker it
    carries is written into the run's checkpoints unchanged. `reanchor`: with
    `stage="ins"`, `init` may use another placement anchor; the fine-tune relearns the
    placements whose meaning changes in this config's anchor (between "sequence" and "run"
    those of partners who appear mid-sequence; to or from "run_end" every partner's).
    """
    if stage not in ("all", *STAGES):
        raise InterSynError(f"stage {stage!r}: expected all, ins or rec")
    if init is not None and (stage == "all" or resume is not None):
        raise InterSynError("--init: expected with --stage rec or ins and without --resume")
    if reanchor and (init is None or stage != "ins"):
        raise InterSynError("--reanchor: expected with --init and --stage ins")
    if max_steps is not None:
        if max_steps < 1:
            raise InterSynError(f"--max-steps {max_steps}: expected a positive number of steps")
        cfg = cfg.replace(ins=_with_steps(cfg.ins, max_steps), rec=_with_steps(cfg.rec, max_steps))
    info = init_distributed(device)
    try:
        return _train(
            cfg, Path(data_root), Path(out_dir), stage, resume, info, progress, init, reanchor
        )
    finally:
        shutdown(info)


# The conditioning layers a fine-tune may switch on (ModelConfig.end_positions, person_texts).
ADDED_LAYERS = ("end_in.", "person_text_in.")


def _check_init(start: dict, cfg: TrainConfig, init: Path, reanchor: bool) -> None:
    """One-line errors for an `--init` model that this run's config cannot start from."""
    if start.get("kind") != "intersyn-model":
        raise InterSynError(f"--init {init}: not a trained InterSyn model (final.pt/ins.pt)")
    theirs = ModelConfig.from_dict(start.get("config", {}).get("model", {}))
    if theirs.placement_anchor != cfg.model.placement_anchor and not reanchor:
        raise InterSynError(
            f"--init {init}: its features use placement_anchor={theirs.placement_anchor!r}; "
            f"pass --set model.placement_anchor={theirs.placement_anchor} (or --reanchor "
            f"with --stage ins to fine-tune it into {cfg.model.placement_anchor!r})"
        )
    if theirs.end_positions and not cfg.model.end_positions:
        raise InterSynError(
            f"--init {init}: it reads frames to the motion's end; pass "
            "--set model.end_positions=true"
        )
    if theirs.person_texts and not cfg.model.person_texts:
        raise InterSynError(
            f"--init {init}: it reads per-person texts; pass --set model.person_texts=true"
        )
    # end_positions and person_texts may be switched on: their layers start at zero (the
    # model's own output).
    same = dataclasses.replace(
        theirs,
        placement_anchor=cfg.model.placement_anchor,
        end_positions=cfg.model.end_positions,
        person_texts=cfg.model.person_texts,
    )
    if same != cfg.model:
        raise InterSynError(f"--init {init}: its model shape differs from config {cfg.name!r}'s")


def _load_init_denoiser(denoiser: nn.Module, state: dict) -> None:
    """Load an `--init` model's denoiser; an end-position or person-text layer it lacks keeps
    its zeros."""
    missing, unexpected = denoiser.load_state_dict(state, strict=False)
    if unexpected or any(not key.startswith(ADDED_LAYERS) for key in missing):
        denoiser.load_state_dict(state)  # strict: raises naming what does not match


def parameter_groups(module: nn.Module, added_scale: float) -> list[dict]:
    """The optimiser's parameter groups: the `ADDED_LAYERS` at `added_scale` times the learning
    rate (`OptimConfig.added_layer_lr_scale`), the rest at it. One group when the scale is 1,
    so the optimiser state of runs before the setting still loads."""
    named = list(module.named_parameters())
    added = [p for n, p in named if n.startswith(ADDED_LAYERS)]
    if added_scale == 1.0 or not added:
        return [{"params": [p for _, p in named], "lr_scale": 1.0}]
    rest = [p for n, p in named if not n.startswith(ADDED_LAYERS)]
    return [{"params": rest, "lr_scale": 1.0}, {"params": added, "lr_scale": added_scale}]


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict, stage: str) -> None:
    """Resume `optimizer` from `state`, keeping this run's learning-rate scales (a resumed
    run's `lr_scale` would otherwise come back from the checkpoint); a run that splits its
    parameters differently (`added_layer_lr_scale` 1 against another) gets one line."""
    scales = [group["lr_scale"] for group in optimizer.param_groups]
    if len(state["param_groups"]) != len(scales):
        raise InterSynError(
            f"--resume: the checkpoint's optimiser has {len(state['param_groups'])} parameter "
            f"group(s), this run {len(scales)}; resume with the same "
            f"{stage}.added_layer_lr_scale (1 or not 1)"
        )
    optimizer.load_state_dict(state)
    for group, scale in zip(optimizer.param_groups, scales, strict=True):
        group["lr_scale"] = scale


def _with_steps(optim, steps: int):
    from dataclasses import replace

    return replace(optim, steps=steps, warmup_steps=min(optim.warmup_steps, max(1, steps // 10)))


def _train(
    cfg: TrainConfig,
    data_root: Path,
    run_dir: Path,
    stage: str,
    resume: str | Path | None,
    info: DistInfo,
    progress: bool,
    init: str | Path | None = None,
    reanchor: bool = False,
) -> RunResult:
    torch.manual_seed(cfg.seed)  # same initial weights on every rank (EMA copies match rank 0)
    payload = None
    if resume is not None:
        payload = load_checkpoint(resume)
        _check_resume_config(payload, cfg, Path(resume))
    start = None
    if init is not None:  # checked before anything is written or loaded: a mismatch fails at once
        start = load_checkpoint(init)
        _check_init(start, cfg, Path(init), reanchor)
    ckpt_dir = run_dir / "checkpoints"
    if info.is_main:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / "config.json", cfg.to_dict())

    # A trained text encoder travels with the model, so fine-tuning one (the shipped default
    # included) needs no text_encoder.pt when text_path is unset.
    earlier = payload if payload is not None else start
    weights = None
    if cfg.text_path is None and earlier is not None:
        weights = earlier.get("text_weights")
    # So is its candidate ranker (`intersyn.ranking`): it scores text against motion, which a
    # fine-tune of the generator does not change, so the result still samples best-of-K.
    ranker = earlier.get("ranker") if earlier is not None else None
    encoder = build_text_encoder(
        cfg.text_encoder,
        cfg.text_path,
        device=str(info.device),
        max_tokens=cfg.text_max_tokens,
        weights=weights,
    )
    if encoder.dim != cfg.model.text_dim:
        raise InterSynError(
            f"text encoder {cfg.text_encoder!r} gives {encoder.dim}-d features but the model "
            f"expects text_dim={cfg.model.text_dim}; add --set model.text_dim={encoder.dim}"
        )
    solo_items, pair_items = load_training_items(data_root, cfg)
    bank = SourceBank.from_items(solo_items, pair_items)

    denoiser = build_denoiser(cfg.model).to(info.device)
    coordinator = build_coordinator(cfg.model).to(info.device)
    ema_denoiser, ema_coordinator = (
        EMA(denoiser, cfg.ins.ema_decay, cfg.ins.ema_warmup),
        EMA(coordinator, cfg.rec.ema_decay, cfg.rec.ema_warmup),
    )
    steps = {"ins": 0, "rec": 0}
    if payload is not None:
        stats = FeatureStats.from_dict(payload["stats"])
        denoiser.load_state_dict(payload["denoiser"])
        coordinator.load_state_dict(payload["coordinator"])
        ema_denoiser.load_state_dict(payload["ema_denoiser"])
        ema_coordinator.load_state_dict(payload["ema_coordinator"])
        steps = {k: int(v) for k, v in payload["steps"].items()}
    elif start is not None:
        stats = FeatureStats.from_dict(start["stats"])
        _load_init_denoiser(denoiser, start["denoiser"])
        # The loaded weights are already averaged.
        ema_denoiser = EMA(denoiser, cfg.ins.ema_decay, cfg.ins.ema_warmup)
        if stage == "rec":
            steps["ins"] = int(start["steps"]["ins"])
    else:
        stats = estimate_stats(
            fixed_batches(
                plan_data(cfg, bank, solo_items, "ins"),
                max(1, cfg.data.stats_samples // cfg.data.batch_size),
                min(cfg.data.batch_size, cfg.data.stats_samples),
            )
        )
    coordinator.set_normalization(stats.mean.to(info.device), stats.std.to(info.device))

    schedule = NoiseSchedule(cfg.diffusion.schedule, cfg.diffusion.num_steps)
    text = TextConditioner(encoder, info.device)
    writer = _summary_writer(run_dir, info, min(steps.values()) if payload else 0)
    stages = STAGES if stage == "all" else (stage,)
    last: dict[str, float] = {}
    final = None
    state = {
        "cfg": cfg,
        "info": info,
        "bank": bank,
        "solo_items": solo_items,
        "wording": training_wording(solo_items, pair_items, cfg),
        "ranker": ranker,
        "stats": stats,
        "schedule": schedule,
        "text": text,
        "writer": writer,
        "run_dir": run_dir,
        "denoiser": denoiser,
        "coordinator": coordinator,
        "ema": {"ins": ema_denoiser, "rec": ema_coordinator},
        "steps": steps,
        "progress": progress,
    }
    try:
        for name in stages:
            resume_payload = (
                payload if payload is not None and payload.get("stage") == name else None
            )
            last = _run_stage(name, state, resume_payload)
        if info.is_main and steps["ins"] > 0:
            final = ckpt_dir / "final.pt"
            _save_inference(final, state)
    finally:
        if writer is not None:
            writer.close()
    barrier(info)
    return RunResult(run_dir, dict(steps), final, last)


def _summary_writer(run_dir: Path, info: DistInfo, purge_step: int):
    if not info.is_main:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(run_dir / "tb"), purge_step=purge_step or None)


def _run_stage(name: str, state: dict, payload: dict | None) -> dict[str, float]:
    cfg: TrainConfig = state["cfg"]
    info: DistInfo = state["info"]
    optim_cfg = cfg.ins if name == "ins" else cfg.rec
    steps = state["steps"]
    if steps[name] >= optim_cfg.steps:
        return {}
    denoiser, coordinator = state["denoiser"], state["coordinator"]
    if name == "rec":
        # Stage 2 uses the frozen INS with its averaged weights.
        state["ema"]["ins"].copy_to(denoiser)
        denoiser.eval().requires_grad_(False)
        trained = coordinator
    else:
        denoiser.train().requires_grad_(True)
        trained = denoiser
    trained.train()
    module = trained
    if info.world > 1:
        module = torch.nn.parallel.DistributedDataParallel(
            trained,
            device_ids=[info.device.index] if info.device.type == "cuda" else None,
            # Every parameter takes part in every forward (no data-dependent branches), so
            # DDP need not walk the autograd graph each step looking for unused ones.
            find_unused_parameters=False,
        )
    optimizer = torch.optim.AdamW(
        parameter_groups(trained, optim_cfg.added_layer_lr_scale),
        lr=optim_cfg.lr,
        weight_decay=optim_cfg.weight_decay,
    )
    if payload is not None:
        load_optimizer_state(optimizer, payload["optimizer"], name)
        set_rng_state(payload["rng"])
    plan = plan_data(cfg, state["bank"], state["solo_items"], name)
    batches = make_batches(cfg, plan, steps[name], info, cfg.seed * 3 + STAGES.index(name))
    local = cfg.data.batch_size // info.world
    positions = torch.arange(local) * info.world + info.rank
    ctx = StepContext(
        state["schedule"],
        state["stats"],
        state["text"],
        cfg.loss,
        cfg.seed,
        cfg.diffusion.cond_drop,
        info.device,
        positions,
        cfg.model.placement_anchor,
        cfg.diffusion.text_token_drop,
        cfg.diffusion.rec_max_step,
        cfg.diffusion.text_mix,
        cfg.model.person_texts,
    )
    validation = fixed_batches(plan, VALIDATION_BATCHES, local)
    best = payload.get("best_val", math.inf) if payload else math.inf
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if optim_cfg.amp and info.device.type == "cuda"
        else nullcontext()
    )
    bar = tqdm(
        total=optim_cfg.steps,
        initial=steps[name],
        disable=not (state["progress"] and info.is_main),
        desc=f"stage {'1 INS' if name == 'ins' else '2 REC'}",
        unit="step",
        dynamic_ncols=True,
    )
    writer = state["writer"]
    ema: EMA = state["ema"][name]
    logged: dict[str, float] = {}
    window: dict[str, float] = {}
    window_steps, tick = 0, time.perf_counter()
    while steps[name] < optim_cfg.steps:
        step = steps[name]
        batch = next(batches)
        lr = lr_at(step, optim_cfg.lr, optim_cfg.warmup_steps, optim_cfg.steps)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)  # (absent in older checkpoints)
        with autocast:
            if name == "ins":
                losses = ins_step(module, batch, step, ctx)
            else:
                losses = rec_step(denoiser, module, batch, step, ctx)
        total = losses["total"]
        if not torch.isfinite(total):
            raise InterSynError(
                f"stage {name} step {step}: loss became {total.item()}; lower the lr"
            )
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(trained.parameters(), optim_cfg.grad_clip)
        optimizer.step()
        ema.update(trained)
        steps[name] = step + 1
        for key, value in losses.items():
            window[key] = window.get(key, 0.0) + float(all_mean(value, info))
        window_steps += 1
        bar.update(1)
        if steps[name] % cfg.log_every == 0 or steps[name] == optim_cfg.steps:
            elapsed = time.perf_counter() - tick
            logged = {k: v / window_steps for k, v in window.items()}
            logged["lr"] = optimizer.param_groups[0]["lr"]
            logged["samples_per_s"] = window_steps * cfg.data.batch_size / max(elapsed, 1e-9)
            logged["text_truncated_share"] = ctx.text.truncated_share
            _log(state, name, steps[name], logged)
            bar.set_postfix(loss=f"{logged['total']:.4f}", sps=f"{logged['samples_per_s']:.0f}")
            window, window_steps, tick = {}, 0, time.perf_counter()
        if steps[name] % cfg.checkpoint_every == 0 or steps[name] == optim_cfg.steps:
            val = _validate(name, state, validation, ctx)
            improved = val < best
            best = min(best, val)
            if writer is not None:
                writer.add_scalar(f"{name}/val_loss", val, steps[name])
            if info.is_main:
                _save_training(state, name, optimizer, best, improved)
    bar.close()
    if info.is_main and name == "ins":
        _save_inference(state["run_dir"] / "checkpoints" / "ins.pt", state)
    return logged


@torch.no_grad()
def _validate(name: str, state: dict, batches: list[Batch], ctx: StepContext) -> float:
    """Loss of the EMA weights on fixed batches (identical draws at every evaluation)."""
    denoiser, coordinator = state["denoiser"], state["coordinator"]
    trained = denoiser if name == "ins" else coordinator
    backup = {k: v.clone() for k, v in trained.state_dict().items()}
    state["ema"][name].copy_to(trained)
    was_training = trained.training
    trained.eval()
    ctx = dataclasses.replace(ctx, token_drop=0.0)  # validate on whole captions, as sampled
    try:
        values = []
        for i, batch in enumerate(batches):
            step = VALIDATION_STEP + i  # fixed draws, distinct from any training step
            if name == "ins":
                values.append(float(ins_step(denoiser, batch, step, ctx)["total"]))
            else:
                values.append(float(rec_step(denoiser, coordinator, batch, step, ctx)["total"]))
        return float(all_mean(torch.tensor(sum(values) / len(values)), state["info"]))
    finally:
        trained.load_state_dict(backup)
        trained.train(was_training)


def _log(state: dict, stage: str, step: int, values: dict[str, float]) -> None:
    if not state["info"].is_main:
        return
    writer = state["writer"]
    for key, value in values.items():
        writer.add_scalar(f"{stage}/{key}", value, step)
    writer.flush()
    with open(state["run_dir"] / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"stage": stage, "step": step, **values}) + "\n")


def _save_training(state: dict, stage: str, optimizer, best: float, improved: bool) -> None:
    ckpt_dir = state["run_dir"] / "checkpoints"
    payload = {
        "kind": CHECKPOINT_KIND,
        "config": state["cfg"].to_dict(),
        "stage": stage,
        "steps": dict(state["steps"]),
        "denoiser": state["denoiser"].state_dict(),
        "coordinator": state["coordinator"].state_dict(),
        "ema_denoiser": state["ema"]["ins"].state_dict(),
        "ema_coordinator": state["ema"]["rec"].state_dict(),
        "optimizer": optimizer.state_dict(),
        "stats": state["stats"].to_dict(),
        "rng": rng_state(),
        "best_val": best,
        **state["wording"],  # latest.pt also generates (its EMA weights)
        **_text_weights(state["text"].encoder),  # a run without text_path resumes on them
        **_ranker(state),
    }
    save_checkpoint(ckpt_dir / "latest.pt", payload)
    if improved:
        _save_inference(ckpt_dir / "best.pt", state)


def _save_inference(path: Path, state: dict) -> str:
    """EMA weights + stats + config: what generation and evaluation load."""
    cfg: TrainConfig = state["cfg"]
    denoiser = build_denoiser(cfg.model)
    coordinator = build_coordinator(cfg.model)
    denoiser.load_state_dict(state["denoiser"].state_dict())
    coordinator.load_state_dict(state["coordinator"].state_dict())
    state["ema"]["ins"].copy_to(denoiser)
    if state["steps"]["rec"] > 0:
        state["ema"]["rec"].copy_to(coordinator)
    return save_checkpoint(
        path,
        {
            "kind": "intersyn-model",
            "config": cfg.to_dict(),
            "steps": dict(state["steps"]),
            "denoiser": {k: v.cpu() for k, v in denoiser.state_dict().items()},
            "coordinator": {k: v.cpu() for k, v in coordinator.state_dict().items()},
            "stats": state["stats"].to_dict(),
            "text_encoder": cfg.text_encoder,
            **state["wording"],
            **_text_weights(state["text"].encoder),
            **_ranker(state),
        },
    )


def _text_weights(encoder) -> dict:
    """A trained text encoder's own weights (`text_weights`), so the checkpoint stands alone."""
    weights = getattr(encoder, "weights", None)
    return {"text_weights": weights()} if callable(weights) else {}


def _ranker(state: dict) -> dict:
    """The ranker the run started from (`--init`/`--resume`), if it carried one."""
    return {} if state["ranker"] is None else {"ranker": state["ranker"]}


@dataclass
class TrainedModel:
    """An inference checkpoint loaded for sampling."""

    config: TrainConfig
    denoiser: torch.nn.Module
    coordinator: torch.nn.Module
    stats: FeatureStats
    steps: dict[str, int]
    sha256: str
    text_weights: dict | None = None  # a trained text encoder's weights (text_encoder=aligned)
    text_vocabulary: list[str] | None = None  # words of the training captions (None: unknown)
    text_word_pairs: list[str] | None = None  # their adjacent word pairs (None: unknown)
    # a text-motion scorer's weights (`intersyn.ranking`) for best-of-K sampling, if shipped
    ranker_weights: dict | None = None
    # the solo and interaction training captions (None: unknown), `intersyn.text.known_wording`
    text_captions: dict[str, list[str]] | None = None
    # their embeddings by the ranker whose hash `ranker_sha256` they carry (shipped models)
    text_caption_embeddings: dict | None = None


def load_trained_model(path: str | Path, device: str | torch.device = "cpu") -> TrainedModel:
    """Load `final.pt`/`best.pt`/`ins.pt` (or a training `latest.pt`, using its EMA weights)."""
    payload = load_checkpoint(path)
    kind = payload.get("kind")
    if kind not in ("intersyn-model", CHECKPOINT_KIND):
        raise InterSynError(f"checkpoint {path}: kind {kind!r} is not an InterSyn model")
    try:
        cfg = TrainConfig.from_dict(payload["config"])
        model_cfg = ModelConfig.from_dict(payload["config"]["model"])
        denoiser = build_denoiser(model_cfg)
        coordinator = build_coordinator(model_cfg)
        denoiser.load_state_dict(payload["denoiser"])
        coordinator.load_state_dict(payload["coordinator"])
        if kind == CHECKPOINT_KIND:
            ema = EMA(denoiser)
            ema.load_state_dict(payload["ema_denoiser"])
            ema.copy_to(denoiser)
            if payload["steps"].get("rec", 0) > 0:
                ema_c = EMA(coordinator)
                ema_c.load_state_dict(payload["ema_coordinator"])
                ema_c.copy_to(coordinator)
    except InterSynError:
        raise
    except (KeyError, RuntimeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InterSynError(
            f"checkpoint {path}: does not match the InterSyn architecture it declares ({first})"
        ) from None
    stats = FeatureStats.from_dict(payload["stats"])
    coordinator.set_normalization(stats.mean, stats.std)
    denoiser.to(device).eval()
    coordinator.to(device).eval()
    return TrainedModel(
        cfg,
        denoiser,
        coordinator,
        stats,
        dict(payload["steps"]),
        payload["sha256"],
        payload.get("text_weights"),
        _words(payload, "text_vocabulary", path),
        _words(payload, "text_word_pairs", path),
        payload.get("ranker"),
        check_caption_bank(payload.get("text_captions"), f"checkpoint {path}"),
        check_caption_embeddings(payload.get("text_caption_embeddings"), f"checkpoint {path}"),
    )


def _words(payload: dict, key: str, path: str | Path) -> list[str] | None:
    """A checkpoint's `text_vocabulary` or `text_word_pairs`: absent (older checkpoints) or a
    list of strings."""
    words = payload.get(key)
    if words is None:
        return None
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise InterSynError(f"checkpoint {path}: {key} is not a list of words")
    return words
