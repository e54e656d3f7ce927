"""Single-person procedural clips (HumanML3D-like): the public entry point and clip type.

Each action builder (in `locomotion`, `gestures`, `whole_body`) draws its parameters, fills a
`Person` (footsteps, channels, wrist targets) within the clip's duration and returns the
parameters and captions. Captions name what was drawn (hand, leg, direction, speed, count) so the
text determines the motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intersyn.data.procedural import gestures, locomotion, whole_body  # noqa: F401  (registers actions)
from intersyn.data.procedural.body import BodyGeometry
from intersyn.data.procedural.person import Person
from intersyn.data.procedural.sampling import SOLO_BUILDERS, check_fps, frame_budget, trim
from intersyn.errors import InterSynError


@dataclass(frozen=True)
class SoloClip:
    """One procedural single-person clip: joints `(T, 22, 3)` float32, metres, Y up, floor y = 0."""

    joints: np.ndarray
    captions: tuple[str, ...]
    action: str
    params: dict
    fps: int


# The vocabulary, in a stable order (each name is registered by its builder module).
SOLO_ACTIONS: tuple[str, ...] = (
    "walk", "jog", "run", "walk_circle", "walk_backwards", "turn", "side_step",
    "walk_and_turn_back", "wave", "clap", "raise_arms", "stretch", "punch", "kick", "jump",
    "squat", "sit_down_stand_up", "bow",
)  # fmt: skip


def generate_solo_clip(
    action: str,
    rng: np.random.Generator,
    *,
    fps: int = 20,
    offsets: np.ndarray | None = None,
    num_frames: int | None = None,
) -> SoloClip:
    """Generate one text-labelled clip of `action` on the skeleton of `offsets` `(22, 3)`.

    Joints are `(T, 22, 3)` float32 metres, Y up, floor at y = 0, with T random in 2–10 s
    (HumanML3D's 40–199 frames at 20 fps) unless `num_frames` is given. Same `rng` state → same clip.
    """
    if action not in SOLO_BUILDERS:
        raise InterSynError(
            f"action: unknown solo action {action!r}; expected one of {', '.join(SOLO_ACTIONS)}"
        )
    fps = check_fps(fps)
    geom = BodyGeometry.from_offsets(offsets)
    builder, min_seconds = SOLO_BUILDERS[action]
    # HumanML3D clips are 40-199 frames at 20 fps: at most 10 s, exclusive.
    budget = frame_budget(rng, fps, min_seconds, num_frames, max_frames=10 * fps - 1)
    t = np.arange(budget) / fps
    centre = rng.uniform(-0.5, 0.5, 2)
    person = Person(geom, rng, t, fps, centre, float(rng.uniform(-np.pi, np.pi)))
    params, captions = builder(person, rng, budget / fps)
    end = max(person.end_time, person.feet.free_time(0), person.feet.free_time(1))
    frames = budget if num_frames is not None else trim(rng, end, fps, budget)
    joints = person.finish(person.torso())[:frames]
    return SoloClip(
        joints.astype(np.float32), captions, action, {**params, "num_frames": frames}, fps
    )
