"""`intersyn evaluate`: the paper's evaluation tables (§5.2, SPEC §4) on any data root.

- **Table 1** (two-person test set): every test interaction is generated from its caption
  (interaction-only layout, the clip's length at 20 fps) and scored by the two-person evaluator
  against the same caption; FID against the real test clips. Rows: Real and the given models.
- **Table 2** (interleaved benchmark): `s-i-s` sequences built by U(·) from the single-person
  and two-person *test* splits (fixed seeds). Each model generates from the sequence's segment
  captions and timings. Solo segments (person x) are scored by the single-person evaluator,
  interaction segments (both people) by the two-person one, with `boundary_margin` frames on
  each side of every segment boundary masked out; `combined/` R-precision is the frame-weighted
  average of the two kinds. The Real row scores the U(·) sequences themselves.
- **Table 3**: the Table 2 protocol over the organisation, timing and loss ablation models.

Every figure is the mean ± 95% CI over `replications` runs; each replication re-draws the
captions and re-generates every motion with its own seed (as the reference protocols do).
State is saved after every (row, replication) in `OUT/<table>.state.json`, so a killed run
continues where it stopped; the final `OUT/<table>.results.json` is what `intersyn report` reads.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from intersyn.errors import InterSynError
from intersyn.io import write_json
from intersyn.metrics import (
    INTERGEN_PROTOCOL,
    T2M_PROTOCOL,
    evaluate_embeddings,
    mean_ci,
    multimodality,
)

GENERATED_FPS = 20  # the model's frame rate
EVALUATOR_2P_FPS = 30  # InterHuman's frame rate, which the two-person evaluator reads
TABLES = ("table1", "table2", "table3")
TITLES = {
    "table1": "Two-person test set (paper Table 1 protocol)",
    "table2": "Interleaved benchmark (paper Table 2 protocol)",
    "table3": "Data organisation, timing and loss ablations (Table 2 protocol; paper Table 3)",
}


@dataclass(frozen=True)
class BenchmarkConfig:
    """How a table is measured; part of the resume key (changing it starts the rows afresh)."""

    table: str = "table1"
    replications: int = 20  # mean ± 95% CI over this many re-generations (the field's 20)
    seed: int = 0
    steps: int = 50  # DDIM steps
    guidance: float = 2.5
    samples: int | None = None  # Table 1: test clips used (None = all); Table 2/3: sequences
    mm_samples: int = 0  # MultiModality: captions generated `mm_repeats` times (0 = skip)
    mm_repeats: int = 10
    organisation: str = "s-i-s"  # Table 2/3 benchmark sequences
    timing: str = "ts0-random-ti"
    boundary_margin: int = 10  # frames masked on each side of a segment boundary (0.5 s)
    batch_size: int = 64  # generation batch
    quick: bool = False

    def __post_init__(self) -> None:
        if self.table not in TABLES:
            raise InterSynError(f"table {self.table!r}: expected one of {', '.join(TABLES)}")
        for name in ("replications", "steps", "mm_repeats", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InterSynError(f"{name}={value!r}: expected an integer >= 1")
        if self.samples is not None and self.samples < 2:
            raise InterSynError(f"samples={self.samples}: expected at least 2")

    def key(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RowSpec:
    """One table row: a checkpoint to generate with, or a row that is not trained ("missing")."""

    name: str
    checkpoint: Path | None = None
    coordinator: bool = True  # False: skip the stage-2 refinement (w/o coordinator)
    note: str = ""
    per_person: bool = False  # True: each person generated alone (the MDM-style baseline)
    # False: the interaction's frames under the whole caption too (InterSynPipeline._denoise)
    interaction_text_alone: bool = True

    OPTIONS = {
        "coordinator=off": ("coordinator", False),
        "coordinator=on": ("coordinator", True),
        "per_person=on": ("per_person", True),
        "per_person=off": ("per_person", False),
        "interaction_text=alone": ("interaction_text_alone", True),
        "interaction_text=caption": ("interaction_text_alone", False),
    }

    @classmethod
    def parse(cls, text: str) -> RowSpec:
        """`NAME=PATH[,coordinator=off][,per_person=on][,interaction_text=caption]` or
        `NAME=missing:why it is missing`.

        NAME may itself hold '=' ("t_i=60"): the split is at the first '=' followed by an
        existing file or by `missing`.
        """
        name, sep, rest = text.partition("=")
        for at in (i for i, char in enumerate(text) if char == "="):
            after = text[at + 1 :]
            if after.startswith("missing") or Path(after.split(",")[0].strip()).is_file():
                name, sep, rest = text[:at], "=", after
                break
        name = name.strip()
        if not sep or not name or not rest.strip():
            raise InterSynError(
                f"--row {text!r}: expected NAME=CHECKPOINT[,coordinator=off][,per_person=on]"
                "[,interaction_text=caption] or NAME=missing:NOTE"
            )
        if rest.startswith("missing"):
            return cls(name, None, note=rest.partition(":")[2].strip())
        path, *options = [part.strip() for part in rest.split(",")]
        settings = {"coordinator": True, "per_person": False, "interaction_text_alone": True}
        for option in options:
            if option not in cls.OPTIONS:
                raise InterSynError(
                    f"--row {text!r}: unknown option {option!r}; expected one of "
                    f"{', '.join(cls.OPTIONS)}"
                )
            key, value = cls.OPTIONS[option]
            settings[key] = value
        checkpoint = Path(path)
        if not checkpoint.is_file():
            raise InterSynError(f"--row {name}: checkpoint {checkpoint} not found")
        return cls(name, checkpoint, **settings)


# ---------------------------------------------------------------------------------------------
# Evaluator inputs from joints
# ---------------------------------------------------------------------------------------------


def two_person_inputs(joints: np.ndarray, fps: float, stride: int) -> np.ndarray:
    """Two-person evaluator input `(T', 524)` of joints `(2, T, 22, 3)` at `fps` (Y up, metres).

    Resampled to InterHuman's 30 fps, InterGen's pair canonicalisation, every `stride`-th row,
    exactly as the evaluator's training clips were prepared.
    """
    from intersyn.data.interleave import resample
    from intersyn.kinematics.pair import interhuman_pair_features

    moving = resample(np.asarray(joints, dtype=np.float64), fps, EVALUATOR_2P_FPS)
    features = np.asarray(interhuman_pair_features(moving[0], moving[1]))
    pair = np.concatenate([features[0], features[1]], axis=-1)[::stride]
    return pair.astype(np.float32)


def solo_inputs(joints: np.ndarray) -> np.ndarray:
    """Single-person evaluator input: HumanML3D features `(T-1, 263)` of joints `(T, 22, 3)` at 20 fps."""
    from intersyn.kinematics.representation import joints_to_features

    return np.asarray(joints_to_features(np.asarray(joints, dtype=np.float64)), dtype=np.float32)


def interaction_quality(joints: np.ndarray, fps: float) -> dict[str, float]:
    """Motion quality of one two-person motion `(2, T, 22, 3)`: both people's single-person
    measures averaged, plus the closest wrist-to-partner distance and capsule interpenetration."""
    from intersyn.kinematics.skeleton import HAND_JOINTS
    from intersyn.quality import contact_distance, interpenetration

    single = [solo_quality(person, fps) for person in joints]
    out = {key: float(np.mean([s[key] for s in single])) for key in single[0]}
    pairs = [(h, j) for h in HAND_JOINTS for j in range(22)]
    reach = np.concatenate(
        [
            np.asarray(contact_distance(joints[0], joints[1], pairs)),
            np.asarray(contact_distance(joints[1], joints[0], pairs)),
        ],
        axis=-1,
    )
    out["contact_distance"] = float(reach.min())
    out["interpenetration"] = float(interpenetration(joints[0], joints[1]).mean_depth)
    return out


def solo_quality(joints: np.ndarray, fps: float) -> dict[str, float]:
    """Foot skating (m/s), floor penetration (m) and jerk (m/s³) of one person `(T, 22, 3)`."""
    from intersyn.quality import motion_quality_report

    report = motion_quality_report(np.asarray(joints, dtype=np.float64), fps)
    return {
        "foot_skating": report["foot_skating_speed"],
        "penetration": report["floor_penetration_mean"],
        "jerk": report["jerk"],
    }


def _mean_quality(reports: Sequence[dict[str, float]]) -> dict[str, float]:
    keys = reports[0].keys()
    return {key: float(np.mean([r[key] for r in reports])) for key in keys}


# ---------------------------------------------------------------------------------------------
# Benchmark items
# ---------------------------------------------------------------------------------------------


@dataclass
class PairTestSet:
    """Table 1: real test interactions (evaluator inputs), captions and generation lengths."""

    motions: list[np.ndarray]
    captions: list[tuple[str, ...]]
    frames: list[int]  # length at 20 fps, capped at the model window
    joints: list[np.ndarray]  # (2, T, 22, 3) at 30 fps, for the Real row's quality


def generation_frames(joint_frames: int, fps: float, window: int) -> int:
    """Frames to generate at the model's 20 fps for a clip of `joint_frames` at `fps`: the same
    duration (a 30 fps clip of 150 frames lasts 100 generated frames), at least 24 and at most
    the model's `window`."""
    length = int(round((joint_frames - 1) * GENERATED_FPS / fps))
    return max(24, min(window, length))


