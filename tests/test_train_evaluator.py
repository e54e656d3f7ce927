"""Two-person evaluator training: learns, saves, reloads, reports R-precision."""

import json

import numpy as np
import pytest

from intersyn import InterSynError
from intersyn.cli.main import main
from intersyn.evaluation.train_evaluator import (
    EvaluatorTrainConfig,
    TwoPersonEvaluator,
    load_pair_motions,
    train_two_person_evaluator,
)

SMALL = EvaluatorTrainConfig(
    latent_dim=32,
    num_layers=1,
    num_heads=2,
    ff_size=64,
    embed_dim=16,
    text_width=32,
    text_layers=1,
    text_heads=2,
    epochs=40,
    batch_size=3,
    lr=3e-3,
    dropout=0.0,
    frame_stride=4,
)


def test_evaluator_learns_matching_pairs(tmp_path, tiny_data_root):
    metrics = train_two_person_evaluator(tiny_data_root, tmp_path / "ev", SMALL, progress=False)
    assert metrics["last_loss"] < metrics["first_loss"]
    assert metrics["train_clips"] == 3 and metrics["test_clips"] == 1
    evaluator = TwoPersonEvaluator.load(tmp_path / "ev" / "evaluator.pt")
    train = load_pair_motions(tiny_data_root, "train", SMALL.frame_stride)
    motions = evaluator.embed_motions(train.motions)
    texts = evaluator.embed_texts([c[0] for c in train.captions])
    # Each training caption is nearest to its own motion after training.
    distances = np.linalg.norm(texts[:, None] - motions[None], axis=-1)
    assert (distances.argmin(1) == np.arange(3)).all()
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert saved["real_test"]["protocol"] == "intergen" and "wordllama" in saved["evaluator"]
    assert saved["real_test_batch32"]["protocol"] == "t2m"


def test_cli_errors(tmp_path, tiny_data_root, capsys):
    (tmp_path / "file").write_text("x")
    code = main(
        [
            "evaluator",
            "train",
            "--data-root",
            str(tiny_data_root),
            "--out",
            str(tmp_path / "file"),
            "--no-progress",
        ]
    )
    assert code == 2 and "is a file" in capsys.readouterr().err
    assert main(["evaluator"]) == 2
    with pytest.raises(InterSynError, match="not a two-person"):
        from intersyn.training.checkpoint import save_checkpoint

        save_checkpoint(tmp_path / "x.pt", {"kind": "other"})
        TwoPersonEvaluator.load(tmp_path / "x.pt")
