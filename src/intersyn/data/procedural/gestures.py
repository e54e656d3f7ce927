"""Solo upper-body gestures as wrist targets over time: wave, clap, raise arms, stretch, punch."""

from __future__ import annotations

import numpy as np

from intersyn.data.procedural import captions as cap
from intersyn.data.procedural.body import LEFT, RIGHT, SIDE_SIGN, apply, euler_frames
from intersyn.data.procedural.person import Person, arc_target, local_vector
from intersyn.data.procedural.pose import ArmTarget, Torso
from intersyn.data.procedural.sampling import SoloResult, pick, solo_action
from intersyn.data.procedural.timing import envelope, min_jerk


def _hand_words(hand: str) -> dict[str, str]:
    if hand == "both":
        return {"hand": "both hands", "hand_adj": "both", "arm": "both arms"}
    return {"hand": f"[the|their] {hand} hand", "hand_adj": hand, "arm": f"[the|their] {hand} arm"}


def _sides(hand: str) -> tuple[int, ...]:
    return {"left": (LEFT,), "right": (RIGHT,), "both": (LEFT, RIGHT)}[hand]


def add_wave(
    p: Person, rng: np.random.Generator, sides: tuple[int, ...], t0: float, cycles: int
) -> float:
    """Wave the hands of `sides` `cycles` times from `t0` (raised elbow, forearm swaying); returns the end (s)."""
    k, t = p.geom.scale, p.t
    freq = rng.uniform(1.5, 2.5)
    rise = rng.uniform(0.4, 0.6)
    t_end = t0 + rise + cycles / freq
    weight = envelope(t, t0, t0 + rise, t_end, t_end + rise)
    sway = envelope(t, t0 + 0.3 * rise, t0 + rise, t_end - 0.1, t_end)
    swing = 0.11 * k * np.sin(2 * np.pi * freq * (t - t0 - rise)) * sway
    height = rng.uniform(0.15, 0.35)

    def arms(torso: Torso) -> list[ArmTarget]:
        out = []
        for s in sides:
            # Hand beside the head: outward, a little up and forward of the shoulder.
            outward = SIDE_SIGN[s] * (0.27 * k + swing)
            goal = np.stack(
                [outward, np.full_like(t, height * p.geom.arm[s]), np.full_like(t, 0.1 * k)], -1
            )
            via, pole = local_vector(s, 1.0, -0.2, 0.6), local_vector(s, 0.5, -1.0, -0.1)
            out.append(arc_target(torso, s, goal, weight, via=via, pole=pole))
        return out

    p.arm_functions.append(arms)
    if len(sides) == 1:  # lean slightly away from the waving arm
        p.channels.add("chest_roll", 0.04 * SIDE_SIGN[sides[0]] * weight)  # roll > 0 leans right
    p.end_time = max(p.end_time, t_end + rise)
    return t_end + rise


