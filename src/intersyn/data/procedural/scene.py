"""The two-person stage: placement, walking into place, and hand contacts computed from both bodies.

A contact point is derived every frame from BOTH people's shoulders (and arm lengths), so the
hands meet by construction, whatever the bodies' proportions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from intersyn.data.procedural.body import UP, BodyGeometry, apply, normalize
from intersyn.data.procedural.gait import make_gait, stance_point, walk_to
from intersyn.data.procedural.person import Person
from intersyn.data.procedural.pose import ArmTarget, Torso

SIDE_WORD = ("left", "right")
HAND_CONTACT_TOLERANCE = 0.05  # m: wrists of two hands that touch (palms add a few cm)
BODY_CONTACT_TOLERANCE = 0.15  # m: a wrist resting on the partner's body, from the named joint


@dataclass
class Scene:
    """Two people sharing one clock, plus the contacts the interaction promises."""

    geoms: list[BodyGeometry]
    t: np.ndarray
    fps: int
    people: list[Person] = field(default_factory=list)  # filled by `place`
    arm_functions: list[Callable[[list[Torso]], list[list[ArmTarget]]]] = field(
        default_factory=list
    )
    contact_windows: list[tuple[float, float]] = field(default_factory=list)
    contact_joints: tuple[tuple[int, int], ...] = ()
    contact_tolerance: float = HAND_CONTACT_TOLERANCE
    end_time: float = 0.0
    approach_words: dict[str, str] = field(default_factory=lambda: approach_words(False, "none"))

    @property
    def scale(self) -> float:
        return float(np.mean([g.scale for g in self.geoms]))


# --- placement ---------------------------------------------------------------------------------


def place(
    rng: np.random.Generator,
    geoms: list[BodyGeometry],
    t: np.ndarray,
    fps: int,
    distance: float,
    facing: str = "each_other",
    front: int = 1,
) -> list[Person]:
    """Person `1 - front` near the origin, person `front` `distance` m ahead of them.

    `facing` "each_other" turns them face to face, "same" makes both face the same way.
    """
    back_centre = rng.uniform(-0.5, 0.5, 2)
    yaw = float(rng.uniform(-np.pi, np.pi))
    centres = {1 - front: back_centre, front: stance_point(back_centre, yaw, distance, 0.0)}
    yaws = {1 - front: yaw, front: yaw + np.pi if facing == "each_other" else yaw}
    return [
        Person(geoms[i], rng, t, fps, centres[i], float(yaws[i] + rng.normal(0.0, 0.05)))
        for i in (0, 1)
    ]


def start_distance(
    rng: np.random.Generator, final: float, budget: float, core: float, walkers: int
) -> tuple[float, bool]:
    """Initial distance: close already, or far enough to walk into place within the budget."""
    spare = budget - core - 0.6
    if spare < 2.2 or rng.random() < 0.3:
        return final + rng.uniform(0.0, 0.06), False
    reach = 1.0 * (spare - 1.4) * walkers  # ~1 m/s, minus the first and closing steps
    return final + float(np.clip(rng.uniform(0.8, 3.0), 0.7, max(0.7, reach))), True


def meet(rng: np.random.Generator, scene: Scene, final: float, who: str, t0: float) -> float:
    """Walk one or both people until they stand `final` m apart facing each other; returns the time."""
    a, b = scene.people
    ca, cb = a.feet.stance()[0], b.feet.stance()[0]
    span = cb - ca
    dist = float(np.linalg.norm(span))
    axis = span / max(dist, 1e-9)
    if who == "both":
        mid = 0.5 * (ca + cb)
        goals = [mid - axis * final / 2, mid + axis * final / 2]
    elif who == "first":
        goals = [cb - axis * final, cb]
    else:
        goals = [ca, ca + axis * final]
    yaw_ab = float(np.arctan2(axis[0], axis[1]))
    yaws = [yaw_ab, yaw_ab + np.pi]
    end = t0
    for person, goal, yaw in zip(scene.people, goals, yaws):
        gait = make_gait("walk", person.geom, rng.uniform(0.85, 1.1))
        start = t0 + rng.uniform(0.0, 0.3)
        end = max(
            end, walk_to(person.feet, goal, yaw, start, gait, first_foot=int(rng.integers(2)))
        )
    return end


def approach_words(moved: bool, who: str) -> dict[str, str]:
    """Caption fragments for walking into place (empty when they start close)."""
    if not moved:
        return {"app": "", "app_a": "", "app_b": ""}
    if who == "both":
        return {
            "app": "[after walking toward each other, |after approaching each other, |meeting up, ]",
            "app_a": "walks toward the other person and ",
            "app_b": "walks toward the other person and ",
        }
    return {
        "app": "[after one walks up to the other, |once one has walked over to the other, ]",
        "app_a": "walks up to the other person and " if who == "first" else "",
        "app_b": "walks up to the other person and " if who == "second" else "",
    }


def walkers(who: str, actor: int) -> str:
    """'both' / 'none' stay; 'actor' becomes 'first' or 'second' (the person who walks)."""
    if who == "actor":
        return "first" if actor == 0 else "second"
    return who


def contact_point(
    sa: np.ndarray,
    sb: np.ndarray,
    ra: float,
    rb: float,
    offset: np.ndarray,
    lam: np.ndarray | float = 0.5,
) -> np.ndarray:
    """A point `(T, 3)` both hands can reach: between shoulders `sa`, `sb` `(T, 3)`.

    It lies at fraction `lam` of the way from `sa` to `sb` (clipped to what both reaches `ra`,
    `rb` allow) and is displaced by up to `offset` `(T,)` metres vertically (negative = down),
    perpendicular to the shoulder line, as far as both arms still reach.
    """
    e = sb - sa
    dist = np.linalg.norm(e, axis=-1)
    u = e / np.maximum(dist, 1e-9)[:, None]
    # Vertical direction made perpendicular to the shoulder line.
    vert = normalize(UP - (u @ UP)[:, None] * u)
    offset = np.broadcast_to(np.asarray(offset, dtype=np.float64), dist.shape)
    # Largest displacement h with sqrt(ra²-h²) + sqrt(rb²-h²) >= dist (bisection, vectorised).
    lo, hi = np.zeros_like(dist), np.full_like(dist, min(ra, rb))
    for _ in range(20):
        mid = 0.5 * (lo + hi)
        ok = np.sqrt(ra * ra - mid * mid) + np.sqrt(rb * rb - mid * mid) >= dist
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    h = np.minimum(np.abs(offset), lo) * np.sign(offset)
    reach_a = np.sqrt(np.maximum(ra * ra - h * h, 0.0))
    reach_b = np.sqrt(np.maximum(rb * rb - h * h, 0.0))
    frac_lo = np.clip(1.0 - reach_b / np.maximum(dist, 1e-9), 0.0, 1.0)
    frac_hi = np.clip(reach_a / np.maximum(dist, 1e-9), 0.0, 1.0)
    frac = np.where(frac_lo <= frac_hi, np.clip(lam, frac_lo, frac_hi), ra / (ra + rb))
    return sa + u * (frac * dist)[:, None] + vert * h[:, None]


def reach(p: Person, side: int) -> float:
    return 0.93 * float(p.geom.arm[side])


def hand_pair(
    torsos: list[Torso],
    people: list[Person],
    sides: tuple[int, int],
    weight: np.ndarray,
    offset: np.ndarray,
    lam: np.ndarray | float = 0.5,
    gap: float = 0.02,
    poles: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[list[ArmTarget]]:
    """Wrist targets for person 0's `sides[0]` hand to meet person 1's `sides[1]` hand."""
    sa, sb = torsos[0].shoulder(sides[0]), torsos[1].shoulder(sides[1])
    ra, rb = reach(people[0], sides[0]), reach(people[1], sides[1])
    c = contact_point(sa, sb, ra - gap, rb - gap, offset, lam)
    u = normalize(sb - sa)
    out: list[list[ArmTarget]] = [[], []]
    for i, (torso, side) in enumerate(zip(torsos, sides)):
        pole = None if poles is None else apply(torso.facing, poles[i])
        target = c + (u if i == 1 else -u) * (0.5 * gap)
        out[i].append(ArmTarget(side, weight, target, pole, follow_shoulder=False))
    return out


def contact_pairs(actor: int, pairs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """(actor joint, partner joint) pairs as (person 0 joint, person 1 joint)."""
    return tuple(pair if actor == 0 else (pair[1], pair[0]) for pair in pairs)


def role_captions(actor: int, templates: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Templates written as (pair, actor, partner) → (pair, person 0, person 1)."""
    return templates if actor == 0 else [(p, b, a) for p, a, b in templates]


def setup(
    scene: Scene, rng: np.random.Generator, budget: float, final: float, core: float, who: str
) -> float:
    """Place the pair (apart or already close) and walk them into place; returns the ready time."""
    walkers = 2 if who == "both" else 1
    if who == "none":
        start, moved = final, False
    else:
        start, moved = start_distance(rng, final, budget, core, walkers)
    scene.people[:] = place(rng, scene.geoms, scene.t, scene.fps, start)
    scene.approach_words = approach_words(moved, who)
    if not moved:
        return rng.uniform(0.2, 0.6)
    return meet(rng, scene, final, who, rng.uniform(0.1, 0.4)) + 0.1
