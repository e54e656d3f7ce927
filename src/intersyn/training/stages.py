"""The two training stages as step functions (paper §4, §5.1).

Stage 1 (INS): the denoiser M_s learns x0 from noised pair features, with L_I = λ1 L_rec +
λ2 L_smooth (Eq. 7–8) plus geometric terms. Stage 2 (REC): M_s is frozen, its x0 prediction
ũ is refined by the coordinator M_c — the partner refined against person x, φ_y =
M_c(ũ_y, ũ_x, w) — with L_R = λ3 L_rela + λ4 L_dm (Eq. 11–12).

Randomness that defines a step (diffusion step t, noise, condition dropout) is drawn per
sample from a generator seeded by (seed, stage, step, position in the global batch), so a run
on one process and on several computes the same losses, and a resumed run repeats exactly.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from intersyn.data.loaders import Batch
from intersyn.diffusion.schedule import NoiseSchedule
from intersyn.errors import InterSynError
from intersyn.kinematics.pair import decode_pair
from intersyn.kinematics.representation import FEATURE_DIM, std_slice_average
from intersyn.losses.combine import LossConfig, total_ins_loss, total_rec_loss
from intersyn.models.coordinator import Coordinator
from intersyn.models.denoiser import MotionDenoiser
from intersyn.models.layers import Condition
from intersyn.text.base import CaptionTruncatedWarning, TextEncoder

STAGE_SEEDS = {"ins": 1, "rec": 2}


@dataclass(frozen=True)
class FeatureStats:
    """Mean and std `(267,)` of the pair feature over present frames; the model's normalisation."""

    mean: torch.Tensor
    std: torch.Tensor

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x)) / self.std.to(x)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std.to(x) + self.mean.to(x)

    def to_dict(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean.detach().cpu(), "std": self.std.detach().cpu()}

    @classmethod
    def from_dict(cls, data: dict[str, torch.Tensor]) -> FeatureStats:
        return cls(torch.as_tensor(data["mean"]).float(), torch.as_tensor(data["std"]).float())


MIN_STD = 1e-2  # channels that barely vary (e.g. cos ψ of solo data) must not blow up


def estimate_stats(batches: list[Batch]) -> FeatureStats:
    """Feature statistics from a few batches: masked mean, std floored at MIN_STD.

    The 263 HumanML3D columns get HumanML3D's slice-averaged std (REFERENCE §1.8); the
    placement channels keep their own.
    """
    rows = []
    for batch in batches:
        mask = batch.presence & batch.valid[:, None, :]
        rows.append(batch.motion[mask].double())
    data = torch.cat(rows)
    if data.shape[0] < 2:
        raise InterSynError("feature statistics: fewer than 2 present frames in the sampled data")
    std = data.std(0)
    std[:FEATURE_DIM] = std_slice_average(std[:FEATURE_DIM])
    return FeatureStats(data.mean(0).float(), std.clamp_min(MIN_STD).float())