@solo_action("wave")
def _wave(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    hand = pick(rng, ("left", "right", "both"), (0.45, 0.45, 0.1))
    t0 = rng.uniform(0.2, 0.8)
    cycles = int(rng.integers(2, 6))
    cycles = max(1, min(cycles, int((duration - t0 - 1.2) * 1.5)))
    add_wave(p, rng, _sides(hand), t0, cycles)
    words = {**_hand_words(hand), "times": cap.times(cycles)}
    templates = [
        "{who} waves {hand}",
        "{who} raises {hand} and waves",
        "{who} waves hello with {hand}",
        "{who} lifts {arm} and waves [it ][back and forth|side to side]",
        "{who} waves {hand} [in greeting|to say hi]",
    ]
    return {"hand": hand, "cycles": cycles}, cap.compose(rng, templates, words)


@solo_action("clap")
def _clap(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    claps = int(rng.integers(2, 9))
    rate = rng.uniform(1.8, 3.0)
    t0 = rng.uniform(0.2, 0.7)
    rise = rng.uniform(0.4, 0.6)
    claps = max(1, min(claps, int((duration - t0 - 2 * rise - 0.2) * rate)))
    t, k = p.t, p.geom.scale
    t_first = t0 + rise
    t_end = t_first + (claps - 0.5) / rate
    weight = envelope(t, t0, t_first - 0.5 / rate, t_end, t_end + rise)
    p.end_time = t_end + rise
    # Hands meet at every half-period after t_first (cosine at its minimum), apart elsewhere.
    phase = np.clip((t - t_first + 0.5 / rate) * rate, 0.0, claps)
    gap = 0.035 * k + 0.17 * k * (0.5 + 0.5 * np.cos(2 * np.pi * phase))
    height = rng.uniform(-0.12, 0.05) * k
    reach = rng.uniform(0.28, 0.36) * k

    def arms(torso: Torso) -> list[ArmTarget]:
        centre = torso.facing_point(torso.joints[:, 9], np.array([0.0, height, reach]))
        left = apply(torso.facing, np.array([1.0, 0.0, 0.0]))
        return [
            ArmTarget(
                s,
                weight,
                centre + SIDE_SIGN[s] * left * (0.5 * gap)[:, None],
                apply(torso.facing, local_vector(s, 1.0, -0.7, -0.2)),
            )
            for s in (LEFT, RIGHT)
        ]

    p.arm_functions.append(arms)
    words = {"times": cap.times(claps), "n": cap.count_word(claps)}
    templates = [
        "{who} claps [their hands|] {times}",
        "{who} claps {n} times" if claps > 2 else "{who} claps [their hands ]twice",
        "{who} [brings|puts] [their|the] hands together {times}",
        "{who} applauds, clapping {times}",
    ]
    return {"claps": claps, "rate": rate}, cap.compose(rng, templates, words)


_RAISE_GOALS = {
    "up": (0.1, 0.95, 0.08),
    "forward": (0.03, 0.04, 0.95),
    "sideways": (0.95, 0.05, 0.05),
}


@solo_action("raise_arms")
def _raise_arms(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    hand = pick(rng, ("both", "left", "right"), (0.6, 0.2, 0.2))
    direction = pick(rng, ("up", "forward", "sideways"), (0.5, 0.25, 0.25))
    repeats = int(pick(rng, (1, 2), (0.75, 0.25)))
    t = p.t
    t_cur = rng.uniform(0.2, 0.7)
    rise = rng.uniform(0.6, 0.9)
    hold = rng.uniform(0.5, 1.5)
    if t_cur + repeats * (2 * rise + hold + 0.3) > duration:
        repeats = 1
        hold = max(0.2, min(hold, duration - t_cur - 2 * rise - 0.2))
    weight = np.zeros_like(t)
    for _ in range(repeats):
        weight += envelope(t, t_cur, t_cur + rise, t_cur + rise + hold, t_cur + 2 * rise + hold)
        p.end_time = t_cur + 2 * rise + hold
        t_cur += 2 * rise + hold + rng.uniform(0.2, 0.5)
    via = {"up": (0.5, 0.0, 0.9), "forward": None, "sideways": None}[direction]

    def arms(torso: Torso) -> list[ArmTarget]:
        out = []
        for s in _sides(hand):
            arm = p.geom.arm[s]
            g = _RAISE_GOALS[direction]
            goal = local_vector(s, g[0] * arm, g[1] * arm, g[2] * arm)
            v = None if via is None else local_vector(s, *via)
            out.append(
                arc_target(torso, s, goal, weight, via=v, pole=local_vector(s, 0.6, -0.3, -1.0))
            )
        return out

    p.arm_functions.append(arms)
    if direction == "up":
        p.channels.add("head_pitch", -0.15 * weight)
    phrase = {
        "up": "[above the head|over the head|up high|straight up]",
        "forward": "[forward|in front of the body|straight out in front]",
        "sideways": "[out to the sides|sideways|to the side]",
    }[direction]
    words = {
        **_hand_words(hand),
        "where": phrase,
        "times": cap.times(repeats) if repeats > 1 else "",
    }
    arms_word = "both arms" if hand == "both" else f"[the|their] {hand} arm"
    words["arms"] = arms_word
    templates = [
        "{who} raises {arms} {where} {times}",
        "{who} lifts {arms} {where} and [lowers|puts] [it|them] [back ]down {times}",
        "{who} [puts|holds] {arms} {where} [for a moment|briefly] {times}",
        "{who} extends {arms} {where} {times}",
    ]
    if hand != "both":
        templates = [tp.replace("[it|them]", "it") for tp in templates]
    else:
        templates = [tp.replace("[it|them]", "them") for tp in templates]
    return (
        {"hand": hand, "direction": direction, "repeats": repeats, "hold": hold},
        cap.compose(rng, templates, words),
    )


@solo_action("stretch", 3.0)
def _stretch(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    first = pick(rng, ("left", "right"))
    t, k = p.t, p.geom.scale
    t0 = rng.uniform(0.2, 0.6)
    rise = rng.uniform(0.7, 1.0)
    lean_time = rng.uniform(0.8, 1.2)
    hold = rng.uniform(0.2, 0.6)
    total = 2 * rise + 2 * (2 * lean_time + hold) - lean_time
    scale = min(1.0, (duration - t0 - 0.2) / total)
    rise, lean_time, hold = rise * scale, lean_time * scale, hold * scale
    t_up = t0 + rise
    sign = -1.0 if first == "left" else 1.0  # roll > 0 leans right
    lean1 = envelope(
        t, t_up, t_up + lean_time, t_up + lean_time + hold, t_up + 2 * lean_time + hold
    )
    t2 = t_up + 2 * lean_time + hold
    lean2 = envelope(t, t2 - 0.0, t2 + lean_time, t2 + lean_time + hold, t2 + 2 * lean_time + hold)
    t_down = t2 + 2 * lean_time + hold
    weight = envelope(t, t0, t_up, t_down, t_down + rise)
    p.end_time = t_down + rise
    amount = rng.uniform(0.25, 0.4)
    roll = amount * (sign * lean1 - sign * lean2)
    p.channels.add("chest_roll", roll)
    p.channels.add("pelvis_roll", 0.25 * roll)
    p.channels.add("pelvis_left", 0.05 * k * roll / amount)
    p.channels.add("head_pitch", -0.1 * weight)

    def arms(torso: Torso) -> list[ArmTarget]:
        out = []
        for s in (LEFT, RIGHT):
            arm = p.geom.arm[s]
            goal = local_vector(s, -0.05 * arm, 0.97 * arm, 0.05 * arm)
            out.append(
                arc_target(
                    torso,
                    s,
                    goal,
                    weight,
                    via=local_vector(s, 0.8, 0.0, 0.6),
                    pole=local_vector(s, 1.0, 0.0, -0.5),
                )
            )
        return out

    p.arm_functions.append(arms)
    other = "right" if first == "left" else "left"
    words = {"dir": first, "other": other}
    templates = [
        "{who} stretches [both ]arms overhead and leans to the {dir} [and then|then] to the {other}",
        "{who} [reaches|stretches] up [high ]and bends to the {dir}, then to the {other}",
        "{who} does a side stretch, first to the {dir} and then to the {other}",
        "with [both ]arms [raised|up] above the head, {who} leans {dir} and then {other}",
    ]
    return {"first_side": first, "lean": amount}, cap.compose(rng, templates, words)


@solo_action("punch")
def _punch(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    hand = pick(rng, ("left", "right", "alternating"), (0.4, 0.4, 0.2))
    n = int(rng.integers(1, 5))
    t, k = p.t, p.geom.scale
    t0 = rng.uniform(0.2, 0.6)
    guard_in = rng.uniform(0.4, 0.6)
    out_t, back_t, gap = rng.uniform(0.12, 0.18), rng.uniform(0.18, 0.26), rng.uniform(0.15, 0.45)
    period = out_t + back_t + gap
    n = max(1, min(n, int((duration - t0 - 2 * guard_in - 0.2) / period)))
    t_first = t0 + guard_in + 0.1
    t_end = t_first + n * period
    guard = envelope(t, t0, t0 + guard_in, t_end, t_end + guard_in)
    p.end_time = t_end + guard_in
    sides = [
        RIGHT if hand == "right" else LEFT if hand == "left" else (RIGHT, LEFT)[i % 2]
        for i in range(n)
    ]
    extend = [np.zeros_like(t), np.zeros_like(t)]
    for i, s in enumerate(sides):
        ts = t_first + i * period
        extend[s] = extend[s] + envelope(
            t, ts, ts + out_t, ts + out_t + 0.03, ts + out_t + 0.03 + back_t
        )
        p.channels.add(
            "chest_yaw",
            -SIDE_SIGN[s]
            * 0.3
            * envelope(t, ts - 0.03, ts + out_t, ts + out_t + 0.03, ts + out_t + back_t),
        )
    height = rng.uniform(0.0, 0.1) * k

    def arms(torso: Torso) -> list[ArmTarget]:
        out = []
        for s in (LEFT, RIGHT):
            arm = p.geom.arm[s]
            guard_pos = local_vector(s, -0.1 * k, 0.02 * k, 0.24 * k)
            strike = local_vector(s, -0.14 * k, height, 0.97 * arm)
            e = min_jerk(extend[s])[:, None]
            local = guard_pos + (strike - guard_pos) * e
            # Punches follow the chest's turn, not just the facing.
            target = torso.shoulder(s) + apply(euler_frames(torso.chest_yaw, 0 * t, 0 * t), local)
            out.append(
                ArmTarget(s, guard, target, apply(torso.facing, local_vector(s, 0.5, -1.0, -0.2)))
            )
        return out

    p.arm_functions.append(arms)
    hand_phrase = {
        "left": "the left [hand|fist]",
        "right": "the right [hand|fist]",
        "alternating": "[alternating fists|both fists in turn|left and right fists alternately]",
    }[hand]
    words = {"hand": hand_phrase, "times": cap.times(n), "side": hand}
    templates = [
        "{who} punches [forward|straight ahead] with {hand} {times}",
        "{who} throws [a punch|punches] with {hand} {times}",
        "{who} raises [their|the] fists and punches with {hand} {times}",
        "{who} [boxes|jabs] [forward|in the air] with {hand} {times}",
    ]
    return {"hand": hand, "punches": n}, cap.compose(rng, templates, words)
