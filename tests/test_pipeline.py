"""`InterSynPipeline` and `intersyn generate`: layouts, outputs, determinism, bad input."""

import json
import warnings

import numpy as np
import pytest
import torch

from intersyn import InterSynError, InterSynPipeline
from intersyn.cli.main import main
from intersyn.diffusion import Guidance
from intersyn.pipeline import DEFAULT_CANDIDATES, DEFAULT_GUIDANCE_PARALLEL, plan_layout
from intersyn.training.checkpoint import load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def pipe(tiny_checkpoint):
    return InterSynPipeline.from_pretrained(tiny_checkpoint)


def test_solo_then_interaction(pipe):
    result = pipe(
        solo="a person walks", interaction="two people shake hands", interaction_start=24, seed=1
    )
    assert result.joints.shape == (1, 2, 64, 22, 3) and result.joints.dtype == np.float32
    assert np.isfinite(result.joints).all()
    assert result.presence[0].all() and not result.presence[1, :24].any()
    assert result.presence[1, 24:].all()
    assert result.meta["solo_start"] == 0 and result.meta["interaction_start"] == 24
    assert result.meta["caption"] == "A person walks. Two people shake hands."
    assert len(result.meta["checkpoint_sha256"]) == 64
    # Absent frames hold the partner's first present pose.
    assert np.allclose(result.joints[0, 1, :24], result.joints[0, 1, 24])
    again = pipe(
        solo="a person walks", interaction="two people shake hands", interaction_start=24, seed=1
    )
    assert np.array_equal(again.joints, result.joints)
    other = pipe(
        solo="a person walks", interaction="two people shake hands", interaction_start=24, seed=2
    )
    assert not np.allclose(other.joints, result.joints)


def test_cleanup_is_applied_and_features_and_joints_agree(pipe):
    from intersyn.kinematics.pair import features_to_pair

    request = dict(solo="a person walks", interaction="two people hug", interaction_start=24)
    raw = pipe(**request, seed=3, steps=5, cleanup=None)
    cleaned = pipe(**request, seed=3, steps=5)
    assert raw.meta["cleanup"] is None and cleaned.meta["cleanup"]["foot_lock"] is True
    assert not np.allclose(cleaned.joints, raw.joints, atol=1e-3)
    # The same motion, changed by centimetres (compare what a rigid move keeps: the pelvis-to-
    # pelvis distance while both are present).
    apart = [
        np.linalg.norm(r.joints[0, 0, 24:, 0] - r.joints[0, 1, 24:, 0], axis=-1)
        for r in (raw, cleaned)
    ]
    assert np.abs(apart[0] - apart[1]).mean() < 0.1
    # The clean-up's output is returned where it lies: re-encoding it to features must not move
    # the scene (the encoder re-canonicalises; that used to shift it by up to 0.35 m).
    from intersyn.kinematics.cleanup import clean_motion
    from intersyn.pipeline import DEFAULT_CLEANUP

    expected = clean_motion(raw.joints.astype(np.float64), DEFAULT_CLEANUP, raw.presence)
    present = cleaned.presence
    np.testing.assert_allclose(cleaned.joints[0][present], expected[0][present], atol=1e-4)
    decoded = features_to_pair(
        cleaned.features[0].astype(np.float64),
        presence=np.broadcast_to(cleaned.presence, cleaned.features.shape[1:3]).copy(),
        anchor=pipe.anchor,
        frame=_features_frame(cleaned.meta, 0),
    )
    np.testing.assert_allclose(np.asarray(decoded)[present], cleaned.joints[0][present], atol=1e-4)


def _features_frame(meta, index):
    from intersyn.kinematics.pair import Placement

    frame = meta["features_frame"][index]
    return Placement(
        torch.tensor([frame["heading_rad"]], dtype=torch.float64),
        torch.tensor([frame["origin_m"]], dtype=torch.float64),
    )


def test_other_layouts(pipe):
    solo = pipe(solo="a person jumps", seed=0)
    assert solo.joints.shape[1] == 1 and solo.meta["interaction_start"] == -1
    inter = pipe(interaction="two people hug", seed=0)
    assert inter.presence.all() and inter.meta["solo_start"] == -1
    first = pipe(
        solo="a person waves",
        interaction="two people hug",
        interaction_start=0,
        solo_start=40,
        seed=0,
    )
    assert first.presence[1, :40].all() and not first.presence[1, 40:].any()
    assert first.meta["order"] == ["interaction", "solo"]
    # A partner who leaves holds its last present pose, a whole body (its last row used to be
    # re-encoded from nothing after the clean-up: every joint in one point, to the end).
    partner = first.joints[0, 1]
    assert np.allclose(partner[40:], partner[39])
    assert np.ptp(partner[39], axis=0)[1] > 0.5  # head to toe
    assert np.abs(partner[39] - partner[38]).max() < 0.1
    # The extra partner is sampled with person x held fixed: x is the same as with 2 people
    # (personal space off: keeping all three apart at the end may move x too).
    request = dict(solo="a person waves", interaction="people bow", seed=0, steps=5)
    three = pipe(**request, people=3, min_distance=0.0)
    assert three.joints.shape == (1, 3, 64, 22, 3)
    two = pipe(**request, people=2, min_distance=0.0)
    assert np.allclose(three.joints[0, 0], two.joints[0, 0], atol=1e-5)
    many = pipe(interaction="two people dance", num_samples=2, steps=5)
    assert many.joints.shape[0] == 2 and not np.allclose(many.joints[0], many.joints[1])


