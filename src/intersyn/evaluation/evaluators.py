"""Text–motion evaluator networks whose parameter names and shapes match the official checkpoints.

- Guo et al. (T2M) evaluator for one person (REFERENCE.md §3.1): `MovementConvEncoder`,
  `MotionEncoderBiGRUCo`, `TextEncoderBiGRUCo`, grouped in `T2MEvaluator` whose three children load
  the `movement_encoder` / `motion_encoder` / `text_encoder` entries of `finest.tar` strictly.
- InterGen's InterCLIP evaluator for two people (REFERENCE.md §3.3): `InterClip`, whose state dict
  matches `interclip.ckpt` (with the "model." prefix stripped) when `text_input="clip_tokens"`; with
  `text_input="features"` the CLIP token table is replaced by a Linear projection of token features
  from a pluggable text encoder, and everything after it is shared.

No training loop lives here; `contrastive_loss` is the InfoNCE objective InterCLIP was trained with.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from intersyn.errors import InterSynError

# ---------------------------------------------------------------------------------------------
# Guo et al. (T2M)


@dataclass(frozen=True)
class T2MEvaluatorConfig:
    """Sizes of the Guo et al. evaluator (MDM `EvaluatorMDMWrapper` options)."""

    dim_pose: int = 263  # HumanML3D feature; the last 4 dims (foot contacts) are dropped on input
    contact_dims: int = 4  # trailing feature dims the movement encoder never sees
    dim_word: int = 300  # GloVe word vectors
    dim_pos_ohot: int = 15  # part-of-speech one-hot (REFERENCE.md §3.1 order)
    dim_text_hidden: int = 512  # text BiGRU width
    dim_motion_hidden: int = 1024  # motion BiGRU width
    dim_movement_enc_hidden: int = 512  # first conv width
    dim_movement_latent: int = 512  # movement token width
    dim_coemb_hidden: int = 512  # shared embedding size of text and motion
    unit_length: int = 4  # two stride-2 convs: one movement token per 4 frames


def t2m_evaluator_config(preset: Literal["t2m", "tiny"] = "t2m") -> T2MEvaluatorConfig:
    """The official sizes (`t2m`) or a small configuration for tests (`tiny`)."""
    if preset == "t2m":
        return T2MEvaluatorConfig()
    if preset == "tiny":
        return T2MEvaluatorConfig(
            dim_word=12,
            dim_text_hidden=16,
            dim_motion_hidden=24,
            dim_movement_enc_hidden=16,
            dim_movement_latent=16,
            dim_coemb_hidden=8,
        )
    raise InterSynError(f"preset: expected 't2m' or 'tiny', got {preset!r}")


class MovementConvEncoder(nn.Module):
    """Two stride-2 convolutions then a per-step Linear: features `(B, T, D)` → tokens `(B, T/4, C)`."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        # Indices 0 and 3 hold the convolutions, as in the checkpoint (`main.0.*`, `main.3.*`).
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden_size, 4, 2, 1),
            nn.Dropout(0.2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden_size, output_size, 4, 2, 1),
            nn.Dropout(0.2),
            nn.LeakyReLU(0.2),
        )
        self.out_net = nn.Linear(output_size, output_size)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        hidden = self.main(inputs.transpose(1, 2)).transpose(1, 2)  # (B, T/4, C)
        return self.out_net(hidden)


