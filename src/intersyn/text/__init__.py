"""Text encoders behind one interface (`TextEncoder` -> `TextFeatures`) and their caption cache."""

from intersyn.text.base import CaptionFeatures, TextEncoder, TextFeatures, validate_captions
from intersyn.text.cache import CachedTextEncoder
from intersyn.text.clip import ClipTextEncoder
from intersyn.text.factory import TEXT_ENCODERS, build_text_encoder
from intersyn.text.wordllama import WordLlamaEncoder

__all__ = [
    "TEXT_ENCODERS",
    "CachedTextEncoder",
    "CaptionFeatures",
    "ClipTextEncoder",
    "TextEncoder",
    "TextFeatures",
    "WordLlamaEncoder",
    "build_text_encoder",
    "validate_captions",
]
