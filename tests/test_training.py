"""Two-stage training: end to end, kill and resume, DDP on two CPU processes, bad input."""

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from intersyn import InterSynError
from intersyn.cli.main import main
from intersyn.training.checkpoint import load_checkpoint
from intersyn.training.config import TrainConfig, apply_overrides, train_preset
from intersyn.training.loop import load_trained_model, train


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_tiny_training_end_to_end(tmp_path, tiny_data_root):
    result = train(train_preset("tiny"), tiny_data_root, tmp_path / "run", progress=False)
    assert result.steps == {"ins": 8, "rec": 4}
    ckpts = tmp_path / "run" / "checkpoints"
    for name in ("latest.pt", "best.pt", "ins.pt", "final.pt"):
        assert (ckpts / name).is_file()
    rows = metrics(tmp_path / "run")
    assert {r["stage"] for r in rows} == {"ins", "rec"}
    ins_rows = [r for r in rows if r["stage"] == "ins"]
    for key in (
        "rec",
        "smooth",
        "position",
        "velocity",
        "foot_contact",
        "total",
        "lr",
        "text_truncated_share",
    ):
        assert key in ins_rows[-1] and torch.isfinite(torch.tensor(ins_rows[-1][key]))
    assert {"rela", "dm"} <= set(rows[-1])
    assert list((tmp_path / "run" / "tb").iterdir()), "no TensorBoard events"
    model = load_trained_model(ckpts / "final.pt")
    assert model.steps == {"ins": 8, "rec": 4} and len(model.sha256) == 64
    assert model.config.name == "tiny"
    config = TrainConfig.from_dict(json.loads((tmp_path / "run" / "config.json").read_text()))
    assert config == train_preset("tiny")
    ema = load_checkpoint(ckpts / "latest.pt")["ema_denoiser"]
    assert ema["warmup"] and ema["updates"] == 8


def test_ema_warmup_can_be_switched_off(tmp_path, tiny_data_root):
    # Reduced-budget ablation rows trained before the warm-up existed are matched with this.
    cfg = apply_overrides(train_preset("tiny"), ["ins.ema_warmup=false", "rec.steps=0"])
    train(cfg, tiny_data_root, tmp_path / "run", progress=False)
    ema = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")["ema_denoiser"]
    assert not ema["warmup"]


def test_teacher_root_decoding_trains_and_changes_the_geometric_losses(tmp_path, tiny_data_root):
    """`loss.geometric_root=teacher` trains; its position loss differs from the integrated
    one (the same seed and batches otherwise), "both" adds the integrated position term,
    "heading" differs from both decodings it mixes, and the choice is stored with the model."""
    positions, rows_of = {}, {}
    for mode in ("integrated", "teacher", "both", "heading", "teacher_solo"):
        cfg = apply_overrides(
            train_preset("tiny"),
            [
                f"loss.geometric_root={mode}",
                "loss.root_weight=8",
                "rec.steps=0",
                "ins.steps=2",
                "log_every=1",
            ],
        )
        run = tmp_path / mode
        train(cfg, tiny_data_root, run, progress=False)
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        positions[mode] = [r["position"] for r in rows if "position" in r]
        rows_of[mode] = rows
        saved = load_checkpoint(run / "checkpoints" / "final.pt")["config"]["loss"]
        assert (saved["geometric_root"], saved["root_weight"]) == (mode, 8)
    assert positions["teacher"] and positions["integrated"]
    assert positions["teacher"] != positions["integrated"]
    assert positions["heading"] not in (positions["teacher"], positions["integrated"])
    # Step 1 starts from the same weights: "both" logs the teacher run's position loss.
    assert positions["both"][0] == pytest.approx(positions["teacher"][0], rel=1e-6)
    both = [r for r in rows_of["both"] if "position_integrated" in r]
    assert both and not any("position_integrated" in r for r in rows_of["teacher"])
    # At the first logged step the models are identical, so the integrated term equals the
    # integrated run's position loss.
    assert both[0]["position_integrated"] == pytest.approx(positions["integrated"][0], rel=1e-5)


