"""Benchmark results (`<table>.results.json`) → Markdown tables, a normalised JSON copy and a PNG plot.

Each metric in a results file is `[mean, 95% CI half-width]` over replications; quality values
are plain floats. `normalise_results` validates a results dict and returns it with defaults
filled in and keys in a stable order, so every renderer here works on the same shape.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from intersyn.errors import InterSynError
from intersyn.io import atomic_path, write_json, write_text

# Known metric keys in display order: (column label, better-direction marker).
# →: closer to the "Real" row is better (Diversity of generated vs. real motions).
METRICS: dict[str, tuple[str, str]] = {
    "r_precision_top1": ("R-Precision top-1", "↑"),
    "r_precision_top2": ("R-Precision top-2", "↑"),
    "r_precision_top3": ("R-Precision top-3", "↑"),
    "fid": ("FID", "↓"),
    "mm_dist": ("MM Dist", "↓"),
    "diversity": ("Diversity", "→"),
    "multimodality": ("MultiModality", "↑"),
}
# Known motion-quality keys in display order: (column label, unit).
QUALITY: dict[str, tuple[str, str]] = {
    "foot_skating": ("Foot skating", "m/s"),
    "penetration": ("Penetration", "m"),
    "jerk": ("Jerk", "m/s³"),
    "contact_distance": ("Contact distance", "m"),
    "interpenetration": ("Interpenetration", "m"),
}
# Table 2 prefixes metric keys with a segment ("solo/fid"); unprefixed keys form segment "".
SEGMENTS: tuple[str, ...] = ("", "solo", "interaction", "combined")
STATUSES: tuple[str, ...] = ("done", "missing")
EVALUATOR_ROLES: dict[str, str] = {"two_person": "two-person", "single_person": "single-person"}
# The table name becomes an output file name: keep it a plain token.
_TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_OUTPUTS: tuple[str, ...] = (".md", ".json", ".png")
_ROW_DEFAULTS: dict[str, Any] = {
    "note": "",
    "checkpoint": None,
    "checkpoint_sha256": None,
    "config": None,
    "seed": None,
    "replications": None,
    "metrics": {},
    "quality": {},
}


# --------------------------------------------------------------------------- loading


def load_results(path: str | Path) -> dict[str, Any]:
    """Read and validate one `<table>.results.json` file; returns the normalised results dict."""
    path = Path(path)
    if not path.is_file():
        raise InterSynError(f"results file {path}: not found; expected a <table>.results.json file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InterSynError(f"results file {path}: not valid JSON ({exc})") from None
    return normalise_results(data, source=f"results file {path}")


def normalise_results(data: Any, source: str = "results") -> dict[str, Any]:
    """Validate a results dict (schema of `benchmark.py`) and return a normalised copy.

    Raises a one-line `InterSynError` naming `source` and the offending key. Metric values
    become `[mean, ci]` floats (`None` where not finite), keys come in display order, optional
    keys get their defaults, unknown keys are kept after the known ones.
    """
    if not isinstance(data, dict):
        raise InterSynError(f"{source}: expected a JSON object, got {_kind(data)}")
    for key in ("table", "title", "protocol", "rows"):
        if key not in data:
            raise InterSynError(f"{source}: missing key '{key}'")
    table = _expect(data["table"], str, source, "table")
    if not _TABLE_NAME.match(table):
        raise InterSynError(
            f"{source}: key 'table' is {table!r}; expected a name like 'table1' "
            "(letters, digits, '_', '-', '.')"
        )
    out: dict[str, Any] = {
        "table": table,
        "title": _expect(data["title"], str, source, "title"),
        "protocol": dict(_expect(data["protocol"], dict, source, "protocol")),
        "evaluators": _evaluators(data.get("evaluators", {}), source),
        "command": _optional(data.get("command"), str, source, "command"),
        "created": _optional(data.get("created"), str, source, "created"),
    }
    rows = _expect(data["rows"], list, source, "rows")
    out["rows"] = [_row(row, source, f"rows[{i}]") for i, row in enumerate(rows)]
    out.update({k: v for k, v in data.items() if k not in out})
    return out


def _row(row: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise InterSynError(f"{source}: key '{where}' must be an object, got {_kind(row)}")
    for key in ("name", "status"):
        if key not in row:
            raise InterSynError(f"{source}: missing key '{where}.{key}'")
    status = _expect(row["status"], str, source, f"{where}.status")
    if status not in STATUSES:
        raise InterSynError(
            f"{source}: key '{where}.status' is {status!r}; expected one of {', '.join(STATUSES)}"
        )
    merged = {**_ROW_DEFAULTS, **row}
    metrics = _expect(merged["metrics"], dict, source, f"{where}.metrics")
    quality = _expect(merged["quality"], dict, source, f"{where}.quality")
    out = {
        "name": _expect(row["name"], str, source, f"{where}.name"),
        "status": status,
        "note": _expect(merged["note"], str, source, f"{where}.note"),
        "checkpoint": _optional(merged["checkpoint"], str, source, f"{where}.checkpoint"),
        "checkpoint_sha256": _optional(
            merged["checkpoint_sha256"], str, source, f"{where}.checkpoint_sha256"
        ),
        "config": _optional(merged["config"], dict, source, f"{where}.config"),
        "seed": _optional_int(merged["seed"], source, f"{where}.seed"),
        "replications": _optional_int(merged["replications"], source, f"{where}.replications"),
        "metrics": {
            key: _pair(metrics[key], source, f"{where}.metrics.{key}")
            for key in sorted(metrics, key=_metric_sort_key)
        },
        "quality": {
            key: _number(quality[key], source, f"{where}.quality.{key}")
            for key in sorted(quality, key=_quality_sort_key)
        },
    }
    out.update({k: v for k, v in row.items() if k not in out})
    return out


def _evaluators(value: Any, source: str) -> dict[str, dict[str, Any]]:
    value = _expect(value, dict, source, "evaluators")
    out = {}
    for role, info in value.items():
        info = _expect(info, dict, source, f"evaluators.{role}")
        if "name" not in info:
            raise InterSynError(f"{source}: missing key 'evaluators.{role}.name'")
        _expect(info["name"], str, source, f"evaluators.{role}.name")
        _optional(info.get("text_encoder"), str, source, f"evaluators.{role}.text_encoder")
        held_out = _optional(
            info.get("held_out_r_precision"),
            dict,
            source,
            f"evaluators.{role}.held_out_r_precision",
        )
        for batch, values in (held_out or {}).items():
            key = f"evaluators.{role}.held_out_r_precision.{batch}"
            for k, value in enumerate(_expect(values, list, source, key)):
                _number(value, source, f"{key}[{k}]")
        out[role] = dict(info)
    return out


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _expect(value: Any, kind: type, source: str, key: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InterSynError(
            f"{source}: key '{key}' must be {_KIND_NAMES[kind]}, got {_kind(value)} {value!r:.60}"
        )
    return value


_KIND_NAMES = {str: "a string", dict: "an object", list: "a list", int: "an integer"}


def _optional(value: Any, kind: type, source: str, key: str) -> Any:
    return None if value is None else _expect(value, kind, source, key)


def _optional_int(value: Any, source: str, key: str) -> int | None:
    return _optional(value, int, source, key)


def _number(value: Any, source: str, key: str) -> float | None:
    """A float, or None for null / NaN / inf (JSON has no NaN; a failed replication gives one)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InterSynError(
            f"{source}: key '{key}' must be a number, got {_kind(value)} {value!r:.60}"
        )
    return float(value) if math.isfinite(value) else None


