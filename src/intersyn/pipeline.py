"""InterSynPipeline: text + timings → interleaved motion of one, two or more people.

```python
from intersyn import InterSynPipeline
pipe = InterSynPipeline.from_pretrained()            # the shipped default model
result = pipe(solo="a person walks forward and waves",
              interaction="two people shake hands", interaction_start=80, seed=0)
result.save("out/")                                   # joints.npy, BVH, MP4, meta.json, ...
```

Layout: the solo segment and the interaction segment share one timeline of `frames` frames; the
one that starts at frame 0 comes first (t_i · t_s = 0, paper Eq. 4). Person x (index 0) is in
both; the partner (index 1) exists only during the interaction. More than two people: extra
partners are sampled with person x held fixed (in-painting) and every partner is refined by
the coordinator against person x (Eq. 9–10, pairwise); keeping everyone apart at the end
(`min_distance`) may move person x too. Text: the whole request is one caption,
except that where the training data make the interaction's frames independent of the solo
text (see `InterSynPipeline._denoise`) those frames are predicted under the interaction text.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import operator
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from intersyn.data.interleave import combine_captions
from intersyn.diffusion.guidance import Guidance, guided_denoiser
from intersyn.diffusion.samplers import ddim_sample
from intersyn.diffusion.schedule import NoiseSchedule
from intersyn.errors import InterSynError
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.cleanup import CleanupConfig, clean_motion
from intersyn.kinematics.pair import (
    Placement,
    decode_pair,
    features_to_pair,
    frame_pose,
    pair_to_features,
)
from intersyn.kinematics.personal_space import MIN_DISTANCE, keep_apart
from intersyn.kinematics.representation import FEATURE_DIM
from intersyn.models.layers import Condition
from intersyn.text.known_wording import KnownWording
from intersyn.text.vocabulary import UnseenWordReader, WordSubstitution
from intersyn.text.wordllama import word_vectors
from intersyn.text.wordnet import wordnet_opposites, wordnet_reading
from intersyn.training.loop import TrainedModel, load_trained_model
from intersyn.training.stages import TextConditioner, with_person_texts

if TYPE_CHECKING:
    from intersyn.ranking import MotionTextScorer

DEFAULT_CHECKPOINT = "default.pt"
FPS = 20
DEFAULT_CLEANUP = CleanupConfig()  # what `intersyn generate` applies unless --raw
MIN_SEGMENT = 20  # frames (1 s): the shortest solo or interaction segment we accept
# Best of this many samples when the model carries a ranker (`intersyn.ranking`): chosen on the
# quality bar's validation phrasings within the README request's time budget (< 5 s after load).
DEFAULT_CANDIDATES = 3
# With more than one candidate, every this-many-th of them (the 2nd, 4th, ...) is drawn under
# the texts' nearest training captions (`intersyn.text.known_wording`) where they differ.
KNOWN_WORDING_EVERY = 2
# Projected guidance (`intersyn.diffusion.guidance`): the guidance update without its part
# along the text prediction. With classifier-free guidance (1) the shipped model walks, jogs,
# runs and walks backwards at ×1.05 / 1.14 / 1.12 / 1.15 the test clips' pace; projected, at
# ×0.97 / 1.03 / 1.05 / 1.04, with hands meeting as often and the quality bar's validation
# phrasings passing as before (README, "Projected guidance"; `bench/sequence_ends.py`).
DEFAULT_GUIDANCE_PARALLEL = 0.0
# People's pelvises are kept this far apart on every x0 prediction while sampling (README,
# "Personal space"): no captured pair comes closer, where pushes and hugs generated without it
# pass through each other (`bench/push_guidance.py`, `bench/interaction_geometry.py`).
DEFAULT_MIN_DISTANCE = MIN_DISTANCE
# Steps of `keep_apart` on each x0 prediction (the last one, after the coordinator, takes up to
# 20): what one step leaves, the next prediction is corrected again. One step per prediction
# samples a 400-frame hug or push in 1.6-1.9 times the time without personal space (three
# steps: 2.7 times; `bench/long_motion_distance.py`).
PREDICTION_ITERATIONS = 1
MAX_MIN_DISTANCE = 2.0  # m: farther than people who shake hands stand (0.5-0.7 m)
# Samples drawn in one batch (each with its candidates): more are drawn batch after batch, so a
# request for many samples does not hold them all in the denoiser at once.
SAMPLES_PER_BATCH = 16
# The most person-frames (samples × candidates × people drawn, 2 at least, × frames) one call
# samples: some 11 minutes on a 2-core CPU (the README request, 1 176 of them, takes 2 s), and
# one batch of them at most 0.2 GB of float64 joints. A request beyond it (10 000 samples, a
# million frames) is refused in one line instead of running for hours or failing inside
# torch's allocator.
MAX_PERSON_FRAMES = 400_000


@dataclass(frozen=True)
class _Batch:
    """One batch of `InterSynPipeline.__call__`'s samples, as it returns them."""

    joints: np.ndarray  # (n, people, T, 22, 3) float32
    features: np.ndarray  # (n, people, T, 267) float32
    chosen: list[int] | None  # each sample's best candidate (None for one candidate)
    scores: np.ndarray | None  # (n, candidates) ranker scores
    frame_meta: list[dict[str, Any]]  # per sample, where the features' frame lies


def default_checkpoint_path() -> Path:
    """Path of the checkpoint shipped inside the package (`intersyn/assets/default.pt`)."""
    path = Path(str(importlib.resources.files("intersyn") / "assets" / DEFAULT_CHECKPOINT))
    if not path.is_file():
        raise InterSynError(
            f"no default checkpoint in this installation ({path}); pass a checkpoint path "
            "(`--checkpoint RUN/checkpoints/final.pt`)"
        )
    return path


def _guidance(
    scale: Any, max_step: Any, parallel: Any, num_steps: int, min_distance: Any
) -> Guidance:
    """The sampling arguments `guidance`, `guidance_max_step` (None or a diffusion step of the
    model's schedule), `guidance_parallel` and `min_distance`, checked."""
    if isinstance(scale, bool) or not (isinstance(scale, (int, float)) and np.isfinite(scale)):
        raise InterSynError(f"guidance={scale!r}: expected a finite number")
    if max_step is not None and (
        isinstance(max_step, bool) or not isinstance(max_step, int) or not 0 <= max_step < num_steps
    ):
        raise InterSynError(
            f"guidance_max_step={max_step!r}: expected a diffusion step in [0, {num_steps - 1}] "
            "(or none, to guide at every step)"
        )
    if isinstance(parallel, bool) or not (
        isinstance(parallel, (int, float)) and 0.0 <= parallel <= 1.0
    ):
        raise InterSynError(
            f"guidance_parallel={parallel!r}: expected a number in [0, 1] (1: classifier-free "
            "guidance as trained models are usually sampled, 0: projected guidance)"
        )
    if isinstance(min_distance, bool) or not (
        isinstance(min_distance, (int, float)) and 0.0 <= min_distance <= MAX_MIN_DISTANCE
    ):
        raise InterSynError(
            f"min_distance={min_distance!r}: expected metres in [0, {MAX_MIN_DISTANCE}] between "
            f"people's pelvises (0: not kept apart; default {DEFAULT_MIN_DISTANCE})"
        )
    return Guidance(float(scale), max_step, float(parallel), float(min_distance))


