"""Classifier-free guidance: condition dropout for training and a batched guided denoiser.

The model sees an explicit null-condition flag `cond_drop (B,)` bool; True means "replace the
text by the null condition" (REFERENCE.md §4.1: a zero text feature). Guidance is applied to
the x0 prediction: x0 = cond + (s − 1) · (cond − uncond), optionally only up to a highest
diffusion step (a guidance interval, Kynkäänniemi et al. 2024): the noisiest steps set a
sample's coarse layout and pace, which guidance there pushes past the data's (README, "Guidance
interval"). Optionally the update's component along the conditional prediction is weighted
down (projected guidance, Sadat et al. 2024, "Eliminating oversaturation and artifacts of high
guidance scales in diffusion models", without its norm threshold and momentum): that component
mostly scales what the text prediction already says (a walk's pace), the orthogonal rest
changes what the motion is (README, "Projected guidance").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from intersyn.diffusion.samplers import DenoiseFn
from intersyn.errors import InterSynError

COND_DROP_PROB = 0.1  # MDM and InterGen drop the text of 10 % of training samples

# model_fn(x_t (N, …), t (N,) long, cond_drop (N,) bool) -> x0_pred (N, …)
ModelFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def drop_condition(
    cond_mask_prob: float = COND_DROP_PROB,
    batch: int = 1,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Which training samples lose their condition, `(batch,)` bool, each True with `cond_mask_prob`."""
    if not (isinstance(cond_mask_prob, (int, float)) and 0.0 <= cond_mask_prob <= 1.0):
        raise InterSynError(f"cond_mask_prob={cond_mask_prob!r} must be a probability in [0, 1]")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 0:
        raise InterSynError(f"batch={batch!r} must be an integer >= 0")
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(batch, generator=generator, device=device) < cond_mask_prob


@dataclass(frozen=True)
class Guidance:
    """How a sampler guides: `guided_denoiser`'s `scale`, `max_step` and `parallel`, and the
    distance (m) that each x0 prediction keeps people's pelvises apart
    (`intersyn.kinematics.personal_space`; 0: none)."""

    scale: float
    max_step: int | None
    parallel: float
    min_distance: float = 0.0


def guided_denoiser(
    model_fn: ModelFn, scale: float, max_step: int | None = None, parallel: float = 1.0
) -> DenoiseFn:
    """Wrap `model_fn` into a denoise callable returning uncond + scale · (cond − uncond).

    `max_step`: guide only at diffusion steps t ≤ max_step; above it the conditional prediction
    is returned alone (scale 1). None guides every step.

    `parallel` (in [0, 1]): for scale > 1, the weight of the update's component along the
    conditional prediction, per sample over all its values: cond + (scale − 1) · (orthogonal +
    parallel · along). 1 is classifier-free guidance as above; 0 keeps only the orthogonal part
    (projected guidance). Scales ≤ 1 interpolate towards the unconditional prediction and are
    not projected.

    Conditional and unconditional predictions come from ONE forward pass over the doubled batch
    `[x_t; x_t]` with `cond_drop = [False]*B + [True]*B`, so `model_fn` must accept a batch of
    2B in which rows i and B + i share their conditioning (a closure over per-sample text or
    masks repeats them, e.g. `text.repeat(x.shape[0] // B, 1, 1)`). With scale 1 (or 0 at every
    step) only the conditional (or unconditional) half is needed, and a single B-row call is
    made.
    """
    if not (isinstance(scale, (int, float)) and math.isfinite(scale)):
        raise InterSynError(f"scale={scale!r} must be a finite number")
    scale = float(scale)
    if max_step is not None and (
        isinstance(max_step, bool) or not isinstance(max_step, int) or max_step < 0
    ):
        raise InterSynError(f"max_step={max_step!r} must be None or an integer >= 0")
    if isinstance(parallel, bool) or not (
        isinstance(parallel, (int, float)) and 0.0 <= parallel <= 1.0
    ):
        raise InterSynError(f"parallel={parallel!r} must be a number in [0, 1]")
    projected = scale > 1.0 and parallel != 1.0

    def call(x_t: torch.Tensor, t: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        out = model_fn(x_t, t, drop)
        if not isinstance(out, torch.Tensor) or out.shape != x_t.shape:
            raise InterSynError(
                f"model_fn: returned shape {tuple(getattr(out, 'shape', ()))}, "
                f"expected {tuple(x_t.shape)}"
            )
        return out

    def denoise(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        batch = x_t.shape[0]
        if scale == 1.0 or (scale == 0.0 and max_step is None):
            drop = torch.full((batch,), scale == 0.0, dtype=torch.bool, device=x_t.device)
            return call(x_t, t, drop)
        drop = torch.arange(2 * batch, device=x_t.device) >= batch  # (2B,): cond, then uncond
        both = call(torch.cat([x_t, x_t]), torch.cat([t, t]), drop)
        cond, uncond = both[:batch], both[batch:]
        if projected:
            guided = _projected(cond, uncond, scale, float(parallel))
        else:
            guided = uncond + scale * (cond - uncond)
        if max_step is None:
            return guided
        # Chosen per sample on the device: reading t back would wait for it at every step.
        above = (t > max_step).reshape(-1, *[1] * (cond.dim() - 1))
        return torch.where(above, cond, guided)

    return denoise


def _projected(
    cond: torch.Tensor, uncond: torch.Tensor, scale: float, parallel: float
) -> torch.Tensor:
    """cond + (scale − 1) · (update − (1 − parallel) · its component along cond), per sample."""
    update = cond - uncond
    dims = tuple(range(1, cond.dim()))
    # The sums in float32 at least: a float16 prediction's squared norm overflows.
    wide = torch.promote_types(cond.dtype, torch.float32)
    dot = (update.to(wide) * cond.to(wide)).sum(dims, keepdim=True)
    norm = cond.to(wide).square().sum(dims, keepdim=True)
    along = torch.where(norm > 0, dot / norm.clamp(min=torch.finfo(wide).tiny), 0.0)
    return cond + (scale - 1.0) * (update - ((1.0 - parallel) * along).to(cond.dtype) * cond)