def load_pair_test_set(
    data_root: Path, stride: int, window: int, samples: int | None
) -> PairTestSet:
    from intersyn.data.interhuman import load_interhuman
    from intersyn.evaluation.train_evaluator import MAX_FRAMES

    items = load_interhuman(data_root, "test", skip_bad=True)
    if not items:
        raise InterSynError(f"data root {data_root}: no InterHuman test clips")
    items = items[:samples] if samples else items
    motions, captions, frames, joints_list = [], [], [], []
    for item in items:
        joints = np.asarray(item.load_joints())[:, : MAX_FRAMES + 1]
        motions.append(two_person_inputs(joints, item.fps, stride))
        captions.append(tuple(item.captions))
        frames.append(generation_frames(joints.shape[1], item.fps, window))
        joints_list.append(joints)
    return PairTestSet(motions, captions, frames, joints_list)


@dataclass
class InterleavedTestSet:
    """Table 2/3: U(·) sequences from the test splits (joints, segments, layouts)."""

    samples: list[Any]  # InterleavedSample
    layouts: list[Any]  # pipeline.Layout


def build_interleaved_test_set(
    data_root: Path, config: BenchmarkConfig, interleave: Any = None
) -> InterleavedTestSet:
    """`config.samples` (default 256) U(·) sequences from the test splits, seeded by `config.seed`;
    `interleave` (the model's InterleaveConfig: length, blending) gets the benchmark's
    organisation and timing, and windows cropped anywhere in longer clips (`crop="random"`,
    whatever the model trained with), so rows of models trained either way share a test set."""
    from intersyn.data.interleave import InterleaveConfig
    from intersyn.data.loaders import SourceBank
    from intersyn.pipeline import Layout
    from intersyn.training.config import DataConfig, TrainConfig
    from intersyn.training.loop import load_training_items

    solo, pairs = load_training_items(
        data_root, TrainConfig(data=DataConfig(skip_bad=True)), split="test"
    )
    if not solo or not pairs:
        raise InterSynError(
            f"data root {data_root}: the interleaved benchmark needs HumanML3D and InterHuman "
            "test splits"
        )
    bank = SourceBank.from_items(solo, pairs)
    cfg = dataclasses.replace(
        interleave or InterleaveConfig(),
        organisation=config.organisation,
        timing=config.timing,
        crop="random",
    )
    count = config.samples or 256
    samples, layouts = [], []
    for index in range(count):
        rng = np.random.default_rng([config.seed, 7919, index])
        sample = bank.sample(rng, cfg)
        frames = int(sample.valid.sum())
        segments = [
            (s.kind, s.start, min(s.end, frames), s.caption)
            for s in sample.segments
            if s.start < frames
        ]
        samples.append(sample)
        layouts.append(Layout.from_segments(frames, segments))
    return InterleavedTestSet(samples, layouts)


