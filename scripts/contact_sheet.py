"""Look at generated motion: one row of frames per prompt, tiled into a PNG.

Run: `python scripts/contact_sheet.py OUT.png [--checkpoint CKPT] [--frames 6]` (default: the
shipped model and a set of prompts covering the procedural vocabulary). Used to check that
samples look like their captions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from intersyn import InterSynPipeline
from intersyn.export.render import render_frames

PROMPTS: list[dict] = [
    {"solo": "a person walks forward"},
    {"solo": "a person waves with the right hand"},
    {"solo": "a person jumps up and down"},
    {"solo": "a person sits down and stands back up"},
    {"solo": "a person kicks with the left leg"},
    {"interaction": "two people shake hands"},
    {"interaction": "two people hug each other"},
    {"interaction": "one person pushes the other, who stumbles back"},
    {
        "solo": "a person walks forward",
        "interaction": "two people give each other a high five",
    },
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--frames", type=int, default=6, help="frames shown per prompt")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    rows = []
    for prompt in PROMPTS:
        result = pipe(**prompt, seed=args.seed)
        caption = result.meta["caption"]
        frames = list(
            render_frames(
                result.joints[0], captions=[caption], presence=result.presence, size=(320, 240)
            )
        )
        picks = np.linspace(0, len(frames) - 1, args.frames).round().astype(int)
        rows.append(np.concatenate([frames[i] for i in picks], axis=1))
    sheet = np.concatenate(rows, axis=0)
    Image.fromarray(sheet).save(args.out)
    print(f"wrote {args.out} ({len(PROMPTS)} prompts × {args.frames} frames)")


if __name__ == "__main__":
    main()
