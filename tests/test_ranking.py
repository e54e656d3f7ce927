"""Best-of-K sampling: the text-motion scorer and how the pipeline keeps the best candidate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from intersyn.data.interhuman import load_interhuman
from intersyn.errors import InterSynError
from intersyn.pipeline import DEFAULT_CANDIDATES, interaction_with_roles, plan_layout
from intersyn.ranking import MotionTextScorer


def test_scorer_prefers_each_training_pair_s_own_caption(tiny_text_encoder, tiny_data_root):
    scorer = MotionTextScorer(tiny_text_encoder[0], fps=30)  # InterHuman clips are 30 fps
    items = load_interhuman(tiny_data_root, "train")
    joints = [item.load()[0] for item in items]
    captions = [item.captions[0] for item in items]
    # scores[i, j]: clip i against clip j's caption, over the whole clip
    scores = np.stack(
        [scorer.score(joints, [("interaction", 0, len(joints[0][0]), c)]) for c in captions], 1
    )
    assert scores.shape == (3, 3) and np.all(np.abs(scores) <= 1 + 1e-6)
    assert (scores.argmax(1) == np.arange(3)).all(), scores
    # The weights it keeps rebuild the same scorer without the file.
    again = MotionTextScorer(scorer.weights(), fps=30)
    np.testing.assert_allclose(
        again.score(joints, [("interaction", 0, 60, captions[0])]),
        scorer.score(joints, [("interaction", 0, 60, captions[0])]),
        atol=1e-6,
    )


def test_solo_and_interaction_segments_are_both_scored(tiny_text_encoder, real_joints):
    scorer = MotionTextScorer(tiny_text_encoder[0], fps=20)
    pair = np.stack([real_joints[:80], real_joints[:80] + [0.0, 0.0, 1.0]])[None]  # (1, 2, 80)
    solo = scorer.score(pair, [("solo", 0, 40, "a person walks")])
    both = scorer.score(
        pair, [("solo", 0, 40, "a person walks"), ("interaction", 40, 80, "two people hug")]
    )
    interaction = scorer.score(pair, [("interaction", 40, 80, "two people hug")])
    np.testing.assert_allclose(both, (solo + interaction) / 2, atol=1e-6)
    # A segment too short to say anything is left out; none left is an error.
    np.testing.assert_allclose(
        scorer.score(pair, [("solo", 0, 40, "a person walks"), ("interaction", 75, 80, "hug")]),
        solo,
        atol=1e-6,
    )
    with pytest.raises(InterSynError, match="no segment"):
        scorer.score(pair, [("solo", 0, 5, "a person walks")])


def test_motion_embeddings_are_what_scores_compare_with_texts(
    tiny_text_encoder, real_joints, monkeypatch
):
    import intersyn.ranking

    monkeypatch.setattr(intersyn.ranking, "_CHUNK", 2)  # three motions: two tower calls
    scorer = MotionTextScorer(tiny_text_encoder[0], fps=20)
    # The partner moves otherwise (the clip backwards), so reading the wrong person shows.
    pairs = [
        np.stack([real_joints[:n], real_joints[n - 1 :: -1] + [0.0, 0.0, 1.0]])
        for n in (60, 80, 100)
    ]
    texts = ["a person walks", "two people hug"]
    text_emb = scorer.embed_texts(texts).numpy()
    for kind, segment_kind, k in (("solo", "solo", 0), ("pair", "interaction", 1)):
        embedded = scorer.embed_motions(pairs, kind).numpy()
        assert embedded.shape == (3, text_emb.shape[1])
        expected = [scorer.score([p], [(segment_kind, 0, p.shape[1], texts[k])])[0] for p in pairs]
        np.testing.assert_allclose(embedded @ text_emb[k], expected, atol=1e-5)
    with pytest.raises(InterSynError, match="motion tower 'trio'"):
        scorer.embed_motions(pairs, "trio")
    with pytest.raises(InterSynError, match="no motions"):
        scorer.embed_motions([], "solo")
    with pytest.raises(InterSynError, match="two people"):
        scorer.embed_motions([pairs[0][:1]], "pair")


def test_pipeline_keeps_the_best_scored_candidate(tiny_checkpoint, tiny_text_encoder, monkeypatch):
    from intersyn import InterSynPipeline

    pipe = InterSynPipeline.from_pretrained(tiny_checkpoint, ranker=tiny_text_encoder[0])
    request = dict(solo="a person walks", interaction="two people hug", frames=60, steps=3)
    drawn = pipe(**request, num_samples=4, candidates=1, seed=3)  # the four draws, unranked
    # A scorer that likes person x far along +x: the pipeline must return that draw.
    chosen_by = lambda joints, segments: np.array([j[0, -1, 0, 0] for j in joints])  # noqa: E731
    monkeypatch.setattr(MotionTextScorer, "score", lambda self, j, s: chosen_by(j, s))
    assert pipe(**request, seed=3).meta["candidates"] == DEFAULT_CANDIDATES  # with a ranker
    # keep_words: every candidate under the request's own texts, as the unranked draws were.
    best = pipe(**request, candidates=4, seed=3, keep_words=True)
    expected = int(np.argmax(drawn.joints[:, 0, -1, 0, 0]))
    assert best.joints.shape == (1, 2, 60, 22, 3)
    np.testing.assert_allclose(best.joints[0], drawn.joints[expected], atol=1e-5)
    assert best.meta["candidates"] == 4 and len(best.meta["candidate_scores"][0]) == 4
    assert best.meta["ranker_sha256"] == pipe.ranker.sha256
    # sample_layouts (the benchmarks' path) keeps the best of each layout's candidates too.
    layout = plan_layout("a person walks", "two people hug", None, None, 60)
    group = pipe.sample_layouts([layout] * 3, seed=1, steps=3)
    kept = pipe.sample_layouts([layout], seed=1, steps=3, candidates=3, keep_words=True)
    assert np.array_equal(kept[0], group[int(np.argmax([g[0, -1, 0, 0] for g in group]))])


def test_every_second_candidate_is_drawn_under_the_nearest_training_caption(
    tiny_checkpoint, tiny_text_encoder, tiny_data_root, monkeypatch
):
    from intersyn import InterSynPipeline
    from intersyn.training.loop import caption_texts

    pipe = InterSynPipeline.from_pretrained(tiny_checkpoint, ranker=tiny_text_encoder[0])
    # The training run recorded its captions by kind (the per-person ones are not requests).
    solo_captions = pipe.model.text_captions["solo"]
    pair_captions = caption_texts([], load_interhuman(tiny_data_root, "train"), False)
    assert "a person walks around" in solo_captions
    assert pipe.model.text_captions["interaction"] == sorted(set(pair_captions))
    layout = plan_layout("a person strolls", "two people hug", None, None, 60)
    known = pipe.in_known_wording(layout)
    (solo_text,) = [t for kind, *_, t in known.segments if kind == "solo"]
    (pair_text,) = [t for kind, *_, t in known.segments if kind == "interaction"]
    assert solo_text in solo_captions and pair_text in pair_captions
    assert [seg[:3] for seg in known.segments] == [seg[:3] for seg in layout.segments]
    assert pipe.candidate_layouts(layout, 3, keep_words=False) == [layout, known, layout]
    assert pipe.candidate_layouts(layout, 3, keep_words=True) == [layout] * 3
    assert pipe.candidate_layouts(layout, 1, keep_words=False) == [layout]  # nothing to rank
    # Per-person texts are read as sentences of their own and kept under the known wording.
    roles = ("someone strolls ahead", "the other person trails")
    with_roles = plan_layout("a person strolls", "two people hug", None, None, 60, roles)
    read, _ = pipe.read_layout(with_roles)
    assert read.roles == tuple(pipe.reword(role)[0] for role in roles)
    (read_pair,) = [t for kind, *_, t in read.segments if kind == "interaction"]
    assert read_pair == interaction_with_roles(pipe.reword("Two people hug")[0], read.roles)
    known_roles = pipe.in_known_wording(read)
    (known_pair,) = [t for kind, *_, t in known_roles.segments if kind == "interaction"]
    assert known_pair == interaction_with_roles(pair_text, read.roles)
    assert known_roles.roles == read.roles
    with pytest.raises(InterSynError, match="person_text / partner_text: empty"):
        plan_layout(None, "two people hug", None, None, 60, ("someone waves", "  "))
    # A request in the training captions' own words is drawn as it is.
    own = plan_layout(solo_captions[0], pair_captions[0], None, None, 60)
    assert pipe.in_known_wording(own) is own

    # The ranked draws are those of the two layouts, scored against the request's texts.
    scored = []

    def score(self, joints, segments):
        scored.append(segments)
        return np.array([j[0, -1, 0, 0] for j in joints])

    monkeypatch.setattr(MotionTextScorer, "score", score)
    pair = pipe.sample_layouts([layout, known], seed=1, steps=3)
    (kept,) = pipe.sample_layouts([layout], seed=1, steps=3, candidates=2)
    assert np.array_equal(kept, pair[int(np.argmax([g[0, -1, 0, 0] for g in pair]))])
    assert scored[-1] == layout.segments
    # Every candidate, the choice and the scores it was made on (what benches record).
    drawn, best, scores = pipe.sample_candidates([layout], 2, seed=1, steps=3)
    assert [np.array_equal(d, p) for d, p in zip(drawn, pair)] == [True, True]
    np.testing.assert_allclose(scores, [[g[0, -1, 0, 0] for g in pair]])
    assert best == [int(np.argmax(scores[0]))]
    assert pipe.sample_candidates([layout], 1, seed=1, steps=3)[2] is None
    result = pipe(solo="a person strolls", interaction="two people hug", frames=60, steps=3)
    read = pipe.in_known_wording(pipe.read_layout(layout)[0])  # unseen words read first
    captions = result.meta["candidate_captions"]
    assert captions == [result.meta["model_caption"], read.caption, result.meta["model_caption"]]
    assert result.meta["chosen_candidates"][0] in (0, 1, 2)


def test_known_wording_finds_the_nearest_caption_of_the_segment_s_kind():
    import torch

    from intersyn.text.known_wording import (
        KnownWording,
        caption_bank,
        check_caption_bank,
        check_caption_embeddings,
        embed_caption_bank,
    )

    def letters(texts):  # a sentence embedding: letter counts
        return torch.tensor(
            [[t.count(c) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts], dtype=torch.float
        )

    bank = caption_bank(["a person waves", "a person claps", "a person claps"], ["two people hug"])
    assert bank == {"solo": ["a person claps", "a person waves"], "interaction": ["two people hug"]}
    known = KnownWording(bank, letters)
    assert known.nearest("a person claps", "solo") == "a person claps"
    assert known.nearest("A person  waves.", "solo") == "A person  waves."  # as joined
    assert known.nearest("someone waves a hand", "solo") == "a person waves"
    assert known.nearest("people embrace", "interaction") == "two people hug"
    # A text in the captions' own words (of either kind) is drawn as it is: its nearest
    # caption could only say less (it is one of waving and clapping).
    assert known.in_own_words("Two people hug a person") and not known.in_own_words("a hug, x")
    assert not known.in_own_words("2 2")  # no words: nothing the model reads as it is
    # The model's own vocabulary where it is known (a checkpoint's text_vocabulary).
    assert KnownWording(bank, letters, vocabulary=["A", "x"]).in_own_words("a x")
    assert known.nearest("a person waves two claps", "solo") == "a person waves two claps"
    assert known.nearest("a person waves and claps", "solo") in bank["solo"]  # "and": unseen
    assert KnownWording({"solo": ["a"]}, letters).nearest("hug", "interaction") == "hug"
    with pytest.raises(InterSynError, match="segment kind 'dance'"):
        known.nearest("a", "dance")
    # Embedded ahead (as a shipped checkpoint keeps them): the bank is not embedded again.
    calls = []
    counted = lambda texts: calls.append(texts) or letters(texts)  # noqa: E731
    ahead = embed_caption_bank(bank, letters)
    assert ahead["solo"].dtype == torch.float16 and ahead["solo"].shape == (2, 26)
    again = KnownWording(bank, counted, ahead)
    assert again.nearest("someone waves a hand", "solo") == "a person waves"
    assert calls == [["someone waves a hand"]]
    assert again.nearest("someone waves a hand", "solo") == "a person waves"
    assert calls == [["someone waves a hand"]]  # asked again: not embedded again
    # Embeddings of other captions than the bank's (a count that differs) are not used.
    assert KnownWording(bank, counted, {"solo": ahead["solo"][:1]}).nearest("x", "solo")
    assert calls[-2] == ["a person claps", "a person waves"]
    assert check_caption_embeddings(None, "checkpoint x") is None
    for bad in ({"solo": ahead["solo"]}, {"ranker_sha256": "s", "solo": [1.0]}):
        with pytest.raises(InterSynError, match="checkpoint x: text_caption_embeddings is not"):
            check_caption_embeddings(bad, "checkpoint x")
    assert check_caption_bank(None, "checkpoint x") is None
    assert check_caption_bank(bank, "checkpoint x") == bank
    for bad in (["a"], {"solo": "a"}, {"solo": [1]}, {"dance": ["a"]}):
        with pytest.raises(InterSynError, match="checkpoint x: text_captions is not"):
            check_caption_bank(bad, "checkpoint x")


def test_candidates_need_a_ranker_and_a_count(tiny_checkpoint, tiny_text_encoder, tmp_path):
    from intersyn import InterSynPipeline

    pipe = InterSynPipeline.from_pretrained(tiny_checkpoint)  # trained without one
    assert pipe(solo="a person walks", frames=40, steps=2).meta["candidates"] == 1
    with pytest.raises(InterSynError, match="carries no ranker.*--ranker"):
        pipe(solo="a person walks", frames=40, steps=2, candidates=2)
    with pytest.raises(InterSynError, match="candidates=0"):
        pipe(solo="a person walks", frames=40, steps=2, candidates=0)
    with pytest.raises(InterSynError, match="ranker .*missing.pt: file not found"):
        InterSynPipeline.from_pretrained(tiny_checkpoint, ranker=tmp_path / "missing.pt")
    # A generator checkpoint is not a scorer (no motion towers): refused when loading.
    with pytest.raises(InterSynError, match="motion towers"):
        InterSynPipeline.from_pretrained(tiny_checkpoint, ranker=tiny_checkpoint)


def test_cli_generates_the_best_of_k(tiny_checkpoint, tiny_text_encoder, tmp_path):
    from intersyn.cli.main import main

    out = tmp_path / "out"
    code = main(
        [
            "generate",
            "--solo",
            "a person walks",
            "--frames",
            "40",
            "--steps",
            "2",
            "--candidates",
            "3",
            "--ranker",
            str(tiny_text_encoder[0]),
            "--checkpoint",
            str(tiny_checkpoint),
            "--video",
            "none",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["candidates"] == 3 and len(meta["candidate_scores"][0]) == 3
    assert np.load(out / "joints.npy").shape == (1, 40, 22, 3)


def test_fine_tuning_a_model_keeps_the_ranker_it_carries(
    tiny_checkpoint, tiny_text_encoder, tiny_data_root, tmp_path
):
    from intersyn import InterSynPipeline
    from intersyn.training.checkpoint import load_checkpoint, save_checkpoint
    from intersyn.training.config import apply_overrides, train_preset
    from intersyn.training.loop import train

    # A model that carries a ranker, as the shipped default does.
    shipped = load_checkpoint(tiny_checkpoint)
    shipped["ranker"] = MotionTextScorer(tiny_text_encoder[0], fps=20).weights()
    shipped.pop("sha256", None)
    model = tmp_path / "model.pt"
    save_checkpoint(model, shipped)
    fine_tune = apply_overrides(train_preset("tiny"), ["ins.steps=1"])
    train(fine_tune, tiny_data_root, tmp_path / "tuned", stage="ins", init=model, progress=False)
    checkpoints = tmp_path / "tuned" / "checkpoints"
    expected = MotionTextScorer(tiny_text_encoder[0], fps=20).sha256
    for name in ("final.pt", "latest.pt"):
        pipe = InterSynPipeline.from_pretrained(checkpoints / name)
        assert pipe.default_candidates == DEFAULT_CANDIDATES  # samples best-of-K, as before
        assert pipe.ranker.sha256 == expected
    # ...and a run resumed after a kill still writes it.
    longer = apply_overrides(fine_tune, ["ins.steps=2"])
    train(
        longer,
        tiny_data_root,
        tmp_path / "tuned",
        stage="ins",
        resume=checkpoints / "latest.pt",
        progress=False,
    )
    assert InterSynPipeline.from_pretrained(checkpoints / "final.pt").ranker.sha256 == expected
