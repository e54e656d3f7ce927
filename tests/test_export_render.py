"""Stick-figure renders: decodable MP4/GIF with the right frames, people where the camera puts them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from intersyn.errors import InterSynError
from intersyn.export import render
from intersyn.export.bvh import axis_rotation, local_rotations_to_joints
from intersyn.kinematics.skeleton import NUM_JOINTS, reference_offsets

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")


def colour_near(
    frame: np.ndarray, xy: np.ndarray, colour: tuple[int, int, int], reach: int = 2
) -> bool:
    """Whether a pixel within `reach` of `xy` is within 12 of `colour` per channel."""
    x, y = (int(round(v)) for v in xy)
    window = frame[max(0, y - reach) : y + reach + 1, max(0, x - reach) : x + reach + 1].astype(int)
    return bool((np.abs(window - np.array(colour)).max(axis=-1) <= 12).any())


def colour_fraction(frame: np.ndarray, colour: tuple[int, int, int]) -> float:
    return float((np.abs(frame.astype(int) - np.array(colour)).max(axis=-1) <= 12).mean())


def left_arm_raised(frames: int = 4) -> np.ndarray:
    """Rest pose facing +Z with the left arm (+X side) lifted sideways, `(T, 22, 3)`, feet on y=0."""
    local = np.broadcast_to(np.eye(3), (frames, NUM_JOINTS, 3, 3)).copy()
    local[:, 16] = axis_rotation(np.full(frames, np.pi / 2), 2)  # left shoulder: down → +X
    root = np.tile([0.0, 0.93, 0.0], (frames, 1))
    joints = local_rotations_to_joints(root, local, reference_offsets().numpy())
    joints[..., 1] -= joints[..., 1].min()
    return joints


@pytest.fixture(scope="module")
def two_people(real_joints: np.ndarray) -> np.ndarray:
    """`(2, 20, 22, 3)`: the real clip and a copy 2 m to its left (+X)."""
    clip = real_joints[:20].astype(np.float64)
    return np.stack([clip, clip + np.array([2.0, 0.0, 0.0])])


def test_mp4_decodes_with_frames_and_size(tmp_path: Path, two_people: np.ndarray) -> None:
    path = render.render_motion(
        tmp_path / "clip.mp4", two_people, fps=20, captions=["two people"], size=(320, 240)
    )
    assert path == tmp_path / "clip.mp4" and [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(240, 320, 3) for f in reader]
    assert meta["size"] == (320, 240) and meta["fps"] == pytest.approx(20.0)
    assert len(frames) == 20
    # Lossy, but the first decoded frame still shows both people's colours.
    assert colour_fraction(frames[0], render.person_colour(0)) > 0.001
    assert colour_fraction(frames[0], render.person_colour(1)) > 0.001


def test_one_drawing_pass_writes_the_same_videos(tmp_path: Path, two_people: np.ndarray) -> None:
    """`render_videos` draws each frame once for both files; each equals its own render."""
    both = render.render_videos(
        [tmp_path / "both" / "a.mp4", tmp_path / "both" / "a.gif"], two_people, size=(160, 120)
    )
    assert [p.name for p in both] == ["a.mp4", "a.gif"]
    alone = render.render_motion(tmp_path / "alone.gif", two_people, size=(160, 120))
    assert both[1].read_bytes() == alone.read_bytes()
    reader = imageio_ffmpeg.read_frames(str(both[0]))
    next(reader)
    assert sum(1 for _ in reader) == 20
    with pytest.raises(InterSynError, match="expected a file name ending in .mp4 or .gif"):
        render.render_videos([tmp_path / "c.mp4", tmp_path / "c.avi"], two_people)
    assert not (tmp_path / "c.mp4").exists()  # checked before anything is written


def test_gif_has_frames_duration_and_loop(tmp_path: Path, two_people: np.ndarray) -> None:
    render.render_motion(tmp_path / "clip.gif", two_people, fps=20, title="t", size=(200, 160))
    with Image.open(tmp_path / "clip.gif") as gif:
        assert gif.n_frames == 20 and gif.size == (200, 160)
        assert gif.info["duration"] == 50 and gif.info["loop"] == 0
        gif.seek(10)
        frame = np.asarray(gif.convert("RGB"))
    assert colour_fraction(frame, render.person_colour(0)) > 0.001
    assert colour_fraction(frame, render.person_colour(1)) > 0.001


def test_people_appear_where_the_camera_projects_them(real_joints: np.ndarray) -> None:
    clip = real_joints[:10].astype(np.float64)
    people = np.stack([clip, clip + np.array([2.0, 0.0, 0.0])])
    presence = np.ones((2, 10), dtype=bool)
    presence[1, 5:] = False
    frames = list(render.render_frames(people, presence=presence, captions=["c"]))
    assert len(frames) == 10 and frames[0].shape == (480, 640, 3)
    camera = render.camera_for(people, presence=presence, captions=["c"])
    pixels, depth = camera.project(people)
    assert (depth > 0).all()
    for person in range(2):
        head = pixels[person, 0, 15]
        assert 0 <= head[0] < 640 and 0 <= head[1] < 480
        assert colour_near(frames[0], head, render.person_colour(person))
        assert not colour_near(frames[0], head, render.person_colour(1 - person), reach=0)
    # Person 2 is absent from frame 5 on: its colour is gone (above the legend line), 1's stays.
    scene = frames[7][:430]
    assert colour_fraction(frames[4][:430], render.person_colour(1)) > 0.0005
    assert colour_fraction(scene, render.person_colour(1)) == 0.0
    assert colour_fraction(scene, render.person_colour(0)) > 0.0005
    assert colour_fraction(frames[0], render.BACKGROUND) > 0.5  # not blank, not filled


def test_left_is_not_mirrored() -> None:
    joints = left_arm_raised()
    camera = render.camera_for(joints)
    pixels, _ = camera.project(joints[0])
    # Facing +Z toward a front-left camera: the left hand (+X) is on screen-right, head above feet.
    assert pixels[20, 0] > pixels[21, 0] + 50
    assert pixels[15, 1] < pixels[10, 1] - 100
    frame = next(render.render_frames(joints))
    light = render._mix(render.person_colour(0), (255, 255, 255), 0.4)  # left-side shade
    elbow_to_wrist = np.linspace(pixels[18], pixels[20], 5)[1:-1]
    assert all(colour_near(frame, xy, light) for xy in elbow_to_wrist)
    # World +X is screen-right for a camera on the +Z side, whatever the azimuth within ±80°.
    for azimuth in (-60.0, 0.0, 60.0):
        cam = render.fit_camera(joints[0], (0, 0, 100, 100), azimuth_deg=azimuth)
        (origin, plus_x), _ = cam.project(np.array([[0, 0.9, 0.0], [0.3, 0.9, 0.0]]))
        assert plus_x[0] > origin[0]


def test_absent_frames_may_hold_nan(tmp_path: Path) -> None:
    joints = np.stack([left_arm_raised(), left_arm_raised() + 1.0])
    joints[1, :2] = np.nan
    presence = np.array([[True] * 4, [False, False, True, True]])
    path = render.render_motion(
        tmp_path / "a.gif", joints, presence=presence, captions="one caption"
    )
    assert path.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "out.avi"}, "expected a file name ending in .mp4 or .gif"),
        ({"fps": 0}, "fps"),
        ({"size": (321, 240)}, "even"),
        ({"size": (10, 10)}, "size"),
        ({"joints": np.zeros((4, 21, 3))}, "joints: expected shape"),
        ({"joints": np.full((4, 22, 3), np.nan)}, "NaN"),
        ({"presence": np.zeros((1, 4), dtype=bool)}, "no person is present"),
        ({"presence": np.ones((2, 4), dtype=bool)}, "presence: expected"),
        ({"captions": ["ok", 3]}, "captions"),
    ],
)
def test_bad_input_raises_one_line(tmp_path: Path, kwargs, message) -> None:
    args = {"path": "out.mp4", "joints": left_arm_raised(), **kwargs}
    args["path"] = tmp_path / args["path"]
    with pytest.raises(InterSynError, match=message) as info:
        render.render_motion(**args)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary left behind


def test_existing_file_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "a.gif"
    target.write_bytes(b"old")
    render.render_motion(target, left_arm_raised(), size=(96, 96))
    with Image.open(target) as gif:
        assert gif.n_frames == 4
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]


@pytest.mark.parametrize("failing", ["add", "close"])
def test_encoder_failure_reaches_the_caller_and_keeps_old_files(
    tmp_path: Path, two_people: np.ndarray, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """Encoders run on threads of their own; an error there is raised by `render_videos`, every
    encoder is stopped, and the files a user had are left as they were."""
    import threading

    calls = {"add": 0}
    real_add = render._GifSink.add

    def add(self, frame):
        calls["add"] += 1
        if failing == "add" and calls["add"] == 5:
            raise OSError("disk full")
        real_add(self, frame)

    def close(self):
        raise OSError("disk full")

    monkeypatch.setattr(render._GifSink, "add", add)
    if failing == "close":
        monkeypatch.setattr(render._GifSink, "close", close)
    (tmp_path / "a.gif").write_bytes(b"old gif")
    with pytest.raises(OSError, match="disk full"):
        render.render_videos([tmp_path / "a.mp4", tmp_path / "a.gif"], two_people, size=(96, 96))
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]  # no MP4, no temporaries
    assert (tmp_path / "a.gif").read_bytes() == b"old gif"
    assert not any(t.name == "video-encoder" for t in threading.enumerate())
    if failing == "add":
        assert calls["add"] == 5  # the failed encoder is not fed again


def test_encoder_thread_stops_after_an_interrupted_finish() -> None:
    """Ctrl-C while `finish` waits on a full queue: the close was never queued, and `abort`
    must still stop the encoder instead of waiting on it forever."""
    import threading
    import time

    class SlowSink:
        aborted = False

        def add(self, frame: np.ndarray) -> None:
            time.sleep(0.01)

        def close(self) -> None:
            raise AssertionError("never told to close")

        def abort(self) -> None:
            self.aborted = True

    encoder = render._EncoderThread(SlowSink())
    for _ in range(12):
        encoder.add(np.zeros(1))
    queue_put = encoder.frames.put

    def interrupted(item, *args, **kwargs):
        if item is encoder._CLOSE:
            raise KeyboardInterrupt
        queue_put(item, *args, **kwargs)

    encoder.frames.put = interrupted
    with pytest.raises(KeyboardInterrupt):
        encoder.finish()
    stopped = threading.Event()
    threading.Thread(target=lambda: (encoder.abort(), stopped.set()), daemon=True).start()
    assert stopped.wait(5), "abort waited forever after an interrupted finish"
    assert encoder.sink.aborted and not encoder.thread.is_alive()
