"""Reading words a model never saw in training as the nearest word it did see.

A denoiser conditioned on subword embeddings learns the words of its training captions and
little around them: "a guy strolls" is far from anything it knows although "a man walks" is
close in meaning. Rewriting each unseen word to a training word moves such a prompt back onto
the wording the model can follow: first to a word WordNet relates to it (same sense or its
direct hypernym, `intersyn.text.wordnet`: "trots" → "jogs", which subword vectors miss), else
to its nearest training word by cosine similarity of WordLlama word vectors, above
`MIN_SIMILARITY`, never to one WordNet names as its opposite (word vectors place "different"
next to "same") nor to a grammar word ("both", next to "different" too). Where WordNet gives
a word readings in several senses ("trails" is "lags behind": "drags", and "chases":
"follows"), the sentence decides: the sense whose reading forms word
pairs the training captions have with its neighbours ("person follows", "follows behind") is
taken over WordNet's most frequent one. Every rewrite is reported, so a user sees what the
model read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from intersyn.errors import InterSynError

# A word: letters (any script, so "café" stays whole), with inner apostrophes ("other's").
# Digits and punctuation are left alone.
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
# A word with the indefinite article before it, if any: "an individual" read as "a person".
ARTICLE_WORD = re.compile(rf"(?:\b(?P<article>[Aa]n?)(?P<gap>\s+))?(?P<word>{WORD.pattern})")
# Below this similarity the nearest training word is usually a look-alike, not a synonym
# ("swaying" → "sits" 0.3, "tips" → "way" 0.40, "a pair" → "a two" 0.43), so the word is kept
# as written. Chosen on the validation phrasings (`bench/quality_bar.py --prompts validation`,
# session-29 default: 20 of 29 pass at 0.5 and at 0.6, 19 at 0.4).
MIN_SIMILARITY = 0.5

# Function words: never rewritten, as their nearest training word by spelling often carries
# motion ("is" → "serves"). Prepositions and particles may still be what an unseen word reads
# as ("upward" → "up"); the grammar words never are ("different" → "both", 0.54, made "face a
# both way"; without them it is kept).
_PREPOSITIONS = """at by for from in into of off on onto out over to up down with without about
    after before behind below beneath beside between beyond during through toward towards under
    until upon via while"""
_GRAMMAR_WORDS = """a an the and or but nor so yet if then than as is are was were be been
    being am do does did has have had having will would shall should can could may might
    must i me my mine you your yours he him his she her hers it its we us our ours they them
    their theirs himself herself itself themselves myself yourself ourselves this that these
    those who whom whose which what where when why how not no all any both each either
    neither every some such very too just also only again once there here"""
GRAMMAR_WORDS = frozenset(_GRAMMAR_WORDS.split())
FUNCTION_WORDS = GRAMMAR_WORDS | frozenset(_PREPOSITIONS.split())

# Who a motion caption is about. The word after one of them (adverbs skipped: "a guy
# forcefully thrusts") is the sentence's verb, which decides how a word that is mostly a noun
# elsewhere is read ("a guy paces" walks; "a few paces" are steps).
_SUBJECT_WORDS = """person persons people someone somebody man men woman women guy guys
    individual individuals pair couple duo both they he she who other partner figure character"""
SUBJECT_WORDS = frozenset(_SUBJECT_WORDS.split())

WordVectors = Callable[[list[str]], np.ndarray]  # words → (len(words), C), rows L2-normalised
# (an unseen word, whether it stands where a verb does) → groups of related training words, one
# per sense, most frequent sense first; a group's words are equally related (the reader takes
# the one nearest in word vectors); a group of phrases ("moves back") comes only alone
RelatedWords = Callable[[str, bool], list[list[str]]]
# an unseen word → training words that mean its opposite
OppositeWords = Callable[[str], list[str]]


def caption_words(captions: Iterable[str]) -> list[str]:
    """The distinct lower-case words of `captions`, sorted."""
    return sorted({w.lower() for caption in captions for w in WORD.findall(caption)})


def caption_word_pairs(captions: Iterable[str]) -> list[str]:
    """The distinct pairs of adjacent lower-case words of `captions` ("person follows"), sorted:
    the context an unseen word's readings are weighed in."""
    pairs = set()
    for caption in captions:
        words = [w.lower() for w in WORD.findall(caption)]
        pairs.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    return sorted(pairs)


