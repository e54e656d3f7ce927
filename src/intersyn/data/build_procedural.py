"""Write a procedural dataset in the official HumanML3D and InterHuman layouts (SPEC.md §2.2).

Solo clips: 20 fps on the HumanML3D reference skeleton, stored as 263-dim features (+ the joints
recovered from them, as HumanML3D does). Pairs: 30 fps, each person drawn from a few body sizes
so that retargeting (Eq. 5) has real work, stored as InterHuman processed files (Z up).

Every item is generated from its own seed `(seed, part, index)`, so the output does not depend on
the number of worker processes. The dataset is built in `OUT.tmp-<pid>` and renamed to `OUT` at
the end: a killed run leaves no half dataset under `OUT`.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch

from intersyn.data import procedural
from intersyn.data.humanml3d import (
    HUMANML3D_DIR,
    HUMANML3D_FPS,
    load_humanml3d,
    write_humanml3d_clip,
    write_humanml3d_splits,
)
from intersyn.data.interhuman import (
    INTERHUMAN_DIR,
    INTERHUMAN_FPS,
    load_interhuman,
    write_interhuman_clip,
    write_interhuman_splits,
)
from intersyn.data.normalize import (
    HUMANML3D_FILES,
    INTERHUMAN_FILES,
    Moments,
    finite_moments,
    guard_std,
    humanml3d_stats_from_moments,
    interhuman_moments,
    save_normalization,
)
from intersyn.data.procedural import (
    INTERACTIONS,
    SOLO_ACTIONS,
    generate_pair_clip,
    generate_solo_clip,
)
from intersyn.data.schema import Caption
from intersyn.data.tagging import tag_caption, unknown_words
from intersyn.errors import InterSynError
from intersyn.io import write_json, write_text
from intersyn.kinematics.pair import joints_to_raw_interhuman, raw_interhuman_to_joints
from intersyn.kinematics.representation import features_to_joints, joints_to_features
from intersyn.kinematics.skeleton import reference_offsets, scaled_offsets

BODY_SCALES: tuple[float, ...] = (0.9, 1.0, 1.1)  # overall body size of each pair person
LIMB_SCALES: tuple[float, ...] = (0.95, 1.05)  # extra arm/leg length factor
SPLIT_FRACTIONS: tuple[float, float, float] = (0.80, 0.05, 0.15)  # train / val / test
_SOLO, _PAIR, _BODY, _SPLIT = 0, 1, 2, 3  # seed-sequence streams


def default_workers() -> int:
    """All CPU cores this process may use."""
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def _rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, index]))


# ---------------------------------------------------------------------------------------------
# One item (runs in a worker process)
# ---------------------------------------------------------------------------------------------


def make_solo(base: str, seed: int, index: int) -> dict[str, Any]:
    """Generate solo clip `index` and write it under the HumanML3D folder `base`; returns its metadata."""
    action = SOLO_ACTIONS[index % len(SOLO_ACTIONS)]
    clip = generate_solo_clip(
        action, _rng(seed, _SOLO, index), fps=HUMANML3D_FPS, offsets=reference_offsets()
    )
    features = joints_to_features(np.asarray(clip.joints, np.float64))
    joints = features_to_joints(features)  # HumanML3D's new_joints are recovered from the features
    features = features.astype(np.float32)  # as stored; the statistics see what a loader reads
    captions = [Caption(text, tag_caption(text)) for text in clip.captions]
    clip_id = f"{index:06d}"
    write_humanml3d_clip(Path(base), clip_id, features, joints, captions, sync=False)
    return {
        "id": clip_id,
        "action": action,
        "frames": int(features.shape[0]),
        "tokens": sorted({t for c in captions for t in c.tokens}),
        "unknown": sorted({w for c in captions for w in unknown_words(c.text)}),
        "moments": finite_moments(features, features.shape[1]),
    }


def _body(seed: int, index: int) -> list[tuple[float, float]]:
    rng = _rng(seed, _BODY, index)
    return [(float(rng.choice(BODY_SCALES)), float(rng.choice(LIMB_SCALES))) for _ in range(2)]


def _aligned(person: tuple[str, ...], count: int) -> tuple[str, ...]:
    """Per-person captions repeated or cut to `count` lines (line-aligned with the pair captions)."""
    return tuple(person[i % len(person)] for i in range(count))


def make_pair(base: str, seed: int, index: int) -> dict[str, Any]:
    """Generate interaction `index` and write it under the InterHuman folder `base`; returns its metadata."""
    interaction = INTERACTIONS[index % len(INTERACTIONS)]
    bodies = _body(seed, index)
    offsets = tuple(scaled_offsets(scale, limb) for scale, limb in bodies)
    clip = generate_pair_clip(
        interaction, _rng(seed, _PAIR, index), fps=INTERHUMAN_FPS, offsets=offsets
    )
    joints = np.asarray(clip.joints, np.float64)
    raw = [np.asarray(joints_to_raw_interhuman(joints[p]), np.float32) for p in range(2)]
    captions = tuple(clip.captions)
    person = clip.person_captions
    person_captions = None
    if person is not None:
        person_captions = (
            _aligned(tuple(person[0]), len(captions)),
            _aligned(tuple(person[1]), len(captions)),
        )
    clip_id = str(index + 1)  # InterHuman ids are 1, 2, ...
    write_interhuman_clip(Path(base), clip_id, raw, captions, person_captions, sync=False)
    # Statistics from what the files hold (float32, Z-up → Y-up round trip), as a loader sees it.
    loaded = [raw_interhuman_to_joints(r) for r in raw]
    moments = interhuman_moments(np.stack([j for j, _ in loaded]), np.stack([r for _, r in loaded]))
    texts = list(captions) + [t for lines in person_captions or () for t in lines]
    tokens = sorted({t for text in texts for t in tag_caption(text)})
    return {
        "id": clip_id,
        "action": interaction,
        "frames": int(joints.shape[1]),
        "bodies": bodies,
        "tokens": tokens,
        "unknown": sorted({w for text in texts for w in unknown_words(text)}),
        "moments": moments,
    }


def _run_task(task: tuple[str, str, int, int]) -> dict[str, Any]:
    kind, base, seed, index = task
    return (make_solo if kind == "solo" else make_pair)(base, seed, index)


def _init_worker() -> None:
    torch.set_num_threads(1)  # one thread per process; also keeps results identical across runs


def _results(tasks: list[tuple[str, str, int, int]], workers: int) -> Iterator[dict[str, Any]]:
    """Run the tasks in order, in `workers` processes (or in this process for 1)."""
    if workers == 1 or len(tasks) <= 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for task in tasks:
                yield _run_task(task)
        finally:
            torch.set_num_threads(threads)
        return
    chunk = max(1, min(16, len(tasks) // (workers * 8)))
    # "spawn": a fresh interpreter per worker, safe with torch's thread pools (fork is not).
    pool = ProcessPoolExecutor(workers, get_context("spawn"), initializer=_init_worker)
    try:
        yield from pool.map(_run_task, tasks, chunksize=chunk)
    finally:  # on an error or Ctrl-C, drop the queued items instead of finishing them
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# Splits, statistics, metadata
# ---------------------------------------------------------------------------------------------


def split_ids(ids: list[str], seed: int, stream: int) -> tuple[list[str], list[str], list[str]]:
    """Shuffle `ids` with the seed and cut 80/5/15 into train/val/test (val and test ≥ 1 if n ≥ 3)."""
    order = _rng(seed, _SPLIT, stream).permutation(len(ids))
    shuffled = [ids[i] for i in order]
    n = len(ids)
    n_val = round(SPLIT_FRACTIONS[1] * n)
    n_test = round(SPLIT_FRACTIONS[2] * n)
    if n >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test)
    val, test = shuffled[:n_val], shuffled[n_val : n_val + n_test]
    return shuffled[n_val + n_test :], val, test


def _frame_summary(frames: list[int]) -> dict[str, float]:
    if not frames:
        return {}
    return {"min": min(frames), "max": max(frames), "mean": round(float(np.mean(frames)), 2)}


def _generator_version() -> str:
    from intersyn import __version__

    return str(
        getattr(procedural, "__version__", None)
        or getattr(procedural, "GENERATOR_VERSION", None)
        or __version__
    )


_README = """# Procedural InterSyn dataset

