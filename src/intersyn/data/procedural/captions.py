"""Caption templates with synonyms: several paraphrases per clip that name the drawn parameters.

Template syntax: `[a|b|c]` picks one alternative at random (nesting allowed), `{name}` fills a
slot from the clip's words (hand, direction, count, ...). `compose` draws distinct templates.
"""

from __future__ import annotations

import re

import numpy as np

SUBJECTS = ("a person", "someone", "the person", "a man", "a woman")
COUNT_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
}
TIMES_WORDS = {
    1: "once",
    2: "twice",
    3: "three times",
    4: "four times",
    5: "five times",
    6: "six times",
    7: "seven times",
    8: "eight times",
}

_CHOICE = re.compile(r"\[([^\[\]]*)\]")


def expand(template: str, rng: np.random.Generator, words: dict[str, str]) -> str:
    """Fill `{slots}` from `words`, then resolve `[a|b]` choices innermost first."""
    text = template.format(**words)
    while True:
        match = _CHOICE.search(text)
        if match is None:
            break
        options = match.group(1).split("|")
        text = (
            text[: match.start()] + options[int(rng.integers(len(options)))] + text[match.end() :]
        )
    text = " ".join(text.split())
    return re.sub(r" ([,.])", r"\1", text)


def expansion_distribution(template: str, words: dict[str, str]) -> dict[str, float]:
    """Every text `expand(template, rng, words)` can return, with its probability."""
    out: dict[str, float] = {}
    pending = [(template.format(**words), 1.0)]
    while pending:
        text, p = pending.pop()
        match = _CHOICE.search(text)
        if match is None:
            text = re.sub(r" ([,.])", r"\1", " ".join(text.split()))
            out[text] = out.get(text, 0.0) + p
            continue
        options = match.group(1).split("|")
        for option in options:
            pending.append((text[: match.start()] + option + text[match.end() :], p / len(options)))
    return out


def compose(
    rng: np.random.Generator, templates: list[str], words: dict[str, str], count: int = 3
) -> tuple[str, ...]:
    """`count` distinct captions from distinct templates (in random order)."""
    order = rng.permutation(len(templates))
    out: list[str] = []
    for i in order:
        for _ in range(4):
            subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
            text = expand(templates[i], rng, {"who": subject, **words})
            if text not in out:
                out.append(text)
                break
        if len(out) == count:
            break
    return tuple(out)


def compose_pair(
    rng: np.random.Generator,
    templates: list[tuple[str, str, str]],
    words: dict[str, str],
    count: int = 3,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Line-aligned pair captions and per-person captions from (pair, first, second) templates."""
    order = rng.permutation(len(templates))[:count]
    pair, first, second = [], [], []
    for i in order:
        subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
        filled = {"who": subject, **words}
        pair.append(expand(templates[i][0], rng, filled))
        first.append(expand(templates[i][1], rng, filled))
        second.append(expand(templates[i][2], rng, filled))
    return tuple(pair), tuple(first), tuple(second)


def times(n: int) -> str:
    """'once', 'twice', 'three times', ..."""
    return TIMES_WORDS.get(n, f"{n} times")


def count_word(n: int) -> str:
    """'one', 'two', ..."""
    return COUNT_WORDS.get(n, str(n))