class TextConditioner:
    """Turns captions into `Condition` text tensors, caching each caption's features in memory.

    Interleaved training samples join a solo and an interaction caption, so nearly every one
    is new: the cache holds at most `max_cache_bytes` of features (oldest dropped first;
    the encoders are deterministic, so dropping changes nothing but time).

    Joined captions often exceed the encoder's token limit. Instead of one warning per caption
    (thousands in a run), the first is reported once and `truncated_share` counts them (the
    training loop logs it): a long organisation's later segments may not reach the tokens.
    """

    def __init__(
        self, encoder: TextEncoder, device: torch.device, max_cache_bytes: int = 512 * 2**20
    ) -> None:
        self.encoder, self.device = encoder, device
        self.max_cache_bytes = max_cache_bytes
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._cache_bytes = 0
        self.encoded = 0  # distinct captions encoded (cache misses)
        self.truncated = 0  # of which longer than the encoder's token limit

    @property
    def truncated_share(self) -> float:
        return self.truncated / max(self.encoded, 1)

    @staticmethod
    def _size(entry: tuple[torch.Tensor, torch.Tensor]) -> int:
        return sum(t.numel() * t.element_size() for t in entry)

    def encode(self, captions: tuple[str, ...] | list[str]) -> tuple[torch.Tensor, ...]:
        """(tokens (B, L, C), mask (B, L), pooled (B, C)) on the device."""
        missing = [c for c in dict.fromkeys(captions) if c not in self._cache]
        new: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        if missing:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                feats = self.encoder.encode(missing)
            self._count_truncations(caught, len(missing))
            lengths = feats.token_mask.sum(1)
            for i, caption in enumerate(missing):
                n = int(lengths[i])
                # Copies: a view would keep the whole batch's tensor alive in the cache.
                new[caption] = (feats.tokens[i, :n].cpu().clone(), feats.pooled[i].cpu().clone())
        items = [new[c] if c in new else self._cache[c] for c in captions]
        self._cache.update(new)
        self._cache_bytes += sum(self._size(entry) for entry in new.values())
        if self._cache_bytes > self.max_cache_bytes:  # drop the oldest down to half the budget
            for caption in list(self._cache):
                if self._cache_bytes <= self.max_cache_bytes // 2:
                    break
                self._cache_bytes -= self._size(self._cache.pop(caption))
        longest = max(1, max(t.shape[0] for t, _ in items))
        tokens = torch.zeros(len(items), longest, items[0][0].shape[-1])
        mask = torch.zeros(len(items), longest, dtype=torch.bool)
        for i, (tok, _) in enumerate(items):
            tokens[i, : tok.shape[0]] = tok
            mask[i, : tok.shape[0]] = True
        pooled = torch.stack([p for _, p in items])
        return tokens.to(self.device), mask.to(self.device), pooled.to(self.device)

    def _count_truncations(self, caught: list[warnings.WarningMessage], encoded: int) -> None:
        truncations = [w for w in caught if issubclass(w.category, CaptionTruncatedWarning)]
        for other in caught:
            if not issubclass(other.category, CaptionTruncatedWarning):
                warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
        if truncations and not self.truncated:
            warnings.warn(
                f"training {truncations[0].message} (reported once; the share of truncated "
                "captions is logged as text_truncated_share)",
                stacklevel=3,
            )
        self.encoded += encoded
        self.truncated += len(truncations)


# Token-dropout draws per sample: more than any caption's token count (the default 64, CLIP 77).
TOKEN_DRAWS = 128


@dataclass(frozen=True)
class SampleDraws:
    """Each sample's random draws for one training step."""

    t: torch.Tensor  # (B,) long diffusion steps
    noise: torch.Tensor  # (B, *shape)
    drop: torch.Tensor  # (B,) bool: trained with the null text
    token_keep: torch.Tensor | None  # (B, TOKEN_DRAWS) bool: caption tokens shown; None = all
    text_mix: torch.Tensor | None = None  # (B,) weight of another sample's text; None = 0


def per_sample_draws(
    seed: int,
    stage: str,
    step: int,
    positions: torch.Tensor,
    shape: tuple[int, ...],
    num_steps: int,
    cond_drop: float,
    token_drop: float = 0.0,
    text_mix: float = 0.0,
) -> SampleDraws:
    """The draws of the samples at `positions` in the global batch: each sample has its own
    generator, so a sample's draws do not depend on how the batch is split across processes."""
    ts, noises, drops, keeps, mixes = [], [], [], [], []
    for position in positions.tolist():
        g = torch.Generator().manual_seed(
            int(
                np.random.SeedSequence([seed, STAGE_SEEDS[stage], step, position]).generate_state(
                    1
                )[0]
            )
        )
        ts.append(torch.randint(0, num_steps, (1,), generator=g))
        drops.append(torch.rand(1, generator=g) < cond_drop)
        noises.append(torch.randn(shape, generator=g))
        if token_drop > 0:  # drawn last: runs without token dropout keep their exact draws
            keeps.append(torch.rand(TOKEN_DRAWS, generator=g) >= token_drop)
        if text_mix > 0:  # after those: runs without it keep their exact draws too
            mixes.append(torch.rand(1, generator=g) * text_mix)
    return SampleDraws(
        torch.cat(ts),
        torch.stack(noises),
        torch.cat(drops),
        torch.stack(keeps) if keeps else None,
        torch.cat(mixes) if mixes else None,
    )


