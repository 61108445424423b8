"""Synthetic long prompts: planted facts in long essays and key-value lookups of UUIDs.

The project is judged on long prompts that are not in the shared data, so training and tests
need other kinds too. These are built offline and deterministically from a seed:

- ``essay``: paragraphs of prose with one planted fact (``"The special magic number for Lyon is
  48213."``, ``"The secret ingredient in Maria's soup is saffron."``); the question asks for it.
  The prose comes from ``texts`` when given (e.g. NQ passages: real sentences), else from
  pseudo-sentences of words of the tokenizer's vocabulary.
- ``kv``: a JSON object of 20-60 ``"uuid": "uuid"`` pairs; the question asks for the value of one
  key.

Names and filler words are taken from the tokenizer vocabulary shipped with the SDK (whole
words, ranked by frequency), so nothing is downloaded.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from splitinfer.sdk._errors import InvalidInputError

if TYPE_CHECKING:
    from splitinfer.converters.corpus import Case

SYNTHETIC_KINDS = ("essay", "kv")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_FUNCTION_WORDS = (
    "the",
    "of",
    "and",
    "in",
    "to",
    "a",
    "is",
    "was",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
)


@lru_cache(maxsize=1)
def _vocab_words() -> tuple[str, ...]:
    """Whole alphabetic words of the SDK vocabulary, most frequent first."""
    text = resources.files("splitinfer.sdk").joinpath("assets/vocab.txt").read_text(encoding="utf-8")
    return tuple(w for w in text.splitlines()[1996:] if len(w) >= 4 and w.isascii() and w.isalpha())


def _pseudo_sentence(rng: random.Random) -> str:
    words = _vocab_words()[:8000]
    parts = []
    for _ in range(rng.randint(8, 22)):
        pool = _FUNCTION_WORDS if rng.random() < 0.4 else words
        parts.append(rng.choice(pool))
    return parts[0].capitalize() + " " + " ".join(parts[1:]) + "."


def _sentences_of(texts: Sequence[str]) -> list[str]:
    out: list[str] = []
    for text in texts:
        out.extend(s.strip() for s in _SENTENCE_END_RE.split(text) if len(s.split()) >= 5)
    return out


def _plant(rng: random.Random) -> tuple[str, str, str]:
    """One fact: ``(sentence, question, answer)``."""
    words = _vocab_words()
    name = rng.choice(words[2000:12000]).capitalize()
    thing = rng.choice(words[1000:8000])
    word = rng.choice(words[3000:15000])
    number = str(rng.randint(10000, 9999999))
    kind = rng.randrange(4)
    if kind == 0:
        return (
            f"The special magic number for {name} is {number}.",
            f"What is the special magic number for {name}?",
            number,
        )
    if kind == 1:
        return (
            f"The secret ingredient in {name}'s famous {thing} soup is {word}.",
            f"What is the secret ingredient in {name}'s famous {thing} soup?",
            word,
        )
    if kind == 2:
        return (
            f"The password that opens the {thing} vault of {name} is {word}.",
            f"What is the password that opens the {thing} vault of {name}?",
            word,
        )
    return (
        f"{name} was born in the small town of {word.capitalize()}, far from the {thing}.",
        f"In which town was {name} born?",
        word.capitalize(),
    )


def _essay(rng: random.Random, sentences: list[str] | None) -> tuple[str, str, str]:
    fact, question, answer = _plant(rng)
    count = rng.randint(30, 70)
    if sentences:
        body = [sentences[rng.randrange(len(sentences))] for _ in range(count)]
    else:
        body = [_pseudo_sentence(rng) for _ in range(count)]
    body.insert(rng.randint(0, count), fact)
    paragraphs, start = [], 0
    while start < len(body):
        size = rng.randint(3, 7)
        paragraphs.append(" ".join(body[start : start + size]))
        start += size
    return "\n\n".join(paragraphs), question, answer


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _kv(rng: random.Random) -> tuple[str, str, str]:
    pairs = {_uuid(rng): _uuid(rng) for _ in range(rng.randint(20, 60))}
    key = rng.choice(list(pairs))
    context = "JSON data:\n" + json.dumps(pairs)
    return context, f'What is the value of key "{key}" in the JSON object?', pairs[key]


def synthetic_cases(kind: str, n: int, seed: int = 0, texts: Sequence[str] | None = None) -> list[Case]:
    """``n`` synthetic ``Case``s of ``kind`` (``"essay"`` or ``"kv"``), the same for the same seed.

    ``texts`` (essay only): prose to cut sentences from; without it the essay is made of
    pseudo-sentences. Each case's ``split`` follows ``is_heldout`` on its question.
    """
    from splitinfer.converters.corpus import Case, split_of

    if kind not in SYNTHETIC_KINDS:
        raise InvalidInputError(f"unknown synthetic kind {kind!r}; use one of {', '.join(SYNTHETIC_KINDS)}")
    if n < 0:
        raise InvalidInputError(f"the number of synthetic cases must be >= 0, got {n}")
    sentences = _sentences_of(texts) if texts else None
    cases = []
    for i in range(n):
        rng = random.Random(f"synthetic:{kind}:{seed}:{i}")
        context, question, answer = _essay(rng, sentences) if kind == "essay" else _kv(rng)
        cases.append(
            Case(
                id=f"{kind}-{seed}-{i}",
                source=kind,
                split=split_of(question),
                question=question,
                context=context,
                answers=[answer],
            )
        )
    return cases
