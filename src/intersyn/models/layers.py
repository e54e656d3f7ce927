"""Pieces shared by the denoiser and the coordinator: the Condition, embeddings, attention, patching.

Masks are bool and True means "takes part": a present person's valid frame, a real text token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from intersyn.errors import InterSynError

# ---------------------------------------------------------------------------------------------
# Conditioning
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """Everything the networks are conditioned on besides the motion (Eq. 6, 9–10).

    `interaction_start` (t_i) and `solo_start` (t_s) are frame indices; a negative value (use −1)
    means the sample has no such segment and selects its own learned embedding. Where `cond_drop`
    is True the text is replaced by a null (zero) text before any projection (classifier-free
    guidance, REFERENCE §4.1), so the output does not depend on it. `motion_ends` says the motion
    ends at the sample's last valid frame (a training window cut from a longer clip, or a long
    generation's inner window, goes on past it); a denoiser with `end_positions` reads each
    frame's distance to that end only there. None: not known (as False).
    """

    text_tokens: torch.Tensor  # (B, L, C_text) token-level text features
    text_mask: torch.Tensor  # (B, L) bool, True for real tokens
    text_pooled: torch.Tensor  # (B, C_text) sentence feature
    interaction_start: torch.Tensor  # (B,) long, t_i, −1 = no interaction segment
    solo_start: torch.Tensor  # (B,) long, t_s, −1 = no solo segment
    cond_drop: torch.Tensor  # (B,) bool, True = use the null text
    motion_ends: torch.Tensor | None = None  # (B,) bool, True = the motion ends with the sample
    # Each person's own sentence feature (`ModelConfig.person_texts`), zero rows where a person
    # has none; `person_text_mask` True where one is given. None: no one has one.
    person_text: torch.Tensor | None = None  # (B, P, C_text)
    person_text_mask: torch.Tensor | None = None  # (B, P) bool

    @property
    def batch_size(self) -> int:
        """B."""
        return self.text_pooled.shape[0]

    def check(self, batch: int, text_dim: int) -> None:
        """Raise InterSynError unless every field has the shape and dtype of a batch of `batch`."""
        if self.text_tokens.dim() != 3 or tuple(self.text_tokens.shape[::2]) != (batch, text_dim):
            raise InterSynError(
                f"cond.text_tokens: expected shape ({batch}, L, {text_dim}), "
                f"got {tuple(self.text_tokens.shape)}"
            )
        expected = {
            "text_mask": ((batch, self.text_tokens.shape[1]), "bool"),
            "text_pooled": ((batch, text_dim), "float"),
            "interaction_start": ((batch,), "int"),
            "solo_start": ((batch,), "int"),
            "cond_drop": ((batch,), "bool"),
            "motion_ends": ((batch,), "bool"),
        }
        if (self.person_text is None) != (self.person_text_mask is None):
            raise InterSynError("cond.person_text and cond.person_text_mask: give both or neither")
        if self.person_text is not None:
            people = self.person_text.shape[1] if self.person_text.dim() == 3 else -1
            expected["person_text"] = ((batch, people, text_dim), "float")
            expected["person_text_mask"] = ((batch, people), "bool")
        for name, (shape, kind) in expected.items():
            value = getattr(self, name)
            if value is None and name == "motion_ends":
                continue
            dtype_ok = {
                "bool": value.dtype == torch.bool,
                "float": value.is_floating_point(),
                "int": not value.is_floating_point() and value.dtype != torch.bool,
            }[kind]
            if tuple(value.shape) != shape or not dtype_ok:
                raise InterSynError(
                    f"cond.{name}: expected {kind} tensor of shape {shape}, "
                    f"got {value.dtype} {tuple(value.shape)}"
                )

    def ends(self) -> torch.Tensor:
        """`motion_ends` as a `(B,)` bool tensor (all False when not known)."""
        if self.motion_ends is not None:
            return self.motion_ends
        return torch.zeros(self.batch_size, dtype=torch.bool, device=self.text_pooled.device)

    def _map(self, fn) -> Condition:
        """A condition of `fn(field)` for each tensor field (None stays None)."""
        return Condition(*(_apply(fn, getattr(self, n)) for n in _CONDITION_FIELDS))

    def to(self, device: torch.device | str) -> Condition:
        """The same condition on `device`."""
        return self._map(lambda v: v.to(device))

    def repeat(self, times: int) -> Condition:
        """The whole batch tiled `times` times (B → B·times; sample i at rows i, B + i, ...)."""
        return self._map(lambda v: v.repeat(times, *(1,) * (v.dim() - 1)))

    def select(self, rows: torch.Tensor) -> Condition:
        """The samples at `rows` (an index or bool mask over the batch)."""
        return self._map(lambda v: v[rows])

    def person_texts(self, people: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`person_text (B, people, C)` and its mask `(B, people)`: zeros / False where no
        person text was given (all of them when the field is None)."""
        B, C = self.text_pooled.shape
        features = self.text_pooled.new_zeros(B, people, C)
        mask = torch.zeros(B, people, dtype=torch.bool, device=self.text_pooled.device)
        if self.person_text is not None:
            given = min(people, self.person_text.shape[1])
            features[:, :given] = self.person_text[:, :given]
            mask[:, :given] = self.person_text_mask[:, :given]
        return features, mask

    @staticmethod
    def cat(parts: list[Condition]) -> Condition:
        """Batches stacked in order; their text tokens must have the same length L."""
        known = any(p.motion_ends is not None for p in parts)  # else the result stays None
        people = max(
            (p.person_text.shape[1] for p in parts if p.person_text is not None), default=0
        )
        person = [p.person_texts(people) for p in parts] if people else None

        def joined(name: str) -> torch.Tensor | None:
            if name == "motion_ends":
                return torch.cat([p.ends() for p in parts]) if known else None
            if name in ("person_text", "person_text_mask"):
                column = name == "person_text_mask"
                return None if person is None else torch.cat([p[column] for p in person])
            return torch.cat([getattr(p, name) for p in parts])

        return Condition(*(joined(n) for n in _CONDITION_FIELDS))

    def repeat_interleave(self, repeats: int) -> Condition:
        """Each sample repeated `repeats` times in a row along the batch (B → B·repeats)."""
        return self._map(lambda v: v.repeat_interleave(repeats, dim=0))


