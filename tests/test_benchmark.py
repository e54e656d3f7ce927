"""`intersyn evaluate`: row specs, evaluator inputs, boundary masking, tables end to end, resume."""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from intersyn import InterSynError
from intersyn.cli.main import main
from intersyn.data.interleave import InterleaveConfig
from intersyn.evaluation.benchmark import (
    BenchmarkConfig,
    Evaluators,
    RowSpec,
    build_interleaved_test_set,
    generation_frames,
    load_evaluators,
    run_benchmark,
    scored_segments,
    two_person_inputs,
)
from intersyn.evaluation.train_evaluator import (
    TwoPersonEvaluator,
    load_pair_motions,
    train_two_person_evaluator,
)
from intersyn.pipeline import InterSynPipeline, Layout
from tests.test_train_evaluator import SMALL

SMALL_2P = dataclasses.replace(SMALL, epochs=2)  # the evaluator tests' sizes, 2 epochs
QUICK = dict(replications=2, steps=2, batch_size=8, quick=True)


@pytest.fixture(scope="module")
def bench_root(tmp_path_factory, tiny_data_root):
    """The tiny data root with every clip also in the test splits (the benchmark needs several)."""
    from intersyn.data.humanml3d import write_humanml3d_splits
    from intersyn.data.interhuman import write_interhuman_splits

    root = tmp_path_factory.mktemp("bench") / "data"
    shutil.copytree(tiny_data_root, root)
    write_humanml3d_splits(
        root / "HumanML3D", ["000000"], ["000001"], [f"{k:06d}" for k in range(6)]
    )
    write_interhuman_splits(root / "InterHuman", ["1"], ["2"], ["1", "2", "3", "4"])
    return root


@pytest.fixture(scope="module")
def evaluator_2p(tmp_path_factory, tiny_data_root):
    out = tmp_path_factory.mktemp("ev2p")
    train_two_person_evaluator(tiny_data_root, out, SMALL_2P, progress=False)
    return out / "evaluator.pt"


def test_reports_carry_the_evaluators_own_held_out_r_precision(tmp_path, evaluator_2p):
    identity = load_evaluators(evaluator_2p, None).identity()["two_person"]
    metrics = json.loads((evaluator_2p.parent / "metrics.json").read_text())
    batch = metrics["real_test"]["batch"]
    assert identity["held_out_r_precision"][f"batch {batch}"] == pytest.approx(
        metrics["real_test"]["r_precision"]
    )
    # metrics.json written for another evaluator (retrained in place later) is not reported.
    copy = tmp_path / "evaluator.pt"
    copy.write_bytes(evaluator_2p.read_bytes())
    (tmp_path / "metrics.json").write_text(json.dumps({**metrics, "evaluator": "other@0"}))
    assert "held_out_r_precision" not in load_evaluators(copy, None).identity()["two_person"]


def test_row_spec_parsing(tmp_path, tiny_checkpoint):
    row = RowSpec.parse(f"InterSyn={tiny_checkpoint}")
    assert row.checkpoint == tiny_checkpoint and row.coordinator
    assert not RowSpec.parse(f"w/o coordinator={tiny_checkpoint},coordinator=off").coordinator
    timed = RowSpec.parse(f"s-i-s, t_s=0, t_i=60={tiny_checkpoint},coordinator=off")
    assert timed.name == "s-i-s, t_s=0, t_i=60" and timed.checkpoint == tiny_checkpoint
    assert RowSpec.parse("w/o a=b=missing:later").name == "w/o a=b"
    baseline = RowSpec.parse(f"MDM-style={tiny_checkpoint},per_person=on")
    assert baseline.per_person and baseline.coordinator and not row.per_person
    assert row.interaction_text_alone
    whole = RowSpec.parse(f"whole caption={tiny_checkpoint},interaction_text=caption")
    assert not whole.interaction_text_alone and whole.coordinator
    missing = RowSpec.parse("w/o L_smooth=missing:needs a stage-1 retrain")
    assert missing.checkpoint is None and missing.note == "needs a stage-1 retrain"
    with pytest.raises(InterSynError, match="not found"):
        RowSpec.parse(f"x={tmp_path / 'none.pt'}")
    with pytest.raises(InterSynError, match="unknown option"):
        RowSpec.parse(f"x={tiny_checkpoint},fast")
    with pytest.raises(InterSynError, match="expected NAME="):
        RowSpec.parse("no-equals-sign")


