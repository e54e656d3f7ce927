"""Stick-figure MP4/GIF renders of generated motion: floor grid, one colour per person, captions.

Frames are drawn with PIL on 2D points that numpy projects for the whole clip at once. The
camera is fixed for the clip: a perspective 3/4 view from above (azimuth measured from +Z
toward +X, so a body facing +Z is seen from its front-left) fitted to every present joint of
every frame. The view is not mirrored: world +X is screen-right when seen from +Z, so the
person's left hand appears on screen-right when they face the camera. Within a person, left
limbs are drawn lighter and right limbs darker than the centre line.

MP4 goes through the ffmpeg binary shipped in the `imageio-ffmpeg` wheel (H.264, yuv420p);
GIF through PIL with one fixed palette for every frame. Both are written to a temporary file in
the target directory and renamed into place.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import queue
import textwrap
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from intersyn._arrays import as_motion_tensor
from intersyn.errors import InterSynError
from intersyn.io import atomic_path
from intersyn.kinematics.skeleton import LEFT_CHAIN, NUM_JOINTS, PARENTS, RIGHT_CHAIN

BACKGROUND = (246, 246, 243)
GRID_COLOUR = (200, 200, 196)
TEXT_COLOUR = (35, 35, 35)
# One colour per person (cycled past six): blue, red, green, purple, orange, teal.
PERSON_COLOURS: tuple[tuple[int, int, int], ...] = (
    (31, 100, 200), (205, 40, 40), (30, 150, 60), (140, 80, 190), (235, 130, 20), (20, 160, 170),
)  # fmt: skip
HEAD_RADIUS = 0.09  # metres: the head joint is drawn as a circle of this radius
GRID_STEP = 0.5  # metres between floor grid lines
GRID_MARGIN = 1.0  # metres of floor shown beyond the motion's extent
SUPERSAMPLE = 2  # frames are drawn this many times larger and box-reduced: anti-aliased lines

_BONE_CHILDREN = np.arange(1, NUM_JOINTS)
_BONE_PARENTS = np.array(PARENTS[1:])
# Side of each bone (by its child joint): 1 left, -1 right, 0 centre line.
_BONE_SIDE = np.array(
    [1 if k in LEFT_CHAIN else -1 if k in RIGHT_CHAIN else 0 for k in range(1, NUM_JOINTS)]
)
_HEAD = 15


def person_colour(person: int) -> tuple[int, int, int]:
    """Base RGB colour of `person` (0-based): its spine and head are drawn in it."""
    return PERSON_COLOURS[person % len(PERSON_COLOURS)]


def _mix(colour: Sequence[int], other: Sequence[int], amount: float) -> tuple[int, int, int]:
    return tuple(int(round(c + (o - c) * amount)) for c, o in zip(colour, other))  # type: ignore[return-value]


def _bone_colours(person: int) -> list[tuple[int, int, int]]:
    base = person_colour(person)
    light, dark = _mix(base, (255, 255, 255), 0.4), _mix(base, (0, 0, 0), 0.3)
    return [light if s > 0 else dark if s < 0 else base for s in _BONE_SIDE]


@dataclass(frozen=True)
class Camera:
    """Pinhole camera: `pixel = principal + focal · (x, −y) / depth` in its right/up/forward basis."""

    eye: tuple[float, float, float]  # world position, metres
    right: tuple[float, float, float]  # unit vectors of the view basis (world coordinates)
    up: tuple[float, float, float]
    forward: tuple[float, float, float]
    focal: float  # pixels per unit of x/depth
    principal: tuple[float, float]  # pixel where the optical axis lands (x right, y down)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels `(..., 2)` (x right, y down) and depths `(...)` metres of world points `(..., 3)`."""
        rel = np.asarray(points, dtype=np.float64) - np.asarray(self.eye)
        basis = np.array([self.right, self.up, self.forward])  # (3, 3) rows
        cam = rel @ basis.T  # (..., 3) = (x, y, depth)
        depth = cam[..., 2]
        safe = np.where(depth > 1e-6, depth, 1e-6)
        pixels = np.stack(
            [
                self.principal[0] + self.focal * cam[..., 0] / safe,
                self.principal[1] - self.focal * cam[..., 1] / safe,
            ],
            axis=-1,
        )
        return pixels, depth


