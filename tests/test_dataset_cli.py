"""`intersyn dataset procedural`: layouts, determinism across worker counts, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from intersyn.cli.main import main
from intersyn.data.build_procedural import build_procedural_dataset
from intersyn.data.humanml3d import load_humanml3d
from intersyn.data.interhuman import load_interhuman
from intersyn.data.normalize import load_normalization
from intersyn.kinematics.skeleton import bone_lengths, reference_offsets

procedural = pytest.importorskip("intersyn.data.procedural")

SOLO, PAIRS, SEED = 20, 12, 7


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("procedural") / "one"
    summary = build_procedural_dataset(
        out, seed=SEED, solo=SOLO, pairs=PAIRS, workers=1, progress=False
    )
    return out, summary


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_layout_loads_through_the_official_loaders(built: tuple[Path, dict]) -> None:
    out, summary = built
    assert summary["solo"] == SOLO and summary["pairs"] == PAIRS and summary["bytes"] > 0
    hml, ih = out / "HumanML3D", out / "InterHuman"
    ids = {s: (hml / f"{s}.txt").read_text().split() for s in ("train", "val", "test", "all")}
    assert set(ids["train"]) | set(ids["val"]) | set(ids["test"]) == {
        f"{i:06d}" for i in range(SOLO)
    }
    assert len(ids["train"]) + len(ids["val"]) + len(ids["test"]) == SOLO  # disjoint
    assert len(ids["val"]) >= 1 and len(ids["test"]) >= 1
    assert ids["all"] == sorted(ids["all"]) and len(ids["all"]) == SOLO
    pair_ids = {
        s: (ih / "split" / f"{s}.txt").read_text().split() for s in ("train", "val", "test")
    }
    assert sorted(sum(pair_ids.values(), []), key=int) == [str(i) for i in range(1, PAIRS + 1)]
    for s in ("train", "val", "test", "ignore_list"):  # InterGen reads the root copies
        assert (ih / f"{s}.txt").read_bytes() == (ih / "split" / f"{s}.txt").read_bytes()

    items = load_humanml3d(out, "all", min_frames=1, max_frames=10_000)
    whole = [item for item in items if ":" not in item.id]
    assert len(whole) == SOLO and items.report.skipped == 0
    features = np.concatenate([item.load_features() for item in whole])
    mean, std = load_normalization(out)
    np.testing.assert_allclose(mean, features.astype(np.float64).mean(0), atol=1e-5)
    assert np.unique(std[4:67]).size == 1  # slice-averaged
    for item in whole[:3]:
        assert all(c.tokens and all("/" in t for t in c.tokens) for c in item.captions)
    # solo clips are on the reference skeleton (new_joints recovered from the features)
    joints = np.load(hml / "new_joints" / f"{whole[0].id}.npy")
    expected = np.linalg.norm(reference_offsets().numpy(), axis=-1)[1:]
    measured = bone_lengths(torch.from_numpy(joints.astype(np.float64))).numpy()
    np.testing.assert_allclose(np.median(measured, 0), expected, rtol=0.02)

    pairs = (
        load_interhuman(out, "train") + load_interhuman(out, "val") + load_interhuman(out, "test")
    )
    assert len(pairs) == PAIRS
    for pair in pairs:
        assert pair.person_captions is not None
        assert len(pair.person_captions[0]) == len(pair.captions) == len(pair.person_captions[1])
    info = json.loads((out / "procedural.json").read_text())
    assert info["seed"] == SEED and sum(info["solo_actions"].values()) == SOLO
    counts = list(info["solo_actions"].values())
    assert max(counts) - min(counts) <= 1  # round robin over the actions
    assert info["tagger"].startswith("rule-based")
    assert not list(out.parent.glob("one.tmp-*")), "staging folder left behind"


def test_pairs_have_different_body_sizes(built: tuple[Path, dict]) -> None:
    out, _ = built
    heights = []
    for pair in load_interhuman(out, "train"):
        joints = pair.load_joints().astype(np.float64)
        leg = np.linalg.norm(joints[:, :, 4] - joints[:, :, 1], axis=-1).mean(1)  # left thigh, (2,)
        heights.extend(leg.tolist())
    assert np.ptp(heights) > 0.05 * np.mean(heights)


def test_same_seed_same_bytes_for_one_and_two_workers(
    built: tuple[Path, dict], tmp_path: Path
) -> None:
    one, _ = built
    two = tmp_path / "two"
    assert main(["dataset", "procedural", "--out", str(two), "--seed", str(SEED),
                 "--solo", str(SOLO), "--pairs", str(PAIRS), "--workers", "2", "--no-progress"]) == 0  # fmt: skip
    first, second = _files(one), _files(two)
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []


def test_refuses_to_overwrite_and_overwrites_on_request(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    args = ["dataset", "procedural", "--out", str(out), "--solo", "3", "--pairs", "0",
            "--workers", "1", "--no-progress"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "pass --overwrite" in err and err.count("\n") == 1
    assert (out / "keep.txt").read_text() == "user data"
    assert main([*args, "--overwrite"]) == 0
    assert not (out / "keep.txt").exists() and (out / "HumanML3D" / "Mean.npy").is_file()
    assert not (out / "InterHuman").exists()
    assert "3 solo clips" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad",
    [["--seed", "-1"], ["--solo", "-2"], ["--workers", "0"], ["--solo", "0", "--pairs", "0"]],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys, bad: list[str]) -> None:
    code = main(["dataset", "procedural", "--out", str(tmp_path / "x"), "--no-progress", *bad])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("intersyn dataset: error:")
    assert not (tmp_path / "x").exists()


def test_failed_run_leaves_no_partial_dataset(tmp_path: Path, monkeypatch) -> None:
    import intersyn.data.build_procedural as builder

    out = tmp_path / "ds"
    build_procedural_dataset(out, seed=1, solo=3, pairs=0, workers=1, progress=False)
    before = _files(out)
    real_make_solo = builder.make_solo

    def failing(base: str, seed: int, index: int) -> dict:
        if index == 2:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-run
        return real_make_solo(base, seed, index)

    monkeypatch.setattr(builder, "make_solo", failing)
    with pytest.raises(KeyboardInterrupt):
        build_procedural_dataset(
            out, seed=2, solo=4, pairs=0, workers=1, overwrite=True, progress=False
        )
    assert _files(out) == before  # the old dataset is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no staging folder left
    with pytest.raises(KeyboardInterrupt):
        build_procedural_dataset(
            tmp_path / "new", seed=2, solo=4, pairs=0, workers=1, progress=False
        )
    assert not (tmp_path / "new").exists()


def test_dataset_without_command_exits_2_with_one_line(capsys) -> None:
    assert main(["dataset"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected one of: procedural" in err


def test_items_by_label_groups_procedural_clips(tiny_data_root):
    from intersyn.data.build_procedural import interaction_of, items_by_label, solo_action_of
    from intersyn.data.procedural import INTERACTIONS, SOLO_ACTIONS

    assert solo_action_of("000000") == SOLO_ACTIONS[0]
    assert solo_action_of("M000001") == SOLO_ACTIONS[1]
    assert interaction_of("1") == INTERACTIONS[0]
    solo, pairs = items_by_label(tiny_data_root, "train", per_class=1)
    assert set(solo) == set(SOLO_ACTIONS) and set(pairs) == set(INTERACTIONS)
    assert all(len(items) <= 1 for items in [*solo.values(), *pairs.values()])
    for name, items in pairs.items():
        assert all(interaction_of(item.id) == name for item in items)
    assert sum(len(items) for items in solo.values()) > 0