def _apply(fn, value: torch.Tensor | None) -> torch.Tensor | None:
    return None if value is None else fn(value)


_CONDITION_FIELDS = (
    "text_tokens",
    "text_mask",
    "text_pooled",
    "interaction_start",
    "solo_start",
    "cond_drop",
    "motion_ends",
    "person_text",
    "person_text_mask",
)


def null_text(cond: Condition) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tokens `(B, L, C)`, token mask `(B, L)` and pooled `(B, C)` with dropped samples nulled.

    Dropped samples get zero features and no valid token, so whatever text they carried cannot
    reach the output (`where`, not a product, so NaN/inf in dropped text cannot leak either).
    """
    drop = cond.cond_drop
    tokens = torch.where(drop[:, None, None], 0.0, cond.text_tokens)
    pooled = torch.where(drop[:, None], 0.0, cond.text_pooled)
    mask = cond.text_mask & ~drop[:, None]
    return tokens, mask, pooled


# ---------------------------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------------------------


def sinusoidal_embedding(
    values: torch.Tensor, dim: int, max_period: float = 10000.0
) -> torch.Tensor:
    """Transformer sinusoids of `values (...)` → `(..., dim)`: [cos(v·f_k), sin(v·f_k)]."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, device=values.device, dtype=torch.float32) / half
    )
    args = values.float()[..., None] * freqs  # (..., half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ScalarEmbedding(nn.Module):
    """An integer (diffusion step or frame index) → sinusoid → Linear-SiLU-Linear, `(B,)` → `(B, W)`.

    With `absent=True` negative values (no such segment) map to their own learned vector.
    """

    def __init__(self, width: int, absent: bool = False) -> None:
        super().__init__()
        self.width = width
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.absent = nn.Parameter(torch.randn(width) * 0.02) if absent else None

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        emb = self.mlp(sinusoidal_embedding(values.clamp_min(0), self.width))  # (B, W)
        if self.absent is not None:
            emb = torch.where(values[:, None] < 0, self.absent.to(emb.dtype), emb)
        return emb


