"""Weighted totals L_I (Eq. 7), L_R (Eq. 12) and their weights; L = L_I + L_R (Eq. 13).

Stage 1 trains INS with `total_ins_loss`, stage 2 the coordinator with `total_rec_loss`
(SPEC.md §3), so Eq. 13's sum is never formed in one step. Each total returns a dict holding
the batch mean of every computed term (unweighted, for TensorBoard) and "total", the weighted
sum to back-propagate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from intersyn.errors import InterSynError
from intersyn.kinematics.pair import PLACEMENT_DIM
from intersyn.kinematics.representation import CONTACT_THRESHOLD
from intersyn.losses.geometric import (
    bone_length_loss,
    foot_contact_loss,
    position_loss,
    velocity_loss,
)
from intersyn.losses.reconstruction import reconstruction_loss, smoothness_loss
from intersyn.losses.relation import distance_map_loss, joint_affinity_loss, relation_loss

GEOMETRIC_ROOTS = ("integrated", "teacher", "both", "heading", "teacher_solo")


@dataclass(frozen=True)
class LossConfig:
    """Loss weights and thresholds; the λs are the paper's (§5.1) defaults."""

    lambda_rec: float = 1.0  # λ1, L_rec (Eq. 7)
    lambda_smooth: float = 0.1  # λ2, L_smooth (Eq. 7–8)
    lambda_rela: float = 1.0  # λ3, L_rela (Eq. 12)
    lambda_dm: float = 0.5  # λ4, L_dm (Eq. 12)
    # Weight of each placement channel (cos ψ, sin ψ, x, z) inside L_rec relative to a pose
    # channel. With 1, the 4 channels that place the partner are 1.5% of L_rec and the
    # denoiser learns only their mean (partners face the wrong way); 16 makes them ~20%.
    placement_weight: float = 16.0
    # The same for each of the 4 root channels (rotation velocity, x/z velocity, height); with
    # "teacher" decoding (below), 8 made a 400-step model fit the x/z velocities better (MSE
    # 0.03 / 0.09 against 0.05 / 0.19 at 1; variances 0.16 / 1.55).
    root_weight: float = 1.0
    # Geometric terms "as in MDM, on by default" (SPEC §3); MDM's recipe uses weight 1 each.
    position: float = 1.0
    velocity: float = 1.0
    foot_contact: float = 1.0
    bone_length: float = 0.0  # InterGen's BL: available, off (SPEC lists only the three above)
    joint_affinity: float = 0.0  # InterGen's JA: available, off (the paper cites only DM)
    smooth_window: int = 5  # ±frames around each boundary (§4.1)
    dm_threshold: float = 1.0  # metres; DM counts pairs predicted closer than this (InterGen)
    ja_threshold: float = 0.1  # metres; JA counts pairs closer than this in the ground truth
    contact_threshold: float = CONTACT_THRESHOLD  # m² per frame, GT foot contact (263-dim rule)
    # InterGen damps every term but L_rec to samples with t <= 700; None = no damping (MDM).
    geometric_max_t: int | None = None
    # How the stage-1 geometric terms decode the predicted roots. "integrated" (the shipped
    # model's first 6500 stage-1 steps) integrates the predicted velocities over the whole
    # clip: an early root error moves every later frame, which likely teaches where people end
    # up (partners walk up to person x) but drowns what L_rec teaches the root channels, so
    # such models barely turn (rotation-velocity x0 error / variance 0.91 even at step 10).
    # "teacher" follows the target's root trajectory plus each frame's one-step deviation: a
    # model trained so turns (0.15) but its partners no longer reach person x
    # (bench/turning.py, bench/interleaved_meeting.py; README "Training your own model").
    # "both": the teacher decoding for every geometric term, plus the position term on the
    # integrated decoding ("position_integrated", weight `position`) for where people end up.
    # "heading": the teacher's heading only (a rotation error counts once), positions
    # integrated from the predicted velocities along it (a velocity error still moves every
    # later frame). Neither "both" nor "heading" kept partners meeting person x after a solo
    # action (README).
    # "teacher_solo" (the shipped model's last 2000 stage-1 steps): "teacher" for samples with
    # a solo segment (solo clips, interleaved layouts), "integrated" for interaction-only
    # samples, whose partners' placement is what "teacher" cost in the same fine-tune.
    geometric_root: str = "integrated"

    def __post_init__(self) -> None:
        if self.geometric_root not in GEOMETRIC_ROOTS:
            raise InterSynError(
                f"LossConfig.geometric_root={self.geometric_root!r}; expected one of "
                f"{', '.join(GEOMETRIC_ROOTS)}"
            )
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "geometric_root":
                continue
            if f.name in ("smooth_window", "geometric_max_t"):
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int) or value < 0
                ):
                    raise InterSynError(f"LossConfig.{f.name}={value!r} must be an integer >= 0")
            elif not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise InterSynError(f"LossConfig.{f.name}={value!r} must be a finite number >= 0")
        for name in ("dm_threshold", "ja_threshold", "contact_threshold"):
            if getattr(self, name) <= 0:
                raise InterSynError(f"LossConfig.{name}={getattr(self, name)!r} must be > 0")


def _need(value: torch.Tensor | None, name: str, weight: str) -> torch.Tensor:
    if value is None:
        raise InterSynError(f"{name}: required while LossConfig.{weight} > 0 (set it to 0 to skip)")
    return value


