"""The interleave function U(·) (paper Eq. 4–5, SPEC.md §2.3).

`u = U(p_x, p_y, p_s, t_i, t_s)` places solo clips p_s and interaction pairs (p_x, p_y) on one
timeline of fixed length, in one of the organisations of Table 3 (`s-i`, `s-i-s`, ...), with
exactly one segment starting at frame 0 (t_i · t_s = 0). Steps, per sample:

1. sources are prepared once: resampled to 20 fps and retargeted to the HumanML3D reference
   skeleton by Eq. 5 (`retarget`, root kept; each person then put back on the floor);
2. segment lengths follow the timing mode; each segment crops a window from a source clip;
3. alignment: each segment's person x continues from where the previous segment left off
   (root position one step ahead along the last velocity, same heading); person y moves with
   the same rigid transform, so the pair's relative placement is kept;
4. the remaining pose difference at each boundary is absorbed by the next segment over
   `blend_frames` frames (inertialisation in bone-direction space, widened for large
   differences), with exact reference bone lengths;
5. the partner is present only in interaction segments (presence mask), the captions are
   combined in order of appearance and kept per segment.

The sample stores joints for `frames + 1` frames so that its pair features
(`intersyn.kinematics.pair.pair_to_features`) have exactly `frames` rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from intersyn.errors import InterSynError
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.fk import retarget
from intersyn.kinematics.pair import pair_to_features
from intersyn.kinematics.skeleton import FACE_JOINTS, NUM_JOINTS, PARENTS, reference_offsets

ORGANISATIONS: tuple[str, ...] = (
    "s-i",
    "i-s",
    "s-i-s",
    "s-i-s-i",
    "i-s-i-s",
    "s-i-s-i-s",
    "i-s-i-s-i",
)
# Timing modes of Table 3: which segment starts at frame 0 and where the second one starts.
TIMING_MODES: tuple[str, ...] = ("ts0-ti60", "ti0-ts60", "ts0-random-ti", "ti0-random-ts")
# Where a segment's window starts in a source clip longer than the segment (`_pick`).
CROPS: tuple[str, ...] = ("random", "start", "end_last")
TARGET_FPS = 20


@dataclass(frozen=True)
class InterleaveConfig:
    """How U(·) lays out one sample."""

    organisation: str = "s-i-s"  # Table 3's best organisation
    timing: str = "ts0-random-ti"  # the paper's default row (t_s = 0, random t_i)
    frames: int = 196  # sequence length in frames at 20 fps (HumanML3D's max_motion_length)
    blend_frames: int = 5  # frames after each boundary that absorb the pose difference
    max_blend_frames: int = 20  # widest transition for large pose differences (1 s)
    min_segment_frames: int = 30  # 1.5 s: shorter segments truncate the action (paper §4.1)
    fixed_second_start: int = 60  # the "60" of the ts0-ti60 / ti0-ts60 modes
    swap_probability: float = 0.5  # chance that the pair's second person continues the solo one
    # Where the window of a source clip longer than its segment starts: "random" (anywhere) or
    # "start" (at the clip's first frame, so a caption that describes the clip from its start,
    # "after approaching each other, two people shake hands", still describes the segment's
    # start; with "random", U(·) cuts the approach off most approach clips in s-i-s samples), or
    # "end_last" (anywhere, but the last segment's window ends where its clip ends, so that a
    # sequence ends as the clips do, at rest: with "random" only 45 % of samples ending on a
    # walk, jog or run end at rest; `bench/sequence_ends.py`. A fine-tune on it alone did not
    # teach the shipped model to slow down at the end).
    crop: str = "random"
    # Share of interaction segments whose caption is joined with the two people's own captions
    # (when the source has them), as `intersyn generate --person-text/--partner-text` joins a
    # user's: otherwise the model never reads per-person wording ("trails behind the other
    # person", "is tugged forward"), and its vocabulary leaves those words out.
    person_caption_share: float = 0.0
    # Share of interaction samples that also carry the two people's own captions apart, for a
    # denoiser that reads each person's text (`ModelConfig.person_texts`); in each of them
    # either person's caption is left out with `person_text_leave_out`, so one text alone (only
    # --person-text, say) is something the model has seen too.
    person_text_share: float = 0.0
    person_text_leave_out: float = 0.25

    def __post_init__(self) -> None:
        kinds = self.kinds()
        if (
            len(kinds) < 1
            or any(k not in ("s", "i") for k in kinds)
            or any(a == b for a, b in zip(kinds[:-1], kinds[1:], strict=True))
        ):
            raise InterSynError(
                f"organisation {self.organisation!r}: expected alternating 's'/'i' segments "
                f"separated by '-', e.g. one of {', '.join(ORGANISATIONS)}"
            )
        if self.timing not in TIMING_MODES:
            raise InterSynError(
                f"timing {self.timing!r}: expected one of {', '.join(TIMING_MODES)}"
            )
        first = "s" if self.timing.startswith("ts0") else "i"
        if kinds[0] != first:
            raise InterSynError(
                f"timing {self.timing!r} starts with a {'solo' if first == 's' else 'interaction'} "
                f"segment but organisation {self.organisation!r} does not"
            )
        if self.crop not in CROPS:
            raise InterSynError(f"crop {self.crop!r}: expected one of {', '.join(CROPS)}")
        for name in ("person_caption_share", "person_text_share", "person_text_leave_out"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InterSynError(f"{name}={getattr(self, name)}: expected a share in [0, 1]")
        if self.frames < len(kinds) * self.min_segment_frames:
            raise InterSynError(
                f"frames={self.frames}: too short for {len(kinds)} segments of at least "
                f"{self.min_segment_frames} frames"
            )
        if not 0 <= self.blend_frames <= self.max_blend_frames < self.min_segment_frames:
            raise InterSynError(
                f"blend_frames={self.blend_frames}, max_blend_frames={self.max_blend_frames}: "
                f"expected 0 <= blend_frames <= max_blend_frames < min_segment_frames "
                f"({self.min_segment_frames})"
            )

    def kinds(self) -> list[str]:
        return self.organisation.split("-")


@dataclass(frozen=True)
class SoloSource:
    """One single-person clip: joints `(T, 22, 3)` metres Y up at `fps`, with its captions."""

    id: str
    joints: np.ndarray
    captions: tuple[str, ...]
    fps: int = TARGET_FPS


@dataclass(frozen=True)
class PairSource:
    """One interaction: joints `(2, T, 22, 3)` in one world frame at `fps`, pair and per-person captions."""

    id: str
    joints: np.ndarray
    captions: tuple[str, ...]
    person_captions: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    fps: int = 30


@dataclass(frozen=True)
class Segment:
    """One segment of an interleaved sample, in sample frames `[start, end)`."""

    kind: str  # "solo" or "interaction"
    start: int
    end: int
    source_id: str
    source_start: int  # window in the source after resampling to 20 fps
    source_end: int
    caption: str
    person_caption: str | None = None  # person x's own description (interaction only)
    partner_caption: str | None = None
    swapped: bool = False  # the pair's second person plays person x


@dataclass(frozen=True)
class InterleavedSample:
    """One output of U(·).

    `joints (2, frames + 1, 22, 3)` in person x's canonical frame (x starts at the origin facing
    +Z, floor at y = 0), zeros where a person is absent; `presence (2, frames + 1)` bool over
    joint frames; `valid (frames,)` bool over feature rows (False on padding when the sources
    ran short).
    """

    joints: np.ndarray
    presence: np.ndarray
    valid: np.ndarray
    segments: tuple[Segment, ...]
    interaction_start: int  # t_i (−1 if the sample has no interaction segment)
    solo_start: int  # t_s (−1 if the sample has no solo segment)
    caption: str  # w_u: segment captions in order of appearance
    organisation: str
    timing: str
    seed: int | None = None
    # The motion ends at the last valid frame: the last segment's window reaches its source
    # clip's last frame (False where the sequence was cut while that clip went on).
    ends: bool = False

    @property
    def frames(self) -> int:
        return int(self.valid.shape[0])

    def boundaries(self) -> list[int]:
        """Frames where one segment ends and the next begins."""
        return [s.start for s in self.segments[1:]]

    def features(self, anchor: str = "sequence") -> tuple[np.ndarray, np.ndarray]:
        """Pair features `(2, frames, 267)` float32 and their presence `(2, frames)` bool;
        `anchor` as in `pair_to_features`."""
        feats, rows = pair_to_features(
            self.joints.astype(np.float64), presence=self.presence, anchor=anchor
        )
        rows = np.asarray(rows) & self.valid[None, :]
        feats = np.where(rows[..., None], feats, 0.0).astype(np.float32)
        return feats, rows

    def manifest_entry(self) -> dict:
        """JSON-serialisable description of the sample (sources, frame ranges, t_i, t_s, captions)."""
        return {
            "organisation": self.organisation,
            "timing": self.timing,
            "seed": self.seed,
            "frames": self.frames,
            "valid_frames": int(self.valid.sum()),
            "interaction_start": self.interaction_start,
            "solo_start": self.solo_start,
            "ends": self.ends,
            "caption": self.caption,
            "segments": [
                {
                    "kind": s.kind,
                    "start": s.start,
                    "end": s.end,
                    "source_id": s.source_id,
                    "source_frames": [s.source_start, s.source_end],
                    "caption": s.caption,
                    "person_caption": s.person_caption,
                    "partner_caption": s.partner_caption,
                    "swapped": s.swapped,
                }
                for s in self.segments
            ],
        }


# ---------------------------------------------------------------------------------------------
# Source preparation: 20 fps, one skeleton (Eq. 5), feet on the floor
# ---------------------------------------------------------------------------------------------


def resample(joints: np.ndarray, source_fps: float, target_fps: float = TARGET_FPS) -> np.ndarray:
    """Linearly resample `(..., T, 22, 3)` along time from `source_fps` to `target_fps`."""
    if source_fps == target_fps:
        return joints
    frames = joints.shape[-3]
    times = np.arange(0.0, frames - 1 + 1e-9, source_fps / target_fps)
    lo = np.floor(times).astype(int).clip(0, frames - 1)
    hi = np.minimum(lo + 1, frames - 1)
    w = (times - lo)[:, None, None]
    return joints[..., lo, :, :] * (1 - w) + joints[..., hi, :, :] * w


def measured_offsets(joints: np.ndarray) -> np.ndarray:
    """Rest offsets of a clip `(T, 22, 3)`: raw directions × median bone length, `(22, 3)`."""
    bones = joints[:, 1:] - joints[:, list(PARENTS[1:])]
    lengths = np.median(np.linalg.norm(bones, axis=-1), axis=0)
    offsets = reference_offsets().numpy().copy()
    offsets[1:] *= (lengths / np.linalg.norm(offsets[1:], axis=-1))[:, None]
    return offsets


def to_reference_skeleton(joints: np.ndarray) -> np.ndarray:
    """Retarget one person `(T, 22, 3)` onto the reference skeleton (Eq. 5) and re-floor it.

    The root keeps its horizontal path (so a pair keeps its relative placement); the whole
    clip is then shifted vertically so its lowest joint touches the floor again, which undoes
    the float/sink that a change of leg length causes.
    """
    target = reference_offsets().numpy()
    source = measured_offsets(joints)
    if np.abs(np.linalg.norm(source, axis=-1) - np.linalg.norm(target, axis=-1)).max() > 1e-4:
        joints = retarget(joints.astype(np.float64), source, target)
    joints = np.array(joints, dtype=np.float64)
    joints[..., 1] -= joints[..., 1].min()
    return joints


def prepare_solo(source: SoloSource) -> np.ndarray:
    """A solo source at 20 fps on the reference skeleton, `(T, 22, 3)` float64."""
    _check_joints(source.joints, f"solo source {source.id}", people=None)
    return to_reference_skeleton(resample(np.asarray(source.joints, np.float64), source.fps))


def prepare_pair(source: PairSource) -> np.ndarray:
    """A pair source at 20 fps, each person on the reference skeleton, `(2, T, 22, 3)` float64.

    The pair shares one floor: both people are lowered by the same amount after retargeting.
    """
    _check_joints(source.joints, f"pair source {source.id}", people=2)
    joints = resample(np.asarray(source.joints, np.float64), source.fps)
    people = [to_reference_skeleton(person) for person in joints]
    # to_reference_skeleton floors each person alone; restore their original relative heights.
    original_floor = [person[..., 1].min() for person in joints]
    shift = min(original_floor)
    return np.stack([p + np.array([0.0, f - shift, 0.0]) for p, f in zip(people, original_floor)])


def _check_joints(joints: np.ndarray, name: str, people: int | None) -> None:
    array = np.asarray(joints)
    want = (people,) if people else ()
    if (
        array.ndim != len(want) + 3
        or array.shape[-2:] != (NUM_JOINTS, 3)
        or (people and array.shape[0] != people)
    ):
        shape = "(2, T, 22, 3)" if people else "(T, 22, 3)"
        raise InterSynError(f"{name}: expected joints of shape {shape}, got {array.shape}")
    if array.shape[-3] < 2 or not np.isfinite(array).all():
        raise InterSynError(f"{name}: expected at least 2 finite frames, got shape {array.shape}")


# ---------------------------------------------------------------------------------------------
# Layout: segment lengths from organisation and timing mode
# ---------------------------------------------------------------------------------------------


def segment_starts(config: InterleaveConfig, rng: np.random.Generator) -> list[int]:
    """Start frame of every segment (the first is 0), respecting the minimum segment length."""
    n = len(config.kinds())
    total, least = config.frames, config.min_segment_frames
    if n == 1:
        return [0]
    if "60" in config.timing:
        second = config.fixed_second_start
    else:
        second = int(rng.integers(least, total - (n - 1) * least + 1))
    second = int(np.clip(second, least, total - (n - 1) * least))
    starts = [0, second]
    # Remaining boundaries: uniform cuts of what is left, each piece at least `least` long.
    remaining = n - 2
    if remaining:
        free = total - second - (remaining + 1) * least
        cuts = np.sort(rng.integers(0, free + 1, size=remaining))
        for k, cut in enumerate(cuts):
            starts.append(second + (k + 1) * least + int(cut))
    return starts


# ---------------------------------------------------------------------------------------------
# Alignment and blending
# ---------------------------------------------------------------------------------------------


def heading_of(frame: np.ndarray) -> float:
    """Heading ψ (radians) of one pose `(22, 3)` from hips and shoulders (right minus left)."""
    r_hip, l_hip, r_sh, l_sh = FACE_JOINTS
    across = (frame[r_hip] - frame[l_hip]) + (frame[r_sh] - frame[l_sh])
    return math.atan2(across[2], -across[0])  # forward = Y × across = (a_z, 0, −a_x)


def _yaw(points: np.ndarray, angle: float, pivot: np.ndarray) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return (points - pivot) @ m.T + pivot


def align_to(previous: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Rigidly move `segment (K, L, 22, 3)` so person 0 continues `previous (≥2, 22, 3)`.

    Person 0's first frame takes the previous heading and sits one step ahead of the previous
    root along its last horizontal velocity; all K people move together.
    """
    last = previous[-1]
    before = previous[-2] if len(previous) > 1 else last
    turn = heading_of(last) - heading_of(segment[0, 0])
    pivot = segment[0, 0, 0] * np.array([1.0, 0.0, 1.0])
    moved = _yaw(segment, turn, pivot)
    step = (last[0] - before[0]) * np.array([1.0, 0.0, 1.0])
    shift = (last[0] + step - moved[0, 0, 0]) * np.array([1.0, 0.0, 1.0])
    return moved + shift


