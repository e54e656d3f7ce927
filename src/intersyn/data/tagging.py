"""A small rule-based part-of-speech tagger producing HumanML3D-style `word/POS` tokens.

HumanML3D tags its captions with spaCy (REFERENCE.md §1.2): hyphens removed, tokens that are not
purely alphabetic dropped, NOUN and VERB tokens replaced by their lemma (except "left"). This
module imitates that output for the procedural captions with a fixed lexicon of motion words and
a few suffix rules instead of a statistical model, so it covers the procedural vocabulary
and is only approximate elsewhere (it is NOT spaCy). Tags: NOUN, VERB, DET, ADP, ADJ, ADV, NUM,
PRON, CCONJ, AUX and OTHER (words it does not know).
"""

from __future__ import annotations

import re

TAGS: tuple[str, ...] = (
    "NOUN", "VERB", "DET", "ADP", "ADJ", "ADV", "NUM", "PRON", "CCONJ", "AUX", "OTHER",
)  # fmt: skip


def _words(text: str) -> frozenset[str]:
    """A lexicon written as one space-separated string."""
    return frozenset(text.split())


_DET = _words(
    "a all an another any both each either every her his its my neither no our some that the "
    "their these this those your"
)
_PRON = _words(
    "anyone everyone he herself him himself i it itself me she somebody someone something them "
    "themselves they us we what who you"
)
_ADP = _words(
    "about above across after against along alongside around as at before behind below beneath "
    "beside between by down during for from in inside into like near of off on onto out outside "
    "over past than through throughout to toward towards under until up upon via while with "
    "within without"
)
_CCONJ = _words("and but nor or so yet")
_AUX = _words(
    "am are be been being can could did do does had has have is may might must should was were "
    "will would"
)
_NUM = _words(
    "eight eighty eleven fifteen fifty five forty four fourteen hundred nine ninety one seven "
    "seventy six sixty ten thirteen thirty three twelve twenty two"
)
_ADV = _words(
    "closer "
    "afterward afterwards again ahead almost also anticlockwise apart around aside away back "
    "backward backwards clockwise close counterclockwise downward downwards even far fast "
    "finally first forth forward forwards hard here high instead inward inwards just later low "
    "meanwhile nearly not now once only onward outward outwards overhead quite rather "
    "repeatedly sidewards sideways somewhat soon still straight then there thrice together too "
    "twice upward upwards very"
)
_ADJ = _words(
    "common lefthanded righthanded "
    "anticlockwise backward bent big brief brisk broad calm careful casual circular clockwise "
    "closed complete counterclockwise crossed deep different double downward energetic "
    "enthusiastic excited extended few final firm formal forward friendly front full gentle "
    "giant gradual half happy heavy high huge informal initial inner large last lazy least left "
    "leisurely less light little lively long loose loud low lowered many more most much narrow "
    "neutral next open opposite other outer outstretched partial playful polite powerful "
    "previous quick quiet raised random rapid rear relaxed right same seated several sharp "
    "short sideways single slight slow small smooth soft standing steady straight strong sudden "
    "tall tight tiny upright upward vigorous warm weak whole wide"
)
# Verb lemmas: a word that reduces to one of these (by the suffix rules) is a VERB unless the
# context says noun (after a determiner, adjective or number).
_VERBS = _words(
    "answer avoid grasp slap wrap "
    "accept advance alternate appear applaud approach arch arrive attack back balance be begin "
    "bend bid block bounce bow box brace bring brush catch celebrate chase circle clap clasp "
    "climb close come complete continue copy crawl cross crouch curl curve dance defend do "
    "dodge drag drop duck embrace end escort evade exchange execute extend face fall fight "
    "finish flex flinch fold follow get give glide go grab greet grip guard guide hand have "
    "head hit hold hook hop hug hunch imitate jab jog jump keep kick kneel knock land lay lead "
    "lean leap leave let lie lift look loop lose lower lunge make march meet mirror move nod "
    "offer open orbit pace pass pat pause perform pivot place point press pull pump punch push "
    "put raise reach react receive recover regain relax release remain repeat respond rest "
    "retreat return revolve rise rock roll rotate run salute say seem settle shadow shake shift "
    "shove shuffle sidestep sink sit skip slide slip spar spin spring sprint squat squeeze "
    "stagger stand start stay steer step stomp stoop stop straighten stretch strike stroll "
    "stumble swap sway swing swivel tackle take tap thank throw tilt toss touch trail travel "
    "trip trot try tug tumble turn twist uppercut use veer wait walk wander wave welcome "
    "wrestle"
)
_NOUNS = _words(
    "five grasp slap wrap "
    "air angle ankle applause arc arm arms attack back balance ball beat beginning blow body "
    "bounce bow box bye celebration center centre chair character chest circle clap clasp "
    "couple crouch curve dance degree direction distance dodge elbow embrace end exchange "
    "exercise eye face fall farewell fashion figure finger fist floor follower foot friend "
    "front gap gesture gift goodbye greeting grip ground guy half hand handoff handshake head "
    "heel height hello highfive hip hit hook hop hug human individual item jab jog jump kick "
    "knee lady lap lead leader leap leg legs level line loop lunge man manner march middle "
    "minute moment motion movement neck nod object opponent other pace package pair palm "
    "partner pass pat path people person pivot place pose position posture pull punch push "
    "quarter reaction response rest rhythm round route routine row run salute seat second "
    "semicircle shake shoulder shove side sidestep skip speed spin spine spiral spot sprint "
    "square squat stance start step stretch strike stroll stumble swing tap tempo thigh thing "
    "time toe torso triangle trip trot tug turn twist waist walk warmup wave way woman wrist "
    "zigzag"
)
_IRREGULAR = {
    "ran": "run", "sat": "sit", "stood": "stand", "took": "take", "gave": "give", "held": "hold",
    "threw": "throw", "caught": "catch", "fell": "fall", "got": "get", "went": "go",
    "came": "come", "swung": "swing", "led": "lead", "met": "meet", "rose": "rise",
    "knelt": "kneel", "leapt": "leap", "shook": "shake", "began": "begin", "spun": "spin",
    "brought": "bring", "made": "make", "did": "do", "does": "do", "goes": "go", "lay": "lie",
    "feet": "foot", "men": "man", "women": "woman", "lying": "lie",
    "struck": "strike", "sank": "sink", "slid": "slide", "left": "left",
    "arms": "arm", "legs": "leg",
}  # fmt: skip
# Interjections: spaCy's INTJ, written as OTHER here, but known words.
_INTERJECTIONS = _words("hi hello hey bye goodbye yes no okay ok wow")
# Nouns that modify a following noun ("side steps", "high five").
_COMPOUND_HEADS = _words("side high")
_WORD = re.compile(r"[A-Za-z]+|'[A-Za-z]+|\S")


