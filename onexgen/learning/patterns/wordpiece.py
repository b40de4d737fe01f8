"""A greedy WordPiece tokenizer: BERT's uncased tokenisation, without its library.

Why our own: the shipped static embeddings (``embedding``) have one vector per token of
MiniLM's WordPiece vocabulary, and the worker must not carry ``transformers`` or
``tokenizers`` for the few lines that split a word into those tokens. What it does is
BERT's ``BasicTokenizer`` (lower-case, accents stripped, split on white space and
punctuation) followed by ``WordpieceTokenizer`` (longest match first, continuations
prefixed ``##``, ``[UNK]`` for a word that cannot be covered); a unit test compares
tokenisations the reference tokenizer gives. Words are cached: request texts share most
of theirs, and a cached word costs one dict lookup.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

UNKNOWN = "[UNK]"
MAX_WORD_CHARS = 100
"""BERT's limit: a longer word is one ``[UNK]``."""
_CACHE_LIMIT = 65_536


def _is_punctuation(char: str) -> bool:
    """BERT's rule: ASCII non-alphanumeric printables and Unicode's P* categories."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def basic_words(text: str) -> list[str]:
    """Lower-cased, accent-stripped words, each punctuation character a word of its own."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    words: list[str] = []
    for chunk in text.split():
        current = ""
        for char in chunk:
            if _is_punctuation(char):
                if current:
                    words.append(current)
                    current = ""
                words.append(char)
            elif unicodedata.category(char) in ("Cc", "Cf") or char == "\ufffd":
                continue  # BERT's _clean_text drops control characters
            else:
                current += char
        if current:
            words.append(current)
    return words


class WordPiece:
    """Token ids of a vocabulary (list index = id) for words and texts."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.vocabulary = tuple(vocabulary)
        self.ids = {token: i for i, token in enumerate(self.vocabulary)}
        if UNKNOWN not in self.ids:
            raise ValueError(f"a WordPiece vocabulary needs the {UNKNOWN} token")
        self.unknown = self.ids[UNKNOWN]
        self._longest = max(len(t.removeprefix("##")) for t in self.vocabulary)
        self._cache: dict[str, tuple[int, ...]] = {}

    def word_ids(self, word: str) -> tuple[int, ...]:
        """One basic word's token ids: longest vocabulary prefix first, then ``##`` pieces."""
        found = self._cache.get(word)
        if found is not None:
            return found
        found = self._split(word)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()  # bounded: names churn; the common words come straight back
        self._cache[word] = found
        return found

    def _split(self, word: str) -> tuple[int, ...]:
        if len(word) > MAX_WORD_CHARS:
            return (self.unknown,)
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = min(len(word), start + self._longest)
            prefix = "##" if start else ""
            while end > start:
                token = self.ids.get(prefix + word[start:end])
                if token is not None:
                    pieces.append(token)
                    break
                end -= 1
            else:
                return (self.unknown,)
            start = end
        return tuple(pieces)

    def encode(self, text: str) -> list[int]:
        """Token ids of a text (no ``[CLS]``/``[SEP]``)."""
        ids: list[int] = []
        for word in basic_words(text):
            ids += self.word_ids(word)
        return ids

    def tokens(self, text: str) -> list[str]:
        return [self.vocabulary[i] for i in self.encode(text)]
