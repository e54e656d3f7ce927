"""`intersyn generate`: text → motion files (joints, features, BVH, MP4/GIF, meta.json)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate an interleaved solo + interaction motion from text",
        description="Generate a motion in which one person's solo action flows into (or out of) "
        "an interaction. Writes joints.npy (people × frames × 22 × 3, metres, Y up), "
        "features.npy, presence.npy, motion.bvh (+ motion_person2.bvh, ...), motion.mp4, "
        "motion.gif and meta.json into --out.",
    )
    parser.add_argument("--solo", help="what person x does alone, e.g. 'a person waves'")
    parser.add_argument("--interaction", help="the interaction, e.g. 'two people shake hands'")
    parser.add_argument("--solo-start", type=int, help="frame where the solo part starts (t_s)")
    parser.add_argument(
        "--interaction-start", type=int, help="frame where the interaction starts (t_i)"
    )
    roles = (
        " (read as that person's own by models trained with model.person_texts, the shipped "
        "one included, joined to "
        "the interaction text by models trained with data.interleave.person_caption_share > 0; "
        "a model trained on neither generates from the interaction text alone, with a warning)"
    )
    parser.add_argument("--person-text", help="person x's own role in the interaction" + roles)
    parser.add_argument("--partner-text", help="the partner's role in the interaction" + roles)
    parser.add_argument(
        "--frames", type=int, help="length in frames at 20 fps (default: the model window)"
    )
    parser.add_argument(
        "--people", type=int, help="number of people (default 2 with an interaction)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps (default 50)")
    parser.add_argument(
        "--guidance",
        type=float,
        default=2.5,
        help="guidance scale (projected guidance unless --guidance-parallel 1)",
    )
    parser.add_argument(
        "--guidance-max-step",
        type=int,
        help="guide only at diffusion steps <= this (999 is the shipped model's noisiest), e.g. "
        "959: the noisiest steps use the text prediction alone, which keeps walks, jogs and "
        "runs at the data's pace under classifier-free guidance (--guidance-parallel 1), at "
        "some cost in hand contact and text agreement (default: guidance at every step)",
    )
    parser.add_argument(
        "--guidance-parallel",
        type=float,
        default=None,
        help="weight in [0, 1] of the guidance update's part along the text prediction: 0 "
        "(default) is projected guidance, which keeps walks, jogs and runs near the data's "
        "pace; 1 is classifier-free guidance as usual, which speeds them up",
    )
    parser.add_argument(
        "--min-distance",
        type=float,
        default=None,
        help="metres kept between people's pelvises on every frame while sampling (default "
        "0.3: no captured pair comes closer; 0 lets people pass through each other)",
    )
    parser.add_argument("--num-samples", type=int, default=1)
    parser.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="draw this many samples per motion and keep the one whose motion agrees most "
        "with the text (scored by the ranker; default: 3 when the model carries a ranker, as "
        "the shipped one does, else 1)",
    )
    parser.add_argument(
        "--ranker",
        type=Path,
        help="text_encoder.pt (from `intersyn text-encoder train`) that scores candidates "
        "(default: the one the checkpoint carries)",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="skip the clean-up of the decoded joints (temporal smoothing, rigid skeleton, foot "
        "locking, hand contact)",
    )
    parser.add_argument(
        "--keep-words",
        action="store_true",
        help="condition on the words as written (default: a word the training captions never "
        "use is read as one they do, one WordNet relates to it or else the nearest by word "
        "vectors, and each such substitution is printed; with more than one candidate, every "
        "second is drawn under the nearest training caption)",
    )
    parser.add_argument(
        "--checkpoint", type=Path, help="a trained checkpoint (default: the shipped model)"
    )
    parser.add_argument("--video", default="mp4+gif", choices=["mp4+gif", "mp4", "gif", "none"])
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from intersyn.errors import InterSynError
    from intersyn.pipeline import (
        DEFAULT_CLEANUP,
        DEFAULT_GUIDANCE_PARALLEL,
        DEFAULT_MIN_DISTANCE,
        MAX_MIN_DISTANCE,
        InterSynPipeline,
    )

    if args.out.exists() and not args.out.is_dir():
        raise InterSynError(f"--out {args.out}: is a file; expected a directory path")
    if args.out.exists() and any(args.out.iterdir()) and not args.overwrite:
        raise InterSynError(f"--out {args.out}: exists and is not empty; pass --overwrite")
    if args.people is not None and args.people < 1:
        raise InterSynError(f"--people {args.people}: expected at least 1")
    if args.guidance_max_step is not None and args.guidance_max_step < 0:
        raise InterSynError(
            f"--guidance-max-step {args.guidance_max_step}: expected a diffusion step >= 0"
        )
    if args.guidance_parallel is not None and not 0.0 <= args.guidance_parallel <= 1.0:
        raise InterSynError(f"--guidance-parallel {args.guidance_parallel}: expected 0 to 1")
    min_distance = DEFAULT_MIN_DISTANCE if args.min_distance is None else args.min_distance
    if not 0.0 <= min_distance <= MAX_MIN_DISTANCE:  # (NaN fails both)
        raise InterSynError(
            f"--min-distance {args.min_distance}: expected metres from 0 to {MAX_MIN_DISTANCE}"
        )
    start = time.perf_counter()
    pipe = InterSynPipeline.from_pretrained(args.checkpoint, ranker=args.ranker)
    loaded = time.perf_counter()
    result = pipe(
        args.solo,
        args.interaction,
        solo_start=args.solo_start,
        interaction_start=args.interaction_start,
        person_text=args.person_text,
        partner_text=args.partner_text,
        frames=args.frames,
        people=args.people,
        seed=args.seed,
        steps=args.steps,
        guidance=args.guidance,
        guidance_max_step=args.guidance_max_step,
        guidance_parallel=(
            DEFAULT_GUIDANCE_PARALLEL if args.guidance_parallel is None else args.guidance_parallel
        ),
        min_distance=min_distance,
        num_samples=args.num_samples,
        candidates=args.candidates,
        cleanup=None if args.raw else DEFAULT_CLEANUP,
        keep_words=args.keep_words,
        progress=sys.stderr.isatty(),  # diffusion steps (and windows of a long motion)
    )
    substitutions = result.meta["word_substitutions"]
    if substitutions:
        pairs = ", ".join(f"{s['word']!r} as {s['read_as']!r}" for s in substitutions)
        print(
            f"words the model was not trained on, read as ones it knows: {pairs} "
            "(--keep-words uses them as written)"
        )
    unknown = result.meta["unknown_words"]
    if unknown:
        print(
            "words the model was not trained on and could not read as one it knows, used as "
            f"written: {', '.join(map(repr, unknown))}"
        )
    result.save(
        args.out, overwrite=args.overwrite, video="" if args.video == "none" else args.video
    )
    done = time.perf_counter()
    people = result.joints.shape[1]
    print(
        f"wrote {args.out} ({people} {'person' if people == 1 else 'people'} × "
        f"{result.joints.shape[2]} frames; "
        f"load {loaded - start:.1f} s, generate + export {done - loaded:.1f} s)"
    )
    return 0