def fit_camera(
    points: np.ndarray,
    box: tuple[int, int, int, int],
    azimuth_deg: float = 30.0,
    elevation_deg: float = 22.0,
    extra_points: np.ndarray | None = None,
) -> Camera:
    """Camera looking at `points` `(N, 3)` from above, scaled so they fill pixel `box` (x0, y0, x1, y1).

    `extra_points` (the floor grid) are kept in front of the camera but need not fit the box.
    """
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = (lo + hi) / 2
    reach = points if extra_points is None else np.concatenate([points, extra_points])
    radius = max(float(np.linalg.norm(reach - centre, axis=-1).max()), 0.5)
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    back = np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])
    eye = centre + 2.5 * radius * back  # outside the scene: every point has positive depth
    forward = -back
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    unit = Camera(tuple(eye), tuple(right), tuple(up), tuple(forward), 1.0, (0.0, 0.0))
    flat, _ = unit.project(points)  # (N, 2) at focal 1
    # At least ~0.5 m of view at the scene's depth, so a motionless point is not blown up.
    span = np.maximum(flat.max(axis=0) - flat.min(axis=0), 0.5 / (2.5 * radius))
    x0, y0, x1, y1 = box
    focal = min((x1 - x0) / span[0], (y1 - y0) / span[1])
    middle = (flat.max(axis=0) + flat.min(axis=0)) / 2
    principal = ((x0 + x1) / 2 - focal * middle[0], (y0 + y1) / 2 - focal * middle[1])
    return Camera(tuple(eye), tuple(right), tuple(up), tuple(forward), float(focal), principal)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def _check_inputs(joints: Any, presence: Any | None) -> tuple[np.ndarray, np.ndarray]:
    """Joints as `(P, T, 22, 3)` float64 (absent frames zeroed) and presence `(P, T)` bool."""
    if hasattr(joints, "detach"):
        joints = joints.detach().cpu().numpy()
    try:
        array = np.array(joints, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InterSynError(
            f"joints: could not read as a numeric array ({exc}); expected (P, T, 22, 3)"
        ) from None
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-2:] != (NUM_JOINTS, 3) or array.shape[1] < 1:
        raise InterSynError(
            f"joints: expected shape (P, T, 22, 3) or (T, 22, 3), got {array.shape}"
        )
    if presence is None:
        mask = np.ones(array.shape[:2], dtype=bool)
    else:
        if hasattr(presence, "detach"):
            presence = presence.detach().cpu().numpy()
        mask = np.asarray(presence)
        if mask.ndim == 1 and array.shape[0] == 1:
            mask = mask[None]
        if mask.shape != array.shape[:2] or mask.dtype.kind not in "bui":
            raise InterSynError(
                f"presence: expected a bool array of shape {array.shape[:2]}, got "
                f"{mask.dtype} {mask.shape}"
            )
        mask = mask.astype(bool)
    array[~mask] = 0.0  # absent frames may hold anything, even NaN
    as_motion_tensor(array, "joints", (NUM_JOINTS, 3), min_frames=1)  # finite, numeric
    if not mask.any():
        raise InterSynError("presence: no person is present in any frame; nothing to render")
    return array, mask


@dataclass(frozen=True)
class _Layout:
    camera: Camera
    background: Image.Image
    counter_font: Any
    counter_xy: tuple[int, int]
    line_width: int