def _pair(value: Any, source: str, key: str) -> list[float | None]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InterSynError(
            f"{source}: key '{key}' must be a [mean, ci] pair of numbers, got {value!r:.60}"
        )
    try:
        return [_number(v, source, key) for v in value]
    except InterSynError:
        raise InterSynError(
            f"{source}: key '{key}' must be a [mean, ci] pair of numbers, got {value!r:.60}"
        ) from None


def _split(key: str) -> tuple[str, str]:
    """'solo/fid' → ('solo', 'fid'); 'fid' → ('', 'fid')."""
    segment, _, metric = key.rpartition("/")
    return segment, metric


def _rank(value: str, known: Sequence[str]) -> tuple[int, str]:
    return (known.index(value), "") if value in known else (len(known), value)


def _metric_sort_key(key: str) -> tuple:
    segment, metric = _split(key)
    return (*_rank(segment, SEGMENTS), *_rank(metric, tuple(METRICS)))


def _quality_sort_key(key: str) -> tuple:
    return _rank(key, tuple(QUALITY))


# --------------------------------------------------------------------------- Markdown


def format_value(value: float | None) -> str:
    """A number with 3 decimals (`0.305`), or `n/a` where it is not available."""
    return "n/a" if value is None else f"{value:.3f}"


def format_pair(pair: Sequence[float | None]) -> str:
    """`[mean, ci]` → `0.305 ± 0.012` (the CI left out where it is not available)."""
    mean, ci = pair
    if mean is None or ci is None:
        return format_value(mean)
    return f"{mean:.3f} ± {ci:.3f}"


