"""BVH export of joint positions, in the form Blender's BVH importer reads.

Contract (verified with Blender 3.4's importer, `tests/blender_import_check.py`):

- One file per person. Blender's importer builds one armature per file (a file with several
  ROOTs becomes ONE armature with several root bones, and needs unique joint names), so person 1
  goes to the given path (`motion.bvh`) and person p ≥ 2 to `motion_person{p}.bvh` beside it
  (`bvh_paths`): one armature per person, same joint names. Every file holds the full 22-joint
  SMPL skeleton named by `skeleton.JOINT_NAMES`.
- Units are metres and Y is up (import with Blender's defaults: scale 1, forward −Z, up Y; Blender
  then shows (x, y, z)_blender = (x, −z, y)_ours, and its pose-bone heads match the returned
  joints to ~6e-6 m).
- The rest pose is HumanML3D's (`skeleton.RAW_OFFSETS`: limbs straight down, feet and head forward
  +Z), with bone lengths and the fixed hip/collar geometry taken from the motion itself
  (`skeleton_offsets_from_motion`), so the file reproduces the joints to numerical precision
  when bone lengths are constant.
- Rotations are in the ordinary BVH sense: the rotation at joint k turns all of k's child bones,
  relative to its parent joint's frame. Root channels are `Xposition Yposition Zposition`
  followed by three rotations; the root position channels are the pelvis's world position and
  the root OFFSET is zero. Each joint's Euler order (`ROTATION_ORDERS`) puts its twist axis (the
  rest direction of its child bone) in the middle, where single-child joints (pure swings, see
  `fit_rotations`) never reach gimbal lock; the pelvis and spine3 use heading-outermost `YZX`.
  Angles are degrees, unwrapped over time so they never jump by 360°.
- Leaf joints (feet, head, wrists) carry zero rotations and an End Site along their bone.

`write_bvh` returns the joints that the written files encode (forward kinematics of the written
numbers); save those as `joints.npy` so Blender's skeleton and the saved joints agree.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from intersyn._arrays import as_motion_tensor
from intersyn.errors import InterSynError
from intersyn.io import atomic_open
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, RAW_OFFSETS

_AXES = "XYZ"
_CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(c for c in range(NUM_JOINTS) if PARENTS[c] == k) for k in range(NUM_JOINTS)
)
# Joints with several child bones (pelvis, spine3): one rotation is fitted to all of them.
_MULTI_CHILD: tuple[int, ...] = tuple(k for k in range(NUM_JOINTS) if len(_CHILDREN[k]) > 1)
_DECIMALS = 6  # digits written for positions (metres) and angles (degrees)
_END_SITE_FRACTION = 0.3  # End Site offset as a fraction of the leaf joint's own bone length
_NAME_OK = re.compile(r"^[A-Za-z0-9_.:\-]+$")


def _twist_order(axis: int) -> str:
    """Euler order (outer, middle, inner) with the twist `axis` in the middle."""
    others = [a for a in (2, 1, 0) if a != axis]  # Z before Y before X among the others
    return _AXES[others[0]] + _AXES[axis] + _AXES[others[1]]


def _rotation_orders() -> tuple[str, ...]:
    orders = []
    for k in range(NUM_JOINTS):
        if len(_CHILDREN[k]) != 1:
            # Multi-child joints: heading (Y) outermost, lateral roll (Z) in the middle, which
            # is the rarest to reach 90°. Leaves keep zero rotations; any order does.
            orders.append("YZX" if _CHILDREN[k] else _twist_order(_dominant_axis(RAW_OFFSETS[k])))
        else:
            orders.append(_twist_order(_dominant_axis(RAW_OFFSETS[_CHILDREN[k][0]])))
    return tuple(orders)


def _dominant_axis(vector: Sequence[float]) -> int:
    return int(np.argmax(np.abs(np.asarray(vector, dtype=float))))


# Euler order of each joint: "ZYX" means channels `Zrotation Yrotation Xrotation`, R = Rz·Ry·Rx.
ROTATION_ORDERS: tuple[str, ...] = _rotation_orders()


def bvh_paths(path: str | os.PathLike[str], num_people: int) -> list[Path]:
    """File of each person: `path` for person 1, then `<stem>_person{p}.bvh` beside it."""
    target = Path(path)
    return [target] + [
        target.with_name(f"{target.stem}_person{p}{target.suffix}")
        for p in range(2, num_people + 1)
    ]


def axis_rotation(angle: np.ndarray, axis: int) -> np.ndarray:
    """Rotation by `angle` radians `(...)` about coordinate `axis` (0=X, 1=Y, 2=Z), `(..., 3, 3)`."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros((*np.shape(angle), 3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    out[..., axis, axis] = 1.0
    out[..., i, i] = c
    out[..., j, j] = c
    out[..., j, i] = s
    out[..., i, j] = -s
    return out


