"""`intersyn report`: results JSON → Markdown tables, normalised JSON and a PNG plot."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from PIL import Image

from intersyn.cli import main as cli_main
from intersyn.errors import InterSynError
from intersyn.evaluation.report import (
    format_pair,
    load_results,
    normalise_results,
    results_markdown,
    results_plot,
    write_report,
)


def _table1() -> dict:
    """A hand-written Table 1 results dict: Real, one trained model, one missing row."""
    return {
        "table": "table1",
        "title": "Two-person test set (paper Table 1 protocol)",
        "protocol": {
            "description": "InterGen protocol, batches of 96",
            "replications": 3,
            "seed": 0,
            "quick": False,
            "ddim_steps": 50,
            "guidance": 2.5,
        },
        "evaluators": {
            "two_person": {"name": "wordllama+interclip@abc123", "text_encoder": "wordllama-l2"}
        },
        "command": "intersyn evaluate --table 1 --replications 3",
        "created": "2026-11-24T21:00:00Z",
        "rows": [
            {
                "name": "Real",
                "status": "done",
                "note": "",
                "checkpoint": None,
                "checkpoint_sha256": None,
                "config": None,
                "seed": 0,
                "replications": 3,
                # keys deliberately out of display order
                "metrics": {
                    "fid": [0.1234, 0.0211],
                    "r_precision_top1": [0.30512, 0.01234],
                    "diversity": [7.7531, 0.0812],
                    "mm_dist": [3.75, 0.0024],
                },
                "quality": {"jerk": 120.0, "foot_skating": 0.0123},
            },
            {
                "name": "InterSyn (cpu)",
                "status": "done",
                "note": "",
                "checkpoint": "runs/cpu_default/ckpt.pt",
                "checkpoint_sha256": "0123456789abcdef" * 4,
                "config": {"preset": "cpu", "layers": 4},
                "seed": 7,
                "replications": 3,
                "metrics": {
                    "r_precision_top1": [0.21, 0.005],
                    "fid": [5.6789, 0.4321],
                    "diversity": [7.1, 0.2],
                    "zeta_custom": [1.0, 0.5],
                    "alpha_custom": [2.0, None],
                },
                "quality": {"jerk": 151.25, "foot_skating": 0.045, "penetration": 0.002},
            },
            {
                "name": "InterSyn (paper)",
                "status": "missing",
                "note": "train with: intersyn train --config paper",
                "checkpoint": None,
                "checkpoint_sha256": None,
                "config": None,
                "seed": 0,
                "replications": 3,
                "metrics": {},
                "quality": {},
            },
        ],
    }


def _table_line(markdown: str, name: str, after: str) -> str:
    """The Markdown table row of `name` in the section that starts with heading `after`."""
    section = markdown.split(after, 1)[1]
    return next(line for line in section.splitlines() if line.startswith(f"| {name} |"))


def test_markdown_metrics_table():
    markdown = results_markdown(_table1())
    assert markdown.startswith("# Table 1: Two-person test set (paper Table 1 protocol)\n")
    header = next(line for line in markdown.splitlines() if line.startswith("| Method | R-Prec"))
    # known keys in the paper's order with their markers, then the others alphabetically
    assert header == (
        "| Method | R-Precision top-1 ↑ | FID ↓ | MM Dist ↓ | Diversity → | alpha_custom "
        "| zeta_custom | Note |"
    )
    real = _table_line(markdown, "Real", "## Metrics")
    assert (
        real
        == "| Real | 0.305 ± 0.012 | 0.123 ± 0.021 | 3.750 ± 0.002 | 7.753 ± 0.081 | n/a | n/a |  |"
    )
    model = _table_line(markdown, "InterSyn (cpu)", "## Metrics")
    assert (
        "| 0.210 ± 0.005 | 5.679 ± 0.432 | n/a | 7.100 ± 0.200 | 2.000 | 1.000 ± 0.500 |" in model
    )
    missing = _table_line(markdown, "InterSyn (paper)", "## Metrics")
    assert missing == (
        "| InterSyn (paper) | — | — | — | — | — | — | "
        "missing: train with: intersyn train --config paper |"
    )
    assert "\n\n**Protocol:** InterGen protocol, batches of 96\n\n**Settings:**" in markdown
    assert "`quick=false`" in markdown and "`guidance=2.5`" in markdown
    assert "two-person: `wordllama+interclip@abc123` (text encoder: `wordllama-l2`)" in markdown
    assert "**Command:** `intersyn evaluate --table 1 --replications 3`" in markdown


def test_markdown_states_the_evaluators_held_out_r_precision():
    results = _table1()
    results["evaluators"]["two_person"]["held_out_r_precision"] = {
        "batch 96": [0.354, 0.604, 0.734],
        "batch 32": [0.632, 0.888, 0.953],
    }
    markdown = results_markdown(results)
    assert (
        "its R-precision top-1/2/3 on the real test clips: batch 96: 0.354 / 0.604 / 0.734; "
        "batch 32: 0.632 / 0.888 / 0.953"
    ) in markdown


def test_markdown_quality_and_details():
    markdown = results_markdown(_table1())
    quality = markdown.split("## Motion quality", 1)[1].split("## Rows", 1)[0]
    assert "| Method | Foot skating (m/s) | Penetration (m) | Jerk (m/s³) |" in quality
    assert "| Real | 0.012 | n/a | 120.000 |" in quality
    assert "| InterSyn (cpu) | 0.045 | 0.002 | 151.250 |" in quality
    assert "| InterSyn (paper) | — | — | — |" in quality
    details = markdown.split("## Rows", 1)[1]
    assert (
        "| InterSyn (cpu) | done | `runs/cpu_default/ckpt.pt` | `0123456789ab` | 7 | 3 | "
        '`{"layers":4,"preset":"cpu"}` |'
    ) in details
    assert "| Real | done | — | — | 0 | 3 | — |" in details


def test_segment_prefixes_give_one_table_per_segment():
    results = _table1()
    results["table"] = "table2"
    results["rows"] = results["rows"][:1]
    results["rows"][0]["metrics"] = {
        "combined/fid": [3.0, 0.3],
        "interaction/fid": [2.0, 0.2],
        "solo/r_precision_top3": [0.7, 0.01],
        "solo/fid": [1.0, 0.1],
    }
    markdown = results_markdown(results)
    headings = [line for line in markdown.splitlines() if line.startswith("## Metrics")]
    assert headings == ["## Metrics: solo", "## Metrics: interaction", "## Metrics: combined"]
    solo = markdown.split("## Metrics: solo", 1)[1].split("## Metrics: interaction", 1)[0]
    assert "| Method | R-Precision top-3 ↑ | FID ↓ | Note |" in solo
    assert "| Real | 0.700 ± 0.010 | 1.000 ± 0.100 |  |" in solo
    keys = list(normalise_results(results)["rows"][0]["metrics"])
    assert keys == ["solo/r_precision_top3", "solo/fid", "interaction/fid", "combined/fid"]


def test_format_pair_rounding():
    assert format_pair([0.30549, 0.01151]) == "0.305 ± 0.012"
    assert format_pair([12.0, None]) == "12.000"
    assert format_pair([None, 0.1]) == "n/a"


@pytest.mark.parametrize(
    "mutate,fragment",
    [
        (lambda r: r.pop("rows"), "missing key 'rows'"),
        (lambda r: r.update(rows={}), "key 'rows' must be a list"),
        (
            lambda r: r["rows"][1]["metrics"].update(fid=0.5),
            "key 'rows[1].metrics.fid' must be a [mean, ci] pair",
        ),
        (lambda r: r["rows"][0]["metrics"].update(fid=[1, 2, 3]), "key 'rows[0].metrics.fid'"),
        (lambda r: r["rows"][0]["metrics"].update(fid=["a", 0.1]), "key 'rows[0].metrics.fid'"),
        (
            lambda r: r["rows"][0]["quality"].update(jerk="fast"),
            "key 'rows[0].quality.jerk' must be a number",
        ),
        (lambda r: r["rows"][2].update(status="pending"), "key 'rows[2].status' is 'pending'"),
        (lambda r: r["rows"][0].pop("name"), "missing key 'rows[0].name'"),
        (lambda r: r["rows"][0].update(seed=True), "key 'rows[0].seed' must be an integer"),
        (lambda r: r.update(table="../x"), "key 'table' is '../x'"),
        (lambda r: r["evaluators"]["two_person"].pop("name"), "'evaluators.two_person.name'"),
        (
            lambda r: r["evaluators"]["two_person"].update(held_out_r_precision={"batch 32": "x"}),
            "'evaluators.two_person.held_out_r_precision.batch 32'",
        ),
    ],
)
def test_malformed_results_raise_one_line(tmp_path, mutate, fragment):
    results = _table1()
    mutate(results)
    path = tmp_path / "table1.results.json"
    path.write_text(json.dumps(results))
    with pytest.raises(InterSynError) as info:
        load_results(path)
    message = str(info.value)
    assert fragment in message and str(path) in message and "\n" not in message


def test_unreadable_files_raise(tmp_path):
    with pytest.raises(InterSynError, match="not found"):
        load_results(tmp_path / "nope.results.json")
    bad = tmp_path / "bad.results.json"
    bad.write_text("{not json")
    with pytest.raises(InterSynError, match="not valid JSON"):
        load_results(bad)


def test_normalised_copy_round_trips(tmp_path):
    results = _table1()
    results["rows"][0]["metrics"]["multimodality"] = [float("nan"), 0.1]
    results["extra"] = {"kept": True}
    normalised = normalise_results(results)
    assert normalised["rows"][0]["metrics"]["multimodality"] == [None, 0.1]
    assert list(normalised["rows"][0]["metrics"])[:2] == ["r_precision_top1", "fid"]
    assert normalised["extra"] == {"kept": True}
    assert normalise_results(copy.deepcopy(normalised)) == normalised
    assert results_markdown(normalised) == results_markdown(results)


def test_plot_is_a_png(tmp_path):
    path = results_plot(_table1(), tmp_path / "table1.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    # 6 metric panels in a 4-column grid of 2 bars each: wide and two panels high
    assert 600 <= width <= 3000 and 500 <= height <= 1500
    assert path.stat().st_size > 10_000
    # bars were drawn: Real in matplotlib's C0 blue, the cpu model in C1 orange
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(int)
    for colour in ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)):
        assert (np.abs(pixels - colour).sum(axis=1) < 8).sum() > 2000
    assert not list(tmp_path.glob(".*"))


def test_plot_without_finished_rows(tmp_path):
    results = _table1()
    results["rows"] = results["rows"][2:]
    with Image.open(results_plot(results, tmp_path / "empty.png")) as image:
        assert image.format == "PNG" and min(image.size) >= 200


def test_write_report_rejects_two_files_for_one_table(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.results.json").write_text(json.dumps(_table1()))
    with pytest.raises(InterSynError, match="both table 'table1'"):
        write_report([tmp_path / "a.results.json", tmp_path / "b.results.json"], tmp_path / "o")
    assert not (tmp_path / "o").exists()


@pytest.fixture
def cli(monkeypatch):
    """`intersyn.cli.main.main` with the report subcommand registered."""
    if "report" not in cli_main.SUBCOMMAND_MODULES:
        monkeypatch.setattr(
            cli_main, "SUBCOMMAND_MODULES", (*cli_main.SUBCOMMAND_MODULES, "report")
        )
    return cli_main.main


def test_cli_writes_three_files_per_table(tmp_path, cli, capsys):
    results_dir = tmp_path / "eval"
    results_dir.mkdir()
    first = _table1()
    second = _table1()
    second["table"] = "table3"
    (results_dir / "table1.results.json").write_text(json.dumps(first))
    (results_dir / "table3.results.json").write_text(json.dumps(second))
    (results_dir / "notes.json").write_text("{}")  # not a results file: ignored
    out = tmp_path / "report"
    assert cli(["report", str(results_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    expected = [out / f"{t}{ext}" for t in ("table1", "table3") for ext in (".md", ".json", ".png")]
    assert printed == [f"wrote {p}" for p in expected]
    assert sorted(out.iterdir()) == sorted(expected)
    assert (out / "table3.md").read_text().startswith("# Table 3: ")
    assert json.loads((out / "table1.json").read_text()) == normalise_results(first)
    assert load_results(out / "table1.json") == normalise_results(first)


def test_cli_errors_are_one_line(tmp_path, cli, capsys):
    assert cli(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and err.count("\n") == 1
    bad = tmp_path / "table1.results.json"
    bad.write_text(json.dumps({"table": "table1", "title": "t", "protocol": {}}))
    assert cli(["report", "--runs", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "missing key 'rows'" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