def scored_segments(
    joints: np.ndarray, layout: Any, margin: int
) -> list[tuple[str, int, int, str]]:
    """Segments `(kind, start, end, caption)` in joint frames with `margin` frames trimmed at
    every internal boundary; segments left shorter than 16 frames are dropped."""
    out = []
    last = len(layout.segments) - 1
    for k, (kind, start, end, caption) in enumerate(layout.segments):
        a = start + (margin if k > 0 else 0)
        b = end - (margin if k < last else 0) + 1  # + the joint frame closing the last row
        b = min(b, joints.shape[1])
        if b - a >= 16:
            out.append((kind, a, b, caption))
    return out


# ---------------------------------------------------------------------------------------------
# Running the tables
# ---------------------------------------------------------------------------------------------


@dataclass
class Evaluators:
    two_person: Any
    single_person: Any | None = None
    # Per role: the evaluator's own R-precision on real held-out clips, from the metrics.json
    # that `intersyn evaluator train` wrote beside it (what the Real row can reach at most).
    held_out: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def identity(self) -> dict[str, dict[str, Any]]:
        out = {"two_person": _evaluator_identity(self.two_person)}
        if self.single_person is not None:
            out["single_person"] = _evaluator_identity(self.single_person)
        for role, figures in self.held_out.items():
            if role in out:
                out[role]["held_out_r_precision"] = figures
        return out


