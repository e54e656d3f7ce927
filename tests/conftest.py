"""Shared fixtures: the real HumanML3D clip from ../shared/data and small seeded helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from intersyn.kinematics import rotations as rot
from intersyn.text.aligned import AlignedTextConfig

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


def write_tiny_data_root(root: Path, real: np.ndarray) -> Path:
    """A small data root in the official layouts, built from the real clip (no generator needed).

    HumanML3D/: 6 solo clips (windows and turned copies of 012314); InterHuman/: 4 pairs at
    30 fps, the clip and a turned, shifted copy of it facing each other.
    """
    from intersyn import joints_to_features
    from intersyn.data.humanml3d import write_humanml3d_clip, write_humanml3d_splits
    from intersyn.data.interhuman import write_interhuman_clip, write_interhuman_splits
    from intersyn.data.interleave import resample
    from intersyn.data.schema import Caption
    from intersyn.kinematics.pair import joints_to_raw_interhuman

    clip = real.astype(np.float64)
    hml, ih = root / "HumanML3D", root / "InterHuman"
    words = ["serves a ball", "walks around", "turns left", "steps back", "moves", "swings"]
    ids = []
    for k in range(6):
        window = yaw_and_shift(clip[k * 10 : k * 10 + 100], 0.5 * k, (0.0, 0.0, 0.0))
        window[..., 1] -= window[..., 1].min()
        features = joints_to_features(window)
        clip_id = f"{k:06d}"
        write_humanml3d_clip(
            hml, clip_id, features, window[:-1], [Caption(f"a person {words[k]}")], sync=False
        )
        ids.append(clip_id)
    write_humanml3d_splits(hml, ids[:4], ids[4:5], ids[5:])
    mean = np.zeros(263, np.float32)
    np.save(hml / "Mean.npy", mean)
    np.save(hml / "Std.npy", np.ones(263, np.float32))
    pair_ids = []
    for k in range(4):
        a = clip[k * 5 : k * 5 + 120]
        b = yaw_and_shift(a, np.pi + 0.3 * k, (0.2 * k, 0.0, 1.2))
        both = resample(np.stack([a, b]), 20, 30)
        raw = [joints_to_raw_interhuman(person) for person in both]
        write_interhuman_clip(
            ih,
            str(k + 1),
            raw,
            [f"two people {words[k]} together"],
            ([f"one person {words[k]}"], [f"the other person {words[k]}"]),
            sync=False,
        )
        pair_ids.append(str(k + 1))
    write_interhuman_splits(ih, pair_ids[:3], pair_ids[3:], pair_ids[3:])
    return root


@pytest.fixture(scope="session")
def tiny_data_root(tmp_path_factory, real_joints) -> Path:
    return write_tiny_data_root(tmp_path_factory.mktemp("data"), real_joints)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_data_root) -> Path:
    """`final.pt` of a tiny two-stage training run on the tiny data root (a few seconds)."""
    from intersyn.training.config import train_preset
    from intersyn.training.loop import train

    run = tmp_path_factory.mktemp("tiny_run")
    result = train(train_preset("tiny"), tiny_data_root, run, progress=False)
    return result.final_checkpoint


# The aligned text encoder's tiny sizes (tests/test_text_aligned.py, tests/test_ranking.py).
TINY_ALIGNED = AlignedTextConfig(
    width=32, heads=2, ff_size=64, layers=1, motion_layers=1, epochs=40, batch_size=4, lr=3e-3
)


@pytest.fixture(scope="session")
def tiny_text_encoder(tmp_path_factory, tiny_data_root) -> tuple[Path, dict]:
    """`text_encoder.pt` (all three towers) trained on the tiny data root, and its metrics."""
    from intersyn.text.train_aligned import train_aligned_text_encoder

    out = tmp_path_factory.mktemp("aligned")
    metrics = train_aligned_text_encoder(tiny_data_root, out, TINY_ALIGNED, progress=False)
    return out / "text_encoder.pt", metrics
