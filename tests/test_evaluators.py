"""Evaluator networks: checkpoint-compatible names and shapes, masking, pooling, InfoNCE."""

from __future__ import annotations

import math

import pytest
import torch

from intersyn.errors import InterSynError
from intersyn.evaluation import (
    InterClip,
    T2MEvaluator,
    contrastive_loss,
    interclip_config,
    load_interclip_checkpoint,
    load_interclip_state,
    load_t2m_checkpoint,
    load_t2m_state,
    t2m_evaluator_config,
)

# --------------------------------------------------------------------- expected checkpoint layouts
# Written from REFERENCE.md §3.1 / §3.3 and the official module definitions (names of the
# nn.Sequential indices, GRU and TransformerEncoderLayer parameters), independently of our modules.


def movement_keys(d_in: int, hidden: int, out: int) -> dict[str, tuple[int, ...]]:
    return {
        "main.0.weight": (hidden, d_in, 4),
        "main.0.bias": (hidden,),
        "main.3.weight": (out, hidden, 4),
        "main.3.bias": (out,),
        "out_net.weight": (out, out),
        "out_net.bias": (out,),
    }


def bigru_keys(d_in: int, hidden: int, out: int) -> dict[str, tuple[int, ...]]:
    keys = {
        "input_emb.weight": (hidden, d_in),
        "input_emb.bias": (hidden,),
        "hidden": (2, 1, hidden),
    }
    for suffix in ("l0", "l0_reverse"):
        keys |= {
            f"gru.weight_ih_{suffix}": (3 * hidden, hidden),
            f"gru.weight_hh_{suffix}": (3 * hidden, hidden),
            f"gru.bias_ih_{suffix}": (3 * hidden,),
            f"gru.bias_hh_{suffix}": (3 * hidden,),
        }
    keys |= {
        "output_net.0.weight": (hidden, 2 * hidden),
        "output_net.0.bias": (hidden,),
        "output_net.1.weight": (hidden,),
        "output_net.1.bias": (hidden,),
        "output_net.3.weight": (out, hidden),
        "output_net.3.bias": (out,),
    }
    return keys


def text_keys(word: int, pos: int, hidden: int, out: int) -> dict[str, tuple[int, ...]]:
    return bigru_keys(word, hidden, out) | {"pos_emb.weight": (word, pos), "pos_emb.bias": (word,)}


def transformer_keys(prefix: str, layers: int, width: int, ff: int) -> dict[str, tuple[int, ...]]:
    keys: dict[str, tuple[int, ...]] = {}
    for i in range(layers):
        p = f"{prefix}.layers.{i}."
        keys |= {
            p + "self_attn.in_proj_weight": (3 * width, width),
            p + "self_attn.in_proj_bias": (3 * width,),
            p + "self_attn.out_proj.weight": (width, width),
            p + "self_attn.out_proj.bias": (width,),
            p + "linear1.weight": (ff, width),
            p + "linear1.bias": (ff,),
            p + "linear2.weight": (width, ff),
            p + "linear2.bias": (width,),
            p + "norm1.weight": (width,),
            p + "norm1.bias": (width,),
            p + "norm2.weight": (width,),
            p + "norm2.bias": (width,),
        }
    return keys


def interclip_keys(
    latent=1024,
    layers=8,
    ff=2048,
    pe_len=2000,
    text_width=768,
    text_layers=8,
    vocab=49408,
    ctx=77,
    emb=512,
    in_dim=516,
) -> dict[str, tuple[int, ...]]:
    m = "motion_encoder."
    keys = {
        m + "query_token": (1, latent),
        m + "embed_motion.weight": (latent, in_dim),
        m + "embed_motion.bias": (latent,),
        m + "sequence_pos_encoder.pe": (pe_len, latent),
        m + "out_ln.weight": (latent,),
        m + "out_ln.bias": (latent,),
        m + "out.weight": (emb, latent),
        m + "out.bias": (emb,),
        "token_embedding.weight": (vocab, text_width),
        "positional_embedding": (ctx, text_width),
        "latent_scale": (1,),
        "text_ln.weight": (text_width,),
        "text_ln.bias": (text_width,),
        "out.weight": (emb, text_width),
        "out.bias": (emb,),
    }
    keys |= transformer_keys(m + "transformer", layers, latent, ff)
    return keys | transformer_keys("textTransEncoder", text_layers, text_width, ff)


def shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def random_state(layout: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=gen) * 0.2 for k, shape in layout.items()}


