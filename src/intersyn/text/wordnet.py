"""WordNet's verb and adverb relations, for reading an unseen word as a training word.

Subword embeddings place "trots" near "trousers" and far from "jogs"; WordNet (Princeton's
lexical database; `scripts/build_wordnet_table.py` packages its verbs and adverbs) lists "trot"
and "jog" as one sense, and "walk" as what "stroll", "pace" and "shuffle" are kinds of. For an
unseen word this module walks its senses in WordNet's order (most frequent first) and returns,
from the first sense that has any, the training words that share the sense or name its direct
hypernym, each in the unseen word's inflection where the vocabulary has it; where none does, a
kind of moving that WordNet names with its hypernym's verb and a direction, as that phrase
("retreats" → "moves back"). The other way round, `WordNetReader.alternatives` lists words a
caption's verb could have been (for training a text encoder on wordings its captions lack).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from intersyn.errors import InterSynError

# Regular verb endings (WordNet's own "morphy" rules): inflected ending → lemma ending.
VERB_RULES = (
    ("s", ""),
    ("ies", "y"),
    ("es", "e"),
    ("es", ""),
    ("ed", "e"),
    ("ed", ""),
    ("ing", "e"),
    ("ing", ""),
)
# Noun and adjective endings (the rest of morphy's rules), for finding any word's antonyms.
OTHER_RULES = (
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("er", ""),
    ("est", ""),
    ("er", "e"),
    ("est", "e"),
)
# Plural noun endings (the rest of morphy's noun rules), for telling a body part's plural.
NOUN_RULES = (("s", ""), ("ies", "y"), *OTHER_RULES[:6])
PARTS_OF_SPEECH = ("v", "r")  # verbs first: motion lives in them
# WordNet's verb topics (lexicographer files) that describe what a body does: body (29),
# communication (32: wave, applaud, greet), competition (33: dodge), contact (35: push, hug),
# motion (38) and possession (40: hand over). Senses of other topics ("relax" = change state,
# whose hypernym is the other "turn") are not readings of a motion word.
MOTION_TOPICS = frozenset({29, 32, 33, 35, 38, 40})
# A phrasal-verb reading ("retreats" → "moves back") is a kind of moving named with its
# hypernym's verb and a direction: senses of the motion (38) or body (29) topic only.
PHRASE_TOPICS = frozenset({29, 38})
_DIRECTIONS = """back away ahead around forward forwards backward backwards up down apart aside
    sideways"""
DIRECTIONS = frozenset(_DIRECTIONS.split())
# Only a word's most frequent senses are read: further down, a word with twenty senses ("drop",
# "strike") always reaches some training word, seldom the meant one.
MAX_SENSES = 3
# A verb spelled like an irregular form of another ("fell", "saw", "found") is read as that
# form when the other verb has this many times its senses (WordNet's proxy for how often).
SENSE_RATIO = 4


@lru_cache(maxsize=1)
def load_table() -> dict:
    """The packaged WordNet table (`intersyn/assets/wordnet.json.gz`)."""
    path = resources.files("intersyn") / "assets" / "wordnet.json.gz"
    try:
        return json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, ValueError) as error:
        raise InterSynError(f"{path}: unreadable WordNet table ({error})") from None


def _doubles_final_consonant(lemma: str) -> bool:
    """Whether `lemma` doubles its last letter before -ing / -ed ("jog" → "jogging"): one
    syllable ending consonant-vowel-consonant, the last not w, x or y."""
    vowels = "aeiou"
    syllables = sum(1 for a, b in zip(" " + lemma, lemma) if b in vowels and a not in vowels)
    return (
        syllables == 1
        and len(lemma) >= 3
        and lemma[-1] not in vowels + "wxy"
        and lemma[-2] in vowels
        and lemma[-3] not in vowels
    )


def inflect(lemma: str, form: str, irregular: dict[str, list[str]] | None = None) -> str:
    """`lemma` in `form` ("base", "s", "ing", "ed") by English spelling rules; `irregular`
    (WordNet's verb exceptions, inflected form → lemmas) gives past forms such as "strode"."""
    vowels = "aeiou"
    if form == "base":
        return lemma
    if form == "s":
        if lemma.endswith(("s", "sh", "ch", "x", "z")):
            return lemma + "es"
        if lemma.endswith("y") and lemma[-2:-1] not in tuple(vowels):
            return lemma[:-1] + "ies"
        return lemma + "s"
    if form == "ed" and irregular:
        past = sorted(f for f, bases in irregular.items() if lemma in bases and f != lemma)
        if past:
            return past[0]
    if _doubles_final_consonant(lemma):
        lemma += lemma[-1]
    elif lemma.endswith("e") and not lemma.endswith(("ee", "ye", "oe")):
        lemma = lemma[:-1]
    elif form == "ed" and lemma.endswith("y") and lemma[-2:-1] not in tuple(vowels):
        lemma = lemma[:-1] + "i"
    return lemma + ("ing" if form == "ing" else "ed")


def inflection(word: str, lemma: str) -> str:
    """Which form of `lemma` `word` is: "base", "s", "ed" or "ing"."""
    if word == lemma:
        return "base"
    if word.endswith("ing"):
        return "ing"
    if word.endswith("s") and not word.endswith("ss"):
        return "s"
    return "ed"


class WordNetReader:
    """Finds, for unseen words, the words of a vocabulary that WordNet relates to them."""

    def __init__(
        self, vocabulary: Sequence[str], table: dict | None = None, skip: Sequence[str] = ()
    ) -> None:
        self.table = load_table() if table is None else table
        self._nominal = set(self.table["mostly_not_verbs"])
        self._body = BodyNouns.of(self.table)
        self._hyponym_index: dict[str, list[str]] | None = None  # built on first use
        # lemma → {inflection: vocabulary word}, over the vocabulary's verbs and adverbs; words
        # in `skip` (function words: "is" is a form of "be") are never a reading
        self._forms: dict[str, dict[str, str]] = {}
        self._words = frozenset(w.lower() for w in vocabulary)  # a phrase's particles: any
        for word in sorted(self._words - set(skip)):
            for _, lemma in self.lemmas(word):
                if not is_adverb_spelled_like(word, lemma, self.table):
                    self._forms.setdefault(lemma, {}).setdefault(inflection(word, lemma), word)

    def _form(self, lemma: str, form: str, own: bool = False) -> str | None:
        """The vocabulary's `form` of `lemma`, else another inflected form of it. A related
        lemma the vocabulary has only in its base form may be a noun there ("at a steady
        pace"), so it reads only a base form; the word's `own` lemma reads in any form ("they
        clasp hands" for "clasping")."""
        forms = self._forms.get(lemma, {})
        if form in forms:
            return forms[form]
        other = [w for f, w in forms.items() if own or f != "base"]
        return other[0] if other else None

    def lemmas(self, word: str) -> list[tuple[str, str]]:
        """(part of speech, lemma) pairs WordNet knows `word` as, verbs first."""
        found: list[tuple[str, str]] = []
        for pos in PARTS_OF_SPEECH:
            known = self.table["lemmas"][pos]
            irregular = self.table["exceptions"][pos].get(word, [])
            candidates = [word, *irregular]
            if pos == "v":
                candidates += strip_endings(word, VERB_RULES)
                if _mostly_a_form_of(word, irregular, known):
                    candidates.remove(word)
            found += [(pos, c) for c in dict.fromkeys(candidates) if c in known]
        return found

    def _motion_senses(
        self, word: str, parts: Sequence[str] = PARTS_OF_SPEECH, as_verb: bool = False
    ) -> Iterator[tuple[str, str, list[str]]]:
        """For each lemma WordNet knows `word` as: the lemma, `word`'s inflection of it, and its
        body-motion senses among the `MAX_SENSES` most frequent (the senses `related` and
        `alternatives` both read). A verb mostly used otherwise ("light", "pace") counts only
        `as_verb` (where the sentence puts a verb) or in its -ing / -ed forms; so does a word
        that names a part of the body ("the elbows", "the calves": not "shoves", "has")."""
        body = not as_verb and word in self._body
        for pos, lemma in self.lemmas(word):
            form = inflection(word, lemma)
            mostly_noun = lemma in self._nominal or body  # "elbows", "calves", "spines"
            if pos not in parts or (
                pos == "v" and mostly_noun and not as_verb and form in ("base", "s")
            ):
                continue
            keys = self.table["lemmas"][pos][lemma][:MAX_SENSES]
            yield lemma, form, [k for k in keys if self._about_motion(k)]

    def related(self, word: str, as_verb: bool = False) -> list[str]:
        """Vocabulary words WordNet relates to `word`: another form of its own lemma, else, from
        the first of its `MAX_SENSES` most frequent body-motion senses that has any, the sense's
        lemmas, then those of its hypernyms of the same kind. Empty when none is related.

        `as_verb`: the word stands where a verb does ("a guy paces"), so a verb WordNet's corpus
        mostly uses as a noun is read as a verb ("walks"), and its own lemma only in a verb
        form the vocabulary has ("pace" alone is the noun of "at a steady pace"). Elsewhere
        such a word reads only as another form of itself ("a few paces" → "pace")."""
        return next(iter(self.readings(word, as_verb)), [])

    def readings(self, word: str, as_verb: bool = False) -> list[list[str]]:
        """Every group of vocabulary words `related` could return, in the order it looks, without
        repeats: another form of the word's own lemma (the only group when found first), else
        per body-motion sense, most frequent first, its lemmas, then its hypernyms' ("trails":
        ["drags"] from "lag behind", then ["follows"] from "chase"). Which one a sentence means
        is the reader's choice (`intersyn.text.vocabulary`); the first is WordNet's most
        frequent. Where none is found and `as_verb`, one group of phrases ("retreats" →
        [["moves back"]], `_phrases`)."""
        synsets = self.table["synsets"]
        groups: list[list[str]] = []
        for lemma, form, keys in self._motion_senses(word, as_verb=as_verb):
            if own := self._form(lemma, form, own=not as_verb):
                if not groups:
                    return [[own]]
                groups.append([own])
                continue
            for key in keys:
                names, hypernyms, _ = synsets[key]
                # A root ("move", "be", "change") says nothing about how: not a reading.
                general = [
                    name
                    for h in hypernyms
                    if synsets[h][1] and self._about_motion(h)
                    for name in synsets[h][0]
                ]
                for group in (names, general):
                    found = list(
                        dict.fromkeys(w for name in group if (w := self._form(name, form)))
                    )
                    if found and found not in groups:
                        groups.append(found)
        if groups:
            return groups
        for _, lemma in self.lemmas(word):
            if lemma in self._nominal and (own := self._form(lemma, inflection(word, lemma), True)):
                return [[own]]
        return self._phrases(word) if as_verb else []

    def _phrases(self, word: str) -> list[list[str]]:
        """Where no single word reads verb `word`: "go / move / … + direction", when a
        body-motion sense of `word` is a kind of moving (WordNet's motion or body topic) and
        names itself so with its hypernym's verb ("retreats": "withdraw, retreat, pull back,
        move back, …", a kind of "travel, go, move" → ["moves back"]; "ascends" → ["goes
        up"]), in `word`'s inflection, from the first sense that has one, unless a more
        frequent body-motion sense is not about moving ("proceeds" is first "continues
        talking": "proceeds to sit down" must not go forward). Other phrasal verbs
        are idioms, not their parts ("pass out" is to faint, "turn down" to refuse), so they
        are never readings. The reader takes such a phrase only where the sentence's verb
        stands and no word vector reads the word (`intersyn.text.vocabulary`)."""
        synsets = self.table["synsets"]
        for _, form, keys in self._motion_senses(word, ("v",), as_verb=True):
            for key in keys:
                names, hypernyms, topic = synsets[key]
                if topic not in PHRASE_TOPICS:  # mostly meant otherwise: "proceeds to sit"
                    return []
                heads = {name for h in hypernyms for name in synsets[h][0]}
                found = [p for name in names if (p := self._phrase(name, form, heads))]
                if found:
                    return [list(dict.fromkeys(found))]
        return []

    def _phrase(self, name: str, form: str, heads: set[str]) -> str | None:
        """WordNet lemma `name`, a verb of `heads` and directions ("move_back"), as vocabulary
        words, its verb in `form` ("moves back"); None for anything else."""
        head, *rest = name.split("_")
        if head not in heads or not rest:
            return None
        if not all(w in DIRECTIONS and w in self._words for w in rest):
            return None
        verb = self._form(head, form)
        return None if verb is None else " ".join([verb, *rest])

    def alternatives(self, word: str) -> list[str]:
        """Other words for what verb `word` means, in its inflection: the lemmas of its
        `MAX_SENSES` most frequent body-motion senses and of their direct hyponyms (kinds of
        it: "walks" → "strolls", "paces", "ambles"). For training text encoders on wordings
        their captions lack; single words only."""
        synsets = self.table["synsets"]
        found: list[str] = []
        for lemma, form, keys in self._motion_senses(word, parts=("v",)):
            for key in keys:
                kinds = [synsets[h][0] for h in self._hyponyms().get(key, ())]
                for name in [*synsets[key][0], *(n for names in kinds for n in names)]:
                    if "_" not in name and name != lemma:
                        found.append(inflect(name, form, self.table["exceptions"]["v"]))
        return sorted(set(found) - {word})

    def _hyponyms(self) -> dict[str, list[str]]:
        """Verb synset → its direct hyponyms (WordNet stores only the other direction here)."""
        if self._hyponym_index is None:
            self._hyponym_index = {}
            for key, (_, hypernyms, _) in self.table["synsets"].items():
                if key.startswith("v"):
                    for h in hypernyms:
                        self._hyponym_index.setdefault(h, []).append(key)
        return self._hyponym_index

    def _about_motion(self, key: str) -> bool:
        """Whether synset `key` ("v…" verb, "r…" adverb) is a sense of what a body does
        (adverbs: always)."""
        return not key.startswith("v") or self.table["synsets"][key][2] in MOTION_TOPICS


def _mostly_a_form_of(word: str, lemmas: Sequence[str], known: dict[str, list[str]]) -> bool:
    """Whether verb `word`, a lemma of its own and an irregular form of `lemmas`, is mostly the
    form: one of them has `SENSE_RATIO` times its senses or more ("fell" is the past of "fall",
    32 senses, before it is "cut down", 3; "bound", 4, stays "leap" before "bind", 10)."""
    own = len(known.get(word, ()))
    return own > 0 and any(
        other != word and len(known.get(other, ())) >= SENSE_RATIO * own for other in lemmas
    )


def strip_endings(word: str, rules: Sequence[tuple[str, str]]) -> list[str]:
    """`word` with each rule's ending replaced by its lemma ending, in rule order (morphy; a
    stem keeps at least two letters)."""
    return [
        word[: len(word) - len(end)] + base
        for end, base in rules
        if word.endswith(end) and len(word) > len(end) + 1
    ]


def base_forms(word: str, table: dict) -> set[str]:
    """Every lemma `word` may be a form of, by morphy's rules and the verb exceptions (some
    are not words; they only serve as keys into the table)."""
    return {
        word,
        *table["exceptions"]["v"].get(word, []),
        *strip_endings(word, (*VERB_RULES, *OTHER_RULES)),
    }


def is_adverb_spelled_like(word: str, lemma: str, table: dict) -> bool:
    """Whether `word` is an adverb of its own that is spelled like an irregular form of verb
    `lemma`: in motion captions "left" is the side, not the past of "leave", so "leaving" must
    not read as it."""
    irregular = lemma in table["exceptions"]["v"].get(word, ())
    return irregular and word in table["lemmas"]["r"]


@dataclass(frozen=True)
class BodyNouns:
    """The nouns whose most frequent sense is a part of the body ("palm", "elbow", "spine";
    none in tables built before session 45), and their irregular plurals ("feet")."""

    lemmas: frozenset[str]
    plurals: Mapping[str, Sequence[str]]

    @classmethod
    def of(cls, table: dict) -> BodyNouns:
        body = table.get("body_nouns", {})
        return cls(frozenset(body.get("lemmas", ())), body.get("plurals", {}))

    def __contains__(self, word: object) -> bool:
        """Whether noun `word` or its singular names a part of the body ("palms", "feet")."""
        if not isinstance(word, str):
            return False
        candidates = {word, *self.plurals.get(word, ()), *strip_endings(word, NOUN_RULES)}
        return not candidates.isdisjoint(self.lemmas)


def wordnet_opposites(vocabulary: Sequence[str]) -> Callable[[str], list[str]]:
    """The words of `vocabulary` that a word must never be read as: those WordNet names as its
    opposites ("different" → ["same"]), as word vectors put antonyms close together; adverbs
    spelled like a form of its own verb ("leaving" → ["left"]), and for a word that is no verb
    but a noun made from one (`made_from_verbs`), the forms of that verb ("boxer" → ["boxes"],
    "celebration" → ["celebrate"]: "like a boxes") and any verb's -s / -ed / -ing forms ("a
    jogger" → "a running"), as word vectors put a word's forms close together; and for a part
    of the body, every word that names none ("elbows" → "bows", "shin" → "shoved", "clavicle" →
    "clapping" were look-alikes in word vectors; "fingers" → "hands" stays)."""
    table = load_table()
    nominal = set(table["mostly_not_verbs"])
    body = BodyNouns.of(table)
    words = sorted({w.lower() for w in vocabulary})
    not_body = {w for w in words if w not in body}
    antonyms: dict[str, list[str]] = table["antonyms"]
    by_lemma: dict[str, list[str]] = {}  # antonym lemma → vocabulary words
    homographs: dict[str, list[str]] = {}  # verb lemma → vocabulary adverbs spelled like it
    verb_forms: dict[str, list[str]] = {}  # verb lemma → vocabulary words that are its verb forms
    inflected: set[str] = set()  # vocabulary words that are a verb's -s / -ed / -ing form
    for word in words:
        for lemma in base_forms(word, table) & antonyms.keys():
            by_lemma.setdefault(lemma, []).append(word)
        for lemma in table["exceptions"]["v"].get(word, ()):
            if is_adverb_spelled_like(word, lemma, table):
                homographs.setdefault(lemma, []).append(word)
        for lemma in _verb_lemmas(word, table):
            form = inflection(word, lemma)
            # not a plural noun spelled like a verb's -s form ("hands", "steps"), nor "left"
            if (
                form == "ing"
                or (form == "s" and lemma not in nominal)
                or (form == "ed" and not is_adverb_spelled_like(word, lemma, table))
            ):
                inflected.add(word)
            # a base form a noun or adjective shares ("slow", "box") may be what a word reads as
            if form != "base" or lemma not in nominal:
                verb_forms.setdefault(lemma, []).append(word)

    def opposites(word: str) -> list[str]:
        bases = base_forms(word, table)
        lemmas = {o for base in bases for o in antonyms.get(base, ())}
        found = {w for lemma in lemmas for w in by_lemma.get(lemma, ())}
        found |= {w for base in bases for w in homographs.get(base, ())}
        if not _verb_lemmas(word, table) and (made := made_from_verbs(word, table)):
            found |= inflected | {w for lemma in made for w in verb_forms.get(lemma, ())}
        if word in body:
            found |= not_body
        return sorted(found - {word})

    return opposites


# Endings that make a noun of a verb ("box" → "boxer", "celebrate" → "celebration"); other
# words that start like a verb are compounds ("kickoff", "walkway") or unrelated ("timidly").
NOUN_ENDINGS = ("er", "ers", "or", "ors", "ion", "ions", "ment", "ments", "ance", "ence", "al")


def derived_from(word: str, lemma: str) -> bool:
    """Whether `word` is verb `lemma` and one of `NOUN_ENDINGS`, the lemma's final "e" kept or
    dropped ("movement", "celebration"), its final consonant doubled or not ("runner")."""
    for stem in dict.fromkeys((lemma, lemma.removesuffix("e"))):
        if len(stem) < 3 or not word.startswith(stem):  # "use", "toe": too short to tell
            continue
        rest = word[len(stem) :]
        if rest in NOUN_ENDINGS or (rest[:1] == stem[-1] and rest[1:] in NOUN_ENDINGS):
            return True
    return False


def made_from_verbs(word: str, table: dict) -> set[str]:
    """The WordNet verbs `word` is spelled as with a noun ending after it (`derived_from`:
    "jogger" → {"jog"}); empty for any other word. By spelling: comparatives and adjectives
    such as "faster" or "frontal" count too, which only keeps them from verb-form readings."""
    found = set()
    for ending in NOUN_ENDINGS:
        if word.endswith(ending):
            stem = word[: -len(ending)]
            for lemma in (stem, stem + "e", stem[:-1]):
                if lemma in table["lemmas"]["v"] and derived_from(word, lemma):
                    found.add(lemma)
    return found


def _verb_lemmas(word: str, table: dict) -> set[str]:
    """The verbs `word` is a form of (morphy's verb rules and exceptions); empty for no verb."""
    candidates = {word, *table["exceptions"]["v"].get(word, ()), *strip_endings(word, VERB_RULES)}
    return candidates & table["lemmas"]["v"].keys()


def wordnet_reading(vocabulary: Sequence[str]) -> Callable[[str, bool], list[list[str]]]:
    """The related-word lookup `UnseenWordReader` uses (`WordNetReader.readings`): WordNet over
    `vocabulary`, never reading a word as a function word ("is" is a form of "be")."""
    from intersyn.text.vocabulary import FUNCTION_WORDS

    return WordNetReader(vocabulary, skip=FUNCTION_WORDS).readings