def make_condition(
    batch: Batch,
    text: TextConditioner,
    drop: torch.Tensor,
    device: torch.device,
    token_keep: torch.Tensor | None = None,
    text_mix: torch.Tensor | None = None,
) -> Condition:
    """The batch's Condition; `token_keep (B, >= L)` hides the caption tokens it marks False;
    `text_mix (B,)` leans each sample's text toward the previous sample's (`DiffusionConfig`)."""
    tokens, mask, pooled = text.encode(batch.captions)
    if token_keep is not None:
        mask = mask & token_keep[:, : mask.shape[1]].to(device)
    if text_mix is not None:
        other = F.normalize(pooled.roll(1, 0), dim=-1)  # (B, C)
        weight = text_mix.to(device=device, dtype=pooled.dtype)
        tokens = lean_toward(tokens, other[:, None], weight[:, None, None])
        pooled = lean_toward(pooled, other, weight[:, None])
    return Condition(
        text_tokens=tokens,
        text_mask=mask,
        text_pooled=pooled,
        interaction_start=batch.interaction_start.to(device),
        solo_start=batch.solo_start.to(device),
        cond_drop=drop.to(device),
        motion_ends=None if batch.ends is None else batch.ends.to(device),
    )


def with_person_texts(
    cond: Condition, texts: tuple[tuple[str, ...], ...] | None, text: TextConditioner
) -> Condition:
    """`cond` with each sample's per-person texts (`texts[b][p]`, "" for none) as sentence
    features (`Condition.person_text`); `cond` itself when no sample has one. Training and
    generation build them here alike."""
    if texts is None or not any(t for row in texts for t in row):
        return cond
    people = max(len(row) for row in texts)
    flat = [row[p] if p < len(row) else "" for row in texts for p in range(people)]
    given = [k for k, t in enumerate(flat) if t]
    pooled = cond.text_pooled
    features = pooled.new_zeros(len(flat), pooled.shape[1])
    features[given] = text.encode([flat[k] for k in given])[2].to(pooled.dtype)
    mask = torch.tensor([bool(t) for t in flat], device=pooled.device)
    return dataclasses.replace(
        cond,
        person_text=features.view(len(texts), people, -1),
        person_text_mask=mask.view(len(texts), people),
    )