def _bone_directions(track: torch.Tensor) -> torch.Tensor:
    """Unit direction of every bone, `(T, 22, 3)` → `(T, 21, 3)`."""
    bones = track[:, 1:] - track[:, list(PARENTS[1:])]
    return bones / torch.linalg.norm(bones, dim=-1, keepdim=True).clamp_min(1e-9)


def _quat_power(q: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """q^fraction for unit quaternions `(..., 4)` (a fraction of the rotation about the same axis)."""
    return rot.axis_angle_to_quat(rot.quat_to_axis_angle(q) * fraction[..., None])


def _rebuild(root: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Joint positions from root positions `(T, 3)` and bone directions `(T, 21, 3)`, reference lengths."""
    lengths = torch.linalg.norm(reference_offsets(root.dtype), dim=-1)[1:]
    bones = directions * lengths[:, None]
    joints = torch.zeros(root.shape[0], NUM_JOINTS, 3, dtype=root.dtype)
    joints[:, 0] = root
    for joint in range(1, NUM_JOINTS):  # 21 vectorised-over-frames steps in tree order
        joints[:, joint] = joints[:, PARENTS[joint]] + bones[:, joint - 1]
    return joints


def _step_angles(directions: torch.Tensor) -> torch.Tensor:
    """Per-frame rotation angle of every bone, `(T, 21, 3)` → `(T-1, 21)` radians."""
    cos = (directions[1:] * directions[:-1]).sum(-1).clamp(-1.0, 1.0)
    return torch.acos(cos)


def blend_boundaries(
    track: np.ndarray,
    boundaries: Sequence[int],
    window: int,
    max_window: int | None = None,
) -> np.ndarray:
    """Make person x's track `(T, 22, 3)` continuous across segment boundaries, exact bone lengths.

    Inertialisation in bone-direction space: at boundary b each bone's direction is compared
    with where it should be one step after frame b−1, moving at the mean of the outgoing and
    incoming rotation per frame; the rotation δ between the two is added to the frames from b
    on and decays to nothing with a smoothstep over the transition window. The step across the
    boundary thus lies between the neighbouring segments' own motion, and nothing before b
    changes. The window is `window` frames, widened (up
    to `max_window`) when the per-frame rotation it adds would exceed the fastest bone rotation
    of the neighbouring segments. Root height is treated the same way; root x/z were placed by
    `align_to`. Positions are rebuilt from the directions with the reference bone lengths.
    """
    joints = torch.from_numpy(np.asarray(track, dtype=np.float64))
    root = joints[:, 0].clone()
    directions = _bone_directions(joints)
    frames = joints.shape[0]
    edges = [0, *boundaries, frames]
    for k, b in enumerate(boundaries):
        if window == 0 or b < 2 or b >= frames - 1:
            continue
        # Velocity across the boundary: the mean of the outgoing and incoming bone rotations.
        outgoing = rot.quat_to_axis_angle(rot.quat_between(directions[b - 2], directions[b - 1]))
        incoming = rot.quat_to_axis_angle(rot.quat_between(directions[b], directions[b + 1]))
        expected = rot.quat_rotate(
            rot.axis_angle_to_quat(0.5 * (outgoing + incoming)), directions[b - 1]
        )
        delta = rot.quat_between(directions[b], expected)  # (21, 4)
        angle = rot.quat_to_axis_angle(delta).norm(dim=-1).max()
        nearby = _step_angles(directions[edges[k] : edges[k + 2]]).max().clamp_min(1e-3)
        # A smoothstep decay over w frames rotates by at most 1.5·angle/w per frame.
        needed = int(torch.ceil(1.5 * angle / nearby).item())
        limit = min(max_window or frames, edges[k + 2] - b - 1)
        width = max(1, min(max(window, needed), limit))
        u = torch.arange(width, dtype=joints.dtype) / width
        weight = 1.0 - (3 * u**2 - 2 * u**3)  # 1 at the boundary, smoothly to 0
        turn = _quat_power(delta.expand(width, -1, -1), weight[:, None].expand(-1, 21))
        directions[b : b + width] = rot.quat_rotate(turn, directions[b : b + width])
        climb = 0.5 * ((root[b - 1, 1] - root[b - 2, 1]) + (root[b + 1, 1] - root[b, 1]))
        height_jump = root[b - 1, 1] + climb - root[b, 1]
        root[b : b + width, 1] += height_jump * weight
    return _rebuild(root, directions).numpy()


# ---------------------------------------------------------------------------------------------
# U(·)
# ---------------------------------------------------------------------------------------------


def _pick(
    pool: Sequence[np.ndarray],
    length: int,
    rng: np.random.Generator,
    least: int,
    crop: str = "random",
) -> tuple[int, int, int]:
    """Choose a clip uniformly and a window `[start, start + n)` with n ≤ length (+1 spare frame),
    anywhere in the clip or, with `crop="start"`, from its first frame, with `crop="end"` up to
    its last.

    Every clip of at least `least` frames is equally likely, whatever the planned `length`: a
    clip shorter than planned shortens its segment (and the sequence ends early, padded), rather
    than the choice being limited to clips long enough, which would draw the last segment,
    planned to fill the sequence, from the few longest clips only.
    """
    lengths = np.array([len(clip) if clip.ndim == 3 else clip.shape[1] for clip in pool])
    long_enough = np.flatnonzero(lengths >= min(length, least) + 1)
    index = int(rng.choice(long_enough)) if len(long_enough) else int(np.argmax(lengths))
    available = int(lengths[index])
    take = min(length + 1, available)
    start = int(rng.integers(0, available - take + 1))  # drawn either way: same rng stream
    fixed = {"start": 0, "end": available - take}
    return index, fixed.get(crop, start), take


def interleave(
    solo_sources: Sequence[SoloSource],
    pair_sources: Sequence[PairSource],
    rng: np.random.Generator | int,
    config: InterleaveConfig | None = None,
    *,
    prepared: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
) -> InterleavedSample:
    """U(p_x, p_y, p_s, t_i, t_s): one interleaved two-person sample (paper Eq. 4).

    Args:
        solo_sources: single-person clips (any fps; retargeted and resampled here).
        pair_sources: interaction clips.
        rng: a numpy Generator or an integer seed (same seed → same sample).
        config: organisation, timing mode, length and blending.
        prepared: optional `(solo_joints, pair_joints)` from `prepare_solo` / `prepare_pair`,
            parallel to the sources, so repeated calls skip the per-source work.
    """
    config = config or InterleaveConfig()
    seed = int(rng) if isinstance(rng, (int, np.integer)) else None
    rng = np.random.default_rng(rng) if seed is not None else rng
    kinds = config.kinds()
    if "s" in kinds and not solo_sources:
        raise InterSynError(f"organisation {config.organisation!r} needs solo clips; got none")
    if "i" in kinds and not pair_sources:
        raise InterSynError(
            f"organisation {config.organisation!r} needs interaction clips; got none"
        )
    if prepared is None:
        solo_pool = [prepare_solo(s) for s in solo_sources] if "s" in kinds else []
        pair_pool = [prepare_pair(p) for p in pair_sources] if "i" in kinds else []
    else:
        solo_pool, pair_pool = prepared
    starts = segment_starts(config, rng)
    ends = starts[1:] + [config.frames]

    total = config.frames + 1  # joint frames; features have `frames` rows
    x_track = np.zeros((total, NUM_JOINTS, 3))
    y_track = np.zeros((total, NUM_JOINTS, 3))
    presence = np.zeros((2, total), dtype=bool)
    segments: list[Segment] = []
    cursor = 0
    ends_with_clip = False
    for k, kind in enumerate(kinds):
        # Planned length; the last segment fills the sequence (plus the spare joint frame).
        # A source shorter than planned shortens its segment and shifts the later ones.
        planned = total - cursor if k == len(kinds) - 1 else ends[k] - starts[k]
        length = min(planned, total - cursor)
        if length < 1:
            break
        crop = config.crop
        if crop == "end_last":
            crop = "end" if k == len(kinds) - 1 else "random"
        if kind == "s":
            index, src_start, take = _pick(solo_pool, length, rng, config.min_segment_frames, crop)
            window = solo_pool[index][src_start : src_start + take][None]  # (1, n, 22, 3)
            clip_frames = len(solo_pool[index])
            source = solo_sources[index]
            caption = str(rng.choice(source.captions))
            swapped = False
            person_caption = partner_caption = None
        else:
            index, src_start, take = _pick(pair_pool, length, rng, config.min_segment_frames, crop)
            window = pair_pool[index][:, src_start : src_start + take]
            clip_frames = pair_pool[index].shape[1]
            source = pair_sources[index]
            line = int(rng.integers(len(source.captions)))
            caption = source.captions[line]
            swapped = bool(rng.random() < config.swap_probability)
            if swapped:
                window = window[::-1]
            person_caption = partner_caption = None
            if source.person_captions is not None:
                per = [source.person_captions[0], source.person_captions[1]]
                if swapped:
                    per.reverse()
                person_caption = per[0][min(line, len(per[0]) - 1)]
                partner_caption = per[1][min(line, len(per[1]) - 1)]
                # Drawn only when asked, so samples without it keep their random stream.
                if config.person_caption_share > 0 and rng.random() < config.person_caption_share:
                    caption = combine_captions([caption, person_caption, partner_caption])
        n = window.shape[1]
        seg_len = min(length, n)
        window = align_to(x_track[:cursor], window) if segments else window.copy()
        stop = min(cursor + seg_len, total)
        x_track[cursor:stop] = window[0, : stop - cursor]
        if kind == "i":
            # The partner keeps one extra frame so its last feature row has a successor.
            y_stop = min(cursor + n, stop + 1, total)
            y_track[cursor:y_stop] = window[1, : y_stop - cursor]
            presence[1, cursor:y_stop] = True
        presence[0, cursor:stop] = True
        segments.append(
            Segment(
                kind="solo" if kind == "s" else "interaction",
                start=cursor,
                end=min(stop, config.frames),
                source_id=source.id,
                source_start=src_start,
                source_end=src_start + (stop - cursor),
                caption=caption,
                person_caption=person_caption,
                partner_caption=partner_caption,
                swapped=swapped,
            )
        )
        # Within the spare joint frame of a full-length window, which stays unused.
        ends_with_clip = src_start + (stop - cursor) >= clip_frames - 1
        cursor = stop
        if cursor >= total:
            break

    used = cursor
    boundaries = [segment.start for segment in segments[1:]]
    x_track[:used] = blend_boundaries(
        x_track[:used], boundaries, config.blend_frames, config.max_blend_frames
    )
    joints = np.stack([x_track, y_track])
    joints = _canonicalise(joints, presence)
    valid = presence[0, 1:].copy()
    valid &= presence[0, :-1]
    interaction_start = next((s.start for s in segments if s.kind == "interaction"), -1)
    solo_start = next((s.start for s in segments if s.kind == "solo"), -1)
    return InterleavedSample(
        joints=joints.astype(np.float32),
        presence=presence,
        valid=valid,
        segments=tuple(segments),
        interaction_start=interaction_start,
        solo_start=solo_start,
        caption=combine_captions([s.caption for s in segments]),
        organisation=config.organisation,
        timing=config.timing,
        seed=seed,
        ends=ends_with_clip,
    )


def _canonicalise(joints: np.ndarray, presence: np.ndarray) -> np.ndarray:
    """Person x starts at the origin facing +Z; the floor is the lowest present joint."""
    first = joints[0, 0]
    turn = -heading_of(first)
    pivot = first[0] * np.array([1.0, 0.0, 1.0])
    out = _yaw(joints, turn, pivot) - pivot
    floor = min(out[p][presence[p]][..., 1].min() for p in range(2) if presence[p].any())
    out[..., 1] -= floor
    return np.where(presence[..., None, None], out, 0.0)


def combine_captions(captions: Sequence[str]) -> str:
    """w_u: the segment captions in order of appearance, as one text."""
    parts = [c.strip().rstrip(".") for c in captions if c.strip()]
    return ". ".join(part[:1].upper() + part[1:] for part in parts) + "."