def metric_label(key: str) -> str:
    """Column label of a metric key with its better-direction marker: `FID ↓`, `solo/FID ↓`."""
    segment, metric = _split(key)
    label = f"{METRICS[metric][0]} {METRICS[metric][1]}" if metric in METRICS else metric
    return f"{segment}/{label}" if segment else label


def quality_label(key: str) -> str:
    """Column label of a quality key with its unit: `Jerk (m/s³)`."""
    return f"{QUALITY[key][0]} ({QUALITY[key][1]})" if key in QUALITY else key


def _heading(table: str) -> str:
    """'table1' → 'Table 1'; other names unchanged."""
    match = re.fullmatch(r"table(\d+)", table)
    return f"Table {match.group(1)}" if match else table


def _cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _ordered_keys(rows: Sequence[dict[str, Any]], field: str, sort_key) -> list[str]:
    keys = {key for row in rows if row["status"] == "done" for key in row[field]}
    return sorted(keys, key=sort_key)


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _protocol_lines(protocol: dict[str, Any]) -> list[str]:
    lines = []
    if protocol.get("description"):
        lines += [f"**Protocol:** {protocol['description']}", ""]
    settings = [
        f"{key}={value if isinstance(value, str) else _compact(value)}"
        for key, value in protocol.items()
        if key != "description"
    ]
    if settings:
        lines.append("**Settings:** " + ", ".join(f"`{s}`" for s in settings))
    return lines


def _evaluator_lines(evaluators: dict[str, dict[str, Any]]) -> list[str]:
    if not evaluators:
        return ["**Evaluators:** none recorded"]
    lines = ["**Evaluators:**", ""]
    for role, info in evaluators.items():
        encoder = info.get("text_encoder") or "not recorded"
        line = f"- {EVALUATOR_ROLES.get(role, role)}: `{info['name']}` (text encoder: `{encoder}`)"
        held_out = info.get("held_out_r_precision") or {}
        if held_out:
            figures = "; ".join(
                f"{batch}: " + " / ".join(f"{v:.3f}" for v in values)
                for batch, values in held_out.items()
            )
            line += f"; its R-precision top-1/2/3 on the real test clips: {figures}"
        lines.append(line)
    return lines


def results_markdown(results: dict[str, Any]) -> str:
    """The Markdown report of one results dict: header, metrics, motion quality, row details."""
    results = normalise_results(results)
    rows = results["rows"]
    lines = [f"# {_heading(results['table'])}: {results['title']}", ""]
    lines += _protocol_lines(results["protocol"]) + [""]
    lines += _evaluator_lines(results["evaluators"]) + [""]
    lines.append(f"**Command:** `{results['command']}`" if results["command"] else "**Command:** —")
    lines.append("")
    if results["created"]:
        lines += [f"**Created:** {results['created']}", ""]

    metric_keys = _ordered_keys(rows, "metrics", _metric_sort_key)
    segments = list(dict.fromkeys(_split(key)[0] for key in metric_keys)) or [""]
    for segment in segments:
        keys = [key for key in metric_keys if _split(key)[0] == segment]
        lines.append(f"## Metrics: {segment}" if segment else "## Metrics")
        lines.append("")
        body = []
        for row in rows:
            if row["status"] == "missing":
                cells = ["—"] * len(keys)
            else:
                cells = [
                    format_pair(row["metrics"][k]) if k in row["metrics"] else "n/a" for k in keys
                ]
            note = row["note"].strip()
            if row["status"] == "missing":
                note = f"missing: {note}" if note else "missing"
            body.append([row["name"], *cells, note])
        header = ["Method", *(metric_label(k).removeprefix(f"{segment}/") for k in keys), "Note"]
        lines += _table(header, body) + [""]
    lines.append(
        "Mean ± 95% confidence half-width over replications. ↑ higher is better, ↓ lower is "
        "better, → closer to Real is better; — not trained yet; n/a not available."
    )
    lines.append("")

    quality_keys = _ordered_keys(rows, "quality", _quality_sort_key)
    lines += ["## Motion quality", ""]
    if quality_keys:
        body = [
            [
                row["name"],
                *(
                    "—"
                    if row["status"] == "missing"
                    else format_value(row["quality"].get(k))
                    if k in row["quality"]
                    else "n/a"
                    for k in quality_keys
                ),
            ]
            for row in rows
        ]
        lines += _table(["Method", *(quality_label(k) for k in quality_keys)], body)
    else:
        lines.append("No motion-quality values recorded.")
    lines.append("")

    lines += ["## Rows", ""]
    body = [
        [
            row["name"],
            row["status"],
            f"`{row['checkpoint']}`" if row["checkpoint"] else "—",
            f"`{row['checkpoint_sha256'][:12]}`" if row["checkpoint_sha256"] else "—",
            "—" if row["seed"] is None else str(row["seed"]),
            "—" if row["replications"] is None else str(row["replications"]),
            f"`{_compact(row['config'])}`" if row["config"] else "—",
        ]
        for row in rows
    ]
    header = ["Method", "Status", "Checkpoint", "SHA-256", "Seed", "Replications", "Config"]
    lines += _table(header, body) + [""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- plot


def results_plot(results: dict[str, Any], path: str | Path) -> Path:
    """Write a PNG: one bar chart per metric, one bar per finished row with its 95% CI."""
    from matplotlib.figure import Figure  # Agg canvas; no pyplot global state

    results = normalise_results(results)
    done = [row for row in results["rows"] if row["status"] == "done"]
    keys = _ordered_keys(done, "metrics", _metric_sort_key)
    names = [row["name"] for row in done]
    columns = min(4, max(1, len(keys)))
    grid_rows = max(1, math.ceil(len(keys) / columns))
    width = max(3.2, 0.55 * len(names) + 1.6)
    figure = Figure(figsize=(columns * width, grid_rows * 3.4 + 0.6), dpi=100)
    figure.suptitle(f"{_heading(results['table'])}: {results['title']}", fontsize=11)
    if not keys:
        axis = figure.add_subplot(1, 1, 1)
        axis.axis("off")
        axis.text(0.5, 0.5, "no finished rows with metrics", ha="center", va="center")
    for index, key in enumerate(keys):
        _plot_metric(figure.add_subplot(grid_rows, columns, index + 1), key, done)
    figure.tight_layout(rect=(0, 0, 1, 0.96))
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, format="png")
    return path


