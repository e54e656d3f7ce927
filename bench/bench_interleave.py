"""Time building interleaved samples from on-disk sources (issue 3's budget: 10,000 in < 2 min).

Run: `python bench/bench_interleave.py DATA_ROOT [--count 10000] [--workers 2]` where DATA_ROOT
holds HumanML3D/ and InterHuman/ (e.g. from `intersyn dataset procedural`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from intersyn.data.build_interleaved import build_interleaved_dataset
from intersyn.data.interleave import InterleaveConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_root", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--organisation", default="s-i-s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = build_interleaved_dataset(
            args.data_root,
            args.data_root,
            Path(tmp) / "out",
            InterleaveConfig(organisation=args.organisation),
            count=args.count,
            workers=args.workers,
        )
        total = time.perf_counter() - start
    print(
        f"{summary['count']} samples, {args.workers} workers: {total:.1f} s "
        f"({summary['count'] / total:.0f} samples/s, including loading the sources)"
    )


if __name__ == "__main__":
    main()