def test_teacher_solo_decodes_interaction_only_samples_along_their_own_roots():
    """`teacher_solo` is "teacher" for samples with a solo segment and "integrated" for
    interaction-only samples (t_s = −1), sample by sample."""
    from intersyn.data.loaders import Batch
    from intersyn.kinematics.pair import decode_pair
    from intersyn.training.stages import NoisedBatch, decode_prediction

    torch.manual_seed(0)
    B, T = 3, 12
    motion = torch.randn(B, 2, T, 267) * 0.1
    presence = torch.ones(B, 2, T, dtype=torch.bool)
    presence[0, 1] = False  # a solo clip
    valid = torch.ones(B, T, dtype=torch.bool)
    solo_start = torch.tensor([0, 0, -1])  # solo clip, interleaved s-i, interaction only
    batch = Batch(
        motion, presence, valid, torch.tensor([-1, 6, 0]), solo_start,
        torch.full((B, 1), -1), ("",) * B, ("solo", "interleaved", "interleaved"),
    )  # fmt: skip
    n = NoisedBatch(batch, presence, motion, motion, torch.zeros(B), None)
    features = motion + torch.randn_like(motion) * 0.05  # a prediction off the target's roots
    mixed = decode_prediction(features, n, "run", "teacher_solo")
    taught = decode_prediction(features, n, "run", "teacher")
    integrated = decode_prediction(features, n, "run", "integrated")
    torch.testing.assert_close(taught, decode_pair(features, presence, "run", motion))
    assert not torch.allclose(taught, integrated)
    torch.testing.assert_close(mixed[:2], taught[:2])
    torch.testing.assert_close(mixed[2], integrated[2])
    # Batches of one kind decode once, the same way.
    only = NoisedBatch(
        dataclasses.replace(batch, solo_start=torch.full((B,), -1)), presence, motion, motion,
        torch.zeros(B), None,
    )  # fmt: skip
    torch.testing.assert_close(decode_prediction(features, only, "run", "teacher_solo"), integrated)


def test_a_model_trained_on_word_units_generates_with_them(tmp_path, tiny_data_root):
    from intersyn import InterSynPipeline

    cfg = apply_overrides(train_preset("tiny"), ["text_encoder=wordllama-words", "rec.steps=0"])
    train(cfg, tiny_data_root, tmp_path / "run", progress=False)
    pipe = InterSynPipeline.from_pretrained(tmp_path / "run" / "checkpoints" / "final.pt")
    assert pipe.text.encoder.name.endswith(":words")  # the encoder the checkpoint names
    result = pipe(solo="a person walks", interaction="two people hug", frames=40, steps=2)
    assert result.joints.shape == (1, 2, 40, 22, 3)
    assert torch.isfinite(torch.from_numpy(result.joints)).all()


def test_losses_fall(tmp_path, tiny_data_root):
    train(
        train_preset("tiny"),
        tiny_data_root,
        tmp_path / "run",
        stage="ins",
        max_steps=60,
        progress=False,
    )
    rows = [r for r in metrics(tmp_path / "run") if r["stage"] == "ins"]
    first = sum(r["rec"] for r in rows[:3]) / 3
    last = sum(r["rec"] for r in rows[-3:]) / 3
    assert last < 0.8 * first, f"L_rec {first:.3f} → {last:.3f}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train_cmd(data_root, out, *extra):
    return [
        sys.executable,
        "-m",
        "intersyn",
        "train",
        "--config",
        "tiny",
        "--data-root",
        str(data_root),
        "--out",
        str(out),
        "--stage",
        "ins",
        "--no-progress",
        *extra,
    ]


