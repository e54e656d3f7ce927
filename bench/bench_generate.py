"""Time the README's generate job: model load, sampling, export, and the whole process.

Run: `python bench/bench_generate.py [--checkpoint CKPT]` (default: the shipped model).
Measures one 2-person, 196-frame sample with DDIM-50 and guidance 2.5, then the whole
`intersyn generate` process (interpreter start to files on disk) as a subprocess.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOLO = "a person walks forward and waves"
INTERACTION = "two people shake hands"
INTERACTION_START, SEED = 40, 8  # as the README's command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    from intersyn import InterSynPipeline

    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    loaded = time.perf_counter()
    print(f"import + load: {loaded - start:.2f} s")
    pipe(SOLO, INTERACTION, steps=2)  # warm-up
    best_sample = best_total = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            t0 = time.perf_counter()
            result = pipe(
                SOLO,
                INTERACTION,
                interaction_start=INTERACTION_START,
                seed=k,
                steps=50,
                guidance=2.5,
            )
            t1 = time.perf_counter()
            result.save(Path(tmp) / f"run{k}")
            t2 = time.perf_counter()
            best_sample, best_total = min(best_sample, t1 - t0), min(best_total, t2 - t0)
        print(f"sampling (DDIM-50, guidance, 2 people × 196 frames): {best_sample:.2f} s")
        print(f"sampling + all exports (npy, BVH, MP4, GIF, meta): {best_total:.2f} s")
        command = [
            sys.executable,
            "-m",
            "intersyn",
            "generate",
            "--solo",
            SOLO,
            "--interaction",
            INTERACTION,
            "--interaction-start",
            str(INTERACTION_START),
            "--seed",
            str(SEED),
            "--out",
            str(Path(tmp) / "cli"),
        ]
        if args.checkpoint is not None:
            command += ["--checkpoint", str(args.checkpoint)]
        t0 = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        print(f"whole `intersyn generate` process: {time.perf_counter() - t0:.2f} s")
        # The numbers above are the best of warm repeats; a user's process makes one cold request
        # (first inference, first video encoder start), which the CLI times itself.
        cold = re.search(r"generate \+ export ([0-9.]+) s", done.stdout)
        print(f"  of which generate + export, cold: {cold[1] if cold else '?'} s")


if __name__ == "__main__":
    main()
