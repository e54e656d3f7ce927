"""HumanML3D in its official layout (REFERENCE.md §1.1–1.2, §1.9): validating loader and writer.

```
HumanML3D/
  new_joint_vecs/<id>.npy  (T, 263) float32     new_joints/<id>.npy  (T, 22, 3) float32
  texts/<id>.txt           caption#word/POS ...#start#end, one caption per line
  Mean.npy, Std.npy        (263,) float32
  train.txt val.txt test.txt train_val.txt all.txt
```
Loading follows MDM's `Text2MotionDatasetV2`: a file outside the frame range is left out; a
caption with start/end times becomes its own sub-clip entry (`int(start·20) … int(end·20)`,
NaN read as 0) kept if its length is in range; a clip is kept whole only if at least one caption
is whole-clip (start = end = 0).
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from intersyn.data.schema import Caption, LoadedItems, LoadReport, NpyRows, SoloItem
from intersyn.errors import InterSynError
from intersyn.io import write_bytes

HUMANML3D_DIR = "HumanML3D"
HUMANML3D_FPS = 20
FEATURE_DIM = 263
SPLITS: tuple[str, ...] = ("train", "val", "test", "train_val", "all")

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Locating the dataset and reading small files
# ---------------------------------------------------------------------------------------------


def humanml3d_dir(root: str | Path) -> Path:
    """The HumanML3D folder under a data root (`root/HumanML3D`), or `root` itself if it is one."""
    root = Path(root)
    if (root / HUMANML3D_DIR).is_dir():
        return root / HUMANML3D_DIR
    if (root / "new_joint_vecs").is_dir():
        return root
    raise InterSynError(
        f"HumanML3D data root {root}: no {HUMANML3D_DIR}/ folder (expected "
        f"{root / HUMANML3D_DIR}/new_joint_vecs, texts, split files)"
    )


def read_split(path: Path) -> list[str]:
    """Ids listed in a split file, one per line (blank lines ignored, order kept)."""
    if not path.is_file():
        raise InterSynError(f"split file {path}: not found; expected one clip id per line")
    text = path.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_caption_line(line: str, path: Path, line_number: int) -> Caption:
    """Parse `caption#word/POS ...#start#end`; NaN times are read as 0 (whole clip)."""
    fields = line.split("#")
    if len(fields) != 4:
        raise InterSynError(
            f"caption file {path} line {line_number}: {len(fields) - 1} '#' separators; expected "
            "'caption#word/POS ...#start#end' (3)"
        )
    text, tokens, start_text, end_text = fields
    try:
        start, end = float(start_text), float(end_text)
    except ValueError:
        raise InterSynError(
            f"caption file {path} line {line_number}: start/end {start_text!r}, {end_text!r} "
            "are not numbers; expected seconds such as 0.0"
        ) from None
    start = 0.0 if math.isnan(start) else start
    end = 0.0 if math.isnan(end) else end
    return Caption(text.strip(), tuple(tokens.split()), start, end)


def read_captions(path: Path) -> list[Caption]:
    """All captions of a `texts/<id>.txt` file (blank lines ignored)."""
    if not path.is_file():
        raise InterSynError(f"caption file {path}: not found; expected texts/<id>.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    captions = [
        parse_caption_line(line.strip(), path, i + 1)
        for i, line in enumerate(lines)
        if line.strip()
    ]
    if not captions:
        raise InterSynError(f"caption file {path}: empty; expected at least one caption line")
    return captions


def read_npy_checked(path: Path, width: int, what: str, *, min_columns: bool = False) -> np.ndarray:
    """Load a 2-D numeric `.npy` with `width` columns (at least `width` if `min_columns`), no NaN/inf."""
    expected = f"(T, >= {width})" if min_columns else f"(T, {width})"
    if not path.is_file():
        raise InterSynError(f"{what} {path}: not found; expected a {expected} .npy file")
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:  # truncated, pickled or not an .npy file at all
        raise InterSynError(
            f"{what} {path}: not a readable .npy array ({type(exc).__name__}); expected a "
            f"numeric {expected} array"
        ) from None
    ok_width = array.ndim == 2 and (
        array.shape[1] >= width if min_columns else array.shape[1] == width
    )
    if not ok_width or not np.issubdtype(array.dtype, np.number):
        raise InterSynError(
            f"{what} {path}: shape {array.shape} dtype {array.dtype}; expected a numeric {expected} array"
        )
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).any(axis=1).sum())
        raise InterSynError(
            f"{what} {path}: {bad} of {array.shape[0]} rows contain NaN or inf; expected finite "
            "values (skip_bad=True leaves such files out)"
        )
    return array


# ---------------------------------------------------------------------------------------------
# Loader
# ---------------------------------------------------------------------------------------------


def _clip_items(
    clip_id: str,
    base: Path,
    *,
    min_frames: int,
    max_frames: int,
    in_memory: bool,
) -> tuple[list[SoloItem], int]:
    """Items of one clip (whole clip and/or sub-clips) and how many were filtered by length."""
    feature_path = base / "new_joint_vecs" / f"{clip_id}.npy"
    features = read_npy_checked(feature_path, FEATURE_DIM, "HumanML3D features")
    captions = read_captions(base / "texts" / f"{clip_id}.txt")
    frames = features.shape[0]
    if not min_frames <= frames <= max_frames:
        return [], 1

    def rows(start: int, stop: int) -> np.ndarray | NpyRows:
        if in_memory:
            return np.ascontiguousarray(features[start:stop], dtype=np.float32)
        return NpyRows(feature_path, start, stop, (stop - start, FEATURE_DIM))

    items: list[SoloItem] = []
    filtered = 0
    whole = tuple(c for c in captions if c.whole_clip)
    if whole:
        items.append(SoloItem(clip_id, rows(0, frames), whole, HUMANML3D_FPS, clip_id))
    spans: dict[tuple[int, int], list[Caption]] = {}
    for caption in captions:
        if not caption.whole_clip:
            start = int(caption.start * HUMANML3D_FPS)
            stop = min(int(caption.end * HUMANML3D_FPS), frames)
            spans.setdefault((start, stop), []).append(caption)
    for (start, stop), span_captions in spans.items():
        if min_frames <= stop - start <= max_frames:
            sub_id = f"{clip_id}:{start}-{stop}"  # deterministic (MDM uses a random letter)
            items.append(
                SoloItem(sub_id, rows(start, stop), tuple(span_captions), HUMANML3D_FPS, clip_id)
            )
        else:
            filtered += 1
    return items, filtered


def load_humanml3d(
    root: str | Path,
    split: str = "train",
    *,
    skip_bad: bool = False,
    min_frames: int = 40,
    max_frames: int = 199,
    in_memory: bool = False,
) -> LoadedItems[SoloItem]:
    """Load and validate one split of a HumanML3D folder as a list of `SoloItem`s.

    Args:
        root: a data root holding `HumanML3D/`, or the HumanML3D folder itself.
        split: `train`, `val`, `test`, `train_val` or `all` (the `<split>.txt` id list).
        skip_bad: leave out clips whose files are missing or malformed (one warning each)
            instead of raising; the count and reasons are in the result's `.report`.
        min_frames, max_frames: keep clips and sub-clips with `min_frames ≤ T ≤ max_frames`
            feature rows (MDM: 40 ≤ T < 200).
        in_memory: hold the features as arrays; default lazy `NpyRows` references (every file
            is still read once to validate it).

    Returns:
        A list of items (sub-clips after their clip) with a `.report: LoadReport`.
    """
    base = humanml3d_dir(root)
    if split not in SPLITS:
        raise InterSynError(f"HumanML3D split {split!r}: expected one of {', '.join(SPLITS)}")
    for folder in ("new_joint_vecs", "texts"):
        if not (base / folder).is_dir():
            hint = (
                " (the release ships it as texts.zip: unzip it there)" if folder == "texts" else ""
            )
            raise InterSynError(
                f"HumanML3D folder {base / folder}: not found; expected {folder}/{hint}"
            )
    ids = read_split(base / f"{split}.txt")
    items: list[SoloItem] = []
    reasons: list[str] = []
    filtered = 0
    for clip_id in ids:
        try:
            clip, left_out = _clip_items(
                clip_id, base, min_frames=min_frames, max_frames=max_frames, in_memory=in_memory
            )
        except InterSynError as exc:
            if not skip_bad:
                raise
            log.warning("skipping HumanML3D clip %s: %s", clip_id, exc)
            reasons.append(str(exc))
            continue
        items.extend(clip)
        filtered += left_out
    return LoadedItems(items, LoadReport(len(reasons), tuple(reasons), filtered))


# ---------------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------------


def npy_bytes(array: np.ndarray) -> bytes:
    """The `.npy` file content of an array."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def format_caption_line(caption: Caption) -> str:
    """One `texts/<id>.txt` line: `caption#word/POS ...#start#end`."""
    for part in (caption.text, *caption.tokens):
        if "#" in part or "\n" in part or "\r" in part:
            raise InterSynError(
                f"caption {caption.text!r}: contains '#' or a line break; expected one line "
                "without '#'"
            )
    return f"{caption.text}#{' '.join(caption.tokens)}#{caption.start!r}#{caption.end!r}"


