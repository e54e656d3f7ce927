"""Unseen-word substitution: the reader, the vocabulary a checkpoint records, generation."""

import json
import warnings

import numpy as np
import pytest

from intersyn import InterSynError, InterSynPipeline
from intersyn.cli.main import main
from intersyn.text.vocabulary import UnseenWordReader, caption_word_pairs, caption_words
from intersyn.text.wordllama import word_vectors
from intersyn.training.checkpoint import load_checkpoint, save_checkpoint
from intersyn.training.config import apply_overrides, train_preset
from intersyn.training.loop import caption_texts, load_training_items, training_vocabulary

VOCABULARY = ["a", "person", "walks", "runs", "jumps", "two", "people", "hug"]
UNREAD = ["swings"]  # a word of test_generation_reads_unseen_words_as_known_ones no reading finds


def axis_vectors(calls: list[int]):
    """A fake word embedding: each word a fixed unit vector; counts how often it is built."""
    table = {
        "walks": [1.0, 0.0, 0.0],
        "strolls": [0.9, 0.1, 0.0],
        "runs": [0.0, 1.0, 0.0],
        "jumps": [0.0, 0.0, 1.0],
        "dances": [0.5, 0.5, 0.5],  # cos 0.58 to each action word
        "sings": [-1.0, 0.0, 0.0],
    }

    def make():
        calls.append(1)

        def embed(words):
            rows = np.array([table.get(w, [0.1, -0.1, 0.1]) for w in words], dtype=float)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

        return embed

    return make


def test_caption_words():
    assert caption_words(["A person walks.", "the other's hand, twice!", "a person 3 times"]) == [
        "a",
        "hand",
        "other's",
        "person",
        "the",
        "times",
        "twice",
        "walks",
    ]


def test_reader_rewrites_only_unseen_words_above_the_threshold():
    calls: list[int] = []
    reader = UnseenWordReader(VOCABULARY, axis_vectors(calls), min_similarity=0.7)
    # Every word known: unchanged, and no embedding is even built.
    assert reader.rewrite("A person walks, then runs.") == ("A person walks, then runs.", [])
    assert calls == []
    text, used = reader.rewrite("Strolls: a person strolls and sings.")
    assert text == "Walks: a person walks and sings."  # 'sings' is nearest to nothing (cos <0)
    assert [(s.word, s.read_as) for s in used] == [("strolls", "walks")]
    assert used[0].similarity == pytest.approx(0.994, abs=1e-3)
    assert calls == [1]  # built once, on the first unseen word
    # A threshold below the best match lets the look-alike through.
    low = UnseenWordReader(VOCABULARY, axis_vectors([]), min_similarity=0.5)
    assert low.rewrite("a person dances")[0] == "a person jumps"
    # A word in another script is one word, never split into pieces.
    assert [s.word for s in low.rewrite("a person dances at the café")[1]] == ["dances", "café"]
    # Function words are never rewritten, whatever their neighbours.
    assert low.rewrite("a person is with them")[1] == []
    with pytest.raises(InterSynError, match="vocabulary: empty"):
        UnseenWordReader([], axis_vectors([]))
    # Words left as written: neither training nor function words, each once, in order.
    assert reader.unknown("Walks: a person walks and Sings, sings at the café") == ["sings", "café"]
    assert reader.knows_any("a person sings") and not reader.knows_any("A sings at the café")


def test_reader_never_reads_a_word_as_a_grammar_word_or_its_opposite():
    table = {"both": [1.0, 0.0], "same": [0.9, 0.44], "other": [0.8, 0.6], "different": [0.99, 0.1]}
    table |= {"up": [-1.0, 0.0], "upward": [-0.95, 0.3]}

    def make():
        def embed(words):
            rows = np.array([table.get(w, [0.0, 1.0]) for w in words])
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

        return embed

    vocabulary = ["a", "person", "faces", "both", "same", "other", "way", "up"]
    # "both" is nearest (0.995) but a grammar word; next "same" (0.94), read where no
    # antonyms are known, then "other" (0.86).
    plain = UnseenWordReader(vocabulary, make, min_similarity=0.5)
    assert plain.rewrite("a person faces a different way")[0] == "a person faces a same way"
    opposed = UnseenWordReader(
        vocabulary, make, min_similarity=0.5, opposite=lambda _: lambda w: ["same"]
    )
    assert opposed.rewrite("a person faces a different way")[0] == "a person faces an other way"
    # A preposition or particle may be a reading: it says where the body goes.
    assert plain.rewrite("a person faces upward")[0] == "a person faces up"