def _layout(
    joints: np.ndarray,
    presence: np.ndarray,
    size: tuple[int, int],
    captions: Sequence[str],
    title: str | None,
) -> _Layout:
    width, height = size
    pad = max(6, height // 60)
    text_size, title_size = max(10, round(height / 30)), max(12, round(height / 23))
    font, title_font = _font(text_size), _font(title_size)
    average = font.getlength("abcdefghijklmnopqrstuvwxyz ") / 27
    lines: list[tuple[str, Any]] = []
    if title:
        lines += [
            (t, title_font)
            for t in textwrap.wrap(title, max(8, int((width - 2 * pad) / (average * 1.3))))
        ]
    for caption in captions:
        lines += [
            (t, font) for t in textwrap.wrap(caption, max(8, int((width - 2 * pad) / average)))
        ]
    line_height = {id(font): round(text_size * 1.25), id(title_font): round(title_size * 1.25)}
    while len(lines) > 1 and sum(line_height[id(f)] for _, f in lines) > 0.35 * height:
        lines = lines[:-2] + [(lines[-2][0] + " …", lines[-2][1])]  # keep the figures visible
    header = pad + sum(line_height[id(f)] for _, f in lines)
    footer = round(text_size * 1.25) + pad

    present = joints[presence]  # (N, 22, 3): every present pose of every frame
    head_tops = present[:, _HEAD] + np.array([0.0, HEAD_RADIUS, 0.0])
    points = np.concatenate([present.reshape(-1, 3), head_tops])
    lo, hi = points.min(axis=0), points.max(axis=0)
    floor = lo[1]
    xs = (
        np.arange(
            math.floor((lo[0] - GRID_MARGIN) / GRID_STEP),
            math.ceil((hi[0] + GRID_MARGIN) / GRID_STEP) + 1,
        )
        * GRID_STEP
    )
    zs = (
        np.arange(
            math.floor((lo[2] - GRID_MARGIN) / GRID_STEP),
            math.ceil((hi[2] + GRID_MARGIN) / GRID_STEP) + 1,
        )
        * GRID_STEP
    )
    grid = np.array(  # (L, 2, 3) segments on the floor
        [[[x, floor, zs[0]], [x, floor, zs[-1]]] for x in xs]
        + [[[xs[0], floor, z], [xs[-1], floor, z]] for z in zs]
    )
    margin = round(0.06 * min(width, height))
    box = (margin, header + margin // 2, width - margin, height - footer - margin // 2)
    camera = fit_camera(points, box, extra_points=grid.reshape(-1, 3))

    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    pixels, _ = camera.project(grid)
    for (ax, ay), (bx, by) in pixels:
        draw.line([(ax, ay), (bx, by)], fill=GRID_COLOUR, width=1)
    y = pad
    for text, f in lines:
        draw.text((pad, y), text, font=f, fill=TEXT_COLOUR)
        y += line_height[id(f)]
    x = pad
    if joints.shape[0] > 1:  # legend: one swatch per person along the bottom
        for person in range(joints.shape[0]):
            label = f"person {person + 1}"
            draw.text((x, height - footer), label, font=font, fill=person_colour(person))
            x += int(font.getlength(label)) + 2 * pad
    return _Layout(
        camera=camera,
        background=image,
        counter_font=font,
        counter_xy=(width - pad, height - footer),
        line_width=max(2, round(min(width, height) / 110)),
    )


def camera_for(
    joints: Any,
    presence: Any | None = None,
    size: tuple[int, int] = (640, 480),
    captions: Sequence[str] = (),
    title: str | None = None,
) -> Camera:
    """The camera `render_motion` uses for these inputs (to locate joints in rendered frames)."""
    array, mask = _check_inputs(joints, presence)
    width, height = _check_size(size)
    big = (width * SUPERSAMPLE, height * SUPERSAMPLE)
    camera = _layout(array, mask, big, _check_captions(captions), title).camera
    principal = (camera.principal[0] / SUPERSAMPLE, camera.principal[1] / SUPERSAMPLE)
    return replace(camera, focal=camera.focal / SUPERSAMPLE, principal=principal)


def render_frames(
    joints: Any,
    fps: float = 20.0,
    captions: Sequence[str] = (),
    title: str | None = None,
    presence: Any | None = None,
    size: tuple[int, int] = (640, 480),
) -> Iterator[np.ndarray]:
    """Rendered RGB frames `(H, W, 3)` uint8, one per frame of joints `(P, T, 22, 3)` metres, Y up."""
    array, mask = _check_inputs(joints, presence)
    width, height = _check_size(size)
    big = (width * SUPERSAMPLE, height * SUPERSAMPLE)
    layout = _layout(array, mask, big, _check_captions(captions), title)
    people, frames = mask.shape
    pixels, depth = layout.camera.project(array)  # (P, T, 22, 2), (P, T, 22)
    # Draw order: every bone and head of a frame, far to near.
    bone_depth = (depth[..., _BONE_PARENTS] + depth[..., _BONE_CHILDREN]) / 2  # (P, T, 21)
    head_radius = layout.camera.focal * HEAD_RADIUS / np.maximum(depth[..., _HEAD], 1e-6)
    colours = [_bone_colours(p) for p in range(people)]
    width = layout.line_width
    dot = width * 0.6
    for t in range(frames):
        image = layout.background.copy()
        draw = ImageDraw.Draw(image)
        items = []  # (depth, person, bone or -1 for the head)
        for p in np.flatnonzero(mask[:, t]):
            items += [(bone_depth[p, t, b], p, b) for b in range(NUM_JOINTS - 1)]
            items.append((depth[p, t, _HEAD] - HEAD_RADIUS, p, -1))  # over the neck bone
        for _, p, b in sorted(items, key=lambda item: -item[0]):
            points = pixels[p, t]
            if b < 0:
                (cx, cy), r = points[_HEAD], head_radius[p, t]
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=person_colour(p))
                continue
            (ax, ay), (bx, by) = points[_BONE_PARENTS[b]], points[_BONE_CHILDREN[b]]
            draw.line([(ax, ay), (bx, by)], fill=colours[p][b], width=width)
            draw.ellipse([bx - dot, by - dot, bx + dot, by + dot], fill=colours[p][b])
        counter = f"frame {t + 1}/{frames}  {t / fps:5.2f} s"
        draw.text(
            layout.counter_xy, counter, font=layout.counter_font, fill=TEXT_COLOUR, anchor="ra"
        )
        yield np.asarray(image.reduce(SUPERSAMPLE) if SUPERSAMPLE > 1 else image)


def _check_size(size: Any) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InterSynError(f"size: expected (width, height) in pixels, got {size!r}") from None
    if width < 64 or height < 64 or width > 8192 or height > 8192:
        raise InterSynError(f"size: expected 64..8192 pixels per side, got {width}x{height}")
    return width, height


def _check_captions(captions: Any) -> tuple[str, ...]:
    if isinstance(captions, str):
        return (captions,)
    if not all(isinstance(c, str) for c in captions):
        raise InterSynError(f"captions: expected a sequence of strings, got {captions!r}")
    return tuple(captions)


def _gif_palette() -> Image.Image:
    """Palette image holding every colour a frame uses, plus blends for anti-aliased text."""
    colours = [BACKGROUND, GRID_COLOUR, TEXT_COLOUR]
    for base in PERSON_COLOURS:
        for shade in (base, _mix(base, (255, 255, 255), 0.4), _mix(base, (0, 0, 0), 0.3)):
            colours += [_mix(BACKGROUND, shade, a) for a in (0.33, 0.66, 1.0)]
    colours += [_mix(BACKGROUND, TEXT_COLOUR, a) for a in np.linspace(0.1, 0.9, 9)]
    flat = [v for colour in colours for v in colour]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + flat[:3] * (256 - len(colours)))
    return palette


