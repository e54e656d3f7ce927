"""Text encoders: the wordllama default, CLIP from a local dir (tiny random model), and the cache."""

from __future__ import annotations

import json
import string
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from intersyn.errors import InterSynError
from intersyn.text import (
    CachedTextEncoder,
    ClipTextEncoder,
    TextEncoder,
    TextFeatures,
    WordLlamaEncoder,
    build_text_encoder,
)
from intersyn.text.base import split_sentences

CAPTIONS = [
    "a person walks forward",
    "someone walks ahead",
    "a person jumps up and down",
    "the man waves with his right hand and then sits down on a chair",
]
LONG = "a person walks forward slowly then turns around and runs back to the start quickly"


@pytest.fixture(scope="module")
def encoder() -> WordLlamaEncoder:
    return WordLlamaEncoder()


class CountingEncoder:
    """Delegates to a real encoder and records every batch it is asked to encode."""

    def __init__(self, inner: TextEncoder) -> None:
        self.inner = inner
        self.name, self.dim, self.pooled_dim = inner.name, inner.dim, inner.pooled_dim
        self.max_tokens, self.device = inner.max_tokens, inner.device
        self.calls: list[list[str]] = []

    def encode(self, captions: Sequence[str]) -> TextFeatures:
        self.calls.append(list(captions))
        return self.inner.encode(captions)


