"""Loss functions on hand-made inputs with known answers."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from intersyn.errors import InterSynError
from intersyn.kinematics.skeleton import PARENTS, REFERENCE_BONE_LENGTHS, reference_offsets
from intersyn.losses import (
    LossConfig,
    bone_length_loss,
    boundary_window,
    distance_map_loss,
    foot_contact_loss,
    joint_affinity_loss,
    position_loss,
    reconstruction_loss,
    relation_loss,
    smoothness_loss,
    total_ins_loss,
    total_rec_loss,
    velocity_loss,
)

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def rest_pose() -> torch.Tensor:
    """Reference-skeleton rest pose `(22, 3)`: joint positions as cumulative offsets."""
    offsets = reference_offsets()
    pos = torch.zeros(22, 3, dtype=F64)
    for j in range(1, 22):  # tiny fixture, not a hot path
        pos[j] = pos[PARENTS[j]] + offsets[j]
    return pos + torch.tensor([0.0, 0.95, 0.0], dtype=F64)


def random_joints(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Rest pose plus seeded jitter, `(*shape, 22, 3)`."""
    return rest_pose() + 0.05 * torch.randn(*shape, 22, 3, generator=gen(seed), dtype=F64)


# --------------------------------------------------------------------------------------------
# Reconstruction
# --------------------------------------------------------------------------------------------


def test_reconstruction_zero_offset_and_masking() -> None:
    target = torch.randn(3, 2, 6, 5, generator=gen(0), dtype=F64)
    mask = torch.ones(3, 2, 6, dtype=torch.bool)
    assert torch.equal(reconstruction_loss(target.clone(), target, mask), torch.zeros(3, dtype=F64))
    torch.testing.assert_close(
        reconstruction_loss(target + 0.3, target, mask), torch.full((3,), 0.09, dtype=F64)
    )

    pred = target + 0.3
    pred[0, 0, 2] = 1e6  # a padded frame
    pred[1, 1, :] = float("inf")  # person 1 absent in the whole sample
    pred[2, 0, 4] = float("nan")
    mask[0, 0, 2] = False
    mask[1, 1, :] = False
    mask[2, 0, 4] = False
    loss = reconstruction_loss(pred, target, mask)
    torch.testing.assert_close(loss, torch.full((3,), 0.09, dtype=F64))


def test_reconstruction_averages_valid_entries_per_sample_independently() -> None:
    target = torch.zeros(2, 2, 4, 3, dtype=F64)
    pred = target.clone()
    pred[0, 0] = 1.0  # sample 0: person 0 all 1 (squared 1), person 1 all 0
    pred[1, :, :2] = 2.0  # sample 1: first two frames 2 (squared 4), last two 0
    mask = torch.ones(2, 2, 4, dtype=torch.bool)
    mask[1, :, 2:] = False
    loss = reconstruction_loss(pred, target, mask)
    torch.testing.assert_close(loss, torch.tensor([0.5, 4.0], dtype=F64))
    # Changing sample 1 must not move sample 0.
    pred[1] += 5.0
    assert reconstruction_loss(pred, target, mask)[0].item() == 0.5
    # A sample with no valid entries scores 0, not NaN.
    mask[0] = False
    assert reconstruction_loss(pred, target, mask)[0].item() == 0.0


def test_reconstruction_gradient_is_zero_on_masked_entries() -> None:
    target = torch.zeros(1, 2, 3, 2, dtype=F64)
    pred = torch.full((1, 2, 3, 2), 1e30, dtype=F64, requires_grad=True)
    mask = torch.zeros(1, 2, 3, dtype=torch.bool)
    mask[0, 0, 0] = True
    with torch.no_grad():
        pred[0, 0, 0] = 0.5
        pred[0, 1, 2] = float("nan")  # garbage in a padded frame must not poison the gradient
    reconstruction_loss(pred, target, mask).sum().backward()
    grad = pred.grad
    assert torch.isfinite(grad).all()
    torch.testing.assert_close(grad[0, 0, 0], torch.full((2,), 0.5, dtype=F64))  # d/dx mean(x²) = x
    assert grad.abs().sum().item() == pytest.approx(1.0)


