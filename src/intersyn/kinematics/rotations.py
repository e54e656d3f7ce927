"""The one rotation module: batched torch conversions over leading dims.

Conventions (REFERENCE.md, shared by HumanML3D, MDM and InterGen): quaternions are (w, x, y, z),
Hamilton product, active rotation `rotate(q, v) = q v q⁻¹`. Matrices act on column vectors.
The HumanML3D 6D layout is the first column then the second column of the matrix,
(M00, M10, M20, M01, M11, M21); InterHuman's is the same two columns stored row by row,
(M00, M01, M10, M11, M20, M21).
"""

from __future__ import annotations

import roma
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
    lead = torch.broadcast_shapes(q.shape[:-1], v.shape[:-1])
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


def _wxyz_to_xyzw(q: torch.Tensor) -> torch.Tensor:
    return torch.cat([q[..., 1:], q[..., :1]], dim=-1)


def _xyzw_to_wxyz(q: torch.Tensor) -> torch.Tensor:
    return torch.cat([q[..., 3:], q[..., :3]], dim=-1)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternion `(..., 4)` → rotation matrix `(..., 3, 3)`."""
    return roma.unitquat_to_rotmat(_wxyz_to_xyzw(quat_normalize(q)))


def matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """Rotation matrix `(..., 3, 3)` → unit quaternion `(..., 4)` with w ≥ 0."""
    q = _xyzw_to_wxyz(roma.rotmat_to_unitquat(m))
    return torch.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Axis-angle vector `(..., 3)` (angle = norm, radians) → matrix `(..., 3, 3)`."""
    return roma.rotvec_to_rotmat(rotvec)


def matrix_to_axis_angle(m: torch.Tensor) -> torch.Tensor:
    """Rotation matrix `(..., 3, 3)` → axis-angle vector `(..., 3)`."""
    return roma.rotmat_to_rotvec(m)


def quat_to_axis_angle(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternion `(..., 4)` → axis-angle vector `(..., 3)`."""
    return roma.unitquat_to_rotvec(_wxyz_to_xyzw(quat_normalize(q)))


def axis_angle_to_quat(rotvec: torch.Tensor) -> torch.Tensor:
    """Axis-angle vector `(..., 3)` → unit quaternion `(..., 4)`."""
    return _xyzw_to_wxyz(roma.rotvec_to_unitquat(rotvec))


def cont6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """HumanML3D 6D (first column, second column) `(..., 6)` → matrix `(..., 3, 3)` by Gram–Schmidt."""
    return roma.special_gramschmidt(torch.stack((d6[..., 0:3], d6[..., 3:6]), dim=-1))


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
