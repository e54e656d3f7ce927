"""Smooth timing profiles for procedural motion: minimum-jerk ramps, envelopes, smooth noise.

Every profile is evaluated on a whole time grid `t` `(T,)` in seconds at once.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d


def min_jerk(u: np.ndarray | float) -> np.ndarray:
    """Minimum-jerk blend 10u³ − 15u⁴ + 6u⁵ of `u` clipped to [0, 1] (zero velocity and acceleration at both ends)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def ramp(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Minimum-jerk rise from 0 at `t0` to 1 at `t1` (a step at `t0` when `t1 <= t0`)."""
    if t1 <= t0:
        return (t >= t0).astype(np.float64)
    return min_jerk((t - t0) / (t1 - t0))


def envelope(t: np.ndarray, t0: float, t1: float, t2: float, t3: float) -> np.ndarray:
    """0 before `t0`, minimum-jerk rise to 1 at `t1`, hold to `t2`, fall to 0 at `t3`."""
    return ramp(t, t0, t1) * (1.0 - ramp(t, t2, t3))


def bump(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Smooth bell sin²(π u) over [`t0`, `t1`], zero outside; peak 1 at the middle."""
    u = np.clip((t - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


def smooth_noise(
    rng: np.random.Generator, t: np.ndarray, amplitude: float, max_freq: float = 0.5, parts: int = 3
) -> np.ndarray:
    """Band-limited noise `(T,)`: a few sinusoids below `max_freq` Hz with RMS about `amplitude`."""
    freqs = rng.uniform(0.08, max_freq, parts)
    phases = rng.uniform(0.0, 2.0 * np.pi, parts)
    weights = rng.normal(0.0, 1.0, parts)
    weights *= amplitude * np.sqrt(2.0 / parts)
    return (
        weights[:, None] * np.sin(2.0 * np.pi * freqs[:, None] * t[None] + phases[:, None])
    ).sum(0)


def smooth(x: np.ndarray, sigma_frames: float, axis: int = 0) -> np.ndarray:
    """Gaussian smoothing along `axis` with edges held ('nearest'); identity for tiny sigma."""
    if sigma_frames < 0.3:
        return x
    return gaussian_filter1d(x, sigma_frames, axis=axis, mode="nearest")


def smooth_upper(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """A smooth curve `(T,)` that is never below `x`: widened maximum, Gaussian, then clamp."""
    if sigma_frames < 0.3:
        return x
    widened = maximum_filter1d(x, size=2 * int(np.ceil(2.0 * sigma_frames)) + 1, mode="nearest")
    return np.maximum(gaussian_filter1d(widened, sigma_frames, mode="nearest"), x)


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    """Angle(s) wrapped to [−π, π)."""
    return (np.asarray(a) + np.pi) % (2.0 * np.pi) - np.pi