def test_reconstruction_rejects_bad_masks() -> None:
    x = torch.zeros(2, 2, 3, 4)
    with pytest.raises(InterSynError, match=r"mask: expected a bool tensor of shape \(2, 2, 3\)"):
        reconstruction_loss(x, x, torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(InterSynError, match="mask"):
        reconstruction_loss(x, x, torch.ones(2, 2, 3))
    with pytest.raises(InterSynError, match="shapes differ"):
        reconstruction_loss(x, x[..., :2], torch.ones(2, 2, 3, dtype=torch.bool))


# --------------------------------------------------------------------------------------------
# Smoothness (Eq. 8)
# --------------------------------------------------------------------------------------------


def trajectory(T: int, fn) -> torch.Tensor:
    """Joints `(1, 1, T, 2, 3)` whose every joint follows `fn(t) -> (T, 3)`, offset per joint."""
    t = torch.arange(T, dtype=F64)
    path = fn(t)
    return (path[:, None, :] + torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=F64))[
        None, None
    ]


def test_smoothness_of_linear_is_zero_and_of_quadratic_is_2a_squared() -> None:
    T = 30
    mask = torch.ones(1, 1, T, dtype=torch.bool)
    bounds = torch.tensor([[15]])
    v = torch.tensor([0.02, -0.01, 0.05], dtype=F64)
    linear = trajectory(T, lambda t: 1.0 + t[:, None] * v)
    assert smoothness_loss(linear, bounds, mask).item() == pytest.approx(0.0, abs=1e-28)
    a = torch.tensor([0.01, 0.003, 0.0], dtype=F64)
    quad = trajectory(T, lambda t: t[:, None] ** 2 * a + t[:, None] * v)
    expected = ((2 * a) ** 2).sum().item()  # ‖p'' ‖² with p'' = 2a at every frame
    assert smoothness_loss(quad, bounds, mask).item() == pytest.approx(expected, rel=1e-9)


def kink(T: int, k: int, d: torch.Tensor) -> torch.Tensor:
    """A linear path whose velocity jumps by `d` after frame k: acceleration d at frame k only.

    Slopes are dyadic so the acceleration elsewhere is exactly 0 in floating point.
    """
    return trajectory(T, lambda t: (t - k).clamp(min=0)[:, None] * d + 0.25 * t[:, None])


def test_smoothness_counts_only_the_boundary_window() -> None:
    T, k = 40, 20
    d = torch.tensor([0.75, 0.0, 1.0], dtype=F64)  # dyadic, so other frames are exactly 0
    joints = kink(T, k, d)
    mask = torch.ones(1, 1, T, dtype=torch.bool)
    # Boundary 15, window 5: frames 10..20 counted (11 frames), the kink at 20 is the edge.
    assert smoothness_loss(joints, torch.tensor([[15]]), mask).item() == pytest.approx(1.5625 / 11)
    assert smoothness_loss(joints, torch.tensor([[14]]), mask).item() == 0.0  # 6 frames away
    assert smoothness_loss(joints, torch.tensor([[-1, -1]]), mask).item() == 0.0  # no boundary
    assert smoothness_loss(
        joints, torch.tensor([[-1, 22]]), mask, window=2
    ).item() == pytest.approx(1.5625 / 5)
    # Two overlapping boundaries count the union of their windows once.
    assert smoothness_loss(joints, torch.tensor([[18, 20]]), mask).item() == pytest.approx(
        1.5625 / 13
    )
    # The acceleration at 20 needs frames 19..21 valid; drop 21 and it is no longer counted.
    mask[0, 0, 21] = False
    assert smoothness_loss(joints, torch.tensor([[20]]), mask).item() == 0.0


