"""Extract the WordNet relations InterSyn reads unseen words with into a small packaged table.

Run once, where Debian's `wordnet-base` is installed (`apt-get install wordnet-base`):
`python scripts/build_wordnet_table.py [--wordnet /usr/share/wordnet]`. Writes
`src/intersyn/assets/wordnet.json.gz`: for verbs and adverbs, each lemma's synsets in
WordNet's sense order, each synset's lemmas, direct hypernyms and lexicographer file (its
topic: 38 = verbs of motion), the irregular forms
(`strode` → `stride`), the verbs mostly used otherwise, and, over all four parts of speech,
each lemma's antonyms ("different" ↔ "same": word vectors put opposites close, so the reader
must never read a word as one), and the nouns that name parts of the body (whose look-alikes
word vectors would read them as: "elbows" → "bows"). Used by `intersyn.text.wordnet`;
WordNet's licence travels in the table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "src" / "intersyn" / "assets"
PARTS_OF_SPEECH = {"v": "verb", "r": "adv"}
ANTONYM_PARTS = ("noun", "verb", "adj", "adv")
LICENCE = (
    "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND "
    'DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR '
    "WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY "
    "MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT-ABILITY OR FITNESS FOR ANY PARTICULAR "
    "PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT "
    "INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name of "
    "Princeton University or Princeton may not be used in advertising or publicity pertaining "
    "to distribution of the software and/or database. Title to copyright in this software, "
    "database and any associated documentation shall at all times remain with Princeton "
    "University and LICENSEE agrees to preserve same."
)


def read_part(folder: Path, pos: str, name: str) -> dict:
    """One part of speech: lemma → synset keys (sense order), synset → lemmas / hypernyms."""
    lemmas: dict[str, list[str]] = {}
    for line in (folder / f"index.{name}").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):  # the licence header
            continue
        fields = line.split()
        pointers = int(fields[3])
        senses = int(fields[2])
        offsets = fields[6 + pointers : 6 + pointers + senses]
        lemmas[fields[0]] = [f"{pos}{o}" for o in offsets]
    synsets: dict[str, tuple[list[str], list[str], int]] = {}
    for line in (folder / f"data.{name}").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split(" | ")[0].split()
        count = int(fields[3], 16)
        words = [fields[4 + 2 * k].lower() for k in range(count)]
        at = 4 + 2 * count
        hypernyms = [
            f"{fields[at + 1 + 4 * k + 2]}{fields[at + 1 + 4 * k + 1]}"
            for k in range(int(fields[at]))
            if fields[at + 1 + 4 * k] in ("@", "@i")
        ]
        synsets[f"{pos}{fields[0]}"] = (words, hypernyms, int(fields[1]))
    exceptions = {}
    for line in (folder / f"{name}.exc").read_text(encoding="latin-1").splitlines():
        form, *bases = line.split()
        exceptions[form] = bases
    return {"lemmas": lemmas, "synsets": synsets, "exceptions": exceptions}


def antonyms(folder: Path) -> dict[str, list[str]]:
    """Lemma → its antonym lemmas, over nouns, verbs, adjectives and adverbs (WordNet's
    lexical "!" pointers: word `source` of one synset is the opposite of word `target` of
    another)."""
    pointers = []
    words: dict[str, list[str]] = {}
    for name in ANTONYM_PARTS:
        for line in (folder / f"data.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith(" "):
                continue
            fields = line.split(" | ")[0].split()
            count = int(fields[3], 16)
            # Adjectives may carry a syntactic marker: "galore(ip)".
            key = f"{name}{fields[0]}"
            words[key] = [fields[4 + 2 * k].lower().split("(")[0] for k in range(count)]
            at = 4 + 2 * count
            for k in range(int(fields[at])):
                symbol, offset, pos, ends = fields[at + 1 + 4 * k : at + 5 + 4 * k]
                if symbol == "!":
                    target = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}[pos]
                    pointers.append(
                        (key, int(ends[:2], 16), f"{target}{offset}", int(ends[2:], 16))
                    )
    found: dict[str, set[str]] = {}
    for key, source, target, other in pointers:
        one, two = words[key][source - 1], words[target][other - 1]
        if "_" not in one and "_" not in two and one != two:
            found.setdefault(one, set()).add(two)
            found.setdefault(two, set()).add(one)
    return {lemma: sorted(opposites) for lemma, opposites in sorted(found.items())}


BODY_TOPIC = 8  # WordNet's noun.body: parts of the body


def body_nouns(folder: Path, mostly_nouns: set[str]) -> dict:
    """Nouns whose most frequent sense is a part of the body ("palm", "elbow", "spine"; not
    "person", a body only in its third sense) and that are mostly nouns: no adjective or adverb
    ("small", "behind", "quick") and, if a verb too, tagged more often otherwise in WordNet's
    corpus (`mostly_nouns`: "elbow" yes, "come", "tiptoe" and "lash" no); with the irregular
    plurals among them ("feet")."""
    topics = {}
    for line in (folder / "data.noun").read_text(encoding="latin-1").splitlines():
        if not line.startswith(" "):
            fields = line.split(maxsplit=2)
            topics[fields[0]] = int(fields[1])
    others = {
        name: {line.split()[0] for line in (folder / f"index.{name}").read_text(
            encoding="latin-1").splitlines() if not line.startswith(" ")}
        for name in ("verb", "adj", "adv")
    }  # fmt: skip
    lemmas = []
    for line in (folder / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split()
        lemma, first = fields[0], fields[6 + int(fields[3])]
        if "_" in lemma or topics[first] != BODY_TOPIC:
            continue
        if lemma in others["adj"] or lemma in others["adv"]:
            continue
        if lemma in others["verb"] and lemma not in mostly_nouns:
            continue
        lemmas.append(lemma)
    body = set(lemmas)
    plurals = {}
    for line in (folder / "noun.exc").read_text(encoding="latin-1").splitlines():
        form, *bases = line.split()
        if any(b in body for b in bases):
            plurals[form] = bases
    return {"lemmas": sorted(lemmas), "plurals": plurals}


def mostly_other_uses(folder: Path) -> list[str]:
    """Verb lemmas tagged more often as nouns, adjectives or adverbs than as verbs in WordNet's
    sense-tagged corpus ("light", "ground", "beginning"): their other senses are likelier."""
    verb: dict[str, int] = {}
    other: dict[str, int] = {}
    for line in (folder / "cntlist.rev").read_text(encoding="latin-1").splitlines():
        key, _, count = line.split()
        lemma, rest = key.split("%", 1)
        counts = verb if rest[0] == "2" else other
        counts[lemma] = counts.get(lemma, 0) + int(count)
    return sorted(w for w in verb.keys() | other.keys() if other.get(w, 0) > verb.get(w, 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=ASSETS / "wordnet.json.gz")
    args = parser.parse_args()
    if not (args.wordnet / "index.verb").exists():
        raise SystemExit(f"--wordnet {args.wordnet}: no index.verb (apt-get install wordnet-base)")
    parts = {pos: read_part(args.wordnet, pos, name) for pos, name in PARTS_OF_SPEECH.items()}
    # Only synsets some lemma reaches within one hypernym step are kept.
    reached: set[str] = set()
    for part in parts.values():
        for keys in part["lemmas"].values():
            reached.update(keys)
    synsets = {}
    for part in parts.values():
        for key, (words, hypernyms, topic) in part["synsets"].items():
            if key in reached:
                synsets[key] = [words, hypernyms, topic]
                for h in hypernyms:
                    synsets.setdefault(h, None)
    for part in parts.values():  # hypernym synsets no lemma indexes directly
        for key, (words, _, topic) in part["synsets"].items():
            if key in synsets and synsets[key] is None:
                synsets[key] = [words, [], topic]
    table = {
        "source": "WordNet 3.0 (Princeton University), Debian wordnet-base",
        "licence": LICENCE,
        "lemmas": {pos: part["lemmas"] for pos, part in parts.items()},
        "exceptions": {pos: part["exceptions"] for pos, part in parts.items()},
        "synsets": synsets,
        "mostly_not_verbs": [
            w for w in mostly_other_uses(args.wordnet) if w in parts["v"]["lemmas"]
        ],
        "antonyms": antonyms(args.wordnet),
        "body_nouns": body_nouns(args.wordnet, set(mostly_other_uses(args.wordnet))),
    }
    data = gzip.compress(json.dumps(table, separators=(",", ":")).encode(), mtime=0)
    handle, temporary = tempfile.mkstemp(dir=args.out.parent, suffix=".tmp")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.replace(temporary, args.out)
    print(f"{args.out}: {len(data) / 1e6:.2f} MB, {len(synsets)} synsets")


if __name__ == "__main__":
    main()