def test_two_person_inputs_match_the_evaluator_training_inputs(tiny_data_root):
    from intersyn.data.interhuman import load_interhuman

    item = load_interhuman(tiny_data_root, "train")[0]
    expected = load_pair_motions(tiny_data_root, "train", stride=2).motions[0]
    got = two_person_inputs(np.asarray(item.load_joints()), item.fps, stride=2)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # Through 20 fps and back (what generated motion goes through): same shape, close values.
    from intersyn.data.interleave import resample

    slow = resample(np.asarray(item.load_joints(), dtype=np.float64), item.fps, 20)
    again = two_person_inputs(slow, 20, stride=2)
    n = min(len(again), len(expected))
    assert abs(len(again) - len(expected)) <= 2
    assert np.abs(again[:n, :66] - expected[:n, :66]).mean() < 0.02  # positions, metres


def test_generation_frames_keep_the_clips_duration():
    # A 30 fps clip of 151 frames lasts 5 s: 100 frames at the model's 20 fps, not 151.
    assert generation_frames(151, 30, window=196) == 100
    assert generation_frames(121, 20, window=196) == 120
    assert generation_frames(601, 30, window=196) == 196  # capped at the window
    assert generation_frames(10, 30, window=196) == 24  # never shorter than 24 frames


def test_quality_bar_generates_pairs_as_long_as_the_real_clips_last():
    from bench.quality_bar import sample_lengths

    solo = {0: [np.zeros((119, 263))]}  # feature rows: 120 joint frames at 20 fps
    pairs = {0: [np.zeros((2, 151, 22, 3)), np.zeros((2, 91, 22, 3))]}  # 30 fps
    solo_frames, pair_frames = sample_lengths(solo, pairs, 3, window=196, fixed=False)
    assert solo_frames == {0: [120, 120, 120]}
    assert pair_frames == {0: [100, 60, 100]}


def test_scored_segments_mask_boundaries():
    layout = Layout.from_segments(
        100, [("solo", 0, 40, "a"), ("interaction", 40, 80, "b"), ("solo", 80, 100, "c")]
    )
    joints = np.zeros((2, 101, 22, 3))
    got = scored_segments(joints, layout, margin=5)
    # First segment keeps its start, the last keeps its end (+ closing joint frame); the
    # 20-frame last solo segment shrinks to 16 frames, still scored.
    assert got == [("solo", 0, 36, "a"), ("interaction", 45, 76, "b"), ("solo", 85, 101, "c")]
    assert [s[0] for s in scored_segments(joints, layout, margin=8)] == ["solo", "interaction"]


def test_sample_layouts_batches_mixed_lengths(tiny_checkpoint):
    pipe = InterSynPipeline.from_pretrained(tiny_checkpoint)
    layouts = [
        Layout.from_segments(40, [("interaction", 0, 40, "two people walk")]),
        Layout.from_segments(64, [("solo", 0, 30, "a person waves"), ("interaction", 30, 64, "x")]),
    ]
    out = pipe.sample_layouts(layouts, seed=3, steps=2, batch_size=2)
    assert [o.shape for o in out] == [(2, 40, 22, 3), (2, 64, 22, 3)]
    assert all(np.isfinite(o).all() for o in out)
    # Same seed → same motion; a different batch size changes nothing for the first batch.
    again = pipe.sample_layouts(layouts, seed=3, steps=2, batch_size=2)
    np.testing.assert_array_equal(out[1], again[1])
    # The partner is held at its nearest present pose before the interaction starts.
    np.testing.assert_allclose(out[1][1, :30], np.broadcast_to(out[1][1, 30], (30, 22, 3)))
    with pytest.raises(InterSynError, match="longer than"):
        pipe.sample_layouts([Layout.from_segments(500, [("solo", 0, 500, "a")])])


