"""The MiniLM text encoder: BERT tokenisation, the forward pass against transformers, errors."""

import json
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from intersyn import InterSynError
from intersyn.text import build_text_encoder
from intersyn.text.base import CaptionTruncatedWarning
from intersyn.text.minilm import MiniLMEncoder, WordPieceTokenizer, basic_words, find_minilm

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "person", "walk", "##s", "##ing", "!", ",",
         "'", "s", "hand", "you", "好", "stroll", "##ll", "st", "##ro", "."]  # fmt: skip


def write_vocab(folder: Path, tokens: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return folder / "vocab.txt"


def test_basic_words_follow_bert_uncased_rules():
    # Lower case, accents stripped, punctuation split off, CJK characters alone, control and
    # zero-width characters dropped, any whitespace separates.
    assert basic_words("A Pérson's\tHAND-waving!") == [
        "a", "person", "'", "s", "hand", "-", "waving", "!",
    ]  # fmt: skip
    assert basic_words("你好world") == ["你", "好", "world"]
    assert basic_words("zero\u200bwidth\x00 ^$") == ["zerowidth", "^", "$"]


def test_wordpiece_is_greedy_longest_match_and_unknown_words_are_one_unk(tmp_path):
    tokenizer = WordPieceTokenizer(write_vocab(tmp_path, VOCAB))
    ids = tokenizer("A person walks, walking!")
    assert [VOCAB[i] for i in ids] == [
        "[CLS]", "a", "person", "walk", "##s", ",", "walk", "##ing", "!", "[SEP]",
    ]  # fmt: skip
    # "stroll": the longest first piece wins ("st" + "##ro" + "##ll" is not tried first).
    assert [VOCAB[i] for i in tokenizer("stroll")[1:-1]] == ["stroll"]
    assert [VOCAB[i] for i in tokenizer("strolls")[1:-1]] == ["stroll", "##s"]
    # A word with any part outside the vocabulary becomes a single [UNK], not a partial match.
    assert [VOCAB[i] for i in tokenizer("walkz you")[1:-1]] == ["[UNK]", "you"]
    assert [VOCAB[i] for i in tokenizer("a" * 101)[1:-1]] == ["[UNK]"]  # over 100 characters
    with pytest.raises(InterSynError, match=r"no \[CLS\] token"):
        WordPieceTokenizer(write_vocab(tmp_path / "bad", ["[PAD]", "[UNK]", "a"]))


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    """A random 2-layer BERT in the sentence-transformers layout, written by transformers."""
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny_bert")
    config = transformers.BertConfig(
        vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=32, max_position_embeddings=24,
    )  # fmt: skip
    torch.manual_seed(0)
    model = transformers.BertModel(config).eval()
    with torch.no_grad():  # larger than BERT's init, so that every nonlinearity matters
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.5)
    model.save_pretrained(folder, safe_serialization=True)
    write_vocab(folder, VOCAB)
    return folder


CAPTIONS = ["a person walks", "you walking, a person strolls!", "好"]