def frame_positions(tokens: int, patch: int, width: int, device: torch.device) -> torch.Tensor:
    """Sinusoids of each token's centre frame, `(T', W)`: positions in frames whatever the patch."""
    centre = torch.arange(tokens, device=device) * patch + (patch - 1) / 2
    return sinusoidal_embedding(centre, width)


# ---------------------------------------------------------------------------------------------
# Transformer parts
# ---------------------------------------------------------------------------------------------


class Attention(nn.Module):
    """Multi-head attention of queries `(B, N, W)` over a context `(B, M, W)` (itself by default).

    `key_mask (B, M)` bool drops keys that are False; callers keep at least one key per sample
    (a conditioning or null token), so no softmax row is empty. One fused q|k|v projection: for
    self-attention it is a single matmul (fewer kernels on CPU), for cross-attention it is split.
    """

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(
        self, x: torch.Tensor, key_mask: torch.Tensor, context: torch.Tensor | None = None
    ) -> torch.Tensor:
        B, N, W = x.shape
        hs = W // self.heads
        if context is None:
            q, k, v = self.qkv(x).view(B, N, 3, self.heads, hs).permute(2, 0, 3, 1, 4)
        else:
            M = context.shape[1]
            q = F.linear(x, self.qkv.weight[:W], self.qkv.bias[:W])
            q = q.view(B, N, self.heads, hs).transpose(1, 2)
            kv = F.linear(context, self.qkv.weight[W:], self.qkv.bias[W:])
            k, v = kv.view(B, M, 2, self.heads, hs).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(
            q,  # (B, h, N, hs)
            k,  # (B, h, M, hs)
            v,
            attn_mask=key_mask[:, None, None, :],  # (B, 1, 1, M) broadcast over heads and queries
            dropout_p=self.dropout if self.training else 0.0,
        )  # (B, h, N, hs)
        return self.out(y.transpose(1, 2).reshape(B, N, W))


class FeedForward(nn.Module):
    """Position-wise Linear-GELU-Linear with dropout, `(B, N, W)` → `(B, N, W)`."""

    def __init__(self, width: int, mult: int, dropout: float) -> None:
        super().__init__()
        self.up = nn.Linear(width, mult * width)
        self.down = nn.Linear(mult * width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.down(F.gelu(self.up(x))))


# ---------------------------------------------------------------------------------------------
# Temporal patching and masks
# ---------------------------------------------------------------------------------------------


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """Group `patch` consecutive frames per token, zero-padding T up: `(..., T, C)` → `(..., T', patch·C)`."""
    frames, channels = x.shape[-2:]
    tokens = -(-frames // patch)
    x = F.pad(x, (0, 0, 0, tokens * patch - frames))
    return x.reshape(*x.shape[:-2], tokens, patch * channels)


def unpatchify(y: torch.Tensor, patch: int, frames: int) -> torch.Tensor:
    """Inverse of `patchify`, dropping the padding: `(..., T', patch·C)` → `(..., frames, C)`."""
    tokens, width = y.shape[-2:]
    return y.reshape(*y.shape[:-2], tokens * patch, width // patch)[..., :frames, :]


def patch_mask(mask: torch.Tensor, patch: int) -> torch.Tensor:
    """A token takes part if any of its frames does: `(..., T)` bool → `(..., T')` bool."""
    return patchify(mask[..., None], patch).any(-1)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `h (B, N, W)` over the tokens where `mask (B, N)` is True → `(B, W)` (0 if none)."""
    weights = mask.to(h.dtype)[..., None]  # (B, N, 1)
    return (h * weights).sum(1) / weights.sum(1).clamp_min(1.0)
