"""Shared plumbing for procedural clips: action registries, parameter draws, clip lengths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from intersyn.errors import InterSynError

F = TypeVar("F", bound=Callable[..., Any])
SoloResult = tuple[dict, tuple[str, ...]]  # drawn parameters, captions
PairResult = tuple[dict, list[tuple[str, str, str]], dict[str, str]]  # params, templates, words
# name -> (builder, minimum seconds); filled by the action modules as they are imported.
SOLO_BUILDERS: dict[str, tuple[Callable[..., Any], float]] = {}
PAIR_BUILDERS: dict[str, tuple[Callable[..., Any], float]] = {}


def solo_action(name: str, min_seconds: float = 2.0) -> Callable[[F], F]:
    """Register a solo action builder `(person, rng, seconds) -> (params, captions)`."""

    def register(fn: F) -> F:
        SOLO_BUILDERS[name] = (fn, min_seconds)
        return fn

    return register


def pair_interaction(name: str, min_seconds: float = 2.5) -> Callable[[F], F]:
    """Register an interaction builder `(scene, rng, seconds) -> (params, templates, words)`."""

    def register(fn: F) -> F:
        PAIR_BUILDERS[name] = (fn, min_seconds)
        return fn

    return register


def pick(rng: np.random.Generator, options: tuple, p: tuple[float, ...] | None = None) -> Any:
    """One of `options`, drawn with probabilities `p` (uniform when None)."""
    return options[int(rng.choice(len(options), p=p))]


def check_fps(fps: int) -> int:
    """Validate a frame rate (integer in [5, 240])."""
    if isinstance(fps, bool) or not isinstance(fps, (int, np.integer)) or not 5 <= fps <= 240:
        raise InterSynError(f"fps: expected an integer frame rate in [5, 240], got {fps!r}")
    return int(fps)


def frame_budget(
    rng: np.random.Generator,
    fps: int,
    min_seconds: float,
    num_frames: int | None,
    max_frames: int,
) -> int:
    """Frames to build: `num_frames` if given, else uniform in [max(2 s, action minimum), `max_frames`]."""
    if num_frames is not None:
        if (
            isinstance(num_frames, bool)
            or not isinstance(num_frames, (int, np.integer))
            or num_frames < 2
        ):
            raise InterSynError(f"num_frames: expected an integer >= 2, got {num_frames!r}")
        return int(num_frames)
    # +1 frame: T frames give T − 1 feature rows, and HumanML3D keeps clips of >= 40 rows.
    lo = int(np.ceil(max(2.0, min_seconds) * fps)) + 1
    return int(rng.integers(lo, max_frames + 1))


def trim(rng: np.random.Generator, end: float, fps: int, budget: int) -> int:
    """Frames to keep: the action's end (s) plus a short rest, at least 2 s, at most `budget`."""
    want = int(np.ceil((end + rng.uniform(0.25, 0.8)) * fps))
    return int(np.clip(want, int(np.ceil(2.0 * fps)) + 1, budget))