def test_smoothness_ignores_absent_people_and_is_per_sample() -> None:
    T = 30
    d = torch.tensor([0.0, 0.5, 0.0], dtype=F64)
    smooth = kink(T, 10, torch.zeros(3, dtype=F64))[0, 0]
    rough = kink(T, 10, d)[0, 0]
    joints = torch.stack(
        [torch.stack([smooth, rough]), torch.stack([rough, rough])]
    )  # (2, 2, T, 2, 3)
    mask = torch.ones(2, 2, T, dtype=torch.bool)
    mask[0, 1] = False  # sample 0: the rough person is absent
    bounds = torch.tensor([[10], [10]])
    loss = smoothness_loss(joints, bounds, mask)
    assert loss[0].item() == 0.0
    assert loss[1].item() == pytest.approx(0.25 / 11)
    assert boundary_window(torch.tensor([[2, -1]]), 6, 1).tolist() == [
        [False, True, True, True, False, False]
    ]
    with pytest.raises(InterSynError, match=r"boundaries: frame indices must lie in \[0, 29\]"):
        smoothness_loss(joints, torch.tensor([[10], [30]]), mask)


# --------------------------------------------------------------------------------------------
# Relation and distance maps (Eq. 11–12)
# --------------------------------------------------------------------------------------------


def test_relation_loss_known_offset_and_mask() -> None:
    u = torch.randn(2, 5, 7, generator=gen(1), dtype=F64)
    mask = torch.ones(2, 5, dtype=torch.bool)
    phi = u + torch.tensor([0.1, -0.2], dtype=F64)[:, None, None]
    phi[1, 3] = 1e9
    mask[1, 3] = False
    torch.testing.assert_close(relation_loss(phi, u, mask), torch.tensor([0.01, 0.04], dtype=F64))


def two_joint_people() -> tuple[torch.Tensor, ...]:
    """A and B with 2 joints each, one frame, batch 1: `(1, 1, 2, 3)` each."""
    a = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=F64)[None]
    b = torch.tensor([[[0.5, 0.0, 0.0], [3.0, 0.0, 0.0]]], dtype=F64)[None]
    a_gt = a.clone()
    b_gt = torch.tensor([[[0.8, 0.0, 0.0], [9.0, 0.0, 0.0]]], dtype=F64)[None]
    return a, b, a_gt, b_gt


def test_distance_map_counts_only_pairs_predicted_near() -> None:
    a, b, a_gt, b_gt = two_joint_people()
    mask = torch.ones(1, 1, dtype=torch.bool)
    # Predicted distances: 0.5, 3, 1.118, 3.16; only (A0, B0) is < 1 m: (0.5 − 0.8)² = 0.09.
    assert distance_map_loss(a, b, a_gt, b_gt, mask).item() == pytest.approx(0.09)
    # A larger threshold brings in (A1, B0): GT √(1 + 0.64) vs predicted √1.25.
    both = ((0.5 - 0.8) ** 2 + (1.25**0.5 - 1.64**0.5) ** 2) / 2
    assert distance_map_loss(a, b, a_gt, b_gt, mask, threshold=1.2).item() == pytest.approx(both)
    # The mask follows the PREDICTION: a pair near only in the GT is ignored.
    assert distance_map_loss(a_gt, b_gt * 10, a, b, mask).item() == 0.0
    assert distance_map_loss(a, b, a, b, mask).item() == 0.0


def test_distance_map_frame_mean_and_padding() -> None:
    a, b, a_gt, b_gt = two_joint_people()
    far = b + 10.0  # a frame with no pair under 1 m scores 0 but still counts as a frame
    joints_b = torch.cat([b, far, b], 1)
    joints_a = torch.cat([a, a, a], 1)
    mask = torch.tensor([[True, True, False]])
    gt_b = torch.cat([b_gt, b_gt, torch.full_like(b_gt, 1e6)], 1)
    loss = distance_map_loss(joints_a, joints_b, joints_a.clone(), gt_b, mask)
    assert loss.item() == pytest.approx(0.09 / 2)


