"""The coordinator M_c (Eq. 9–10): refines one person's generated motion against a partner's.

φ = M_c(û_a, û_b, w_u): a Transformer over person a's frame tokens (with the text as prefix
tokens) that cross-attends to the partner b's frame tokens, and returns

    φ = û_a + m ⊙ (Δ_rigid + Δ_residual)

where m is a's presence, Δ_rigid moves a's 4 placement channels (cos ψ, sin ψ, x, z) by one
predicted rigid yaw + floor translation per sequence (§4.2: "translation and rotation on the
spatial positions"), and Δ_residual is a per-frame residual on all channels ("a rationalization
of its trajectory"). Both heads start at zero, so at initialisation φ = û_a exactly.

Placement notation (kinematics/pair.py): a person's canonical frame sits in person x's frame at
heading ψ and floor origin o = (x, z). A correction (Δψ, Δx, Δz) turns the person about its own
origin and shifts it: ψ' = ψ + Δψ, o' = o + (Δx, Δz), i.e. world' = R_y(Δψ)(world − o) + o + Δ.
"""

from __future__ import annotations

import torch
from torch import nn

from intersyn.errors import InterSynError
from intersyn.kinematics.pair import PLACEMENT_DIM
from intersyn.models.config import ModelConfig
from intersyn.models.layers import (
    Attention,
    Condition,
    FeedForward,
    frame_positions,
    masked_mean,
    null_text,
    patch_mask,
    patchify,
    sinusoidal_embedding,
    unpatchify,
)

RIGID_DIM = 3  # (Δψ radians, Δx metres, Δz metres)


def placement_increment(
    motion: torch.Tensor, delta: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
) -> torch.Tensor:
    """The change of normalised `motion (B, T, D)` that a rigid correction `delta (B, 3)` makes.

    The last 4 channels are de-normalised with `mean (D,)`/`std (D,)`, (cos ψ, sin ψ) rotated by
    Δψ and (x, z) shifted by (Δx, Δz), then re-normalised; the result is their difference, zero on
    every other channel. It is computed as a difference so that Δ = 0 gives exactly zero.
    """
    place = slice(motion.shape[-1] - PLACEMENT_DIM, motion.shape[-1])
    m, s = mean[place].to(motion.dtype), std[place].to(motion.dtype)  # (4,)
    cos_psi, sin_psi, x, z = (motion[..., place] * s + m).unbind(-1)  # (B, T) each, metric
    d_psi, dx, dz = (d[:, None] for d in delta.to(motion.dtype).unbind(-1))  # (B, 1) each
    cd, sd = torch.cos(d_psi), torch.sin(d_psi)
    change = torch.stack(
        (
            cos_psi * (cd - 1) - sin_psi * sd,  # cos(ψ + Δψ) − cos ψ
            sin_psi * (cd - 1) + cos_psi * sd,  # sin(ψ + Δψ) − sin ψ
            dx.expand_as(x),
            dz.expand_as(z),
        ),
        -1,
    )  # (B, T, 4) metric
    pose = motion.new_zeros(*motion.shape[:-1], motion.shape[-1] - PLACEMENT_DIM)
    return torch.cat([pose, change / s], -1)  # (B, T, D)


def apply_placement_correction(
    motion: torch.Tensor, delta: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
) -> torch.Tensor:
    """Rigidly correct normalised `motion (B, T, D)` by `delta (B, 3)` = (Δψ, Δx, Δz) per sequence."""
    return motion + placement_increment(motion, delta, mean, std)