# --------------------------------------------------------------------------- official sizes


def test_t2m_official_layout_and_parameter_counts():
    with torch.device("meta"):
        evaluator = T2MEvaluator()
    assert shapes(evaluator.movement_encoder) == movement_keys(259, 512, 512)
    assert shapes(evaluator.motion_encoder) == bigru_keys(512, 1024, 512)
    assert shapes(evaluator.text_encoder) == text_keys(300, 15, 512, 512)
    # REFERENCE.md §3.1: 1.84 M, 15.7 M, 4.10 M parameters.
    counts = [sum(p.numel() for p in m.parameters()) for m in evaluator.children()]
    assert counts == [1_842_688, 15_747_584, 4_100_288]


def test_interclip_official_layout_and_parameter_counts():
    with torch.device("meta"):
        model = InterClip(interclip_config("intergen"))
    assert shapes(model) == interclip_keys()
    # REFERENCE.md §3.3: motion 68.3 M, text 44.6 M (+ frozen 37.9 M token table).
    motion = sum(p.numel() for p in model.motion_encoder.parameters())
    table = model.token_embedding.weight.numel()
    text = sum(p.numel() for p in model.parameters()) - motion - table
    assert (motion, text, table) == (68_256_256, 44_566_273, 37_945_344)
    # An official-layout state dict loads strictly (meta tensors: shapes and names only).
    with torch.device("meta"):
        state = {k: torch.empty(s) for k, s in interclip_keys().items()}
    model.load_state_dict(state, strict=True, assign=True)


# ------------------------------------------------------------------------------------ T2M tiny


@pytest.fixture()
def t2m() -> T2MEvaluator:
    torch.manual_seed(0)
    return T2MEvaluator(t2m_evaluator_config("tiny")).double().eval()


def test_t2m_loads_constructed_checkpoint_strictly(t2m, tmp_path):
    cfg = t2m.config
    checkpoint = {
        "movement_encoder": random_state(movement_keys(259, 16, 16), 1),
        "motion_encoder": random_state(bigru_keys(16, 24, 8), 2),
        "text_encoder": random_state(text_keys(12, 15, 16, 8), 3),
        "epoch": 7,
    }
    load_t2m_state(t2m, checkpoint)
    torch.testing.assert_close(
        t2m.text_encoder.hidden.float(), checkpoint["text_encoder"]["hidden"]
    )
    path = tmp_path / "finest.tar"
    torch.save(checkpoint, path)
    loaded = load_t2m_checkpoint(path, cfg)
    assert not loaded.training
    torch.testing.assert_close(
        loaded.movement_encoder.main[3].weight, checkpoint["movement_encoder"]["main.3.weight"]
    )
    broken = dict(
        checkpoint, motion_encoder={**checkpoint["motion_encoder"], "extra": torch.zeros(1)}
    )
    with pytest.raises(InterSynError, match="motion_encoder"):
        load_t2m_state(t2m, broken)
    with pytest.raises(InterSynError, match="text_encoder"):
        load_t2m_state(t2m, {k: v for k, v in checkpoint.items() if k != "text_encoder"})


