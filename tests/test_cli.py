"""The console script: help, the convert subcommand, one-line errors with exit code 2."""

import subprocess
import sys

import numpy as np
import pytest

from intersyn.cli.main import main


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "intersyn", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "convert" in result.stdout


def test_output_into_a_closed_pipe_ends_quietly():
    """`intersyn ... | head -1`: the reader goes away; no BrokenPipeError traceback."""
    child = """
import argparse, sys
import intersyn.cli.main as cli

def build_parser():
    parser = argparse.ArgumentParser()
    command = parser.add_subparsers(dest="command").add_parser("chatty")
    command.set_defaults(func=lambda args: [print("x" * 80) for _ in range(200_000)])
    return parser

cli.build_parser = build_parser
sys.exit(cli.main(["chatty"]))
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.readline()  # the first line arrives, then the reader closes the pipe
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_convert_round_trip(tmp_path, real_joints):
    joints_path = tmp_path / "joints.npy"
    np.save(joints_path, real_joints)
    features_path = tmp_path / "features.npy"
    assert main(["convert", "joints-to-features", str(joints_path), str(features_path)]) == 0
    features = np.load(features_path)
    assert features.shape == (169, 263) and features.dtype == np.float32
    back_path = tmp_path / "back.npy"
    assert main(["convert", "features-to-joints", str(features_path), str(back_path)]) == 0
    assert np.load(back_path).shape == (169, 22, 3)
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_convert_refuses_to_overwrite(tmp_path, real_joints, capsys):
    joints_path = tmp_path / "joints.npy"
    np.save(joints_path, real_joints)
    out = tmp_path / "out.npy"
    out.write_bytes(b"user data")
    assert main(["convert", "joints-to-features", str(joints_path), str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists; pass --overwrite" in err and err.count("\n") == 1
    assert out.read_bytes() == b"user data"
    assert main(["convert", "joints-to-features", str(joints_path), str(out), "--overwrite"]) == 0


@pytest.mark.parametrize(
    "content,fragment",
    [
        (np.zeros((10, 21, 3)), "expected shape (..., T, 22, 3)"),
        (np.full((5, 22, 3), np.nan), "NaN"),
        (None, "file not found"),
        (b"not an npy file", "not a readable .npy array"),
    ],
)
def test_convert_bad_input_is_one_line(tmp_path, capsys, content, fragment):
    path = tmp_path / "in.npy"
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    code = main(["convert", "joints-to-features", str(path), str(tmp_path / "o.npy")])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o.npy").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["train", "--config", "tiny", "--data-root", "d", "--out", "o"],
        ["evaluator", "train", "--data-root", "d", "--out", "o"],
        ["text-encoder", "train", "--data-root", "d", "--out", "o"],
        ["evaluate", "--table", "1", "--data-root", "d", "--evaluator-2p", "e", "--out", "o"],
    ],
)
@pytest.mark.parametrize("seed", ["1180591620717411303424", "4294967296", "-1", "x"])
def test_a_seed_torch_cannot_take_is_one_line(tmp_path, capsys, command, seed):
    """Until session 45 a seed beyond 2^63 failed inside torch ("Overflow when unpacking long
    long") after the data had loaded."""
    with pytest.raises(SystemExit) as exited:
        main([*command, "--seed", seed])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "Traceback" not in err
    assert f"argument --seed: '{seed}': expected an integer from 0 to 2^32 - 1" in err


def test_a_system_error_is_one_line(monkeypatch, capsys):
    """A full disk or an unwritable folder (any OSError) ends in the system's own words on one
    line, exit code 2 (until session 45 only missing-file and permission errors did)."""
    import errno

    import intersyn.cli.convert as convert

    def full_disk(args):
        raise OSError(errno.ENOSPC, "No space left on device", "out.npy")

    monkeypatch.setattr(convert, "run", full_disk)
    assert main(["convert", "joints-to-features", "in.npy", "out.npy"]) == 2
    err = capsys.readouterr().err
    assert err == "intersyn convert: error: [Errno 28] No space left on device: 'out.npy'\n"
