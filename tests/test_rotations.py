import numpy as np
import pytest
import torch

from intersyn.kinematics import rotations as rot


@pytest.fixture
def quats() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return rot.quat_normalize(torch.randn(4, 5, 4, generator=g, dtype=torch.float64))


def test_quat_rotate_matches_matrix(quats):
    v = torch.randn(4, 5, 3, dtype=torch.float64)
    by_matrix = (rot.quat_to_matrix(quats) @ v[..., None])[..., 0]
    assert torch.allclose(rot.quat_rotate(quats, v), by_matrix, atol=1e-12)


def test_quat_mul_composes_rotations(quats):
    a, b = quats, quats.roll(1, dims=0)
    v = torch.randn(4, 5, 3, dtype=torch.float64)
    assert torch.allclose(
        rot.quat_rotate(rot.quat_mul(a, b), v),
        rot.quat_rotate(a, rot.quat_rotate(b, v)),
        atol=1e-12,
    )


def test_yaw_convention_matches_reference():
    # REFERENCE.md: (cos a, 0, sin a, 0) rotates by 2a about +Y; R_y(φ)·(0,0,1) = (sin φ, 0, cos φ).
    angle = torch.tensor(0.5, dtype=torch.float64)
    z = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    expected = torch.stack(
        [torch.sin(angle), torch.tensor(0.0, dtype=torch.float64), torch.cos(angle)]
    )
    assert torch.allclose(rot.quat_rotate(rot.yaw_quat(angle), z), expected)
    assert torch.allclose(rot.yaw_matrix(angle) @ z, expected)
    assert torch.isclose(rot.heading_angle(expected), angle)


@pytest.mark.parametrize(
    "u,v",
    [
        ([1.0, 0, 0], [0, 1.0, 0]),
        ([0, 0, -1.0], [0, 0, 1.0]),
        ([0, 1.0, 0], [0, -1.0, 0]),
        ([1.0, 2, 3], [1.0, 2, 3]),
    ],
)
def test_quat_between_maps_u_to_v(u, v):
    u_t = torch.tensor(u, dtype=torch.float64)
    v_t = torch.tensor(v, dtype=torch.float64)
    q = rot.quat_between(u_t, v_t)
    assert torch.isfinite(q).all()
    mapped = rot.quat_rotate(q, u_t / u_t.norm())
    assert torch.allclose(mapped, v_t / v_t.norm(), atol=1e-9)


def test_conversion_round_trips(quats):
    m = rot.quat_to_matrix(quats)
    q_back = rot.matrix_to_quat(m)
    assert torch.allclose(rot.quat_to_matrix(q_back), m, atol=1e-12)
    assert torch.allclose(rot.cont6d_to_matrix(rot.matrix_to_cont6d(m)), m, atol=1e-12)
    assert torch.allclose(rot.axis_angle_to_matrix(rot.matrix_to_axis_angle(m)), m, atol=1e-10)
    aa = rot.quat_to_axis_angle(quats)
    assert torch.allclose(rot.quat_to_matrix(rot.axis_angle_to_quat(aa)), m, atol=1e-10)


def test_6d_layouts():
    m = torch.arange(9, dtype=torch.float64).reshape(3, 3)
    hml = rot.matrix_to_cont6d(m)
    assert hml.tolist() == [0, 3, 6, 1, 4, 7]  # (M00, M10, M20, M01, M11, M21)
    inter = rot.cont6d_hml_to_interhuman(hml)
    assert inter.tolist() == [0, 1, 3, 4, 6, 7]  # (M00, M01, M10, M11, M20, M21)
    assert torch.equal(rot.cont6d_interhuman_to_hml(inter), hml)


def test_6d_gram_schmidt_orthonormalises():
    d6 = torch.tensor([2.0, 0.0, 0.0, 1.0, 3.0, 0.0], dtype=torch.float64)
    m = rot.cont6d_to_matrix(d6)
    assert torch.allclose(m, torch.eye(3, dtype=torch.float64))
    assert np.isclose(torch.det(m).item(), 1.0)


def test_axis_angle_conversions_match_closed_forms_and_stay_finite_at_zero():
    import math

    quarter = torch.tensor([0.0, math.pi / 2, 0.0], dtype=torch.float64)  # 90° about +Y
    m = rot.axis_angle_to_matrix(quarter)
    expected = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]], dtype=m.dtype)
    assert torch.allclose(m, expected, atol=1e-12)  # +Z turns to +X
    half = math.sqrt(0.5)
    q = torch.tensor([half, 0.0, half, 0.0], dtype=torch.float64)
    assert torch.allclose(rot.axis_angle_to_quat(quarter), q, atol=1e-12)
    assert torch.allclose(rot.matrix_to_quat(m), q, atol=1e-12)
    assert torch.allclose(rot.quat_to_axis_angle(q), quarter, atol=1e-12)
    # The shorter arc: −q is the same rotation, 270° the other way round read as 90°.
    assert torch.allclose(rot.quat_to_axis_angle(-q), quarter, atol=1e-12)
    # Every diagonal branch of the matrix → quaternion conversion (180° about each axis).
    for axis in range(3):
        flip = torch.zeros(3, dtype=torch.float64)
        flip[axis] = math.pi
        back = rot.axis_angle_to_matrix(rot.matrix_to_axis_angle(rot.axis_angle_to_matrix(flip)))
        assert torch.allclose(back, rot.axis_angle_to_matrix(flip), atol=1e-12)
    # No rotation, and gradients that stay finite there (training differentiates through them).
    zero = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    out = rot.axis_angle_to_matrix(zero).sum() + rot.axis_angle_to_quat(zero).sum()
    out.backward()
    assert torch.isfinite(zero.grad).all()
    assert torch.allclose(
        rot.axis_angle_to_matrix(zero.detach()), torch.eye(3, dtype=torch.float64)
    )
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    rot.quat_to_axis_angle(identity).sum().backward()
    assert torch.isfinite(identity.grad).all()
    # Single precision (the models' own) agrees with double precision.
    g = torch.Generator().manual_seed(1)
    vectors = torch.randn(100, 3, generator=g, dtype=torch.float64) * 2
    for convert in (rot.axis_angle_to_matrix, rot.axis_angle_to_quat):
        assert torch.allclose(convert(vectors.float()).double(), convert(vectors), atol=1e-5)
    matrices = rot.axis_angle_to_matrix(vectors)
    assert torch.allclose(
        rot.matrix_to_quat(matrices.float()).double(), rot.matrix_to_quat(matrices), atol=1e-5
    )