def test_t2m_motion_encoder_reads_only_the_valid_frames(t2m):
    gen = torch.Generator().manual_seed(1)
    motions = torch.randn(3, 40, 263, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([40, 22, 13])
    emb = t2m.encode_motion(motions, lengths)
    assert emb.shape == (3, 8)
    # Frames ≥ length + 3 are outside every used token's receptive field (convs k4 s2 p1, twice).
    changed = motions.clone()
    changed[1, 22 + 3 :] = 99.0
    changed[2, 13 + 3 :] = -5.0
    changed[..., -4:] = 1e3  # contacts are dropped
    torch.testing.assert_close(t2m.encode_motion(changed, lengths), emb)
    # Same sample alone (no packing with others, no sorting) gives the same embedding.
    torch.testing.assert_close(t2m.encode_motion(motions[2:3], lengths[2:]), emb[2:3])
    # Packing semantics: the GRU reads exactly ⌊13/4⌋ = 3 tokens (compare with an unpacked run).
    enc = t2m.motion_encoder
    tokens = t2m.movement_encoder(motions[2:3, :, :259])[:, :3]
    _, last = enc.gru(enc.input_emb(tokens), enc.hidden.expand(-1, 1, -1).contiguous())
    torch.testing.assert_close(enc.output_net(torch.cat([last[0], last[1]], -1)), emb[2:3])
    with pytest.raises(InterSynError, match="unit_length=4"):
        t2m.encode_motion(motions, torch.tensor([40, 22, 3]))
    with pytest.raises(InterSynError, match="motions"):
        t2m.encode_motion(motions[..., :259], lengths)


def test_t2m_text_encoder_ignores_padding(t2m):
    gen = torch.Generator().manual_seed(2)
    words = torch.randn(2, 22, 12, generator=gen, dtype=torch.float64)
    pos = torch.nn.functional.one_hot(torch.randint(0, 15, (2, 22), generator=gen), 15).double()
    lengths = torch.tensor([22, 9])
    emb = t2m.encode_text(words, pos, lengths)
    padded = words.clone()
    padded[1, 9:] = 7.0
    torch.testing.assert_close(t2m.encode_text(padded, pos, lengths), emb)
    assert not torch.allclose(t2m.encode_text(words, pos, torch.tensor([22, 10])), emb)
    with pytest.raises(InterSynError, match="cap_lens"):
        t2m.encode_text(words, pos, torch.tensor([23, 9]))


# -------------------------------------------------------------------------------- InterCLIP tiny


class PassThrough(torch.nn.Module):
    """Stands in for the text transformer so the pooling and head can be checked by hand."""

    def forward(
        self, h: torch.Tensor, src_key_padding_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return h


def test_interclip_tiny_clip_token_layout_loads_strictly(tmp_path):
    cfg = interclip_config("tiny", text_input="clip_tokens")
    model = InterClip(cfg)
    layout = interclip_keys(
        latent=32,
        layers=2,
        ff=64,
        pe_len=64,
        text_width=24,
        text_layers=2,
        vocab=50,
        ctx=16,
        emb=16,
    )
    state = random_state(layout)
    model.load_state_dict(state, strict=True)
    torch.testing.assert_close(model.latent_scale.data, state["latent_scale"])
    assert not model.token_embedding.weight.requires_grad
    assert not model.positional_embedding.requires_grad
    # Lightning checkpoint file: "model." prefixes stripped, strict load.
    path = tmp_path / "interclip.ckpt"
    torch.save({"state_dict": {"model." + k: v for k, v in random_state(layout, 5).items()}}, path)
    loaded = load_interclip_checkpoint(path, cfg)
    assert not loaded.training
    torch.testing.assert_close(
        loaded.motion_encoder.query_token.data,
        random_state(layout, 5)["motion_encoder.query_token"],
    )
    with pytest.raises(InterSynError, match="state_dict"):
        load_interclip_state(model, {k: v for k, v in state.items() if k != "latent_scale"})
    # Features layout: the token table is replaced by the input projection, the rest is shared.
    features = InterClip(interclip_config("tiny"))
    expected = {k: v for k, v in layout.items() if k != "token_embedding.weight"}
    expected |= {"text_proj.weight": (24, 12), "text_proj.bias": (24,)}
    assert shapes(features) == expected


def test_sinusoidal_table():
    model = InterClip(interclip_config("tiny"))
    pe = model.motion_encoder.sequence_pos_encoder.pe  # (64, 32)
    p, i = 5, 3
    assert pe[p, 2 * i].item() == pytest.approx(math.sin(p / 10000 ** (2 * i / 32)), abs=1e-6)
    assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(p / 10000 ** (2 * i / 32)), abs=1e-6)


@pytest.fixture()
def interclip() -> InterClip:
    torch.manual_seed(0)
    model = InterClip(interclip_config("tiny")).double().eval()
    with torch.no_grad():
        model.latent_scale.fill_(2.5)
    return model


def test_interclip_motion_masking_and_contacts(interclip):
    gen = torch.Generator().manual_seed(3)
    motions = torch.randn(3, 30, 524, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([30, 17, 5])
    emb = interclip.encode_motion(motions, lengths)
    assert emb.shape == (3, 16)
    torch.testing.assert_close(emb.norm(dim=-1), torch.full((3,), 2.5, dtype=torch.float64))
    changed = motions.clone()
    changed[1, 17:] = 50.0  # padding is masked
    changed[2, 5:] = -3.0
    changed[..., 258:262] = 9.0  # person A contacts
    changed[..., 520:524] = 9.0  # person B contacts
    torch.testing.assert_close(interclip.encode_motion(changed, lengths), emb)
    torch.testing.assert_close(interclip.encode_motion(motions[2:, :5], lengths[2:]), emb[2:])
    moved = motions.clone()
    moved[2, 4, 0] += 1.0  # a valid frame matters
    assert not torch.allclose(interclip.encode_motion(moved, lengths)[2], emb[2])
    with pytest.raises(InterSynError, match="524"):
        interclip.encode_motion(motions[..., :520], lengths)
    with pytest.raises(InterSynError, match="63 frames"):
        interclip.encode_motion(torch.zeros(1, 64, 524, dtype=torch.float64), torch.tensor([64]))


def test_interclip_text_features_pool_at_last_token(interclip):
    gen = torch.Generator().manual_seed(4)
    tokens = torch.randn(2, 10, 12, generator=gen, dtype=torch.float64)
    mask = torch.arange(10) < torch.tensor([[10], [6]])
    tokens[1, 6:] = 0.0
    emb = interclip.encode_text_features(tokens, mask)
    torch.testing.assert_close(emb.norm(dim=-1), torch.full((2,), 2.5, dtype=torch.float64))
    padded = tokens.clone()
    padded[1, 6:] = 4.0
    torch.testing.assert_close(interclip.encode_text_features(padded, mask), emb)
    torch.testing.assert_close(
        interclip.encode_text_features(tokens[1:, :6], mask[1:, :6]), emb[1:]
    )
    # Pooling reads the last real token: with the head reduced to (LN → out) on that token only,
    # i.e. the transformer bypassed, the embedding equals the manual computation.
    manual = InterClip(interclip_config("tiny")).double().eval()
    manual.textTransEncoder = PassThrough()
    h = manual.text_proj(tokens[1, 5]) + manual.positional_embedding[5]
    expected = manual.out(manual.text_ln(h))
    expected = expected / expected.norm() * manual.latent_scale
    torch.testing.assert_close(manual.encode_text_features(tokens, mask)[1], expected)
    with pytest.raises(InterSynError, match="CLIP token ids"):
        InterClip(interclip_config("tiny", text_input="clip_tokens")).encode_text_features(
            tokens, mask
        )


def test_interclip_clip_token_path_pools_at_eot():
    model = InterClip(interclip_config("tiny", text_input="clip_tokens")).double().eval()
    model.textTransEncoder = PassThrough()
    ids = torch.tensor([[1, 7, 9, 49, 0, 0], [1, 3, 49, 0, 0, 0]])  # 49 = EOT (largest id)
    emb = model.encode_text_tokens(ids)
    h = model.token_embedding(ids[0, 3]) + model.positional_embedding[3]
    expected = model.out(model.text_ln(h))
    torch.testing.assert_close(emb[0], expected / expected.norm() * model.latent_scale)
    with pytest.raises(InterSynError, match="token features"):
        InterClip(interclip_config("tiny")).encode_text_tokens(ids)


# ----------------------------------------------------------------------------------- InfoNCE


def test_contrastive_loss_known_values():
    eye = torch.eye(2, dtype=torch.float64)
    # Logits = s·I: each row's cross-entropy is log(1 + e^{-s}), both directions alike.
    assert contrastive_loss(eye, eye * 3.0, scale=2.0).item() == pytest.approx(
        math.log1p(math.exp(-2.0))
    )
    same = torch.ones(5, 4, dtype=torch.float64)
    assert contrastive_loss(same, same, scale=10.0).item() == pytest.approx(math.log(5))
    # Asymmetric case: text→motion and motion→text terms differ, the loss is their mean.
    text = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    motion = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    logits = motion @ text.T  # [[1, 1], [0, 0]]
    target = torch.arange(2)
    expected = (
        torch.nn.functional.cross_entropy(logits, target)
        + torch.nn.functional.cross_entropy(logits.T, target)
    ) / 2
    assert contrastive_loss(text, motion, scale=1.0).item() == pytest.approx(expected.item())
    assert expected.item() == pytest.approx(
        (math.log(2) + 0.5 * (math.log1p(math.e) + math.log1p(math.exp(-1)))) / 2
    )
    # The learned scale receives a gradient, as InterCLIP's latent_scale² does.
    scale = torch.tensor(1.5, requires_grad=True)
    contrastive_loss(torch.randn(4, 8), torch.randn(4, 8), scale=scale**2).backward()
    assert scale.grad is not None and scale.grad.abs() > 0
    with pytest.raises(InterSynError, match="motion_emb"):
        contrastive_loss(torch.randn(4, 8), torch.randn(3, 8))
