"""U(·): layout, alignment, blending, bone lengths, masks, captions and reproducibility."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from intersyn import InterSynError, retarget
from intersyn.data.interleave import (
    ORGANISATIONS,
    TIMING_MODES,
    InterleaveConfig,
    PairSource,
    SoloSource,
    combine_captions,
    heading_of,
    interleave,
    prepare_pair,
    prepare_solo,
    resample,
)
from intersyn.kinematics.pair import features_to_pair
from intersyn.kinematics.skeleton import (
    REFERENCE_BONE_LENGTHS,
    bone_lengths,
    reference_offsets,
    scaled_offsets,
)

from .conftest import yaw_and_shift

SEEDS = range(12)


@pytest.fixture(scope="module")
def sources(real_joints):
    clip = real_joints.astype(np.float64)
    solo = [
        SoloSource("fwd", clip, ("a person serves a tennis ball", "someone serves")),
        SoloSource("rev", clip[::-1].copy(), ("a person walks back",)),
        SoloSource(
            "turned", yaw_and_shift(clip[20:140], 2.0, (3.0, 0.0, 1.0)), ("a person moves",)
        ),
    ]
    # An interaction recorded at 30 fps on two other body sizes, one metre apart.
    clip30 = resample(clip, 20, 30)
    ref = reference_offsets().numpy()
    a = retarget(clip30, ref, scaled_offsets(1.1).numpy())
    b = yaw_and_shift(
        retarget(clip30, ref, scaled_offsets(0.9, 1.05).numpy()), np.pi, (0.0, 0.0, 1.0)
    )
    pairs = [
        PairSource(
            "7",
            np.stack([a, b]),
            ("two people dance together", "a pair dances"),
            (("one leads", "the first leads"), ("the other follows", "the second follows")),
        )
    ]
    prepared = ([prepare_solo(s) for s in solo], [prepare_pair(p) for p in pairs])
    return solo, pairs, prepared


def configs():
    for organisation in ORGANISATIONS:
        timing = "ts0-random-ti" if organisation[0] == "s" else "ti0-random-ts"
        yield InterleaveConfig(organisation=organisation, timing=timing)


def samples(sources):
    solo, pairs, prepared = sources
    for config in configs():
        for seed in SEEDS:
            yield interleave(solo, pairs, seed, config, prepared=prepared)


def test_layout_and_masks(sources):
    for sample in samples(sources):
        assert sample.joints.shape == (2, 197, 22, 3)
        starts = [s.start for s in sample.segments]
        assert starts[0] == 0 and starts == sorted(starts)
        assert [s.end for s in sample.segments[:-1]] == starts[1:]
        assert len(sample.segments) == len(sample.organisation.split("-"))
        assert sample.interaction_start * sample.solo_start == 0  # exactly one starts at 0
        assert min(sample.interaction_start, sample.solo_start) == 0
        assert sample.presence[0, :-1].all()
        partner = np.zeros(197, dtype=bool)
        for s in sample.segments:
            if s.kind == "interaction":
                partner[s.start : s.end + 1] = True  # one spare frame closes the last feature row
        assert not (sample.presence[1] & ~partner).any(), "partner present outside interactions"
        assert np.all(sample.joints[1][~sample.presence[1]] == 0.0)
        for s in sample.segments:
            if s.kind == "interaction":
                assert sample.presence[1, s.start : s.end].all()


def test_bone_lengths_constant(sources):
    reference = torch.tensor(REFERENCE_BONE_LENGTHS[1:], dtype=torch.float64)
    for sample in samples(sources):
        for person in range(2):
            frames = sample.joints[person][sample.presence[person]].astype(np.float64)
            lengths = bone_lengths(torch.from_numpy(frames))
            assert (lengths - reference).abs().max() < 1e-3  # 1 mm, issue 3


def test_boundaries_are_continuous(sources):
    """Person x jumps no more than the largest frame-to-frame motion of the neighbouring segments."""
    for sample in samples(sources):
        x = sample.joints[0].astype(np.float64)
        step = np.linalg.norm(np.diff(x, axis=0), axis=-1).max(-1)
        heading = np.array([heading_of(frame) for frame in x[: sample.valid.sum() + 1]])
        turn = np.abs(np.angle(np.exp(1j * np.diff(heading))))
        for before, after in zip(sample.segments[:-1], sample.segments[1:]):
            b = after.start
            inside = max(step[before.start : b - 1].max(), step[b : after.end - 1].max())
            assert step[b - 1] <= inside, f"{sample.organisation} seed {sample.seed} boundary {b}"
            inside_turn = max(turn[before.start : b - 1].max(), turn[b : after.end - 1].max())
            assert turn[b - 1] <= inside_turn, f"heading jump at {b}"


def test_person_x_starts_at_origin_facing_plus_z(sources):
    sample = next(iter(samples(sources)))
    assert np.allclose(sample.joints[0, 0, 0, [0, 2]], 0.0, atol=1e-6)
    assert abs(heading_of(sample.joints[0, 0].astype(np.float64))) < 1e-6
    present = sample.joints[sample.presence]
    assert abs(present[..., 1].min()) < 1e-6


def test_interaction_keeps_relative_placement(sources):
    solo, pairs, prepared = sources
    sample = interleave(solo, pairs, 3, InterleaveConfig("s-i", "ts0-ti60"), prepared=prepared)
    segment = sample.segments[1]
    source = prepared[1][0]
    if segment.swapped:
        source = source[::-1]
    got = sample.joints[:, segment.start : segment.end].astype(np.float64)
    window = source[:, segment.source_start : segment.source_start + got.shape[1]]
    # Root-to-root distance between the two people is preserved (rigid transform) away from
    # the blended start of the segment.
    far = slice(25, None)
    d_got = np.linalg.norm(got[0, far, 0] - got[1, far, 0], axis=-1)
    d_src = np.linalg.norm(window[0, far, 0] - window[1, far, 0], axis=-1)
    assert np.abs(d_got - d_src).max() < 1e-6


def test_timing_modes(sources):
    solo, pairs, prepared = sources
    fixed = interleave(solo, pairs, 0, InterleaveConfig("s-i-s", "ts0-ti60"), prepared=prepared)
    assert (fixed.solo_start, fixed.interaction_start) == (0, 60)
    fixed = interleave(solo, pairs, 0, InterleaveConfig("i-s-i-s", "ti0-ts60"), prepared=prepared)
    assert (fixed.interaction_start, fixed.solo_start) == (0, 60)
    starts = {
        interleave(
            solo, pairs, seed, InterleaveConfig("s-i", "ts0-random-ti"), prepared=prepared
        ).interaction_start
        for seed in range(10)
    }
    assert len(starts) > 5 and min(starts) >= 30 and max(starts) <= 166


def test_captions_combined_in_order(sources):
    solo, pairs, prepared = sources
    sample = interleave(solo, pairs, 1, InterleaveConfig("i-s", "ti0-ts60"), prepared=prepared)
    inter, single = sample.segments
    assert sample.caption.lower().index(inter.caption.lower()[:10]) < sample.caption.lower().index(
        single.caption.lower()[:10]
    )
    assert inter.person_caption and inter.partner_caption
    entry = sample.manifest_entry()
    assert entry["segments"][0]["source_id"] == "7" and entry["interaction_start"] == 0


def test_person_captions_join_the_interaction_caption_when_asked(sources):
    """With the share at 1 every interaction caption is followed by both people's own, in the
    order `--person-text/--partner-text` joins them, on the same interaction window."""
    solo, pairs, prepared = sources
    config = InterleaveConfig("s-i-s", "ts0-random-ti")
    for seed in range(4):
        plain = interleave(solo, pairs, seed, config, prepared=prepared)
        joined = interleave(
            solo, pairs, seed, replace(config, person_caption_share=1.0), prepared=prepared
        )
        inter = joined.segments[1]
        assert inter.caption == combine_captions(
            [plain.segments[1].caption, inter.person_caption, inter.partner_caption]
        )
        assert inter.caption.endswith(f"{inter.partner_caption[1:]}.")
        same = ("source_id", "source_start", "start", "swapped")
        assert [getattr(inter, k) for k in same] == [getattr(plain.segments[1], k) for k in same]
        assert joined.caption == combine_captions([s.caption for s in joined.segments])
    shared = [
        interleave(solo, pairs, seed, replace(config, person_caption_share=0.5)).segments[1]
        for seed in range(24)
    ]
    joined_share = np.mean([s.person_caption in s.caption.lower() for s in shared])
    assert 0.2 < joined_share < 0.8


def test_reproducible_from_seed(sources):
    solo, pairs, prepared = sources
    a = interleave(solo, pairs, 5, prepared=prepared)
    b = interleave(solo, pairs, 5)  # without the prepared cache: same result
    c = interleave(solo, pairs, 6, prepared=prepared)
    assert np.array_equal(a.joints, b.joints) and a.caption == b.caption
    assert not np.array_equal(a.joints, c.joints)


def test_features_decode_back_to_joints(sources):
    solo, pairs, prepared = sources
    sample = interleave(
        solo, pairs, 2, InterleaveConfig("s-i-s-i", "ts0-random-ti"), prepared=prepared
    )
    for anchor in ("sequence", "run", "run_end"):  # the partner appears twice, mid-sequence
        features, rows = sample.features(anchor)
        assert features.shape == (2, 196, 267) and rows.shape == (2, 196)
        decoded = features_to_pair(features.astype(np.float64), presence=rows, anchor=anchor)
        err = np.abs(decoded - sample.joints[:, :-1])[rows].max()
        assert err < 1e-4, f"{anchor}: {err:.2e}"  # float32 storage of the sample


def test_short_sources_pad_the_end(sources):
    solo, pairs, _ = sources
    short = [SoloSource("s", solo[0].joints[:50], ("short",))]
    sample = interleave(short, pairs, 0, InterleaveConfig("s-i-s", "ts0-ti60"))
    assert sample.valid.sum() < 196 and not sample.valid[-1]
    assert sample.segments[1].start == 50  # the short solo clip shifted the interaction


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"organisation": "s-s"}, "alternating"),
        ({"organisation": "x-i"}, "alternating"),
        ({"timing": "soon"}, "timing 'soon'"),
        ({"organisation": "i-s", "timing": "ts0-ti60"}, "starts with a solo"),
        ({"frames": 40}, "too short"),
        ({"blend_frames": 40}, "blend_frames"),
        ({"crop": "middle"}, "crop 'middle'"),
        ({"person_caption_share": 1.5}, "person_caption_share=1.5"),
    ],
)
def test_bad_config(kwargs, fragment):
    with pytest.raises(InterSynError, match=fragment):
        InterleaveConfig(**kwargs)


def test_bad_sources(sources):
    solo, pairs, _ = sources
    with pytest.raises(InterSynError, match="needs interaction clips"):
        interleave(solo, [], 0)
    with pytest.raises(
        InterSynError, match=r"solo source bad: expected joints of shape \(T, 22, 3\)"
    ):
        interleave([SoloSource("bad", np.zeros((10, 21, 3)), ("x",))], pairs, 0)
    nan = solo[0].joints.copy()
    nan[3, 4, 1] = np.nan
    with pytest.raises(InterSynError, match="finite"):
        interleave([SoloSource("nan", nan, ("x",))], pairs, 0)


def test_all_timing_modes_listed():
    assert set(TIMING_MODES) == {"ts0-ti60", "ti0-ts60", "ts0-random-ti", "ti0-random-ts"}


def test_last_segment_source_is_drawn_uniformly(sources):
    """The segment planned to fill the sequence must not favour the longest clips."""
    solo, pairs, _ = sources
    lengths = (40, 70, 100, 170)  # 20 fps frames; only the last could fill a long segment
    clips = [SoloSource(f"c{n}", solo[0].joints[:n], (f"clip {n}",)) for n in lengths]
    config = InterleaveConfig("i-s", "ti0-random-ts", frames=120, min_segment_frames=30)
    chosen = [interleave(clips, pairs, seed, config).segments[1].source_id for seed in range(80)]
    counts = {c.id: chosen.count(c.id) for c in clips}
    assert min(counts.values()) >= 8, counts  # uniform: 20 each on average


def test_end_last_crop_ends_the_sequence_where_its_last_clip_ends(sources):
    """crop="end_last": the last segment's window runs to its clip's end (the sequence ends
    as the clip does, at rest); earlier segments are cropped anywhere, as with "random"."""
    solo, pairs, prepared = sources
    lengths = {s.id: len(p) for s, p in zip(solo, prepared[0])}
    config = InterleaveConfig("s-i-s", "ts0-random-ti", crop="end_last")
    random = InterleaveConfig("s-i-s", "ts0-random-ti")
    moved = 0
    for seed in SEEDS:
        sample = interleave(solo, pairs, seed, config, prepared=prepared)
        last = sample.segments[-1]
        # The one spare joint frame of a full-length window stays unused.
        assert lengths[last.source_id] - last.source_end in (0, 1), (seed, last)
        first = interleave(solo, pairs, seed, random, prepared=prepared).segments[0]
        assert sample.segments[0] == first  # the same draws up to the last window
        moved += (
            last.source_start
            != interleave(solo, pairs, seed, random, prepared=prepared).segments[-1].source_start
        )
    assert moved >= len(SEEDS) // 2  # most last windows were cut mid-clip before


def test_a_sample_records_whether_its_motion_ends_with_it(sources):
    """`ends`: the last segment's window reaches its clip's end (the motion stops there), not
    a window cut while the clip goes on; end_last makes every sample end so."""
    solo, pairs, prepared = sources
    lengths = {s.id: len(p) for s, p in zip(solo, prepared[0])}
    lengths.update({p.id: j.shape[1] for p, j in zip(pairs, prepared[1])})
    seen = set()
    for organisation in ("s-i-s", "s-i"):
        for crop in ("random", "end_last"):
            config = InterleaveConfig(organisation, "ts0-random-ti", crop=crop)
            for seed in SEEDS:
                sample = interleave(solo, pairs, seed, config, prepared=prepared)
                last = sample.segments[-1]
                assert sample.ends == (lengths[last.source_id] - last.source_end <= 1)
                assert sample.manifest_entry()["ends"] == sample.ends
                assert sample.ends or crop == "random"
                seen.add(sample.ends)
    assert seen == {True, False}


def test_start_crop_takes_every_window_from_the_clip_start(sources):
    """crop="start": a caption that describes a clip from its start ("after approaching each
    other, ...") still describes its segment's start; "random" crops anywhere, as before."""
    solo, pairs, prepared = sources
    starts = {"random": [], "start": []}
    for crop in starts:
        config = InterleaveConfig("s-i-s", "ts0-random-ti", crop=crop)
        for seed in SEEDS:
            sample = interleave(solo, pairs, seed, config, prepared=prepared)
            starts[crop] += [s.source_start for s in sample.segments]
            if crop == "start":
                seg = sample.segments[1]
                assert seg.kind == "interaction" and seg.source_start == 0
                # The pair stands as it does in the clip's first frame (moved rigidly with x).
                pair = prepared[1][0]
                clip_gap = np.linalg.norm((pair[1, 0, 0] - pair[0, 0, 0])[[0, 2]])
                gap = sample.joints[1, seg.start, 0] - sample.joints[0, seg.start, 0]
                assert np.isclose(np.linalg.norm(gap[[0, 2]]), clip_gap, atol=1e-3)
    assert all(s == 0 for s in starts["start"])
    assert sum(s > 0 for s in starts["random"]) >= len(SEEDS)  # most clips are longer