def lean_toward(
    features: torch.Tensor, direction: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """`features + weight · |features| · direction` (a unit direction), rescaled to the norm
    `features` had: the same length, turned toward `direction`. Zero (padding) rows stay zero."""
    norm = features.norm(dim=-1, keepdim=True)
    leaned = features + weight * norm * direction
    return leaned * (norm / leaned.norm(dim=-1, keepdim=True).clamp_min(1e-12))


@dataclass
class StepContext:
    """What a step function needs besides the batch."""

    schedule: NoiseSchedule
    stats: FeatureStats
    text: TextConditioner
    loss: LossConfig
    seed: int
    cond_drop: float
    device: torch.device
    positions: torch.Tensor  # (B,) this process's samples' positions in the global batch
    anchor: str = "sequence"  # the model's placement anchor (decoding for the geometric losses)
    token_drop: float = 0.0  # share of caption tokens hidden per sample (training only)
    rec_max_step: int | None = None  # stage 2 draws t below this (DiffusionConfig.rec_max_step)
    text_mix: float = 0.0  # stage 1 leans texts toward others' (DiffusionConfig.text_mix)
    person_texts: bool = False  # the denoiser reads per-person texts (ModelConfig.person_texts)


@dataclass(frozen=True)
class NoisedBatch:
    """A batch on the device with its clean target, noised input and condition."""

    batch: Batch
    mask: torch.Tensor  # (B, P, T) presence × padding
    x0: torch.Tensor  # (B, P, T, D) normalised clean features, 0 where absent
    x_t: torch.Tensor  # (B, P, T, D) noised
    t: torch.Tensor  # (B,) diffusion steps
    cond: Condition


def noise_batch(batch: Batch, stage: str, step: int, ctx: StepContext) -> NoisedBatch:
    """Normalise, draw (t, noise, text dropout) per sample, noise the present frames."""
    batch = batch.to(ctx.device)
    mask = batch.presence & batch.valid[:, None, :]
    x0 = torch.where(mask[..., None], ctx.stats.normalize(batch.motion), 0.0)
    draws = per_sample_draws(
        ctx.seed,
        stage,
        step,
        ctx.positions,
        tuple(x0.shape[1:]),
        ctx.schedule.num_steps,
        ctx.cond_drop,
        ctx.token_drop,
        ctx.text_mix if stage == "ins" else 0.0,
    )
    t, noise = draws.t.to(ctx.device), draws.noise.to(ctx.device)
    if stage == "rec" and ctx.rec_max_step is not None:
        # Scaled rather than redrawn: every other draw of the step stays as it was.
        t = t * ctx.rec_max_step // ctx.schedule.num_steps
    x_t = torch.where(mask[..., None], ctx.schedule.q_sample(x0, t, noise).to(x0.dtype), 0.0)
    cond = make_condition(batch, ctx.text, draws.drop, ctx.device, draws.token_keep, draws.text_mix)
    if ctx.person_texts:
        cond = with_person_texts(cond, batch.person_texts, ctx.text)
    return NoisedBatch(batch, mask, x0, x_t, t, cond)


def decode_prediction(
    features: torch.Tensor, n: NoisedBatch, anchor: str, mode: str
) -> torch.Tensor:
    """Joints `(B, P, T, 22, 3)` of the de-normalised prediction for the geometric losses.

    Every mode but "integrated" decodes along the target's roots ("heading": its heading only);
    "teacher_solo" does so for samples with a solo segment and integrates the predicted roots
    of interaction-only samples (their t_s is −1).
    """
    if mode != "teacher_solo":
        teacher = None if mode == "integrated" else n.batch.motion
        return decode_pair(features, n.mask, anchor, teacher, mode != "heading")
    has_solo = n.batch.solo_start >= 0
    if bool(has_solo.all()):
        return decode_pair(features, n.mask, anchor, n.batch.motion)
    if not bool(has_solo.any()):
        return decode_pair(features, n.mask, anchor)
    # Each sample is decoded once, in the way its kind asks for.
    solo, pair_only = has_solo.nonzero()[:, 0], (~has_solo).nonzero()[:, 0]
    taught = decode_pair(features[solo], n.mask[solo], anchor, n.batch.motion[solo])
    integrated = decode_pair(features[pair_only], n.mask[pair_only], anchor)
    order = torch.cat([solo, pair_only]).argsort()
    return torch.cat([taught, integrated])[order]


def ins_step(
    model: MotionDenoiser | torch.nn.Module, batch: Batch, step: int, ctx: StepContext
) -> dict[str, torch.Tensor]:
    """Stage 1 losses for one batch: L_rec, L_smooth and the geometric terms."""
    n = noise_batch(batch, "ins", step, ctx)
    pred = model(n.x_t, n.t, n.cond, n.batch.presence, n.batch.valid)
    features = ctx.stats.denormalize(pred)
    mode = ctx.loss.geometric_root
    joints_pred = decode_prediction(features, n, ctx.anchor, mode)
    joints_target = decode_pair(n.batch.motion, n.mask, ctx.anchor)
    integrated = decode_pair(features, n.mask, ctx.anchor) if mode == "both" else None
    return total_ins_loss(
        pred,
        n.x0,
        n.mask,
        ctx.loss,
        joints_pred=joints_pred,
        joints_target=joints_target,
        boundaries=n.batch.boundaries,
        t=n.t,
        joints_integrated=integrated,
    )


def rec_step(
    denoiser: MotionDenoiser | torch.nn.Module,
    coordinator: Coordinator | torch.nn.Module,
    batch: Batch,
    step: int,
    ctx: StepContext,
) -> dict[str, torch.Tensor]:
    """Stage 2 losses for one batch: the frozen M_s predicts ũ, M_c refines the partner."""
    n = noise_batch(batch, "rec", step, ctx)
    with torch.no_grad():
        u_hat = denoiser(n.x_t, n.t, n.cond, n.batch.presence, n.batch.valid)  # ũ (B, 2, T, D)
    pair_presence = n.batch.presence.flip(1)  # (partner, person x): the partner is refined
    phi_y = coordinator(u_hat[:, 1], u_hat[:, 0], n.cond, pair_presence, n.batch.valid)
    both = n.mask[:, 0] & n.mask[:, 1]  # (B, T) frames where the two interact
    refined = torch.stack([u_hat[:, 0], phi_y], 1)
    joints_pred = decode_pair(ctx.stats.denormalize(refined), n.mask, ctx.anchor)
    joints_target = decode_pair(n.batch.motion, n.mask, ctx.anchor)
    return total_rec_loss(
        phi_y, n.x0[:, 1], both, ctx.loss, joints_pred=joints_pred, joints_target=joints_target
    )