def _batch_mean(per_sample: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Mean over the batch, or over the samples in `keep` (timestep damping); 0 if none."""
    if keep is None:
        return per_sample.mean()
    keep = keep.to(per_sample.dtype)
    return (per_sample * keep).sum() / keep.sum().clamp(min=1)


def _total(terms: dict[str, tuple[float, torch.Tensor]]) -> dict[str, torch.Tensor]:
    out = {name: value for name, (_, value) in terms.items()}
    out["total"] = sum(weight * value for weight, value in terms.values())
    return out


def total_ins_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    config: LossConfig | None = None,
    *,
    joints_pred: torch.Tensor | None = None,
    joints_target: torch.Tensor | None = None,
    boundaries: torch.Tensor | None = None,
    t: torch.Tensor | None = None,
    joints_integrated: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """L_I = λ1 L_rec + λ2 L_smooth (Eq. 7) plus the weighted geometric terms.

    Args:
        pred, target: predicted and clean normalised x0 `(B, P, T, D)`.
        mask: `(B, P, T)` bool, presence × padding.
        config: weights (default `LossConfig()`); a term with weight 0 is not computed.
        joints_pred, joints_target: de-normalised joint positions `(B, P, T, 22, 3)`, metres;
            needed by L_smooth and the geometric terms.
        boundaries: `(B, S)` long segment starts (−1 = padding); needed by L_smooth.
        t: diffusion steps `(B,)`; needed when `config.geometric_max_t` is set.
        joints_integrated: the prediction's joints with roots integrated over the clip, when
            `joints_pred` follow the teacher's roots; needed by `geometric_root="both"`.

    Returns:
        {"rec", "smooth", "position", "velocity", "foot_contact", "bone_length",
        "position_integrated" (those computed): scalar batch means, "total": the weighted sum}.
    """
    cfg = config or LossConfig()
    keep = None
    if cfg.geometric_max_t is not None:
        keep = _need(t, "t", "geometric_max_t") <= cfg.geometric_max_t
    terms: dict[str, tuple[float, torch.Tensor]] = {}
    if cfg.lambda_rec > 0:
        rec = reconstruction_loss(
            pred, target, mask, cfg.placement_weight, PLACEMENT_DIM, cfg.root_weight
        )
        terms["rec"] = (cfg.lambda_rec, rec.mean())
    if cfg.lambda_smooth > 0:
        joints = _need(joints_pred, "joints_pred", "lambda_smooth")
        bounds = _need(boundaries, "boundaries", "lambda_smooth")
        value = smoothness_loss(joints, bounds, mask, cfg.smooth_window)
        terms["smooth"] = (cfg.lambda_smooth, _batch_mean(value, keep))
    geometric = {
        "position": (cfg.position, position_loss),
        "velocity": (cfg.velocity, velocity_loss),
        "bone_length": (cfg.bone_length, bone_length_loss),
    }
    for name, (weight, loss) in geometric.items():
        if weight > 0:
            a = _need(joints_pred, "joints_pred", name)
            b = _need(joints_target, "joints_target", name)
            terms[name] = (weight, _batch_mean(loss(a, b, mask), keep))
    if cfg.foot_contact > 0:
        a = _need(joints_pred, "joints_pred", "foot_contact")
        b = _need(joints_target, "joints_target", "foot_contact")
        value = foot_contact_loss(a, b, mask, threshold=cfg.contact_threshold)
        terms["foot_contact"] = (cfg.foot_contact, _batch_mean(value, keep))
    if cfg.geometric_root == "both" and cfg.position > 0:
        if joints_integrated is None:
            raise InterSynError(
                "joints_integrated: required while LossConfig.geometric_root='both' and "
                "position > 0"
            )
        a, b = joints_integrated, _need(joints_target, "joints_target", "position")
        terms["position_integrated"] = (cfg.position, _batch_mean(position_loss(a, b, mask), keep))
    return _total(terms)


def total_rec_loss(
    refined: torch.Tensor,
    reference: torch.Tensor,
    mask: torch.Tensor,
    config: LossConfig | None = None,
    *,
    joints_pred: torch.Tensor | None = None,
    joints_target: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """L_R = λ3 L_rela(φ_y, û_y) + λ4 L_dm (Eq. 12), plus InterGen's JA when weighted.

    Args:
        refined: φ_y, the coordinator's refined partner motion `(B, T, D)`.
        reference: û_y, the reference motion, same shape.
        mask: `(B, T)` bool, frames where both people are present and valid.
        config: weights (default `LossConfig()`).
        joints_pred: `(B, 2, T, 22, 3)` joints of the refined pair (φ_x, φ_y), metres.
        joints_target: `(B, 2, T, 22, 3)` ground-truth joints of the pair (x, y).

    Returns:
        {"rela", "dm", "joint_affinity" (those computed): scalar batch means, "total"}.
    """
    cfg = config or LossConfig()
    terms: dict[str, tuple[float, torch.Tensor]] = {}
    if cfg.lambda_rela > 0:
        terms["rela"] = (cfg.lambda_rela, relation_loss(refined, reference, mask).mean())
    for name, weight, loss, threshold in (
        ("dm", cfg.lambda_dm, distance_map_loss, cfg.dm_threshold),
        ("joint_affinity", cfg.joint_affinity, joint_affinity_loss, cfg.ja_threshold),
    ):
        if weight > 0:
            a = _need(joints_pred, "joints_pred", name if name != "dm" else "lambda_dm")
            b = _need(joints_target, "joints_target", name if name != "dm" else "lambda_dm")
            if a.dim() != 5 or a.shape[1] != 2:
                raise InterSynError(f"joints_pred: expected (B, 2, T, J, 3), got {tuple(a.shape)}")
            value = loss(a[:, 0], a[:, 1], b[:, 0], b[:, 1], mask, threshold)
            terms[name] = (weight, value.mean())
    return _total(terms)