def test_joint_affinity_pushes_gt_contacts_together() -> None:
    a, b, _, _ = two_joint_people()  # predicted A–B distances: 0.5, 3, √1.25, √10
    mask = torch.ones(1, 1, dtype=torch.bool)
    b_gt = a.clone()
    b_gt[..., 0, 0] += 0.05  # GT: B0 touches A0 (0.05 m) ...
    b_gt[..., 1, :] = torch.tensor([5.0, 0.0, 0.0], dtype=F64)  # ... and B1 is far from both
    # Only (A0, B0) is a GT contact: its predicted distance 0.5 is pushed to 0.
    assert joint_affinity_loss(a, b, a, b_gt, mask).item() == pytest.approx(0.25)
    b_gt[..., 1, :] = a[..., 1, :]  # now B1 also sits on A1 (0 m): add √10² over two pairs
    assert joint_affinity_loss(a, b, a, b_gt, mask).item() == pytest.approx((0.25 + 10.0) / 2)
    assert joint_affinity_loss(a, b, a, b + 5.0, mask).item() == 0.0  # no GT contact


def test_distance_losses_have_finite_gradients_at_zero_distance() -> None:
    a = random_joints((2, 4), 0).requires_grad_(True)
    b = a.detach().clone().requires_grad_(True)  # every joint coincides with its partner
    mask = torch.ones(2, 4, dtype=torch.bool)
    target = random_joints((2, 4), 1)
    loss = distance_map_loss(a, b, target, target + 0.2, mask) + joint_affinity_loss(
        a, b, target, target, mask
    )
    loss.sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()
    assert a.grad.abs().sum().item() > 0


def test_distance_map_per_sample_independence_on_22_joints() -> None:
    a, b = (
        random_joints((3, 5), 2),
        random_joints((3, 5), 3) + torch.tensor([0.6, 0.0, 0.0], dtype=F64),
    )
    ta, tb = (
        random_joints((3, 5), 4),
        random_joints((3, 5), 5) + torch.tensor([0.5, 0.0, 0.0], dtype=F64),
    )
    mask = torch.ones(3, 5, dtype=torch.bool)
    full = distance_map_loss(a, b, ta, tb, mask)
    assert full.shape == (3,) and bool((full > 0).all())
    for i in range(3):
        one = distance_map_loss(
            a[i : i + 1], b[i : i + 1], ta[i : i + 1], tb[i : i + 1], mask[i : i + 1]
        )
        torch.testing.assert_close(one[0], full[i])


# --------------------------------------------------------------------------------------------
# Geometric terms
# --------------------------------------------------------------------------------------------


def test_position_and_velocity_losses() -> None:
    target = random_joints((2, 2, 6), 0)
    mask = torch.ones(2, 2, 6, dtype=torch.bool)
    shift = torch.tensor([0.1, 0.2, 0.0], dtype=F64)
    assert position_loss(target + shift, target, mask)[0].item() == pytest.approx(0.05 / 3)
    assert velocity_loss(target + shift, target, mask).abs().max().item() < 1e-28  # constant offset
    drift = torch.arange(6, dtype=F64)[:, None, None] * torch.tensor([0.03, 0.0, 0.0], dtype=F64)
    pred = target + drift
    torch.testing.assert_close(
        velocity_loss(pred, target, mask), torch.full((2,), 0.0009 / 3, dtype=F64)
    )
    # A frame with a huge error, masked out, removes the two steps that touch it.
    pred[0, 1, 3] += 100.0
    mask[0, 1, 3] = False
    torch.testing.assert_close(
        velocity_loss(pred, target, mask), torch.full((2,), 0.0009 / 3, dtype=F64)
    )
    # Position: per-frame error (0.03 t)²/3 over 11 valid frames (person 1 misses t = 3).
    expected = 0.0009 * (55 + 46) / 3 / 11
    assert position_loss(pred, target, mask)[0].item() == pytest.approx(expected)