def _check_seed(seed: Any) -> None:
    """A seed torch's generator takes: an integer from -2^63 to 2^64 - 1."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**64:
        raise InterSynError(f"seed={seed!r}: expected an integer from -2^63 to 2^64 - 1")


def _clean_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise InterSynError(f"{name}: not valid UTF-8 text") from None
    if not isinstance(value, str):
        raise InterSynError(f"{name}: expected text, got {type(value).__name__}")
    try:
        value.encode("utf-8")  # argv decodes invalid bytes to lone surrogates, which fail here
    except UnicodeEncodeError:
        raise InterSynError(f"{name}: not valid UTF-8 text") from None
    text = " ".join(value.split())
    if not any(c.isalnum() for c in text):  # blank, or punctuation that joining would drop
        raise InterSynError(
            f"{name}: {'empty' if not text else f'no words in {text!r}'}; expected a "
            "description such as 'a person waves'"
        )
    return text


class UnknownTextWarning(UserWarning):
    """A text has no word the model was trained on, read or as written ("Ein Mensch geht"):
    the motion will not follow it."""


class PersonTextsUnreadWarning(UserWarning):
    """Per-person texts were given to a model that was not trained on them; it generates from
    the interaction text alone (`InterSynPipeline.reads_person_texts`)."""


@dataclass(frozen=True)
class Layout:
    """Where the segments lie: t_s, t_i (−1 = none) and the partner's frames `[start, end)`."""

    frames: int
    solo_start: int
    interaction_start: int
    partner_start: int
    partner_end: int
    caption: str
    order: tuple[str, ...]  # segment kinds in time order
    segments: tuple[tuple[str, int, int, str], ...] = ()  # (kind, start, end, caption)
    ends: bool = True  # the motion ends with this layout (False: a long motion's inner window)
    roles: tuple[str, ...] = ()  # per-person texts, joined at the end of the interaction's text
    # Per-person texts by person (person x's, the partner's; "" for none), for a model that
    # reads each person's own (`ModelConfig.person_texts`) instead of joined ones.
    person_texts: tuple[str, ...] = ()

    def presence(self, people: int) -> np.ndarray:
        """`(people, frames)` bool: person x everywhere, partners during the interaction."""
        mask = np.zeros((people, self.frames), dtype=bool)
        mask[0] = True
        mask[1:, self.partner_start : self.partner_end] = True
        return mask

    @classmethod
    def from_segments(cls, frames: int, segments: list[tuple[str, int, int, str]]) -> Layout:
        """The layout of `segments` `(kind, start, end, caption)` in time order."""
        t_s = next((a for kind, a, _, _ in segments if kind == "solo"), -1)
        t_i = next((a for kind, a, _, _ in segments if kind == "interaction"), -1)
        partner = next(((a, b) for kind, a, b, _ in segments if kind == "interaction"), (0, 0))
        return cls(
            frames,
            t_s,
            t_i,
            *partner,
            combine_captions([text for *_, text in segments]),
            tuple(kind for kind, *_ in segments),
            tuple(segments),
        )

    @property
    def interaction_caption(self) -> str | None:
        """What the interaction's frames are predicted under when person x also has a solo
        segment: the interaction text alone (None when the caption holds nothing else)."""
        if "solo" not in self.order or "interaction" not in self.order:
            return None
        return combine_captions([text for kind, *_, text in self.segments if kind == "interaction"])

    def window(self, start: int, length: int) -> Layout:
        """The part of the timeline in frames `[start, start + length)`, as its own layout."""
        parts = [
            (kind, max(a, start) - start, min(b, start + length) - start, text)
            for kind, a, b, text in self.segments
            if a < start + length and b > start
        ]
        ends = self.ends and start + length >= self.frames
        # Per-person texts describe the interaction: a window without it has none (as a
        # joined model's roles leave with the interaction's caption).
        interacting = any(kind == "interaction" for kind, *_ in parts)
        return dataclasses.replace(
            Layout.from_segments(length, parts),
            ends=ends,
            roles=self.roles,
            person_texts=self.person_texts if interacting else (),
        )

    @property
    def scored_segments(self) -> tuple[tuple[str, int, int, str], ...]:
        """The segments as a candidate ranker reads them: an interaction's text with the
        per-person texts given by person joined to it (as `roles` already are)."""
        given = tuple(t for t in self.person_texts if t)
        if not given:
            return self.segments
        return tuple(
            (kind, a, b, interaction_with_roles(text, given) if kind == "interaction" else text)
            for kind, a, b, text in self.segments
        )

    def map_texts(
        self, change: Callable[[str, str], str], change_role: Callable[[str], str] | None = None
    ) -> Layout:
        """The same timeline with each segment's own text passed through `change(text, kind)`
        (an interaction's without its per-person texts) and each per-person text through
        `change_role` (default: kept as it is)."""
        roles = self.roles if change_role is None else tuple(map(change_role, self.roles))
        person_texts = self.person_texts
        if change_role is not None:
            person_texts = tuple(change_role(t) if t else t for t in person_texts)
        parts = [
            (
                kind,
                a,
                b,
                interaction_with_roles(
                    change(interaction_without_roles(text, self.roles), kind), roles
                )
                if kind == "interaction" and self.roles
                else change(text, kind),
            )
            for kind, a, b, text in self.segments
        ]
        return dataclasses.replace(
            Layout.from_segments(self.frames, parts),
            ends=self.ends,
            roles=roles,
            person_texts=person_texts,
        )


def interaction_with_roles(interaction: str, roles: tuple[str, ...] = ()) -> str:
    """The interaction text with per-person captions (`person_text`, `partner_text`) joined,
    as U(·) joins a clip's own when `data.interleave.person_caption_share` asks for it."""
    return combine_captions([interaction, *roles]).rstrip(".")


def interaction_without_roles(text: str, roles: tuple[str, ...]) -> str:
    """The interaction part of `interaction_with_roles(interaction, roles)` (as capitalised
    there; `text` itself when there are no roles)."""
    if not roles:
        return text
    joined = ". " + combine_captions(list(roles)).rstrip(".")
    if not text.endswith(joined):
        raise ValueError(f"{text!r} does not end with the per-person texts {roles!r}")
    return text[: -len(joined)]