def _packaged_tokenizer_and_table() -> tuple[object, np.ndarray]:
    """The wordllama tokenizer and embedding table, read independently of our encoder."""
    from importlib import resources

    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    package = resources.files("wordllama")
    tokenizer = Tokenizer.from_file(
        str(package / "tokenizers" / "l2_supercat_tokenizer_config.json")
    )
    table = load_file(str(package / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"]
    return tokenizer, table.astype(np.float32)


# ----------------------------------------------------------------------------- wordllama


def test_wordllama_tokens_are_embedding_rows_and_mask_matches(encoder: WordLlamaEncoder) -> None:
    tokenizer, table = _packaged_tokenizer_and_table()
    features = encoder.encode(CAPTIONS)
    ids = [tokenizer.encode(c, add_special_tokens=False).ids for c in CAPTIONS]
    lengths = [len(i) for i in ids]
    assert isinstance(encoder, TextEncoder)
    assert features.tokens.dtype == torch.float32 and features.pooled.dtype == torch.float32
    assert features.token_mask.dtype == torch.bool
    assert features.tokens.shape == (4, max(lengths), 256) and features.pooled.shape == (4, 256)
    assert features.token_mask.sum(dim=1).tolist() == lengths
    for row, row_ids in enumerate(ids):
        n = len(row_ids)
        assert features.token_mask[row, :n].all() and not features.token_mask[row, n:].any()
        np.testing.assert_array_equal(features.tokens[row, :n].numpy(), table[row_ids])
        assert torch.count_nonzero(features.tokens[row, n:]) == 0  # padding is exactly zero


def test_wordllama_pooled_is_wordllamas_own_normalised_embedding(encoder: WordLlamaEncoder) -> None:
    from wordllama import WordLlamaInference

    tokenizer, table = _packaged_tokenizer_and_table()
    reference = WordLlamaInference(table, tokenizer).embed(CAPTIONS, norm=True)  # (4, 256)
    pooled = encoder.encode(CAPTIONS).pooled
    np.testing.assert_allclose(pooled.numpy(), reference, atol=2e-6)
    np.testing.assert_allclose(pooled.norm(dim=1).numpy(), 1.0, atol=1e-6)


def test_wordllama_is_deterministic_and_batch_independent(encoder: WordLlamaEncoder) -> None:
    first, second = encoder.encode(CAPTIONS), encoder.encode(CAPTIONS)
    assert torch.equal(first.tokens, second.tokens) and torch.equal(first.pooled, second.pooled)
    alone = encoder.encode([CAPTIONS[1]])
    n = int(alone.lengths[0])
    assert torch.equal(alone.tokens[0], first.tokens[1, :n])
    assert torch.equal(alone.pooled[0], first.pooled[1])


def test_wordllama_paraphrases_are_closer_than_unrelated_captions(
    encoder: WordLlamaEncoder,
) -> None:
    pooled = encoder.encode(CAPTIONS[:3]).pooled
    cosine = pooled @ pooled.T  # unit vectors
    assert cosine[0, 1] > cosine[0, 2] + 0.2, cosine
    assert cosine[0, 1] > cosine[1, 2] + 0.2, cosine
    assert cosine[0, 2] < 0.99  # different captions, different vectors


def test_wordllama_truncates_with_a_warning_naming_the_caption(encoder: WordLlamaEncoder) -> None:
    short = WordLlamaEncoder(max_tokens=8)
    assert short.name != encoder.name  # max_tokens is part of the identity
    with pytest.warns(UserWarning, match=r"caption 1 \('a person walks forward slowly"):
        cut = short.encode([CAPTIONS[0], LONG])
    full = encoder.encode([CAPTIONS[0], LONG])
    assert full.lengths[1] > 8 and cut.tokens.shape == (2, 8, 256)
    assert cut.lengths.tolist() == [full.lengths[0].item(), 8]
    assert torch.equal(cut.tokens[1], full.tokens[1, :8])
    assert torch.equal(cut.pooled, full.pooled)  # pooled covers the whole caption
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        short.encode([CAPTIONS[0]])  # no warning when nothing is cut


@pytest.mark.parametrize(
    ("captions", "message"),
    [
        (["a person walks", ""], "caption 1 is empty; expected non-empty text"),
        (["a", "b", "c", "  \n\t"], "caption 3 is empty; expected non-empty text"),
        (["a person walks", 5], "caption 1 is int"),
        ([None], "caption 0 is NoneType"),
        ("a person walks", "single str"),
        ([], "empty sequence"),
    ],
)
def test_bad_captions_raise(encoder: WordLlamaEncoder, captions: object, message: str) -> None:
    with pytest.raises(InterSynError, match=message):
        encoder.encode(captions)  # type: ignore[arg-type]


def test_wordllama_encodes_256_captions_well_under_a_second(encoder: WordLlamaEncoder) -> None:
    rng = np.random.default_rng(0)
    verbs = ["walks", "runs", "jumps", "waves", "sits", "turns", "kicks", "dances"]
    captions = [
        f"a person {rng.choice(verbs)} then {rng.choice(verbs)} {i} times" for i in range(256)
    ]
    encoder.encode(captions[:8])  # warm up
    start = time.perf_counter()
    features = encoder.encode(captions)
    elapsed = time.perf_counter() - start
    print(f"\nwordllama: 256 captions in {elapsed * 1e3:.1f} ms ({256 / elapsed:,.0f} captions/s)")
    assert features.pooled.shape == (256, 256)
    assert elapsed < 0.5


def test_collate_and_unbatch_round_trip(encoder: WordLlamaEncoder) -> None:
    features = encoder.encode(CAPTIONS)
    items = features.unbatch()
    assert [item.tokens.shape[0] for item in items] == features.lengths.tolist()
    again = TextFeatures.collate(items)
    assert torch.equal(again.tokens, features.tokens)
    assert torch.equal(again.token_mask, features.token_mask)
    assert torch.equal(again.pooled, features.pooled)


@pytest.mark.parametrize(
    ("caption", "sentences"),
    [
        ("a person walks forward", ["a person walks forward"]),
        ("A person waves. Two people hug.", ["A person waves", "Two people hug"]),
        ("one!  two?three; four.  ", ["one", "two?three", "four"]),  # no space: one sentence
        ("jump... then sit", ["jump", "then sit"]),
        ("...", ["..."]),  # nothing but punctuation: the caption itself
    ],
)
def test_split_sentences(caption: str, sentences: list[str]) -> None:
    assert split_sentences(caption) == sentences


def test_wordllama_sentence_tokens_are_each_sentences_own_pooled_vector(
    encoder: WordLlamaEncoder,
) -> None:
    by_sentence = WordLlamaEncoder(units="sentences")
    captions = ["A person walks forward. Two people shake hands.", "a man jumps", "a. b. c."]
    features = by_sentence.encode(captions)
    assert features.tokens.shape == (3, 3, 256) and features.lengths.tolist() == [2, 1, 3]
    alone = encoder.encode(
        ["A person walks forward", "Two people shake hands", "a man jumps", "a", "b", "c"]
    ).pooled
    real = features.tokens[features.token_mask]  # (6, 256) in caption, then sentence order
    np.testing.assert_array_equal(real.numpy(), alone.numpy())
    assert torch.count_nonzero(features.tokens[~features.token_mask]) == 0
    # The pooled vector is the whole caption's, exactly as with subword tokens.
    assert torch.equal(features.pooled, encoder.encode(captions).pooled)
    # Batch-independent, like the subword tokens.
    single = by_sentence.encode([captions[1]])
    assert torch.equal(single.tokens[0], features.tokens[1, :1])


def test_wordllama_sentence_tokens_of_paraphrases_are_closer_than_subword_tokens(
    encoder: WordLlamaEncoder,
) -> None:
    """What the sentence units are for: a reworded caption shares no subwords with the
    original, but its sentence vector stays near the original's."""
    original, reworded = "a person walks forward", "someone strolls ahead"
    subwords = encoder.encode([original, reworded])
    shared = set(map(tuple, subwords.tokens[0, : subwords.lengths[0]].tolist())) & set(
        map(tuple, subwords.tokens[1, : subwords.lengths[1]].tolist())
    )
    assert not shared - {tuple(encoder.encode(["a"]).tokens[0, 0].tolist())}  # at most "▁"
    units = WordLlamaEncoder(units="sentences").encode([original, reworded, "a person jumps"])
    vectors = units.tokens[:, 0]  # unit vectors
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2, vectors @ vectors.T  # .56, .29


def test_wordllama_word_tokens_are_the_mean_of_each_words_subword_rows(
    encoder: WordLlamaEncoder,
) -> None:
    by_word = WordLlamaEncoder(units="words")
    captions = ["A person walks forward, then strolls.", "runs"]
    features = by_word.encode(captions)
    # ▁A ▁person ▁wal ks ▁forward , ▁then ▁st roll s .  →  A person walks forward , then strolls .
    groups = [[0], [1], [2, 3], [4], [5], [6], [7, 8, 9], [10]]
    assert features.lengths.tolist() == [len(groups), 1]
    rows = encoder.encode(captions).tokens  # subword rows
    expected = torch.stack([rows[0, g].mean(0) for g in groups])
    torch.testing.assert_close(features.tokens[0, : len(groups)], expected, atol=1e-6, rtol=0)
    assert torch.equal(features.tokens[1, 0], rows[1, 0])  # a one-piece word keeps its row
    assert torch.count_nonzero(features.tokens[1, 1:]) == 0
    assert torch.equal(features.pooled, encoder.encode(captions).pooled)
    single = by_word.encode([captions[1]])  # batch-independent
    assert torch.equal(single.tokens[0], features.tokens[1, :1])
    assert by_word.name == encoder.name + ":words"


def test_wordllama_word_units_truncate_by_word_with_a_warning() -> None:
    short = WordLlamaEncoder(max_tokens=3, units="words")
    with pytest.warns(UserWarning, match=r"caption 0 \('someone strolls ahead slowly'\) has 4"):
        cut = short.encode(["someone strolls ahead slowly"])
    assert cut.tokens.shape == (1, 3, 256) and cut.token_mask.all()


def test_wordllama_sentence_units_truncate_by_sentence_with_a_warning() -> None:
    short = WordLlamaEncoder(max_tokens=2, units="sentences")
    with pytest.warns(UserWarning, match=r"caption 0 \('one. two. three'\) has 3 tokens"):
        cut = short.encode(["one. two. three"])
    assert cut.tokens.shape == (1, 2, 256)
    with pytest.raises(
        InterSynError, match="units='phrases'; expected one of subwords, words, sen"
    ):
        WordLlamaEncoder(units="phrases")


# ----------------------------------------------------------------------------- cache


def test_cache_hit_is_identical_and_skips_the_encoder(
    encoder: WordLlamaEncoder, tmp_path: Path
) -> None:
    counting = CountingEncoder(encoder)
    cached = CachedTextEncoder(counting, tmp_path)
    first = cached.encode(CAPTIONS)
    second = cached.encode(CAPTIONS[::-1])
    assert counting.calls == [CAPTIONS]
    for got, captions in ((first, CAPTIONS), (second, CAPTIONS[::-1])):
        plain = encoder.encode(captions)
        assert torch.equal(got.tokens, plain.tokens) and torch.equal(got.pooled, plain.pooled)
        assert torch.equal(got.token_mask, plain.token_mask)
    # A mixed batch with a duplicate encodes only the one new caption, once.
    mixed_captions = [CAPTIONS[0], "a person kneels", "a person kneels"]
    mixed = cached.encode(mixed_captions)
    assert counting.calls[-1] == ["a person kneels"]
    plain = encoder.encode(mixed_captions)
    assert torch.equal(mixed.tokens, plain.tokens) and torch.equal(mixed.pooled, plain.pooled)
    assert (cached.hits, cached.misses) == (4 + 2, 4 + 1)


def test_cache_persists_across_instances(encoder: WordLlamaEncoder, tmp_path: Path) -> None:
    CachedTextEncoder(CountingEncoder(encoder), tmp_path).encode(CAPTIONS)
    counting = CountingEncoder(encoder)
    reopened = CachedTextEncoder(counting, tmp_path)
    features = reopened.encode(CAPTIONS)
    plain = encoder.encode(CAPTIONS)
    assert counting.calls == []
    assert torch.equal(features.tokens, plain.tokens) and torch.equal(features.pooled, plain.pooled)
    assert len(list(tmp_path.rglob("*.safetensors"))) == len(CAPTIONS)


def test_cache_is_keyed_by_encoder_identity(encoder: WordLlamaEncoder, tmp_path: Path) -> None:
    long_counting, short_counting = (
        CountingEncoder(encoder),
        CountingEncoder(WordLlamaEncoder(max_tokens=8)),
    )
    CachedTextEncoder(long_counting, tmp_path).encode([LONG])
    with pytest.warns(UserWarning, match="truncated to the first 8"):
        short = CachedTextEncoder(short_counting, tmp_path).encode([LONG])
    assert short_counting.calls == [[LONG]]  # did not reuse the other encoder's entry
    assert short.tokens.shape[1] == 8
    assert len({p.parent.parent for p in tmp_path.rglob("*.safetensors")}) == 2


def _corrupt_flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x55
    path.write_bytes(bytes(data))


def _corrupt_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("corrupt", [_corrupt_flip_last_byte, _corrupt_truncate])
def test_corrupted_cache_entry_is_detected_and_recomputed(
    encoder: WordLlamaEncoder, tmp_path: Path, corrupt: object
) -> None:
    writer = CachedTextEncoder(encoder, tmp_path)
    writer.encode(CAPTIONS[:2])
    bad = writer.path_for(CAPTIONS[1])
    corrupt(bad)  # type: ignore[operator]
    counting = CountingEncoder(encoder)
    reader = CachedTextEncoder(counting, tmp_path)
    with pytest.warns(UserWarning, match="unusable"):
        features = reader.encode(CAPTIONS[:2])
    assert counting.calls == [[CAPTIONS[1]]]
    plain = encoder.encode(CAPTIONS[:2])
    assert torch.equal(features.tokens, plain.tokens) and torch.equal(features.pooled, plain.pooled)
    # The entry was rewritten and is good again.
    third = CountingEncoder(encoder)
    CachedTextEncoder(third, tmp_path).encode(CAPTIONS[:2])
    assert third.calls == []


def test_cache_entry_of_another_caption_is_rejected(
    encoder: WordLlamaEncoder, tmp_path: Path
) -> None:
    cached = CachedTextEncoder(encoder, tmp_path)
    cached.encode(CAPTIONS[:2])
    # Put caption 0's (valid) file where caption 1's belongs: checksum fine, caption wrong.
    cached.path_for(CAPTIONS[1]).write_bytes(cached.path_for(CAPTIONS[0]).read_bytes())
    counting = CountingEncoder(encoder)
    with pytest.warns(UserWarning, match="another encoder or caption"):
        features = CachedTextEncoder(counting, tmp_path).encode([CAPTIONS[1]])
    assert counting.calls == [[CAPTIONS[1]]]
    assert torch.equal(features.pooled, encoder.encode([CAPTIONS[1]]).pooled)


def test_memory_lru_keeps_the_most_recent_captions(
    encoder: WordLlamaEncoder, tmp_path: Path
) -> None:
    counting = CountingEncoder(encoder)
    cached = CachedTextEncoder(counting, tmp_path, memory_items=2)
    for caption in CAPTIONS[:3]:
        cached.encode([caption])
    for path in tmp_path.rglob("*.safetensors"):
        path.unlink()  # only memory can serve now
    cached.encode(CAPTIONS[1:3])  # the two most recent: served from memory
    assert len(counting.calls) == 3
    cached.encode([CAPTIONS[0]])  # evicted: encoded again
    assert counting.calls[-1] == [CAPTIONS[0]]


# ----------------------------------------------------------------------------- CLIP


def _tiny_clip_tokenizer(directory: Path) -> object:
    """A real CLIP BPE tokenizer over letters plus a few merges, written from scratch."""
    from transformers import CLIPTokenizer

    vocab = {c: i for i, c in enumerate(string.ascii_lowercase)}
    vocab.update({f"{c}</w>": len(vocab) + i for i, c in enumerate(string.ascii_lowercase)})
    merges = ["w a", "wa l", "k s</w>", "e r", "o n</w>", "t h"]
    for merge in merges:
        vocab[merge.replace(" ", "")] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)  # largest id, as in CLIP's real vocabulary
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return CLIPTokenizer.from_pretrained(directory)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A tiny random CLIPModel and CLIPTextModel saved with `save_pretrained`, never downloaded."""
    transformers = pytest.importorskip("transformers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        root = tmp_path_factory.mktemp("tiny_clip")
        tokenizer = _tiny_clip_tokenizer(root / "tokenizer")
        text = dict(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )  # fmt: skip
        vision = dict(
            hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
            image_size=30, patch_size=15,
        )  # fmt: skip
        torch.manual_seed(0)
        full = transformers.CLIPModel(
            transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
        ).eval()
        text_only = transformers.CLIPTextModel(transformers.CLIPTextConfig(**text)).eval()
        for name, model in (("full", full), ("text", text_only)):
            model.save_pretrained(root / name)
            tokenizer.save_pretrained(root / name)
        yield {"root": root, "tokenizer": tokenizer, "full": full, "text": text_only}


def _reference(clip: dict[str, object], kind: str, captions: list[str]) -> tuple[torch.Tensor, ...]:
    """Hidden states, pooled vector and mask from the in-memory model that was saved."""
    tokenizer, model = clip["tokenizer"], clip[kind]
    batch = tokenizer(captions, padding=True, return_tensors="pt")  # type: ignore[operator]
    with torch.no_grad():
        # transformers 5 has no .text_model on CLIPTextModel; CLIPModel keeps one.
        text_model = model.text_model if kind == "full" else model  # type: ignore[attr-defined]
        out = text_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        pooled = out.pooler_output
        if kind == "full":
            pooled = model.text_projection(pooled)  # type: ignore[attr-defined]
    return out.last_hidden_state, pooled, batch["attention_mask"].bool()


@pytest.mark.parametrize(("kind", "pooled_dim"), [("full", 16), ("text", 32)])
def test_tiny_clip_round_trip_matches_the_saved_model(
    tiny_clip: dict[str, object], kind: str, pooled_dim: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = tiny_clip["root"] / kind  # type: ignore[operator]
    encoder = build_text_encoder("clip", path=path)
    assert isinstance(encoder, ClipTextEncoder) and isinstance(encoder, TextEncoder)
    assert (encoder.dim, encoder.pooled_dim, encoder.max_tokens) == (32, pooled_dim, 77)
    assert encoder.name.startswith("clip:transformers:")
    captions = ["a person walks", "someone walks on the other path", "she jumps"]
    features = encoder.encode(captions)
    hidden, pooled, mask = _reference(tiny_clip, kind, captions)
    assert torch.equal(features.token_mask, mask)
    masked = hidden * mask[..., None]
    torch.testing.assert_close(features.tokens, masked, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(features.pooled, pooled, atol=1e-5, rtol=1e-5)
    assert torch.count_nonzero(features.tokens[~features.token_mask]) == 0
    assert features.pooled.std() > 1e-3  # real weights, not zeros
    # Outputs are ordinary tensors: a trainable layer can backpropagate through them.
    layer = torch.nn.Linear(32, 4)
    layer(features.tokens).sum().backward()
    assert layer.weight.grad is not None


def test_tiny_clip_truncation_keeps_the_end_token(tiny_clip: dict[str, object]) -> None:
    path = tiny_clip["root"] / "text"  # type: ignore[operator]
    encoder = ClipTextEncoder(path, max_tokens=6)
    tokenizer, model = tiny_clip["tokenizer"], tiny_clip["text"]
    ids = tokenizer(["someone walks"])["input_ids"][0]  # type: ignore[operator]
    assert len(ids) > 6
    with pytest.warns(UserWarning, match=r"caption 0 \('someone walks'\)"):
        features = encoder.encode(["someone walks"])
    cut = torch.tensor([ids[:5] + [tokenizer.eos_token_id]])  # type: ignore[attr-defined]
    with torch.no_grad():
        out = model(input_ids=cut)  # type: ignore[operator]
    assert features.tokens.shape == (1, 6, 32)
    torch.testing.assert_close(features.tokens, out.last_hidden_state, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(features.pooled, out.pooler_output, atol=1e-5, rtol=1e-5)


def test_tiny_clip_through_the_cache(tiny_clip: dict[str, object], tmp_path: Path) -> None:
    encoder = ClipTextEncoder(tiny_clip["root"] / "full")  # type: ignore[operator]
    counting = CountingEncoder(encoder)
    captions = ["a person walks", "she jumps"]
    first = CachedTextEncoder(counting, tmp_path).encode(captions)
    again = CachedTextEncoder(counting, tmp_path).encode(captions)
    plain = encoder.encode(captions)
    assert len(counting.calls) == 1
    assert torch.equal(first.tokens, again.tokens) and torch.equal(first.pooled, again.pooled)
    torch.testing.assert_close(first.tokens, plain.tokens, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(first.pooled, plain.pooled, atol=1e-6, rtol=1e-6)


def test_clip_bad_paths_name_the_path(tiny_clip: dict[str, object], tmp_path: Path) -> None:
    missing = tmp_path / "no_such_clip"
    with pytest.raises(InterSynError, match=f"CLIP path {missing} does not exist"):
        ClipTextEncoder(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InterSynError, match=f"CLIP path {empty} holds no CLIP model"):
        ClipTextEncoder(empty)
    no_weights = tmp_path / "config_only"
    no_weights.mkdir()
    source = tiny_clip["root"] / "text"  # type: ignore[operator]
    for name in ("config.json", "vocab.json", "merges.txt", "tokenizer_config.json"):
        if (source / name).exists():
            (no_weights / name).write_bytes((source / name).read_bytes())
    with pytest.raises(InterSynError, match=f"CLIP path {no_weights}"):
        ClipTextEncoder(no_weights)


def test_open_clip_format_without_open_clip_is_a_clear_error(tmp_path: Path) -> None:
    try:
        import open_clip  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("open_clip is installed")
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": {}}))
    with pytest.raises(InterSynError, match="open_clip format, which needs the open_clip package"):
        ClipTextEncoder(tmp_path)
    weights = tmp_path / "ViT-L-14.pt"
    weights.write_bytes(b"not used")
    with pytest.raises(InterSynError, match="needs the open_clip package"):
        ClipTextEncoder(weights)


def test_open_clip_directory_round_trip(tmp_path: Path) -> None:
    open_clip = pytest.importorskip("open_clip")
    cfg = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16},
        "text_cfg": {
            "context_length": 77,
            "vocab_size": 49408,
            "width": 32,
            "heads": 4,
            "layers": 2,
        },
    }
    torch.manual_seed(0)
    model = open_clip.CLIP(**cfg).eval()
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg}))
    torch.save(model.state_dict(), tmp_path / "open_clip_pytorch_model.bin")
    encoder = ClipTextEncoder(tmp_path)
    assert (encoder.dim, encoder.pooled_dim, encoder.format) == (32, 16, "open_clip")
    captions = ["a person walks forward", "someone jumps"]
    features = encoder.encode(captions)
    states: list[torch.Tensor] = []
    hook = model.ln_final.register_forward_hook(lambda module, args, out: states.append(out))
    with torch.no_grad():
        reference = model.encode_text(open_clip.get_tokenizer("ViT-B-32")(captions))
    hook.remove()
    length = features.tokens.shape[1]
    expected = states[0][:, :length] * features.token_mask[..., None]
    torch.testing.assert_close(features.tokens, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(features.pooled, reference, atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------- factory


def test_factory_names_and_errors(tmp_path: Path) -> None:
    with pytest.raises(
        InterSynError,
        match="unknown; expected one of wordllama, wordllama-words, wordllama-sentences, minilm, minilm-sentences, aligned, clip",
    ):
        build_text_encoder("bert")
    with pytest.raises(InterSynError, match="needs a local path.*nothing is downloaded"):
        build_text_encoder("clip")
    with pytest.raises(InterSynError, match="expected no path"):
        build_text_encoder("wordllama", path=tmp_path)
    cached = build_text_encoder("wordllama", max_tokens=16, cache_dir=tmp_path)
    assert isinstance(cached, CachedTextEncoder) and cached.max_tokens == 16
    assert cached.name.endswith(":max16")
    with pytest.raises(InterSynError, match="max_tokens=0"):
        build_text_encoder("wordllama", max_tokens=0)
    sentences = build_text_encoder("wordllama-sentences", max_tokens=16)
    assert isinstance(sentences, WordLlamaEncoder) and sentences.units == "sentences"
    assert sentences.name == cached.name + ":sentences"
    words = build_text_encoder("wordllama-words", max_tokens=16)
    assert isinstance(words, WordLlamaEncoder) and words.units == "words"
    with pytest.raises(InterSynError, match="'wordllama-sentences' got path"):
        build_text_encoder("wordllama-sentences", path=tmp_path)
