"""The one rotation module: batched torch conversions over leading dims.

Conventions (REFERENCE.md, shared by HumanML3D, MDM and InterGen): quaternions are (w, x, y, z),
Hamilton product, active rotation `rotate(q, v) = q v q⁻¹`. Matrices act on column vectors.
The HumanML3D 6D layout is the first column then the second column of the matrix,
(M00, M10, M20, M01, M11, M21); InterHuman's is the same two columns stored row by row,
(M00, M01, M10, M11, M20, M21).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

_EPS = 1e-12


def quat_normalize(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternion `(..., 4)`."""
    return q / torch.linalg.norm(q, dim=-1, keepdim=True).clamp_min(_EPS)


def quat_conjugate(q: torch.Tensor) -> torch.Tensor:
    """Conjugate (= inverse of a unit quaternion), `(..., 4)`."""
    return torch.cat([q[..., :1], -q[..., 1:]], dim=-1)


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product a ⊗ b of `(..., 4)` quaternions (broadcasting)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        (
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ),
        dim=-1,
    )


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors `(..., 3)` by unit quaternions `(..., 4)` (leading dims broadcast)."""
    # numpy's rule: torch.broadcast_shapes imports sympy (0.5 s) on its first call.
    lead = np.broadcast_shapes(tuple(q.shape[:-1]), tuple(v.shape[:-1]))
    q = q.expand(*lead, 4)
    v = v.expand(*lead, 3)
    w, u = q[..., :1], q[..., 1:]
    # v' = v + 2w(u × v) + 2u × (u × v): the expanded form of q v q⁻¹.
    uv = torch.linalg.cross(u, v, dim=-1)
    return v + 2 * (w * uv + torch.linalg.cross(u, uv, dim=-1))


def quat_between(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Shortest-arc rotation taking direction `u` to direction `v`, `(..., 3)` → `(..., 4)`.

    Uses the half-vector form q = (u·h, u × h) with h = normalise(u + v), which stays accurate
    up to nearly opposite directions (the textbook (1 + u·v, u × v) loses all precision there).
    Exactly opposite directions turn by π about an axis orthogonal to `u`: +Y when `u` is
    horizontal, so facing exactly −Z still maps to +Z by a yaw.
    """
    u, v = torch.broadcast_tensors(u, v)
    un = F.normalize(u, dim=-1, eps=_EPS)
    vn = F.normalize(v, dim=-1, eps=_EPS)
    half = un + vn
    half_norm = torch.linalg.norm(half, dim=-1, keepdim=True)
    h = half / half_norm.clamp_min(_EPS)
    q = torch.cat([(un * h).sum(-1, keepdim=True), torch.linalg.cross(un, h, dim=-1)], dim=-1)
    opposite = half_norm[..., 0] < 1e-12
    if bool(opposite.any()):
        y_axis = torch.zeros_like(un)
        y_axis[..., 1] = 1.0
        # Axis ⟂ u: Y with its component along u removed, or X when u is vertical.
        axis = y_axis - (un * y_axis).sum(-1, keepdim=True) * un
        x_axis = torch.roll(y_axis, -1, dims=-1)
        axis = torch.where(torch.linalg.norm(axis, dim=-1, keepdim=True) < 1e-6, x_axis, axis)
        flipped = torch.cat([torch.zeros_like(half_norm), F.normalize(axis, dim=-1)], dim=-1)
        q = torch.where(opposite[..., None], flipped, q)
    return quat_normalize(q)


def yaw_quat(angle: torch.Tensor) -> torch.Tensor:
    """Rotation by `angle` radians about +Y, `(...)` → `(..., 4)`."""
    half = angle / 2
    zeros = torch.zeros_like(half)
    return torch.stack((torch.cos(half), zeros, torch.sin(half), zeros), dim=-1)


def yaw_matrix(angle: torch.Tensor) -> torch.Tensor:
    """Rotation by `angle` radians about +Y as a matrix, `(...)` → `(..., 3, 3)`."""
    c, s = torch.cos(angle), torch.sin(angle)
    zeros, ones = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack((c, zeros, s, zeros, ones, zeros, -s, zeros, c), dim=-1).reshape(
        *angle.shape, 3, 3
    )


def heading_angle(forward: torch.Tensor) -> torch.Tensor:
    """Heading ψ = atan2(f_x, f_z) of a forward direction `(..., 3)`: R_y(ψ) maps +Z onto it."""
    return torch.atan2(forward[..., 0], forward[..., 2])


def _skew(v: torch.Tensor) -> torch.Tensor:
    """Cross-product matrix `[v]×` `(..., 3, 3)` of `(..., 3)`."""
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], dim=-1).unflatten(-1, (3, 3))