def euler_to_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    """Matrix R = R_{order[0]}(a0) R_{order[1]}(a1) R_{order[2]}(a2) from radians `(..., 3)`."""
    axes = [_AXES.index(a) for a in order.upper()]
    angles = np.asarray(angles, dtype=np.float64)
    return (
        axis_rotation(angles[..., 0], axes[0])
        @ axis_rotation(angles[..., 1], axes[1])
        @ axis_rotation(angles[..., 2], axes[2])
    )


def matrix_to_euler(matrix: np.ndarray, order: str) -> np.ndarray:
    """Angles (radians) `(..., 3)` with `euler_to_matrix(angles, order) == matrix` `(..., 3, 3)`.

    The middle angle is in [-π/2, π/2] and the inner one comes from row `order[0]` of the
    matrix; the outer angle is then read from the residual R·R_k(c)ᵀ·R_j(b)ᵀ, which keeps the
    result exact at gimbal lock too (there the inner angle is set to 0).
    """
    i, j, k = (_AXES.index(a) for a in order.upper())
    if len({i, j, k}) != 3:
        raise InterSynError(f"order: expected a permutation of XYZ, got {order!r}")
    sign = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    m = np.asarray(matrix, dtype=np.float64)
    cos_b = np.hypot(m[..., i, i], m[..., i, j])
    middle = np.arctan2(sign * m[..., i, k], cos_b)
    inner = np.where(cos_b > 1e-9, np.arctan2(-sign * m[..., i, j], m[..., i, i]), 0.0)
    residual = m @ np.swapaxes(axis_rotation(inner, k), -1, -2)
    residual = residual @ np.swapaxes(axis_rotation(middle, j), -1, -2)
    a, b = (i + 1) % 3, (i + 2) % 3
    outer = np.arctan2(residual[..., b, a], residual[..., a, a])
    return np.stack([outer, middle, inner], axis=-1)


