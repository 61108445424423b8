"""WordPiece tokenizer compatible with BERT's uncased tokenizer (the teacher's vocabulary).

The condenser's model reads token ids; the condenser keeps or drops whole *words* (see
``_text``). So the tokenizer works word by word: ``encode_word`` turns one whitespace-free word
into its token ids, and a word's ids never mix with its neighbours'. Words repeat a lot in real
text, so results are cached per word.

Per word, as BERT's ``BasicTokenizer`` + ``WordpieceTokenizer`` do (``do_lower_case=True``):
1. drop NUL, U+FFFD and control characters (Unicode category C*, tab/newline/CR aside);
2. put spaces around CJK ideographs, and around Japanese kana, which BERT does not (see ``_text``);
3. lower-case, then NFD-normalise and drop non-spacing marks (category Mn), i.e. strip accents;
4. split off every punctuation character (ASCII 33-47, 58-64, 91-96, 123-126, or category P*)
   as a piece of its own;
5. WordPiece each piece: greedy longest match first, continuations prefixed ``##``; a piece that
   cannot be matched becomes ``[UNK]``. A piece longer than 100 characters is WordPieced 100
   characters at a time, each slice as a piece of its own, where BERT makes it one ``[UNK]``: a
   DNA sequence, a hash or a run of base64 of 20,000 characters then costs the budget what it
   costs a model (thousands of tokens), not one token kept for free.
The Unicode classes and the lower case of steps 1-4 come from the SDK's frozen table
(``_unicode``), not from the interpreter, so every Python version and the Java port
(android_demo/core, checked against golden vectors written by this module) give the same ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from splitinfer.sdk._text import CJK_CHAR
from splitinfer.sdk._unicode import tables

PAD, UNK, CLS, SEP = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
MAX_PIECE_CHARS = 100


# ASCII words take a shortcut through steps 1-4 that gives the same pieces (the tests check it
# against the general path): ASCII has no CJK ideographs or accents, its control characters are
# dropped (tab, newline and carriage return become spaces), and every printable character that is
# not a letter or digit is punctuation. Most words of English prompts are ASCII; the general path
# took ~34 us per new word, most of a fresh prompt's condensing time outside the model.
_ASCII_CLEAN = {cp: None for cp in [*range(32), 127] if chr(cp) not in "\t\n\r"} | {
    ord(ch): " " for ch in "\t\n\r"
}
_ASCII_PIECES = re.compile(r"[a-z0-9]+|[^a-z0-9\s]")


def basic_pieces(word: str) -> list[str]:
    """Steps 1-4 for one word: the pieces WordPiece then splits further."""
    if word.isascii():
        if word.isalnum():
            return [word.lower()]
        return _ASCII_PIECES.findall(word.translate(_ASCII_CLEAN).lower())
    return unicode_pieces(word)


# What steps 1-4 need to know of a character, from the SDK's table (``_unicode``), remembered
# per character: most texts use a few hundred distinct characters.
_DROP, _CJK, _SPACE, _MARK, _PUNCT = 1, 2, 4, 8, 16
_KINDS: dict[str, int] = {}
_MAX_KINDS = 1 << 16


def _kind(ch: str) -> int:
    kind = _KINDS.get(ch)
    if kind is None:
        table, cp = tables(), ord(ch)
        kind = (
            (_DROP if cp == 0 or cp == 0xFFFD or cp in table.control else 0)
            | (_CJK if CJK_CHAR.match(ch) else 0)
            | (_SPACE if ch.isspace() else 0)
            | (_MARK if cp in table.mark else 0)
            | (_PUNCT if cp in table.punctuation else 0)
        )
        if len(_KINDS) < _MAX_KINDS:
            _KINDS[ch] = kind
    return kind


def unicode_pieces(word: str) -> list[str]:
    """Steps 1-4 for any word, character by character (``basic_pieces``' general path)."""
    chars: list[str] = []
    for ch in word:
        kind = _kind(ch)
        if kind & _DROP:
            continue
        if kind & _CJK:
            chars.extend((" ", ch, " "))
        elif kind & _SPACE:
            chars.append(" ")
        else:
            chars.append(ch)
    lower = tables().lower
    pieces: list[str] = []
    for chunk in "".join(chars).split():
        current: list[str] = []
        for ch in unicodedata.normalize("NFD", lower(chunk)):
            kind = _kind(ch)
            if kind & _MARK:
                continue
            if kind & _PUNCT:
                if current:
                    pieces.append("".join(current))
                    current = []
                pieces.append(ch)
            else:
                current.append(ch)
        if current:
            pieces.append("".join(current))
    return pieces


class WordPieceTokenizer:
    """Word-by-word WordPiece over a BERT-style vocabulary (one token per line, id = line number)."""

    def __init__(self, vocab: Sequence[str], cache_size: int = 65536) -> None:
        if not vocab:
            raise ValueError("the tokenizer vocabulary is empty")
        self.vocab: tuple[str, ...] = tuple(vocab)
        self._ids = {token: i for i, token in enumerate(self.vocab)}
        missing = [t for t in (PAD, UNK) if t not in self._ids]
        if missing:
            raise ValueError(f"the tokenizer vocabulary lacks {', '.join(missing)}")
        # The longest token's characters, "##" aside: longer candidates cannot match.
        self._longest = max(len(t[2:] if t.startswith("##") else t) for t in self.vocab) or 1
        self.pad_id = self._ids[PAD]
        self.unk_id = self._ids[UNK]
        self.encode_word = lru_cache(maxsize=cache_size)(self._encode_word)

    @classmethod
    def from_file(cls, path: str | Path) -> WordPieceTokenizer:
        return cls(Path(path).read_text(encoding="utf-8").splitlines())

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> WordPieceTokenizer:
        return cls([line.rstrip("\r\n") for line in lines])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def token_id(self, token: str) -> int:
        return self._ids.get(token, self.unk_id)

    def _wordpiece(self, piece: str) -> list[int]:
        """WordPiece of one piece of at most ``MAX_PIECE_CHARS`` characters."""
        ids: list[int] = []
        start = 0
        while start < len(piece):
            end = min(len(piece), start + self._longest)  # no token is longer
            found = -1
            while start < end:
                candidate = piece[start:end] if start == 0 else "##" + piece[start:end]
                found = self._ids.get(candidate, -1)
                if found >= 0:
                    break
                end -= 1
            if found < 0:
                return [self.unk_id]
            ids.append(found)
            start = end
        return ids

    def _encode_word(self, word: str) -> tuple[int, ...]:
        ids: list[int] = []
        for piece in basic_pieces(word):
            for at in range(0, len(piece), MAX_PIECE_CHARS):
                ids.extend(self._wordpiece(piece[at : at + MAX_PIECE_CHARS]))
        return tuple(ids)

    def encode_words(self, words: Iterable[str]) -> list[tuple[int, ...]]:
        """Token ids of each word; a word of only control characters has none."""
        return [self.encode_word(w) for w in words]

    def encode(self, text: str) -> list[int]:
        """Token ids of a whole text, word after word (no [CLS]/[SEP])."""
        ids: list[int] = []
        for word in text.split():
            ids.extend(self.encode_word(word))
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.vocab[i] for i in ids]