Written by `intersyn dataset procedural` (seed {seed}): {solo} solo clips in `HumanML3D/` and
{pairs} two-person interactions in `InterHuman/`, in the official layouts, so the same loaders
read this folder and the real downloads. Details (counts per action, vocabulary, splits, body
sizes, generator version) are in `procedural.json`.

- `HumanML3D/`: 20 fps, reference SMPL-22 skeleton, `new_joint_vecs` (T, 263) features,
  `new_joints` recovered from them, `texts/` captions `caption#word/POS ...#0.0#0.0`,
  `Mean.npy`/`Std.npy` over all clips (std averaged per feature slice), splits 80/5/15.
  The word/POS tokens come from a small rule-based tagger (`intersyn.data.tagging`) over the
  generator's vocabulary, **not spaCy**; they follow HumanML3D's conventions (NOUN/VERB lemmas,
  non-alphabetic tokens dropped) but are not guaranteed to match spaCy's tags.
- `InterHuman/`: 30 fps, `motions_processed/person{{1,2}}/<id>.npy` (T, 312) Z up (22 body joint
  positions, wrist copies in place of hand joints, 6D swing rotations), `annots/` pair captions,
  `separate_annots/text{{1,2}}/` per-person captions line-aligned with `annots/`, splits in
  `split/` and at the root, `global_mean.npy`/`global_std.npy` (262 dims, per dimension).
  Each person has its own body size (scale {scales} × limb scale {limbs}).