def _kabsch(rest: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Rotations `(T, 3, 3)` best taking rest vectors `(n, 3)` onto current ones `(T, n, 3)`."""
    cov = np.einsum("tni,nj->tij", current, rest)  # Σ v oᵀ
    u, _, vt = np.linalg.svd(cov)
    fix = np.ones((*cov.shape[:-2], 3))
    fix[..., 2] = np.sign(np.linalg.det(u @ vt))  # ±1: forbid reflections
    return (u * fix[..., None, :]) @ vt


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation matrices `(..., 3, 3)` turning directions `a` onto `b` `(..., 3)`."""
    q = rot.quat_between(torch.from_numpy(a), torch.from_numpy(b))
    return rot.quat_to_matrix(q).numpy()


def _check_joints(joints: Any, name: str = "joints") -> np.ndarray:
    tensor, _ = as_motion_tensor(
        joints, name, (NUM_JOINTS, 3), min_frames=1, expected="(T, 22, 3) or (P, T, 22, 3)"
    )
    if tensor.dim() not in (3, 4):
        raise InterSynError(
            f"{name}: expected shape (T, 22, 3) or (P, T, 22, 3), got {tuple(tensor.shape)}"
        )
    return tensor.detach().cpu().double().numpy()


def _check_offsets(offsets: Any, name: str = "offsets") -> np.ndarray:
    tensor, _ = as_motion_tensor(offsets, name, (NUM_JOINTS, 3), expected="(22, 3)")
    array = tensor.detach().cpu().double().numpy()
    if array.ndim != 2:
        raise InterSynError(f"{name}: expected shape (22, 3), got {tuple(array.shape)}")
    if bool((np.linalg.norm(array[1:], axis=-1) <= 1e-8).any()):
        raise InterSynError(f"{name}: every non-root bone needs a non-zero rest offset")
    return array


MIN_BONE_LENGTH = 1e-6  # m: a bone whose median length is shorter has no rest direction


def median_bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Median length over time of each non-root bone of a motion `(T, 22, 3)` → `(21,)`."""
    return np.median(np.linalg.norm(joints[:, 1:] - joints[:, list(PARENTS[1:])], axis=-1), axis=0)


def skeleton_offsets_from_motion(joints: Any) -> np.ndarray:
    """Rest offsets `(22, 3)` metres for a motion `(T, 22, 3)`: rest directions × median lengths.

    Single-child bones point along HumanML3D's rest directions. The bones leaving the pelvis
    (hips, spine1) and spine3 (neck, collars) are rigid in SMPL-derived motion but not at the
    idealised right angles, so their rest vectors are measured: a rotation per frame is fitted
    to the idealised directions, and each bone's vector in that frame is averaged over time.
    """
    array = _check_joints(joints)
    if array.ndim != 3:
        raise InterSynError(f"joints: expected shape (T, 22, 3), got {tuple(array.shape)}")
    lengths = np.zeros(NUM_JOINTS)
    lengths[1:] = median_bone_lengths(array)
    if bool((lengths[1:] <= MIN_BONE_LENGTH).any()):
        bad = JOINT_NAMES[1 + int(np.argmin(lengths[1:]))]
        raise InterSynError(f"joints: the bone ending at {bad} has zero median length")
    offsets = np.asarray(RAW_OFFSETS, dtype=np.float64) * lengths[:, None]
    for k in _MULTI_CHILD:
        children = list(_CHILDREN[k])
        current = array[:, children] - array[:, k : k + 1]  # (T, n, 3)
        frame = _kabsch(offsets[children], current)  # (T, 3, 3)
        local = np.einsum("tji,tnj->tni", frame, current).mean(axis=0)  # (n, 3) in joint frame
        norms = np.linalg.norm(local, axis=-1, keepdims=True)
        offsets[children] = (
            np.where(
                norms > 1e-9,
                local / np.maximum(norms, 1e-12),
                offsets[children] / lengths[children, None],
            )
            * lengths[children, None]
        )
    return offsets


def fit_rotations(joints: Any, offsets: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
    """BVH-sense local rotations reproducing `joints` `(T, 22, 3)` from rest `offsets` `(22, 3)`.

    The rotation at joint k turns all of k's child bones and is relative to its parent's frame.
    Joints with several children (pelvis, spine3) get the orthogonal-Procrustes (Kabsch) fit to
    all child bones. A single-child joint gets the minimal-twist rotation: the shortest arc from
    where its child bone would point with an identity local rotation to where it points, which
    keeps the joint's frame closest to its parent's and smooth over time. Leaves get identity.

    Returns:
        root positions `(T, 3)` metres and local rotation matrices `(T, 22, 3, 3)`.
    """
    array = _check_joints(joints)
    if array.ndim != 3:
        raise InterSynError(f"joints: expected shape (T, 22, 3), got {tuple(array.shape)}")
    rest = skeleton_offsets_from_motion(array) if offsets is None else _check_offsets(offsets)
    frames = array.shape[0]
    world = np.zeros((frames, NUM_JOINTS, 3, 3))  # global rotation of each joint's frame
    for k in range(NUM_JOINTS):  # PARENTS[k] < k: tree order
        children = list(_CHILDREN[k])
        parent_frame = world[:, PARENTS[k]] if k > 0 else np.broadcast_to(np.eye(3), (frames, 3, 3))
        if len(children) > 1:
            current = array[:, children] - array[:, k : k + 1]
            world[:, k] = _kabsch(rest[children], current)
        elif len(children) == 1:
            c = children[0]
            unturned = parent_frame @ rest[c]  # child bone with an identity local rotation
            world[:, k] = _swing(unturned, array[:, c] - array[:, k]) @ parent_frame
        else:
            world[:, k] = parent_frame
    local = world.copy()
    local[:, 1:] = np.swapaxes(world[:, list(PARENTS[1:])], -1, -2) @ world[:, 1:]
    return array[:, 0].copy(), local


def _chain(translations: np.ndarray, local: np.ndarray, parents: Sequence[int]) -> np.ndarray:
    """Positions `(T, J, 3)` from per-joint translations `(T, J, 3)` and rotations `(T, J, 3, 3)`."""
    world = np.zeros_like(local)
    positions = np.zeros_like(translations)
    for k, p in enumerate(parents):  # parents[k] < k: tree order
        if p < 0:
            world[:, k] = local[:, k]
            positions[:, k] = translations[:, k]
        else:
            world[:, k] = world[:, p] @ local[:, k]
            positions[:, k] = positions[:, p] + np.einsum(
                "tij,tj->ti", world[:, p], translations[:, k]
            )
    return positions


def local_rotations_to_joints(
    root_positions: np.ndarray, local_rotations: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Forward kinematics in the BVH sense: `(T, 3)`, `(T, 22, 3, 3)`, `(22, 3)` → `(T, 22, 3)` metres.

    Joint k sits at its parent plus the parent's world rotation applied to `offsets[k]`.
    """
    translations = np.broadcast_to(offsets, (len(root_positions), NUM_JOINTS, 3)).copy()
    translations[:, 0] = root_positions
    return _chain(translations, local_rotations, PARENTS)


def _hierarchy_lines(offsets: np.ndarray, names: Sequence[str]) -> tuple[list[str], list[int]]:
    """HIERARCHY text and the joint order in which their channels appear (depth first)."""
    lines: list[str] = []
    order: list[int] = []

    def emit(k: int, depth: int) -> None:
        pad = "  " * depth
        order.append(k)
        lines.append(f"{pad}{'ROOT' if k == 0 else 'JOINT'} {names[k]}")
        lines.append(pad + "{")
        offset = np.zeros(3) if k == 0 else offsets[k]
        lines.append(f"{pad}  OFFSET " + " ".join(f"{v:.{_DECIMALS}f}" for v in offset))
        channels = " ".join(f"{axis}rotation" for axis in ROTATION_ORDERS[k])
        if k == 0:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {channels}")
        else:
            lines.append(f"{pad}  CHANNELS 3 {channels}")
        for c in _CHILDREN[k]:
            emit(c, depth + 1)
        if not _CHILDREN[k]:
            tip = offsets[k] * _END_SITE_FRACTION
            lines.append(f"{pad}  End Site")
            lines.append(pad + "  {")
            lines.append(f"{pad}    OFFSET " + " ".join(f"{v:.{_DECIMALS}f}" for v in tip))
            lines.append(pad + "  }")
        lines.append(pad + "}")

    emit(0, 0)
    return lines, order


def _check_names(names: Sequence[str] | None) -> tuple[str, ...]:
    if names is None:
        return JOINT_NAMES
    names = tuple(names)
    if len(names) != NUM_JOINTS or len(set(names)) != NUM_JOINTS:
        raise InterSynError(f"names: expected {NUM_JOINTS} unique joint names, got {len(names)}")
    for name in names:
        if not isinstance(name, str) or not _NAME_OK.match(name):
            raise InterSynError(f"names: {name!r} is not a BVH joint name (letters, digits, _.:-)")
    return names


def write_bvh(
    path: str | os.PathLike[str],
    joints: Any,
    fps: float = 20.0,
    offsets: Any | None = None,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Write one BVH file per person and return the joints they encode, `(P, T, 22, 3)` float32.

    Args:
        path: `.bvh` path of person 1; person p ≥ 2 goes to `<stem>_person{p}.bvh` (`bvh_paths`).
        joints: `(T, 22, 3)` or `(P, T, 22, 3)` metres, Y up, numpy or torch.
        fps: frames per second (> 0); written as `Frame Time: 1/fps`.
        offsets: rest offsets `(22, 3)` or `(P, 22, 3)` metres; default per person
            `skeleton_offsets_from_motion` (exact for constant bone lengths).
        names: 22 joint names; default `skeleton.JOINT_NAMES`.

    Returns:
        Forward kinematics of the written channels and offsets (what Blender shows), metres.
    """
    target = Path(path)
    if target.suffix.lower() != ".bvh":
        raise InterSynError(f"path {target}: expected a file name ending in .bvh")
    array = _check_joints(joints)
    people = array if array.ndim == 4 else array[None]
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise InterSynError(f"fps: expected a positive number, got {fps!r}")
    joint_names = _check_names(names)
    if offsets is None:
        rests = [skeleton_offsets_from_motion(person) for person in people]
    else:
        tensor, _ = as_motion_tensor(offsets, "offsets", (NUM_JOINTS, 3), expected="(22, 3)")
        given = tensor.detach().cpu().double().numpy()
        given = given if given.ndim == 3 else given[None].repeat(len(people), axis=0)
        if given.ndim != 3 or len(given) != len(people):
            raise InterSynError(
                f"offsets: expected shape (22, 3) or ({len(people)}, 22, 3), got {tuple(tensor.shape)}"
            )
        rests = [_check_offsets(g) for g in given]

    encoded = []
    for person, rest, file in zip(people, rests, bvh_paths(target, len(people))):
        root, local = fit_rotations(person, rest)
        angles = np.stack(
            [matrix_to_euler(local[:, k], ROTATION_ORDERS[k]) for k in range(NUM_JOINTS)], axis=1
        )  # (T, 22, 3) radians
        degrees = np.round(np.degrees(np.unwrap(angles, axis=0)), _DECIMALS)
        root = np.round(root, _DECIMALS)
        rest = np.round(rest, _DECIMALS)
        lines, order = _hierarchy_lines(rest, joint_names)
        motion = np.concatenate([root, degrees[:, order].reshape(len(root), -1)], axis=1)
        text = "\n".join(
            ["HIERARCHY", *lines, "MOTION", f"Frames: {len(root)}", f"Frame Time: {1.0 / fps:.8f}"]
            + [" ".join(f"{v:.{_DECIMALS}f}" for v in row) for row in motion]
        )
        with atomic_open(file, "w") as handle:
            handle.write(text + "\n")
        written = np.stack(
            [
                euler_to_matrix(np.radians(degrees[:, k]), ROTATION_ORDERS[k])
                for k in range(NUM_JOINTS)
            ],
            axis=1,
        )
        encoded.append(local_rotations_to_joints(root, written, rest))
    return np.stack(encoded).astype(np.float32)


def read_bvh(
    path: str | os.PathLike[str],
) -> tuple[list[str], list[int], np.ndarray, float, list[list[str]], np.ndarray]:
    """Parse a BVH file: names, parent indices (-1 root), offsets `(J, 3)`, frame time, channels, motion `(T, C)`."""
    try:
        tokens = Path(path).read_text(encoding="utf-8").split()
    except OSError as exc:
        raise InterSynError(f"path {path}: cannot read BVH ({exc})") from None
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    stack: list[int] = []  # open joints; -2 marks an End Site block
    pos = 0

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise InterSynError(f"path {path}: BVH ends early")
        pos += 1
        return tokens[pos - 1]

    if take().upper() != "HIERARCHY":
        raise InterSynError(f"path {path}: not a BVH file (no HIERARCHY)")
    while True:
        word = take()
        upper = word.upper()
        if upper in ("ROOT", "JOINT"):
            names.append(take())
            parent = next((j for j in reversed(stack) if j >= 0), -1) if upper == "JOINT" else -1
            parents.append(parent)
            if take() != "{" or take().upper() != "OFFSET":
                raise InterSynError(f"path {path}: malformed joint {names[-1]}")
            offsets.append([float(take()) for _ in range(3)])
            if take().upper() != "CHANNELS":
                raise InterSynError(f"path {path}: joint {names[-1]} has no CHANNELS")
            channels.append([take() for _ in range(int(take()))])
            stack.append(len(names) - 1)
        elif upper == "END":
            take()  # "Site"
            if take() != "{" or take().upper() != "OFFSET":
                raise InterSynError(f"path {path}: malformed End Site")
            pos += 3
            stack.append(-2)
        elif word == "}":
            stack.pop()
        elif upper == "MOTION":
            break
        else:
            raise InterSynError(f"path {path}: unexpected token {word!r} in HIERARCHY")
    take()  # "Frames:"
    frames = int(take())
    take(), take()  # "Frame", "Time:"
    frame_time = float(take())
    width = sum(len(c) for c in channels)
    values = np.array(tokens[pos:], dtype=np.float64)
    if values.size != frames * width:
        raise InterSynError(
            f"path {path}: expected {frames} × {width} motion values, got {values.size}"
        )
    return names, parents, np.array(offsets), frame_time, channels, values.reshape(frames, width)


def bvh_to_joints(
    parents: Sequence[int],
    offsets: np.ndarray,
    channels: Sequence[Sequence[str]],
    motion: np.ndarray,
) -> np.ndarray:
    """Joint positions `(T, J, 3)` of parsed BVH data in file order (position channels replace OFFSET)."""
    frames = motion.shape[0]
    count = len(parents)
    translations = np.zeros((frames, count, 3))
    local = np.zeros((frames, count, 3, 3))
    column = 0
    for k, names in enumerate(channels):
        values = motion[:, column : column + len(names)]
        column += len(names)
        translation = np.broadcast_to(offsets[k], (frames, 3)).copy()
        matrix = np.broadcast_to(np.eye(3), (frames, 3, 3)).copy()
        for n, name in enumerate(names):
            axis = _AXES.index(name[0].upper())
            if name.lower().endswith("position"):
                translation[:, axis] = values[:, n]
            else:
                matrix = matrix @ axis_rotation(np.radians(values[:, n]), axis)
        translations[:, k] = translation
        local[:, k] = matrix
    return _chain(translations, local, parents)