def test_many_samples_are_drawn_batch_after_batch(pipe, monkeypatch):
    """More samples than `SAMPLES_PER_BATCH` are drawn in several batches from one generator:
    the first batch as alone, the next with new noise (not the first batch again)."""
    import intersyn.pipeline as pipeline_module

    request = dict(solo="a person walks", seed=4, steps=3)
    two = pipe(**request, num_samples=2)
    monkeypatch.setattr(pipeline_module, "SAMPLES_PER_BATCH", 2)
    five = pipe(**request, num_samples=5)
    assert five.joints.shape[0] == 5 and len(five.meta["features_frame"]) == 5
    np.testing.assert_array_equal(five.joints[:2], two.joints)
    for k in range(2, 5):
        assert not np.allclose(five.joints[k], five.joints[k - 2], atol=1e-3)


def test_interaction_frames_are_predicted_under_the_interaction_text(pipe, monkeypatch):
    """Where the data's interaction frames do not depend on person x's solo text, every
    person's rows in them come, in each conditional prediction, from the interaction caption
    alone (same batch); person x's solo frames keep the whole caption."""
    from intersyn.models.layers import null_text

    class TextEcho(torch.nn.Module):  # x0 = the first pooled text channel, 0 when dropped
        def forward(self, x_t, t, cond, presence, valid):
            _, _, pooled = null_text(cond)
            return pooled[:, :1, None, None].expand_as(x_t).clone()

    monkeypatch.setattr(pipe.model, "denoiser", TextEcho())

    def first_feature(caption):
        return float(pipe.text.encode([caption])[2][0, 0])

    def rows(layout, anchor):
        """(person x in its solo, person x in the interaction, the partner) of one sample."""
        monkeypatch.setattr(pipe, "anchor", anchor)
        cond, alone_text = pipe._condition([layout])
        presence = torch.from_numpy(layout.presence(2))[None]
        valid = torch.ones(1, layout.frames, dtype=torch.bool)
        generator = torch.Generator().manual_seed(0)
        plain = Guidance(2.0, None, 1.0)  # classifier-free: twice the conditional value
        out = pipe._denoise(cond, presence, valid, 3, plain, generator, False, None, alone_text)
        solo = layout.solo_start
        return tuple(
            float(out[0, person, frame, 0])
            for person, frame in ((0, solo), (0, layout.partner_start), (1, layout.partner_start))
        )

    walk_away = plan_layout("a person waves", "two people hug", 40, 0, 64)
    assert walk_away.interaction_caption == "Two people hug."
    assert plan_layout(None, "two people hug", None, None, 64).interaction_caption is None
    full, alone = first_feature(walk_away.caption), first_feature("Two people hug.")
    assert full != pytest.approx(alone, abs=1e-3)
    # Guidance 2 on a null prediction of 0: twice the conditional value.
    expected = pytest.approx((2 * full, 2 * alone, 2 * alone), abs=1e-5)
    assert rows(walk_away, "sequence") == expected and rows(walk_away, "run") == expected
    # A partner who appears after the solo: with the "sequence" anchor its placement depends on
    # how far person x went, so the whole caption conditions every row.
    after = plan_layout("a person waves", "two people hug", 0, 40, 64)
    full = first_feature(after.caption)
    assert rows(after, "sequence") == pytest.approx((2 * full,) * 3, abs=1e-5)
    assert rows(after, "run") == pytest.approx((2 * full, 2 * alone, 2 * alone), abs=1e-5)


def test_evaluation_sampling_can_switch_the_interaction_text_rule_off(pipe, monkeypatch):
    """`sample_layouts(interaction_text_alone=False)` (Table rows with
    `interaction_text=caption`) predicts every frame under the whole caption."""
    seen = []
    denoise = pipe._denoise

    def recording(*args, **kwargs):
        seen.append(args[-1])
        return denoise(*args, **kwargs)

    encoded = []  # captions per text-encoder call
    encode = pipe.text.encode

    def counting(captions):
        encoded.append(len(captions))
        return encode(captions)

    monkeypatch.setattr(pipe, "anchor", "run")
    monkeypatch.setattr(pipe, "_denoise", recording)
    monkeypatch.setattr(pipe.text, "encode", counting)
    layout = plan_layout("a person waves", "two people hug", 0, 40, 64)
    on = pipe.sample_layouts([layout], steps=2, seed=1)
    off = pipe.sample_layouts([layout], steps=2, seed=1, interaction_text_alone=False)
    assert seen[0] is not None and seen[1] is None
    assert not np.allclose(on[0], off[0])
    assert encoded == [2, 1]  # the whole caption and the interaction's, then the whole alone