def test_table1_end_to_end_and_resume(
    tmp_path, bench_root, tiny_checkpoint, evaluator_2p, monkeypatch
):
    evaluators = Evaluators(TwoPersonEvaluator.load(evaluator_2p))
    rows = [
        RowSpec("InterSyn", tiny_checkpoint),
        RowSpec("w/o coordinator", tiny_checkpoint, coordinator=False),
        RowSpec("separate learning", None, note="train with --set data.interleaved_fraction=0"),
    ]
    config = BenchmarkConfig(table="table1", **QUICK)
    path = run_benchmark(
        config, bench_root, tmp_path, rows, evaluators, command="t", progress=False
    )
    results = json.loads(path.read_text())
    names = [r["name"] for r in results["rows"]]
    assert names == ["Real", "InterSyn", "w/o coordinator", "separate learning"]
    real, model, no_coord, missing = results["rows"]
    assert missing["status"] == "missing" and "interleaved_fraction" in missing["note"]
    assert real["status"] == model["status"] == "done" and model["replications"] == 2
    for key in ("r_precision_top1", "r_precision_top3", "fid", "mm_dist", "diversity"):
        mean, ci = model["metrics"][key]
        assert np.isfinite(mean) and ci >= 0
    # Real against itself: FID 0 (same embeddings); top-k rates grow with k.
    assert real["metrics"]["fid"][0] == pytest.approx(0.0, abs=1e-6)
    tops = [real["metrics"][f"r_precision_top{k}"][0] for k in (1, 2, 3)]
    assert 0 <= tops[0] <= tops[1] <= tops[2] <= 1 and tops[2] > 0
    assert model["checkpoint_sha256"] and model["config"]["name"] == "tiny"
    assert "coordinator switched off" in no_coord["note"]
    assert set(model["quality"]) >= {"foot_skating", "jerk", "contact_distance", "interpenetration"}
    assert results["evaluators"]["two_person"]["name"].startswith("wordllama")

    # Resume: everything is in the state file, so nothing is generated again.
    def fail(*args, **kwargs):
        raise AssertionError("regenerated a finished row")

    monkeypatch.setattr(InterSynPipeline, "sample_layouts", fail)
    again = json.loads(
        run_benchmark(
            config, bench_root, tmp_path, rows, evaluators, command="t", progress=False
        ).read_text()
    )
    assert [r["metrics"] for r in again["rows"]] == [r["metrics"] for r in results["rows"]]
    # A measured row whose checkpoint is not in this checkout (runs/ is not versioned) keeps
    # its measurement and says which checkpoint it came from; an unmeasured one stays missing.
    gone = [RowSpec("InterSyn", None, note="train with: x"), rows[1], rows[2]]
    kept = json.loads(
        run_benchmark(
            config, bench_root, tmp_path, gone, evaluators, command="t", progress=False
        ).read_text()
    )["rows"]
    assert kept[1]["status"] == "done" and kept[1]["metrics"] == model["metrics"]
    assert kept[1]["checkpoint_sha256"] == model["checkpoint_sha256"]
    assert kept[1]["config"] == model["config"] and kept[1]["checkpoint"] == model["checkpoint"]
    assert model["checkpoint_sha256"][:12] in kept[1]["note"] and "train with: x" in kept[1]["note"]
    assert kept[3]["status"] == "missing"
    # With the checkpoint back, the row is still the same measurement (same hash): not redone.
    assert run_benchmark(config, bench_root, tmp_path, rows, evaluators, progress=False)
    with pytest.raises(InterSynError, match="other settings"):
        run_benchmark(
            BenchmarkConfig(table="table1", replications=3, steps=2, quick=True),
            bench_root,
            tmp_path,
            rows,
            evaluators,
            progress=False,
        )
    # Another evaluator (here: the same one under another name) must not extend these rows.
    renamed = TwoPersonEvaluator.load(evaluator_2p)
    renamed.name = renamed.name + "-retrained"
    with pytest.raises(InterSynError, match="measured with evaluators"):
        run_benchmark(config, bench_root, tmp_path, rows, Evaluators(renamed), progress=False)


