"""InterHuman in its official layout (REFERENCE.md §2.1–2.2, §2.6): validating loader and writer.

```
InterHuman/
  motions_processed/person1/<id>.npy, person2/<id>.npy   (T, ≥312) float32, Z up, 30 fps
  annots/<id>.txt                                        pair captions, one per line
  separate_annots/text1/<id>.txt, text2/<id>.txt         per-person captions, line-aligned (FreeMotion)
  split/train.txt val.txt test.txt ignore_list.txt       (FreeMotion reads them here)
  train.txt val.txt test.txt ignore_list.txt             (InterGen reads them here)
```
A clip is loaded if its id is in the split list and not in the ignore list; clips shorter than
`min_frames` raw frames are left out (InterGen: 15). Joints come back Y up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from intersyn.data.humanml3d import (
    npy_bytes,
    read_npy_checked,
    read_split,
    write_split_file,
)
from intersyn.data.schema import LoadedItems, LoadReport, PairItem, RawPair
from intersyn.errors import InterSynError
from intersyn.io import write_bytes
from intersyn.kinematics.pair import INTERHUMAN_RAW_MIN_COLUMNS, raw_interhuman_to_joints

INTERHUMAN_DIR = "InterHuman"
INTERHUMAN_FPS = 30
SPLITS: tuple[str, ...] = ("train", "val", "test")

log = logging.getLogger(__name__)


def interhuman_dir(root: str | Path) -> Path:
    """The InterHuman folder under a data root (`root/InterHuman`), or `root` itself if it is one."""
    root = Path(root)
    if (root / INTERHUMAN_DIR).is_dir():
        return root / INTERHUMAN_DIR
    if (root / "motions_processed").is_dir():
        return root
    raise InterSynError(
        f"InterHuman data root {root}: no {INTERHUMAN_DIR}/ folder (expected "
        f"{root / INTERHUMAN_DIR}/motions_processed, annots, split files)"
    )


def _split_path(base: Path, name: str) -> Path | None:
    """`<name>.txt` at the InterHuman root (InterGen) or under `split/` (FreeMotion)."""
    for candidate in (base / f"{name}.txt", base / "split" / f"{name}.txt"):
        if candidate.is_file():
            return candidate
    return None


def read_caption_lines(path: Path, what: str) -> tuple[str, ...]:
    """Non-blank lines of an InterHuman caption file."""
    if not path.is_file():
        raise InterSynError(f"{what} {path}: not found; expected one caption per line")
    lines = tuple(
        line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    )
    if not lines:
        raise InterSynError(f"{what} {path}: empty; expected at least one caption line")
    return lines


def _load_pair(
    clip_id: str, base: Path, *, min_frames: int, in_memory: bool, separate: bool
) -> PairItem | None:
    """One validated interaction, or None when it is shorter than `min_frames`."""
    paths = [base / "motions_processed" / f"person{p}" / f"{clip_id}.npy" for p in (1, 2)]
    raws = [
        read_npy_checked(path, INTERHUMAN_RAW_MIN_COLUMNS, "InterHuman motion", min_columns=True)
        for path in paths
    ]
    if raws[0].shape[0] != raws[1].shape[0]:
        raise InterSynError(
            f"InterHuman motion {paths[1]}: {raws[1].shape[0]} frames but {paths[0].name} of "
            f"person1 has {raws[0].shape[0]}; expected equal lengths"
        )
    captions = read_caption_lines(base / "annots" / f"{clip_id}.txt", "InterHuman captions")
    person_captions = None
    if separate:
        per_person = []
        for k in (1, 2):
            path = base / "separate_annots" / f"text{k}" / f"{clip_id}.txt"
            lines = read_caption_lines(path, "InterHuman per-person captions")
            if len(lines) != len(captions):
                raise InterSynError(
                    f"InterHuman per-person captions {path}: {len(lines)} lines; expected "
                    f"{len(captions)}, line-aligned with annots/{clip_id}.txt"
                )
            per_person.append(lines)
        person_captions = (per_person[0], per_person[1])
    frames = raws[0].shape[0]
    if frames < min_frames:
        return None
    if not in_memory:
        return PairItem(
            clip_id, RawPair(paths[0], paths[1], frames), None, captions, person_captions,
            INTERHUMAN_FPS,
        )  # fmt: skip
    converted = [raw_interhuman_to_joints(raw.astype(np.float32, copy=False)) for raw in raws]
    joints = np.stack([c[0] for c in converted]).astype(np.float32)
    rotations = np.stack([c[1] for c in converted]).astype(np.float32)
    return PairItem(clip_id, joints, rotations, captions, person_captions, INTERHUMAN_FPS)


def load_interhuman(
    root: str | Path,
    split: str = "train",
    *,
    skip_bad: bool = False,
    min_frames: int = 15,
    in_memory: bool = False,
) -> LoadedItems[PairItem]:
    """Load and validate one split of an InterHuman folder as a list of `PairItem`s.

    Args:
        root: a data root holding `InterHuman/`, or the InterHuman folder itself.
        split: `train`, `val` or `test`; the id list is read from `<split>.txt` at the InterHuman
            root (InterGen) or from `split/<split>.txt` (FreeMotion); ids in `ignore_list.txt`
            (either place, optional) are left out.
        skip_bad: leave out interactions whose files are missing or malformed (one warning each)
            instead of raising; the count and reasons are in the result's `.report`.
        min_frames: leave out interactions with fewer raw frames (InterGen: 15).
        in_memory: hold joints `(2, T, 22, 3)` (Y up) and rotations as arrays; default lazy
            `RawPair` references read by `PairItem.load()` (every file is still read once to
            validate it).
    """
    base = interhuman_dir(root)
    if split not in SPLITS:
        raise InterSynError(f"InterHuman split {split!r}: expected one of {', '.join(SPLITS)}")
    for folder in ("motions_processed/person1", "motions_processed/person2", "annots"):
        if not (base / folder).is_dir():
            raise InterSynError(f"InterHuman folder {base / folder}: not found; expected {folder}/")
    split_path = _split_path(base, split)
    if split_path is None:
        raise InterSynError(
            f"InterHuman split file {base / f'{split}.txt'}: not found (nor "
            f"{base / 'split' / f'{split}.txt'}); expected one interaction id per line"
        )
    ignore_path = _split_path(base, "ignore_list")
    ignored = set(read_split(ignore_path)) if ignore_path else set()
    separate = (base / "separate_annots").is_dir()
    items: list[PairItem] = []
    reasons: list[str] = []
    filtered = 0
    for clip_id in read_split(split_path):
        if clip_id in ignored:
            continue
        try:
            item = _load_pair(
                clip_id, base, min_frames=min_frames, in_memory=in_memory, separate=separate
            )
        except InterSynError as exc:
            if not skip_bad:
                raise
            log.warning("skipping InterHuman interaction %s: %s", clip_id, exc)
            reasons.append(str(exc))
            continue
        if item is None:
            filtered += 1
        else:
            items.append(item)
    return LoadedItems(items, LoadReport(len(reasons), tuple(reasons), filtered))


# ---------------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------------


def _caption_text(lines: Sequence[str], clip_id: str) -> str:
    if not lines:
        raise InterSynError(f"interaction {clip_id}: no captions; expected at least one")
    for line in lines:
        if "\n" in line or "\r" in line or not line.strip():
            raise InterSynError(
                f"interaction {clip_id}: caption {line!r} is empty or spans lines; expected one line"
            )
    return "".join(f"{line}\n" for line in lines)


def write_interhuman_clip(
    base: Path,
    clip_id: str,
    raw: Sequence[np.ndarray],
    captions: Sequence[str],
    person_captions: tuple[Sequence[str], Sequence[str]] | None = None,
    *,
    sync: bool = True,
) -> None:
    """Write one interaction: both processed files `(T, ≥312)` Z up, annots and separate annots."""
    if len(raw) != 2:
        raise InterSynError(f"interaction {clip_id}: {len(raw)} motions; expected 2 persons")
    arrays = [np.asarray(r, dtype=np.float32) for r in raw]
    for array in arrays:
        if array.ndim != 2 or array.shape[1] < INTERHUMAN_RAW_MIN_COLUMNS:
            raise InterSynError(
                f"interaction {clip_id}: motion {array.shape}; expected (T, >= 312)"
            )
    if arrays[0].shape[0] != arrays[1].shape[0]:
        raise InterSynError(
            f"interaction {clip_id}: persons have {arrays[0].shape[0]} and {arrays[1].shape[0]} "
            "frames; expected equal lengths"
        )
    annots = _caption_text(captions, clip_id)
    separate = None
    if person_captions is not None:
        separate = [_caption_text(lines, clip_id) for lines in person_captions]
        if any(len(lines) != len(captions) for lines in person_captions):
            raise InterSynError(
                f"interaction {clip_id}: per-person captions have "
                f"{[len(lines) for lines in person_captions]} lines; expected {len(captions)} "
                "each, line-aligned with the pair captions"
            )
    for k, array in enumerate(arrays, start=1):
        path = base / "motions_processed" / f"person{k}" / f"{clip_id}.npy"
        write_bytes(path, npy_bytes(array), sync=sync)
    write_bytes(base / "annots" / f"{clip_id}.txt", annots.encode("utf-8"), sync=sync)
    if separate is not None:
        for k, text in enumerate(separate, start=1):
            path = base / "separate_annots" / f"text{k}" / f"{clip_id}.txt"
            write_bytes(path, text.encode("utf-8"), sync=sync)


def _id_order(clip_id: str) -> tuple[int, str]:
    return (int(clip_id), clip_id) if clip_id.isdigit() else (1 << 62, clip_id)


def write_interhuman_splits(
    base: Path,
    train: Sequence[str],
    val: Sequence[str],
    test: Sequence[str],
    ignore: Sequence[str] = (),
) -> None:
    """Write train/val/test/ignore_list under `split/` and, as copies, at the InterHuman root."""
    lists = {"train": train, "val": val, "test": test, "ignore_list": ignore}
    for name, ids in lists.items():
        ordered = sorted(ids, key=_id_order)
        write_split_file(base / "split" / f"{name}.txt", ordered)
        write_split_file(base / f"{name}.txt", ordered)