def write_humanml3d_clip(
    base: Path,
    clip_id: str,
    features: np.ndarray,
    joints: np.ndarray,
    captions: Sequence[Caption],
    *,
    sync: bool = True,
) -> None:
    """Write one clip's `new_joint_vecs`, `new_joints` and `texts` files under a HumanML3D folder."""
    features = np.asarray(features, dtype=np.float32)
    joints = np.asarray(joints, dtype=np.float32)
    if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
        raise InterSynError(f"clip {clip_id}: features {features.shape}; expected (T, 263)")
    if joints.shape != (features.shape[0], 22, 3):
        raise InterSynError(
            f"clip {clip_id}: joints {joints.shape}; expected ({features.shape[0]}, 22, 3)"
        )
    if not captions:
        raise InterSynError(f"clip {clip_id}: no captions; expected at least one")
    text = "".join(format_caption_line(c) + "\n" for c in captions)
    write_bytes(base / "new_joint_vecs" / f"{clip_id}.npy", npy_bytes(features), sync=sync)
    write_bytes(base / "new_joints" / f"{clip_id}.npy", npy_bytes(joints), sync=sync)
    write_bytes(base / "texts" / f"{clip_id}.txt", text.encode("utf-8"), sync=sync)


def write_split_file(path: Path, ids: Sequence[str]) -> None:
    """Write a split file: one id per line."""
    write_bytes(path, "".join(f"{i}\n" for i in ids).encode("utf-8"))


def write_humanml3d_splits(
    base: Path, train: Sequence[str], val: Sequence[str], test: Sequence[str]
) -> None:
    """Write `train/val/test/train_val/all.txt` (each sorted) under a HumanML3D folder."""
    train, val, test = sorted(train), sorted(val), sorted(test)
    write_split_file(base / "train.txt", train)
    write_split_file(base / "val.txt", val)
    write_split_file(base / "test.txt", test)
    write_split_file(base / "train_val.txt", sorted(train + val))
    write_split_file(base / "all.txt", sorted(train + val + test))
