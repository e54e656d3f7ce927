"""`intersyn dataset interleave`: write U(·) samples to disk with a manifest.

Layout of the output folder:
- `manifest.jsonl`: one JSON object per sample: its index, shard and row, sources, segment
  frame ranges, t_i, t_s, combined and per-segment captions (`InterleavedSample.manifest_entry`);
- `shards/shard_NNNNN.npz`: `joints (n, 2, frames + 1, 22, 3)` float32 in person x's frame,
  `presence (n, 2, frames + 1)` bool, `valid (n, frames)` bool;
- `interleave.json`: the command's settings, counts and timing; `README.md`.
Samples are a pure function of (seed, index), so the result does not depend on the number of
workers. The folder is built under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from intersyn.data.interleave import InterleaveConfig, InterleavedSample, Segment
from intersyn.data.loaders import SourceBank
from intersyn.errors import InterSynError
from intersyn.io import write_json, write_text

SHARD_SIZE = 500
_BANK: SourceBank | None = None  # one per worker process, built by _init_worker


def _load_bank(
    solo_root: Path | None, pair_root: Path | None, split: str, skip_bad: bool = False
) -> SourceBank:
    from intersyn.data.humanml3d import load_humanml3d
    from intersyn.data.interhuman import load_interhuman

    solo = list(load_humanml3d(solo_root, split, skip_bad=skip_bad)) if solo_root else []
    pairs = list(load_interhuman(pair_root, split, skip_bad=skip_bad)) if pair_root else []
    return SourceBank.from_items(solo, pairs)


def _init_worker(solo_root, pair_root, split, skip_bad=False) -> None:
    global _BANK
    torch.set_num_threads(1)  # many tiny ops: one thread per process is fastest
    _BANK = _load_bank(solo_root, pair_root, split, skip_bad)


def _build_shard(
    job: tuple[int, int, int, InterleaveConfig, int],
) -> tuple[int, dict[str, np.ndarray], list[dict]]:
    """Samples `first … first + count − 1` of shard `shard`, each drawn with seed (seed, index)."""
    shard, first, count, config, seed = job
    assert _BANK is not None, "worker not initialised"
    joints, presence, valid, entries = [], [], [], []
    for index in range(first, first + count):
        sample = _BANK.sample(np.random.default_rng([seed, index]), config)
        joints.append(sample.joints)
        presence.append(sample.presence)
        valid.append(sample.valid)
        entries.append(
            {
                "index": index,
                "shard": shard,
                "row": index - first,
                **sample.manifest_entry(),
                "seed": [seed, index],
            }
        )
    arrays = {"joints": np.stack(joints), "presence": np.stack(presence), "valid": np.stack(valid)}
    return shard, arrays, entries


def build_interleaved_dataset(
    solo_root: str | Path | None,
    pair_root: str | Path | None,
    out: str | Path,
    config: InterleaveConfig,
    *,
    count: int = 1000,
    seed: int = 0,
    split: str = "train",
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    skip_bad: bool = False,
) -> dict:
    """Write `count` interleaved samples (see module docstring); returns the summary."""
    out = Path(out)
    if count < 1:
        raise InterSynError(f"--count {count}: expected at least 1 sample")
    if out.exists() and not out.is_dir():
        raise InterSynError(f"--out {out}: is a file; expected a directory path")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InterSynError(f"--out {out}: exists and is not empty; pass --overwrite")
    roots = [Path(r) if r is not None else None for r in (solo_root, pair_root)]
    for name, root in zip(("--solo-root", "--pair-root"), roots, strict=True):
        if root is not None and not root.is_dir():
            raise InterSynError(f"{name} {root}: not a directory")
    started = time.perf_counter()
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "shards").mkdir(parents=True)
    jobs = [
        (k, first, min(SHARD_SIZE, count - first), config, seed)
        for k, first in enumerate(range(0, count, SHARD_SIZE))
    ]
    try:
        entries: list[dict] = []
        sources = (*roots, split, skip_bad)
        for shard, arrays, rows in _run_jobs(jobs, sources, workers, progress, count):
            np.savez(staging / "shards" / f"shard_{shard:05d}.npz", **arrays)
            entries.extend(rows)
        entries.sort(key=lambda e: e["index"])
        write_text(staging / "manifest.jsonl", "".join(json.dumps(e) + "\n" for e in entries))
        seconds = time.perf_counter() - started
        summary = {
            "count": count,
            "seed": seed,
            "split": split,
            "solo_root": str(roots[0]) if roots[0] else None,
            "pair_root": str(roots[1]) if roots[1] else None,
            "config": asdict(config),
            "shards": len(jobs),
            "seconds": round(seconds, 2),
        }
        write_json(staging / "interleave.json", summary)
        write_text(staging / "README.md", _README.format(**summary))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def _run_jobs(jobs, sources, workers, progress, count) -> Iterator:
    bar = tqdm(total=count, disable=not progress, desc="interleaving", unit="sample")
    try:
        if workers <= 1:
            threads = torch.get_num_threads()
            try:
                _init_worker(*sources)
                for job in jobs:
                    result = _build_shard(job)
                    bar.update(job[2])
                    yield result
            finally:
                torch.set_num_threads(threads)  # _init_worker pinned this process to one thread
            return
        with ProcessPoolExecutor(
            max_workers=workers, initializer=_init_worker, initargs=sources
        ) as pool:
            for result in pool.map(_build_shard, jobs):
                bar.update(len(result[2]))
                yield result
    finally:
        bar.close()


def load_interleaved_dataset(folder: str | Path) -> Iterator[InterleavedSample]:
    """Read back the samples of a folder written by `build_interleaved_dataset`."""
    folder = Path(folder)
    manifest = folder / "manifest.jsonl"
    if not manifest.is_file():
        raise InterSynError(f"{folder}: no manifest.jsonl; expected an interleaved dataset folder")
    shards: dict[int, dict[str, np.ndarray]] = {}
    for line_number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise InterSynError(f"{manifest}:{line_number}: not a JSON object") from None
        shard = entry["shard"]
        if shard not in shards:
            path = folder / "shards" / f"shard_{shard:05d}.npz"
            if not path.is_file():
                raise InterSynError(f"{path}: missing; the manifest refers to it")
            with np.load(path) as data:
                shards[shard] = {k: data[k] for k in data.files}
        arrays, row = shards[shard], entry["row"]
        segments = tuple(
            Segment(
                s["kind"],
                s["start"],
                s["end"],
                s["source_id"],
                *s["source_frames"],
                s["caption"],
                s["person_caption"],
                s["partner_caption"],
                s["swapped"],
            )
            for s in entry["segments"]
        )
        yield InterleavedSample(
            joints=arrays["joints"][row],
            presence=arrays["presence"][row],
            valid=arrays["valid"][row],
            segments=segments,
            interaction_start=entry["interaction_start"],
            solo_start=entry["solo_start"],
            caption=entry["caption"],
            organisation=entry["organisation"],
            timing=entry["timing"],
            seed=entry["index"],
            ends=bool(entry.get("ends", False)),  # datasets built before it was recorded: unknown
        )


_README = """# Interleaved dataset (InterSyn U(·))

{count} samples, seed {seed}, split `{split}`, in {shards} shard(s); built in {seconds} s.
Sources: solo `{solo_root}`, interactions `{pair_root}`.

- `manifest.jsonl`: one line per sample (sources, segment frame ranges, t_i, t_s, captions).
- `shards/shard_NNNNN.npz`: `joints (n, 2, T+1, 22, 3)` metres Y up in person x's frame
  (zeros where a person is absent), `presence (n, 2, T+1)`, `valid (n, T)`.
- Read it back with `intersyn.data.build_interleaved.load_interleaved_dataset(folder)`;
  `sample.features()` gives the pair features the model trains on.
"""
