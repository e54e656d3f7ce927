"""The motion-aligned text encoder: training, its features, its errors, and a generator on it."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from intersyn.errors import InterSynError
from intersyn.text.aligned import AlignedTextEncoder
from intersyn.text.factory import build_text_encoder
from intersyn.text.train_aligned import train_aligned_text_encoder
from intersyn.training.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import TINY_ALIGNED as TINY


@pytest.fixture(scope="module")
def trained(tiny_text_encoder):
    return tiny_text_encoder


def test_training_aligns_captions_with_their_clips(trained, tiny_data_root):
    path, metrics = trained
    assert metrics["last_loss"] < 0.5 * metrics["first_loss"]
    # On the training clips the captions now pick out their own clip (chance: 1 in 4).
    from intersyn.evaluation.train_evaluator_1p import load_solo_motions
    from intersyn.text.train_aligned import _Scorer, _WordTable

    payload = load_checkpoint(path)
    encoder = AlignedTextEncoder(path)
    data = load_solo_motions(tiny_data_root, "train")
    motions = [m[:: TINY.solo_stride][: TINY.max_motion_rows] for m in data.motions]
    from intersyn.text.aligned import MotionTower

    tower = MotionTower(TINY, motions[0].shape[-1])
    tower.load_state_dict(payload["solo_tower"])
    scorer = _Scorer(encoder.tower, tower.eval(), _WordTable([c[0] for c in data.captions], 24))
    similarity = scorer.embed_texts([c[0] for c in data.captions]) @ scorer.embed_motions(motions).T
    assert (similarity.argmax(1) == range(len(motions))).mean() >= 0.75
    assert set(metrics["real_test"]) == {"solo", "pair"}


def test_one_token_per_sentence_in_order_batch_independent(trained):
    encoder = build_text_encoder("aligned", trained[0])
    assert encoder.name.startswith("aligned:") and encoder.dim == TINY.embed_dim
    captions = ["A person walks forward. Two people shake hands.", "a person turns left"]
    features = encoder.encode(captions)
    assert features.tokens.shape == (2, 2, TINY.embed_dim)
    assert features.token_mask.tolist() == [[True, True], [True, False]]
    sentences = encoder.embed_sentences(["A person walks forward", "Two people shake hands"])
    torch.testing.assert_close(features.tokens[0], sentences)
    assert torch.equal(features.tokens[1, 1], torch.zeros(TINY.embed_dim))
    torch.testing.assert_close(features.tokens.norm(dim=-1)[features.token_mask], torch.ones(3))
    pooled = torch.nn.functional.normalize(sentences.sum(0), dim=0)
    torch.testing.assert_close(features.pooled[0], pooled)
    alone = encoder.encode(captions[1:])
    torch.testing.assert_close(alone.tokens[0, 0], features.tokens[1, 0])
    torch.testing.assert_close(alone.pooled[0], features.pooled[1])


def test_too_many_sentences_are_truncated_with_a_warning(trained):
    encoder = build_text_encoder("aligned", trained[0], max_tokens=1)
    with pytest.warns(UserWarning, match="truncated to the first 1"):
        features = encoder.encode(["a person walks. a person turns."])
    assert features.tokens.shape[1] == 1


def test_bad_files_and_names_get_one_line_errors(trained, tmp_path, tiny_checkpoint):
    path = trained[0]
    with pytest.raises(InterSynError, match="needs the path of a trained text_encoder.pt"):
        build_text_encoder("aligned")
    with pytest.raises(InterSynError, match="file not found"):
        build_text_encoder("aligned", tmp_path / "missing.pt")
    with pytest.raises(InterSynError, match="kind .*expected 'intersyn-aligned-text'"):
        build_text_encoder("aligned", tiny_checkpoint)
    corrupted = tmp_path / "corrupted.pt"
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    corrupted.write_bytes(bytes(raw))
    with pytest.raises(InterSynError, match="corrupted or truncated"):
        build_text_encoder("aligned", corrupted)
    payload = {k: v for k, v in load_checkpoint(path).items() if k not in {"sha256"}}
    mismatched = tmp_path / "mismatched.pt"
    config = dataclasses.asdict(dataclasses.replace(TINY, width=48))
    save_checkpoint(mismatched, {**payload, "config": config})
    with pytest.raises(InterSynError, match="weights do not fit its config"):
        build_text_encoder("aligned", mismatched)
    with pytest.raises(InterSynError, match="expected an int >= 1"):
        build_text_encoder("aligned", path, max_tokens=0)
    with pytest.raises(InterSynError, match="caption 1 is empty"):
        build_text_encoder("aligned", path).encode(["a person walks", "  "])


def test_cli_trains_and_rejects_bad_epochs(tmp_path, tiny_data_root, capsys):
    from intersyn.cli.main import main

    assert main(["text-encoder"]) == 2
    assert "expected one of: train" in capsys.readouterr().err
    args = ["text-encoder", "train", "--data-root", str(tiny_data_root), "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "bad"), "--epochs", "0"]) == 2
    assert "--epochs 0: expected at least 1" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "ok"), "--epochs", "1"]) == 0
    assert "test R-precision" in capsys.readouterr().out
    assert (tmp_path / "ok" / "text_encoder.pt").is_file()
    assert (tmp_path / "ok" / "metrics.json").is_file()


def test_a_generator_trained_on_the_aligned_encoder_generates_with_it(
    trained, tmp_path, tiny_data_root
):
    from intersyn import InterSynPipeline
    from intersyn.training.config import apply_overrides, train_preset
    from intersyn.training.loop import train

    copy = tmp_path / "text_encoder.pt"
    copy.write_bytes(trained[0].read_bytes())
    overrides = ["text_encoder=aligned", f"text_path={copy}", "rec.steps=0"]
    train(
        apply_overrides(train_preset("tiny"), overrides),
        tiny_data_root,
        tmp_path / "run",
        progress=False,
    )
    copy.unlink()  # the checkpoint carries the encoder's weights: the file is not needed
    pipe = InterSynPipeline.from_pretrained(tmp_path / "run" / "checkpoints" / "final.pt")
    assert pipe.text.encoder.name == build_text_encoder("aligned", trained[0], max_tokens=64).name
    result = pipe(solo="a person walks", interaction="two people hug", frames=40, steps=2)
    assert result.joints.shape == (1, 2, 40, 22, 3)
    assert torch.isfinite(torch.from_numpy(result.joints)).all()
    # Fine-tuning the model needs no text_encoder.pt either: it reads the one it carries.
    final = tmp_path / "run" / "checkpoints" / "final.pt"
    tuned = tmp_path / "tuned"
    fine_tune = apply_overrides(train_preset("tiny"), ["text_encoder=aligned", "ins.steps=1"])
    train(fine_tune, tiny_data_root, tuned, stage="ins", init=final, progress=False)
    again = InterSynPipeline.from_pretrained(tuned / "checkpoints" / "final.pt")
    assert again.text.encoder.name == pipe.text.encoder.name
    # ...and resumes after a kill on the encoder its training checkpoint keeps.
    longer = apply_overrides(fine_tune, ["ins.steps=2"])
    latest = tuned / "checkpoints" / "latest.pt"
    train(longer, tiny_data_root, tuned, stage="ins", resume=latest, progress=False)
    assert load_checkpoint(latest)["steps"]["ins"] == 2
    with pytest.raises(InterSynError, match="needs the path of a trained text_encoder.pt"):
        train(fine_tune, tiny_data_root, tmp_path / "no_init", stage="ins", progress=False)


def test_word_batch_noise_and_dropout_keep_shapes_and_a_word_per_caption():
    from intersyn.text.train_aligned import _WordTable

    captions = ["a person walks forward slowly", "two people hug", "jump"]
    table = _WordTable(captions, 24)
    clean, mask = table.batch(captions)
    assert clean.shape[:2] == mask.shape and mask.sum(1).tolist() == [5, 3, 1]
    generator = torch.Generator().manual_seed(0)
    noisy, noisy_mask = table.batch(captions, noise=0.5, generator=generator)
    assert torch.equal(noisy_mask, mask)
    moved = (noisy - clean).norm(dim=-1)[mask] / clean.norm(dim=-1)[mask]
    assert 0.2 < float(moved.mean()) < 1.0  # about `noise` times each vector's norm
    _, dropped = table.batch(captions * 50, drop=0.9, generator=generator)
    assert dropped.any(1).all()  # never every word of a caption
    # kept: 10 % of 450 words, plus the first word of the ~74 % of captions that lost them all
    assert 0.25 < float(dropped.sum()) / 450 < 0.45


def test_bag_of_words_tower_ignores_word_order():
    from intersyn.text.aligned import SentenceTower

    torch.manual_seed(0)
    tower = SentenceTower(dataclasses.replace(TINY, layers=0), 16).eval()
    words = torch.randn(1, 4, 16)
    mask = torch.ones(1, 4, dtype=torch.bool)
    embedding = tower(words, mask)
    torch.testing.assert_close(tower(words.flip(1), mask), embedding)
    torch.testing.assert_close(embedding.norm(dim=-1), torch.ones(1))
    assert not torch.allclose(tower(words[:, :2], mask[:, :2]), embedding)


def test_training_reads_wordnet_rewordings_when_asked(tmp_path, tiny_data_root, monkeypatch):
    from intersyn.text import train_aligned

    seen: list[str] = []
    batch = train_aligned._WordTable.batch

    def record(self, captions, *args, **kwargs):
        seen.extend(captions)
        return batch(self, captions, *args, **kwargs)

    monkeypatch.setattr(train_aligned._WordTable, "batch", record)
    config = dataclasses.replace(TINY, epochs=3, synonym_swap=1.0)
    train_aligned_text_encoder(tiny_data_root, tmp_path, config, progress=False)
    payload = load_checkpoint(tmp_path / "text_encoder.pt")
    assert payload["config"]["synonym_swap"] == 1.0
    captions = {c for item in train_aligned._training_data(tiny_data_root, config).values()
                for _, cs in item.values() for group in cs for c in group}  # fmt: skip
    reworded = [line for line in seen if line not in captions]
    assert reworded, "no reworded caption was read"
    assert any(" walks " in c for c in captions) and not any(" walks " in r for r in reworded)