"""

_HML_README = """# HumanML3D-layout procedural clips

Captions in `texts/` carry word/POS tokens from a rule-based tagger (`intersyn.data.tagging`),
not from spaCy as in the real HumanML3D. See `../procedural.json`.
"""


def _write_metadata(
    staging: Path, seed: int, solo_meta: list[dict], pair_meta: list[dict], splits: dict
) -> dict[str, Any]:
    vocabulary = sorted({t.split("/")[0] for m in solo_meta + pair_meta for t in m["tokens"]})
    untagged = sorted({w for m in solo_meta + pair_meta for w in m["unknown"]})
    solo_counts = Counter(m["action"] for m in solo_meta)
    pair_counts = Counter(m["action"] for m in pair_meta)
    bodies = Counter(f"{s:g}x{limb:g}" for m in pair_meta for s, limb in m["bodies"])
    info = {
        "format": "intersyn-procedural",
        "generator_version": _generator_version(),
        "seed": seed,
        "counts": {"solo": len(solo_meta), "pairs": len(pair_meta)},
        "fps": {"solo": HUMANML3D_FPS, "pairs": INTERHUMAN_FPS},
        "frames": {
            "solo_feature_rows": _frame_summary([m["frames"] for m in solo_meta]),
            # clips the default HumanML3D loader leaves out (it keeps 40 ≤ T ≤ 199 rows)
            "solo_outside_40_199": sum(not 40 <= m["frames"] <= 199 for m in solo_meta),
            "pair_raw_frames": _frame_summary([m["frames"] for m in pair_meta]),
        },
        "splits": splits,
        "solo_actions": {a: solo_counts.get(a, 0) for a in SOLO_ACTIONS} if solo_meta else {},
        "interactions": {a: pair_counts.get(a, 0) for a in INTERACTIONS} if pair_meta else {},
        "body_sizes": {
            "scales": list(BODY_SCALES),
            "limb_scales": list(LIMB_SCALES),
            "persons_per_size": dict(sorted(bodies.items())),
        },
        "tagger": "rule-based intersyn.data.tagging (not spaCy)",
        "vocabulary": vocabulary,
        "untagged_words": untagged,
    }
    write_json(staging / "procedural.json", info)
    write_text(
        staging / "README.md",
        _README.format(
            seed=seed, solo=len(solo_meta), pairs=len(pair_meta),
            scales=list(BODY_SCALES), limbs=list(LIMB_SCALES),
        ),
    )  # fmt: skip
    return info


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _swap_into_place(staging: Path, out: Path) -> None:
    """Rename the finished staging folder to `out`, replacing an existing `out` in two renames."""
    if out.exists():
        old = out.parent / f"{out.name}.old-{os.getpid()}"
        os.rename(out, old)
        os.rename(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, out)


def _check_request(
    out: Path, seed: int, solo: int, pairs: int, workers: int, overwrite: bool
) -> None:
    if seed < 0:
        raise InterSynError(f"seed {seed}: expected a non-negative integer")
    if solo < 0 or pairs < 0 or solo + pairs == 0:
        raise InterSynError(
            f"counts solo={solo}, pairs={pairs}: expected non-negative numbers, not both 0"
        )
    if workers < 1:
        raise InterSynError(f"workers {workers}: expected at least 1")
    if out.exists() and not out.is_dir():
        raise InterSynError(f"output {out}: exists and is not a directory; expected a folder path")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InterSynError(
            f"output {out}: exists and is not empty; pass --overwrite to replace it"
        )


def build_procedural_dataset(
    out: Path,
    seed: int = 0,
    solo: int = 4000,
    pairs: int = 3000,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Generate `solo` clips and `pairs` interactions into `out/HumanML3D` and `out/InterHuman`.

    Args:
        out: output folder; must be absent or empty unless `overwrite`.
        seed: base seed; item i uses its own seed derived from (seed, i).
        solo, pairs: number of solo clips (20 fps) and two-person interactions (30 fps).
        workers: processes (default: all cores); the output is identical for any value.
        progress: show a tqdm progress bar on stderr.

    Returns:
        A summary: counts, splits, seconds, bytes on disk, path.
    """
    from tqdm import tqdm

    out = Path(out)
    workers = default_workers() if workers is None else workers
    _check_request(out, seed, solo, pairs, workers, overwrite)
    started = time.perf_counter()
    staging = out.parent / f"{out.name}.tmp-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    hml, ih = staging / HUMANML3D_DIR, staging / INTERHUMAN_DIR
    tasks = [("pair", str(ih), seed, i) for i in range(pairs)]  # longer items first
    tasks += [("solo", str(hml), seed, i) for i in range(solo)]
    try:
        staging.mkdir(parents=True)
        solo_meta: list[dict] = []
        pair_meta: list[dict] = []
        bar = tqdm(total=len(tasks), desc="procedural", unit="clip", disable=not progress)
        with bar:
            for task, result in zip(tasks, _results(tasks, workers)):
                (solo_meta if task[0] == "solo" else pair_meta).append(result)
                bar.update(1)
        splits: dict[str, dict[str, int]] = {}
        if solo_meta:
            train, val, test = split_ids([m["id"] for m in solo_meta], seed, 0)
            write_humanml3d_splits(hml, train, val, test)
            moments = Moments.empty(solo_meta[0]["moments"].mean.shape[0])
            for m in solo_meta:
                moments = moments.merge(m["moments"])
            save_normalization(hml, *humanml3d_stats_from_moments(moments), HUMANML3D_FILES)
            write_text(hml / "README.md", _HML_README)
            splits["humanml3d"] = {"train": len(train), "val": len(val), "test": len(test)}
        if pair_meta:
            train, val, test = split_ids([m["id"] for m in pair_meta], seed, 1)
            write_interhuman_splits(ih, train, val, test)
            moments = Moments.empty(pair_meta[0]["moments"].mean.shape[0])
            for m in pair_meta:
                moments = moments.merge(m["moments"])
            mean, std = moments.mean_std()
            save_normalization(ih, mean, guard_std(std), INTERHUMAN_FILES)
            splits["interhuman"] = {"train": len(train), "val": len(val), "test": len(test)}
        info = _write_metadata(staging, seed, solo_meta, pair_meta, splits)
        size = _dir_bytes(staging)
        os.sync()  # the clip files skipped their own fsync; flush them once before the rename
        _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {
        "out": str(out),
        "seed": seed,
        "solo": len(solo_meta),
        "pairs": len(pair_meta),
        "splits": splits,
        "untagged_words": info["untagged_words"],
        "workers": workers,
        "seconds": round(time.perf_counter() - started, 2),
        "bytes": size,
    }


