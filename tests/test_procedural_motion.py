"""Procedural motion generator: skeleton exactness, floor, planted feet, contacts, captions, speed."""

import time

import numpy as np
import pytest

from intersyn import InterSynError
from intersyn.data.procedural import (
    INTERACTIONS,
    SOLO_ACTIONS,
    PairClip,
    SoloClip,
    generate_pair_clip,
    generate_solo_clip,
)
from intersyn.data.procedural.sampling import PAIR_BUILDERS, SOLO_BUILDERS
from intersyn.kinematics.skeleton import PARENTS, reference_offsets, scaled_offsets

BONE_PARENTS = np.array(PARENTS[1:])
TOE, ANKLE = [10, 11], [7, 8]
# A toe counts as in contact below 3 cm with its ankle below 10 cm. The only motion allowed there
# is the heel-strike roll: the toe rotates down about the planted heel and moves a few mm
# horizontally in its last 3 cm (measured ≤ 7.5 cm/s at 30 fps). 10 cm/s (0.5 cm per frame at
# 20 fps) is far below the 0.9 m/s the dataset contact labels and the 0.5 m/s skating metric use.
CONTACT_SPEED_LIMIT = 0.10  # m/s
# A toe on the floor (below 2 mm in two consecutive frames) is locked at its footprint.
LOCKED_SPEED_LIMIT = 1e-3  # m/s


