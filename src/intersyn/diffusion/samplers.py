"""DDIM and DDPM samplers as plain functions over a denoise callable (k-diffusion style).

A denoise callable is `denoise_fn(x_t: Tensor (B, …), t: Tensor (B,) long) -> x0_pred (B, …)`:
the model predicts x0 (SPEC.md §3). Guidance, conditioning and masks are closed over by the
callable (see `guidance.guided_denoiser`); a sampler only knows the schedule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from intersyn.diffusion.schedule import NoiseSchedule, Spacing, sampling_timesteps
from intersyn.errors import InterSynError

DenoiseFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# One reverse step: (x_t, x0_pred, t, s, noise or None) -> x_s, with t and s shared by the batch.
_StepFn = Callable[[torch.Tensor, torch.Tensor, int, int, torch.Tensor | None], torch.Tensor]


def _check_mask(mask: torch.Tensor, shape: torch.Size, name: str) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise InterSynError(f"{name}: expected a bool tensor broadcastable to {tuple(shape)}")
    # numpy's rule, not torch.broadcast_shapes: that one imports sympy (0.5 s) on first use.
    try:
        common = np.broadcast_shapes(tuple(mask.shape), tuple(shape))
    except (ValueError, RuntimeError):  # (RuntimeError: more than 32 dimensions)
        raise InterSynError(
            f"{name}: shape {tuple(mask.shape)} does not broadcast to {tuple(shape)}"
        ) from None
    if common != tuple(shape):
        raise InterSynError(
            f"{name}: shape {tuple(mask.shape)} would enlarge the sample shape {tuple(shape)}"
        )
    return mask


def _run(
    denoise_fn: DenoiseFn,
    shape: Sequence[int],
    schedule: NoiseSchedule,
    timesteps: torch.Tensor,
    step_fn: _StepFn,
    stochastic: bool,
    *,
    generator: torch.Generator | None,
    progress: bool,
    x_T: torch.Tensor | None,
    mask: torch.Tensor | None,
    inpaint: tuple[torch.Tensor, torch.Tensor] | None,
    device: torch.device | str | None,
    dtype: torch.dtype,
    desc: str,
) -> torch.Tensor:
    """The loop both samplers share: draw x_T, then per timestep denoise, step and constrain."""
    shape = torch.Size(shape)
    if len(shape) < 1 or shape[0] < 1:
        raise InterSynError(f"shape: expected (B, …) with B >= 1, got {tuple(shape)}")
    if x_T is not None:
        if x_T.shape != shape:
            raise InterSynError(f"x_T: expected shape {tuple(shape)}, got {tuple(x_T.shape)}")
        device, dtype = x_T.device, x_T.dtype
    elif device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    if mask is not None:
        mask = _check_mask(mask, shape, "mask").to(device)
    if inpaint is not None:
        known, known_mask = inpaint
        if not isinstance(known, torch.Tensor) or known.shape != shape:
            raise InterSynError(
                f"inpaint: known_x0 must be a tensor of shape {tuple(shape)}, "
                f"got {tuple(getattr(known, 'shape', ()))}"
            )
        known = known.to(device=device, dtype=dtype)
        known_mask = _check_mask(known_mask, shape, "inpaint known_mask").to(device)

    def noise() -> torch.Tensor:
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)

    def constrain(x: torch.Tensor, s: int) -> torch.Tensor:
        # Known entries follow the forward process of the known clean values at level s.
        if inpaint is not None:
            noised = known if s < 0 else schedule.q_sample(known, s, noise())
            x = torch.where(known_mask, noised, x)
        # Entries outside `mask` (padding, absent people) carry no signal: keep them at 0.
        return x if mask is None else torch.where(mask, x, 0.0)

    with torch.inference_mode():
        x = noise() if x_T is None else x_T.clone()
        x = constrain(x, int(timesteps[0]))
        targets = torch.cat([timesteps[1:], torch.tensor([-1])])
        pairs = list(zip(timesteps.tolist(), targets.tolist()))
        for t, s in tqdm(pairs, desc=desc, disable=not progress, leave=False):
            t_batch = torch.full((shape[0],), t, dtype=torch.long, device=device)
            x0 = denoise_fn(x, t_batch)
            if not isinstance(x0, torch.Tensor) or x0.shape != shape:
                raise InterSynError(
                    f"denoise_fn: returned shape {tuple(getattr(x0, 'shape', ()))}, "
                    f"expected the sample shape {tuple(shape)}"
                )
            z = noise() if stochastic and s >= 0 else None
            x = constrain(step_fn(x, x0.to(x.dtype), t, s, z), s)
    return x


def ddim_sample(
    denoise_fn: DenoiseFn,
    shape: Sequence[int],
    schedule: NoiseSchedule,
    steps: int = 50,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    progress: bool = True,
    x_T: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    inpaint: tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    spacing: Spacing = "trailing",
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Sample `shape` with DDIM (Song et al. 2021) over `steps` evenly spaced timesteps.

    Args:
        denoise_fn: x0 predictor `(x_t (B, …), t (B,) long) -> (B, …)`.
        shape: sample shape `(B, …)`, e.g. `(B, P, T, D)` normalised motion features.
        schedule: the training noise schedule.
        steps: number of denoiser calls, 1 … T (`sampling_timesteps`).
        eta: η ≥ 0; 0 is deterministic given x_T, 1 matches DDPM's posterior noise.
        generator: the only source of randomness (x_T and step noise); same seed, same output.
        progress: show a tqdm bar.
        x_T: optional starting noise of `shape` (its device and dtype are used).
        mask: optional bool, broadcastable to `shape`; False entries are held at 0 throughout.
        inpaint: optional `(known_x0 (shape), known_mask bool)`; after every step the known
            entries are replaced by known_x0 noised to the next timestep (exactly known_x0 at
            the end), so the free entries are generated consistently with them.
        spacing: "trailing" (grid ends at T − 1) or "leading" (starts at 0, InterGen's).
        device: where to sample when `x_T` is not given (default: the generator's device).
        dtype: sample dtype when `x_T` is not given.

    Returns:
        x0 samples, `shape`.
    """
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta >= 0):
        raise InterSynError(f"eta={eta!r} must be a finite number >= 0")
    timesteps = sampling_timesteps(schedule.num_steps, steps, spacing)

    def step(x, x0, t, s, z):
        return schedule.ddim_step(x, x0, t, s, eta=float(eta), noise=z)

    options = dict(x_T=x_T, mask=mask, inpaint=inpaint, device=device, dtype=dtype)
    return _run(
        denoise_fn,
        shape,
        schedule,
        timesteps,
        step,
        stochastic=eta > 0,
        generator=generator,
        progress=progress,
        desc=f"DDIM {steps}",
        **options,
    )