class CoordinatorBlock(nn.Module):
    """Pre-norm block: self-attention (text + own frames), cross-attention to the partner, FFN."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        W = cfg.coordinator_width
        self.norm1 = nn.LayerNorm(W)
        self.attn = Attention(W, cfg.coordinator_heads, cfg.dropout)
        self.norm2 = nn.LayerNorm(W)
        self.cross = Attention(W, cfg.coordinator_heads, cfg.dropout)
        self.norm3 = nn.LayerNorm(W)
        self.ff = FeedForward(W, cfg.ff_mult, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self,
        h: torch.Tensor,
        key_mask: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor,
    ) -> torch.Tensor:
        """`h (B, N, W)`, `key_mask (B, N)`, partner `memory (B, M, W)`, `memory_mask (B, M)`."""
        h = h + self.drop(self.attn(self.norm1(h), key_mask))
        h = h + self.drop(self.cross(self.norm2(h), memory_mask, context=memory))
        return h + self.ff(self.norm3(h))


class Coordinator(nn.Module):
    """M_c: refine `motion (B, T, D)` given `partner (B, T, D)` and the text (Eq. 9–10)."""

    mean: torch.Tensor  # (D,) normalisation statistics of the pair feature, set by the caller
    std: torch.Tensor  # (D,)

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        W, k, D = cfg.coordinator_width, cfg.coordinator_patch_frames, cfg.feature_dim
        self.motion_in = nn.Linear(k * (D + 1), W)  # +1: the presence channel
        self.partner_in = nn.Linear(k * (D + 1), W)
        self.null_partner = nn.Parameter(torch.randn(W) * 0.02)  # always-valid key: partner absent
        self.text_in = nn.Linear(cfg.text_dim, W)
        self.text_type = nn.Parameter(torch.randn(W) * 0.02)
        self.pooled_in = nn.Linear(cfg.text_dim, W)  # the sentence as a prefix token
        self.blocks = nn.ModuleList(CoordinatorBlock(cfg) for _ in range(cfg.coordinator_layers))
        self.norm_out = nn.LayerNorm(W)
        self.residual_head = nn.Linear(W, k * D)
        self.rigid_head = nn.Linear(W, RIGID_DIM)
        for zeroed in (self.residual_head, self.rigid_head):  # identity at initialisation
            nn.init.zeros_(zeroed.weight)
            nn.init.zeros_(zeroed.bias)
        self.register_buffer("mean", torch.zeros(D))
        self.register_buffer("std", torch.ones(D))

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the pair feature's `mean (D,)` and `std (D,)` so placements can be de-normalised."""
        D = self.cfg.feature_dim
        for name, value in (("mean", mean), ("std", std)):
            value = torch.as_tensor(value)
            if tuple(value.shape) != (D,) or not torch.isfinite(value).all():
                raise InterSynError(
                    f"{name}: expected {D} finite values, got shape {tuple(value.shape)}"
                )
        std = torch.as_tensor(std)
        if not (std > 0).all():
            raise InterSynError(
                f"std: expected positive values, got minimum {std.min().item():.3g}"
            )
        self.mean.copy_(torch.as_tensor(mean))
        self.std.copy_(std)

    def _embed(
        self, proj: nn.Linear, motion: torch.Tensor, frame_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame tokens `(B, T', W)` with positions, and their mask `(B, T')`."""
        k = self.cfg.coordinator_patch_frames
        inp = torch.cat(
            [
                torch.where(frame_mask[..., None], motion, 0.0),
                frame_mask[..., None].to(motion.dtype),
            ],
            -1,
        )  # (B, T, D + 1)
        tokens = proj(patchify(inp, k))  # (B, T', W)
        pos = frame_positions(tokens.shape[1], k, self.cfg.coordinator_width, motion.device)
        return tokens + pos.to(tokens.dtype), patch_mask(frame_mask, k)

    def forward(
        self,
        motion: torch.Tensor,
        partner: torch.Tensor,
        cond: Condition,
        presence: torch.Tensor,
        valid: torch.Tensor,
    ) -> torch.Tensor:
        """Refined normalised motion `(B, T, D)`; frames where the person is absent are unchanged.

        Args:
            motion: the person to refine, normalised pair features `(B, T, D)`.
            partner: the reference person, `(B, T, D)`, in the same (person x's) frame.
            cond: the text (t_i and t_s are not used: presence already marks the segments).
            presence: `(B, 2, T)` bool, index 0 the person, 1 the partner.
            valid: `(B, T)` bool, False on padding.
        """
        self._check(motion, partner, cond, presence, valid)
        B, T, D = motion.shape
        k = self.cfg.coordinator_patch_frames
        own = presence[:, 0] & valid  # (B, T)
        other = presence[:, 1] & valid
        tokens, token_mask = self._embed(self.motion_in, motion, own)  # (B, T', W), (B, T')
        memory, memory_mask = self._embed(self.partner_in, partner, other)
        memory = torch.cat([self.null_partner.expand(B, 1, -1).to(memory.dtype), memory], 1)
        memory_mask = torch.cat([memory_mask.new_ones(B, 1), memory_mask], 1)  # (B, 1 + T')

        text_tokens, text_mask, pooled = null_text(cond)
        L = text_tokens.shape[1]
        text_pos = sinusoidal_embedding(
            torch.arange(L, device=motion.device), self.cfg.coordinator_width
        )
        text = self.text_in(text_tokens) + self.text_type + text_pos.to(tokens.dtype)  # (B, L, W)
        h = torch.cat([self.pooled_in(pooled)[:, None], text, tokens], 1)  # (B, 1 + L + T', W)
        key_mask = torch.cat([text_mask.new_ones(B, 1), text_mask, token_mask], 1)
        for block in self.blocks:
            h = block(h, key_mask, memory, memory_mask)

        h = self.norm_out(h[:, 1 + L :])  # (B, T', W)
        residual = unpatchify(self.residual_head(h), k, T)  # (B, T, D)
        delta = self.rigid_head(masked_mean(h, token_mask))  # (B, 3) one correction per sequence
        update = placement_increment(motion, delta, self.mean, self.std) + residual
        return motion + torch.where(own[..., None], update, 0.0)

    def refine_group(
        self,
        motions: torch.Tensor,
        cond: Condition,
        presence: torch.Tensor,
        valid: torch.Tensor,
        reference_index: int = 0,
    ) -> torch.Tensor:
        """Refine every person of `motions (B, K, T, D)` against the reference person (SPEC §3).

        The reference is returned unchanged; the K − 1 others are refined in one batched call.
        `presence (B, K, T)`, `valid (B, T)`; `cond` is each sample's shared text.
        """
        if motions.dim() != 4:
            raise InterSynError(f"motions: expected shape (B, K, T, D), got {tuple(motions.shape)}")
        B, K, T, D = motions.shape
        if not 0 <= reference_index < K:
            raise InterSynError(
                f"reference_index: expected 0 <= index < {K}, got {reference_index}"
            )
        if tuple(presence.shape) != (B, K, T):
            raise InterSynError(
                f"presence: expected shape {(B, K, T)}, got {tuple(presence.shape)}"
            )
        if K == 1:
            return motions
        others = [i for i in range(K) if i != reference_index]
        n = len(others)
        motion = motions[:, others].reshape(B * n, T, D)  # sample-major: b0k1, b0k2, b1k1, ...
        partner = motions[:, reference_index, None].expand(B, n, T, D).reshape(B * n, T, D)
        pair_presence = torch.stack(
            [presence[:, others], presence[:, reference_index, None].expand(B, n, T)], 2
        ).reshape(B * n, 2, T)
        refined = self(
            motion, partner, cond.repeat_interleave(n), pair_presence, valid.repeat_interleave(n, 0)
        ).reshape(B, n, T, D)
        out = motions.clone()
        out[:, others] = refined
        return out

    def _check(
        self,
        motion: torch.Tensor,
        partner: torch.Tensor,
        cond: Condition,
        presence: torch.Tensor,
        valid: torch.Tensor,
    ) -> None:
        D = self.cfg.feature_dim
        if motion.dim() != 3 or motion.shape[2] != D:
            raise InterSynError(f"motion: expected shape (B, T, {D}), got {tuple(motion.shape)}")
        B, T, _ = motion.shape
        if self.cfg.max_frames < T:
            raise InterSynError(f"motion: {T} frames exceed max_frames={self.cfg.max_frames}")
        if tuple(partner.shape) != (B, T, D):
            raise InterSynError(f"partner: expected shape {(B, T, D)}, got {tuple(partner.shape)}")
        for name, value, shape in (("presence", presence, (B, 2, T)), ("valid", valid, (B, T))):
            if tuple(value.shape) != shape or value.dtype != torch.bool:
                raise InterSynError(
                    f"{name}: expected bool tensor of shape {shape}, got {value.dtype} {tuple(value.shape)}"
                )
        cond.check(B, self.cfg.text_dim)


def build_coordinator(cfg: ModelConfig) -> Coordinator:
    """A freshly initialised M_c for `cfg` (identity until trained; call `set_normalization`)."""
    return Coordinator(cfg)