def test_foot_contact_loss_uses_gt_contacts() -> None:
    T = 8
    target = rest_pose().expand(1, T, 22, 3).clone()  # standing still: every foot in contact
    mask = torch.ones(1, T, dtype=torch.bool)
    slide = torch.arange(T, dtype=F64)[:, None, None] * torch.tensor([0.02, 0.0, 0.0], dtype=F64)
    pred = target + slide  # the whole body, feet included, skates 2 cm per frame
    expected = 0.02**2 / 3  # mean over xyz of v², every foot in contact
    assert foot_contact_loss(pred, target, mask).item() == pytest.approx(expected)
    # GT left foot (7, 10) walks fast: only the right foot's 2 of 4 entries count.
    walking = target.clone()
    walking[:, :, [7, 10]] += torch.arange(T, dtype=F64)[:, None, None] * 0.2
    assert foot_contact_loss(pred, walking, mask).item() == pytest.approx(expected / 2)
    # Explicit contacts with T rows (the feature's channels): none in contact → 0.
    none = torch.zeros(1, T, 4)
    assert foot_contact_loss(pred, target, mask, contacts=none).item() == 0.0
    assert foot_contact_loss(target, target, mask).item() == 0.0
    with pytest.raises(InterSynError, match="contacts"):
        foot_contact_loss(pred, target, mask, contacts=torch.zeros(1, T, 3))


def test_bone_length_loss_is_invariant_to_rigid_motion_and_sees_scaling() -> None:
    target = random_joints((1, 4), 7)
    mask = torch.ones(1, 4, dtype=torch.bool)
    c, s = 0.6, 0.8
    rot = torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=F64)
    moved = target @ rot.T + torch.tensor([1.0, 0.0, -2.0], dtype=F64)
    assert bone_length_loss(moved, target, mask).item() == pytest.approx(0.0, abs=1e-24)
    assert position_loss(moved, target, mask).item() > 0.1
    rest = rest_pose().expand(1, 4, 22, 3)
    scaled = rest * 1.1
    lengths = torch.tensor(REFERENCE_BONE_LENGTHS[1:], dtype=F64)
    assert bone_length_loss(scaled, rest, mask).item() == pytest.approx(
        (0.01 * lengths**2).mean().item()
    )


def test_geometric_losses_have_finite_gradients_with_collapsed_joints() -> None:
    pred = torch.zeros(1, 3, 22, 3, dtype=F64, requires_grad=True)  # every bone of length 0
    target = random_joints((1, 3), 8)
    mask = torch.ones(1, 3, dtype=torch.bool)
    loss = bone_length_loss(pred, target, mask) + foot_contact_loss(pred, target, mask)
    loss = loss + velocity_loss(pred, target, mask) + position_loss(pred, target, mask)
    loss.sum().backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum().item() > 0


# --------------------------------------------------------------------------------------------
# Config and totals
# --------------------------------------------------------------------------------------------


def test_loss_config_defaults_and_validation() -> None:
    cfg = LossConfig()
    assert (cfg.lambda_rec, cfg.lambda_smooth, cfg.lambda_rela, cfg.lambda_dm) == (
        1.0,
        0.1,
        1.0,
        0.5,
    )
    assert (cfg.position, cfg.velocity, cfg.foot_contact) == (1.0, 1.0, 1.0)
    assert cfg.smooth_window == 5 and cfg.dm_threshold == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lambda_dm = 1.0  # type: ignore[misc]
    with pytest.raises(InterSynError, match="lambda_smooth=-0.1"):
        LossConfig(lambda_smooth=-0.1)
    with pytest.raises(InterSynError, match="dm_threshold"):
        LossConfig(dm_threshold=0.0)
    with pytest.raises(InterSynError, match="smooth_window"):
        LossConfig(smooth_window=2.5)  # type: ignore[arg-type]
    assert (cfg.geometric_root, cfg.root_weight) == ("integrated", 1.0)  # the config default
    with pytest.raises(InterSynError, match="geometric_root='sideways'; expected one of integr"):
        LossConfig(geometric_root="sideways")