def render_motion(
    path: str | os.PathLike[str],
    joints: Any,
    fps: float = 20.0,
    captions: Sequence[str] = (),
    title: str | None = None,
    presence: Any | None = None,
    size: tuple[int, int] = (640, 480),
) -> Path:
    """Render joints `(P, T, 22, 3)` (or `(T, 22, 3)`) metres, Y up, to an `.mp4` or `.gif` file.

    Args:
        path: output file; the suffix picks the format.
        fps: frames per second of the motion and the video (> 0).
        captions: text lines shown at the top (wrapped to the frame width).
        title: optional larger first line.
        presence: `(P, T)` bool, False where a person is absent (not drawn, not framed).
        size: (width, height) pixels; even numbers for MP4.

    Returns:
        The path written.
    """
    return render_videos([path], joints, fps, captions, title, presence, size)[0]


def render_videos(
    paths: Sequence[str | os.PathLike[str]],
    joints: Any,
    fps: float = 20.0,
    captions: Sequence[str] = (),
    title: str | None = None,
    presence: Any | None = None,
    size: tuple[int, int] = (640, 480),
) -> list[Path]:
    """`render_motion` to several files (an `.mp4` and a `.gif`) from one pass of drawing:
    each frame is drawn once and handed to every file's encoder (drawing is half the time)."""
    targets = [Path(p) for p in paths]
    for target in targets:
        if target.suffix.lower() not in (".mp4", ".gif"):
            raise InterSynError(f"path {target}: expected a file name ending in .mp4 or .gif")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise InterSynError(f"fps: expected a positive number, got {fps!r}")
    width, height = _check_size(size)
    if any(t.suffix.lower() == ".mp4" for t in targets) and (width % 2 or height % 2):
        raise InterSynError(f"size: H.264 needs even sides, got {width}x{height}")
    frames = render_frames(joints, fps, captions, title, presence, (width, height))
    first = next(frames)  # validates the inputs before any file is created
    with contextlib.ExitStack() as stack:
        sinks = []
        for target in targets:
            kind = target.suffix.lower()
            tmp = str(stack.enter_context(atomic_path(target, suffix=kind)))
            sink = _Mp4Sink(tmp, fps, (width, height)) if kind == ".mp4" else _GifSink(tmp, fps)
            sink = _EncoderThread(sink)
            stack.callback(sink.abort)  # an error below: stop the encoder before the rename
            sinks.append(sink)
        for frame in itertools.chain([first], frames):
            for sink in sinks:
                sink.add(frame)
        for sink in sinks:
            sink.finish()  # every encoder writes out at once
        for sink in sinks:
            sink.close()
    return targets