def reference(folder: Path, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """transformers' last hidden states (padding zeroed), mask and mean-pooled unit vectors."""
    import transformers

    model = transformers.BertModel.from_pretrained(folder).eval()
    tokenizer = WordPieceTokenizer(folder / "vocab.txt")
    rows = [tokenizer(c) for c in captions]
    length = max(map(len, rows))
    ids = torch.tensor([r + [0] * (length - len(r)) for r in rows])
    mask = ids != 0
    with torch.inference_mode():
        hidden = model(input_ids=ids, attention_mask=mask.long()).last_hidden_state
    hidden = hidden * mask[..., None]
    pooled = F.normalize(hidden.sum(1) / mask.sum(1, keepdim=True), dim=-1)
    return hidden, mask, pooled


def test_forward_pass_matches_transformers_bert(tiny_bert):
    encoder = MiniLMEncoder(tiny_bert, max_tokens=20)
    features = encoder.encode(CAPTIONS)
    hidden, mask, pooled = reference(tiny_bert, CAPTIONS)
    torch.testing.assert_close(features.tokens, hidden, atol=1e-5, rtol=1e-4)
    assert torch.equal(features.token_mask, mask)
    torch.testing.assert_close(features.pooled, pooled, atol=1e-6, rtol=1e-5)
    assert encoder.name.startswith("minilm:tiny_bert") and encoder.dim == 16
    # A caption's features do not depend on the batch it is encoded in.
    alone = encoder.encode([CAPTIONS[1]])
    torch.testing.assert_close(alone.tokens[0], features.tokens[1], atol=1e-5, rtol=1e-4)


def test_sentence_units_give_each_sentence_its_own_embedding(tiny_bert):
    encoder = MiniLMEncoder(tiny_bert, max_tokens=8, units="sentences")
    captions = ["a person walks. you walking, a person strolls!", "好"]
    features = encoder.encode(captions)
    tokens_encoder = MiniLMEncoder(tiny_bert)
    alone = tokens_encoder.encode(["a person walks", "you walking, a person strolls", "好"])
    assert features.tokens.shape == (2, 2, 16)
    assert features.token_mask.tolist() == [[True, True], [True, False]]
    torch.testing.assert_close(features.tokens[0], alone.pooled[:2], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(features.tokens[1, 0], alone.pooled[2], atol=1e-6, rtol=1e-5)
    assert torch.all(features.tokens[1, 1] == 0)
    # The pooled vector is the whole caption's, as with token units.
    torch.testing.assert_close(features.pooled, tokens_encoder.encode(captions).pooled)
    assert encoder.name.endswith(":max8:sentences") and tokens_encoder.name.endswith(":max64")
    with pytest.warns(CaptionTruncatedWarning, match="has 3 tokens; truncated to the first 2"):
        cut = MiniLMEncoder(tiny_bert, max_tokens=2, units="sentences").encode(["a. a. a"])
    assert cut.tokens.shape == (1, 2, 16)
    with pytest.raises(InterSynError, match="units='words'; expected one of tokens, sentences"):
        MiniLMEncoder(tiny_bert, units="words")


def test_factory_builds_minilm_sentences_with_eight_sentence_tokens(tiny_bert):
    encoder = build_text_encoder("minilm-sentences", tiny_bert)
    assert encoder.units == "sentences" and encoder.max_tokens == 8
    assert build_text_encoder("minilm", tiny_bert).units == "tokens"


def test_truncation_keeps_the_first_tokens_and_pools_the_whole_caption(tiny_bert):
    encoder = MiniLMEncoder(tiny_bert, max_tokens=4)
    caption = "a person walks, a person walking"  # [CLS] + 9 pieces + [SEP] = 11 tokens
    with pytest.warns(CaptionTruncatedWarning, match="has 11 tokens; truncated to the first 4"):
        cut = encoder.encode([caption])
    full = MiniLMEncoder(tiny_bert, max_tokens=20).encode([caption])
    assert cut.tokens.shape == (1, 4, 16)
    torch.testing.assert_close(cut.tokens, full.tokens[:, :4])
    torch.testing.assert_close(cut.pooled, full.pooled)
    # Beyond BERT's own position table (24 here) the caption itself is cut, with a warning.
    with pytest.warns(CaptionTruncatedWarning, match="truncated to the first 24"):
        long = encoder.encode(["a person walks " * 10])
    assert torch.isfinite(long.pooled).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encoder.encode(["a person"])  # short captions: no warning


def test_bad_inputs_and_folders_get_one_clear_error(tiny_bert, tmp_path):
    encoder = MiniLMEncoder(tiny_bert)
    with pytest.raises(InterSynError, match="caption 1 is empty"):
        encoder.encode(["a person", "  "])
    with pytest.raises(InterSynError, match=r"caption 0 \('\\u200b'\) gives no tokens"):
        encoder.encode(["\u200b"])
    sentences = MiniLMEncoder(tiny_bert, units="sentences")
    with pytest.raises(InterSynError, match=r"caption 1 \('a person\. \\u200b'\): sentence 2"):
        sentences.encode(["a person waves. a person walks.", "a person. \u200b"])
    with pytest.raises(InterSynError, match="lacks config.json, vocab.txt, model.safetensors"):
        MiniLMEncoder(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "vocab.txt"):
        (broken / name).write_bytes((tiny_bert / name).read_bytes())
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InterSynError, match="not a readable safetensors file"):
        MiniLMEncoder(broken)
    config = json.loads((tiny_bert / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "model_type": "clip"}))
    with pytest.raises(InterSynError, match="model_type 'clip'; expected 'bert'"):
        MiniLMEncoder(broken)
    wider = tmp_path / "wider"
    wider.mkdir()
    for name in ("vocab.txt", "model.safetensors"):
        (wider / name).write_bytes((tiny_bert / name).read_bytes())
    (wider / "config.json").write_text(json.dumps({**config, "hidden_size": 32}))
    with pytest.raises(InterSynError, match="weights do not fit config.json"):
        MiniLMEncoder(wider)


@pytest.fixture(scope="module")
def packaged_minilm() -> Path:
    """The installed all-MiniLM-L6-v2 folder; the test is skipped without one."""
    try:
        return find_minilm()
    except InterSynError:
        pytest.skip("no packaged MiniLM installed (pip install intersyn[minilm])")


def test_packaged_all_minilm_l6_v2_embeds_paraphrases_close(packaged_minilm):
    encoder = build_text_encoder("minilm")
    assert (
        encoder.name.startswith("minilm:all-MiniLM-L6-v2:53aa51172d142c89") and encoder.dim == 384
    )
    pooled = encoder.encode(
        ["someone strolls ahead", "a person walks forward", "a person jumps up and down"]
    ).pooled
    similarity = pooled @ pooled.T
    assert similarity[0, 1] > similarity[0, 2] + 0.1
    transformers = pytest.importorskip("transformers")
    assert transformers  # the real weights under transformers' BERT give the same features
    captions = ["two people shake hands", "a person waves"]
    hidden, mask, reference_pooled = reference(packaged_minilm, captions)
    features = encoder.encode(captions)
    torch.testing.assert_close(features.tokens, hidden, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(features.pooled, reference_pooled, atol=1e-5, rtol=1e-4)


def test_training_on_minilm_names_the_text_width_to_set(
    packaged_minilm, tiny_data_root, tmp_path, capsys
):
    from intersyn.cli.main import main

    code = main(
        [
            "train", "--config", "tiny", "--data-root", str(tiny_data_root), "--out",
            str(tmp_path / "run"), "--no-progress", "--set", "text_encoder=minilm",
        ]
    )  # fmt: skip
    assert code == 2
    error = capsys.readouterr().err
    assert "gives 384-d features" in error and "add --set model.text_dim=384" in error