def plan_layout(
    solo: str | None,
    interaction: str | None,
    solo_start: int | None,
    interaction_start: int | None,
    frames: int,
    extra: tuple[str, ...] = (),
) -> Layout:
    """Validate the timings and place the segments (one of them starts at frame 0)."""
    for role in extra:  # (joined to the interaction text, and found again after it)
        _clean_text(role, "person_text / partner_text")
    for name, value in (("solo_start", solo_start), ("interaction_start", interaction_start)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InterSynError(f"{name}: expected a frame number, got {value!r}")
        if value is not None and not 0 <= value < frames:
            raise InterSynError(
                f"{name}={value} is outside the {frames}-frame sequence; expected 0 … {frames - 1}"
            )
    if solo is None and interaction is None:
        raise InterSynError("nothing to generate: give a solo and/or an interaction description")
    if interaction is None:
        if interaction_start is not None:
            raise InterSynError("interaction_start given without an interaction description")
        if solo_start not in (None, 0):
            raise InterSynError(f"solo_start={solo_start}: a solo-only motion starts at frame 0")
        return Layout.from_segments(frames, [("solo", 0, frames, solo)])
    segments = _place_segments(
        solo, interaction_with_roles(interaction, extra), solo_start, interaction_start, frames
    )
    return dataclasses.replace(Layout.from_segments(frames, segments), roles=extra)


def _place_segments(
    solo: str | None,
    interaction_text: str,
    solo_start: int | None,
    interaction_start: int | None,
    frames: int,
) -> list[tuple[str, int, int, str]]:
    """`plan_layout`'s segments `(kind, start, end, text)` when there is an interaction."""
    if solo is None:
        if solo_start is not None:
            raise InterSynError("solo_start given without a solo description")
        if interaction_start not in (None, 0):
            raise InterSynError(
                f"interaction_start={interaction_start}: an interaction-only motion starts at 0"
            )
        return [("interaction", 0, frames, interaction_text)]
    if solo_start and interaction_start:
        raise InterSynError(
            f"solo_start={solo_start} and interaction_start={interaction_start}: exactly one "
            "segment starts at frame 0 (t_i · t_s = 0)"
        )
    solo_first = not (solo_start or interaction_start == 0)
    if solo_first:
        t_i = interaction_start if interaction_start else max(MIN_SEGMENT, frames // 3)
        _check_segments(t_i, frames, "interaction_start")
        return [("solo", 0, t_i, solo), ("interaction", t_i, frames, interaction_text)]
    t_s = solo_start if solo_start else max(MIN_SEGMENT, frames // 2)
    _check_segments(t_s, frames, "solo_start")
    return [("interaction", 0, t_s, interaction_text), ("solo", t_s, frames, solo)]


def _check_segments(start: int, frames: int, name: str) -> None:
    if not MIN_SEGMENT <= start <= frames - MIN_SEGMENT:
        raise InterSynError(
            f"{name}={start}: both segments need at least {MIN_SEGMENT} frames; expected "
            f"{MIN_SEGMENT} … {frames - MIN_SEGMENT} for a {frames}-frame motion"
        )


@dataclass
class GenerationResult:
    """Generated motion(s): `joints (N, K, T, 22, 3)` metres, Y up, person x at index 0.

    Absent frames of a partner hold its nearest present pose (BVH needs a pose in every frame);
    `presence (K, T)` says which frames are real. `features` are the pair features.
    """

    joints: np.ndarray
    features: np.ndarray
    presence: np.ndarray
    texts: dict[str, str | None]
    meta: dict = field(default_factory=dict)
    fps: int = FPS

    def _index(self, index: int) -> int:
        """`index` if it names one of the samples, else a one-line error."""
        count = self.joints.shape[0]
        try:  # any integer, numpy's included (np.argmax(...))
            position = None if isinstance(index, bool) else operator.index(index)
        except TypeError:
            position = None
        if position is None or not 0 <= position < count:
            raise InterSynError(
                f"index={index!r}: expected a sample index from 0 to {count - 1} "
                f"({count} sample{'s' if count > 1 else ''} generated)"
            )
        return position

    def sample(self, index: int = 0) -> np.ndarray:
        """Joints `(K, T, 22, 3)` of one sample."""
        return self.joints[self._index(index)]

    def to_bvh(self, path: str | Path, index: int = 0) -> list[Path]:
        """One BVH per person (`motion.bvh`, `motion_person2.bvh`, …); returns the paths."""
        from intersyn.export.bvh import bvh_paths, write_bvh

        path = Path(path).expanduser()
        write_bvh(path, self.sample(index), fps=self.fps)
        return bvh_paths(path, self.joints.shape[1])

    def render(self, path: str | Path, index: int = 0) -> Path:
        """Stick-figure video (`.mp4` or `.gif`) with captions and a frame counter."""
        return self._render_videos([Path(path).expanduser()], index)[0]

    def _render_videos(self, paths: list[str | Path], index: int) -> list[Path]:
        """Several videos of one sample, each frame drawn once (`render_videos`)."""
        from intersyn.export.render import render_videos

        captions = [self.meta.get("caption", "")]
        return render_videos(
            paths, self.sample(index), fps=self.fps, captions=captions, presence=self.presence
        )

    def save(
        self, directory: str | Path, *, overwrite: bool = False, video: str = "mp4+gif"
    ) -> Path:
        """Write every output into `directory`, atomically (a temporary folder, then a rename).

        One sample: files directly in `directory`; several: `sample_000/`, `sample_001/`, ...
        """
        target = Path(directory).expanduser()
        if target.exists() and not target.is_dir():
            raise InterSynError(f"output {target}: is a file; expected a directory path")
        if target.exists() and any(target.iterdir()) and not overwrite:
            raise InterSynError(
                f"output {target}: exists and is not empty; pass overwrite=True (--overwrite)"
            )
        kinds = [kind for kind in video.split("+") if kind] if isinstance(video, str) else None
        if kinds is None or not set(kinds) <= {"mp4", "gif"}:
            raise InterSynError(f"video={video!r}: expected 'mp4+gif', 'mp4', 'gif' or ''")
        staging = target.parent / f".{target.name}.partial-{time.time_ns()}"
        staging.mkdir(parents=True)
        try:
            count = self.joints.shape[0]
            for i in range(count):
                folder = staging if count == 1 else staging / f"sample_{i:03d}"
                self._save_one(folder, i, video)
            from intersyn.io import write_json

            write_json(staging / "meta.json", self.meta)
            if target.exists():
                trash = target.parent / f".{target.name}.old-{time.time_ns()}"
                target.rename(trash)
                staging.rename(target)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    def _save_one(self, folder: Path, index: int, video: str) -> None:
        from intersyn.export.bvh import write_bvh
        from intersyn.io import save_npy

        folder.mkdir(parents=True, exist_ok=True)
        # The BVH encodes fixed bone lengths; save the joints it encodes so both files agree.
        encoded = write_bvh(folder / "motion.bvh", self.joints[index], fps=self.fps)
        save_npy(folder / "joints.npy", encoded.astype(np.float32))
        save_npy(folder / "features.npy", self.features[index].astype(np.float32))
        save_npy(folder / "presence.npy", self.presence)
        kinds = [kind for kind in video.split("+") if kind]
        if kinds:
            self._render_videos([folder / f"motion.{kind}" for kind in kinds], index)


class InterSynPipeline:
    """Loads a trained model once and generates motions from text."""

    def __init__(
        self,
        model: TrainedModel,
        checkpoint: Path,
        device: torch.device,
        ranker: str | Path | None = None,
    ) -> None:
        """`ranker`: a `text_encoder.pt` that scores candidates when more than one is asked
        for (`intersyn.ranking`); default: the scorer the checkpoint carries, if any. It is
        loaded here, with the model, so a bad file fails before anything is generated."""
        from intersyn.ranking import MotionTextScorer
        from intersyn.text.factory import build_text_encoder

        self.model, self.checkpoint, self.device = model, checkpoint, device
        source = ranker if ranker is not None else model.ranker_weights
        self._ranker = None if source is None else MotionTextScorer(source, FPS)
        cfg = model.config
        self.anchor = cfg.model.placement_anchor  # how the model's pair features place partners
        encoder = build_text_encoder(
            cfg.text_encoder,
            cfg.text_path,
            device=str(device),
            max_tokens=cfg.text_max_tokens,
            weights=model.text_weights,  # a trained text encoder travels with its generator
        )
        if encoder.dim != cfg.model.text_dim:
            raise InterSynError(
                f"checkpoint {checkpoint}: expects {cfg.model.text_dim}-d text features but "
                f"{cfg.text_encoder!r} gives {encoder.dim}"
            )
        self.text = TextConditioner(encoder, device)
        # Checkpoints from before the vocabulary was recorded read every word as written.
        self.reader = (
            UnseenWordReader(
                model.text_vocabulary,
                word_vectors,
                related=wordnet_reading,
                opposite=wordnet_opposites,
                word_pairs=model.text_word_pairs,  # absent before session 33: first sense
            )
            if model.text_vocabulary
            else None
        )
        self.schedule = NoiseSchedule(cfg.diffusion.schedule, cfg.diffusion.num_steps)
        self.known_wording = None
        if model.text_captions and self._ranker is not None:
            embedded = model.text_caption_embeddings or {}
            same = embedded.get("ranker_sha256") == self._ranker.sha256  # else embedded anew
            self.known_wording = KnownWording(
                model.text_captions,
                self._ranker.embed_texts,
                {k: v for k, v in embedded.items() if k != "ranker_sha256"} if same else None,
                model.text_vocabulary,  # (None before session 31: the captions' words)
            )

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        device: str | torch.device = "cpu",
        ranker: str | Path | None = None,
    ) -> InterSynPipeline:
        """The shipped default model (no path) or a checkpoint written by `intersyn train`;
        `ranker`: see `__init__`."""
        checkpoint = default_checkpoint_path() if path is None else Path(path).expanduser()
        chosen = torch.device(device)
        return cls(load_trained_model(checkpoint, chosen), checkpoint, chosen, ranker)

    @property
    def default_candidates(self) -> int:
        """Samples drawn per motion unless asked: `DEFAULT_CANDIDATES` with a ranker, else 1."""
        return DEFAULT_CANDIDATES if self._ranker is not None else 1

    @property
    def ranker(self) -> MotionTextScorer:
        """The candidate scorer, or a one-line error when there is none."""
        if self._ranker is None:
            raise InterSynError(
                f"candidates > 1: checkpoint {self.checkpoint} carries no ranker; give one "
                "(a text_encoder.pt from `intersyn text-encoder train`) with --ranker"
            )
        return self._ranker

    def _best_of(
        self, joints: Sequence[np.ndarray], segments: tuple, candidates: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Index of the best-scored candidate in each consecutive group of `candidates`
        motions `(P, T, 22, 3)` (N * candidates of them, all of `segments`' layout), and all
        scores `(N, candidates)`."""
        scores = self.ranker.score(list(joints), segments).reshape(-1, candidates)
        best = scores.argmax(1) + np.arange(len(scores)) * candidates
        return best, scores

    def reword(self, text: str) -> tuple[str, list[WordSubstitution]]:
        """`text` as the model reads it: each word absent from its training captions replaced
        by the nearest one that is not (`intersyn.text.vocabulary`), and the replacements."""
        return (text, []) if self.reader is None else self.reader.rewrite(text)

    def read_layout(self, layout: Layout) -> tuple[Layout, list[WordSubstitution]]:
        """`layout` with its segments' texts as the model reads them (an interaction's text
        and each per-person text read as separate sentences), and the substitutions made."""
        found: dict[str, WordSubstitution] = {}

        def read(text: str, kind: str = "") -> str:
            text, substitutions = self.reword(text)
            found.update((s.word, s) for s in substitutions)
            return text

        read_layout = layout.map_texts(read, read)
        return (read_layout, list(found.values())) if found else (layout, [])

    def _unknown_words(self, texts: dict[str, str | None], keep_words: bool) -> list[str]:
        """The words of `texts` the model reads as written although it was never trained on
        them (none read as a training word, or all with `keep_words`), each once; warns
        (`UnknownTextWarning`) of a text that has no training word at all."""
        if self.reader is None:  # a model without a vocabulary: nothing to compare with
            return []
        found: list[str] = []
        for name, text in texts.items():
            if text is None:
                continue
            read = text if keep_words else self.reword(text)[0]
            found += self.reader.unknown(read)
            if not self.reader.knows_any(read):
                warnings.warn(
                    f"{name} {text!r}: none of its words is one the model was trained on (an "
                    "English description of a motion such as 'a person waves'); the motion "
                    "will not follow it",
                    UnknownTextWarning,
                    stacklevel=4,  # (past _unknown_words, __call__ and inference_mode's wrapper)
                )
        return list(dict.fromkeys(found))

    def in_known_wording(self, layout: Layout) -> Layout:
        """`layout` with each segment's text replaced by its nearest training caption of the
        segment's kind, per-person texts kept (`layout` itself when the model knows no
        captions or all are its own)."""
        if self.known_wording is None:
            return layout
        known = layout.map_texts(self.known_wording.nearest)
        return layout if known.segments == layout.segments else known

    def candidate_layouts(self, layout: Layout, candidates: int, keep_words: bool) -> list[Layout]:
        """What each of `candidates` samples of `layout` is drawn under: its own texts, and for
        every `KNOWN_WORDING_EVERY`-th candidate (when there is more than one, so the ranker
        chooses) their nearest training captions (a text wholly in training words kept,
        `KnownWording.nearest`), unless `keep_words`."""
        known = layout
        if candidates > 1 and not keep_words:
            known = self.in_known_wording(layout)
        return [
            known if j % KNOWN_WORDING_EVERY == KNOWN_WORDING_EVERY - 1 else layout
            for j in range(candidates)
        ]

    @property
    def reads_person_texts(self) -> bool:
        """Whether the model was trained on per-person texts: each person's own
        (`model.person_texts`, `tags_person_texts`) or joined to interaction captions
        (`data.interleave.person_caption_share` > 0). A model that was not does not follow
        them: on the session-35 default they did not change who leads in "two people walk one
        behind the other" (person x behind in 7 / 7 / 7 of 8 samples with the roles as given,
        swapped, or none), and after an approach they kept hands apart (handshake within 10
        cm in 1 of 8 samples at 107 frames and 0 of 8 at 140, against 4 and 8 of 8 without
        them; `bench/person_texts.py`). Such a model is conditioned on the interaction text
        alone."""
        return self.model.config.reads_person_texts

    @property
    def tags_person_texts(self) -> bool:
        """Whether the denoiser reads each person's text as that person's
        (`ModelConfig.person_texts`), rather than joined to the interaction's."""
        return self.model.config.tags_person_texts

    def plan(
        self,
        solo: str | None,
        interaction: str | None,
        solo_start: int | None,
        interaction_start: int | None,
        frames: int,
        person_text: str | None = None,
        partner_text: str | None = None,
    ) -> Layout:
        """`plan_layout` with the per-person texts placed as this model reads them: each
        person's own (`tags_person_texts`), joined to the interaction's text, or left out (a
        model not trained on them, `reads_person_texts`)."""
        if not self.reads_person_texts:
            person_text = partner_text = None
        roles = tuple(t for t in (person_text, partner_text) if t)
        joined = () if self.tags_person_texts else roles
        layout = plan_layout(solo, interaction, solo_start, interaction_start, frames, joined)
        if roles and self.tags_person_texts:
            texts = tuple(
                _clean_text(t, "person_text / partner_text") or ""
                for t in (person_text, partner_text)
            )
            layout = dataclasses.replace(layout, person_texts=texts)
        return layout

    @property
    def window(self) -> int:
        """Frames the model generates in one pass."""
        return self.model.config.data.interleave.frames

    @property
    def overlap(self) -> int:
        """Frames consecutive windows share when a motion is longer than the window."""
        return max(8, self.window // 16 * 4)

    @torch.inference_mode()
    def __call__(
        self,
        solo: str | None = None,
        interaction: str | None = None,
        *,
        solo_start: int | None = None,
        interaction_start: int | None = None,
        person_text: str | None = None,
        partner_text: str | None = None,
        frames: int | None = None,
        people: int | None = None,
        seed: int = 0,
        steps: int = 50,
        guidance: float = 2.5,
        guidance_max_step: int | None = None,
        guidance_parallel: float = DEFAULT_GUIDANCE_PARALLEL,
        min_distance: float = DEFAULT_MIN_DISTANCE,
        num_samples: int = 1,
        candidates: int | None = None,
        cleanup: CleanupConfig | None = DEFAULT_CLEANUP,
        keep_words: bool = False,
        progress: bool = False,
    ) -> GenerationResult:
        """Generate `num_samples` motions; see the module docstring for the layout.

        `guidance_max_step`: guide only at diffusion steps ≤ this (0 … the schedule's steps − 1,
        999 for the shipped model); the noisier steps use the text prediction alone. None: guide
        at every step. Its effect on pace, contact and text agreement: README, "Guidance
        interval". `guidance_parallel`: the weight of the guidance update's component along
        the text prediction (0, the default: projected guidance, which keeps walks at the
        data's pace; 1: classifier-free guidance as usual; README, "Projected guidance").
        `min_distance`: metres that people's pelvises are kept apart on every frame, enforced on
        each prediction while sampling (`intersyn.kinematics.personal_space`; README, "Personal
        space"); 0 lets the model put people inside each other.

        `candidates`: each returned motion is the best of that many samples by the ranker's
        text-motion agreement (`intersyn.ranking`; their scores in `meta["candidate_scores"]`;
        default `default_candidates`).

        `cleanup`: post-processing of the decoded joints (temporal smoothing, one rigid
        skeleton per person, foot locking and hand contact, `intersyn.kinematics.cleanup`);
        None returns the model's raw output. Words that the training captions never use are
        read as training words (one WordNet relates to them, else the nearest by word vectors;
        listed in `meta["word_substitutions"]`), and with more than one candidate some are
        drawn under the nearest training captions (`candidate_layouts`; each candidate's
        caption in `meta["candidate_captions"]`), unless `keep_words`. Words no reading is found
        for are used as written and listed in `meta["unknown_words"]`; a text with no training
        word at all warns (`UnknownTextWarning`). Samples are drawn `SAMPLES_PER_BATCH` at a time
        from one generator; one call samples at most `MAX_PERSON_FRAMES` person-frames.
        """
        solo = _clean_text(solo, "solo")
        interaction = _clean_text(interaction, "interaction")
        person_text = _clean_text(person_text, "person_text")
        partner_text = _clean_text(partner_text, "partner_text")
        roles = tuple(t for t in (person_text, partner_text) if t)
        unread = bool(roles) and not self.reads_person_texts
        if unread and interaction is None:
            raise InterSynError(
                f"person_text / partner_text without an interaction: checkpoint "
                f"{self.checkpoint.name} was not trained on per-person texts; give the "
                "interaction itself, e.g. --interaction 'two people shake hands'"
            )
        given_interaction = interaction  # (not the placeholder below, for unknown words)
        if roles and interaction is None:
            interaction = "two people interact"
        frames = self.window if frames is None else frames
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 2:
            raise InterSynError(f"frames={frames!r}: expected an integer >= 2")
        if people is None:
            people = 1 if interaction is None else 2
        if isinstance(people, bool) or not isinstance(people, int) or people < 1:
            raise InterSynError(f"people={people!r}: expected an integer >= 1")
        if interaction is None and people > 1:
            raise InterSynError(f"people={people}: more than one person needs an interaction text")
        if interaction is not None and people < 2:
            raise InterSynError("people=1: an interaction needs at least 2 people")
        if candidates is None:
            candidates = self.default_candidates
        for name, value, low in (
            ("steps", steps, 1),
            ("num_samples", num_samples, 1),
            ("candidates", candidates, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InterSynError(f"{name}={value!r}: expected an integer >= {low}")
        _check_seed(seed)
        drawn = num_samples * candidates * max(people, 2) * frames
        if drawn > MAX_PERSON_FRAMES:
            raise InterSynError(
                f"num_samples={num_samples} × candidates={candidates} × people drawn "
                f"{max(people, 2)} × frames={frames}: {drawn:,} person-frames to sample; expected "
                f"at most {MAX_PERSON_FRAMES:,} per call (ask for fewer, or call again with "
                "another seed)"
            )
        how = _guidance(
            guidance, guidance_max_step, guidance_parallel, self.schedule.num_steps, min_distance
        )
        if cleanup is not None and not isinstance(cleanup, CleanupConfig):
            raise InterSynError(f"cleanup={cleanup!r}: expected a CleanupConfig or None")
        layout = self.plan(
            solo, interaction, solo_start, interaction_start, frames, person_text, partner_text
        )
        texts = {
            "solo": solo,
            "interaction": interaction,
            "person_text": person_text,
            "partner_text": partner_text,
        }
        if unread:
            warnings.warn(
                f"person_text / partner_text: checkpoint {self.checkpoint.name} was not trained "
                "on per-person texts (model.person_texts or data.interleave.person_caption_share) "
                "and would not "
                "follow them; generating from the interaction text alone (they are kept in "
                "meta.json)",
                PersonTextsUnreadWarning,
                stacklevel=3,  # (past torch.inference_mode's wrapper: the caller's line)
            )
        model_layout, substitutions = (layout, []) if keep_words else self.read_layout(layout)
        # (per-person texts a model does not read are dropped with their own warning above)
        read_texts = {**texts, "interaction": given_interaction}
        if unread:
            read_texts.update(person_text=None, partner_text=None)
        unknown = self._unknown_words(read_texts, keep_words)

        if candidates > 1:
            _ = self.ranker  # no ranker: fail before sampling, not after

        started = time.perf_counter()
        presence = layout.presence(people)
        variants = self.candidate_layouts(model_layout, candidates, keep_words)
        # One generator for every batch, so each batch draws new noise after the one before.
        generator = torch.Generator(device=self.device).manual_seed(seed)
        batches = [
            self._generate_batch(
                variants,
                min(SAMPLES_PER_BATCH, num_samples - first),
                people,
                presence,
                model_layout.scored_segments,
                generator,
                steps,
                how,
                cleanup,
                progress,
            )
            for first in range(0, num_samples, SAMPLES_PER_BATCH)
        ]
        joints = np.concatenate([batch.joints for batch in batches])
        features = np.concatenate([batch.features for batch in batches])
        chosen = None if candidates == 1 else [c for batch in batches for c in batch.chosen]
        scores = None if candidates == 1 else np.concatenate([batch.scores for batch in batches])
        frames_meta = [f for batch in batches for f in batch.frame_meta]
        elapsed = time.perf_counter() - started
        meta = {
            "texts": texts,
            # False: the model does not read them
            "person_texts_conditioned": bool(layout.roles or layout.person_texts),
            "caption": layout.caption,
            "model_caption": model_layout.caption,  # the caption with unseen words substituted
            "word_substitutions": [dataclasses.asdict(s) for s in substitutions],
            # words neither in the training captions nor read as one of theirs: used as written
            "unknown_words": unknown,
            "solo_start": layout.solo_start,
            "interaction_start": layout.interaction_start,
            "order": list(layout.order),
            "frames": frames,
            "fps": FPS,
            "people": people,
            "seed": seed,
            "steps": steps,
            "guidance": guidance,
            "guidance_max_step": guidance_max_step,  # None: guided at every step
            "guidance_parallel": how.parallel,  # 1: classifier-free guidance, 0: projected
            "min_distance": how.min_distance,  # m between pelvises while sampling; 0: none
            "num_samples": num_samples,
            "candidates": candidates,
            "ranker_sha256": None if scores is None else self.ranker.sha256,
            "candidate_scores": None if scores is None else np.round(scores, 4).tolist(),
            "candidate_captions": [lay.caption for lay in variants],
            "chosen_candidates": chosen,
            "checkpoint": str(self.checkpoint),
            "checkpoint_sha256": self.model.sha256,
            "config": self.model.config.to_dict(),
            "trained_steps": self.model.steps,
            "sampling_seconds": round(elapsed, 3),
            "absent_frames": "partners hold their nearest present pose; see presence.npy",
            "cleanup": None if cleanup is None else dataclasses.asdict(cleanup),
            # features.npy is canonical (person x at the origin facing +Z); per sample, the yaw
            # and translation that put the decoded features where joints.npy is.
            "features_frame": frames_meta,
        }
        return GenerationResult(joints, features, presence, texts, meta)

    def _generate_batch(
        self,
        variants: list[Layout],
        count: int,
        people: int,
        presence: np.ndarray,
        scored_segments: tuple,
        generator: torch.Generator,
        steps: int,
        guidance: Guidance,
        cleanup: CleanupConfig | None,
        progress: bool,
    ) -> _Batch:
        """`count` motions of `people` (`presence (people, T)`), each the best of one sample per
        layout of `variants` by the ranker (`scored_segments`), cleaned up unless `cleanup` is
        None, as `__call__` returns them; noise from `generator`."""
        candidates = len(variants)
        drawn = variants * count  # sample n * candidates + j is drawn under variant j
        features = None
        if drawn[0].frames > self.window:
            world = self._sample_long(drawn, max(people, 2), steps, guidance, progress, generator)
            world = world[:, :people]
        else:
            features = self._sample(
                drawn, people, 0, steps, guidance, progress, generator=generator
            )
            needed = cleanup is not None or candidates > 1
            world = _decode(features, presence, self.anchor) if needed else None
        if world is not None and cleanup is not None:
            world = clean_motion(_hold_absent(world, presence), cleanup, presence)
        scores, chosen = None, None
        if candidates > 1:
            best, scores = self._best_of(world, scored_segments, candidates)
            chosen = (best % candidates).tolist()
            world = world[best]
            if cleanup is None and features is not None:  # raw output: the model's own features
                features, world = features[best], None
        frame = None
        if world is not None:
            features, frame = _features_of(world, presence, self.anchor)
        # Joints decoded from the returned features (in the world the clean-up left them in,
        # not re-canonicalised), so the two outputs agree exactly.
        joints = _hold_absent(_decode(features, presence, self.anchor, frame), presence)
        return _Batch(
            joints.astype(np.float32),
            features.astype(np.float32),
            chosen,
            scores,
            _frame_meta(frame, count),
        )

    def _sample(
        self,
        layouts: list[Layout],
        people: int,
        seed: int,
        steps: int,
        guidance: Guidance,
        progress: bool,
        *,
        generator: torch.Generator | None = None,
        known: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Normalised sampling of person x + partners, coordinator refinement, de-normalised:
        one sample per layout (layouts of one timeline, which may differ in their texts).

        `known = (features (N, K, T, D) unnormalised, rows (N, K, T) bool)` fixes those rows by
        in-painting, for each of the `people` (K of them, 2 at least; long motions: the overlap
        with the previous window).
        """
        model, device = self.model, self.device
        layout, num_samples = layouts[0], len(layouts)
        T, D = layout.frames, model.config.model.feature_dim
        presence = torch.from_numpy(layout.presence(2)).to(device)[None].expand(num_samples, -1, -1)
        valid = torch.ones(num_samples, T, dtype=torch.bool, device=device)
        cond, interaction_cond = self._condition(layouts)
        if generator is None:
            generator = torch.Generator(device=device).manual_seed(seed)
        mask = presence[..., None].expand(-1, -1, -1, D)
        shape = (num_samples, 2, T, D)

        def known_pair(pair: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
            """The known rows of people `pair` (person x, a partner) as a pair's in-painting:
            normalised values and which entries they fix."""
            values = torch.from_numpy(known[0][:, pair]).float().to(device)
            rows = torch.from_numpy(known[1][:, pair]).to(device) & presence
            fixed = rows[..., None].expand(shape).clone()
            if self.anchor == "run_end":
                # A partner's placement is where its run ends, which the overlap does not know:
                # the model predicts it (`_sample_long` keeps the partner where it was).
                fixed[:, 1:, :, FEATURE_DIM:] = False
            return model.stats.normalize(values) * rows[..., None], fixed

        sample = functools.partial(
            self._denoise,
            cond,
            presence,
            valid,
            steps,
            guidance,
            generator,
            progress,
            interaction_cond=interaction_cond,
        )
        first = sample(None if known is None else known_pair([0, 1]))
        motions = [first[:, 0], first[:, 1]]
        for partner in range(2, people):  # more partners: person x held fixed by in-painting
            values = torch.zeros(shape, device=device)
            fixed = torch.zeros(shape, dtype=torch.bool, device=device)
            if known is not None:  # and the partner's own overlap, as the first one's
                values, fixed = known_pair([0, partner])
            values[:, 0], fixed[:, 0] = first[:, 0], mask[:, 0]
            motions.append(sample((values, fixed))[:, 1])
        group = torch.stack(motions[:people], 1)  # (N, K, T, D)
        group_presence = torch.from_numpy(layout.presence(people)).to(device)
        group_presence = group_presence[None].expand(num_samples, -1, -1)
        return self._refine(group, cond, group_presence, valid, guidance.min_distance).cpu().numpy()

    def _interaction_caption(self, layout: Layout) -> str | None:
        """The interaction text alone where the data's interaction frames do not depend on
        person x's solo text: always when partners are placed relative to person x where they
        appear or leave ("run" and "run_end" anchors), else only when the one interaction starts
        the sequence (with the "sequence" anchor a partner who appears after a solo walk is
        placed from where person x started, which depends on how far the solo text takes
        person x)."""
        single_first = layout.order[0] == "interaction" and layout.order.count("interaction") == 1
        if self.anchor != "sequence" or single_first:
            return layout.interaction_caption
        return None

    def _condition(
        self, layouts: list[Layout], interaction_text_alone: bool = True
    ) -> tuple[Condition, Condition | None]:
        """Per-sample text features and timings (t_i, t_s) of a batch, and the condition its
        interaction frames are predicted under (None when no layout has both a solo and an
        interaction segment, or with `interaction_text_alone=False`; see `_denoise`)."""
        captions = [lay.caption for lay in layouts]
        alone = (
            [self._interaction_caption(lay) for lay in layouts] if interaction_text_alone else []
        )
        split = any(alone)
        if split:  # layouts without an own interaction text repeat their caption
            captions += [text or caption for text, caption in zip(alone, captions)]
        every = layouts * (2 if split else 1)

        def starts(values: list[int]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.long, device=self.device)

        with warnings.catch_warnings():  # a truncation warning on every request, not the first
            warnings.simplefilter("always")
            # One call, so both captions' token lists are padded to the same length.
            tokens, mask, pooled = self.text.encode(captions)
            both = Condition(
                tokens,
                mask,
                pooled,
                starts([lay.interaction_start for lay in every]),
                starts([lay.solo_start for lay in every]),
                torch.zeros(len(every), dtype=torch.bool, device=self.device),
                torch.tensor([lay.ends for lay in every], dtype=torch.bool, device=self.device),
            )
            if self.tags_person_texts:
                texts = tuple(lay.person_texts for lay in every)
                both = with_person_texts(both, texts, self.text)
        if not split:
            return both, None
        count = len(layouts)
        return both.select(slice(0, count)), both.select(slice(count, 2 * count))

    def _refine(
        self,
        group: torch.Tensor,
        cond: Condition,
        presence: torch.Tensor,
        valid: torch.Tensor,
        min_distance: float,
        coordinator: bool = True,
    ) -> torch.Tensor:
        """Coordinator refinement of normalised `group (N, K, T, D)` against person x (when the
        model has a trained one and `coordinator`), people kept `min_distance` apart (the
        coordinator moves partners again), de-normalised, 0 where `presence` is False."""
        model = self.model
        if coordinator and group.shape[1] > 1 and model.steps.get("rec", 0) > 0:
            group = model.coordinator.refine_group(group, cond, presence, valid)
        group = keep_apart(group, presence, self._decode_normalised, min_distance)
        return torch.where(presence[..., None], model.stats.denormalize(group), 0.0)

    def _decode_normalised(self, x: torch.Tensor, presence: torch.Tensor) -> torch.Tensor:
        """Joints `(N, P, T, 22, 3)` of normalised features `x (N, P, T, D)`, differentiably."""
        return decode_pair(self.model.stats.denormalize(x), presence, self.anchor)

    def _denoise(
        self,
        cond: Condition,
        presence: torch.Tensor,
        valid: torch.Tensor,
        steps: int,
        guidance: Guidance,
        generator: torch.Generator,
        progress: bool,
        inpaint: tuple[torch.Tensor, torch.Tensor] | None = None,
        interaction_cond: Condition | None = None,
    ) -> torch.Tensor:
        """DDIM with batched guidance: normalised pair features `(N, 2, T, D)`.

        Each guided x0 prediction keeps the two people `guidance.min_distance` apart
        (`keep_apart`) before the step that uses it.

        `presence (N, 2, T)` and `valid (N, T)` (False on padding) hold per sample.
        `interaction_cond`: every person's rows in the interaction's frames (where a partner is
        present) of each conditional prediction come from one more pass under this condition
        (the interaction text alone), in the same batch. U(·) joins any solo clip to any
        interaction, so in the data those rows do not depend on person x's solo text; the
        model, reading both sentences, lets a solo "walks forward and waves" put the partner
        3-4 m away, and person x, still walking, into the partner (`bench/interleaved_meeting.py`).
        """
        num_samples, _, T = presence.shape
        D = self.model.config.model.feature_dim
        denoiser = self.model.denoiser

        built: dict[int, tuple] = {}

        def batch_inputs(drop: torch.Tensor) -> tuple:
            """Condition, presence and frames of one denoiser call for this `drop` pattern
            (the same at every step, so built once). For one guidance scale the pattern is
            fixed by its length (`guided_denoiser`), so that is the key: reading the values
            would wait for the device at every step."""
            key = drop.shape[0]
            if key not in built:
                times = len(drop) // num_samples
                doubled = dataclasses.replace(cond.repeat(times), cond_drop=drop)
                rows, frames = presence.repeat(times, 1, 1), valid.repeat(times, 1)
                if interaction_cond is None:
                    built[key] = (doubled, rows, frames, None, None)
                else:
                    shown = ~drop  # samples that see their text
                    extra = dataclasses.replace(
                        interaction_cond.repeat(times), cond_drop=drop
                    ).select(shown)
                    # The interaction's frames: where a partner is present, for every person.
                    during = rows[shown][:, 1:].any(1, keepdim=True)[..., None]  # (n, 1, T, 1)
                    built[key] = (
                        Condition.cat([doubled, extra]),
                        torch.cat([rows, rows[shown]]),
                        torch.cat([frames, frames[shown]]),
                        shown,
                        during,
                    )
            return built[key]

        def model_fn(x_t: torch.Tensor, t: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
            condition, rows, frames, shown, during = batch_inputs(drop)
            if shown is None:
                return denoiser(x_t, t, condition, rows, frames)
            out = denoiser(
                torch.cat([x_t, x_t[shown]]), torch.cat([t, t[shown]]), condition, rows, frames
            )
            out, alone = out[: x_t.shape[0]], out[x_t.shape[0] :]
            out[shown] = torch.where(during, alone, out[shown])
            return out

        rows = presence & valid[:, None, :]
        guided = guided_denoiser(model_fn, guidance.scale, guidance.max_step, guidance.parallel)
        held = None if inpaint is None else inpaint[1]  # the sampler overwrites those anyway

        def denoise(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            x0 = guided(x_t, t)
            if held is not None:  # distances as the in-painted rows will be, not as predicted
                x0 = torch.where(held, inpaint[0].to(x0), x0)
            return keep_apart(
                x0,
                rows,
                self._decode_normalised,
                guidance.min_distance,
                iterations=PREDICTION_ITERATIONS,
                frozen=held,
            )

        return ddim_sample(
            denoise if guidance.min_distance > 0 else guided,  # 0: no per-step decoding at all
            (num_samples, 2, T, D),
            self.schedule,
            steps,
            generator=generator,
            progress=progress,
            mask=rows[..., None].expand(-1, -1, -1, D),
            inpaint=inpaint,
            device=self.device,
        )

    @torch.inference_mode()
    def sample_layouts(
        self,
        layouts: list[Layout],
        *,
        seed: int = 0,
        steps: int = 50,
        guidance: float = 2.5,
        guidance_max_step: int | None = None,
        guidance_parallel: float = DEFAULT_GUIDANCE_PARALLEL,
        min_distance: float = DEFAULT_MIN_DISTANCE,
        batch_size: int = 64,
        coordinator: bool = True,
        cleanup: CleanupConfig | None = None,
        progress: bool = False,
        per_person: bool = False,
        interaction_text_alone: bool = True,
        candidates: int = 1,
        keep_words: bool = False,
    ) -> list[np.ndarray]:
        """Two-person motions for many layouts at once (evaluation): joints `(2, T_k, 22, 3)` each.

        Layouts may differ in length (up to the window) and timings; a batch is padded to its
        longest layout and the padding masked out. Sample k uses the generator seeded with
        `seed` after the batches before it, so results depend on `seed` and `batch_size` only.
        `coordinator=False` skips the stage-2 refinement (the "w/o coordinator" ablation).
        `cleanup` post-processes the joints as `__call__` does (default: the raw model output,
        which the protocol tables score). `per_person=True` is the MDM-style baseline: each
        person generated alone as a solo motion, the partner then placed facing person x
        (`intersyn.evaluation.per_person`). `interaction_text_alone=False` predicts every frame
        under the whole caption (the ablation of the rule in `_denoise`). `candidates`: each
        motion is the best of that many, as in `__call__` (scored on the joints returned; some
        drawn under the nearest training captions unless `keep_words`, `candidate_layouts`).
        The layouts' texts are used as given (`reword` reads unseen words). Guidance as in
        `__call__` (projected by default; the protocol tables pass `guidance_parallel=1`).
        """
        _check_seed(seed)
        how = _guidance(
            guidance, guidance_max_step, guidance_parallel, self.schedule.num_steps, min_distance
        )
        if not layouts:
            return []
        if candidates > 1:
            drawn, best, _ = self.sample_candidates(
                layouts,
                candidates,
                keep_words,
                seed=seed,
                steps=steps,
                guidance=guidance,
                guidance_max_step=guidance_max_step,
                guidance_parallel=guidance_parallel,
                min_distance=min_distance,
                batch_size=batch_size,
                coordinator=coordinator,
                cleanup=cleanup,
                progress=progress,
                per_person=per_person,
                interaction_text_alone=interaction_text_alone,
            )
            return [drawn[k * candidates + j] for k, j in enumerate(best)]
        if per_person:
            from intersyn.evaluation.per_person import compose_per_person, per_person_requests

            mine, theirs = per_person_requests(layouts)
            solos = self.sample_layouts(
                mine + theirs,
                seed=seed,
                steps=steps,
                guidance=guidance,
                guidance_max_step=guidance_max_step,
                guidance_parallel=guidance_parallel,
                min_distance=min_distance,
                batch_size=batch_size,
                coordinator=False,
                cleanup=cleanup,
                progress=progress,
            )
            count = len(layouts)
            return compose_per_person(
                layouts, [j[0] for j in solos[:count]], [j[0] for j in solos[count:]]
            )
        too_long = [lay.frames for lay in layouts if lay.frames > self.window]
        if too_long:
            raise InterSynError(
                f"layouts: {len(too_long)} longer than the model's {self.window}-frame window "
                f"(longest {max(too_long)})"
            )
        device = self.device
        generator = torch.Generator(device=device).manual_seed(seed)
        out: list[np.ndarray] = []
        chunks = range(0, len(layouts), batch_size)
        for first in tqdm(chunks, desc="sampling", unit="batch", disable=not progress):
            part = layouts[first : first + batch_size]
            T = max(lay.frames for lay in part)
            presence_np = np.zeros((len(part), 2, T), dtype=bool)
            valid_np = np.zeros((len(part), T), dtype=bool)
            for k, lay in enumerate(part):
                presence_np[k, :, : lay.frames] = lay.presence(2)
                valid_np[k, : lay.frames] = True
            presence = torch.from_numpy(presence_np).to(device)
            valid = torch.from_numpy(valid_np).to(device)
            cond, interaction_cond = self._condition(part, interaction_text_alone)
            group = self._denoise(
                cond, presence, valid, steps, how, generator, False, None, interaction_cond
            )
            group = self._refine(
                group, cond, presence & valid[:, None, :], valid, how.min_distance, coordinator
            )
            features = group.cpu().numpy().astype(np.float64)
            for k, lay in enumerate(part):
                present = presence_np[k, :, : lay.frames]
                joints = np.asarray(
                    features_to_pair(
                        features[k, :, : lay.frames], presence=present, anchor=self.anchor
                    )
                )
                joints = _hold_absent(joints[None], present)[0]
                if cleanup is not None:
                    joints = clean_motion(joints, cleanup, present)
                out.append(joints.astype(np.float32))
        return out

    def sample_candidates(
        self, layouts: list[Layout], candidates: int, keep_words: bool = False, **settings: Any
    ) -> tuple[list[np.ndarray], list[int], np.ndarray | None]:
        """All `candidates` motions of each layout (consecutive, drawn under `candidate_layouts`
        by `sample_layouts(..., **settings)`), per layout which of them (0 … candidates − 1)
        the ranker scores best against the layout's own texts, and the ranker's scores
        `(layouts, candidates)` (None for one candidate): what `sample_layouts(...,
        candidates=K)` keeps, with the ones it does not (benches score them all)."""
        variants = [
            v for lay in layouts for v in self.candidate_layouts(lay, candidates, keep_words)
        ]
        drawn = self.sample_layouts(variants, **settings)
        if candidates == 1:
            return drawn, [0] * len(layouts), None
        scores = np.concatenate(
            [
                self._best_of(
                    drawn[k * candidates : (k + 1) * candidates],
                    lay.scored_segments,
                    candidates,
                )[1]
                for k, lay in enumerate(layouts)
            ]
        )
        return drawn, scores.argmax(1).tolist(), scores

    def _sample_long(
        self,
        layouts: list[Layout],
        people: int,
        steps: int,
        guidance: Guidance,
        progress: bool,
        generator: torch.Generator,
    ) -> np.ndarray:
        """Motions longer than the window, one per layout (of one timeline): overlapping
        windows, each in-painting its overlap.

        Window k starts where person x stands at its first frame (its canonical frame); the
        overlap's features are recomputed from the motion made so far, expressed in that frame,
        and fixed by in-painting, so the new window continues it; the windows are then placed
        in one world frame and cross-faded linearly over the overlap. Every partner of `people`
        (2 or more) continues so: each window samples person x and the first partner, then the
        others with person x held fixed (`_sample`). Returns joints `(N, people, frames, 22, 3)`
        in person x's frame at frame 0.
        """
        from intersyn.kinematics.representation import canonicalize

        layout, num_samples = layouts[0], len(layouts)
        window, total = self.window, layout.frames
        starts = window_starts(total, window, self.overlap)
        presence = layout.presence(people)
        world = np.zeros((num_samples, people, total, 22, 3))
        previous_end = 0
        for start in tqdm(starts, desc="windows", unit="window", disable=not progress):
            parts = [lay.window(start, window) for lay in layouts]
            rows = presence[:, start : start + window]
            known = None
            shared = previous_end - start  # frames this window shares with the motion so far
            if shared > 0:  # every window but the first
                # Person x's canonical frame at `start`: the new window's frame in the world.
                _, facing, origin = canonicalize(
                    torch.from_numpy(world[:, 0, start : start + 1]), floor=False
                )
                # The motion so far, frames [start, start + shared), in that frame: its
                # shared - 1 feature rows (a row needs its frame and the next; frame
                # start + shared is not made yet, and reading it as zeros put a step of metres
                # (1–11 m) into every long motion at the end of the first window until session
                # 45).
                head = torch.from_numpy(world[:, :, start : start + shared])
                local = rot.quat_rotate(
                    facing[:, None, None, None, :], head - origin[:, None, None, None, :]
                )
                here = rows[:, :shared]
                feats, valid_rows, frame = pair_to_features(
                    local,
                    presence=np.broadcast_to(here, local.shape[:3]).copy(),
                    return_frame=True,
                    anchor=self.anchor,
                )
                # pair_to_features re-floors to the lowest joint seen; put absolute heights back.
                feats = _lift_heights(np.asarray(feats), frame.origin[:, 1].numpy())
                values = np.zeros((num_samples, people, window, feats.shape[-1]))
                values[:, :, : shared - 1] = feats
                known_rows = np.zeros((num_samples, people, window), dtype=bool)
                known_rows[:, :, : shared - 1] = np.asarray(valid_rows)
                known = (values * known_rows[..., None], known_rows)
            part_features = self._sample(
                parts,
                people,
                0,
                steps,
                guidance,
                progress,
                generator=generator,
                known=known,
            )
            local = np.asarray(
                features_to_pair(
                    part_features.astype(np.float64),
                    presence=np.broadcast_to(rows, part_features.shape[:3]).copy(),
                    anchor=self.anchor,
                )
            )
            if shared == 0:
                placed = local
            else:
                back = rot.quat_conjugate(facing)[:, None, None, None, :]
                placed = (
                    rot.quat_rotate(back, torch.from_numpy(local)) + origin[:, None, None, None, :]
                ).numpy()
                if self.anchor == "run_end":
                    placed = _continue_partners(
                        placed, world[:, :, start], rows, previous_end - 1 - start
                    )
            placed = placed * rows[None, :, :, None, None]
            fade = np.zeros(window)
            if shared > 0:
                fade[:shared] = 1.0 - (np.arange(shared) + 1) / (shared + 1)
            old = world[:, :, start : start + window]
            blend = fade[None, None, :, None, None] * (rows[None, :, :, None, None] > 0)
            world[:, :, start : start + window] = blend * old + (1 - blend) * placed
            previous_end = start + window
        return self._keep_world_apart(world, presence, guidance.min_distance)

    def _keep_world_apart(
        self, world: np.ndarray, presence: np.ndarray, min_distance: float
    ) -> np.ndarray:
        """Joints `world (N, P, T, 22, 3)` (`presence (P, T)`) with people kept `min_distance`
        apart over the whole motion. Each window of a long motion was, but then continuing
        partners are moved onto where they were (`_continue_partners`) and the windows are
        cross-faded, which can walk people into each other again: the motion's own features
        are corrected as each window's were and decoded back into the same world."""
        if min_distance <= 0:
            return world
        features, frame = _features_of(world, presence, self.anchor)
        rows = torch.from_numpy(np.broadcast_to(presence, features.shape[:3]).copy())
        x = self.model.stats.normalize(torch.from_numpy(features).to(self.device))
        kept = keep_apart(x, rows.to(self.device), self._decode_normalised, min_distance)
        if kept is x:
            return world
        features = self.model.stats.denormalize(kept).cpu().numpy()
        return _decode(features, presence, self.anchor, frame)


def window_starts(frames: int, window: int, overlap: int) -> list[int]:
    """First frames of the overlapping windows a `frames`-long motion is made of: each next
    window starts `overlap` frames before the previous one ends, the last one ends with the
    motion (so it may share more)."""
    starts = [0]
    while starts[-1] + window < frames:
        starts.append(min(starts[-1] + window - overlap, frames - window))
    return starts


def _continue_partners(
    placed: np.ndarray, before: np.ndarray, rows: np.ndarray, last_shared: int
) -> np.ndarray:
    """Window joints `placed (N, P, T, 22, 3)` with each partner who is present from the
    window's first frame into its overlap (`rows (P, T)`, up to frame `last_shared`) moved
    rigidly (yaw and floor translation) onto its pose so far at that first frame,
    `before (N, P, 22, 3)`: a continuing partner goes on from where it was, as in-painting
    does for person x. ("run_end" placements are where a run ends; the overlap cannot fix
    them.)"""
    if last_shared < 0:
        return placed
    moved = placed.copy()
    for partner in range(1, placed.shape[1]):
        if rows[partner, : last_shared + 1].all():
            new = frame_pose(torch.from_numpy(placed[:, partner, 0]))
            old = frame_pose(torch.from_numpy(before[:, partner]))
            local = new.to_local(torch.from_numpy(placed[:, partner]))
            moved[:, partner] = old.to_world(local).numpy()
    return moved * rows[None, :, :, None, None]


def _decode(
    features: np.ndarray, presence: np.ndarray, anchor: str, frame: Placement | None = None
) -> np.ndarray:
    """Joints `(N, K, T, 22, 3)` of pair features `(N, K, T, D)` (absent frames zero).

    `frame` places the result in the world the features were encoded from (default: person
    x's canonical frame, where the model generates).
    """
    rows = np.broadcast_to(presence, features.shape[:3]).copy()
    return np.asarray(
        features_to_pair(features.astype(np.float64), presence=rows, anchor=anchor, frame=frame)
    )


def _features_of(
    joints: np.ndarray, presence: np.ndarray, anchor: str
) -> tuple[np.ndarray, Placement]:
    """Pair features `(N, K, T, 267)` of joints `(N, K, T, 22, 3)` (last frame repeated).

    Also returns where person x's canonical frame lies in the joints' world: the features are
    canonical (x at the origin facing +Z, lowest joint on the floor), so decoding them without
    it moves the scene rigidly (a few degrees of heading after clean-up is 10–30 cm at 3 m).
    """
    padded = np.concatenate([joints, joints[:, :, -1:]], axis=2)
    # A feature row needs its frame and the next: a run of rows [a, b) is encoded from frames
    # [a, b], so a partner who leaves at b keeps its last row (frame b holds its last pose).
    # Frames alone would give rows [a, b - 1) and decode row b - 1 from zeros: every joint in
    # one point, held to the end of the motion.
    frames = np.concatenate([presence, presence[:, -1:]], axis=1)
    frames[:, 1:] |= presence
    frames = np.broadcast_to(frames, padded.shape[:3]).copy()
    features, _, frame = pair_to_features(padded, presence=frames, anchor=anchor, return_frame=True)
    return np.asarray(features, dtype=np.float32), frame


def _frame_meta(frame: Placement | None, samples: int) -> list[dict[str, Any]]:
    """`Placement` per sample as JSON (identity where the features were not re-encoded)."""
    if frame is None:
        return [{"heading_rad": 0.0, "origin_m": [0.0, 0.0, 0.0]}] * samples
    return [
        {"heading_rad": float(h), "origin_m": [float(v) for v in o]}
        for h, o in zip(frame.heading.tolist(), frame.origin.tolist())
    ]


def _lift_heights(features: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """Pair features `(N, K, T, D)` with each sample's heights raised by `lift (N,)`: the root
    height (channel 3) and the 21 local joint heights (channels 5, 8, …, 65)."""
    out = features.copy()
    out[..., 3] += lift[:, None, None]
    out[..., 5:67:3] += lift[:, None, None, None]
    return out


def _hold_absent(joints: np.ndarray, presence: np.ndarray) -> np.ndarray:
    """Fill each person's absent frames with the nearest present frame's pose."""
    out = joints.copy()
    frames = np.arange(presence.shape[1])
    for k in range(presence.shape[0]):
        present = np.flatnonzero(presence[k])
        if len(present) == 0 or len(present) == len(frames):
            continue
        nearest = present[np.abs(frames[:, None] - present[None, :]).argmin(1)]
        out[:, k] = joints[:, k][:, nearest]
    return out
