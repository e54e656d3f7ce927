"""The CMDM denoiser M_s (Eq. 6): predicts clean pair motion x0 from noisy x_t, t, t_i, t_s, text.

Design (one token stream, read top to bottom):
- Each person's frames are grouped `patch_frames` at a time into tokens (a presence channel is
  appended so the model knows which frames exist), then the two people's tokens are attended
  JOINTLY: one sequence of P·T' tokens with learned person embeddings and sinusoidal positions in
  frames. At the sizes used here (2 × 49 tokens on CPU, 2 × 196 for the paper shape) attention
  costs less than the projections and FFN, so joint attention is cheap; it relates any frame of x
  to any frame of y in one hop, needs one block type instead of InterGen's self + cross pair, and
  a person's absent frames simply become masked keys (solo segments, solo-only samples).
- Text enters as prefix tokens in the same sequence (MDM's prefix idea, at token level): no
  per-block cross-attention weights, so the paper shape stays near MDM's size.
- Conditioning c = emb(t) + emb(t_i) + emb(t_s) + Linear(pooled text), each step or frame index
  through its own sinusoid + MLP. c is a prefix token (it also keeps every attention row
  non-empty) and drives AdaLN-Zero modulation. The modulation Linear is shared by all blocks,
  each block adding its own learned table (PixArt-α's "adaLN-single"): a Linear(W, 6W) per block
  would add 6W² per layer, 1.6 M at W = 512, and double the paper model.
- A person's own text (`ModelConfig.person_texts`) is added to that person's tokens only, as
  their person embedding is: a prefix token would be read by both people alike. It enters as
  its sentence feature and that feature's difference from the sample's other texts.
- Modulation gates and the output head start at zero, so the initial prediction is exactly 0,
  the normalised mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from intersyn.errors import InterSynError
from intersyn.models.config import ModelConfig
from intersyn.models.layers import (
    Attention,
    Condition,
    FeedForward,
    ScalarEmbedding,
    frame_positions,
    null_text,
    patch_mask,
    patchify,
    sinusoidal_embedding,
    unpatchify,
)

MODULATIONS = 6  # (shift, scale, gate) for attention and for the FFN


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """AdaLN: `x (B, N, W)` × (1 + scale) + shift with per-sample `(B, W)` shift and scale."""
    return torch.addcmul(shift[:, None], x, 1 + scale[:, None])  # one fused kernel


class DenoiserBlock(nn.Module):
    """Pre-norm Transformer block with AdaLN-Zero modulation from the shared conditioning."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.width, elementwise_affine=False)
        self.attn = Attention(cfg.width, cfg.heads, cfg.dropout)
        self.norm2 = nn.LayerNorm(cfg.width, elementwise_affine=False)
        self.ff = FeedForward(cfg.width, cfg.ff_mult, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)
        self.table = nn.Parameter(torch.zeros(MODULATIONS, cfg.width))  # this block's offsets

    def forward(self, h: torch.Tensor, mod: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """`h (B, N, W)`, shared modulation `mod (B, 6, W)`, `key_mask (B, N)` → `(B, N, W)`."""
        shift1, scale1, gate1, shift2, scale2, gate2 = (mod + self.table).unbind(1)  # (B, W) each
        attn = self.drop(self.attn(modulate(self.norm1(h), shift1, scale1), key_mask))
        h = torch.addcmul(h, gate1[:, None], attn)  # h + gate · attention
        return torch.addcmul(h, gate2[:, None], self.ff(modulate(self.norm2(h), shift2, scale2)))


class MotionDenoiser(nn.Module):
    """M_s: `x_t (B, P, T, D)`, step `t (B,)`, Condition, masks → `x0_pred (B, P, T, D)`."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        W, k = cfg.width, cfg.patch_frames
        self.motion_in = nn.Linear(k * (cfg.feature_dim + 1), W)  # +1: the presence channel
        self.person = nn.Parameter(torch.randn(cfg.people, W) * 0.02)  # who a token belongs to
        self.text_in = nn.Linear(cfg.text_dim, W)
        self.text_type = nn.Parameter(torch.randn(W) * 0.02)  # text tokens vs motion tokens
        self.cond_type = nn.Parameter(torch.randn(W) * 0.02)  # the conditioning prefix token
        self.pooled_in = nn.Linear(cfg.text_dim, W)
        self.step_emb = ScalarEmbedding(W)  # diffusion step t
        self.interaction_emb = ScalarEmbedding(W, absent=True)  # t_i, its own layer (§4.1)
        self.solo_emb = ScalarEmbedding(W, absent=True)  # t_s, its own layer
        if cfg.end_positions:  # frames to the motion's end, zero at first (see ModelConfig)
            self.end_in = nn.Linear(W, W)
            nn.init.zeros_(self.end_in.weight)
            nn.init.zeros_(self.end_in.bias)
        if cfg.person_texts:  # each person's own text, zero at first (see ModelConfig)
            self.person_text_in = nn.Linear(2 * cfg.text_dim, W)
            nn.init.zeros_(self.person_text_in.weight)
            nn.init.zeros_(self.person_text_in.bias)
        self.adaln = nn.Sequential(nn.SiLU(), nn.Linear(W, MODULATIONS * W))  # shared by blocks
        self.blocks = nn.ModuleList(DenoiserBlock(cfg) for _ in range(cfg.layers))
        self.norm_out = nn.LayerNorm(W)
        self.head = nn.Linear(W, k * cfg.feature_dim)
        for zeroed in (self.adaln[1], self.head):  # AdaLN-Zero and a zero initial prediction
            nn.init.zeros_(zeroed.weight)
            nn.init.zeros_(zeroed.bias)

    def conditioning(self, t: torch.Tensor, cond: Condition, pooled: torch.Tensor) -> torch.Tensor:
        """c = emb(t) + emb(t_i) + emb(t_s) + Linear(pooled text), `(B, W)`."""
        return (
            self.step_emb(t)
            + self.interaction_emb(cond.interaction_start)
            + self.solo_emb(cond.solo_start)
            + self.pooled_in(pooled)
        )

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        cond: Condition,
        presence: torch.Tensor,
        valid: torch.Tensor,
    ) -> torch.Tensor:
        """Predict x0 `(B, P, T, D)` (normalised), exactly 0 at absent or padded frames.

        Args:
            x_t: noisy normalised pair features `(B, P, T, D)`, person x at index 0.
            t: diffusion steps `(B,)` long.
            cond: text, t_i, t_s and condition dropout.
            presence: `(B, P, T)` bool, person present in that frame.
            valid: `(B, T)` bool, False on padding.
        """
        self._check(x_t, t, cond, presence, valid)
        B, P, T, D = x_t.shape
        k = self.cfg.patch_frames
        frame_mask = presence & valid[:, None, :]  # (B, P, T)
        present = frame_mask[..., None].to(x_t.dtype)  # (B, P, T, 1)
        inp = torch.cat([torch.where(frame_mask[..., None], x_t, 0.0), present], -1)
        tokens = self.motion_in(patchify(inp, k))  # (B, P, T', W)
        Tp = tokens.shape[2]
        pos = frame_positions(Tp, k, self.cfg.width, x_t.device).to(tokens.dtype)  # (T', W)
        tokens = tokens + self.person[:P, None, :] + pos  # (B, P, T', W)
        if self.cfg.end_positions:
            tokens = tokens + self._end_positions(valid, cond, Tp)[:, None]
        text_tokens, text_mask, pooled = null_text(cond)  # (B, L, C), (B, L), (B, C)
        if self.cfg.person_texts:
            tokens = tokens + self._person_texts(cond, pooled, P)[:, :, None]
        token_mask = patch_mask(frame_mask, k)  # (B, P, T')
        L = text_tokens.shape[1]
        text_pos = sinusoidal_embedding(torch.arange(L, device=x_t.device), self.cfg.width)
        text = self.text_in(text_tokens) + self.text_type + text_pos.to(tokens.dtype)  # (B, L, W)
        c = self.conditioning(t, cond, pooled)  # (B, W)

        h = torch.cat([(c + self.cond_type)[:, None], text, tokens.flatten(1, 2)], 1)
        key_mask = torch.cat([text_mask.new_ones(B, 1), text_mask, token_mask.flatten(1)], 1)
        mod = self.adaln(c).view(B, MODULATIONS, -1)  # (B, 6, W)
        for block in self.blocks:
            h = block(h, mod, key_mask)  # (B, 1 + L + P·T', W)

        out = self.head(self.norm_out(h[:, 1 + L :])).view(B, P, Tp, -1)  # (B, P, T', k·D)
        x0 = unpatchify(out, k, T)  # (B, P, T, D)
        return torch.where(frame_mask[..., None], x0, 0.0)

    def _end_positions(self, valid: torch.Tensor, cond: Condition, tokens: int) -> torch.Tensor:
        """`(B, T', W)`: each token's frames to the last valid frame, where the motion ends
        there (`cond.motion_ends`), else zero."""
        k = self.cfg.patch_frames
        last = valid.sum(1).to(torch.float32) - 1  # (B,) last valid frame
        centre = torch.arange(tokens, device=valid.device) * k + (k - 1) / 2  # (T',)
        to_end = (last[:, None] - centre).clamp(min=0)  # (B, T')
        emb = self.end_in(sinusoidal_embedding(to_end, self.cfg.width).to(self.end_in.weight.dtype))
        return emb * cond.ends()[:, None, None].to(emb.dtype)

    def _person_texts(self, cond: Condition, pooled: torch.Tensor, people: int) -> torch.Tensor:
        """`(B, P, W)`: each person's own text through its layer, zero where that person has
        none or the sample's text is dropped (classifier-free guidance drops them all);
        `pooled (B, C)`: the main text as `null_text` leaves it (zero where dropped).

        The layer reads a person's sentence feature and its difference from the mean of the
        sample's texts (the main text's and the given per-person ones). A sentence feature
        trained to match motion says mostly which interaction a text belongs to: "leads the
        way" and "follows behind" are 0.79 alike, so a layer on the feature alone learned
        "a text is given", not whose role it is; the difference is what tells them apart."""
        features, given = cond.person_texts(people)  # (B, P, C), (B, P)
        given = given & ~cond.cond_drop[:, None]
        dtype = self.person_text_in.weight.dtype
        own = F.normalize(torch.where(given[..., None], features, 0.0).to(dtype), dim=-1)
        main = F.normalize(pooled, dim=-1)
        mean = (main.to(dtype) + own.sum(1)) / (1 + given.sum(1, keepdim=True)).to(dtype)
        emb = self.person_text_in(torch.cat([own, own - mean[:, None]], -1))
        return emb * given[..., None].to(emb.dtype)

    def _check(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        cond: Condition,
        presence: torch.Tensor,
        valid: torch.Tensor,
    ) -> None:
        cfg = self.cfg
        if x_t.dim() != 4 or x_t.shape[1] != cfg.people or x_t.shape[3] != cfg.feature_dim:
            raise InterSynError(
                f"x_t: expected shape (B, {cfg.people}, T, {cfg.feature_dim}), got {tuple(x_t.shape)}"
            )
        B, P, T, _ = x_t.shape
        if cfg.max_frames < T:
            raise InterSynError(f"x_t: {T} frames exceed max_frames={cfg.max_frames}")
        if tuple(t.shape) != (B,) or t.is_floating_point():
            raise InterSynError(
                f"t: expected integer tensor of shape ({B},), got {t.dtype} {tuple(t.shape)}"
            )
        for name, value, shape in (("presence", presence, (B, P, T)), ("valid", valid, (B, T))):
            if tuple(value.shape) != shape or value.dtype != torch.bool:
                raise InterSynError(
                    f"{name}: expected bool tensor of shape {shape}, got {value.dtype} {tuple(value.shape)}"
                )
        cond.check(B, cfg.text_dim)


def build_denoiser(cfg: ModelConfig) -> MotionDenoiser:
    """A freshly initialised M_s for `cfg`."""
    return MotionDenoiser(cfg)