def test_evaluate_and_report_cli(tmp_path, bench_root, tiny_checkpoint, evaluator_2p, capsys):
    out = tmp_path / "eval"
    code = main(
        [
            "evaluate", "--table", "1", "--data-root", str(bench_root),
            "--evaluator-2p", str(evaluator_2p), "--row", f"InterSyn={tiny_checkpoint}",
            "--out", str(out), "--quick", "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "table1.md").read_text()
    assert "InterSyn" in markdown and "±" in markdown
    assert (tmp_path / "report" / "table1.png").stat().st_size > 1000
    capsys.readouterr()
    bad = main(
        [
            "evaluate", "--table", "2", "--data-root", str(bench_root),
            "--evaluator-2p", str(evaluator_2p), "--out", str(tmp_path / "e2"), "--quick",
        ]
    )  # fmt: skip
    assert bad == 2 and "single-person evaluator" in capsys.readouterr().err
    missing = main(
        [
            "evaluate", "--table", "1", "--data-root", str(bench_root),
            "--evaluator-2p", str(tmp_path / "none.pt"), "--out", str(out), "--quick",
        ]
    )  # fmt: skip
    assert missing == 2 and "file not found" in capsys.readouterr().err


@pytest.fixture(scope="module")
def evaluator_1p(tmp_path_factory, bench_root):
    from intersyn.evaluation.train_evaluator_1p import (
        SoloEvaluatorTrainConfig,
        train_single_person_evaluator,
    )

    small = SoloEvaluatorTrainConfig(
        dim_text_hidden=16,
        dim_motion_hidden=16,
        dim_movement_enc_hidden=16,
        dim_movement_latent=16,
        dim_coemb_hidden=8,
        epochs=2,
        batch_size=2,
    )
    out = tmp_path_factory.mktemp("ev1p")
    train_single_person_evaluator(bench_root, out, small, progress=False)
    return out / "evaluator.pt"


def test_table2_scores_segments_with_both_evaluators(
    tmp_path, bench_root, tiny_checkpoint, evaluator_1p, evaluator_2p
):
    from intersyn.evaluation.benchmark import load_evaluators

    evaluators = load_evaluators(evaluator_2p, evaluator_1p)
    config = BenchmarkConfig(table="table2", samples=6, boundary_margin=2, **QUICK)
    rows = [RowSpec("InterSyn", tiny_checkpoint)]
    results = json.loads(
        run_benchmark(config, bench_root, tmp_path, rows, evaluators, progress=False).read_text()
    )
    real, model = results["rows"]
    for row in (real, model):
        for key in ("solo/r_precision_top3", "interaction/r_precision_top3", "solo/fid"):
            assert np.isfinite(row["metrics"][key][0])
        solo, inter = (row["metrics"][f"{k}/r_precision_top1"][0] for k in ("solo", "interaction"))
        combined = row["metrics"]["combined/r_precision_top1"][0]
        assert min(solo, inter) - 1e-9 <= combined <= max(solo, inter) + 1e-9
        assert {"solo/foot_skating", "interaction/contact_distance"} <= set(row["quality"])
    assert real["metrics"]["solo/fid"][0] == pytest.approx(0.0, abs=1e-6)
    assert set(results["evaluators"]) == {"two_person", "single_person"}
    assert "GloVe" in results["evaluators"]["single_person"]["text_encoder"]


def test_table2_multimodality_per_segment_kind(
    tmp_path, bench_root, tiny_checkpoint, evaluator_1p, evaluator_2p
):
    from intersyn.evaluation.benchmark import load_evaluators

    evaluators = load_evaluators(evaluator_2p, evaluator_1p)
    rows = [RowSpec("InterSyn", tiny_checkpoint)]
    plain = BenchmarkConfig(table="table2", samples=6, boundary_margin=2, **QUICK)
    with_mm = dataclasses.replace(plain, mm_samples=6, mm_repeats=4)  # all 6 sequences
    results = [
        json.loads(
            run_benchmark(
                cfg, bench_root, tmp_path / name, rows, evaluators, progress=False
            ).read_text()
        )
        for name, cfg in (("plain", plain), ("mm", with_mm))
    ]
    model_plain, model_mm = (r["rows"][1]["metrics"] for r in results)
    for kind in ("solo", "interaction", "combined"):
        assert np.isfinite(model_mm[f"{kind}/multimodality"][0])
        # ≥ 0, not > 0: as in the reference code the two index sets are drawn independently,
        # so a pair can compare a generation with itself.
        assert model_mm[f"{kind}/multimodality"][0] >= 0
        assert f"{kind}/multimodality" not in model_plain
    assert model_mm["combined/multimodality"][0] > 0  # different noise, different motions
    # MultiModality is measured after the other metrics: those stay exactly as without it.
    for key, value in model_plain.items():
        assert model_mm[key] == value
    assert "solo/multimodality" not in results[1]["rows"][0]["metrics"]  # Real: not measured


def test_interleaved_test_set_keeps_random_crops_for_every_model(tiny_data_root):
    """A model trained on start-of-clip windows (`crop="start"`) is scored on the same U(·) test
    sequences as every other row."""
    config = BenchmarkConfig(table="table2", samples=4, **QUICK)
    model_windows = InterleaveConfig(frames=64, min_segment_frames=16, max_blend_frames=8)
    sets = [
        build_interleaved_test_set(
            tiny_data_root, config, dataclasses.replace(model_windows, crop=crop)
        )
        for crop in ("random", "start")
    ]
    cropped = 0
    for a, b in zip(*(s.samples for s in sets), strict=True):
        assert [s.source_start for s in a.segments] == [s.source_start for s in b.segments]
        cropped += sum(s.source_start > 0 for s in a.segments)
        np.testing.assert_array_equal(a.joints, b.joints)
    assert cropped  # (the tiny clips are longer than some segments: the crop matters)


def test_quality_bar_draws_each_sample_from_its_own_clip_with_its_roles(monkeypatch):
    import bench.quality_bar as quality_bar

    from intersyn.data.schema import PairItem
    from intersyn.pipeline import plan_layout

    behind = PairItem(
        "9",
        np.zeros((2, 30, 22, 3)),
        None,
        ("two people walk one behind the other", "a pair walks"),
        (("someone leads the way", "x"), ("a woman trails behind the other person", "y")),
    )
    after = PairItem(
        "10",
        np.zeros((2, 90, 22, 3)),
        None,
        ("one person follows the other",),
        (("a man walks ahead", "x"), ("a man follows him", "y")),
    )
    monkeypatch.setattr(quality_bar, "items_by_label", lambda *a: ({}, {"follow": [behind, after]}))
    roles = ("someone leads the way", "a woman trails behind the other person")
    # Sample i from clip i (cycling as the lengths do), with that clip's per-person captions.
    requests = quality_bar.clip_requests(Path("unused"), 3, with_roles=True)
    assert requests == {
        "follow": [
            (behind.captions[0], roles),
            (after.captions[0], ("a man walks ahead", "a man follows him")),
            (behind.captions[0], roles),
        ]
    }
    assert quality_bar.clip_requests(Path("unused"), 2, with_roles=False) == {
        "follow": [(behind.captions[0], ()), (after.captions[0], ())]
    }
    # Shown as the CLI joins them, and drawn through plan_layout as the CLI draws them.
    ((_, _, _, cli),) = plan_layout(None, behind.captions[0], None, None, 100, roles).segments
    assert cli.endswith("A woman trails behind the other person")
    assert quality_bar.shown(requests["follow"][0]) == cli
    assert quality_bar.shown(("a pair walks", ())) == "a pair walks"
    # The bar's own prompts: every sample the prompt itself, without per-person texts.
    prompts = {"follow": "one individual trails closely behind the other"}
    assert quality_bar.drawn_requests(prompts, Path("unused"), 2, False, False) == {
        "follow": [(prompts["follow"], ())] * 2
    }
    assert quality_bar.drawn_requests(prompts, Path("unused"), 2, True, True) == (
        quality_bar.clip_requests(Path("unused"), 2, with_roles=True)
    )
    monkeypatch.setattr(
        quality_bar,
        "items_by_label",
        lambda *a: ({}, {"follow": [dataclasses.replace(behind, person_captions=None)]}),
    )
    with pytest.raises(SystemExit, match="no per-person captions"):
        quality_bar.clip_requests(Path("unused"), 2, with_roles=True)
    assert quality_bar.clip_requests(Path("unused"), 1, with_roles=False)


def test_quality_bar_top3_hits_are_per_motion_and_rates_per_class():
    from bench.quality_bar import top3_hits, top3_rates

    text = np.eye(5)  # five prompts at unit distance from each other
    motions = np.stack([text[0], text[1] * 0.9 + text[2] * 0.1, -text[3], text[1], text[2]])
    labels = np.array([0, 4, 3, 1, 2])
    hits = top3_hits(motions, labels, text)
    # Motion 0 is its prompt; motion 1 lies nearer prompts 1 and 2 than its own 4, which ties
    # with 0 and 3 behind them (ties count for the motion); motion 2 is farther from its prompt
    # 3 than from all four others.
    assert hits.tolist() == [True, True, False, True, True]
    np.testing.assert_array_equal(top3_rates(motions, labels, text), [1.0, 1.0, 1.0, 0.0, 1.0])


def test_quality_bar_dumps_every_candidate_s_score_and_hit(tmp_path):
    from bench.quality_bar import CandidateDump, dump_candidates

    scores = np.array([[0.2, 0.5], [0.4, 0.1]])
    hits = np.array([[True, False], [False, True]])
    motions = np.arange(12.0).reshape(2, 2, 3)  # (samples, K, C)
    texts = {"read": np.eye(3)[:2], "request": np.ones((2, 3))}
    path = tmp_path / "dump"  # np.savez alone would write dump.npz
    group = CandidateDump(scores, hits, [1, 0], ("walk", "jog"), motions, texts)
    dump_candidates(path, 1, {"solo": group})
    with np.load(path) as saved:
        np.testing.assert_allclose(saved["solo_scores"], scores)
        assert saved["solo_hits"].tolist() == hits.tolist()
        assert saved["solo_chosen"].tolist() == [1, 0]
        assert saved["solo_action"].tolist() == ["walk", "jog"]
        np.testing.assert_allclose(saved["solo_motion_embeddings"], motions)
        np.testing.assert_allclose(saved["solo_text_embeddings_read"], texts["read"])
        np.testing.assert_allclose(saved["solo_text_embeddings_request"], texts["request"])
        assert saved["solo_motion_embeddings"].dtype == np.float16
        assert saved["solo_text_embeddings_read"].dtype == np.float16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump"]
