"""Shared fixtures: the real HumanML3D clip from ../shared/data and small seeded helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from intersyn.kinematics import rotations as rot

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "humanml3d_sample"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not (SAMPLE_DIR / "new_joints" / "012314.npy").exists():
        pytest.skip(f"real HumanML3D sample not found at {SAMPLE_DIR}")
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def real_joints(sample_dir: Path) -> np.ndarray:
    """HumanML3D clip 012314, `(170, 22, 3)` float32 (recovered from its features)."""
    return np.load(sample_dir / "new_joints" / "012314.npy")


@pytest.fixture(scope="session")
def real_features(sample_dir: Path) -> np.ndarray:
    """HumanML3D clip 012314 features, `(170, 263)` float32."""
    return np.load(sample_dir / "new_joint_vecs" / "012314.npy")


def yaw_and_shift(
    joints: np.ndarray, angle: float, shift: tuple[float, float, float]
) -> np.ndarray:
    """Rotate joints `(..., 3)` about +Y by `angle` radians and translate them."""
    matrix = rot.yaw_matrix(torch.tensor(angle, dtype=torch.float64)).numpy()
    return joints.astype(np.float64) @ matrix.T + np.asarray(shift)