def test_reader_takes_the_nearest_of_equally_related_words():
    # A lookup relating "strolls" to "runs" and "walks" alike (one WordNet sense): the reader
    # takes the one nearer in word vectors, in whichever order the lookup lists them.
    for listed in (["runs", "walks"], ["walks", "runs"]):
        reader = UnseenWordReader(
            VOCABULARY, axis_vectors([]), related=lambda _, listed=listed: lambda w, v: [listed]
        )
        text, used = reader.rewrite("a person strolls")
        assert text == "a person walks"
        assert [(s.read_as, s.source) for s in used] == [("walks", "wordnet")]


def test_reader_weighs_a_word_s_senses_by_its_neighbours():
    # "trails" in two senses, as WordNet orders them: "drags" (lags behind), then "follows".
    vocabulary = ["one", "person", "drags", "follows", "behind", "the", "other", "them"]
    senses = lambda _: lambda w, v: [["drags"], ["follows"]] if w == "trails" else []  # noqa: E731
    pairs = caption_word_pairs(
        ["one person leads and the other follows behind", "a person follows", "drags them"]
    )
    # (No word read by its vector here: the fake vectors of all these words are alike.)
    vectors = dict(word_vectors=axis_vectors([]), min_similarity=2.0, related=senses)
    reader = UnseenWordReader(vocabulary, **vectors, word_pairs=pairs)
    # "person follows" and (past the unread "closely") "follows behind" are training pairs.
    text, used = reader.rewrite("one person trails closely behind the other")
    assert text == "one person follows closely behind the other"
    assert [(s.word, s.read_as) for s in used] == [("trails", "follows")]
    # Each occurrence is read in its own context; without support, the most frequent sense.
    assert reader.rewrite("trails them, trails behind")[0] == "drags them, follows behind"
    assert reader.rewrite("one trails")[0] == "one drags"
    without = UnseenWordReader(vocabulary, **vectors)
    assert without.rewrite("one person trails behind")[0] == "one person drags behind"
    # Within one sense the neighbours do not choose: its word nearest in vectors is the reading.
    one_sense = UnseenWordReader(
        VOCABULARY,
        axis_vectors([]),
        related=lambda _: lambda w, v: [["runs", "walks"]] if w == "strolls" else [],
        word_pairs=caption_word_pairs(["a person runs"]),
    )
    assert one_sense.rewrite("a person strolls")[0] == "a person walks"


def test_reader_with_wordllama_word_vectors():
    reader = UnseenWordReader(VOCABULARY, word_vectors)
    text, used = reader.rewrite("Two individuals hug while a person is walking")
    assert text == "Two people hug while a person is walks"
    assert {s.word: s.read_as for s in used} == {"individuals": "people", "walking": "walks"}
    assert all(s.similarity >= reader.min_similarity for s in used)
    # The indefinite article agrees with the word it is now in front of.
    assert reader.rewrite("An individual runs")[0] == "A person runs"


def test_training_records_its_vocabulary(tiny_checkpoint, tiny_data_root):
    payload = load_checkpoint(tiny_checkpoint)
    items = load_training_items(tiny_data_root, train_preset("tiny"))
    assert payload["text_vocabulary"] == caption_words(caption_texts(*items, False))
    assert payload["text_word_pairs"] == caption_word_pairs(caption_texts(*items, False))
    assert "person walks" in payload["text_word_pairs"]
    assert {"serves", "walks", "together"} <= set(payload["text_vocabulary"])
    # Only the per-person captions ("the other person serves a ball") say "other", and the
    # model reads them only when U(·) joins them to the interaction caption.
    assert "other" not in payload["text_vocabulary"]
    shown = apply_overrides(train_preset("tiny"), ["data.interleave.person_caption_share=0.5"])
    assert "other" in training_vocabulary(*items, shown)
    # ... or reads them as each person's own (`model.person_texts`), when U(·) gives them.
    own = ["model.person_texts=true", "data.interleave.person_text_share=0.5"]
    assert "other" in training_vocabulary(*items, apply_overrides(train_preset("tiny"), own))
    unused = apply_overrides(train_preset("tiny"), own[1:])  # drawn, never read
    assert "other" not in training_vocabulary(*items, unused)
    latest = load_checkpoint(tiny_checkpoint.parent / "latest.pt")  # generates from EMA too
    assert latest["text_vocabulary"] == payload["text_vocabulary"]


