"""Two-person procedural clips (InterHuman-like): the public entry point and clip type.

The pair is placed by a relative transform (distance, facing), walks into place with the same
footstep machinery as solo motion, and hand contacts are computed from BOTH bodies' shoulders
every frame, so hands meet by construction. A reacting person (pushed, pulled, dodging,
following) is timed after the actor's cause. Builders live in `pair_contact` and `pair_social`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intersyn.data.procedural import captions as cap
from intersyn.data.procedural import pair_contact, pair_social  # noqa: F401  (registers interactions)
from intersyn.data.procedural.body import UP, BodyGeometry
from intersyn.data.procedural.pose import ArmTarget
from intersyn.data.procedural.sampling import PAIR_BUILDERS, check_fps, frame_budget, trim
from intersyn.data.procedural.scene import Scene
from intersyn.errors import InterSynError


@dataclass(frozen=True)
class PairClip:
    """One procedural two-person clip: joints `(2, T, 22, 3)` float32 in ONE world frame (Y up, floor y = 0).

    `contact_joints` are (joint of person 0, joint of person 1) pairs meant to touch at every frame
    in `contact_frames`; `params["contact_tolerance"]` says how close (hand to hand 5 cm, hand
    resting on the body up to 15 cm from the named joint).
    """

    joints: np.ndarray
    captions: tuple[str, ...]
    person_captions: tuple[tuple[str, ...], tuple[str, ...]]
    interaction: str
    params: dict
    fps: int
    contact_frames: np.ndarray
    contact_joints: tuple[tuple[int, int], ...]


# The vocabulary, in a stable order (each name is registered by its builder module).
INTERACTIONS: tuple[str, ...] = (
    "shake_hands", "high_five", "hug", "push", "pull", "bow_to_each_other", "pass_object",
    "circle_around", "follow", "punch_dodge", "wave_to_each_other",
)  # fmt: skip


def generate_pair_clip(
    interaction: str,
    rng: np.random.Generator,
    *,
    fps: int = 30,
    offsets: tuple[np.ndarray, np.ndarray] | None = None,
    num_frames: int | None = None,
) -> PairClip:
    """Generate one text-labelled two-person clip of `interaction` in one world frame.

    Joints are `(2, T, 22, 3)` float32 metres, Y up, floor at y = 0, T random in 2–10 s
    (InterHuman: up to 300 frames at 30 fps) unless `num_frames` is given; `offsets` are the two
    bodies' rest offsets `(22, 3)` (default: both the reference skeleton). Same `rng` → same clip.
    """
    fps = check_fps(fps)
    scene, params, templates, words, budget = _plan(
        interaction, rng, fps, _geometries(offsets), num_frames
    )
    t = scene.t
    frames = budget
    if num_frames is None:
        end = max(scene.end_time, *(p.feet.free_time(f) for p in scene.people for f in (0, 1)))
        frames = trim(rng, end, fps, budget)
    joints = _solve(scene)[:, :frames]
    pair, first, second = cap.compose_pair(rng, templates, {**scene.approach_words, **words})
    in_contact = np.zeros(frames, dtype=bool)
    for start, stop in scene.contact_windows:
        in_contact |= (t[:frames] >= start - 1e-9) & (t[:frames] <= stop + 1e-9)
    contact = np.flatnonzero(in_contact)
    params = {**params, "num_frames": frames, "contact_tolerance": scene.contact_tolerance}
    return PairClip(
        joints=joints.astype(np.float32),
        captions=pair,
        person_captions=(first, second),
        interaction=interaction,
        params=params,
        fps=fps,
        contact_frames=contact.astype(np.int64),
        contact_joints=scene.contact_joints if len(contact) else (),
    )


def _geometries(offsets: tuple[np.ndarray, np.ndarray] | None) -> list[BodyGeometry]:
    if offsets is None:
        return [BodyGeometry.from_offsets(None), BodyGeometry.from_offsets(None)]
    if not isinstance(offsets, (tuple, list)) or len(offsets) != 2:
        raise InterSynError(
            f"offsets: expected a pair (offsets of person 0, offsets of person 1), got {type(offsets).__name__}"
        )
    return [BodyGeometry.from_offsets(o) for o in offsets]


def _plan(
    interaction: str,
    rng: np.random.Generator,
    fps: int,
    geoms: list[BodyGeometry],
    num_frames: int | None,
) -> tuple[Scene, dict, list[tuple[str, str, str]], dict[str, str], int]:
    """Frame budget, scene and the builder's (params, caption templates, words): every random
    draw a clip makes before its joints are solved."""
    if interaction not in PAIR_BUILDERS:
        raise InterSynError(
            f"interaction: unknown interaction {interaction!r}; expected one of {', '.join(INTERACTIONS)}"
        )
    builder, min_seconds = PAIR_BUILDERS[interaction]
    # InterHuman clips are at most 300 frames (10 s) at 30 fps.
    budget = frame_budget(rng, fps, min_seconds, num_frames, max_frames=10 * fps)
    scene = Scene(geoms, np.arange(budget) / fps, fps)
    params, templates, words = builder(scene, rng, budget / fps)
    return scene, params, templates, words, budget


def pair_caption_distribution(
    interaction: str,
    rng: np.random.Generator,
    *,
    fps: int = 30,
    offsets: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Probability of each pair caption that `generate_pair_clip(interaction, rng, ...)` can write.

    A caption is one of the clip's templates (each equally likely to be any one stored caption)
    filled with that clip's drawn words; no joints are solved, so it is cheap. Used to compute the
    best R-precision any evaluator can reach on the procedural data (`bench/r_precision_ceiling.py`).
    """
    scene, _, templates, words, _ = _plan(
        interaction, rng, check_fps(fps), _geometries(offsets), None
    )
    filled = {**scene.approach_words, **words}
    out: dict[str, float] = {}
    for pair_template, _, _ in templates:
        for subject in cap.SUBJECTS:
            for text, p in cap.expansion_distribution(
                pair_template, {"who": subject, **filled}
            ).items():
                out[text] = out.get(text, 0.0) + p / (len(templates) * len(cap.SUBJECTS))
    return out


def _solve(scene: Scene) -> np.ndarray:
    """Torsos of both (each looking at the other), then all arm targets, then joints `(2, T, 22, 3)`."""
    people = scene.people
    for i, p in enumerate(people):
        if p.look_at is None:
            partner = people[1 - i]
            head = partner.support_centre() + UP * (1.45 * partner.geom.scale)
            p.look_at = head
    torsos = [p.torso() for p in people]
    extra: list[list[ArmTarget]] = [[], []]
    for fn in scene.arm_functions:
        produced = fn(torsos)
        extra[0] += produced[0]
        extra[1] += produced[1]
    return np.stack([p.finish(torso, extra[i]) for i, (p, torso) in enumerate(zip(people, torsos))])