def _angle_and_small(sq_norm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The norm from its square, and where it is small enough for a Taylor series; the norm
    is clamped away from 0 so its gradient stays finite there."""
    return sq_norm.clamp_min(_EPS).sqrt(), sq_norm < 1e-8


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternion `(..., 4)` → rotation matrix `(..., 3, 3)`."""
    w, x, y, z = quat_normalize(q).unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).unflatten(-1, (3, 3))


def matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """Rotation matrix `(..., 3, 3)` → unit quaternion `(..., 4)` with w ≥ 0."""
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m.flatten(-2).unbind(-1)
    # Each row is the quaternion times 4·(one of its components): 4w·q, 4x·q, 4y·q, 4z·q. The
    # row whose own component is largest divides by the largest number (Shepperd's method).
    candidates = torch.stack(
        [
            torch.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
            torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
            torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
        ],
        dim=-2,
    )
    best = torch.diagonal(candidates, dim1=-2, dim2=-1).argmax(-1)
    q = torch.take_along_dim(candidates, best[..., None, None].expand(*best.shape, 1, 4), -2)
    q = quat_normalize(q.squeeze(-2))
    return torch.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Axis-angle vector `(..., 3)` (angle = norm, radians) → matrix `(..., 3, 3)` (Rodrigues)."""
    sq = (rotvec * rotvec).sum(-1)
    angle, small = _angle_and_small(sq)
    a = torch.where(small, 1 - sq / 6, torch.sin(angle) / angle)  # sin θ / θ
    b = torch.where(small, 0.5 - sq / 24, (1 - torch.cos(angle)) / (angle * angle))
    k = _skew(rotvec)
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def matrix_to_axis_angle(m: torch.Tensor) -> torch.Tensor:
    """Rotation matrix `(..., 3, 3)` → axis-angle vector `(..., 3)`, angle in [0, π]."""
    return quat_to_axis_angle(matrix_to_quat(m))


def quat_to_axis_angle(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternion `(..., 4)` → axis-angle vector `(..., 3)`, angle in [0, π]."""
    q = quat_normalize(q)
    q = torch.where(q[..., :1] < 0, -q, q)  # the shorter arc
    w, xyz = q[..., 0], q[..., 1:]
    sq = (xyz * xyz).sum(-1)
    norm, small = _angle_and_small(sq)
    # angle = 2·atan2(|xyz|, w); near 0, angle / |xyz| → 2 / w.
    scale = torch.where(small, 2 / w.clamp_min(_EPS), 2 * torch.atan2(norm, w) / norm)
    return xyz * scale[..., None]


def axis_angle_to_quat(rotvec: torch.Tensor) -> torch.Tensor:
    """Axis-angle vector `(..., 3)` → unit quaternion `(..., 4)`."""
    sq = (rotvec * rotvec).sum(-1)
    angle, small = _angle_and_small(sq)
    half_sinc = torch.where(small, 0.5 - sq / 48, torch.sin(angle / 2) / angle)
    w = torch.where(small, 1 - sq / 8, torch.cos(angle / 2))
    return torch.cat([w[..., None], rotvec * half_sinc[..., None]], dim=-1)


def cont6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """HumanML3D 6D (first column, second column) `(..., 6)` → matrix `(..., 3, 3)` by Gram–Schmidt."""
    first = F.normalize(d6[..., 0:3], dim=-1, eps=_EPS)
    second = d6[..., 3:6]
    second = F.normalize(second - (first * second).sum(-1, keepdim=True) * first, dim=-1, eps=_EPS)
    return torch.stack((first, second, torch.cross(first, second, dim=-1)), dim=-1)


def matrix_to_cont6d(m: torch.Tensor) -> torch.Tensor:
    """Matrix `(..., 3, 3)` → HumanML3D 6D `(..., 6)` = (M00, M10, M20, M01, M11, M21)."""
    return torch.cat((m[..., :, 0], m[..., :, 1]), dim=-1)


def quat_to_cont6d(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternion `(..., 4)` → HumanML3D 6D `(..., 6)`."""
    return matrix_to_cont6d(quat_to_matrix(q))


def cont6d_hml_to_interhuman(d6: torch.Tensor) -> torch.Tensor:
    """Reorder HumanML3D 6D (col0, col1) into InterHuman's row-by-row layout (M00, M01, M10, ...)."""
    return d6[..., [0, 3, 1, 4, 2, 5]]


def cont6d_interhuman_to_hml(d6: torch.Tensor) -> torch.Tensor:
    """Reorder InterHuman 6D (M00, M01, M10, M11, M20, M21) into HumanML3D's (col0, col1)."""
    return d6[..., [0, 2, 4, 1, 3, 5]]
