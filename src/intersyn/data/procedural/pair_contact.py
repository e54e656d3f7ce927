"""Two-person interactions with contact: handshake, high five, hug, push, pull, passing an object."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from intersyn.data.procedural import captions as cap
from intersyn.data.procedural.body import (
    LEFT,
    RIGHT,
    SIDE_SIGN,
    UP,
    WRIST,
    apply,
    forward_of,
    left_of,
)
from intersyn.data.procedural.feet import StepStyle
from intersyn.data.procedural.gait import (
    stance_point,
    step_to_stances,
)
from intersyn.data.procedural.person import arc_target, local_vector, shoulder_target
from intersyn.data.procedural.pose import ArmTarget
from intersyn.data.procedural.sampling import PairResult, pair_interaction, pick
from intersyn.data.procedural.scene import (
    BODY_CONTACT_TOLERANCE,
    SIDE_WORD,
    Scene,
    contact_pairs,
    hand_pair,
    role_captions,
    setup,
    walkers,
)
from intersyn.data.procedural.timing import envelope, ramp

# Quick steps back (pushed) or forward (pulled): toes first, short roll.
_STUMBLE = StepStyle(clearance=0.05, toe_off_pitch=0.3, land_pitch=0.15, heel_off=0.06, roll=0.08)
# The pusher's step into the push: heel first.
_LUNGE = StepStyle(clearance=0.05, toe_off_pitch=0.4, land_pitch=-0.2, heel_off=0.1, roll=0.08)


@pair_interaction("shake_hands")
def _shake_hands(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    final = rng.uniform(0.58, 0.72) * k
    reach, shake, release = rng.uniform(0.6, 0.8), rng.uniform(1.0, 2.0), rng.uniform(0.5, 0.7)
    who = pick(rng, ("both", "first", "second"), (0.5, 0.25, 0.25))
    t = scene.t
    t_r = setup(scene, rng, budget, final, reach + shake + release, who) + rng.uniform(0.0, 0.3)
    t_c = t_r + reach
    t_e = t_c + shake
    weight = envelope(t, t_r, t_c, t_e, t_e + release)
    pumps = rng.uniform(2.0, 3.0)
    offset = -0.3 * k + 0.035 * k * np.sin(2 * np.pi * pumps * (t - t_c)) * envelope(
        t, t_c, t_c + 0.2, t_e - 0.2, t_e
    )
    for p in scene.people:
        p.channels.add("chest_pitch", 0.08 * weight)
    poles = (local_vector(RIGHT, 0.5, -1.0, -0.2), local_vector(RIGHT, 0.5, -1.0, -0.2))
    scene.arm_functions.append(
        lambda torsos: hand_pair(torsos, scene.people, (RIGHT, RIGHT), weight, offset, poles=poles)
    )
    scene.contact_windows.append((t_c, t_e))
    scene.contact_joints = ((21, 21),)
    scene.end_time = t_e + release
    templates = [
        (
            "{app}two people shake hands",
            "{who} {app_a}shakes hands with another person",
            "{who} {app_b}shakes hands with another person",
        ),
        (
            "{app}two people shake right hands",
            "{who} {app_a}reaches out with the right hand and shakes the other's hand",
            "{who} {app_b}takes the offered right hand and shakes it",
        ),
        (
            "{app}two people greet each other with a handshake",
            "{who} {app_a}greets someone with a handshake",
            "{who} {app_b}returns the handshake",
        ),
        (
            "{app}the two people [clasp|grasp] right hands and shake them",
            "{who} {app_a}offers the right hand for a handshake",
            "{who} {app_b}grasps the other person's right hand and shakes it",
        ),
    ]
    return {"approach": who, "distance": final, "shake_seconds": shake}, templates, {}


@pair_interaction("high_five")
def _high_five(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    hands = pick(rng, ("right", "left", "both"), (0.45, 0.3, 0.25))
    final = rng.uniform(0.62, 0.78) * k
    raise_t, hold, back = rng.uniform(0.5, 0.7), rng.uniform(0.12, 0.2), rng.uniform(0.45, 0.6)
    who = pick(rng, ("both", "first", "second"), (0.5, 0.25, 0.25))
    t = scene.t
    t_r = setup(scene, rng, budget, final, 0.4 + raise_t + hold + back, who) + rng.uniform(0.0, 0.3)
    t_c = t_r + 0.4 + raise_t
    t_e = t_c + hold
    cocked = envelope(t, t_r, t_r + 0.4 + 0.5 * raise_t, t_c, t_e + back)
    hit = envelope(t, t_r + 0.4, t_c, t_e, t_e + 0.6 * back)
    height = rng.uniform(0.22, 0.32) * k
    if hands == "both":
        pairs = [(RIGHT, LEFT), (LEFT, RIGHT)]
    else:
        side = RIGHT if hands == "right" else LEFT
        pairs = [(side, side)]

    def arms(torsos):
        out: list[list[ArmTarget]] = [[], []]
        for i in (0, 1):
            for side in {pr[i] for pr in pairs}:
                goal = local_vector(side, 0.12 * k, 0.3 * k, 0.05 * k)
                out[i].append(
                    arc_target(
                        torsos[i], side, goal, cocked, pole=local_vector(side, 0.7, -0.4, -0.6)
                    )
                )
        for pr in pairs:
            hand = hand_pair(torsos, scene.people, pr, hit, np.full_like(t, height))
            out[0] += hand[0]
            out[1] += hand[1]
        return out

    scene.arm_functions.append(arms)
    scene.contact_windows.append((t_c, t_e))
    scene.contact_joints = tuple((WRIST[a], WRIST[b]) for a, b in pairs)
    scene.end_time = t_e + back
    hand_word = {"right": "right hands", "left": "left hands", "both": "both hands"}[hands]
    hand_one = {"right": "right hand", "left": "left hand", "both": "both hands"}[hands]
    words = {"hands": hand_word, "hand": hand_one}
    templates = [
        (
            "{app}two people give each other a high five with {hands}",
            "{who} {app_a}gives someone a high five with the {hand}",
            "{who} {app_b}high fives the other person with the {hand}",
        ),
        (
            "{app}two people high five [using|with] their {hands}",
            "{who} {app_a}raises the {hand} and slaps the other's hand",
            "{who} {app_b}raises the {hand} to meet the other's high five",
        ),
        (
            "{app}two people slap {hands} together above their heads",
            "{who} {app_a}lifts the {hand} and high fives",
            "{who} {app_b}lifts the {hand} and returns the high five",
        ),
        (
            "{app}two people celebrate with a {hand} high five",
            "{who} {app_a}does a high five with the {hand}",
            "{who} {app_b}does a high five with the {hand}",
        ),
    ]
    return {"hands": hands, "approach": who, "distance": final}, templates, words


@pair_interaction("hug", 3.5)
def _hug(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    final = rng.uniform(0.34, 0.4) * k
    reach, hold, release = rng.uniform(0.7, 0.9), rng.uniform(1.2, 2.5), rng.uniform(0.6, 0.8)
    who = pick(rng, ("both", "first", "second"), (0.5, 0.25, 0.25))
    high = pick(rng, (LEFT, RIGHT))
    t = scene.t
    t_r = setup(scene, rng, budget, final, reach + hold + release, who) + rng.uniform(0.0, 0.3)
    t_c, t_e = t_r + reach, t_r + reach + hold
    weight = envelope(t, t_r, t_c, t_e, t_e + release)
    sway = (
        0.05
        * np.sin(2 * np.pi * rng.uniform(0.4, 0.7) * (t - t_c))
        * envelope(t, t_c, t_c + 0.4, t_e - 0.3, t_e)
    )
    for p in scene.people:
        p.channels.add("chest_pitch", 0.16 * weight)
        p.channels.add("chest_roll", sway)
        p.channels.add("head_yaw", 0.5 * SIDE_SIGN[1 - high] * weight)

    def arms(torsos):
        out: list[list[ArmTarget]] = [[], []]
        for i in (0, 1):
            partner = torsos[1 - i]
            back = -forward_of(partner.chest_yaw)
            p_left = left_of(partner.chest_yaw)
            for side in (LEFT, RIGHT):
                # My right hand goes to the partner's left side (we face each other).
                lateral = (1.0 if side == RIGHT else -1.0) * 0.06 * k
                up = 0.06 * k if side == high else -0.14 * k
                target = partner.joints[:, 9] + back * 0.09 * k + p_left * lateral + UP * up
                pole = apply(
                    torsos[i].facing, local_vector(side, 1.0, -0.3 if side == high else -0.6, 0.0)
                )
                out[i].append(ArmTarget(side, weight, target, pole, follow_shoulder=False))
        return out

    scene.arm_functions.append(arms)
    scene.contact_windows.append((t_c, t_e))
    scene.contact_joints = ((WRIST[high], 9), (9, WRIST[high]))
    scene.contact_tolerance = BODY_CONTACT_TOLERANCE
    scene.end_time = t_e + release
    templates = [
        (
            "{app}two people hug each other",
            "{who} {app_a}hugs another person",
            "{who} {app_b}hugs the other person back",
        ),
        (
            "{app}two people embrace [warmly|tightly]",
            "{who} {app_a}wraps both arms around the other person",
            "{who} {app_b}embraces the other person in return",
        ),
        (
            "{app}two people give each other a hug",
            "{who} {app_a}gives someone a hug",
            "{who} {app_b}returns the hug",
        ),
        (
            "{app}the two people put their arms around each other",
            "{who} {app_a}puts both arms around the other",
            "{who} {app_b}puts both arms around the other and holds them",
        ),
    ]
    return (
        {"approach": who, "distance": final, "hold_seconds": hold, "high_arm": SIDE_WORD[high]},
        templates,
        {},
    )


@pair_interaction("push", 3.0)
def _push(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    actor = int(rng.integers(2))
    final = rng.uniform(0.56, 0.62) * k
    reach = rng.uniform(0.45, 0.6)
    stumble_steps = int(pick(rng, (1, 2, 3), (0.3, 0.5, 0.2)))
    walk_who = walkers(pick(rng, ("both", "actor"), (0.4, 0.6)), actor)
    t = scene.t
    t_r = setup(
        scene, rng, budget, final, reach + 0.4 + 0.35 * stumble_steps + 0.8, walk_who
    ) + rng.uniform(0.0, 0.3)
    t_c = t_r + reach
    a, b = scene.people[actor], scene.people[1 - actor]
    # The pusher lunges: one foot steps forward as the hands land.
    ca, ya = a.feet.stance()
    lunge_foot = int(rng.integers(2))
    step = rng.uniform(0.2, 0.28) * k
    a.feet.step(
        lunge_foot,
        stance_point(a.feet.ankle_xz(lunge_foot), ya, step, 0.0),
        ya,
        t_c - 0.35,
        t_c - 0.05,
        _LUNGE,
    )
    back_home = stance_point(ca, ya, 0.0, SIDE_SIGN[lunge_foot] * a.feet.half_width)
    a.feet.step(lunge_foot, back_home, ya, t_c + 0.7, t_c + 1.05, _LUNGE)
    lean = envelope(t, t_r, t_c, t_c + 0.1, t_c + 0.8)
    a.channels.add("chest_pitch", 0.28 * lean)
    hands = envelope(t, t_r, t_c, t_c + 0.12, t_c + 0.55)
    # The pushed person reacts after contact: leans back and stumbles backwards.
    t_react = t_c + rng.uniform(0.05, 0.1)
    b.style = replace(b.style, pelvis_smoothing=0.12)
    cb, yb = b.feet.stance()
    dists = np.cumsum(rng.uniform(0.22, 0.32, stumble_steps) * k)
    centres = np.stack([stance_point(cb, yb, -d, 0.0) for d in dists])
    t_end = step_to_stances(
        b.feet,
        centres,
        np.full(stumble_steps, yb),
        t_react + 0.05,
        0.22,
        int(rng.integers(2)),
        b.feet.half_width,
        _STUMBLE,
    )
    recoil = envelope(t, t_react, t_react + 0.2, t_react + 0.35, t_end + 0.4)
    b.channels.add("chest_pitch", -0.35 * recoil)
    b.channels.add("pelvis_forward", -0.05 * k * recoil)
    b.channels.add("head_pitch", 0.2 * recoil)

    def arms(torsos):
        out: list[list[ArmTarget]] = [[], []]
        ta, tb = torsos[actor], torsos[1 - actor]
        for side in (LEFT, RIGHT):
            # My left hand lands on the partner's right shoulder (we face each other).
            target = tb.shoulder(1 - side) + forward_of(tb.chest_yaw) * 0.07 * k - UP * 0.06 * k
            pole = apply(ta.facing, local_vector(side, 0.6, -1.0, -0.3))
            out[actor].append(ArmTarget(side, hands, target, pole, follow_shoulder=False))
            flail = shoulder_target(tb, side, local_vector(side, 0.25 * k, -0.1 * k, 0.3 * k))
            out[1 - actor].append(ArmTarget(side, recoil, flail))
        return out

    scene.arm_functions.append(arms)
    scene.contact_windows.append((t_c, t_c + 0.1))
    scene.contact_joints = contact_pairs(actor, [(20, 17), (21, 16)])
    scene.contact_tolerance = BODY_CONTACT_TOLERANCE
    scene.end_time = max(t_end + 0.5, t_c + 1.1)
    words = {"n": cap.count_word(stumble_steps), "steps": "step" if stumble_steps == 1 else "steps"}
    templates = [
        (
            "{app}one person pushes the other, who stumbles backwards",
            "{who} {app_a}pushes someone with both hands",
            "{who} {app_b}is pushed and stumbles backwards",
        ),
        (
            "{app}one person shoves the other in the chest and the other staggers back {n} {steps}",
            "{who} {app_a}shoves the other person in the chest",
            "{who} {app_b}gets shoved and staggers back {n} {steps}",
        ),
        (
            "{app}a person pushes another person away",
            "{who} {app_a}steps forward and pushes the other person away",
            "{who} {app_b}is pushed away and steps back",
        ),
        (
            "{app}one person pushes the other person backwards with both hands",
            "{who} {app_a}pushes the other backwards",
            "{who} {app_b}loses balance and steps backwards after being pushed",
        ),
    ]
    return (
        {"actor": actor, "approach": walk_who, "distance": final, "stumble_steps": stumble_steps},
        role_captions(actor, templates),
        words,
    )


@pair_interaction("pull", 3.5)
def _pull(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    actor = int(rng.integers(2))
    hand = pick(rng, ("right", "left"))
    side_a = RIGHT if hand == "right" else LEFT
    side_b = 1 - side_a  # facing each other: my right hand meets the partner's left
    final = rng.uniform(0.75, 0.9) * k
    reach, grip = rng.uniform(0.6, 0.8), rng.uniform(0.2, 0.4)
    steps_b = int(pick(rng, (1, 2), (0.5, 0.5)))
    walk_who = walkers(pick(rng, ("both", "actor"), (0.4, 0.6)), actor)
    t = scene.t
    t_r = setup(scene, rng, budget, final, reach + grip + 1.6, walk_who) + rng.uniform(0.0, 0.3)
    t_g = t_r + reach
    t_p = t_g + grip
    a, b = scene.people[actor], scene.people[1 - actor]
    # The puller steps back one step and leans back.
    ca, ya = a.feet.stance()
    back = rng.uniform(0.2, 0.3) * k
    step_to_stances(
        a.feet,
        stance_point(ca, ya, -back, 0.0)[None],
        np.array([ya]),
        t_p,
        0.3,
        int(rng.integers(2)),
        a.feet.half_width,
        _STUMBLE,
    )
    pull = envelope(t, t_p, t_p + 0.35, t_p + 0.9, t_p + 1.4)
    a.channels.add("chest_pitch", -0.15 * pull)
    # The pulled person follows after the tug: leans in and steps forward.
    t_react = t_p + rng.uniform(0.12, 0.2)
    cb, yb = b.feet.stance()
    dists = np.cumsum(rng.uniform(0.2, 0.28, steps_b) * k)
    centres = np.stack([stance_point(cb, yb, d, 0.0) for d in dists])
    t_done = step_to_stances(
        b.feet, centres, np.full(steps_b, yb), t_react, 0.3, int(rng.integers(2)), b.feet.half_width
    )
    b.channels.add(
        "chest_pitch", 0.2 * envelope(t, t_react - 0.05, t_react + 0.2, t_done, t_done + 0.4)
    )
    t_release = max(t_done, t_p + 1.0) + 0.1
    weight = envelope(t, t_r, t_g, t_release, t_release + 0.5)
    lam = 0.5 - 0.35 * ramp(t, t_p, t_p + 0.4)

    def arms(torsos):
        pair = (side_a, side_b) if actor == 0 else (side_b, side_a)
        lam_pair = lam if actor == 0 else 1.0 - lam
        return hand_pair(torsos, scene.people, pair, weight, np.full_like(t, -0.3 * k), lam_pair)

    scene.arm_functions.append(arms)
    scene.contact_windows.append((t_g, t_release))
    scene.contact_joints = contact_pairs(actor, [(WRIST[side_a], WRIST[side_b])])
    scene.end_time = t_release + 0.5
    words = {"hand": hand, "other": SIDE_WORD[side_b]}
    templates = [
        (
            "{app}one person grabs the other's hand and pulls them forward",
            "{who} {app_a}grabs the other person's hand with the {hand} hand and pulls",
            "{who} {app_b}is pulled forward by the {other} hand and stumbles",
        ),
        (
            "{app}one person pulls the other by the hand",
            "{who} {app_a}takes someone's hand and pulls them closer",
            "{who} {app_b}gets pulled forward by the hand",
        ),
        (
            "{app}a person tugs another person toward them with the {hand} hand",
            "{who} {app_a}tugs the other person toward them and steps back",
            "{who} {app_b}is tugged forward and takes a step",
        ),
        (
            "{app}one person holds the other's {other} hand and drags them forward",
            "{who} {app_a}holds the other's hand and leans back, pulling",
            "{who} {app_b}is dragged forward by the {other} hand",
        ),
    ]
    return (
        {"actor": actor, "hand": hand, "approach": walk_who, "distance": final, "steps": steps_b},
        role_captions(actor, templates),
        words,
    )


@pair_interaction("pass_object", 3.0)
def _pass_object(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    actor = int(rng.integers(2))
    give_hand = pick(rng, ("right", "left"), (0.7, 0.3))
    take_hand = pick(rng, ("right", "left"), (0.7, 0.3))
    s_give = RIGHT if give_hand == "right" else LEFT
    s_take = RIGHT if take_hand == "right" else LEFT
    final = rng.uniform(0.72, 0.88) * k
    reach, hold, back = rng.uniform(0.7, 0.9), rng.uniform(0.4, 0.8), rng.uniform(0.6, 0.8)
    who = pick(rng, ("both", "first", "second"), (0.4, 0.3, 0.3))
    t = scene.t
    t_r = setup(scene, rng, budget, final, reach + hold + back, who) + rng.uniform(0.0, 0.3)
    t_c, t_e = t_r + reach, t_r + reach + hold
    meet = envelope(t, t_r, t_c, t_e, t_e + back)
    give_carry = 1.0 - ramp(
        t, t_e, t_e + back
    )  # giver holds the object in front until the handover
    take_carry = ramp(t, t_e, t_e + back)  # receiver holds it afterwards

    def arms(torsos):
        out: list[list[ArmTarget]] = [[], []]
        for i, side, carry in ((actor, s_give, give_carry), (1 - actor, s_take, take_carry)):
            hold_pos = shoulder_target(
                torsos[i], side, local_vector(side, -0.05 * k, -0.32 * k, 0.3 * k)
            )
            out[i].append(
                ArmTarget(
                    side,
                    carry,
                    hold_pos,
                    apply(torsos[i].facing, local_vector(side, 0.5, -1.0, -0.3)),
                )
            )
        sides = (s_give, s_take) if actor == 0 else (s_take, s_give)
        hand = hand_pair(
            torsos, scene.people, sides, meet, np.full_like(t, -0.32 * k), 0.5, gap=0.03
        )
        out[0] += hand[0]
        out[1] += hand[1]
        return out

    scene.arm_functions.append(arms)
    scene.contact_windows.append((t_c, t_e))
    scene.contact_joints = contact_pairs(actor, [(WRIST[s_give], WRIST[s_take])])
    scene.end_time = t_e + back
    words = {"give": give_hand, "take": take_hand}
    templates = [
        (
            "{app}one person hands an object to the other",
            "{who} {app_a}hands an object to someone with the {give} hand",
            "{who} {app_b}takes the object with the {take} hand",
        ),
        (
            "{app}one person gives something to the other person",
            "{who} {app_a}gives something to the other person",
            "{who} {app_b}receives something from the other person with the {take} hand",
        ),
        (
            "{app}a person passes an item to another person, who takes it",
            "{who} {app_a}holds out an item in the {give} hand and lets go",
            "{who} {app_b}reaches out with the {take} hand and takes the item",
        ),
        (
            "{app}two people pass an object from one to the other",
            "{who} {app_a}passes an object with the {give} hand",
            "{who} {app_b}accepts the object with the {take} hand",
        ),
    ]
    return (
        {
            "actor": actor,
            "give_hand": give_hand,
            "take_hand": take_hand,
            "approach": who,
            "distance": final,
        },
        role_captions(actor, templates),
        words,
    )
