"""Single-person (T2M-architecture) evaluator: learns, saves, reloads, reports R-precision."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from intersyn import InterSynError
from intersyn.cli.main import main
from intersyn.data.build_procedural import build_procedural_dataset
from intersyn.evaluation.train_evaluator_1p import (
    KIND,
    TEXT_ENCODER,
    SinglePersonEvaluator,
    SoloEvaluatorTrainConfig,
    WordVectors,
    evaluate_real_solo,
    load_solo_motions,
    train_single_person_evaluator,
)
from intersyn.metrics import r_precision
from intersyn.training.checkpoint import load_checkpoint, save_checkpoint

SMALL = SoloEvaluatorTrainConfig(
    dim_text_hidden=32,
    dim_motion_hidden=48,
    dim_movement_enc_hidden=32,
    dim_movement_latent=32,
    dim_coemb_hidden=16,
    epochs=25,
    batch_size=8,
    lr=3e-3,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny GRUs: one thread is fastest, and immune to spin-waits on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def solo_root(tmp_path_factory) -> Path:
    """40 procedural solo clips (train 32 / val 2 / test 6), no pairs."""
    root = tmp_path_factory.mktemp("solo") / "procedural"
    build_procedural_dataset(root, seed=5, solo=40, pairs=0, workers=1, progress=False)
    return root


@pytest.fixture(scope="module")
def trained(solo_root, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ev1p") / "ev"
    return out, train_single_person_evaluator(solo_root, out, SMALL, progress=False)


def test_loads_cropped_clips(solo_root):
    data = load_solo_motions(solo_root, "train")
    ids = (solo_root / "HumanML3D" / "train.txt").read_text().split()
    assert len(data.motions) == len(ids) == 32
    raw = np.load(solo_root / "HumanML3D" / "new_joint_vecs" / f"{ids[0]}.npy")
    length = min(len(raw), 196) // 4 * 4
    np.testing.assert_array_equal(data.motions[0], raw[:length])
    assert all(len(m) % 4 == 0 and len(m) <= 196 for m in data.motions)
    first = (solo_root / "HumanML3D" / "texts" / f"{ids[0]}.txt").read_text().splitlines()[0]
    assert data.captions[0][0] == first.split("#")[0]


def test_caption_tokens_follow_t2m_pos_order():
    words = WordVectors(max_words=20)
    tokens, pos = words.tokenize("a person walks forward slowly and waves")
    assert tokens == ["sos", "a", "person", "walk", "forward", "slowly", "and", "wave", "eos"]
    # OTHER 14, DET 2, NOUN 1, Act_VIP 12, Loc_VIP 9, Desc_VIP 13, CCONJ → OTHER, VERB 0.
    assert pos == [14, 2, 1, 12, 9, 13, 14, 0, 14]
    embs, onehot, lengths = words.batch(["someone jumps", " ".join(["step"] * 30)])
    assert lengths.tolist() == [4, 22]  # at most 20 words + sos/eos
    assert embs.shape == (2, 22, 256) and onehot.shape == (2, 22, 15)
    assert float(embs[0, 4:].abs().sum()) == 0.0 and float(onehot[0, 4:].sum()) == 0.0
    np.testing.assert_allclose(onehot[0, :4].sum(-1), 1.0)
    np.testing.assert_allclose(embs[0, :4].norm(dim=-1), 16.0, rtol=1e-5)  # unit RMS per dim
    # The same word gets the same vector wherever it occurs; different words differ.
    np.testing.assert_array_equal(embs[1, 1], embs[1, 20])
    assert float((embs[0, 1] - embs[0, 2]).abs().max()) > 0.1


def test_training_learns_and_reload_is_identical(trained, solo_root):
    out, metrics = trained
    assert metrics["last_loss"] < 0.6 * metrics["first_loss"]
    assert metrics["train_clips"] == 32 and metrics["test_clips"] == 6
    assert metrics["text_encoder"] == TEXT_ENCODER
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == metrics and saved["real_test"]["protocol"] == "t2m"
    payload = load_checkpoint(out / "evaluator.pt")
    assert payload["kind"] == KIND and payload["text_encoder"] == TEXT_ENCODER
    evaluator = SinglePersonEvaluator.load(out / "evaluator.pt")
    assert evaluator.name == metrics["evaluator"] == f"wordllama-words+t2m@{payload['sha256'][:12]}"
    # The reloaded evaluator scores the test split exactly as the trained one did.
    test = load_solo_motions(solo_root, "test")
    assert evaluate_real_solo(evaluator, test, SMALL.seed) == metrics["real_test"]
    assert metrics["real_test"]["r_precision"][0] > metrics["real_test"]["chance_top1"]
    # On its training clips the captions retrieve their own motions far above chance (1/8).
    train = load_solo_motions(solo_root, "train")
    texts = evaluator.embed_texts([c[0] for c in train.captions])
    motions = evaluator.embed_motions(train.motions)
    top = r_precision(texts, motions, top_k=3, batch_size=8)
    assert top[0] > 0.4 and top[2] > 0.7
    # Raw inputs are cropped to a multiple of 4 frames (≤ 196) and normalised inside.
    clip = train.motions[0]
    longer = np.concatenate([clip, clip[:3]])
    np.testing.assert_array_equal(
        evaluator.embed_motions([longer, clip[:-4]]), evaluator.embed_motions([clip, clip[:-4]])
    )
    assert not np.allclose(motions[0], evaluator.embed_motions([clip[:-4]])[0])


def test_bad_inputs(tmp_path, trained):
    out, _ = trained
    with pytest.raises(InterSynError, match="not found"):
        train_single_person_evaluator(tmp_path / "missing", tmp_path / "o", SMALL, progress=False)
    empty = tmp_path / "empty" / "HumanML3D"
    for folder in ("new_joint_vecs", "texts"):
        (empty / folder).mkdir(parents=True)
    (empty / "train.txt").write_text("")
    with pytest.raises(InterSynError, match="no HumanML3D train clips"):
        train_single_person_evaluator(empty.parent, tmp_path / "o", SMALL, progress=False)
    save_checkpoint(tmp_path / "two.pt", {"kind": "intersyn-evaluator-2p"})
    with pytest.raises(InterSynError, match="not a single-person"):
        SinglePersonEvaluator.load(tmp_path / "two.pt")
    evaluator = SinglePersonEvaluator.load(out / "evaluator.pt")
    with pytest.raises(InterSynError, match=r"\(T >= 4, 263\)"):
        evaluator.embed_motions([np.zeros((3, 263), np.float32)])
    with pytest.raises(InterSynError, match="empty"):
        evaluator.embed_motions([])
    with pytest.raises(InterSynError, match="caption 1 is empty"):
        evaluator.embed_texts(["a person walks", " "])


def test_cli_persons_1(tmp_path, solo_root, capsys):
    out = tmp_path / "cli"
    args = ["evaluator", "train", "--persons", "1", "--data-root", str(solo_root)]
    code = main([*args, "--out", str(out), "--epochs", "1", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0 and "real test R-precision top-1/2/3" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["steps"] == 1  # 32 clips, batch 32
    assert f"{metrics['real_test']['r_precision'][0]:.3f}" in printed
    assert SinglePersonEvaluator.load(out / "evaluator.pt").config.dim_word == 256
    assert main([*args, "--out", str(out), "--epochs", "0", "--no-progress"]) == 2
    assert "--epochs 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args[:3], "3", *args[4:], "--out", str(out)])