def test_save_writes_every_output(pipe, tmp_path, monkeypatch):
    result = pipe(solo="a person walks", interaction="two people shake hands", seed=3)
    out = result.save(tmp_path / "out")
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "features.npy",
        "joints.npy",
        "meta.json",
        "motion.bvh",
        "motion.gif",
        "motion.mp4",
        "motion_person2.bvh",
        "presence.npy",
    ]
    joints = np.load(out / "joints.npy")
    assert joints.shape == (2, 64, 22, 3)
    assert np.abs(joints - result.joints[0]).max() < 0.05  # BVH-consistent bone lengths
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 3 and meta["texts"]["solo"] == "a person walks"
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(out / "motion.mp4"))
    info = next(reader)
    assert sum(1 for _ in reader) == 64 and tuple(info["size"]) == (640, 480)
    with pytest.raises(InterSynError, match=r"not empty; pass overwrite=True \(--overwrite\)"):
        result.save(out)
    result.save(out, overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # A sample that is not there, or a video kind that is not made, is said in one line.
    for call in (
        lambda: result.sample(1),
        lambda: result.render(tmp_path / "m.gif", index=2),
        lambda: result.to_bvh(tmp_path / "m.bvh", index=-1),
    ):
        with pytest.raises(InterSynError, match=r"expected a sample index from 0 to 0 \(1 sample"):
            call()
    assert result.sample(np.int64(0)).shape == result.joints.shape[1:]  # numpy's integers too
    with pytest.raises(InterSynError, match="video='avi': expected 'mp4\\+gif'"):
        result.save(tmp_path / "other", video="avi")
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))  # "~" is the user's home folder, not a folder "~"
    assert result.save("~/saved", video="") == home / "saved"
    assert result.to_bvh("~/m.bvh")[0] == home / "m.bvh" and (home / "m.bvh").is_file()
    assert not (tmp_path / "other").exists() and not (tmp_path / "m.bvh").exists()


def test_long_text_truncates_with_warning(pipe):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe(solo="a person walks " * 40, seed=0, steps=2)
    assert any("truncat" in str(w.message).lower() for w in caught)


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"solo": "   "}, "solo: empty"),
        ({"solo": ""}, "solo: empty"),
        ({"solo": b"\xff\xfe"}, "not valid UTF-8"),
        # Punctuation alone would vanish when the texts are joined into one caption.
        ({"interaction": "hug", "person_text": " . "}, "person_text: no words in '.'"),
        (
            {"solo": "walk", "interaction": "hug", "interaction_start": 230},
            "interaction_start=230 is outside the 64-frame sequence",
        ),
        (
            {"solo": "walk", "interaction": "hug", "interaction_start": 30, "solo_start": 10},
            "exactly one segment starts at frame 0",
        ),
        ({"interaction": "hug", "people": 0}, "people=0"),
        ({"solo": "walk", "people": 2}, "needs an interaction"),
        ({}, "nothing to generate"),
        ({"solo": "walk", "seed": "x"}, r"seed='x': expected an integer from -2\^63 to 2\^64 - 1"),
        ({"solo": "walk", "seed": 2**70}, r"seed=1180591620717411303424: expected an integer"),
        ({"solo": "walk", "num_samples": 10**6}, r"people drawn 2 × frames=64: 128,000,000 person"),
        ({"solo": "walk", "frames": 10**6, "candidates": 1}, "expected at most 400,000 per call"),
        ({"solo": "walk", "steps": 0}, "steps=0"),
        ({"solo": "walk", "cleanup": "smooth"}, "cleanup='smooth': expected a CleanupConfig"),
        ({"solo": "walk", "guidance_max_step": 1000}, r"guidance_max_step=1000: .*\[0, 999\]"),
        ({"solo": "walk", "guidance_max_step": -1}, "guidance_max_step=-1"),
        ({"solo": "walk", "guidance_max_step": 9.5}, "guidance_max_step=9.5"),
        ({"solo": "walk", "guidance_parallel": 1.5}, r"guidance_parallel=1.5: .*\[0, 1\]"),
        ({"solo": "walk", "guidance_parallel": float("nan")}, "guidance_parallel=nan"),
        ({"solo": "walk", "guidance_parallel": True}, "guidance_parallel=True"),
        ({"solo": "walk", "guidance": "2"}, "guidance='2': expected a finite number"),
        ({"interaction": "hug", "min_distance": -0.1}, r"min_distance=-0.1: .*\[0, 2.0\]"),
        ({"interaction": "hug", "min_distance": float("nan")}, "min_distance=nan"),
        ({"interaction": "hug", "min_distance": True}, "min_distance=True"),
    ],
)
def test_bad_requests(pipe, kwargs, fragment):
    with pytest.raises(InterSynError, match=fragment) as info:
        pipe(**kwargs)
    assert "\n" not in str(info.value)