def ins_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    B, P, T = 3, 2, 12
    joints_target = random_joints((B, P, T), seed)
    joints_pred = joints_target + 0.03 * torch.randn(
        B, P, T, 22, 3, generator=gen(seed + 1), dtype=F64
    )
    return {
        "pred": torch.randn(B, P, T, 9, generator=gen(seed + 2), dtype=F64),
        "target": torch.randn(B, P, T, 9, generator=gen(seed + 3), dtype=F64),
        "mask": torch.ones(B, P, T, dtype=torch.bool),
        "joints_pred": joints_pred,
        "joints_target": joints_target,
        "boundaries": torch.tensor([[5, -1], [-1, -1], [3, 8]]),
    }


def joint_inputs(b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: b[k] for k in ("joints_pred", "joints_target", "boundaries")}


def test_total_ins_loss_terms_and_weights() -> None:
    b = ins_batch()
    cfg = LossConfig(bone_length=2.0)
    out = total_ins_loss(b["pred"], b["target"], b["mask"], cfg, **joint_inputs(b))
    assert set(out) == {
        "rec",
        "smooth",
        "position",
        "velocity",
        "foot_contact",
        "bone_length",
        "total",
    }
    rec = reconstruction_loss(
        b["pred"], b["target"], b["mask"], cfg.placement_weight, root_weight=cfg.root_weight
    ).mean()
    smooth = smoothness_loss(b["joints_pred"], b["boundaries"], b["mask"]).mean()
    torch.testing.assert_close(out["rec"], rec)
    torch.testing.assert_close(out["smooth"], smooth)
    expected = (
        rec
        + 0.1 * smooth
        + out["position"]
        + out["velocity"]
        + out["foot_contact"]
        + 2.0 * out["bone_length"]
    )
    torch.testing.assert_close(out["total"], expected)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    # Weight 0 → not computed; missing inputs for a weighted term → a clear error.
    only_rec = total_ins_loss(
        b["pred"],
        b["target"],
        b["mask"],
        LossConfig(lambda_smooth=0, position=0, velocity=0, foot_contact=0),
    )
    assert set(only_rec) == {"rec", "total"}
    with pytest.raises(InterSynError, match="joints_pred: required while LossConfig.lambda_smooth"):
        total_ins_loss(b["pred"], b["target"], b["mask"])


def test_total_ins_loss_both_root_decodings() -> None:
    b = ins_batch(4)
    cfg = LossConfig(geometric_root="both")
    integrated = b["joints_pred"] + 0.1  # stands for the same prediction integrated over time
    out = total_ins_loss(
        b["pred"], b["target"], b["mask"], cfg, **joint_inputs(b), joints_integrated=integrated
    )
    expected = position_loss(integrated, b["joints_target"], b["mask"]).mean()
    torch.testing.assert_close(out["position_integrated"], expected)
    assert "position_integrated" not in total_ins_loss(
        b["pred"], b["target"], b["mask"], LossConfig(geometric_root="teacher"), **joint_inputs(b)
    )
    with pytest.raises(InterSynError, match="joints_integrated: required"):
        total_ins_loss(b["pred"], b["target"], b["mask"], cfg, **joint_inputs(b))