def test_generation_reads_unseen_words_as_known_ones(tiny_checkpoint, tmp_path, capsys):
    pipe = InterSynPipeline.from_pretrained(tiny_checkpoint)
    request = dict(interaction_start=40, frames=80, seed=3, steps=4)
    unseen = pipe(solo="a person walking around", interaction="two individuals swings", **request)
    meta = unseen.meta
    assert meta["caption"] == "A person walking around. Two individuals swings."
    assert meta["model_caption"] == "A person walks around. Two people swings."
    assert [(s["word"], s["read_as"]) for s in meta["word_substitutions"]] == [
        ("walking", "walks"),
        ("individuals", "people"),
    ]
    # The same motion as asking in the words it was read as; keep_words asks as written.
    known = pipe(solo="a person walks around", interaction="two people swings", **request)
    assert np.array_equal(unseen.joints, known.joints)
    kept = pipe(
        solo="a person walking around",
        interaction="two individuals swings",
        keep_words=True,
        **request,
    )
    assert kept.meta["word_substitutions"] == [] and kept.meta["model_caption"] == meta["caption"]
    assert not np.array_equal(kept.joints, known.joints)
    # What no reading was found for, and what keep_words left, is used as written: listed.
    assert meta["unknown_words"] == UNREAD
    assert kept.meta["unknown_words"] == ["walking", "individuals", *UNREAD]
    # The CLI says what it substituted.
    out = tmp_path / "cli"
    args = [
        "generate",
        "--checkpoint",
        str(tiny_checkpoint),
        "--solo",
        "a person walking",
        "--steps",
        "2",
        "--frames",
        "40",
        "--video",
        "none",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert "'walking' as 'walks'" in capsys.readouterr().out
    assert json.loads((out / "meta.json").read_text())["word_substitutions"][0]["read_as"] == (
        "walks"
    )


def test_a_text_without_a_known_word_warns(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    """A text the model knows no word of ("Ein Mensch geht") would give a motion that does not
    follow it: the user is told, by name of the text, and its words are listed as unknown."""
    from intersyn.pipeline import UnknownTextWarning

    pipe = InterSynPipeline.from_pretrained(tiny_checkpoint)
    request = dict(frames=40, steps=2, candidates=1)
    with pytest.warns(UnknownTextWarning, match=r"^solo 'Ein Mensch geht': none of its words"):
        result = pipe(solo="Ein Mensch geht", **request)
    assert result.meta["unknown_words"] == ["ein", "mensch", "geht"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a text with one known word: no warning
        assert pipe(solo="a person geht", **request).meta["unknown_words"] == ["geht"]
    with pytest.warns(UnknownTextWarning, match=r"^interaction 'zwei Leute tanzen'"):
        pipe(solo="a person walks", interaction="zwei Leute tanzen", **request)
    # The interaction the pipeline puts in for per-person texts alone is not the user's word.
    monkeypatch.setattr(type(pipe), "reads_person_texts", property(lambda self: True))
    roles = pipe(person_text="a person walks", partner_text="a person walks", **request)
    assert roles.meta["texts"]["interaction"] == "two people interact"
    assert "interact" not in roles.meta["unknown_words"]
    out = tmp_path / "cli"
    args = ["generate", "--checkpoint", str(tiny_checkpoint), "--solo", "Ein Mensch geht"]
    assert (
        main([*args, "--steps", "2", "--frames", "40", "--video", "none", "--out", str(out)]) == 0
    )
    captured = capsys.readouterr()
    assert "used as written: 'ein', 'mensch', 'geht'" in captured.out
    assert "intersyn: warning: solo 'Ein Mensch geht': none of its words" in captured.err


def test_checkpoints_without_or_with_a_bad_vocabulary(tiny_checkpoint, tmp_path):
    payload = load_checkpoint(tiny_checkpoint)
    del payload["sha256"], payload["format_version"]
    del payload["text_vocabulary"]
    older = tmp_path / "older.pt"
    save_checkpoint(older, payload)
    pipe = InterSynPipeline.from_pretrained(older)  # from before vocabularies: words as written
    assert pipe.reword("a person walking") == ("a person walking", [])
    payload["text_vocabulary"] = "walks"
    bad = tmp_path / "bad.pt"
    save_checkpoint(bad, payload)
    with pytest.raises(InterSynError, match="text_vocabulary is not a list of words"):
        InterSynPipeline.from_pretrained(bad)
    payload["text_vocabulary"], payload["text_word_pairs"] = ["walks"], [3]
    save_checkpoint(bad, payload)
    with pytest.raises(InterSynError, match="text_word_pairs is not a list of words"):
        InterSynPipeline.from_pretrained(bad)


def test_shipped_model_knows_its_training_words():
    pipe = InterSynPipeline.from_pretrained()
    assert len(pipe.model.text_vocabulary) > 200
    assert pipe.reword("a guy waves")[0] == "a man waves"