@dataclass(frozen=True)
class WordSubstitution:
    """One unseen word of a prompt and the training word it is read as."""

    word: str
    read_as: str
    # cosine of the two words' WordLlama vectors (a phrase: the mean over its words)
    similarity: float
    source: str = "embedding"  # "wordnet" (a related sense) or "embedding" (nearest vector)


class UnseenWordReader:
    """Rewrites the words of a prompt that are not in `vocabulary` to a related or the nearest
    training word.

    `word_vectors()` builds the word embedder (rows L2-normalised), `related(vocabulary)`, if
    given, the related-word lookup (`wordnet_reading`: `WordNetReader(...).readings`) and
    `opposite(vocabulary)`, if given, the antonym lookup (`wordnet_opposites`); all are built,
    and the vocabulary embedded, on the first prompt that has an unseen word, so prompts in
    the training wording cost nothing. `word_pairs` (`caption_word_pairs` of the training
    captions), if given, choose among a word's WordNet readings by the words around it.
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        word_vectors: Callable[[], WordVectors],
        min_similarity: float = MIN_SIMILARITY,
        related: Callable[[Sequence[str]], RelatedWords] | None = None,
        opposite: Callable[[Sequence[str]], OppositeWords] | None = None,
        word_pairs: Iterable[str] | None = None,
    ) -> None:
        words = sorted({w.lower() for w in vocabulary})
        if not words:
            raise InterSynError("vocabulary: empty; expected the words of the training captions")
        self.vocabulary = words
        self._index = {w: k for k, w in enumerate(words)}
        self._grammar_rows = [k for k, w in enumerate(words) if w in GRAMMAR_WORDS]
        self._make_vectors = word_vectors
        self._embed: WordVectors | None = None
        self._table: np.ndarray | None = None  # (V, C)
        self._make_related = related
        self._related: RelatedWords | None = None
        self._make_opposite = opposite
        self._opposite: OppositeWords | None = None
        self.min_similarity = min_similarity
        self.word_pairs = frozenset(word_pairs or ())

    def _similarity(self, words: list[str]) -> np.ndarray:
        """Cosine similarity `(W, V)` of each word to each training word."""
        if self._embed is None:
            self._embed = self._make_vectors()
            self._table = self._embed(self.vocabulary)
            if self._make_related is not None:
                self._related = self._make_related(self.vocabulary)
            if self._make_opposite is not None:
                self._opposite = self._make_opposite(self.vocabulary)
        return self._embed(words) @ self._table.T

    def _readings(self, word: str, as_verb: bool, similarity: np.ndarray) -> list[WordSubstitution]:
        """How unseen `word` may be read (`as_verb`: where the sentence has its verb), given
        its similarity `(V,)` to each training word: one reading per WordNet sense, most
        frequent sense first, else its nearest training word, else a WordNet phrase, else
        none."""

        def closeness(reading: str) -> float:  # a phrase's: its words' mean
            return float(np.mean([similarity[self._index[w]] for w in reading.split()]))

        groups = self._related(word, as_verb) if self._related is not None else []
        # A phrase ("retreats" → "moves back") is the last resort: after the word vectors.
        phrases = [g for g in groups if all(" " in r for r in g)]
        groups = [g for g in groups if g not in phrases]
        if groups:
            # A sense's reading is its word nearest in word vectors (one sense's words are
            # equal: "twists" → "bends", "turns").
            nearest = [max(g, key=closeness) for g in groups]
            return [WordSubstitution(word, r, round(closeness(r), 3), "wordnet") for r in nearest]
        # Never a grammar word nor an opposite ("different" → "same", 0.61).
        excluded = list(self._grammar_rows)
        if self._opposite is not None:
            excluded += [self._index[w] for w in self._opposite(word)]
        if excluded:
            similarity = similarity.copy()
            similarity[excluded] = -np.inf
        k = int(similarity.argmax())
        if similarity[k] >= self.min_similarity:
            return [WordSubstitution(word, self.vocabulary[k], round(float(similarity[k]), 3))]
        return [
            WordSubstitution(word, r, round(closeness(r), 3), "wordnet")
            for r in (max(g, key=closeness) for g in phrases)
        ]

    def unknown(self, text: str) -> list[str]:
        """The words of `text` (lower-case, each once, in order) that are neither training
        words nor function words: what the model reads only by their subword pieces, if at
        all. Ask it of a text as `rewrite` left it: the words no reading was found for."""
        return list(dict.fromkeys(w for w in _content_words(text) if w not in self._index))

    def knows_any(self, text: str) -> bool:
        """Whether `text` has a training word that is not a function word ("a", "the", "in"): a
        text without one ("Ein Mann geht in den Park") tells the model nothing it learned."""
        return any(w in self._index for w in _content_words(text))

    def _fit(self, reading: str, left: str, right: str) -> int:
        """How many training word pairs `reading` forms with its neighbours (0, 1 or 2)."""
        return (f"{left} {reading}" in self.word_pairs) + (f"{reading} {right}" in self.word_pairs)

    def rewrite(self, text: str) -> tuple[str, list[WordSubstitution]]:
        """`text` with each unseen word replaced (case of its first letter kept), and the list
        (a phrase reading whose direction the text says next is written without it)."""
        words = [m["word"].lower() for m in ARTICLE_WORD.finditer(text)]
        unseen = [
            k for k, w in enumerate(words) if w not in self._index and w not in FUNCTION_WORDS
        ]
        if not unseen:
            return text, []
        distinct = sorted({words[k] for k in unseen})
        row = dict(zip(distinct, self._similarity(distinct)))
        options = {
            k: self._readings(words[k], _follows_subject(words[:k]), row[words[k]]) for k in unseen
        }
        # A word with readings in several senses is read by its neighbours as the others are
        # read alone (the nearest known word on either side): the sense whose reading forms
        # more training word pairs with them, else the more frequent.
        read = [options[k][0].read_as if options.get(k) else w for k, w in enumerate(words)]
        known = [k for k, w in enumerate(read) if w in self._index]  # (not a phrase's words)
        chosen = {}
        for k, found in options.items():
            if len(found) > 1:
                left = next((read[j] for j in reversed(known) if j < k), "")
                right = next((read[j] for j in known if j > k), "")
                found = [max(found, key=lambda r: self._fit(r.read_as, left, right))]
            if found:
                chosen[k] = found[0]
        order = iter(range(len(words)))

        def replace(match: re.Match[str]) -> str:
            word, article = match["word"], match["article"]
            k = next(order)
            found = chosen.get(k)
            if found is None:
                return match.group(0)
            read = found.read_as
            *verb, direction = read.split()
            if verb:  # a phrase: a direction the text says right after is not said twice,
                # "falls down" → "goes down" (the next word as it is read: "descends downward")
                after = re.match(rf"\s+({WORD.pattern})(?![-\w])", text[match.end() :])
                following = after[1].lower() if after else None
                if following is not None and following == words[k + 1] and k + 1 in chosen:
                    following = chosen[k + 1].read_as
                if following == direction:
                    read = " ".join(verb)
            read = read.capitalize() if word[0].isupper() else read
            if article is None:
                return read
            agreed = "an" if read[0].lower() in "aeiou" else "a"
            return f"{agreed.capitalize() if article[0] == 'A' else agreed}{match['gap']}{read}"

        # Each distinct substitution once, in order of appearance.
        used = list(dict.fromkeys(chosen[k] for k in sorted(chosen)))
        return ARTICLE_WORD.sub(replace, text), used


def _content_words(text: str) -> Iterator[str]:
    """The lower-case words of `text` that are not function words, in order."""
    return (w for w in (m.lower() for m in WORD.findall(text)) if w not in FUNCTION_WORDS)


def _follows_subject(before: list[str]) -> bool:
    """Whether the word after `before` (lower-case words) stands where a verb does: right
    after a subject word, adverbs in -ly between."""
    k = len(before) - 1
    while k >= 0 and before[k].endswith("ly") and before[k] not in SUBJECT_WORDS:
        k -= 1
    return k >= 0 and before[k] in SUBJECT_WORDS