def _evaluator_identity(evaluator: Any) -> dict[str, Any]:
    from intersyn.evaluation.train_evaluator_1p import TEXT_ENCODER, SinglePersonEvaluator

    if isinstance(evaluator, SinglePersonEvaluator):
        return {"name": evaluator.name, "text_encoder": TEXT_ENCODER}
    return {
        "name": evaluator.name,
        "text_encoder": "wordllama token features (official InterCLIP: CLIP ViT-L/14 tokens)",
    }


def held_out_r_precision(checkpoint: Path, name: str) -> dict[str, list[float]]:
    """R-precision top-1..3 on real test clips per batch size ("batch 96": [...]), read from the
    metrics.json beside an evaluator checkpoint; empty when absent or written for another
    evaluator (its recorded name differs)."""
    path = Path(checkpoint).parent / "metrics.json"
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(metrics, dict) or metrics.get("evaluator") != name:
        return {}
    out = {}
    for key in ("real_test", "real_test_batch32"):
        entry = metrics.get(key)
        if isinstance(entry, dict) and "batch" in entry and "r_precision" in entry:
            out[f"batch {int(entry['batch'])}"] = [float(v) for v in entry["r_precision"]]
    return out


def load_evaluators(two_person: Path, single_person: Path | None) -> Evaluators:
    from intersyn.evaluation.train_evaluator import TwoPersonEvaluator

    if not Path(two_person).is_file():
        raise InterSynError(f"--evaluator-2p {two_person}: file not found")
    solo = None
    if single_person is not None:
        from intersyn.evaluation.train_evaluator_1p import SinglePersonEvaluator

        if not Path(single_person).is_file():
            raise InterSynError(f"--evaluator-1p {single_person}: file not found")
        solo = SinglePersonEvaluator.load(single_person)
    pair = TwoPersonEvaluator.load(two_person)
    held_out = {"two_person": held_out_r_precision(two_person, pair.name)}
    if solo is not None:
        held_out["single_person"] = held_out_r_precision(single_person, solo.name)
    return Evaluators(pair, solo, {k: v for k, v in held_out.items() if v})


