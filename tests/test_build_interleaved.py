"""On-disk interleaved datasets: manifest, shards, worker independence, atomicity."""

import json

import numpy as np
import pytest

from intersyn import InterSynError
from intersyn.data.build_interleaved import build_interleaved_dataset, load_interleaved_dataset
from intersyn.data.interleave import InterleaveConfig


def test_build_and_read_back(tmp_path, tiny_data_root):
    config = InterleaveConfig("s-i-s", "ts0-random-ti")
    one = build_interleaved_dataset(
        tiny_data_root,
        tiny_data_root,
        tmp_path / "one",
        config,
        count=12,
        seed=5,
        workers=1,
        progress=False,
    )
    two = build_interleaved_dataset(
        tiny_data_root,
        tiny_data_root,
        tmp_path / "two",
        config,
        count=12,
        seed=5,
        workers=2,
        progress=False,
    )
    assert one["count"] == two["count"] == 12
    a = list(load_interleaved_dataset(tmp_path / "one"))
    b = list(load_interleaved_dataset(tmp_path / "two"))
    assert len(a) == 12 and all(np.array_equal(x.joints, y.joints) for x, y in zip(a, b))
    entries = [
        json.loads(line) for line in (tmp_path / "one" / "manifest.jsonl").read_text().splitlines()
    ]
    first = entries[0]
    assert first["organisation"] == "s-i-s" and first["solo_start"] == 0
    assert first["interaction_start"] == first["segments"][1]["start"]
    assert {s["kind"] for s in first["segments"]} == {"solo", "interaction"}
    assert all(s["source_id"] and s["caption"] for s in first["segments"])
    assert (tmp_path / "one" / "README.md").is_file()
    features, rows = a[0].features()
    assert features.shape == (2, 196, 267) and rows[0].all()


def test_refuses_and_cleans_up(tmp_path, tiny_data_root):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    with pytest.raises(InterSynError, match="not empty; pass --overwrite"):
        build_interleaved_dataset(
            tiny_data_root, tiny_data_root, out, InterleaveConfig(), count=2, progress=False
        )
    assert (out / "keep.txt").read_text() == "user data"
    with pytest.raises(InterSynError, match="not a directory"):
        build_interleaved_dataset(
            tmp_path / "missing",
            tiny_data_root,
            tmp_path / "x",
            InterleaveConfig(),
            count=2,
            progress=False,
        )
    with pytest.raises(InterSynError, match="at least 1 sample"):
        build_interleaved_dataset(
            tiny_data_root,
            tiny_data_root,
            tmp_path / "y",
            InterleaveConfig(),
            count=0,
            progress=False,
        )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_interleave(tmp_path, tiny_data_root, capsys):
    from intersyn.cli.main import main

    out = tmp_path / "il"
    args = [
        "dataset",
        "interleave",
        "--solo-root",
        str(tiny_data_root),
        "--pair-root",
        str(tiny_data_root),
        "--organisation",
        "i-s-i-s",
        "--count",
        "3",
        "--out",
        str(out),
        "--no-progress",
        "--workers",
        "1",
    ]
    assert main(args) == 0
    entry = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])
    assert entry["organisation"] == "i-s-i-s" and entry["timing"] == "ti0-random-ts"
    assert entry["interaction_start"] == 0 and entry["solo_start"] > 0
    # --crop start: every segment's window begins at its source clip's first frame
    assert main([*args[:-5], "--crop", "start", "--out", str(tmp_path / "c"), *args[-3:]]) == 0
    lines = (tmp_path / "c" / "manifest.jsonl").read_text().splitlines()
    windows = [seg["source_frames"] for line in lines for seg in json.loads(line)["segments"]]
    assert len(windows) == 12 and all(start == 0 for start, _ in windows)
    # --person-caption-share 1: each interaction caption ends with both people's own
    roles = [*args[:-5], "--person-caption-share", "1", "--out", str(tmp_path / "r"), *args[-3:]]
    assert main(roles) == 0
    lines = (tmp_path / "r" / "manifest.jsonl").read_text().splitlines()
    interactions = [
        seg
        for line in lines
        for seg in json.loads(line)["segments"]
        if seg["kind"] == "interaction"
    ]
    assert len(interactions) == 6
    for seg in interactions:
        assert seg["caption"].endswith(f"{seg['partner_caption'][1:]}.")
        assert seg["person_caption"][1:] in seg["caption"]
    capsys.readouterr()
    share = [*args[:-5], "--person-caption-share", "2", "--out", str(tmp_path / "s"), *args[-3:]]
    assert main(share) == 2
    assert "person_caption_share=2.0" in capsys.readouterr().err
    bad = [*args[:-5], "--organisation", "s-s", "--count", "3", "--out", str(tmp_path / "b")]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert "alternating" in err and err.count("\n") == 1