class _BiGRUCo(nn.Module):
    """Linear → bidirectional GRU from a learned initial state → MLP on the two final states."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = nn.Sequential(
            nn.Linear(hidden_size * 2, hidden_size),
            nn.LayerNorm(hidden_size),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden_size, output_size),
        )
        self.hidden = nn.Parameter(torch.randn(2, 1, hidden_size))  # (directions, 1, H)

    def _encode(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.input_emb(inputs)  # (B, L, H)
        hidden = self.hidden.expand(-1, inputs.shape[0], -1).contiguous()
        # enforce_sorted=False keeps the input order; the reference sorts the batch instead.
        packed = pack_padded_sequence(
            embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, last = self.gru(packed, hidden)  # (2, B, H)
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))  # (B, out)


def _check_lengths(lengths: Any, batch: int, longest: int, name: str) -> torch.Tensor:
    lengths = torch.as_tensor(lengths).long()
    if lengths.shape != (batch,) or bool((lengths < 1).any()) or bool((lengths > longest).any()):
        raise InterSynError(
            f"{name}: expected {batch} lengths in [1, {longest}], got {lengths.tolist()}"
        )
    return lengths


class MotionEncoderBiGRUCo(_BiGRUCo):
    """Movement tokens `(B, L, C)` and token counts `(B,)` → motion embedding `(B, E)`."""

    def forward(self, inputs: torch.Tensor, m_lens: torch.Tensor) -> torch.Tensor:
        return self._encode(
            inputs, _check_lengths(m_lens, inputs.shape[0], inputs.shape[1], "m_lens")
        )


class TextEncoderBiGRUCo(_BiGRUCo):
    """Word vectors `(B, L, W)`, POS one-hots `(B, L, P)` and caption lengths `(B,)` → text embedding `(B, E)`."""

    def __init__(self, word_size: int, pos_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__(word_size, hidden_size, output_size)
        self.pos_emb = nn.Linear(pos_size, word_size)

    def forward(
        self, word_embs: torch.Tensor, pos_onehot: torch.Tensor, cap_lens: torch.Tensor
    ) -> torch.Tensor:
        lengths = _check_lengths(cap_lens, word_embs.shape[0], word_embs.shape[1], "cap_lens")
        return self._encode(word_embs + self.pos_emb(pos_onehot), lengths)


class T2MEvaluator(nn.Module):
    """The Guo et al. evaluator: normalised HumanML3D features and GloVe+POS captions → 512-d embeddings."""

    def __init__(self, config: T2MEvaluatorConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or T2MEvaluatorConfig()
        self.movement_encoder = MovementConvEncoder(
            config.dim_pose - config.contact_dims,
            config.dim_movement_enc_hidden,
            config.dim_movement_latent,
        )
        self.motion_encoder = MotionEncoderBiGRUCo(
            config.dim_movement_latent, config.dim_motion_hidden, config.dim_coemb_hidden
        )
        self.text_encoder = TextEncoderBiGRUCo(
            config.dim_word, config.dim_pos_ohot, config.dim_text_hidden, config.dim_coemb_hidden
        )

    def encode_motion(self, motions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embed features `(B, T, dim_pose)` normalised with the evaluator's mean/std; `lengths (B,)` in frames.

        Contacts are dropped, the movement encoder runs on all T frames (as the reference does, so
        the last tokens see up to 2 padded frames) and the GRU reads ⌊length / 4⌋ tokens.
        """
        cfg = self.config
        if motions.dim() != 3 or motions.shape[-1] != cfg.dim_pose:
            raise InterSynError(
                f"motions: expected shape (B, T, {cfg.dim_pose}), got {tuple(motions.shape)}"
            )
        lengths = _check_lengths(lengths, motions.shape[0], motions.shape[1], "lengths")
        if bool((lengths < cfg.unit_length).any()):
            raise InterSynError(
                f"lengths: expected at least unit_length={cfg.unit_length} frames, got {lengths.tolist()}"
            )
        tokens = self.movement_encoder(motions[..., : cfg.dim_pose - cfg.contact_dims])
        return self.motion_encoder(tokens, lengths // cfg.unit_length)

    def encode_text(
        self, word_embs: torch.Tensor, pos_onehot: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Embed captions: word vectors `(B, L, 300)`, POS one-hots `(B, L, 15)`, token counts `(B,)` (sos/eos included)."""
        cfg = self.config
        if word_embs.dim() != 3 or word_embs.shape[-1] != cfg.dim_word:
            raise InterSynError(
                f"word_embs: expected shape (B, L, {cfg.dim_word}), got {tuple(word_embs.shape)}"
            )
        if pos_onehot.shape != (*word_embs.shape[:2], cfg.dim_pos_ohot):
            raise InterSynError(
                f"pos_onehot: expected shape {(*word_embs.shape[:2], cfg.dim_pos_ohot)}, "
                f"got {tuple(pos_onehot.shape)}"
            )
        return self.text_encoder(word_embs, pos_onehot, lengths)


def load_t2m_state(evaluator: T2MEvaluator, checkpoint: Mapping[str, Any]) -> None:
    """Load a `finest.tar`-style dict (`movement_encoder`, `motion_encoder`, `text_encoder` state dicts) strictly."""
    for key in ("movement_encoder", "motion_encoder", "text_encoder"):
        if key not in checkpoint:
            raise InterSynError(
                f"checkpoint: expected key {key!r} (T2M evaluator), got keys {sorted(checkpoint)}"
            )
        try:
            getattr(evaluator, key).load_state_dict(checkpoint[key], strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            raise InterSynError(
                f"checkpoint[{key!r}]: does not match the evaluator ({' '.join(first[:2])})"
            ) from None


def load_t2m_checkpoint(
    path: str | os.PathLike[str], config: T2MEvaluatorConfig | None = None
) -> T2MEvaluator:
    """Build a `T2MEvaluator` and load the official `t2m/text_mot_match/model/finest.tar` into it (eval mode)."""
    if not os.path.isfile(path):
        raise InterSynError(f"path: no T2M evaluator checkpoint at {os.fspath(path)!r}")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    evaluator = T2MEvaluator(config)
    load_t2m_state(evaluator, checkpoint)
    return evaluator.eval()


# ---------------------------------------------------------------------------------------------
# InterGen's InterCLIP


@dataclass(frozen=True)
class InterClipConfig:
    """Sizes of the InterCLIP evaluator (InterGen `configs/eval_model.yaml`) and its text input."""

    person_dim: int = 262  # InterHuman per-person feature; motions are (B, T, 2 * person_dim)
    contact_dims: int = 4  # trailing per-person dims (foot contacts) the encoder never sees
    latent_dim: int = 1024  # motion transformer width
    num_layers: int = 8
    num_heads: int = 8
    ff_size: int = 2048  # feed-forward width of both transformers (cfg.FF_SIZE)
    dropout: float = 0.1
    activation: Literal["gelu", "relu"] = "gelu"
    max_motion_len: int = 2000  # rows of the sinusoidal table (a buffer saved in the checkpoint)
    embed_dim: int = 512  # shared embedding size
    text_width: int = 768  # text transformer width (CLIP ViT-L/14 token width)
    text_layers: int = 8
    text_heads: int = 8
    max_text_len: int = 77  # CLIP context length; learned positional table rows
    # "clip_tokens": CLIP token ids through a frozen CLIP token table (official checkpoint layout);
    # "features": token features from a pluggable encoder, projected by a Linear to text_width.
    text_input: Literal["clip_tokens", "features"] = "features"
    text_feature_dim: int = 256  # C of the pluggable encoder's token features
    vocab_size: int = 49408  # CLIP BPE vocabulary


def interclip_config(
    preset: Literal["intergen", "tiny"] = "intergen", **overrides: Any
) -> InterClipConfig:
    """Official InterCLIP sizes (`intergen`, CLIP-token text input) or a small one (`tiny`); fields overridable."""
    if preset == "intergen":
        base = InterClipConfig(text_input="clip_tokens")
    elif preset == "tiny":
        base = InterClipConfig(
            latent_dim=32,
            num_layers=2,
            num_heads=4,
            ff_size=64,
            max_motion_len=64,
            embed_dim=16,
            text_width=24,
            text_layers=2,
            text_heads=4,
            max_text_len=16,
            text_feature_dim=12,
            vocab_size=50,
        )
    else:
        raise InterSynError(f"preset: expected 'intergen' or 'tiny', got {preset!r}")
    try:
        return InterClipConfig(**{**base.__dict__, **overrides})
    except TypeError as exc:
        raise InterSynError(f"overrides: {exc}; expected InterClipConfig fields") from None


class SinusoidalPositions(nn.Module):
    """Adds the fixed sin/cos table `pe (max_len, D)` to `(B, T, D)` inputs, then dropout."""

    def __init__(self, dim: int, dropout: float, max_len: int) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        pe = torch.zeros(max_len, dim)
        pe[:, 0::2] = torch.sin(position * freq)
        pe[:, 1::2] = torch.cos(position * freq)
        self.register_buffer("pe", pe)  # persistent: the official checkpoint stores it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[: x.shape[1]])


def _encoder(
    width: int, heads: int, ff: int, dropout: float, activation: str, layers: int
) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        d_model=width,
        nhead=heads,
        dim_feedforward=ff,
        dropout=dropout,
        activation=activation,
        batch_first=True,
    )  # post-norm, as the reference
    return nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)


class InterClipMotionEncoder(nn.Module):
    """Two-person features `(B, T, 2·262)` and lengths `(B,)` → raw motion embedding `(B, 512)` (query token)."""

    def __init__(self, config: InterClipConfig) -> None:
        super().__init__()
        self.config = config
        kept = 2 * (config.person_dim - config.contact_dims)  # 516
        self.query_token = nn.Parameter(torch.randn(1, config.latent_dim))
        self.embed_motion = nn.Linear(kept, config.latent_dim)
        self.sequence_pos_encoder = SinusoidalPositions(
            config.latent_dim, config.dropout, config.max_motion_len
        )
        self.transformer = _encoder(
            config.latent_dim,
            config.num_heads,
            config.ff_size,
            config.dropout,
            config.activation,
            config.num_layers,
        )
        self.out_ln = nn.LayerNorm(config.latent_dim)
        self.out = nn.Linear(config.latent_dim, config.embed_dim)

    def forward(self, motions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        b, t, d = motions.shape
        if d != 2 * cfg.person_dim:
            raise InterSynError(
                f"motions: expected shape (B, T, {2 * cfg.person_dim}), got {tuple(motions.shape)}"
            )
        if t + 1 > cfg.max_motion_len:
            raise InterSynError(
                f"motions: expected at most {cfg.max_motion_len - 1} frames, got {t}"
            )
        lengths = _check_lengths(lengths, b, t, "lengths").to(motions.device)
        kept = motions.reshape(b, t, 2, cfg.person_dim)[..., : cfg.person_dim - cfg.contact_dims]
        tokens = self.embed_motion(kept.reshape(b, t, -1))  # (B, T, latent)
        h = torch.cat([self.query_token.expand(b, 1, -1), tokens], dim=1)  # (B, 1+T, latent)
        valid = torch.arange(t, device=motions.device) < lengths[:, None]
        valid = torch.cat([valid.new_ones(b, 1), valid], dim=1)  # the query is always valid
        h = self.transformer(self.sequence_pos_encoder(h), src_key_padding_mask=~valid)
        return self.out(self.out_ln(h)[:, 0])


class InterClip(nn.Module):
    """InterGen's contrastive text–motion evaluator; embeddings are L2-normalised × `latent_scale`."""

    def __init__(self, config: InterClipConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or InterClipConfig()
        self.motion_encoder = InterClipMotionEncoder(config)
        if config.text_input == "clip_tokens":
            # Frozen CLIP token table, loaded from the checkpoint (never trained here).
            self.token_embedding = nn.Embedding(config.vocab_size, config.text_width)
            self.token_embedding.weight.requires_grad_(False)
        elif config.text_input == "features":
            self.text_proj = nn.Linear(config.text_feature_dim, config.text_width)
        else:
            raise InterSynError(
                f"text_input: expected 'clip_tokens' or 'features', got {config.text_input!r}"
            )
        self.positional_embedding = nn.Parameter(
            torch.randn(config.max_text_len, config.text_width) * 0.01
        )
        if config.text_input == "clip_tokens":
            self.positional_embedding.requires_grad_(False)  # CLIP's, frozen like the token table
        self.latent_scale = nn.Parameter(torch.ones(1))
        self.textTransEncoder = _encoder(  # noqa: N815 - checkpoint key
            config.text_width,
            config.text_heads,
            config.ff_size,
            config.dropout,
            config.activation,
            config.text_layers,
        )
        self.text_ln = nn.LayerNorm(config.text_width)
        self.out = nn.Linear(config.text_width, config.embed_dim)

    def _scaled(self, emb: torch.Tensor) -> torch.Tensor:
        return emb / emb.norm(dim=-1, keepdim=True) * self.latent_scale

    def encode_motion(self, motions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embed unnormalised pair features `(B, T, 524)` (person A ‖ person B) with valid `lengths (B,)` → `(B, 512)`."""
        return self._scaled(self.motion_encoder(motions, lengths))

    def _text_head(
        self, h: torch.Tensor, index: torch.Tensor, padding: torch.Tensor | None
    ) -> torch.Tensor:
        h = self.textTransEncoder(
            h + self.positional_embedding[: h.shape[1]], src_key_padding_mask=padding
        )
        h = self.text_ln(h)[torch.arange(h.shape[0], device=h.device), index]  # (B, width)
        return self._scaled(self.out(h))

    def encode_text_tokens(self, token_ids: torch.Tensor) -> torch.Tensor:
        """Embed CLIP token ids `(B, 77)` (official path): no padding mask, feature at the EOT (largest id) → `(B, 512)`."""
        if self.config.text_input != "clip_tokens":
            raise InterSynError(
                "token_ids: this InterClip takes token features (text_input='features')"
            )
        if token_ids.dim() != 2 or token_ids.shape[1] > self.config.max_text_len:
            raise InterSynError(
                f"token_ids: expected shape (B, L<={self.config.max_text_len}), got {tuple(token_ids.shape)}"
            )
        h = self.token_embedding(token_ids)
        return self._text_head(h, token_ids.argmax(dim=-1), None)

    def encode_text_features(self, tokens: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        """Embed token features `(B, L, C)` with `token_mask (B, L)`: padding masked, feature at the last real token → `(B, 512)`."""
        cfg = self.config
        if cfg.text_input != "features":
            raise InterSynError(
                "tokens: this InterClip takes CLIP token ids (text_input='clip_tokens')"
            )
        if (
            tokens.dim() != 3
            or tokens.shape[-1] != cfg.text_feature_dim
            or tokens.shape[1] > cfg.max_text_len
        ):
            raise InterSynError(
                f"tokens: expected shape (B, L<={cfg.max_text_len}, {cfg.text_feature_dim}), "
                f"got {tuple(tokens.shape)}"
            )
        if token_mask.shape != tokens.shape[:2] or not bool(token_mask[:, 0].all()):
            raise InterSynError(
                f"token_mask: expected shape {tuple(tokens.shape[:2])} with at least the first token "
                f"of each caption valid, got {tuple(token_mask.shape)}"
            )
        last = token_mask.long().sum(dim=1) - 1
        return self._text_head(self.text_proj(tokens), last, ~token_mask.bool())


def load_interclip_state(model: InterClip, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load an InterCLIP state dict strictly, stripping the Lightning "model." prefix where present."""
    state = {k.removeprefix("model."): v for k, v in state_dict.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InterSynError(
            f"state_dict: does not match InterClip(text_input={model.config.text_input!r}) "
            f"({' '.join(first[:2])})"
        ) from None


def load_interclip_checkpoint(
    path: str | os.PathLike[str], config: InterClipConfig | None = None
) -> InterClip:
    """Build an `InterClip` (official sizes by default) and load `eval_model/interclip.ckpt` into it (eval mode).

    Only tensors are read (`weights_only`); the Lightning file's `state_dict` entry is used when present.
    """
    if not os.path.isfile(path):
        raise InterSynError(f"path: no InterCLIP checkpoint at {os.fspath(path)!r}")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint)
    model = InterClip(config or interclip_config("intergen"))
    load_interclip_state(model, state)
    return model.eval()


def contrastive_loss(
    text_emb: torch.Tensor, motion_emb: torch.Tensor, scale: float | torch.Tensor = 1.0
) -> torch.Tensor:
    """Symmetric InfoNCE on `(B, E)` pairs: logits = `scale` · cosine similarity, cross-entropy both ways, averaged.

    InterCLIP trains with `scale = latent_scale²`; row i of each input is a positive pair.
    """
    if text_emb.dim() != 2 or text_emb.shape != motion_emb.shape:
        raise InterSynError(
            f"motion_emb: expected the shape of text_emb (B, E) {tuple(text_emb.shape)}, "
            f"got {tuple(motion_emb.shape)}"
        )
    logits = scale * F.normalize(motion_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T  # (B, B)
    target = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