def ddpm_sample(
    denoise_fn: DenoiseFn,
    shape: Sequence[int],
    schedule: NoiseSchedule,
    steps: int | None = None,
    generator: torch.Generator | None = None,
    progress: bool = True,
    x_T: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    inpaint: tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    spacing: Spacing = "trailing",
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Sample `shape` with ancestral DDPM steps x_s ~ q(x_s | x_t, x0_pred) (paper Eq. 1–2).

    `steps=None` visits all T timesteps; fewer steps use the respaced chain between the visited
    timesteps (`NoiseSchedule.posterior`), with the "fixed small" variance β̃. Other arguments
    are as in `ddim_sample`.

    Returns:
        x0 samples, `shape`.
    """
    steps = schedule.num_steps if steps is None else steps
    timesteps = sampling_timesteps(schedule.num_steps, steps, spacing)

    def step(x, x0, t, s, z):
        mean, variance = schedule.posterior(x0, x, t, s)
        if z is None:  # s = −1: the posterior is a point mass at x0
            return mean
        return mean + math.sqrt(variance) * z

    options = dict(x_T=x_T, mask=mask, inpaint=inpaint, device=device, dtype=dtype)
    return _run(
        denoise_fn,
        shape,
        schedule,
        timesteps,
        step,
        stochastic=True,
        generator=generator,
        progress=progress,
        desc=f"DDPM {steps}",
        **options,
    )