class _EncoderThread:
    """Runs one video encoder on a thread of its own, fed through a short queue.

    PIL's quantiser and GIF writer and the pipe to ffmpeg release the GIL, so encoding overlaps
    the drawing of the next frames, and the GIF is written while ffmpeg finishes the MP4.
    The files are byte-identical to encoding in line; an encoder's error is raised by the next
    `add` or by `close`.
    """

    _CLOSE, _ABORT = object(), object()

    def __init__(self, sink: _Mp4Sink | _GifSink) -> None:
        self.sink = sink
        self.frames: queue.Queue[Any] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.closing = False  # whether the encoder was told to write out
        self.thread = threading.Thread(target=self._work, name="video-encoder", daemon=True)
        try:
            self.thread.start()
        except BaseException:
            sink.abort()  # (ffmpeg runs already)
            raise

    def _work(self) -> None:
        while True:
            item = self.frames.get()
            if item is self._ABORT:
                return  # `abort` stops the sink itself once this thread has ended
            if item is self._CLOSE:
                if self.error is None:
                    self._guarded(self.sink.close)
                return
            if self.error is None:  # after an error, drain: `add` must never block
                self._guarded(self.sink.add, item)

    def _guarded(self, call: Callable[..., None], *args: Any) -> None:
        try:
            call(*args)
        except BaseException as error:  # raised again on the drawing thread
            self.error = error

    def add(self, frame: np.ndarray) -> None:
        self._raise()
        self.frames.put(frame)

    def finish(self) -> None:
        """Ask the encoder to write out what it has (once); `close` waits for it."""
        if not self.closing:
            self.frames.put(self._CLOSE)
            self.closing = True  # (only once queued: an interrupted put leaves it to abort)

    def close(self) -> None:
        self.finish()
        self.thread.join()
        self._raise()

    def abort(self) -> None:
        if self.thread.is_alive():
            # Queued even after a close: a marker the finished worker never reads is harmless,
            # and a worker still draining must be told to stop.
            self.frames.put(self._ABORT)
            self.thread.join()
        self.sink.abort()  # (after a close too: a no-op for a written MP4, drops GIF frames)

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


class _Mp4Sink:
    """H.264 through imageio-ffmpeg, fed one frame at a time."""

    def __init__(self, path: str, fps: float, size: tuple[int, int]) -> None:
        try:
            import imageio_ffmpeg
        except ImportError:
            raise InterSynError(
                "MP4 output needs the imageio-ffmpeg package (pip install imageio-ffmpeg)"
            ) from None
        self.writer = imageio_ffmpeg.write_frames(
            path,
            size,
            fps=float(fps),
            codec="libx264",
            quality=None,
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=["-preset", "veryfast", "-crf", "20", "-movflags", "+faststart"],
        )
        self.writer.send(None)
        self.open = True

    def add(self, frame: np.ndarray) -> None:
        self.writer.send(frame)

    def close(self) -> None:
        if self.open:
            self.open = False
            self.writer.close()

    abort = close


class _GifSink:
    """Frames quantised to the fixed palette as they come, saved as one GIF at the end."""

    def __init__(self, path: str, fps: float) -> None:
        self.path, self.fps = path, fps
        self.palette = _gif_palette()
        self.images: list[Image.Image] = []

    def add(self, frame: np.ndarray) -> None:
        image = Image.fromarray(frame).quantize(palette=self.palette, dither=Image.Dither.NONE)
        self.images.append(image)

    def close(self) -> None:
        duration = max(20, int(round(1000 / self.fps / 10)) * 10)  # whole centiseconds
        first, *rest = self.images
        first.save(
            self.path, format="GIF", save_all=True, append_images=rest, duration=duration, loop=0
        )

    def abort(self) -> None:
        self.images = []
