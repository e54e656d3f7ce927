"""A new sentence's nearest training caption: the same request in words the model was trained on.

A small model trained on a few hundred phrasings per action reads a sentence in new words
partly as its words' other actions: "applauds, striking the palms together" makes punches,
although the sentence as a whole is nearest the clapping captions. The training caption
nearest to it in a sentence embedding says the same in wording the model knows. Best-of-K
sampling (`intersyn.ranking`) draws some candidates under that caption and ranks every
candidate against the user's own text, so a wrong neighbour costs one candidate, not the
result. (Replacing the text outright was measured worse in session 34: some training captions
the denoiser reads worse than a user's own words.)

A text written wholly in the words the model was trained on is its own known wording: the
model reads it as it is, and its nearest caption can only say less. "A person walks forward
and waves" is nearest "a person waves both hands in greeting" (cosine 0.77); drawn under it,
the README request's person x stood and waved (0.02–0.20 m walked in the first 2 s) in the 23
of seeds 0–39 where the ranker kept that candidate (session 44).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import torch

from intersyn.errors import InterSynError
from intersyn.text.vocabulary import WORD, caption_words

KINDS = ("solo", "interaction")  # a layout segment's kind → the captions it is matched against
_CHUNK = 512  # captions embedded per call


class KnownWording:
    """Nearest training caption of each kind (see the module docstring).

    `captions`: the training captions by segment kind (a checkpoint's `text_captions`);
    `embed`: sentence embeddings `(N, C)` of a list of texts (the ranker's sentence tower,
    trained with motion, so "near" means "the same movement"); `vocabulary`: the words the
    model was trained on (a checkpoint's `text_vocabulary`; default: the captions' words), a
    text wholly in which is its own known wording. A kind's captions are embedded
    on first use and kept, unless `embedded` holds them (`embed_caption_bank`, which a shipped
    checkpoint keeps: embedding some 4000 captions takes seconds on a CPU).
    """

    def __init__(
        self,
        captions: Mapping[str, Sequence[str]],
        embed: Callable[[list[str]], torch.Tensor],
        embedded: Mapping[str, torch.Tensor] | None = None,
        vocabulary: Iterable[str] | None = None,
    ) -> None:
        self.captions = {kind: list(captions.get(kind, ())) for kind in KINDS}
        self._known = {kind: {_key(t) for t in texts} for kind, texts in self.captions.items()}
        if vocabulary is None:
            vocabulary = caption_words(t for texts in self.captions.values() for t in texts)
        self._words = frozenset(w.lower() for w in vocabulary)
        self._embed = embed
        self._bank: dict[str, torch.Tensor] = {
            kind: torch.nn.functional.normalize(rows.float(), dim=-1)
            for kind, rows in (embedded or {}).items()
            if kind in self.captions and len(rows) == len(self.captions[kind])
        }
        # Benches ask for the same request once per sample: embed each text once.
        self._found: dict[tuple[str, str], str] = {}

    def _unit(self, texts: list[str]) -> torch.Tensor:
        return torch.nn.functional.normalize(_embed_all(self._embed, texts), dim=-1)

    def in_own_words(self, text: str) -> bool:
        """Whether `text` has words and every one of them is a training word."""
        words = WORD.findall(text)
        return bool(words) and all(w.lower() in self._words for w in words)

    def nearest(self, text: str, kind: str) -> str:
        """The `kind` training caption nearest to `text` (`text` itself if it is one, up to
        case and a closing full stop as joined captions write it, if it is written wholly in
        training words (`in_own_words`), or if there are none of that kind)."""
        if kind not in self.captions:
            raise InterSynError(f"segment kind {kind!r}: expected one of {KINDS}")
        texts = self.captions[kind]
        if not texts or _key(text) in self._known[kind] or self.in_own_words(text):
            return text
        if (kind, text) not in self._found:
            if kind not in self._bank:
                self._bank[kind] = self._unit(texts)
            similarity = self._bank[kind] @ self._unit([text])[0]
            self._found[kind, text] = texts[int(similarity.argmax())]
        return self._found[kind, text]


def embed_caption_bank(
    captions: Mapping[str, Sequence[str]], embed: Callable[[list[str]], torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Each kind's caption embeddings `(N, C)` in float16 (what a checkpoint keeps beside
    `text_captions`, as `text_caption_embeddings` with the embedding ranker's hash)."""
    return {
        kind: _embed_all(embed, list(texts)).half() for kind, texts in captions.items() if texts
    }


def _embed_all(embed: Callable[[list[str]], torch.Tensor], texts: list[str]) -> torch.Tensor:
    return torch.cat([embed(texts[i : i + _CHUNK]).float() for i in range(0, len(texts), _CHUNK)])


def _key(text: str) -> str:
    return " ".join(text.lower().rstrip(".").split())


def caption_bank(solo_captions: Sequence[str], pair_captions: Sequence[str]) -> dict[str, list]:
    """What a checkpoint records as `text_captions`: each kind's distinct captions, sorted."""
    return {"solo": sorted(set(solo_captions)), "interaction": sorted(set(pair_captions))}


def check_caption_bank(value: object, where: str) -> dict[str, list[str]] | None:
    """A checkpoint's `text_captions`: absent (older checkpoints) or lists of str by kind."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or set(value) - set(KINDS)
        or not all(
            isinstance(texts, list) and all(isinstance(t, str) for t in texts)
            for texts in value.values()
        )
    ):
        raise InterSynError(
            f"{where}: text_captions is not a list of captions per kind ({', '.join(KINDS)})"
        )
    return value


def check_caption_embeddings(value: object, where: str) -> dict | None:
    """A checkpoint's `text_caption_embeddings`: absent, or the embedding ranker's hash and a
    2-D tensor per kind (`embed_caption_bank`)."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("ranker_sha256"), str)
        or not all(
            kind in KINDS and isinstance(rows, torch.Tensor) and rows.dim() == 2
            for kind, rows in value.items()
            if kind != "ranker_sha256"
        )
    ):
        raise InterSynError(
            f"{where}: text_caption_embeddings is not a ranker hash and a 2-D tensor per kind"
        )
    return value