def test_projected_guidance_is_the_default_and_1_is_classifier_free_guidance(pipe):
    request = {"solo": "a person walks", "interaction": "two people hug", "seed": 3, "steps": 5}
    projected = pipe(**request)
    assert projected.meta["guidance_parallel"] == DEFAULT_GUIDANCE_PARALLEL == 0.0
    plain = pipe(**request, guidance_parallel=1.0)
    assert plain.meta["guidance_parallel"] == 1.0
    assert not np.allclose(plain.joints, projected.joints)
    half = pipe(**request, guidance_parallel=0.5)
    assert not np.allclose(half.joints, plain.joints) and not np.allclose(
        half.joints, projected.joints
    )
    # Guidance 1 is the text prediction alone, whatever the weight.
    np.testing.assert_array_equal(
        pipe(**request, guidance=1.0).joints,
        pipe(**request, guidance=1.0, guidance_parallel=1).joints,
    )


def test_guidance_max_step_limits_guidance_to_the_less_noisy_steps(pipe):
    request = {"solo": "a person walks", "interaction": "two people hug", "seed": 3, "steps": 5}
    guided = pipe(**request)
    assert guided.meta["guidance_max_step"] is None
    # DDIM-5's steps are 999, 799, ..., 199: a limit of 999 guides them all, one of 0 none.
    every = pipe(**request, guidance_max_step=999)
    assert np.array_equal(every.joints, guided.joints)
    none = pipe(**request, guidance_max_step=0)
    np.testing.assert_allclose(none.joints, pipe(**request, guidance=1.0).joints, atol=1e-5)
    assert not np.allclose(none.joints, guided.joints)
    part = pipe(**request, guidance_max_step=599)
    assert part.meta["guidance_max_step"] == 599
    assert not np.allclose(part.joints, guided.joints) and not np.allclose(part.joints, none.joints)


@pytest.mark.parametrize(
    "how",
    [
        {"frames": 100},  # longer than the 64-frame window: overlapping windows
        {"people": 3},  # the third person in-painted against person x
        {"candidates": 2},
        {"layouts": True},
        {"layouts": True, "per_person": True},
        {"layouts": True, "candidates": 2},
    ],
)
def test_guidance_settings_reach_every_sampling_path(
    pipe, tiny_checkpoint, tiny_text_encoder, monkeypatch, how
):
    import intersyn.pipeline as pipeline_module

    if "candidates" in how:  # best of K needs a ranker, which the tiny model lacks
        pipe = InterSynPipeline.from_pretrained(tiny_checkpoint, ranker=tiny_text_encoder[0])

    seen = []
    original = pipeline_module.guided_denoiser

    def recording(model_fn, scale, max_step=None, parallel=1.0):
        seen.append((max_step, parallel))
        return original(model_fn, scale, max_step, parallel)

    monkeypatch.setattr(pipeline_module, "guided_denoiser", recording)
    how = dict(how)
    if how.pop("layouts", False):
        layout = plan_layout("a person walks", "two people hug", 0, 20, 40)
        pipe.sample_layouts([layout], steps=2, guidance_max_step=7, guidance_parallel=0.5, **how)
    else:
        pipe(
            solo="a person walks",
            interaction="two people hug",
            steps=2,
            guidance_max_step=7,
            guidance_parallel=0.5,
            **how,
        )
    assert seen and all(got == (7, 0.5) for got in seen)


def test_plan_layout_defaults():
    layout = plan_layout("a", "b", None, None, 196)
    assert (layout.solo_start, layout.interaction_start) == (0, 65)
    layout = plan_layout("a", "b", 100, None, 196)
    assert (layout.solo_start, layout.interaction_start) == (100, 0)


