"""`intersyn convert`: joints ↔ HumanML3D 263-dim features for `.npy` files."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from intersyn.errors import InterSynError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert joint positions <-> HumanML3D 263-dim features (.npy)",
        description="Convert a motion between joint positions (T, 22, 3) in metres, Y up, and the "
        "HumanML3D 263-dim feature (T-1, 263). Leading batch dimensions are kept.",
    )
    parser.add_argument("direction", choices=["joints-to-features", "features-to-joints"])
    parser.add_argument("input", type=Path, help="input .npy file")
    parser.add_argument("output", type=Path, help="output .npy file (written atomically)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.set_defaults(func=run)


def load_npy(path: Path, name: str) -> np.ndarray:
    """Load a numeric `.npy` file or raise a one-line `InterSynError`."""
    if not path.is_file():
        raise InterSynError(f"{name} {path}: file not found; expected a .npy file")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # corrupt or not an npy file
        raise InterSynError(f"{name} {path}: not a readable .npy array ({exc})") from None


def run(args: argparse.Namespace) -> int:
    from intersyn import features_to_joints, joints_to_features
    from intersyn.io import save_npy

    if args.output.exists() and not args.overwrite:
        raise InterSynError(f"output {args.output} exists; pass --overwrite to replace it")
    if args.output.is_dir():
        raise InterSynError(f"output {args.output} is a directory; expected a file path")
    array = load_npy(args.input, "input")
    if args.direction == "joints-to-features":
        result = joints_to_features(array)
    else:
        result = features_to_joints(array)
    save_npy(args.output, result)
    print(f"wrote {args.output} {tuple(result.shape)}")
    return 0