def test_kill_and_resume_continues_exactly(tmp_path, tiny_data_root):
    """SIGKILL mid-run, resume from latest.pt: same final step and the same weights as a run
    that was never interrupted (all runs in subprocesses with identical thread settings)."""
    steps = "160"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        _train_cmd(tiny_data_root, tmp_path / "killed", "--max-steps", steps),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    latest = tmp_path / "killed" / "checkpoints" / "latest.pt"
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if latest.exists() and load_checkpoint(latest)["steps"]["ins"] >= 8:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = load_checkpoint(latest)["steps"]["ins"]
    assert 0 < killed_at < int(steps), "the run was not killed mid-way"
    for out, extra in (("killed", ["--resume", str(latest)]), ("straight", [])):
        run = subprocess.run(
            _train_cmd(tiny_data_root, tmp_path / out, "--max-steps", steps, *extra),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-2000:]
    resumed = load_checkpoint(latest)
    assert resumed["steps"]["ins"] == int(steps)
    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "latest.pt")
    for key, value in straight["denoiser"].items():
        assert torch.allclose(resumed["denoiser"][key], value, atol=1e-6), key


def test_ddp_two_processes_match_one(tmp_path, tiny_data_root):
    """gloo, 2 CPU processes × batch 2 vs 1 process × batch 4: same losses (tolerance 1e-4)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(_free_port()),
    ]
    ddp = subprocess.run(
        [*launcher, *_train_cmd(tiny_data_root, tmp_path / "ddp", "--max-steps", "6")[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    single = subprocess.run(
        _train_cmd(tiny_data_root, tmp_path / "single", "--max-steps", "6"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert single.returncode == 0, single.stderr[-2000:]
    a, b = metrics(tmp_path / "ddp"), metrics(tmp_path / "single")
    assert [r["step"] for r in a] == [r["step"] for r in b] == [2, 4, 6]
    for left, right in zip(a, b):
        for key in ("rec", "position", "total"):
            assert abs(left[key] - right[key]) <= 1e-4 * max(1.0, abs(right[key])), (
                key,
                left,
                right,
            )


def test_bad_training_input(tmp_path, tiny_data_root, capsys):
    assert (
        main(
            [
                "train",
                "--config",
                "huge",
                "--data-root",
                str(tiny_data_root),
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    assert "unknown; expected one of tiny, cpu, paper" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main(["train", "--config", "tiny", "--data-root", str(empty), "--out", str(tmp_path / "r")])
        == 2
    )
    assert "no train samples found" in capsys.readouterr().err
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"ISYNCKP1" + b"0" * 64)
    assert (
        main(
            [
                "train",
                "--config",
                "tiny",
                "--data-root",
                str(tiny_data_root),
                "--out",
                str(tmp_path / "r"),
                "--resume",
                str(broken),
            ]
        )
        == 2
    )
    assert "checksum mismatch" in capsys.readouterr().err
    with pytest.raises(InterSynError, match="unknown keys"):
        TrainConfig.from_dict({"name": "x", "modle": {}})
    with pytest.raises(InterSynError, match="model config: unknown keys"):
        TrainConfig.from_dict({"model": {"widht": 3}})


def test_resume_with_another_config_is_refused(tmp_path, tiny_data_root, capsys):
    train(
        train_preset("tiny"),
        tiny_data_root,
        tmp_path / "run",
        stage="ins",
        max_steps=4,
        progress=False,
    )
    latest = tmp_path / "run" / "checkpoints" / "latest.pt"
    code = main(
        [
            "train",
            "--config",
            "cpu",
            "--data-root",
            str(tiny_data_root),
            "--out",
            str(tmp_path / "r2"),
            "--resume",
            str(latest),
        ]
    )
    assert code == 2 and "resume with the same --config" in capsys.readouterr().err


def test_paper_config_forward_backward():
    from intersyn.models.denoiser import build_denoiser

    cfg = train_preset("paper")
    model = build_denoiser(cfg.model)
    params = sum(p.numel() for p in model.parameters())
    assert 14e6 < params < 30e6, params  # near MDM's ~18M (paper §5.1 setup)
    from intersyn.models.layers import Condition

    B, T = 2, 196
    x = torch.randn(B, 2, T, cfg.model.feature_dim)
    cond = Condition(
        torch.randn(B, 5, cfg.model.text_dim),
        torch.ones(B, 5, dtype=torch.bool),
        torch.randn(B, cfg.model.text_dim),
        torch.tensor([60, 0]),
        torch.tensor([0, 50]),
        torch.zeros(B, dtype=torch.bool),
    )
    out = model(
        x,
        torch.tensor([10, 500]),
        cond,
        torch.ones(B, 2, T, dtype=torch.bool),
        torch.ones(B, T, dtype=torch.bool),
    )
    out.square().mean().backward()
    assert out.shape == x.shape


def test_layout_mix_config_round_trip():
    cfg = train_preset("cpu")
    assert ("i", "ti0-random-ts") in cfg.data.layouts
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(InterSynError, match="organisation 's-s'"):
        TrainConfig.from_dict({"data": {"layouts": [["s-s", "ts0-random-ti"]]}})


def test_config_overrides():
    from intersyn.training.config import apply_overrides

    cfg = apply_overrides(
        train_preset("cpu"),
        ["loss.lambda_rela=0", "data.interleave.organisation=s-i-s-i", "ins.steps=10"],
    )
    assert cfg.loss.lambda_rela == 0 and cfg.data.interleave.organisation == "s-i-s-i"
    assert cfg.ins.steps == 10 and cfg.loss.lambda_dm == train_preset("cpu").loss.lambda_dm
    with pytest.raises(InterSynError, match="'loss.lambda_nope' is not a config entry"):
        apply_overrides(cfg, ["loss.lambda_nope=1"])
    with pytest.raises(InterSynError, match="expected KEY=VALUE"):
        apply_overrides(cfg, ["loss.lambda_rela"])
    with pytest.raises(InterSynError, match="organisation"):
        apply_overrides(cfg, ["data.interleave.organisation=s-x"])
    # A value of the wrong kind is refused by name (until session 45 "ins.lr=abc" got as far
    # as a TypeError inside the config's own checks); a whole number is a float's value.
    for entry, kind in (
        ("ins.lr=abc", "a number"),
        ("ins.steps=1.5", "a whole number"),
        ("ins.steps=true", "a whole number"),
        ("ins.ema_warmup=1", "true or false"),
    ):
        with pytest.raises(InterSynError, match=f"--set '{entry}': expected {kind}, got "):
            apply_overrides(cfg, [entry])
    assert apply_overrides(cfg, ["ins.lr=1"]).ins.lr == 1.0
    with pytest.raises(InterSynError, match="expected a whole number or null, got 'x'"):
        apply_overrides(cfg, ["diffusion.rec_max_step=x"])
    huge = "ins.lr=1" + "0" * 400  # beyond a float: refused, not an OverflowError
    with pytest.raises(InterSynError, match="expected a number"):
        apply_overrides(cfg, [huge])
    # Optional entries take null back; sequences take JSON lists (README, Training).
    assert apply_overrides(cfg, ["diffusion.rec_max_step=300"]).diffusion.rec_max_step == 300
    assert apply_overrides(cfg, ["diffusion.rec_max_step=null"]).diffusion.rec_max_step is None
    # Values torch would refuse mid-run (a negative learning rate) or misuse silently (a zero
    # gradient clip trains nothing; an EMA decay of 1 keeps the initial weights).
    for entry, message in (
        ("ins.lr=-1", "lr=-1.0: expected a number > 0"),
        ("ins.grad_clip=0", "grad_clip=0.0: expected a number > 0"),
        ("rec.ema_decay=1", "ema_decay=1.0: expected a number from 0 up to 1"),
        ("ins.weight_decay=-0.1", "weight_decay=-0.1: expected a number >= 0"),
        ("ins.warmup_steps=-1", "warmup_steps=-1: expected a whole number >= 0"),
        ("data.batch_size=0", "data.batch_size=0: expected a whole number >= 1"),
        ("log_every=0", "log_every=0: expected a whole number >= 1"),  # (a modulo by zero)
        ("data.interleaved_fraction=1.5", "interleaved_fraction=1.5: expected a number from 0"),
    ):
        with pytest.raises(InterSynError, match=message):
            apply_overrides(cfg, [entry])
    with pytest.raises(
        InterSynError, match=r"seed=4294967296: expected an integer from 0 to 2\^32"
    ):
        apply_overrides(cfg, ["seed=4294967296"])
    layouts = apply_overrides(cfg, ['data.layouts=[["s-i", "ts0-random-ti"]]']).data.layouts
    assert [tuple(layout) for layout in layouts] == [("s-i", "ts0-random-ti")]
    assert isinstance(apply_overrides(cfg, ["ins.lr=1"]).ins.lr, float)
    with pytest.raises(InterSynError, match="organisation '1': expected alternating"):
        apply_overrides(cfg, ["data.interleave.organisation=1"])  # text where text is: as written


def test_stage_two_ablation_from_a_trained_model(tmp_path, tiny_checkpoint, tiny_data_root):
    """--init + --stage rec: stage 2 retrained (here without L_rela) on the same frozen INS."""
    code = main(
        [
            "train", "--config", "tiny", "--data-root", str(tiny_data_root),
            "--out", str(tmp_path / "abl"), "--stage", "rec", "--init", str(tiny_checkpoint),
            "--set", "loss.lambda_rela=0", "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    base, ablated = (
        load_trained_model(tiny_checkpoint),
        load_trained_model(tmp_path / "abl" / "checkpoints" / "final.pt"),
    )
    assert ablated.config.loss.lambda_rela == 0 and ablated.steps == base.steps
    for key, value in base.denoiser.state_dict().items():  # the INS is the one it started from
        torch.testing.assert_close(ablated.denoiser.state_dict()[key], value)
    assert torch.equal(ablated.stats.mean, base.stats.mean)
    changed = any(
        not torch.equal(value, base.coordinator.state_dict()[key])
        for key, value in ablated.coordinator.state_dict().items()
    )
    assert changed, "stage 2 did not train the coordinator"
    with pytest.raises(InterSynError, match="--stage rec or ins"):
        train(train_preset("tiny"), tiny_data_root, tmp_path / "x", init=tiny_checkpoint)
    # A model whose features place partners differently is refused, naming the fix.
    other = apply_overrides(train_preset("tiny"), ["model.placement_anchor=sequence"])
    with pytest.raises(InterSynError, match="placement_anchor='run'; pass --set"):
        train(other, tiny_data_root, tmp_path / "y", stage="rec", init=tiny_checkpoint)
    # A stage-1 fine-tune may change it on request; stage 2 on a mismatched INS may not.
    with pytest.raises(InterSynError, match="--reanchor: expected with --init and --stage ins"):
        train(
            other, tiny_data_root, tmp_path / "y", stage="rec", init=tiny_checkpoint, reanchor=True
        )


def test_stage_one_fine_tune_into_the_other_placement_anchor(
    tmp_path, tiny_checkpoint, tiny_data_root
):
    code = main(
        [
            "train", "--config", "tiny", "--data-root", str(tiny_data_root),
            "--out", str(tmp_path / "seq"), "--stage", "ins", "--init", str(tiny_checkpoint),
            "--reanchor", "--set", "model.placement_anchor=sequence", "--max-steps", "2",
            "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    base = load_trained_model(tiny_checkpoint)
    tuned = load_trained_model(tmp_path / "seq" / "checkpoints" / "final.pt")
    assert base.config.model.placement_anchor == "run"
    assert tuned.config.model.placement_anchor == "sequence"
    assert torch.equal(tuned.stats.mean, base.stats.mean)  # the init's normalisation is kept
    changed = any(
        not torch.equal(value, base.denoiser.state_dict()[key])
        for key, value in tuned.denoiser.state_dict().items()
    )
    assert changed, "the fine-tune did not train the denoiser"


def test_a_fine_tune_may_switch_on_end_positions_and_starts_from_the_model(
    tmp_path, tiny_checkpoint, tiny_data_root
):
    """`--set model.end_positions=true` on an --init model without them: the new layer starts
    at zero, the rest loads; the reverse (dropping a trained layer) is refused, naming the fix."""
    out = tmp_path / "ends"
    code = main(
        [
            "train", "--data-root", str(tiny_data_root), "--out", str(out), "--stage", "ins",
            "--init", str(tiny_checkpoint), "--set", "model.end_positions=true",
            # every sample ends as its clip does, so the new layer is trained at once
            "--set", "data.interleave.crop=end_last", "--max-steps", "2", "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    tuned = load_trained_model(out / "checkpoints" / "final.pt")
    assert tuned.config.model.end_positions and tuned.denoiser.end_in.weight.any()
    without = apply_overrides(train_preset("tiny"), ["ins.steps=1"])
    with pytest.raises(InterSynError, match="pass --set model.end_positions=true"):
        train(
            without, tiny_data_root, tmp_path / "x", stage="ins",
            init=out / "checkpoints" / "final.pt",
        )  # fmt: skip


def test_a_fine_tune_starts_from_its_model_s_own_config(
    tmp_path, tiny_checkpoint, tiny_data_root, capsys
):
    """Without --config, --init and --resume read the config the model was trained with (the
    tiny one here; the cpu preset's model shape would not load it)."""
    args = ["train", "--data-root", str(tiny_data_root), "--no-progress", "--stage", "ins"]
    out = tmp_path / "tuned"
    assert main([*args, "--out", str(out), "--init", str(tiny_checkpoint), "--max-steps", "1"]) == 0
    assert load_trained_model(out / "checkpoints" / "final.pt").config.name == "tiny"
    latest = out / "checkpoints" / "latest.pt"
    assert main([*args, "--out", str(out), "--resume", str(latest), "--max-steps", "2"]) == 0
    assert load_checkpoint(latest)["steps"]["ins"] == 2
    # A config that cannot load the model fails at once, before the run folder is made.
    refused = tmp_path / "refused"
    cpu = ["--config", "cpu", "--init", str(tiny_checkpoint)]
    assert main([*args, "--out", str(refused), *cpu]) == 2
    assert "its model shape differs from config 'cpu'" in capsys.readouterr().err
    assert not refused.exists()


class WordRows:
    """A stand-in text encoder: one feature row per word, so masks are easy to read."""

    def encode(self, captions):
        from intersyn.text.base import TextFeatures

        n = max(len(c.split()) for c in captions)
        mask = torch.tensor([[i < len(c.split()) for i in range(n)] for c in captions])
        return TextFeatures(torch.ones(len(captions), n, 4), mask, torch.ones(len(captions), 4))


def interaction_batch(motion: torch.Tensor, captions: tuple[str, ...]):
    """A training batch of interaction-only samples `motion (B, 2, T, D)`, everyone present."""
    from intersyn.data.loaders import Batch

    B, _, T, _ = motion.shape
    return Batch(
        motion,
        torch.ones(B, 2, T, dtype=torch.bool),
        torch.ones(B, T, dtype=torch.bool),
        torch.zeros(B, dtype=torch.long),
        torch.zeros(B, dtype=torch.long),
        torch.full((B, 1), -1),
        captions,
        ("pair",) * B,
    )


def test_text_token_drop_hides_caption_tokens_but_keeps_the_other_draws():
    from intersyn.training.stages import TextConditioner, make_condition, per_sample_draws

    positions = torch.arange(4)
    args = (0, "ins", 7, positions, (2, 8, 3), 1000, 0.1)
    plain, dropped = per_sample_draws(*args), per_sample_draws(*args, token_drop=0.5)
    # Runs without token dropout keep their exact draws; the token draws come on top.
    assert plain.token_keep is None
    for name in ("t", "noise", "drop"):
        assert torch.equal(getattr(plain, name), getattr(dropped, name))
    assert dropped.token_keep.shape == (4, 128)
    assert 0.35 < dropped.token_keep.float().mean() < 0.65  # about half the tokens shown

    captions = ("a person waves", "two people shake hands now", "a man bows", "someone claps")
    batch = interaction_batch(torch.zeros(4, 2, 8, 3), captions)
    text = TextConditioner(WordRows(), torch.device("cpu"))
    whole = make_condition(batch, text, plain.drop, torch.device("cpu"))
    hidden = make_condition(batch, text, dropped.drop, torch.device("cpu"), dropped.token_keep)
    expected = whole.text_mask & dropped.token_keep[:, : whole.text_mask.shape[1]]
    assert torch.equal(hidden.text_mask, expected)
    assert hidden.text_mask.sum() < whole.text_mask.sum()
    assert torch.equal(hidden.text_pooled, whole.text_pooled)  # the sentence feature stays


class DistinctRows:
    """A stand-in text encoder whose captions have different unit sentence features."""

    def encode(self, captions):
        from intersyn.text.base import TextFeatures

        rows = torch.nn.functional.normalize(
            torch.stack([torch.arange(8.0) ** (len(c) % 5) + len(c) for c in captions]), dim=-1
        )
        # Captions of more than three words have a second sentence row; others are padded.
        mask = torch.tensor([[True, len(c.split()) > 3] for c in captions])
        tokens = torch.stack([rows, rows.flip(-1)], 1) * mask[..., None]
        return TextFeatures(tokens, mask, rows)


def test_text_mix_leans_each_text_toward_the_previous_sample_s():
    from intersyn.training.stages import TextConditioner, make_condition, per_sample_draws

    positions = torch.arange(3)
    args = (0, "ins", 7, positions, (2, 8, 3), 1000, 0.1)
    plain, mixed = per_sample_draws(*args), per_sample_draws(*args, text_mix=0.8)
    assert plain.text_mix is None
    for name in ("t", "noise", "drop"):  # the other draws stay as they were
        assert torch.equal(getattr(plain, name), getattr(mixed, name))
    assert ((mixed.text_mix >= 0) & (mixed.text_mix < 0.8)).all()

    captions = ("a person waves", "two people shake hands", "someone claps twice")
    batch = interaction_batch(torch.zeros(3, 2, 8, 3), captions)
    text = TextConditioner(DistinctRows(), torch.device("cpu"))
    cpu = torch.device("cpu")
    own = make_condition(batch, text, plain.drop, cpu)
    weight = torch.tensor([0.0, 0.5, 0.7])
    leaned = make_condition(batch, text, plain.drop, cpu, text_mix=weight)
    before = own.text_pooled.roll(1, 0)  # each sample's neighbour in the batch
    toward = (leaned.text_pooled * before).sum(-1) - (own.text_pooled * before).sum(-1)
    assert toward[0].abs() < 1e-6 and (toward[1:] > 0.05).all()
    # Still closer to its own text than to the other, with the features' norms kept.
    own_cos = (leaned.text_pooled * own.text_pooled).sum(-1)
    assert (own_cos > (leaned.text_pooled * before).sum(-1)).all()
    torch.testing.assert_close(leaned.text_tokens.norm(dim=-1), own.text_tokens.norm(dim=-1))
    assert leaned.text_tokens[1, 1].any() and not leaned.text_tokens[[0, 2], 1].any()


def test_stage_two_can_draw_only_low_noise_steps():
    from intersyn.diffusion.schedule import NoiseSchedule
    from intersyn.training.stages import FeatureStats, StepContext, TextConditioner, noise_batch

    batch = interaction_batch(torch.randn(16, 2, 8, 3), ("two people hug",) * 16)
    ctx = StepContext(
        NoiseSchedule("cosine", 1000),
        FeatureStats(torch.zeros(3), torch.ones(3)),
        TextConditioner(WordRows(), torch.device("cpu")),
        None,
        seed=0,
        cond_drop=0.1,
        device=torch.device("cpu"),
        positions=torch.arange(16),
    )
    low = dataclasses.replace(ctx, rec_max_step=100)
    every = noise_batch(batch, "rec", 3, ctx)
    assert every.t.max() >= 100  # 16 uniform draws over 1000 steps
    limited = noise_batch(batch, "rec", 3, low)
    # The same draws, t scaled below the limit; stage 1 keeps every step.
    assert torch.equal(limited.t, every.t * 100 // 1000) and limited.t.max() < 100
    assert torch.equal(limited.cond.cond_drop, every.cond.cond_drop)
    assert torch.equal(noise_batch(batch, "ins", 3, low).t, noise_batch(batch, "ins", 3, ctx).t)


@pytest.mark.parametrize("value", [0, 1001, 2.5, True])
def test_rec_max_step_must_be_a_step(value):
    with pytest.raises(InterSynError, match="diffusion.rec_max_step"):
        apply_overrides(train_preset("cpu"), [f"diffusion.rec_max_step={json.dumps(value)}"])


@pytest.mark.parametrize("value", [1.0, -0.1, True, "0.3"])
@pytest.mark.parametrize("name", ["text_token_drop", "text_mix"])
def test_text_token_drop_and_mix_must_be_shares(name, value):
    with pytest.raises(InterSynError, match=f"diffusion.{name}"):
        apply_overrides(train_preset("cpu"), [f"diffusion.{name}={json.dumps(value)}"])


def test_text_cache_stays_within_its_byte_budget():
    from intersyn.text.wordllama import WordLlamaEncoder
    from intersyn.training.stages import TextConditioner

    encoder = WordLlamaEncoder(max_tokens=64)
    budget = 64 * 1024  # a few dozen captions' worth of features
    cached = TextConditioner(encoder, torch.device("cpu"), max_cache_bytes=budget)
    captions = [f"a person walks {n} steps and waves {n % 7} times" for n in range(300)]
    for start in range(0, 300, 20):  # every batch is new, like interleaved training captions
        batch = captions[start : start + 20] + captions[:2]  # and two that were seen first
        tokens, mask, pooled = cached.encode(batch)
        fresh = TextConditioner(encoder, torch.device("cpu")).encode(batch)
        assert torch.equal(tokens, fresh[0]) and torch.equal(mask, fresh[1])
        assert torch.equal(pooled, fresh[2])
        assert cached._cache_bytes <= budget
        held = sum(t.untyped_storage().nbytes() for entry in cached._cache.values() for t in entry)
        assert held == cached._cache_bytes  # the entries own their storage, no batch behind them
    assert 0 < len(cached._cache) < 300


def test_truncated_training_captions_warn_once_and_are_counted():
    import warnings

    from intersyn.text.wordllama import WordLlamaEncoder
    from intersyn.training.stages import TextConditioner

    text = TextConditioner(WordLlamaEncoder(max_tokens=6), torch.device("cpu"))
    long = [f"a person walks forward {n} steps, turns around and walks back" for n in range(4)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text.encode(long[:2] + ["a person waves"])
        text.encode(long[2:] + ["a person waves"])  # the cached caption is not counted again
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "reported once" in messages[0], messages
    assert (text.encoded, text.truncated) == (5, 4)
    assert text.truncated_share == pytest.approx(0.8)