def _plot_metric(axis: Any, key: str, done: Sequence[dict[str, Any]]) -> None:
    """One bar per finished row at a fixed slot (same colour in every panel), CI as error bar."""
    nan = float("nan")
    pairs = [row["metrics"].get(key, (None, None)) for row in done]
    means = [nan if mean is None else mean for mean, _ in pairs]
    cis = [nan if ci is None else ci for _, ci in pairs]
    positions = list(range(len(done)))
    colours = [f"C{i % 10}" for i in positions]
    axis.bar(positions, means, yerr=cis, capsize=4, color=colours, ecolor="black")
    for x, mean in zip(positions, means, strict=True):
        if math.isnan(mean):  # no value for this row: say so instead of an empty slot
            axis.text(x, 0, "n/a", ha="center", va="bottom", fontsize=8, color="grey")
    axis.set_xticks(positions, [row["name"] for row in done], rotation=30, ha="right", fontsize=8)
    axis.set_xlim(-0.6, len(done) - 0.4)  # keep empty slots: NaN bars do not autoscale
    axis.set_title(metric_label(key), fontsize=9)
    axis.tick_params(axis="y", labelsize=8)
    axis.grid(axis="y", alpha=0.3)
    metric = _split(key)[1]
    real = [m for m, row in zip(means, done, strict=True) if row["name"] == "Real"]
    if metric in METRICS and METRICS[metric][1] == "→" and real and not math.isnan(real[0]):
        axis.axhline(real[0], color="grey", linestyle="--", linewidth=1)  # the value to match


# --------------------------------------------------------------------------- files


def write_report(results_paths: Sequence[str | Path], out_dir: str | Path) -> list[Path]:
    """For each results file write `out_dir/<table>.md`, `.json` (normalised) and `.png`."""
    out_dir = Path(out_dir)
    loaded = [(Path(p), load_results(p)) for p in results_paths]
    seen: dict[str, Path] = {}
    for path, results in loaded:
        if results["table"] in seen:
            raise InterSynError(
                f"results files {seen[results['table']]} and {path} are both table "
                f"'{results['table']}'; expected one file per table"
            )
        seen[results["table"]] = path
    written: list[Path] = []
    for _, results in loaded:
        markdown, normalised, plot = (out_dir / f"{results['table']}{ext}" for ext in _OUTPUTS)
        write_text(markdown, results_markdown(results))
        write_json(normalised, results)
        results_plot(results, plot)
        written += [markdown, normalised, plot]
    return written