def _candidates(word: str) -> list[str]:
    """Possible lemmas of an inflected word, most specific first."""
    out = [word]
    if word in _IRREGULAR:
        out.insert(0, _IRREGULAR[word])
    if word.endswith("ing") and len(word) > 4:
        stem = word[:-3]
        out += [stem, stem + "e"]
        if len(stem) > 2 and stem[-1] == stem[-2]:
            out.append(stem[:-1])
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out += [word[:-2], word[:-1]]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        out.append(word[:-1])
    if word.endswith("ed") and len(word) > 3:
        stem = word[:-2]
        out += [stem, word[:-1]]
        if len(stem) > 2 and stem[-1] == stem[-2]:
            out.append(stem[:-1])
        if stem.endswith("i"):
            out.append(stem[:-1] + "y")
    return out


def _lemma_in(word: str, lexicon: frozenset[str]) -> str | None:
    return next((c for c in _candidates(word) if c in lexicon), None)


def _closed_class(word: str) -> str | None:
    for tag, lexicon in (
        ("DET", _DET), ("PRON", _PRON), ("CCONJ", _CCONJ), ("AUX", _AUX), ("NUM", _NUM),
    ):  # fmt: skip
        if word in lexicon:
            return tag
    return None


def tag_caption(text: str) -> tuple[str, ...]:
    """HumanML3D-style tokens of a caption: `("a/DET", "person/NOUN", "walk/VERB", ...)`."""
    words = [w.lower() for w in _WORD.findall(text.replace("-", "")) if w.isalpha()]
    tokens: list[str] = []
    previous_tag = ""
    previous_word = ""
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        tag, lemma = _tag_word(word, previous_word, previous_tag, following)
        tokens.append(f"{lemma}/{tag}")
        previous_tag, previous_word = tag, word
    return tuple(tokens)


def _tag_word(word: str, previous_word: str, previous_tag: str, following: str) -> tuple[str, str]:
    """(tag, token text) of one lower-case word given its neighbours."""
    next_is_noun = bool(_lemma_in(following, _NOUNS)) or following in ("left", "right")
    if word in ("left", "right"):
        # "left hand" (adjective), "to the left" (noun), "turns left" (adverb); never lemmatised.
        if next_is_noun:
            return "ADJ", word
        return ("NOUN" if previous_tag == "DET" else "ADV"), word
    if word == "other" and previous_word == "each":
        return "ADJ", word
    if word == "her":  # possessive before a noun ("her hand"), object otherwise ("hugs her")
        return ("DET" if next_is_noun else "PRON"), word
    closed = _closed_class(word)
    if closed:
        return closed, word
    noun = _lemma_in(word, _NOUNS)
    verb = _lemma_in(word, _VERBS)
    # An ambiguous word is a noun after a determiner/adjective/number, after a preposition other
    # than an infinitive "to" ("in place" vs "to face"), or as a verb's bare object ("takes
    # steps"); a verb otherwise ("a person walks", "starts walking").
    noun_context = (
        previous_tag in ("ADJ", "NUM", "DET")
        or (previous_tag == "ADP" and previous_word != "to" and not word.endswith("ing"))
        or previous_word in _COMPOUND_HEADS  # "side steps"
    )
    object_context = previous_tag == "VERB" and not word.endswith("ing")
    if noun_context and word in _ADJ and not noun:
        return "ADJ", word  # "a low bow"
    if word.endswith("ed") and word in _ADJ and previous_tag in ("VERB", "AUX"):
        return "ADJ", word  # "stays seated"
    if word in _ADV and not noun_context:
        return "ADV", word
    if noun and (noun_context or object_context or not verb):
        return "NOUN", noun
    if verb:
        return "VERB", verb
    if word in _ADP:
        return "ADP", word
    if word in _ADV or (word.endswith("ly") and len(word) > 4 and word not in _ADJ):
        return "ADV", word
    if word in _ADJ:
        return "ADJ", word
    return "OTHER", word


def unknown_words(text: str) -> list[str]:
    """Words of a caption the tagger does not know (tagged OTHER and not an interjection)."""
    return [
        word
        for word, tag in (t.rsplit("/", 1) for t in tag_caption(text))
        if tag == "OTHER" and word not in _INTERJECTIONS
    ]