def summary_line(summary: dict[str, Any]) -> str:
    """One line for the console: counts, time and size."""
    return (
        f"wrote {summary['out']}: {summary['solo']} solo clips, {summary['pairs']} interactions "
        f"in {summary['seconds']:.1f} s with {summary['workers']} workers, "
        f"{summary['bytes'] / 2**20:.1f} MiB"
    )


__all__ = ["build_procedural_dataset", "split_ids", "summary_line"]


def solo_action_of(clip_id: str) -> str:
    """The action of a procedural HumanML3D clip id (`000123`, or HumanML3D's mirrored `M000123`)."""
    return SOLO_ACTIONS[int(clip_id.split("_")[0].lstrip("M")) % len(SOLO_ACTIONS)]


def interaction_of(clip_id: str) -> str:
    """The interaction of a procedural InterHuman clip id (`1`, `2`, ...)."""
    return INTERACTIONS[(int(clip_id) - 1) % len(INTERACTIONS)]


def items_by_label(
    root: str | Path, split: str, per_class: int
) -> tuple[dict[str, list], dict[str, list]]:
    """Up to `per_class` items of each solo action and each interaction in one split of a
    procedural data root: `(solo {action: [SoloItem]}, pairs {interaction: [PairItem]})`."""
    solo: dict[str, list] = {name: [] for name in SOLO_ACTIONS}
    for item in load_humanml3d(root, split):
        bucket = solo[solo_action_of(item.id)]
        if len(bucket) < per_class:
            bucket.append(item)
    pairs: dict[str, list] = {name: [] for name in INTERACTIONS}
    for item in load_interhuman(root, split):
        bucket = pairs[interaction_of(item.id)]
        if len(bucket) < per_class:
            bucket.append(item)
    return solo, pairs