def test_total_ins_loss_timestep_damping() -> None:
    b = ins_batch(3)
    cfg = LossConfig(geometric_max_t=700)
    t = torch.tensor([100, 900, 700])
    out = total_ins_loss(b["pred"], b["target"], b["mask"], cfg, **joint_inputs(b), t=t)
    per_sample = position_loss(b["joints_pred"], b["joints_target"], b["mask"])
    torch.testing.assert_close(out["position"], per_sample[[0, 2]].mean())
    torch.testing.assert_close(
        out["rec"],
        reconstruction_loss(
            b["pred"], b["target"], b["mask"], cfg.placement_weight, root_weight=cfg.root_weight
        ).mean(),
    )
    with pytest.raises(InterSynError, match="t: required"):
        total_ins_loss(b["pred"], b["target"], b["mask"], cfg, **joint_inputs(b))


def test_total_rec_loss_and_gradients() -> None:
    B, T = 2, 10
    target = torch.stack(
        [random_joints((B, T), 0), random_joints((B, T), 1) + torch.tensor([0.4, 0, 0], dtype=F64)],
        1,
    )
    pred = (target + 0.05 * torch.randn(target.shape, generator=gen(2), dtype=F64)).requires_grad_(
        True
    )
    refined = torch.randn(B, T, 6, generator=gen(3), dtype=F64, requires_grad=True)
    reference = torch.randn(B, T, 6, generator=gen(4), dtype=F64)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 7:] = False
    out = total_rec_loss(refined, reference, mask, joints_pred=pred, joints_target=target)
    assert set(out) == {"rela", "dm", "total"}
    dm = distance_map_loss(pred[:, 0], pred[:, 1], target[:, 0], target[:, 1], mask).mean()
    torch.testing.assert_close(out["dm"], dm)
    torch.testing.assert_close(out["total"], out["rela"] + 0.5 * dm)
    out["total"].backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert torch.isfinite(refined.grad).all() and refined.grad.abs().sum() > 0
    assert refined.grad[1, 7:].abs().sum().item() == 0.0  # padded frames get no gradient
    with_ja = total_rec_loss(
        refined,
        reference,
        mask,
        LossConfig(joint_affinity=3.0),
        joints_pred=pred,
        joints_target=target,
    )
    assert "joint_affinity" in with_ja


def test_total_ins_loss_backward_in_float32() -> None:
    b = {k: (v.float() if v.is_floating_point() else v) for k, v in ins_batch(5).items()}
    pred = b["pred"].requires_grad_(True)
    joints = b["joints_pred"].requires_grad_(True)
    kw = joint_inputs(b) | {"joints_pred": joints}
    out = total_ins_loss(pred, b["target"], b["mask"], **kw)
    out["total"].backward()
    assert torch.isfinite(pred.grad).all() and torch.isfinite(joints.grad).all()
    assert joints.grad.abs().sum().item() > 0


def test_reconstruction_placement_weight_known_answer():
    from intersyn.losses.reconstruction import reconstruction_loss

    D = 267
    target = torch.zeros(1, 2, 3, D)
    pred = target.clone()
    pred[..., -1] = 1.0  # only the last placement channel is wrong, by 1
    mask = torch.ones(1, 2, 3, dtype=torch.bool)
    plain = reconstruction_loss(pred, target, mask)
    torch.testing.assert_close(plain, torch.tensor([1.0 / D]))
    weighted = reconstruction_loss(pred, target, mask, placement_weight=16.0)
    torch.testing.assert_close(weighted, torch.tensor([16.0 / (D - 4 + 4 * 16.0)]))
    pose = target.clone()
    pose[..., 10] = 1.0  # a pose channel error counts less when placement weighs more
    torch.testing.assert_close(
        reconstruction_loss(pose, target, mask, placement_weight=16.0),
        torch.tensor([1.0 / (D - 4 + 4 * 16.0)]),
    )
    turn = target.clone()
    turn[..., 0] = 1.0  # the root rotation velocity, weighted like the other 3 root channels
    torch.testing.assert_close(
        reconstruction_loss(turn, target, mask, placement_weight=16.0, root_weight=8.0),
        torch.tensor([8.0 / (D - 8 + 4 * 16.0 + 4 * 8.0)]),
    )
