"""Official-layout writers and validating loaders (HumanML3D, InterHuman), statistics, tagger."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from intersyn import features_to_joints, joints_to_features
from intersyn.data.humanml3d import (
    format_caption_line,
    load_humanml3d,
    write_humanml3d_clip,
    write_humanml3d_splits,
)
from intersyn.data.interhuman import load_interhuman, write_interhuman_clip, write_interhuman_splits
from intersyn.data.normalize import (
    MIN_STD,
    compute_humanml3d_stats,
    compute_interhuman_stats,
    load_normalization,
    save_normalization,
)
from intersyn.data.schema import Caption, NpyRows, RawPair
from intersyn.data.tagging import tag_caption
from intersyn.errors import InterSynError
from intersyn.kinematics.pair import interhuman_pair_features, joints_to_raw_interhuman

from .conftest import yaw_and_shift

# ---------------------------------------------------------------------------------------------
# HumanML3D fixtures: clips cut from the real sample, turned and moved
# ---------------------------------------------------------------------------------------------


def _clip(
    real_joints: np.ndarray, start: int, stop: int, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    joints = yaw_and_shift(real_joints[start:stop], angle, (0.3 * angle, 0.0, -0.2))
    features = joints_to_features(joints).astype(np.float32)
    return features, features_to_joints(features)


def _caption(text: str, start: float = 0.0, end: float = 0.0) -> Caption:
    return Caption(text, tag_caption(text), start, end)


HML_SPECS = [(0, 101, 0.0), (20, 151, 1.0), (50, 170, -2.0), (10, 91, 0.5)]


@pytest.fixture(scope="module")
def hml_clips(real_joints: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [_clip(real_joints, *spec) for spec in HML_SPECS]


@pytest.fixture
def hml_root(tmp_path: Path, hml_clips: list) -> Path:
    """A HumanML3D folder with 4 clips: 000000–000002 in train, 000003 in test."""
    base = tmp_path / "data" / "HumanML3D"
    for i, (features, joints) in enumerate(hml_clips):
        captions = [_caption(f"a person walks forward number {i}")]
        if i == 1:  # one sub-clip caption (rows 10..70) and one too short to keep (rows 20..30)
            captions += [_caption("the person waves", 0.5, 3.5), _caption("a bow", 1.0, 1.5)]
        write_humanml3d_clip(base, f"{i:06d}", features, joints, captions)
    write_humanml3d_splits(base, ["000000", "000001", "000002"], [], ["000003"])
    return tmp_path / "data"


def test_humanml3d_round_trip(hml_root: Path, real_joints: np.ndarray) -> None:
    items = load_humanml3d(hml_root, "train")
    assert [item.id for item in items] == ["000000", "000001", "000001:10-70", "000002"]
    assert items.report.skipped == 0 and items.report.filtered == 1  # the 0.5 s "bow"
    expected, _ = _clip(real_joints, 20, 151, 1.0)
    np.testing.assert_array_equal(items[1].load_features(), expected)
    np.testing.assert_array_equal(items[2].load_features(), expected[10:70])
    assert isinstance(items[1].features, NpyRows) and items[2].num_frames == 60
    assert items[1].fps == 20 and items[2].source == "000001"
    caption = items[0].captions[0]
    assert caption.text == "a person walks forward number 0"
    assert caption.tokens == ("a/DET", "person/NOUN", "walk/VERB", "forward/ADV", "number/OTHER")
    assert caption.whole_clip
    assert [c.text for c in items[2].captions] == ["the person waves"]
    assert (items[2].captions[0].start, items[2].captions[0].end) == (0.5, 3.5)
    # in-memory loading gives the same arrays; other splits list the other ids
    eager = load_humanml3d(hml_root / "HumanML3D", "train", in_memory=True)
    np.testing.assert_array_equal(eager[3].features, items[3].load_features())
    assert [item.id for item in load_humanml3d(hml_root, "test")] == ["000003"]
    assert (hml_root / "HumanML3D" / "all.txt").read_text().split() == [
        f"{i:06d}" for i in range(4)
    ]
    # new_joints are the recovery of the stored features, row for row
    joints = np.load(hml_root / "HumanML3D" / "new_joints" / "000002.npy")
    np.testing.assert_allclose(joints, features_to_joints(items[3].load_features()), atol=1e-5)


def test_humanml3d_caption_file_format(hml_root: Path) -> None:
    lines = (hml_root / "HumanML3D" / "texts" / "000001.txt").read_text().splitlines()
    assert lines[1] == "the person waves#the/DET person/NOUN wave/VERB#0.5#3.5"
    assert lines[0].endswith("#0.0#0.0")


def test_humanml3d_length_filter_and_nan_times(hml_root: Path) -> None:
    base = hml_root / "HumanML3D"
    # only timed captions: no whole-clip entry; NaN start is read as 0 → rows 0..50
    text = "a jump#a/DET jump/NOUN#nan#2.5\n"
    (base / "texts" / "000000.txt").write_text(text)
    items = load_humanml3d(hml_root, "train")
    assert items[0].id == "000000:0-50" and items[0].num_frames == 50
    assert [i.id for i in items].count("000000") == 0
    # a clip outside 40 ≤ T ≤ max_frames is left out (counted as filtered, not skipped)
    items = load_humanml3d(hml_root, "train", max_frames=110)
    assert "000001" not in [i.id for i in items] and "000000:0-50" in [i.id for i in items]


def _break(base: Path, kind: str) -> Path:
    """Damage clip 000001 in one way; returns the file the error must name."""
    if kind == "missing features":
        path = base / "new_joint_vecs" / "000001.npy"
        path.unlink()
    elif kind == "missing captions":
        path = base / "texts" / "000001.txt"
        path.unlink()
    elif kind == "wrong field count":
        path = base / "texts" / "000001.txt"
        path.write_text("a person walks#a/DET person/NOUN walk/VERB#0.0\n")
    elif kind == "non-numeric time":
        path = base / "texts" / "000001.txt"
        path.write_text("a person walks#a/DET#zero#0.0\n")
    elif kind == "wrong width":
        path = base / "new_joint_vecs" / "000001.npy"
        np.save(path, np.zeros((80, 262), np.float32))
    elif kind == "nan features":
        path = base / "new_joint_vecs" / "000001.npy"
        features = np.load(path)
        features[5, 7] = np.nan
        np.save(path, features)
    elif kind == "not npy":
        path = base / "new_joint_vecs" / "000001.npy"
        path.write_bytes(b"not an array")
    else:
        raise AssertionError(kind)
    return path


HML_DAMAGE = [
    "missing features",
    "missing captions",
    "wrong field count",
    "non-numeric time",
    "wrong width",
    "nan features",
    "not npy",
]


@pytest.mark.parametrize("kind", HML_DAMAGE)
def test_humanml3d_bad_item_names_the_file(hml_root: Path, kind: str) -> None:
    path = _break(hml_root / "HumanML3D", kind)
    with pytest.raises(InterSynError) as info:
        load_humanml3d(hml_root, "train")
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert "expected" in message or "not found" in message


def test_humanml3d_skip_bad_counts_and_keeps_good(hml_root: Path, caplog) -> None:
    base = hml_root / "HumanML3D"
    _break(base, "nan features")
    (base / "texts" / "000002.txt").write_text("broken line without fields\n")
    with caplog.at_level(logging.WARNING, logger="intersyn.data.humanml3d"):
        items = load_humanml3d(hml_root, "train", skip_bad=True)
    assert [item.id for item in items] == ["000000"]
    assert items.report.skipped == 2 and len(items.report.reasons) == 2
    assert "000001.npy" in items.report.reasons[0] and "000002.txt" in items.report.reasons[1]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "000002.txt" in warnings[1].getMessage()


def test_humanml3d_missing_folder_and_split(tmp_path: Path, hml_root: Path) -> None:
    with pytest.raises(InterSynError, match=str(tmp_path / "nowhere")):
        load_humanml3d(tmp_path / "nowhere")
    (hml_root / "HumanML3D" / "val.txt").unlink()
    with pytest.raises(InterSynError, match="val.txt"):
        load_humanml3d(hml_root, "val")
    (hml_root / "HumanML3D" / "train.txt").write_text("000000\n999999\n")
    with pytest.raises(InterSynError, match="999999.npy"):
        load_humanml3d(hml_root, "train")
    # a missing split entry is skippable too
    assert load_humanml3d(hml_root, "train", skip_bad=True).report.skipped == 1


def test_format_caption_line_refuses_separator() -> None:
    with pytest.raises(InterSynError, match="#"):
        format_caption_line(Caption("a # b"))
    assert format_caption_line(Caption("go", ("go/VERB",), 1.25, 2.0)) == "go#go/VERB#1.25#2.0"


# ---------------------------------------------------------------------------------------------
# Normalisation statistics
# ---------------------------------------------------------------------------------------------


def test_humanml3d_stats_follow_the_dataset_rule(hml_root: Path) -> None:
    items = load_humanml3d(hml_root, "all", min_frames=1, max_frames=10_000)
    whole = [item.load_features() for item in items if ":" not in item.id]
    frames = np.concatenate(whole).astype(np.float64)
    nan_clip = np.full((10, 263), np.nan, np.float32)  # skipped like HumanML3D's NaN files
    mean, std = compute_humanml3d_stats([*whole, nan_clip])
    np.testing.assert_allclose(mean, frames.mean(0), rtol=1e-6, atol=1e-7)
    per_dim = frames.std(0)
    for part in (slice(0, 1), slice(1, 3), slice(3, 4), slice(4, 67), slice(67, 193), slice(193, 259), slice(259, 263)):  # fmt: skip
        np.testing.assert_allclose(std[part], per_dim[part].mean(), rtol=1e-5)
    assert mean.dtype == np.float32 and std.shape == (263,)
    save_normalization(hml_root / "HumanML3D", mean, std)
    loaded_mean, loaded_std = load_normalization(hml_root)
    np.testing.assert_array_equal(loaded_mean, mean)
    np.testing.assert_array_equal(loaded_std, std)
    np.save(hml_root / "HumanML3D" / "Std.npy", np.ones(262, np.float32))
    with pytest.raises(InterSynError, match="Std.npy"):
        load_normalization(hml_root)


def test_constant_dimension_gets_unit_std() -> None:
    rng = np.random.default_rng(0)
    clips = [rng.normal(size=(50, 263)).astype(np.float32) for _ in range(3)]
    for clip in clips:
        clip[:, 3] = 0.93  # root height: a slice of its own, constant
    mean, std = compute_humanml3d_stats(clips)
    assert std[3] == 1.0 and math.isclose(float(mean[3]), 0.93, rel_tol=1e-6)
    assert 0.9 < float(std[4]) < 1.1  # the unit-normal slices keep their std


def test_load_normalization_reads_the_real_files(sample_dir: Path) -> None:
    mean, std = load_normalization(sample_dir)
    assert mean.shape == std.shape == (263,)
    assert math.isclose(float(std[0]), 0.012826, rel_tol=1e-3)  # REFERENCE.md §1.8
    assert math.isclose(float(mean[3]), 0.9386, rel_tol=1e-3)


# ---------------------------------------------------------------------------------------------
# InterHuman
# ---------------------------------------------------------------------------------------------


def _pair(real_joints: np.ndarray, start: int, frames: int, angle: float) -> np.ndarray:
    a = yaw_and_shift(real_joints[start : start + frames], angle, (0.0, 0.0, 0.0))
    b = yaw_and_shift(real_joints[start : start + frames], angle + math.pi, (1.2, 0.0, 0.4))
    return np.stack([a, b]).astype(np.float32)


IH_SPECS = (("1", 0, 90), ("2", 30, 120), ("3", 10, 60), ("4", 0, 40))


@pytest.fixture(scope="module")
def ih_raw(real_joints: np.ndarray) -> list[list[np.ndarray]]:
    out = []
    for clip_id, start, frames in IH_SPECS:
        joints = _pair(real_joints, start, frames, 0.3 * int(clip_id))
        out.append([joints_to_raw_interhuman(joints[p]) for p in range(2)])
    return out


@pytest.fixture
def ih_root(tmp_path: Path, ih_raw: list) -> Path:
    """An InterHuman folder with interactions 1–4: 1, 2, 4 in train (4 ignored), 3 in test."""
    base = tmp_path / "data" / "InterHuman"
    for (clip_id, _, _), raw in zip(IH_SPECS, ih_raw):
        captions = [f"two people greet each other {clip_id}", "they shake hands"]
        person = ([f"one waves {clip_id}", "one reaches out"], ["one waves back", "one grips"])
        write_interhuman_clip(base, clip_id, raw, captions, person)
    write_interhuman_splits(base, ["1", "2", "4"], [], ["3"], ignore=["4"])
    return tmp_path / "data"


def test_interhuman_round_trip(ih_root: Path, real_joints: np.ndarray) -> None:
    items = load_interhuman(ih_root, "train")
    assert [item.id for item in items] == ["1", "2"]  # 4 is on the ignore list
    assert items.report.skipped == 0
    item = items[1]
    assert isinstance(item.joints, RawPair) and item.num_frames == 120 and item.fps == 30
    joints, rotations = item.load()
    np.testing.assert_allclose(joints, _pair(real_joints, 30, 120, 0.6), atol=1e-5)
    assert rotations.shape == (2, 120, 21, 6)
    assert item.captions == ("two people greet each other 2", "they shake hands")
    assert item.person_captions == (
        ("one waves 2", "one reaches out"),
        ("one waves back", "one grips"),
    )
    eager = load_interhuman(ih_root / "InterHuman", "train", in_memory=True)  # the torch path
    np.testing.assert_array_equal(eager[1].joints, joints)
    np.testing.assert_array_equal(eager[1].rotations, rotations)
    # the raw file is Z up: its height axis is column 2 of each joint
    raw = np.load(ih_root / "InterHuman" / "motions_processed" / "person1" / "1.npy")
    assert raw.shape == (90, 312) and raw.dtype == np.float32
    pelvis_height = load_interhuman(ih_root)[0].load_joints()[0, :, 0, 1]
    np.testing.assert_allclose(raw[:, 2], pelvis_height, atol=1e-6)
    assert pelvis_height.min() > 0.5  # metres


def test_interhuman_splits_from_split_folder_and_min_frames(ih_root: Path) -> None:
    base = ih_root / "InterHuman"
    for name in ("train", "val", "test", "ignore_list"):
        (base / f"{name}.txt").unlink()  # FreeMotion layout: only split/
    assert [i.id for i in load_interhuman(ih_root, "test")] == ["3"]
    assert [i.id for i in load_interhuman(ih_root, "train")] == ["1", "2"]
    (base / "split" / "ignore_list.txt").write_text("")
    items = load_interhuman(ih_root, "train", min_frames=50)
    assert [i.id for i in items] == ["1", "2"] and items.report.filtered == 1  # 4 has 40 frames
    assert [i.id for i in load_interhuman(ih_root, "train", min_frames=15)] == ["1", "2", "4"]


def _break_pair(base: Path, kind: str) -> Path:
    if kind == "missing person2":
        path = base / "motions_processed" / "person2" / "2.npy"
        path.unlink()
    elif kind == "narrow":
        path = base / "motions_processed" / "person1" / "2.npy"
        np.save(path, np.zeros((120, 192), np.float32))
    elif kind == "frame mismatch":
        path = base / "motions_processed" / "person2" / "2.npy"
        np.save(path, np.load(path)[:100])
    elif kind == "nan":
        path = base / "motions_processed" / "person2" / "2.npy"
        raw = np.load(path)
        raw[3, 200] = np.nan
        np.save(path, raw)
    elif kind == "missing annots":
        path = base / "annots" / "2.txt"
        path.unlink()
    elif kind == "misaligned person captions":
        path = base / "separate_annots" / "text2" / "2.txt"
        path.write_text("only one line\n")
    else:
        raise AssertionError(kind)
    return path


IH_DAMAGE = ["missing person2", "narrow", "frame mismatch", "nan", "missing annots", "misaligned person captions"]  # fmt: skip


@pytest.mark.parametrize("kind", IH_DAMAGE)
def test_interhuman_bad_item_names_the_file(ih_root: Path, kind: str) -> None:
    path = _break_pair(ih_root / "InterHuman", kind)
    with pytest.raises(InterSynError) as info:
        load_interhuman(ih_root, "train")
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    items = load_interhuman(ih_root, "train", skip_bad=True)
    assert [i.id for i in items] == ["1"] and items.report.skipped == 1


def test_interhuman_missing_split_and_folder(ih_root: Path, tmp_path: Path) -> None:
    base = ih_root / "InterHuman"
    (base / "val.txt").unlink()
    (base / "split" / "val.txt").unlink()
    with pytest.raises(InterSynError, match="val.txt"):
        load_interhuman(ih_root, "val")
    with pytest.raises(InterSynError, match="InterHuman"):
        load_interhuman(tmp_path / "empty")


def test_interhuman_stats_match_direct_computation(ih_root: Path) -> None:
    items = load_interhuman(ih_root, "train")
    mean, std = compute_interhuman_stats(items)
    blocks = []
    for item in items:
        joints, rotations = item.load()
        feats = interhuman_pair_features(joints[0].astype(np.float64), joints[1].astype(np.float64))
        feats[..., 132:258] = rotations[:, :-1].reshape(2, -1, 126)
        blocks.append(feats.reshape(-1, 262))
    frames = np.concatenate(blocks)
    np.testing.assert_allclose(mean, frames.mean(0), atol=1e-6)
    expected_std = np.where(frames.std(0) < MIN_STD, 1.0, frames.std(0))
    np.testing.assert_allclose(std, expected_std, rtol=1e-5, atol=1e-7)
    assert std.shape == (262,) and (std > 0).all()


# ---------------------------------------------------------------------------------------------
# Tagger
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("A person walks forward slowly, then turns left.",
         "a/DET person/NOUN walk/VERB forward/ADV slowly/ADV then/ADV turn/VERB left/ADV"),
        ("The man waves his right hand twice.",
         "the/DET man/NOUN wave/VERB his/DET right/ADJ hand/NOUN twice/ADV"),
        ("Two people shake hands with each other",
         "two/NUM people/NOUN shake/VERB hand/NOUN with/ADP each/DET other/ADJ"),
        ("someone is running in a circle clockwise",
         "someone/PRON is/AUX run/VERB in/ADP a/DET circle/NOUN clockwise/ADV"),
        ("a man takes three side steps to the left",
         "a/DET man/NOUN take/VERB three/NUM side/NOUN step/NOUN to/ADP the/DET left/NOUN"),
        ("someone turns in place to face right, before turning back",
         "someone/PRON turn/VERB in/ADP place/NOUN to/ADP face/VERB right/ADV before/ADP turn/VERB back/ADV"),
        ("they give each other a high-five", "they/PRON give/VERB each/DET other/ADJ a/DET highfive/NOUN"),
        ("the person sat down and stood up 3 times",
         "the/DET person/NOUN sit/VERB down/ADP and/CCONJ stand/VERB up/ADP time/NOUN"),
    ],
)  # fmt: skip
def test_tagger(text: str, tokens: str) -> None:
    assert " ".join(tag_caption(text)) == tokens


def test_npy_rows_array_protocol(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    data = np.arange(20, dtype=np.float64).reshape(10, 2)
    np.save(path, data)
    rows = NpyRows(path, 2, 5, (3, 2))
    assert np.asarray(rows).dtype == np.float32 and len(rows) == 3
    np.testing.assert_array_equal(np.asarray(rows), data[2:5])
    assert torch.as_tensor(rows.load()).shape == (3, 2)
