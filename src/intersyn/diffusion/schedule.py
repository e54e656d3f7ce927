"""Noise schedules and the closed-form Gaussian maths of an x0-predicting diffusion (paper Eq. 1–2).

Notation (code name -> paper / REFERENCE.md §4.1 symbol):
    betas[t]            -> β_t                      (noise added by forward step t, t = 0 … T−1)
    alphas_cumprod[t]   -> ᾱ_t = Π_{i≤t} (1 − β_i)  (signal power kept after step t)
    x_t                 -> √ᾱ_t · x0 + √(1 − ᾱ_t) · ε
    s                   -> the next (lower) timestep a sampler jumps to; s = −1 means "clean",
                           where ᾱ_{−1} = 1.
All tables are float64 on the CPU; per-step coefficients are computed in float64 and rounded
once to the sample's dtype and device when used.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from intersyn.errors import InterSynError

ScheduleName = Literal["cosine", "linear"]
Spacing = Literal["trailing", "leading"]
SCHEDULE_NAMES: tuple[str, ...] = ("cosine", "linear")
SPACINGS: tuple[str, ...] = ("trailing", "leading")
DEFAULT_NUM_STEPS = 1000
MAX_BETA = 0.999  # clip of the cosine schedule's last steps, where 1 − ᾱ(t+1)/ᾱ(t) → 1


def cosine_betas(num_steps: int, offset: float = 0.008, max_beta: float = MAX_BETA) -> torch.Tensor:
    """β_i = min(1 − ᾱ((i+1)/T) / ᾱ(i/T), max_beta) with ᾱ(τ) ∝ cos²((τ + s)/(1 + s) · π/2), `(T,)`."""
    tau = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps
    alpha_bar = torch.cos((tau + offset) / (1.0 + offset) * math.pi / 2) ** 2
    return (1.0 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


def linear_betas(num_steps: int, start: float = 1e-4, end: float = 0.02) -> torch.Tensor:
    """β linear from `start` to `end` at T = 1000, both scaled by 1000/T for other T, `(T,)`.

    The 1000/T scaling keeps ᾱ_{T−1} near the same value whatever T is (guided-diffusion's
    convention); β is clipped to 0.999 for very small T, where the scaled end would exceed 1.
    """
    scale = 1000.0 / num_steps
    return torch.linspace(scale * start, scale * end, num_steps, dtype=torch.float64).clamp(
        max=MAX_BETA
    )


Timesteps = int | torch.Tensor  # one timestep for the whole batch, or `(B,)` long
Coef = float | torch.Tensor  # a Python float for an int timestep, else float64 `(B,)`


def _expand(values: Coef, like: torch.Tensor) -> Coef:
    """Per-sample values `(B,)` cast to `like`'s dtype/device and shaped `(B, 1, …, 1)` to broadcast."""
    if isinstance(values, float):  # one timestep for the batch: a plain scalar, no tensor op
        return values
    values = values.to(device=like.device, dtype=like.dtype)
    return values.reshape(values.shape[0], *([1] * (like.dim() - 1)))


def _sqrt(value: Coef) -> Coef:
    return math.sqrt(max(value, 0.0)) if isinstance(value, float) else value.clamp(min=0).sqrt()