def test_cli_generate_and_errors(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "gen"
    args = [
        "generate",
        "--checkpoint",
        str(tiny_checkpoint),
        "--solo",
        "a person walks",
        "--interaction",
        "two people hug",
        "--steps",
        "5",
        "--video",
        "gif",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert (out / "motion.gif").is_file() and not (out / "motion.mp4").exists()
    assert "(2 people × 64 frames; " in capsys.readouterr().out  # the tiny model's window
    solo = [*args[:5], "--steps", "2", "--video", "none", "--out", str(tmp_path / "solo")]
    assert main(solo) == 0
    assert "(1 person × 64 frames; " in capsys.readouterr().out
    # Per-person texts a model was not trained on: one warning line, generated without them.
    assert json.loads((out / "meta.json").read_text())["guidance_max_step"] is None
    roles = [*args[:-1], str(tmp_path / "roles"), "--person-text", "someone hugs the other"]
    roles += ["--guidance-max-step", "599", "--guidance-parallel", "1"]
    assert main(roles) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("intersyn: warning: person_text / partner_text: checkpoint ")
    assert "generating from the interaction text alone" in err[-1]
    meta = json.loads((tmp_path / "roles" / "meta.json").read_text())
    assert meta["guidance_max_step"] == 599 and meta["guidance_parallel"] == 1.0
    assert meta["texts"]["person_text"] == "someone hugs the other"
    assert not meta["person_texts_conditioned"]
    cases = [
        (args, "exists and is not empty; pass --overwrite"),
        ([*args[:-1], str(out / "joints.npy")], "is a file"),
        (
            [
                "generate",
                "--checkpoint",
                str(tmp_path / "nope.pt"),
                "--solo",
                "x",
                "--out",
                str(tmp_path / "o1"),
            ],
            "file not found",
        ),
        (
            [
                "generate",
                "--checkpoint",
                str(tiny_checkpoint),
                "--solo",
                " ",
                "--out",
                str(tmp_path / "o2"),
            ],
            "solo: empty",
        ),
        (
            [
                "generate",
                "--checkpoint",
                str(tiny_checkpoint),
                "--interaction",
                "hug",
                "--people",
                "0",
                "--out",
                str(tmp_path / "o3"),
            ],
            "--people 0",
        ),
        (
            [
                "generate",
                "--checkpoint",
                str(tiny_checkpoint),
                "--solo",
                "walk",
                "--interaction",
                "hug",
                "--interaction-start",
                "999",
                "--out",
                str(tmp_path / "o4"),
            ],
            "outside",
        ),
        (
            [
                "generate",
                "--checkpoint",
                str(tiny_checkpoint),
                "--solo",
                "walk",
                "--guidance-max-step",
                "1000",
                "--out",
                str(tmp_path / "o5"),
            ],
            "guidance_max_step=1000: expected a diffusion step in [0, 999]",
        ),
        (
            [
                "generate",
                "--checkpoint",
                str(tmp_path / "nope.pt"),  # checked before the model is loaded
                "--solo",
                "walk",
                "--guidance-max-step",
                "-1",
                "--out",
                str(tmp_path / "o6"),
            ],
            "--guidance-max-step -1: expected a diffusion step >= 0",
        ),
        (
            [
                "generate",
                "--checkpoint",
                str(tmp_path / "nope.pt"),  # checked before the model is loaded
                "--solo",
                "walk",
                "--guidance-parallel",
                "nan",
                "--out",
                str(tmp_path / "o7"),
            ],
            "--guidance-parallel nan: expected 0 to 1",
        ),
        (
            [
                "generate",
                "--checkpoint",
                str(tmp_path / "nope.pt"),  # checked before the model is loaded
                "--interaction",
                "hug",
                "--min-distance",
                "-1",
                "--out",
                str(tmp_path / "o8"),
            ],
            "--min-distance -1.0: expected metres from 0 to 2.0",
        ),
    ]
    for argv, fragment in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert fragment in err and err.count("\n") == 1 and "Traceback" not in err
    for name in ("o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"):
        assert not (tmp_path / name).exists()


def test_bad_checkpoints(tiny_checkpoint, tmp_path):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(tiny_checkpoint.read_bytes()[:5000])
    with pytest.raises(InterSynError, match="corrupted or truncated"):
        InterSynPipeline.from_pretrained(truncated)
    payload = load_checkpoint(tiny_checkpoint)
    del payload["sha256"], payload["format_version"]
    payload["denoiser"] = {k: torch.zeros(3) for k in list(payload["denoiser"])[:3]}
    other = tmp_path / "other.pt"
    save_checkpoint(other, payload)
    with pytest.raises(InterSynError, match="does not match the InterSyn architecture"):
        InterSynPipeline.from_pretrained(other)


def test_longer_than_the_window(pipe):
    """Overlapping windows with in-painting: any length, same layout rules, deterministic."""
    request = dict(
        solo="a person walks",
        interaction="two people hug",
        interaction_start=70,
        frames=150,
        seed=0,
        steps=5,
    )
    result = pipe(**request)
    assert result.joints.shape == (1, 2, 150, 22, 3) and np.isfinite(result.joints).all()
    assert result.features.shape == (1, 2, 150, 267)
    assert not result.presence[1, :70].any() and result.presence[1, 70:].all()
    assert result.meta["frames"] == 150
    again = pipe(**request)
    assert np.array_equal(again.joints, result.joints)
    # Person x starts at the origin of its own frame; the features describe the joints.
    from intersyn.kinematics.pair import features_to_pair

    decoded = features_to_pair(
        result.features[0].astype(np.float64),
        presence=result.presence.copy(),
        anchor=pipe.anchor,
        frame=_features_frame(result.meta, 0),
    )
    rows = result.presence.copy()
    assert np.abs(decoded - result.joints[0])[rows].max() < 1e-4
    solo = pipe(solo="a person walks", frames=200, steps=5)
    assert solo.joints.shape == (1, 1, 200, 22, 3)
    several = pipe(**{**request, "num_samples": 3})
    assert several.joints.shape == (3, 2, 150, 22, 3) and np.isfinite(several.joints).all()


def test_longer_than_the_window_with_more_than_two_people(pipe, monkeypatch):
    """Every partner of a long motion continues across windows as the first one does: each
    window samples person x and the first partner, then the others with person x fixed."""
    request = dict(
        solo="a person walks", interaction="two people hug", interaction_start=40, frames=150,
        seed=0, steps=5, candidates=1, min_distance=0.0, cleanup=None,
    )  # fmt: skip
    two = pipe(**request)
    three = pipe(**request, people=3)
    assert three.joints.shape == (1, 3, 150, 22, 3) and np.isfinite(three.joints).all()
    assert three.features.shape == (1, 3, 150, 267)
    assert (three.presence[1:] == three.presence[1]).all() and three.presence[2, 40:].all()
    assert not three.presence[2, :40].any()
    # In the first window (up to where the second one starts, frame 48), person x and the first
    # partner are drawn as with two people (later windows draw their noise after the third
    # person's); the third is another draw.
    np.testing.assert_allclose(three.joints[0, :2, :48], two.joints[0, :, :48], atol=1e-4)
    assert not np.allclose(three.joints[0, 2, 40:], three.joints[0, 1, 40:], atol=1e-2)
    assert three.meta["people"] == 3
    # The third person's draw in each later window fixes person x everywhere and its own
    # overlap (frames 48-63 and 86-111, their feature rows but the last).
    masks = []
    original = pipe._denoise

    def spy(*args, **kwargs):
        inpaint = kwargs.get("inpaint", args[7] if len(args) > 7 else None)
        masks.append(None if inpaint is None else inpaint[1][0, :, :, 0].clone())
        return original(*args, **kwargs)

    monkeypatch.setattr(pipe, "_denoise", spy)
    alone = {k: v for k, v in request.items() if k not in ("solo", "interaction_start")}
    pipe(**alone, people=3)  # the interaction alone: partners present from the first frame
    assert len(masks) == 6 and masks[0] is None  # three windows, two draws each
    assert masks[1][0].all() and not masks[1][1].any()  # window 1: person x fixed only
    for window, shared in ((1, 15), (2, 25)):
        pair, third = masks[2 * window], masks[2 * window + 1]
        assert pair[:, :shared].all() and not pair[:, shared:].any()
        assert third[0].all() and third[1, :shared].all() and not third[1, shared:].any()


def test_long_motions_continue_the_overlap_without_a_seam(pipe, monkeypatch):
    """A window that keeps its in-painted overlap and walks on from it continues the motion
    made so far: no step where windows meet. Until session 45 the overlap's last feature row
    was read against a frame not made yet (zeros), so every long motion jumped metres (1–11 m)
    back towards the start at the end of its first window."""
    from intersyn.data.procedural import generate_solo_clip
    from intersyn.kinematics.pair import pair_to_features

    clip = generate_solo_clip("walk", np.random.default_rng(0), num_frames=pipe.window + 1)
    walk = np.asarray(clip.joints, dtype=np.float64)[None, None, : pipe.window + 1]
    features, _ = pair_to_features(walk, presence=np.ones(walk.shape[:3], dtype=bool))
    steady = np.asarray(features)[0, 0]  # (window, 267): a walk in its own canonical frame

    def walk_on(layouts, people, seed, steps, guidance, progress, *, generator=None, known=None):
        out = np.zeros((len(layouts), people, layouts[0].frames, steady.shape[-1]))
        out[:, 0] = steady
        if known is not None:  # the overlap as given, then the walk's own rows
            out = np.where(known[1][..., None], known[0], out)
        return out

    monkeypatch.setattr(pipe, "_sample", walk_on)
    result = pipe(solo="a person walks", frames=150, steps=2, candidates=1, cleanup=None)
    pelvis = result.joints[0, 0, :, 0]
    steps_m = np.linalg.norm(np.diff(pelvis, axis=0)[:, [0, 2]], axis=-1)
    assert np.linalg.norm(pelvis[-1, [0, 2]]) > 2.0  # it walked on
    assert steps_m.max() < 0.2, (steps_m.argmax(), steps_m.max())

    # Every partner of three people continues its own overlap too.
    def all_walk_on(layouts, people, *args, known=None, **kwargs):
        out = walk_on(layouts, people, *args, known=None, **kwargs)
        out[:, 1:] = steady
        return out if known is None else np.where(known[1][..., None], known[0], out)

    monkeypatch.setattr(pipe, "_sample", all_walk_on)
    trio = pipe(
        interaction="people walk together", people=3, frames=150, steps=2, candidates=1,
        cleanup=None, min_distance=0.0,
    )  # fmt: skip
    pelvises = trio.joints[0, :, :, 0]
    steps_m = np.linalg.norm(np.diff(pelvises, axis=1)[..., [0, 2]], axis=-1)
    assert steps_m.max() < 0.2, np.unravel_index(steps_m.argmax(), steps_m.shape)


def test_only_a_long_motion_s_last_window_is_told_that_the_motion_ends(pipe, monkeypatch):
    """Inner windows go on past their last frame (Condition.motion_ends False), so a model
    with end positions does not bring the motion to a stop at every window's end."""
    from intersyn.pipeline import Layout

    layout = Layout.from_segments(300, [("solo", 0, 300, "a person walks")])
    assert layout.ends and not layout.window(0, 196).ends and layout.window(104, 196).ends
    assert not layout.window(0, 196).window(150, 46).ends  # an inner window's own tail
    told = []
    denoiser = pipe.model.denoiser
    forward = denoiser.forward

    def spy(x_t, t, cond, presence, valid):
        told.append(tuple(cond.ends().tolist()))
        return forward(x_t, t, cond, presence, valid)

    monkeypatch.setattr(denoiser, "forward", spy)
    pipe(solo="a person walks", frames=pipe.window, steps=2, candidates=1)
    assert told and all(all(row) for row in told)
    told.clear()
    pipe(solo="a person walks", frames=pipe.window + 30, steps=2, candidates=1)
    windows = [row[0] for row in dict.fromkeys(told)]
    assert windows == [False, True], told


def test_longer_than_the_window_with_end_placements(pipe, monkeypatch):
    """A "run_end" model's long motion: the overlap in-paints a continuing partner's own
    channels, not its placement, and `_continue_partners` (below) keeps it where it was."""
    from intersyn.kinematics.pair import features_to_pair

    monkeypatch.setattr(pipe, "anchor", "run_end")  # the tiny model's rows read as end-placed
    fixed = []
    original = pipe._denoise

    def spy(*args, **kwargs):
        inpaint = kwargs.get("inpaint", args[7] if len(args) > 7 else None)
        if inpaint is not None:
            fixed.append(inpaint[1].clone())
        return original(*args, **kwargs)

    monkeypatch.setattr(pipe, "_denoise", spy)
    result = pipe(
        interaction="two people hug", solo="a person walks", interaction_start=0,
        solo_start=130, frames=150, seed=0, steps=5,
    )  # fmt: skip
    assert np.isfinite(result.joints).all() and len(fixed) == 2  # windows 2 and 3 in-paint
    shared = [int(mask[0, 0, :, 0].sum()) for mask in fixed]
    # Windows start at 0, 48 and 86 and share 16 and 26 frames with the motion so far: the
    # feature rows of all but the last of those frames (a row needs its frame and the next).
    assert shared == [15, 25]
    for mask, n in zip(fixed, shared):  # (N, 2, T, 267): the overlap, not the partner's placement
        assert mask[0, 0, :n].all() and mask[0, 1, :n, :263].all()
        assert not mask[0, 1, :, 263:].any() and not mask[0, :, n:].any()
    decoded = features_to_pair(
        result.features[0].astype(np.float64),
        presence=result.presence.copy(),
        anchor="run_end",
        frame=_features_frame(result.meta, 0),
    )
    rows = result.presence.copy()
    assert np.abs(decoded - result.joints[0])[rows].max() < 1e-4


def test_long_motions_lift_each_sample_by_its_own_height():
    """The overlap of several samples is in-painted at each sample's own height (until
    session 32, three samples failed to broadcast and two swapped people for samples)."""
    from intersyn.pipeline import _lift_heights

    lifted = _lift_heights(np.zeros((3, 2, 4, 267)), np.array([0.1, 0.2, 0.3]))
    for n, lift in enumerate((0.1, 0.2, 0.3)):
        assert np.allclose(lifted[n, :, :, 3], lift) and np.allclose(lifted[n, :, :, 5:67:3], lift)
    assert not lifted[:, :, :, [0, 1, 2, 4, 6, 7, 67]].any()


def test_long_motions_keep_a_continuing_partner_where_it_was():
    """With "run_end" placements the overlap cannot fix where a partner stands, so a partner
    present from a window's first frame is moved rigidly onto its pose so far."""
    from intersyn.data.procedural import generate_pair_clip
    from intersyn.kinematics import rotations as rot
    from intersyn.pipeline import _continue_partners

    clip = np.asarray(generate_pair_clip("hug", np.random.default_rng(0), fps=20).joints)
    clip = clip[None, :, :40].astype(np.float64)  # (1, 2, 40, 22, 3)
    turn = rot.yaw_quat(torch.tensor([0.7], dtype=torch.float64))[:, None, None, :]
    moved = clip.copy()
    moved[:, 1] = rot.quat_rotate(turn, torch.from_numpy(clip[:, 1])).numpy() + [1.5, 0.0, -0.4]
    rows = np.ones((2, 40), dtype=bool)
    back = _continue_partners(moved, clip[:, :, 0], rows, last_shared=8)
    np.testing.assert_allclose(back, clip, atol=1e-9)
    # A partner who is not there from the first frame keeps the window's own placement.
    rows[1, :3] = False
    kept = _continue_partners(moved * rows[None, :, :, None, None], clip[:, :, 0], rows, 8)
    np.testing.assert_allclose(kept, moved * rows[None, :, :, None, None])


def test_shipped_default_model_generates():
    """The package ships a default checkpoint that loads with no path and generates."""
    import json
    from importlib import resources

    card = json.loads((resources.files("intersyn") / "assets" / "default.json").read_text())
    pipe = InterSynPipeline.from_pretrained()
    assert pipe.model.sha256 == card["sha256"] and pipe.model.config.name == "cpu"
    assert pipe.model.steps == card["trained_steps"]
    # 10 steps: with 3 the session-29 default's forearms came out 3 cm short, at the tolerance.
    result = pipe(solo="a person walks forward", interaction="two people shake hands", steps=10)
    assert result.joints.shape == (1, 2, 196, 22, 3) and np.isfinite(result.joints).all()
    # It carries its ranker: each motion is the best of DEFAULT_CANDIDATES draws.
    assert result.meta["ranker_sha256"] == card["ranker_sha256"]
    assert len(result.meta["candidate_scores"][0]) == DEFAULT_CANDIDATES
    # It carries its training captions embedded by that ranker: a request embeds only itself.
    assert {k: len(v) for k, v in pipe.model.text_captions.items()} == card["text_captions"]
    known = pipe.known_wording
    assert set(known._bank) == {"solo", "interaction"}
    fresh = torch.nn.functional.normalize(
        pipe.ranker.text.encode(known.captions["solo"][:8]).pooled.float(), dim=-1
    )
    np.testing.assert_allclose(known._bank["solo"][:8].numpy(), fresh.numpy(), atol=2e-3)
    # Both texts are training captions, so every candidate was drawn under them as asked; a
    # text with a word the model never saw has a nearest caption (the pipeline asks after
    # reading unseen words, when it is often in the model's words already).
    assert len(set(result.meta["candidate_captions"])) == 1
    assert known.nearest("a person walks forward", "solo") == "a person walks forward"
    assert known.nearest("someone strolls ahead", "solo") in known.captions["solo"]
    # The README's request is in the model's own words: drawn as written, not as its nearest
    # caption ("a person waves both hands in greeting", which drops the walk).
    readme = "a person walks forward and waves"
    assert readme not in known.captions["solo"] and known.nearest(readme, "solo") == readme
    # "Own words" are the model's vocabulary, which holds per-person captions' words too.
    assert known.in_own_words("one person greets the other")  # "greets": a per-person word
    # A person, not noise: bone lengths near the reference skeleton and feet near the floor.
    from intersyn.kinematics.skeleton import REFERENCE_BONE_LENGTHS, bone_lengths

    lengths = bone_lengths(torch.from_numpy(result.joints[0, 0].astype(np.float64))).mean(0)
    assert np.allclose(lengths.numpy(), REFERENCE_BONE_LENGTHS[1:], atol=0.03)
    assert abs(result.joints[0, 0, :, [7, 8, 10, 11], 1].min()) < 0.1


def test_per_person_texts_only_condition_a_model_trained_on_them(pipe, monkeypatch):
    from intersyn.pipeline import PersonTextsUnreadWarning, UnknownTextWarning

    roles = {"person_text": "a man leads the way", "partner_text": "a woman follows him"}
    assert pipe.model.config.data.interleave.person_caption_share == 0
    assert not pipe.reads_person_texts
    with pytest.warns(PersonTextsUnreadWarning, match="not trained on per-person texts"):
        unread = pipe(interaction="two people walk one behind the other", seed=3, **roles)
    plain = pipe(interaction="two people walk one behind the other", seed=3)
    # Drawn from the interaction text alone, as without them; kept in the meta.
    assert (
        unread.meta["caption"] == plain.meta["caption"] == "Two people walk one behind the other."
    )
    assert not unread.meta["person_texts_conditioned"]
    assert unread.meta["texts"]["partner_text"] == "a woman follows him"
    np.testing.assert_array_equal(unread.joints, plain.joints)
    # Per-person texts alone would leave such a model nothing to draw but a placeholder.
    with pytest.raises(InterSynError, match="without an interaction: .* give the interaction"):
        pipe(person_text="a man leads the way")
    # A model trained on them reads them joined to the interaction text, as U(·) joined them.
    monkeypatch.setattr(type(pipe), "reads_person_texts", property(lambda self: True))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PersonTextsUnreadWarning)
        # (the tiny model's vocabulary has no word of the roles: that is said, and fine here)
        warnings.simplefilter("ignore", UnknownTextWarning)
        read = pipe(interaction="two people walk one behind the other", seed=3, **roles)
    assert read.meta["person_texts_conditioned"]
    assert read.meta["caption"] == (
        "Two people walk one behind the other. A man leads the way. A woman follows him."
    )
    assert not np.array_equal(read.joints, plain.joints)