def other_offsets(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return scaled_offsets(float(rng.uniform(0.85, 1.15)), float(rng.uniform(0.9, 1.1))).numpy()


def bone_error(joints: np.ndarray, offsets: np.ndarray) -> float:
    lengths = np.linalg.norm(joints[:, 1:] - joints[:, BONE_PARENTS], axis=-1)
    return float(np.abs(lengths - np.linalg.norm(offsets, axis=-1)[1:]).max())


def toe_speeds(joints: np.ndarray, fps: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal toe speeds (m/s) in contact and while locked on the floor, for one body."""
    toe, ankle = joints[:, TOE].astype(np.float64), joints[:, ANKLE].astype(np.float64)
    speed = np.linalg.norm(np.diff(toe[..., [0, 2]], axis=0), axis=-1) * fps
    low = (toe[..., 1] < 0.03) & (ankle[..., 1] < 0.10)
    contact = low[1:] & low[:-1]
    locked = (toe[1:, :, 1] < 2e-3) & (toe[:-1, :, 1] < 2e-3)
    return speed[contact], speed[locked]


def facing(joints: np.ndarray) -> np.ndarray:
    """Heading (rad) per frame from the hips, `(T,)` (left hip − right hip) × up = forward."""
    across = joints[:, 1] - joints[:, 2]
    forward = np.cross(across, np.array([0.0, 1.0, 0.0]))
    return np.unwrap(np.arctan2(forward[:, 0], forward[:, 2]))


def check_body(joints: np.ndarray, offsets: np.ndarray, fps: int) -> None:
    assert np.isfinite(joints).all()
    assert bone_error(joints, offsets) < 1e-5
    assert abs(float(joints[:, TOE, 1].min())) < 0.01  # feet on the floor
    assert float(joints[..., 1].min()) > -0.01  # nothing below it
    # Knees bend forward: each knee lies ahead of its hip-ankle line (facing from the hips).
    across = joints[:, 1] - joints[:, 2]
    forward = np.cross(across, np.array([0.0, 1.0, 0.0]))
    forward /= np.linalg.norm(forward, axis=-1, keepdims=True)
    for hip, knee, ankle in ((1, 4, 7), (2, 5, 8)):
        ahead = ((joints[:, knee] - 0.5 * (joints[:, hip] + joints[:, ankle])) * forward).sum(-1)
        assert ahead.min() > -0.01
    contact, locked = toe_speeds(joints, fps)
    assert contact.size > 0
    assert contact.max() < CONTACT_SPEED_LIMIT
    assert locked.size > 0 and locked.max() < LOCKED_SPEED_LIMIT


# --- solo ----------------------------------------------------------------------------------------


def test_vocabulary_sizes():
    assert len(SOLO_ACTIONS) >= 15 and len(set(SOLO_ACTIONS)) == len(SOLO_ACTIONS)
    assert len(INTERACTIONS) >= 10 and len(set(INTERACTIONS)) == len(INTERACTIONS)
    # Every listed name has a builder and every builder is listed.
    assert set(SOLO_ACTIONS) == set(SOLO_BUILDERS) and set(INTERACTIONS) == set(PAIR_BUILDERS)


@pytest.mark.parametrize("action", SOLO_ACTIONS)
def test_solo_clip_is_a_plausible_body(action):
    for seed, offsets in ((0, None), (1, other_offsets(7))):
        clip = generate_solo_clip(action, np.random.default_rng(seed), offsets=offsets)
        assert isinstance(clip, SoloClip) and clip.action == action and clip.fps == 20
        assert clip.joints.dtype == np.float32 and clip.joints.ndim == 3
        assert clip.joints.shape[1:] == (22, 3) and 40 <= clip.joints.shape[0] <= 199
        assert clip.params["num_frames"] == clip.joints.shape[0]
        assert all(type(v) in (int, float, str, bool, tuple) for v in clip.params.values())
        ref = reference_offsets().numpy() if offsets is None else offsets
        check_body(clip.joints, ref, clip.fps)
        assert len(clip.captions) >= 3 and len(set(clip.captions)) == len(clip.captions)
        assert all(isinstance(c, str) and len(c.split()) >= 3 for c in clip.captions)


def test_solo_is_deterministic_and_varied():
    a = generate_solo_clip("walk", np.random.default_rng(5))
    b = generate_solo_clip("walk", np.random.default_rng(5))
    c = generate_solo_clip("walk", np.random.default_rng(6))
    assert np.array_equal(a.joints, b.joints) and a.captions == b.captions and a.params == b.params
    assert a.joints.shape != c.joints.shape or not np.allclose(a.joints, c.joints)
    # Two clips of the same action and length still differ (drawn parameters and smooth noise).
    d = generate_solo_clip("wave", np.random.default_rng(1), num_frames=80)
    e = generate_solo_clip("wave", np.random.default_rng(2), num_frames=80)
    assert np.abs(d.joints - e.joints).max() > 0.05


def test_num_frames_fps_and_bad_input():
    clip = generate_solo_clip("jump", np.random.default_rng(0), num_frames=57, fps=30)
    assert clip.joints.shape == (57, 22, 3) and clip.fps == 30
    with pytest.raises(InterSynError, match="moonwalk.*walk_circle"):
        generate_solo_clip("moonwalk", np.random.default_rng(0))
    with pytest.raises(InterSynError, match="num_frames"):
        generate_solo_clip("walk", np.random.default_rng(0), num_frames=1)
    with pytest.raises(InterSynError, match="fps"):
        generate_solo_clip("walk", np.random.default_rng(0), fps=0)
    with pytest.raises(InterSynError, match="offsets"):
        generate_solo_clip("walk", np.random.default_rng(0), offsets=np.ones((21, 3)))


WORDS = {
    "left": ("left",),
    "right": ("right",),
    "both": ("both",),
    "alternating": ("alternat", "both", "in turn"),
    "clockwise": ("clockwise", "right"),
    "counterclockwise": ("counterclockwise", "left"),
}


@pytest.mark.parametrize(
    "action,key",
    [
        ("wave", "hand"),
        ("punch", "hand"),
        ("raise_arms", "hand"),
        ("kick", "leg"),
        ("turn", "direction"),
        ("side_step", "direction"),
        ("walk_circle", "direction"),
        ("stretch", "first_side"),
        ("walk_and_turn_back", "direction"),
        ("walk", "turn"),
    ],
)
def test_every_caption_names_the_drawn_side(action, key):
    for seed in range(6):
        clip = generate_solo_clip(action, np.random.default_rng(seed))
        value = clip.params[key]
        if value == "none":
            continue
        for caption in clip.captions:
            assert any(w in caption for w in WORDS[value]), (value, caption)


def test_text_determines_motion():
    """The drawn side in the caption is the side that moves."""
    for seed in range(4):
        clip = generate_solo_clip("wave", np.random.default_rng(seed))
        j, hand = clip.joints, clip.params["hand"]
        raised = [(j[:, w, 1] - j[:, s, 1]).max() > 0.0 for w, s in ((20, 16), (21, 17))]
        assert raised == [hand in ("left", "both"), hand in ("right", "both")]
        kick = generate_solo_clip("kick", np.random.default_rng(seed))
        lifted = kick.joints[:, TOE, 1].max(0)
        side = 0 if kick.params["leg"] == "left" else 1
        assert lifted[side] > 0.25 and lifted[1 - side] < 0.02
        turn = generate_solo_clip("turn", np.random.default_rng(seed))
        change = np.degrees(facing(turn.joints)[-1] - facing(turn.joints)[0])
        sign = 1 if turn.params["direction"] == "left" else -1
        assert abs(sign * change - turn.params["degrees"]) < 20
        step = generate_solo_clip("side_step", np.random.default_rng(seed))
        j = step.joints.astype(np.float64)
        left = (j[0, 1] - j[0, 2]) / np.linalg.norm(j[0, 1] - j[0, 2])
        moved = (j[-1, 0] - j[0, 0]) @ left
        assert moved * (1 if step.params["direction"] == "left" else -1) > 0.3
        circle = generate_solo_clip("walk_circle", np.random.default_rng(seed))
        turned = facing(circle.joints)[-1] - facing(circle.joints)[0]
        assert turned * (1 if circle.params["direction"] == "counterclockwise" else -1) > np.pi


def test_gaits_differ_in_speed_and_pelvis_bob():
    speeds = {}
    for kind in ("walk", "jog", "run"):
        clip = generate_solo_clip(kind, np.random.default_rng(3))
        pelvis = clip.joints[:, 0].astype(np.float64)
        speeds[kind] = np.linalg.norm(pelvis[-1, [0, 2]] - pelvis[0, [0, 2]]) / (len(pelvis) / 20)
        assert 0.6 < pelvis[:, 1].min() < 0.95 and pelvis[:, 1].max() < 1.02
    assert speeds["walk"] < speeds["jog"] < speeds["run"]


# --- pairs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("interaction", INTERACTIONS)
def test_pair_clip_is_two_plausible_bodies(interaction):
    for seed, offsets in ((0, None), (1, (other_offsets(3), other_offsets(4)))):
        clip = generate_pair_clip(interaction, np.random.default_rng(seed), offsets=offsets)
        assert isinstance(clip, PairClip) and clip.interaction == interaction and clip.fps == 30
        assert clip.joints.dtype == np.float32 and clip.joints.shape[0] == 2
        assert clip.joints.shape[2:] == (22, 3) and 60 <= clip.joints.shape[1] <= 300
        refs = (reference_offsets().numpy(),) * 2 if offsets is None else offsets
        for person in (0, 1):
            check_body(clip.joints[person], refs[person], clip.fps)
        n = len(clip.captions)
        assert n >= 3 and len(set(clip.captions)) == n
        assert all(
            len(pc) == n and all(len(c.split()) >= 3 for c in pc) for pc in clip.person_captions
        )
        assert clip.contact_frames.dtype == np.int64
        assert all(type(v) in (int, float, str, bool, tuple) for v in clip.params.values())
        assert (clip.contact_frames >= 0).all() and (
            clip.contact_frames < clip.joints.shape[1]
        ).all()


def test_pair_is_deterministic_and_bad_name():
    a = generate_pair_clip("hug", np.random.default_rng(2))
    b = generate_pair_clip("hug", np.random.default_rng(2))
    assert np.array_equal(a.joints, b.joints) and a.captions == b.captions
    assert a.person_captions == b.person_captions and np.array_equal(
        a.contact_frames, b.contact_frames
    )
    with pytest.raises(InterSynError, match="tango.*shake_hands"):
        generate_pair_clip("tango", np.random.default_rng(0))
    with pytest.raises(InterSynError, match="offsets"):
        generate_pair_clip("hug", np.random.default_rng(0), offsets=reference_offsets().numpy())
    clip = generate_pair_clip("follow", np.random.default_rng(0), num_frames=123)
    assert clip.joints.shape == (2, 123, 22, 3)


@pytest.mark.parametrize(
    "interaction", ["shake_hands", "high_five", "pass_object", "pull", "hug", "push"]
)
def test_contacts_meet(interaction):
    for seed in range(4):
        offsets = None if seed % 2 else (other_offsets(seed), other_offsets(seed + 10))
        clip = generate_pair_clip(interaction, np.random.default_rng(seed), offsets=offsets)
        frames = clip.contact_frames
        assert frames.size >= 3 and clip.contact_joints
        tolerance = clip.params["contact_tolerance"]
        assert tolerance == (0.05 if interaction not in ("hug", "push") else 0.15)
        for a, b in clip.contact_joints:
            gap = np.linalg.norm(clip.joints[0, frames, a] - clip.joints[1, frames, b], axis=-1)
            assert gap.max() < tolerance, (interaction, seed, gap.max())
        # Outside the contact the hands are apart again at the end of the clip.
        a, b = clip.contact_joints[0]
        assert np.linalg.norm(clip.joints[0, -1, a] - clip.joints[1, -1, b]) > 0.15


def test_reactions_follow_their_cause():
    for seed in range(3):
        push = generate_pair_clip("push", np.random.default_rng(seed))
        actor, first = push.params["actor"], int(push.contact_frames[0])
        pelvis = push.joints[:, :, 0].astype(np.float64)
        gap = np.linalg.norm(pelvis[0, :, [0, 2]] - pelvis[1, :, [0, 2]], axis=0)
        pushed = pelvis[1 - actor]
        before = np.linalg.norm(pushed[first, [0, 2]] - pushed[max(first - 6, 0), [0, 2]])
        assert before < 0.05  # the pushed person stands until the hands land
        assert gap[first:].max() - gap[first] > 0.15  # ... and is then driven away
        follow = generate_pair_clip("follow", np.random.default_rng(seed))
        speed = (
            np.linalg.norm(np.diff(follow.joints[:, :, 0, [0, 2]], axis=1), axis=-1) * follow.fps
        )
        starts = [int(np.argmax(s > 0.3)) for s in speed]
        leader = follow.params["leader"]
        assert starts[1 - leader] > starts[leader]


def test_pair_bodies_keep_their_own_proportions():
    small, tall = scaled_offsets(0.9).numpy(), scaled_offsets(1.1).numpy()
    clip = generate_pair_clip("shake_hands", np.random.default_rng(4), offsets=(small, tall))
    heads = clip.joints[:, 0, 15, 1]
    assert heads[1] - heads[0] > 0.1
    assert bone_error(clip.joints[0], small) < 1e-5 and bone_error(clip.joints[1], tall) < 1e-5


def test_generation_speed(capsys):
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for i in range(36):
        generate_solo_clip(SOLO_ACTIONS[i % len(SOLO_ACTIONS)], rng)
    solo = 36 / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(22):
        generate_pair_clip(INTERACTIONS[i % len(INTERACTIONS)], rng)
    pair = 22 / (time.perf_counter() - start)
    with capsys.disabled():
        print(
            f"\nprocedural generation: {solo:.0f} solo clips/s, {pair:.0f} pair clips/s (one core)"
        )
    assert solo > 15 and pair > 15


def test_expansion_distribution_is_exact():
    from intersyn.data.procedural.captions import expand, expansion_distribution

    dist = expansion_distribution("{who} [waves|[raises|lifts] a hand] .", {"who": "a man"})
    assert dist == pytest.approx(
        {"a man waves.": 0.5, "a man raises a hand.": 0.25, "a man lifts a hand.": 0.25}
    )
    rng = np.random.default_rng(0)
    drawn = [
        expand("{who} [waves|[raises|lifts] a hand] .", rng, {"who": "a man"}) for _ in range(400)
    ]
    assert set(drawn) == set(dist)
    assert drawn.count("a man waves.") / 400 == pytest.approx(0.5, abs=0.08)


@pytest.mark.parametrize("interaction", ["shake_hands", "circle_around", "punch_dodge"])
def test_pair_caption_distribution_replays_the_clip(interaction):
    from intersyn.data.procedural.interaction import pair_caption_distribution

    offsets = (scaled_offsets(1.1, 0.95), reference_offsets())
    for seed in range(3):
        clip = generate_pair_clip(interaction, np.random.default_rng(seed), offsets=offsets)
        dist = pair_caption_distribution(interaction, np.random.default_rng(seed), offsets=offsets)
        assert sum(dist.values()) == pytest.approx(1.0)
        assert set(clip.captions) <= set(dist), clip.captions
    # A different draw of words gives a different distribution (it is the clip's, not the type's).
    spreads = {
        frozenset(pair_caption_distribution(interaction, np.random.default_rng(s)))
        for s in range(8)
    }
    assert len(spreads) > 1