class NoiseSchedule:
    """A fixed β schedule with T steps and the tables derived from it (REFERENCE.md §4.1).

    Attributes (all `(T,)` float64):
        betas: β_t.
        alphas_cumprod: ᾱ_t.
        alphas_cumprod_prev: ᾱ_{t−1}, with ᾱ_{−1} = 1.
        posterior_variance: β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t), the "fixed small" variance
            of q(x_{t−1} | x_t, x0) (paper Eq. 1, σ_t²); 0 at t = 0.
    """

    def __init__(self, name: ScheduleName = "cosine", num_steps: int = DEFAULT_NUM_STEPS) -> None:
        """Build the `name` ("cosine" or "linear") schedule with `num_steps` training steps."""
        if name not in SCHEDULE_NAMES:
            raise InterSynError(
                f"schedule: unknown name {name!r}; expected one of {', '.join(SCHEDULE_NAMES)}"
            )
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
            raise InterSynError(f"num_steps: expected an integer >= 1, got {num_steps!r}")
        self.name = name
        self.num_steps = num_steps
        self.betas = cosine_betas(num_steps) if name == "cosine" else linear_betas(num_steps)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self.alphas_cumprod_prev = torch.cat(
            [torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]]
        )
        self.posterior_variance = (
            self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        )
        self._alpha_bar_padded = torch.cat(
            [torch.ones(1, dtype=torch.float64), self.alphas_cumprod]
        )

    def __repr__(self) -> str:
        return f"NoiseSchedule(name={self.name!r}, num_steps={self.num_steps})"

    def alpha_bar(self, t: Timesteps) -> Coef:
        """ᾱ_t at timesteps `t` in [−1, T) (−1 means clean: ᾱ = 1): a float for an int, else float64."""
        padded = self._alpha_bar_padded
        if isinstance(t, int) and not isinstance(t, bool):
            if not -1 <= t < self.num_steps:
                raise InterSynError(f"t={t} must lie in [-1, {self.num_steps - 1}]")
            return float(padded[t + 1])
        t = torch.as_tensor(t)
        if t.is_floating_point() or t.dtype == torch.bool:
            raise InterSynError(f"t: expected integer timesteps, got dtype {t.dtype}")
        t = t.long().cpu()
        if t.numel() and (int(t.min()) < -1 or int(t.max()) >= self.num_steps):
            raise InterSynError(
                f"t: values must lie in [-1, {self.num_steps - 1}], got [{int(t.min())}, {int(t.max())}]"
            )
        return padded[t + 1]

    def _timesteps(self, t: Timesteps, batch: int, name: str) -> Timesteps:
        """Accept an int (shared by the batch) or a `(B,)` integer tensor."""
        if isinstance(t, int) and not isinstance(t, bool):
            return t
        if not isinstance(t, torch.Tensor) or t.is_floating_point() or tuple(t.shape) != (batch,):
            raise InterSynError(
                f"{name}: expected an int or an integer tensor of shape ({batch},), "
                f"got {getattr(t, 'dtype', type(t).__name__)} {tuple(getattr(t, 'shape', ()))}"
            )
        return t

    def q_sample(self, x0: torch.Tensor, t: Timesteps, noise: torch.Tensor) -> torch.Tensor:
        """Forward noising x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · ε for `x0, noise (B, …)`, `t` int or `(B,)`."""
        t = self._timesteps(t, x0.shape[0], "t")
        if noise.shape != x0.shape:
            raise InterSynError(
                f"noise: expected shape {tuple(x0.shape)} like x0, got {tuple(noise.shape)}"
            )
        a = self.alpha_bar(t)
        return _expand(_sqrt(a), x0) * x0 + _expand(_sqrt(1.0 - a), x0) * noise

    def predict_noise(self, x_t: torch.Tensor, t: Timesteps, x0: torch.Tensor) -> torch.Tensor:
        """The ε implied by an x0 prediction: ε = (x_t − √ᾱ_t · x0) / √(1 − ᾱ_t), `(B, …)`; t ≥ 0."""
        a = self.alpha_bar(self._timesteps(t, x_t.shape[0], "t"))
        return (x_t - _expand(_sqrt(a), x_t) * x0) / _expand(_sqrt(1.0 - a), x_t)

    def posterior(
        self, x0: torch.Tensor, x_t: torch.Tensor, t: Timesteps, s: Timesteps | None = None
    ) -> tuple[torch.Tensor, Coef]:
        """Mean `(B, …)` and variance (float or `(B,)`) of q(x_s | x_t, x0), s < t (default t − 1).

        With α' = ᾱ_t / ᾱ_s and β' = 1 − α' (the single step of the respaced chain s → t):
        mean = √ᾱ_s β' / (1 − ᾱ_t) · x0 + √α' (1 − ᾱ_s) / (1 − ᾱ_t) · x_t  (paper Eq. 2),
        variance = β' (1 − ᾱ_s) / (1 − ᾱ_t)  (β̃, "fixed small"; 0 when s = −1).
        """
        batch = x_t.shape[0]
        t = self._timesteps(t, batch, "t")
        s = t - 1 if s is None else self._timesteps(s, batch, "s")
        if bool(torch.as_tensor(s >= t).any()) or bool(torch.as_tensor(t < 0).any()):
            raise InterSynError("s: every target timestep s must satisfy -1 <= s < t")
        a_t, a_s = self.alpha_bar(t), self.alpha_bar(s)
        alpha_step = a_t / a_s
        beta_step = 1.0 - alpha_step
        coef_x0 = _sqrt(a_s) * beta_step / (1.0 - a_t)
        coef_xt = _sqrt(alpha_step) * (1.0 - a_s) / (1.0 - a_t)
        mean = _expand(coef_x0, x0) * x0 + _expand(coef_xt, x_t) * x_t
        return mean, beta_step * (1.0 - a_s) / (1.0 - a_t)

    def ddim_step(
        self,
        x_t: torch.Tensor,
        x0: torch.Tensor,
        t: Timesteps,
        s: Timesteps,
        eta: float = 0.0,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One DDIM update x_t → x_s from an x0 prediction (Song et al. 2021, Eq. 12), `(B, …)`.

        x_s = √ᾱ_s · x0 + √(1 − ᾱ_s − σ²) · ε̂ + σ · z, with ε̂ from `predict_noise` and
        σ = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s); η = 0 is deterministic, η = 1 is DDPM.
        `t` ≥ 0 and −1 ≤ `s` < `t` are ints or `(B,)`; `noise` z is required when σ > 0.
        """
        batch = x_t.shape[0]
        t, s = self._timesteps(t, batch, "t"), self._timesteps(s, batch, "s")
        if bool(torch.as_tensor(s >= t).any()) or bool(torch.as_tensor(t < 0).any()):
            raise InterSynError("s: every target timestep s must satisfy -1 <= s < t")
        a_t, a_s = self.alpha_bar(t), self.alpha_bar(s)
        sigma = eta * _sqrt((1.0 - a_s) / (1.0 - a_t)) * _sqrt(1.0 - a_t / a_s)
        eps = self.predict_noise(x_t, t, x0)
        out = _expand(_sqrt(a_s), x0) * x0 + _expand(_sqrt(1.0 - a_s - sigma**2), x0) * eps
        if bool(torch.as_tensor(sigma > 0).any()):
            if noise is None:
                raise InterSynError(f"noise: required for a stochastic DDIM step (eta={eta})")
            out = out + _expand(sigma, x0) * noise
        return out


def sampling_timesteps(
    num_train_steps: int, steps: int, spacing: Spacing = "trailing"
) -> torch.Tensor:
    """The `steps` timesteps a sampler visits, evenly spaced over [0, T), descending, `(steps,)` long.

    "trailing" ends the grid at T − 1, so sampling starts from the pure-noise level for any step
    count (T=1000, 50 steps: 999, 979, …, 19); "leading" starts it at 0, InterGen's `ddim50`
    grid (980, 960, …, 0).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= num_train_steps:
        raise InterSynError(
            f"steps={steps!r} must be an integer between 1 and the schedule's "
            f"{num_train_steps} training steps"
        )
    if spacing not in SPACINGS:
        raise InterSynError(f"spacing: unknown {spacing!r}; expected one of {', '.join(SPACINGS)}")
    k = torch.arange(steps, dtype=torch.long)
    if spacing == "trailing":
        return (steps - k) * num_train_steps // steps - 1
    return (steps - 1 - k) * num_train_steps // steps