@dataclass
class BenchmarkRun:
    """One table being measured: rows, state on disk, evaluators and the benchmark items."""

    config: BenchmarkConfig
    data_root: Path
    out_dir: Path
    rows: list[RowSpec]
    evaluators: Evaluators
    command: str = ""
    progress: bool = True
    _state: dict = field(default_factory=dict)

    @property
    def state_path(self) -> Path:
        return self.out_dir / f"{self.config.table}.state.json"

    @property
    def results_path(self) -> Path:
        return self.out_dir / f"{self.config.table}.results.json"

    def run(self) -> Path:
        """Measure every row (skipping replications already in the state file); write results."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._state = self._load_state()
        names = [row.name for row in self.rows]
        if len(set(names)) != len(names):
            raise InterSynError(f"rows: names must be unique, got {names}")
        if self.config.table == "table1":
            items = _Table1(self)
        else:
            if self.evaluators.single_person is None:
                raise InterSynError(
                    f"{self.config.table}: needs the single-person evaluator (--evaluator-1p)"
                )
            items = _Table2(self)
        for row in [RowSpec("Real"), *self.rows]:
            if row.checkpoint is None and row.name != "Real":
                self._mark_missing(row)
                continue
            record = self._row_state(row)
            for rep in range(self.config.replications):
                if str(rep) in record["runs"]:
                    continue
                metrics, quality = items.replicate(row, rep)
                record["runs"][str(rep)] = metrics
                if quality is not None:
                    record["quality"] = quality
                self._save_state()
                self._write_results()
        return self._write_results()

    # -- state -------------------------------------------------------------------------------

    def _load_state(self) -> dict:
        key = self.config.key()
        # Rows scored by one evaluator do not compare with rows scored by another (a retrained
        # evaluator differs even with the same seed), so the evaluators are part of the key.
        evaluators = self._evaluator_names()
        if self.state_path.is_file():
            try:
                state = json.loads(self.state_path.read_text())
            except json.JSONDecodeError:
                raise InterSynError(
                    f"{self.state_path}: not valid JSON; delete it to start over"
                ) from None
            if state.get("config") != key:
                raise InterSynError(
                    f"{self.state_path}: was made with other settings; "
                    "use another --out or delete it"
                )
            if state.get("evaluators") != evaluators:
                raise InterSynError(
                    f"{self.state_path}: was measured with evaluators "
                    f"{state.get('evaluators') or 'not recorded'}, not {evaluators}; "
                    "use another --out or delete it"
                )
            return state
        return {"config": key, "evaluators": evaluators, "rows": {}}

    def _evaluator_names(self) -> dict[str, str]:
        return {role: entry["name"] for role, entry in self.evaluators.identity().items()}

    def _row_state(self, row: RowSpec) -> dict:
        sha = _checkpoint_summary(row.checkpoint)[0] if row.checkpoint else None
        record = self._state["rows"].get(row.name)
        identity = {"checkpoint_sha256": sha, "coordinator": row.coordinator}
        if row.per_person:
            identity["per_person"] = True
        if not row.interaction_text_alone:  # absent when on: rows measured before it stay valid
            identity["interaction_text_alone"] = False
        if record is None or record.get("identity") != identity:
            record = {"identity": identity, "runs": {}, "quality": None, "missing": None}
            self._state["rows"][row.name] = record
        if row.checkpoint is not None:
            # Kept with the measurement so that the row still reports where it came from when
            # its checkpoint is gone (see _mark_missing).
            record["checkpoint"] = str(row.checkpoint)
            record["config"] = _checkpoint_summary(row.checkpoint)[1]
            record["missing"] = None
        return record

    def _mark_missing(self, row: RowSpec) -> None:
        """A row without a checkpoint here: keep an earlier measurement, else mark it missing.

        Checkpoints of long trainings live outside version control (runs/), so a checkout may
        lack one whose row was measured in another session. The measurement is keyed by the
        checkpoint's SHA-256 and stays valid; erasing it would lose hours of training.
        """
        record = self._state["rows"].get(row.name) or {}
        if not (record.get("runs") and record["identity"].get("checkpoint_sha256")):
            record = self._row_state(row)  # a fresh record: no checkpoint, no runs
        record["missing"] = row.note

    def _save_state(self) -> None:
        write_json(self.state_path, self._state)

    def _write_results(self) -> Path:
        rows = []
        for spec in [RowSpec("Real"), *self.rows]:
            record = self._state["rows"].get(spec.name, {})
            runs = [record["runs"][k] for k in sorted(record.get("runs", {}), key=int)]
            done = bool(runs) and len(runs) == self.config.replications
            identity = record.get("identity") or {}
            config = _checkpoint_summary(spec.checkpoint)[1] if spec.checkpoint else None
            checkpoint = str(spec.checkpoint) if spec.checkpoint else None
            coordinator, per_person = spec.coordinator, spec.per_person
            text_alone = spec.interaction_text_alone
            note = spec.note
            if spec.checkpoint is None and runs and spec.name != "Real":
                # Kept by _mark_missing: describe the checkpoint it was measured on.
                config, checkpoint = record.get("config"), record.get("checkpoint")
                coordinator = identity.get("coordinator", True)
                per_person = identity.get("per_person", False)
                text_alone = identity.get("interaction_text_alone", True)
                note = (
                    f"measured earlier; checkpoint sha256 {identity['checkpoint_sha256'][:12]} "
                    "is not in this checkout" + (f" ({note})" if note else "")
                )
            remarks = [
                note,
                checkpoint is not None and not coordinator and "stage-2 coordinator switched off",
                per_person and "each person generated alone, partner placed facing person x",
                not text_alone and "interaction frames predicted under the whole caption",
                runs and not done and f"partial: {len(runs)} replications",
            ]
            note = " ".join(r for r in remarks if r)
            rows.append(
                {
                    "name": spec.name,
                    "status": "done" if runs else "missing",
                    "note": note,
                    "checkpoint": checkpoint,
                    "checkpoint_sha256": identity.get("checkpoint_sha256"),
                    "config": config,
                    "seed": self.config.seed,
                    "replications": len(runs),
                    "metrics": {
                        key: list(mean_ci([r[key] for r in runs]))
                        for key in (runs[0] if runs else {})
                    },
                    "quality": record.get("quality") or {},
                }
            )
        results = {
            "table": self.config.table,
            "title": TITLES[self.config.table],
            "protocol": {
                "description": _describe(self.config),
                **{k: v for k, v in self.config.key().items() if k != "table"},
            },
            "evaluators": self.evaluators.identity(),
            "command": self.command,
            "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rows": rows,
        }
        write_json(self.results_path, results)
        return self.results_path


def _describe(config: BenchmarkConfig) -> str:
    if config.table == "table1":
        return (
            "Each InterHuman-layout test clip generated from one of its captions (interaction-only "
            f"layout, the clip's length at 20 fps, DDIM-{config.steps}, classifier-free "
            f"guidance {config.guidance}); "
            "generated motions resampled to 30 fps and scored by the two-person evaluator "
            f"(R-precision in batches of {INTERGEN_PROTOCOL.r_precision_batch}, FID against the real "
            "test clips). Real: the test clips themselves."
        )
    return (
        f"U(·) sequences ({config.organisation}, timing {config.timing}) built from the test "
        "splits; each model generates from the segment captions and timings (DDIM-"
        f"{config.steps}, classifier-free guidance {config.guidance}). Solo segments (person x) "
        "scored by the "
        "single-person evaluator (R-precision batches of 32), interaction segments by the "
        f"two-person evaluator; {config.boundary_margin} frames masked on each side of every "
        "boundary; combined = frame-weighted average of the solo and interaction R-precision. "
        "Real: the U(·) sequences themselves."
    )


def _checkpoint_summary(path: Path) -> tuple[str, dict[str, Any]]:
    """(SHA-256, config summary) of a checkpoint, read once per file version: results are
    rewritten after every replication and must not reload and re-hash every row's checkpoint."""
    stat = Path(path).stat()
    return _read_summary(Path(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _read_summary(path: Path, mtime_ns: int, size: int) -> tuple[str, dict[str, Any]]:
    from intersyn.training.checkpoint import load_checkpoint

    payload = load_checkpoint(path)
    cfg = payload.get("config", {})
    data = cfg.get("data") or {}
    return str(payload["sha256"]), {
        "name": cfg.get("name"),
        "steps": payload.get("steps"),
        "loss": cfg.get("loss"),
        "layouts": data.get("layouts"),
        "interleave": {
            k: (data.get("interleave") or {}).get(k) for k in ("organisation", "timing")
        },
    }


class _Pipelines:
    """One loaded pipeline per checkpoint path (rows may share a checkpoint)."""

    def __init__(self) -> None:
        self._cache: dict[Path, Any] = {}

    def get(self, path: Path):
        from intersyn.pipeline import InterSynPipeline

        if path not in self._cache:  # keep one model in memory: rows are measured in order
            self._cache = {path: InterSynPipeline.from_pretrained(path)}
        return self._cache[path]


def _sized(protocol, items: int):
    """`protocol` with its R-precision batch and Diversity pairs capped at `items` (small sets)."""
    return dataclasses.replace(
        protocol,
        r_precision_batch=min(protocol.r_precision_batch, items),
        diversity_pairs=min(protocol.diversity_pairs, items),
    )


def _choose_captions(captions: Sequence[tuple[str, ...]], rng: np.random.Generator) -> list[str]:
    return [c[int(rng.integers(len(c)))] for c in captions]


class _Protocol:
    """What both table protocols share: the run, its models (one in memory) and generation."""

    def __init__(self, run: BenchmarkRun) -> None:
        self.run = run
        self.pipelines = _Pipelines()

    def first_model(self):
        """The first model row's pipeline (its window and U(·) settings shape the benchmark)."""
        row = next((row for row in self.run.rows if row.checkpoint is not None), None)
        return None if row is None else self.pipelines.get(row.checkpoint)

    def generate(self, row: RowSpec, layouts, seed: int) -> list[np.ndarray]:
        """Joints `(2, T, 22, 3)` per layout from the row's model with the run's settings."""
        cfg = self.run.config
        return self.pipelines.get(row.checkpoint).sample_layouts(
            layouts,
            seed=seed,
            steps=cfg.steps,
            guidance=cfg.guidance,
            guidance_parallel=1.0,  # classifier-free guidance, as the field's protocol samples
            min_distance=0.0,  # the model's own output, as the protocol scores it (no clean-up)
            batch_size=cfg.batch_size,
            coordinator=row.coordinator,
            progress=self.run.progress,
            per_person=row.per_person,
            interaction_text_alone=row.interaction_text_alone,
        )

    def repeated_generations(self, row: RowSpec, layouts, rng, rep: int) -> tuple[list, list]:
        """MultiModality's generations: `mm_samples` layouts drawn from `rng`, each generated
        `mm_repeats` times in a row; returns (the repeated layouts, their joints)."""
        cfg = self.run.config
        chosen = rng.choice(len(layouts), size=min(cfg.mm_samples, len(layouts)), replace=False)
        repeated = [layouts[i] for i in chosen for _ in range(cfg.mm_repeats)]
        return repeated, self.generate(row, repeated, seed=cfg.seed * 1000 + rep + 500_000)


class _Table1(_Protocol):
    def __init__(self, run: BenchmarkRun) -> None:
        super().__init__(run)
        self.evaluator = run.evaluators.two_person
        self.stride = self.evaluator.config.frame_stride
        model = self.first_model()
        window = 196 if model is None else model.window
        self.data = load_pair_test_set(run.data_root, self.stride, window, run.config.samples)
        self.real = self.evaluator.embed_motions(self.data.motions)
        self.protocol = _sized(INTERGEN_PROTOCOL, len(self.real))

    def replicate(self, row: RowSpec, rep: int) -> tuple[dict[str, float], dict | None]:
        cfg = self.run.config
        rng = np.random.default_rng([cfg.seed, rep])
        captions = _choose_captions(self.data.captions, rng)
        texts = self.evaluator.embed_texts(captions)
        quality = None
        mm = None
        if row.checkpoint is None:
            motions = self.real
            if rep == 0:
                quality = _mean_quality(
                    [interaction_quality(j, EVALUATOR_2P_FPS) for j in self.data.joints]
                )
        else:
            from intersyn.pipeline import Layout

            layouts = [
                Layout.from_segments(n, [("interaction", 0, n, c)])
                for n, c in zip(self.data.frames, captions)
            ]
            joints = self.generate(row, layouts, seed=cfg.seed * 1000 + rep)
            motions = self.evaluator.embed_motions(
                [two_person_inputs(j, GENERATED_FPS, self.stride) for j in joints]
            )
            if rep == 0:
                quality = _mean_quality([interaction_quality(j, GENERATED_FPS) for j in joints])
            if cfg.mm_samples:
                mm = self.multimodality_embeddings(row, layouts, rng, rep)
        metrics = evaluate_embeddings(
            texts, motions, real_motion_emb=self.real, protocol=self.protocol, rng=rng
        )
        if mm is not None:
            metrics["multimodality"] = multimodality(mm, min(10, mm.shape[1] - 1) or 1, rng=rng)
        return metrics, quality

    def multimodality_embeddings(self, row, layouts, rng, rep: int) -> np.ndarray:
        repeated, joints = self.repeated_generations(row, layouts, rng, rep)
        emb = self.evaluator.embed_motions(
            [two_person_inputs(j, GENERATED_FPS, self.stride) for j in joints]
        )
        return emb.reshape(-1, self.run.config.mm_repeats, emb.shape[-1])


class _Table2(_Protocol):
    def __init__(self, run: BenchmarkRun) -> None:
        super().__init__(run)
        self.two = run.evaluators.two_person
        self.solo = run.evaluators.single_person
        self.stride = self.two.config.frame_stride
        model = self.first_model()
        interleave = None if model is None else model.model.config.data.interleave
        self.data = build_interleaved_test_set(run.data_root, run.config, interleave)
        real = [
            np.asarray(s.joints[:, : lay.frames + 1])
            for s, lay in zip(self.data.samples, self.data.layouts)
        ]
        self.real_joints = real
        self.real_emb = self.embed(real, self.data.layouts)

    def embed(self, joints: list[np.ndarray], layouts) -> dict[str, Any]:
        """Evaluator embeddings of every scored segment, grouped by kind, with captions and frames."""
        margin = self.run.config.boundary_margin
        solo_in, solo_text, inter_in, inter_text = [], [], [], []
        frames = {"solo": 0, "interaction": 0}
        for motion, layout in zip(joints, layouts):
            for kind, a, b, caption in scored_segments(motion, layout, margin):
                frames[kind] += b - a
                if kind == "solo":
                    solo_in.append(solo_inputs(motion[0, a:b]))
                    solo_text.append(caption)
                else:
                    inter_in.append(two_person_inputs(motion[:, a:b], GENERATED_FPS, self.stride))
                    inter_text.append(caption)
        return {
            "solo": self.solo.embed_motions(solo_in) if solo_in else None,
            "solo_text": solo_text,
            "interaction": self.two.embed_motions(inter_in) if inter_in else None,
            "interaction_text": inter_text,
            "frames": frames,
        }

    def replicate(self, row: RowSpec, rep: int) -> tuple[dict[str, float], dict | None]:
        cfg = self.run.config
        rng = np.random.default_rng([cfg.seed, rep])
        quality = None
        if row.checkpoint is None:
            emb = self.real_emb
            if rep == 0:
                quality = self.quality(self.real_joints, self.data.layouts)
        else:
            joints = self.generate(row, self.data.layouts, seed=cfg.seed * 1000 + rep)
            emb = self.embed(joints, self.data.layouts)
            if rep == 0:
                quality = self.quality(joints, self.data.layouts)
        metrics: dict[str, float] = {}
        weights = {}
        for kind, evaluator, protocol in (
            ("solo", self.solo, T2M_PROTOCOL),
            ("interaction", self.two, INTERGEN_PROTOCOL),
        ):
            if emb[kind] is None or len(emb[kind]) < 2:
                continue
            texts = evaluator.embed_texts(emb[f"{kind}_text"])
            part = evaluate_embeddings(
                texts,
                emb[kind],
                real_motion_emb=self.real_emb[kind],
                protocol=_sized(protocol, len(texts)),
                rng=rng,
            )
            metrics.update({f"{kind}/{k}": v for k, v in part.items()})
            weights[kind] = emb["frames"][kind]
        if cfg.mm_samples and row.checkpoint is not None:
            for kind, groups in self.multimodality_embeddings(row, rng, rep).items():
                if kind in weights and groups.shape[1] >= 2:
                    pairs = min(10, groups.shape[1] - 1) or 1
                    metrics[f"{kind}/multimodality"] = multimodality(groups, pairs, rng=rng)
        keys = [f"r_precision_top{k}" for k in (1, 2, 3)] + ["multimodality"]
        for key in keys:
            parts = {kind: w for kind, w in weights.items() if f"{kind}/{key}" in metrics}
            if parts:
                metrics[f"combined/{key}"] = sum(
                    metrics[f"{kind}/{key}"] * w for kind, w in parts.items()
                ) / sum(parts.values())
        return metrics, quality

    def multimodality_embeddings(self, row, rng, rep: int) -> dict[str, np.ndarray]:
        """Per kind, embeddings `(segments, mm_repeats, D)`: `mm_samples` test sequences each
        generated `mm_repeats` times, every scored segment of a kind one MultiModality group."""
        cfg = self.run.config
        repeats = cfg.mm_repeats
        repeated, joints = self.repeated_generations(row, self.data.layouts, rng, rep)
        emb = self.embed(joints, repeated)
        margin = cfg.boundary_margin
        out: dict[str, np.ndarray] = {}
        for kind in ("solo", "interaction"):
            if emb[kind] is None:
                continue
            groups, cursor = [], 0
            for k in range(len(repeated) // repeats):
                # Repeats of one layout have the same frames, so the same scored segments.
                first = k * repeats
                n = sum(
                    s[0] == kind for s in scored_segments(joints[first], repeated[first], margin)
                )
                if n == 0:
                    continue
                block = emb[kind][cursor : cursor + n * repeats]
                groups.append(block.reshape(repeats, n, -1).transpose(1, 0, 2))
                cursor += n * repeats
            if groups:
                out[kind] = np.concatenate(groups)
        return out

    def quality(self, joints: list[np.ndarray], layouts) -> dict[str, float]:
        solo, inter = [], []
        for motion, layout in zip(joints, layouts):
            for kind, a, b, _ in layout.segments:
                if b - a < 8:
                    continue
                if kind == "solo":
                    solo.append(solo_quality(motion[0, a : b + 1], GENERATED_FPS))
                else:
                    inter.append(interaction_quality(motion[:, a : b + 1], GENERATED_FPS))
        out = {f"solo/{k}": v for k, v in _mean_quality(solo).items()} if solo else {}
        if inter:
            out.update({f"interaction/{k}": v for k, v in _mean_quality(inter).items()})
        return out


def run_benchmark(
    config: BenchmarkConfig,
    data_root: str | Path,
    out_dir: str | Path,
    rows: Sequence[RowSpec],
    evaluators: Evaluators,
    *,
    command: str | None = None,
    progress: bool = True,
) -> Path:
    """Measure one table; returns the path of `<table>.results.json` (see the module docstring)."""
    root = Path(data_root)
    if not root.is_dir():
        raise InterSynError(f"--data-root {root}: not a directory")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InterSynError(f"--out {out}: is a file; expected a directory")
    command = command if command is not None else shlex.join(["intersyn", *sys.argv[1:]])
    return BenchmarkRun(config, root, out, list(rows), evaluators, command, progress).run()
