"""Selection rules: from word scores to the words that are kept. Pure functions, numpy in and out.

These rules are the contract between the Python SDK, the release pipeline and the Java port on
Android; golden vectors written from this module pin them down. Each step is one function:

1. ``chunk_words``: cut a long text into model windows without splitting a word; the model
   reads each with ``question_tokens`` of the question. With a bundle that reads line breaks
   (``line_break_id`` in its manifest), ``model_tokens`` first puts that id before the tokens of
   each word that starts a line (twice after a blank line).
2. ``word_scores``: token scores -> word scores (the mean of the word's tokens).
3. ``smooth_scores``: blend each word's score with its sentence's and its document's
   (``SelectionWeights``, from the bundle's manifest; both 0 leaves the scores as they are);
   then, with ``name_spans`` in the manifest, ``lift_name_spans``: every word of a name
   (``name_spans``: a run of capitalised or numeric words, such as ``Woody Harrelson`` or
   ``4 June 1927``) takes the best score of the run, so its words are taken together; then, with
   ``answer_types`` in the manifest, ``lift_answer_type``: when the question opens as one asking
   for a name ("who ...") or a number ("when ...", "how many ..."), every word of that kind
   gains the manifest's weight (``answer_kind``, ``answer_type_words``); lastly, with
   ``title_lift`` in the manifest, ``lift_titles``: each document's title (``title_words``)
   takes the best score of the document's text, so a document whose words are kept keeps its
   title first.
4. ``forced_mask``: words that are kept whatever their score.
5. ``token_budget``: how many tokens the condensed text may have.
6. ``select``: which words are kept.

Measured and not adopted: taking each word only together with the word that ends its sentence or
line (so kept sentences keep their full stops and do not run together). The ``extractive``
backend answered from ``minilm-cnn-1.2``'s rate-0.2 NQ contexts 53.0% of 300 train cases instead
of 51.3%, but 48.3% of the 302 held-out ones instead of 49.0% (51.7% from the full contexts);
answers kept moved by one case or less at every rate. Keeping, on top of that, the
``Document [n](Title: ...)`` header of every document with a kept word (within the budget) lost a
further 2.4 points of answers kept at rate 0.1 on the train cases.

Measured and not adopted either: scoring every text a second time with its windows shifted by
half a window (or three more times, by a quarter, a half and three quarters) and averaging the
word scores, so each word is also read away from a window's edge. With ``minilm-cnn-1.3`` on the
302 held-out NQ cases, answers kept at rates 0.1 / 0.2 moved from 73.2 / 95.4% to 72.5 / 96.0%
(72.8 / 95.7%) with numbers forced and from 90.7 / 97.7% to 90.4 / 97.7% (90.1 / 98.0%)
without, and F1 against the teacher from 0.796 to 0.799 (0.801), for two (four) times the model
time.

The bundled weights (sentence 0.6, document 0.2) were checked with ``minilm-cnn-1.2`` against a
grid of 22 pairs (sentence 0 to 0.7, document 0 to 0.4) on 600 train and 302 held-out NQ cases:
none beats them at rates 0.1 and 0.2 on both (train 87.7 / 96.7%, held-out 89.1 / 97.0%; the best
held-out 0.1, 89.4% at 0.5 / 0.3, keeps 96.0% at 0.2 and 87.3% of train cases at 0.1). Every
held-out answer lost at rate 0.1 sits in a sentence the scores rank fourth or lower, which no
blending fixes. Checked again with ``minilm-cnn-1.3`` (numbers not forced): of 28 pairs (sentence
0 to 1, document 0 to 0.6) the best on the 600 train cases is 0.8 / 0.2 (90.3 / 97.5% against
89.2 / 97.2%), and of four strong ones tried on the 302 held-out cases none keeps more at both
rates (0.8 / 0.2: 90.4 / 97.7%; 0.6 / 0.3: 91.4 / 97.4%; against 90.7 / 97.7%).

Name spans (``minilm-cnn-1.5``): of the answers the word scores lost, many were names cut in
half (``Harrelson`` kept, ``Woody`` dropped, so "Woody Harrelson" is not in the condensed text).
Giving every word of a name the best score of its words, with ``minilm-cnn-1.4``'s model on the
302 held-out NQ cases in 10 arrangements (3,020), kept 73.0 / 94.97% of the answers at rates 0.1
/ 0.2 with numbers forced instead of 72.0 / 94.3%, and 88.4 / 97.2% without instead of 87.6 /
96.9%. A name's mean score in place of its best gained about half as much; runs that also bridge
``of``, ``de``, ``van`` and the like, or commas, no more.

Measured beside it and not adopted (same 3,020 cases, answers kept at rates 0.1 / 0.2): a
sentence lifted towards its neighbours' score in its document (``max(own, w x neighbour)``, as
the teacher does, w from 0.6 to 0.95; 1.4's scores): within 0.4 points of nothing at every rate.
Each window's scores shifted or scaled by its own mean, best or 90th percentile before the windows
are compared (1.4): at best 0.2 points up at one rate and down at others, and z-scoring each
window lost 5 to 12 points; of the answers lost at rate 0.1, the sentences ranked above the
answer's sat as often in its own window as in others.
Quoted phrases kept whole, and a number kept with the lower-case word after it ("6,650 km"), on
top of names (1.5): 0.0 and -0.2 points.

Answer types (``minilm-cnn-1.6``): a "who" question asks for a name and a "when" or "how many"
question for a number, and the student's scores do not know it well enough. With 1.5's scores on
the 302 held-out NQ cases in 10 arrangements (3,020), adding 0.1 to every word of a name for
"who", "whom" and "whose" questions, and to every word with a digit (and every word of a name
with one, such as "March 10,") for the number openings, kept 78.4 / 96.1% of the answers at
rates 0.1 / 0.2 with numbers forced instead of 73.0 / 94.97%, and 90.9 / 97.8% without instead
of 88.4 / 97.2%; 1,353 train cases moved alike (73.7 / 96.1% to 79.1 / 97.0%; 90.9 / 97.3% to
92.8 / 97.9%), and the title-line and plain layouts by 2 to 6 points. Lifting the digits alone,
not the rest of a date, gained 0.6 points less at rate 0.1. Weights 0.06 and 0.15 did about as
well; "where" and "which" as name openings, or single capitalised words as names, no better.
Measured beside it and not adopted: each sentence lifted by 0.1 times the share of the
question's words it contains (each weighted by how rare it is in the prompt): +1.2 / +0.2
points with numbers forced, +0.6 / -0.2 without (1.5's scores, same cases).
Nor a learnt sentence reranker after these rules: a logistic regression fitted on the 1,353
train cases to tell the sentence holding the answer from the others (features: the sentence's
mean, best and rank of word scores, its document's best sentence, its gap to the prompt's best,
the rare question words and word pairs it holds, whether it holds what the question asks for, its
length and place in its document), its probability or its rank added to the scores with weights
0.05 to 0.4. On the 3,020 held-out cases it kept 76.8 to 78.4% at rate 0.1 with numbers forced
against 78.4%, and within 0.3 points of 1.6's 96.1%, 90.9% and 97.8% elsewhere. What such
features know, the student's scores already carry (its largest weights went to the document's
best sentence and the gap to the best). Nor a short sentence's mean pulled toward its document's
(its tokens' sum plus k times the document's mean, over its tokens plus k), so that a two-word
sentence with one good word does not outrank whole sentences: with k = 2 (5), 78.5 / 96.3%
(78.4 / 96.4%) with numbers forced and 91.0 / 97.8% (91.1 / 97.8%) without, on the same cases.

Titles (``minilm-cnn-1.7``): a sentence kept without its document's title often no longer says
what it is about ("The song has been played at Fenway Park since at least 1997": which song?), and
the title is often the answer itself: NQ's answers are often the title of the Wikipedia page that
holds them ("Toto (Oz))", "Epithelium)", "Kansas Jayhawks men's basketball)"). Each document's
title lifted to the best score of its text (the ``Document [n](Title:`` wrapper left as it was),
with 1.6's scores on the 302 held-out NQ cases, kept 80.5 / 97.4 / 99.7% of the answers at rates
0.1 / 0.2 / 0.33 with numbers forced instead of 79.1 / 96.7 / 99.7%, and 93.4 / 98.0 / 99.7%
without instead of 90.7 / 98.0 / 99.7% (at rate 0.1, 10 answers gained and 2 lost without
forced numbers, 9 and 5 with them; every answer gained is found only in a title kept); with
each title on a line of its own, 74.5 / 96.7% and 93.4 / 97.7% instead of 73.5 / 95.7% and
90.7 / 97.0%; with random distractors 84.1 / 99.3% instead of 84.4 / 99.3% (numbers
forced); essays and key-value prompts, which have no titles, kept what they kept. The
``extractive`` stand-in, which reads the condensed prompt, answered 54.6% of the questions from
the rate-0.2 contexts instead of 49.3% (51.7% from the full ones): a passage that says what it is
about is found. The whole header lifted, wrapper and index included, cost what its tokens take
from the budget: 77.5 / 96.7 / 99.3% with numbers forced.
Other prompts (41 questions on 27 hand-written texts: Markdown, e-mail, chat, transcripts, code,
tables, JSON, YAML, FAQs, logs, documents with their titles; at rates 0.1 / 0.2 / 0.33) showed where
a title line is not one: the first line of a paragraph hard-wrapped at 60 columns, and a line of
code above the next, read as titles and took the budget of the words after them. On six
paragraphs wrapped that way, 12 questions, the rule lost 2 answers and gained none. Such a line is
followed by one that goes on with its sentence, so a title line above a line that starts with a
lower-case ASCII letter is no longer lifted: the wrapped paragraphs then keep what they kept
without the rule, and of the 123 condensed texts of the 27, 24 change instead of 45, with 3
answers gained and none lost (4 gained and 1 lost before). Measured with NQ's titles on lines of
their own (5 arrangements): 75.4 / 96.0% at rates 0.1 / 0.2 with numbers forced, 91.6 / 97.6%
without, against 75.2 / 95.9% and 91.6 / 97.6% when every title line was lifted.

Nor does another measure of a sentence than its words' mean. With ``minilm-cnn-1.4`` on the 302
held-out NQ cases in 10 arrangements (3,020), answers kept at rates 0.1 / 0.2 were 72.0 / 94.3%
with numbers forced and 87.6 / 96.9% without for the mean; 71.9 / 94.5% and 88.0 / 96.9% for the
mean of its better half of words; 71.4 / 94.3% and 88.0 / 96.5% of its best quarter; 71.9 /
94.4% and 87.8 / 97.0% for a power mean (p = 3); 70.9 / 94.0% and 87.5 / 96.5% for its best word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

import numpy as np

from splitinfer.sdk._errors import InvalidInputError
from splitinfer.sdk._segments import OPENERS, Segment, is_header_index, line_breaks
from splitinfer.sdk._text import split_words
from splitinfer.sdk._unicode import casefold, has_decimal, is_digit, is_upper

# Tokens per word: a list, or an int array as the condenser holds them.
TokenCounts: TypeAlias = "Sequence[int] | np.ndarray"

# Characters stripped from both ends of a word before it is compared with a forced word: ASCII
# punctuation but for "#" and "+" (C#, C++), quotes of several languages, symbols that stick to a
# name ("$", "\u2122"), and CJK brackets and punctuation. Only BMP characters: the Java port reads
# UTF-16 units.
EDGE_PUNCTUATION = (
    "\"'()[]{}<>.,;:!?`*_-\u201c\u201d\u2018\u2019\u00ab\u00bb\u2026\u2013\u2014"
    "@$%~^|\\\u00a7\u00b0\u20ac\u00a3\u00a5\u00a2\u2122\u00ae\u00a9\u201e\u201a\u2039\u203a\u00bf\u00a1"
    "\u300c\u300d\u300e\u300f\uff08\uff09\u3010\u3011\u300a\u300b\u3008\u3009\u3014\u3015\uff0c\u3002\u3001\uff01\uff1f\uff1a\uff1b"
)
# Characters that print nothing and that the tokenizer drops (soft hyphen, zero-width space and
# joiners, word joiner, BOM): removed from a word before it is compared with a forced word, as the
# model does not see them either.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_NO_INVISIBLE = str.maketrans("", "", INVISIBLE)
# A forced word also matches each part of a compound cut at these ("Strauss-designed", "TCP/IP").
_COMPOUND = re.compile("[-/\u2010-\u2015]")
_POSSESSIVE = ("'s", "\u2019s")


# Most line-break ids put before one word: one for a line break, two for a blank line or more.
MAX_LINE_BREAK_MARKS = 2


def line_break_marks(gaps: Sequence[str]) -> list[int]:
    """How many line-break ids the model reads before each word: the line breaks in the gap
    before it (``\n``, ``\r`` and ``\r\n`` count one each), at most ``MAX_LINE_BREAK_MARKS``;
    0 for the first word."""
    return [min(line_breaks(gap), MAX_LINE_BREAK_MARKS) for gap in ["", *gaps[:-1]]] if gaps else []


def model_tokens(
    ids: Sequence[tuple[int, ...]], marks: Sequence[int], line_break_id: int | None
) -> list[tuple[int, ...]]:
    """Each word's tokens as the model reads them: ``marks[i]`` copies of ``line_break_id``, then
    its own tokens. The model scores a mark as a token of the word after it; budgets count the
    word's own tokens only. ``line_break_id`` None (a bundle that reads no line breaks): ``ids``."""
    if line_break_id is None:
        return list(ids)
    return [(line_break_id,) * m + tuple(t) if m else tuple(t) for t, m in zip(ids, marks, strict=True)]


def chunk_words(token_counts: Sequence[int], max_tokens: int) -> list[tuple[int, int]]:
    """Split words into consecutive windows of at most ``max_tokens`` tokens, never inside a word.

    Returns ``(start, end)`` word-index ranges covering every word. A single word longer than
    the window gets a window of its own (the model then sees only its first ``max_tokens``
    tokens). No words, no windows.
    """
    if max_tokens <= 0:
        raise ValueError("max_tokens must be positive")
    windows: list[tuple[int, int]] = []
    start, used = 0, 0
    for i, count in enumerate(token_counts):
        if used + count > max_tokens and i > start:
            windows.append((start, i))
            start, used = i, 0
        used += count
    if start < len(token_counts):
        windows.append((start, len(token_counts)))
    return windows


def word_scores(token_scores: np.ndarray, token_counts: TokenCounts) -> np.ndarray:
    """Mean token score of each word (float32); a word with no tokens scores 0."""
    counts = np.asarray(token_counts, dtype=np.int64)
    scores = np.asarray(token_scores, dtype=np.float32)
    if scores.shape[0] != counts.sum():
        raise ValueError(f"{scores.shape[0]} token scores for {counts.sum()} tokens")
    out = np.zeros(len(counts), dtype=np.float32)
    nonempty = counts > 0
    if nonempty.any():
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[nonempty]
        sums = np.add.reduceat(scores, starts) if scores.size else np.zeros(0, np.float32)
        out[nonempty] = sums / counts[nonempty]
    return out


# The openings of English questions that ask for a name or a number (``AnswerTypes``), as the
# bundled condenser's manifest lists them: words as ``normalize_word`` leaves them.
NAME_QUESTIONS = ("who", "whom", "whose")
NUMBER_QUESTIONS = (
    "when",
    "what year",
    "which year",
    "what date",
    "how many",
    "how much",
    "how old",
    "how long",
    "how far",
    "how tall",
    "what percentage",
)
ANSWER_KINDS = ("names", "numbers")


@dataclass(frozen=True)
class AnswerTypes:
    """Question openings that ask for a name or a number, and how much the words of that kind
    gain when a question opens so (``lift_answer_type``).

    Stored in the manifest as ``"selection": {..., "answer_types": {"weight": 0.1, "names":
    ["who", ...], "numbers": ["when", "how many", ...]}}``; each opening is one or more words as
    ``normalize_word`` leaves them (case-folded, no edge punctuation: "wie gross", not "wie
    groß"), separated by one space (each CJK ideograph is a word: "谁 是"), and no opening is
    listed twice. A bundle for another language lists its own.
    """

    weight: float
    names: tuple[str, ...] = NAME_QUESTIONS
    numbers: tuple[str, ...] = NUMBER_QUESTIONS

    def __post_init__(self) -> None:
        if (
            isinstance(self.weight, bool)
            or not isinstance(self.weight, (int, float))
            or not 0.0 < self.weight <= 1.0
        ):
            raise ValueError(f"answer_types weight must be a number in (0, 1], got {self.weight!r}")
        seen: dict[str, str] = {}
        for kind in ANSWER_KINDS:
            openings = getattr(self, kind)
            if not isinstance(openings, (tuple, list)) or not openings:
                raise ValueError(f"answer_types {kind} must be a non-empty list of question openings")
            for opening in openings:
                written = question_opening(opening) if isinstance(opening, str) else ""
                if not written:
                    raise ValueError(f"answer_types {kind} has {opening!r}; an opening is one or more words")
                if opening != written:
                    raise ValueError(
                        f"answer_types {kind} has {opening!r}; write it as words are compared, "
                        f"{written!r}: case-folded, without edge punctuation, one space apart"
                    )
                if opening in seen:
                    where = (
                        f"twice in {kind}" if seen[opening] == kind else f"in {seen[opening]} and in {kind}"
                    )
                    raise ValueError(f"answer_types opening {opening!r} is {where}")
                seen[opening] = kind
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "numbers", tuple(self.numbers))

    def to_manifest(self) -> dict[str, Any]:
        return {"weight": float(self.weight), "names": list(self.names), "numbers": list(self.numbers)}

    @classmethod
    def from_manifest(cls, entry: Any) -> AnswerTypes:
        if not isinstance(entry, dict):
            raise ValueError(f"answer_types must be an object, got {type(entry).__name__}")
        if set(entry) != {"weight", "names", "numbers"}:
            raise ValueError(
                f"answer_types takes weight, names and numbers, got {', '.join(sorted(entry)) or 'nothing'}"
            )
        return cls(entry["weight"], entry["names"], entry["numbers"])


def question_opening(text: str) -> str:
    """An opening as ``AnswerTypes`` stores it: the text's words, each by ``normalize_word``, one
    space apart, empty ones left out."""
    return " ".join(w for w in (normalize_word(word) for word in split_words(text)[0]) if w)


# The keys of a manifest's "selection" object, in the order SelectionWeights applies them.
SELECTION_KEYS = ("segment_weight", "document_weight", "name_spans", "answer_types", "title_lift")


@dataclass(frozen=True)
class SelectionWeights:
    """How much of a word's score comes from its sentence and from its document.

    A word's score becomes ``(1 - segment - document) * own + segment * sentence mean +
    document * best sentence mean of its document``. The teacher ranks whole sentences and
    documents; the student's per-word scores are noisier inside a sentence, and blending pulls
    the words of a well-placed sentence (the answer's name or number among them) up together.
    Stored in the bundle's manifest as ``"selection": {"segment_weight", "document_weight"}``;
    a bundle without it gets ``(0, 0)``: word scores as the model gives them. ``name_spans``
    (``"name_spans": true`` in the same object; absent is false) then lifts every word of a name
    to the best score of the name (``lift_name_spans``). ``answer_types`` (``AnswerTypes``, the
    same object's ``"answer_types"``; absent is none) then lifts the words a question asks for
    (``lift_answer_type``), and ``title_lift`` (``"title_lift": true``; absent is false) lastly
    raises each document's title to the best score of its text (``lift_titles``).
    """

    segment: float = 0.0
    document: float = 0.0
    name_spans: bool = False
    answer_types: AnswerTypes | None = None
    title_lift: bool = False

    def __post_init__(self) -> None:
        for name, value in (("segment_weight", self.segment), ("document_weight", self.document)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if self.segment + self.document > 1.0:
            raise ValueError(
                f"segment_weight + document_weight must be at most 1, got {self.segment} + {self.document}"
            )
        for name, flag in (("name_spans", self.name_spans), ("title_lift", self.title_lift)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be true or false, got {flag!r}")
        if self.answer_types is not None and not isinstance(self.answer_types, AnswerTypes):
            raise ValueError(
                f"answer_types must be AnswerTypes or None, got {type(self.answer_types).__name__}"
            )

    @property
    def blends(self) -> bool:
        """Whether ``smooth_scores`` changes anything (a weight above 0)."""
        return self.segment > 0.0 or self.document > 0.0

    @property
    def active(self) -> bool:
        """Whether the scores are changed at all before selection (blending, name spans, answer
        types or titles)."""
        return self.blends or self.name_spans or self.answer_types is not None or self.title_lift

    def to_manifest(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "segment_weight": float(self.segment),
            "document_weight": float(self.document),
        }
        if self.name_spans:  # absent means off: bundles made before name spans stay byte for byte
            entry["name_spans"] = True
        if self.answer_types is not None:  # absent means none, likewise
            entry["answer_types"] = self.answer_types.to_manifest()
        if self.title_lift:  # absent means off, likewise
            entry["title_lift"] = True
        return entry

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> SelectionWeights:
        """The manifest's ``selection`` weights; ``ValueError`` says what is wrong with them."""
        entry = manifest.get("selection")
        if entry is None:
            return cls()
        if not isinstance(entry, dict):
            raise ValueError(f"selection must be an object, got {type(entry).__name__}")
        unknown = sorted(set(entry) - set(SELECTION_KEYS))
        if unknown:
            raise ValueError(
                f"selection has unknown keys {', '.join(unknown)}; it takes {', '.join(SELECTION_KEYS[:-1])} "
                f"and {SELECTION_KEYS[-1]}"
            )
        types = entry.get("answer_types")
        return cls(
            entry.get("segment_weight", 0.0),
            entry.get("document_weight", 0.0),
            entry.get("name_spans", False),
            None if types is None else AnswerTypes.from_manifest(types),
            entry.get("title_lift", False),
        )


def smooth_scores(
    scores: np.ndarray, token_counts: TokenCounts, segments: Sequence[Segment], weights: SelectionWeights
) -> np.ndarray:
    """Word scores blended with their segment's and their document's (float32).

    A segment's score is the token-weighted mean of its words' scores (0 for a segment without
    tokens); a document's score is the best score of its segments. ``segments`` must cover every
    word once, in order (``segment_words``); ``ValueError`` otherwise. Arithmetic is float64, and a
    segment's sum is the difference of two running totals over the whole text (a cumulative sum),
    which equals its own sum up to float64 rounding and lets the Java port reproduce it bit for bit.
    """
    own = np.asarray(scores, dtype=np.float32)
    if not weights.blends:
        return own.copy()
    counts = np.asarray(token_counts, dtype=np.int64)
    if own.shape != counts.shape:
        raise ValueError("scores and token_counts must have one entry per word")
    edge = 0
    for seg in segments:
        if seg.start != edge or seg.end <= seg.start:
            raise ValueError(
                f"segments must cover the words in order; got [{seg.start}, {seg.end}) after {edge}"
            )
        edge = seg.end
    if edge != len(own):
        raise ValueError(f"segments cover {edge} words of {len(own)}")
    running = np.concatenate(([0.0], np.cumsum(own.astype(np.float64) * counts)))
    tokens = np.concatenate(([0], np.cumsum(counts)))
    segment_score = np.zeros(len(own), dtype=np.float64)
    document_best: dict[int, float] = {}
    for seg in segments:
        n = int(tokens[seg.end] - tokens[seg.start])
        value = float(running[seg.end] - running[seg.start]) / n if n else 0.0
        segment_score[seg.start : seg.end] = value
        document_best[seg.doc] = max(document_best.get(seg.doc, value), value)
    document_score = np.zeros(len(own), dtype=np.float64)
    for seg in segments:
        document_score[seg.start : seg.end] = document_best[seg.doc]
    keep_own = (1.0 - weights.segment) - weights.document
    blended = (
        keep_own * own.astype(np.float64)
        + weights.segment * segment_score
        + weights.document * document_score
    )
    return blended.astype(np.float32)


# A name ends after a word ending in one of these: "Paris, France" is two names.
NAME_END = ",;:)"
_NAME_END = tuple(NAME_END)  # for str.endswith


def is_name_word(word: str) -> bool:
    """Whether ``word`` can be part of a name: its first character past leading
    ``EDGE_PUNCTUATION`` is an upper-case letter or a digit (``_unicode``'s frozen table)."""
    core = word.lstrip(EDGE_PUNCTUATION)
    return bool(core) and (is_upper(core[0]) or is_digit(core[0]))


def name_spans(words: Sequence[str], segments: Sequence[Segment]) -> list[tuple[int, int]]:
    """The names of a text: ``(start, end)`` word ranges, ascending.

    A name is a run of at least two consecutive words of one segment that is not a header, each
    of them a name word (``is_name_word``: "Woody Harrelson", "U.S. Senate", "4 June 1927", "Boeing
    747"); a run ends after a word ending in one of ``NAME_END``. A sentence's capitalised first
    word joins the name after it ("The Astros"): harmless, as every word of a name gets its best
    score, never a worse one.
    """
    spans: list[tuple[int, int]] = []
    for seg in segments:
        if seg.header:
            continue
        i = seg.start
        while i < seg.end:
            if not is_name_word(words[i]):
                i += 1
                continue
            j = i + 1
            while j < seg.end and not words[j - 1].endswith(_NAME_END) and is_name_word(words[j]):
                j += 1
            if j - i > 1:
                spans.append((i, j))
            i = j
    return spans


# Names as ``name_spans`` gives them, for the functions below that use them: a caller that has
# them already (``selection_scores``) passes them in, so they are found once per text.
Spans = Sequence[tuple[int, int]]


def lift_name_spans(
    scores: np.ndarray, words: Sequence[str], segments: Sequence[Segment], *, spans: Spans | None = None
) -> np.ndarray:
    """``scores`` (float32) with every word of a name (``name_spans``, or ``spans`` when given)
    raised to the best score of its name. The words of a name then follow one another in
    ``select`` (equal scores go in text order), so a name is cut only where the budget runs out
    inside it, not to "Harrelson" because "Woody" scored lower."""
    out = np.array(scores, dtype=np.float32)
    if out.shape != (len(words),):
        raise ValueError("scores and words must have one entry per word")
    for start, end in name_spans(words, segments) if spans is None else spans:
        out[start:end] = out[start:end].max()
    return out


def answer_kind(question: str | None, types: AnswerTypes) -> str | None:
    """``"names"``, ``"numbers"`` or None: the kind of the longest of ``types``' openings the
    question opens with, word for word (each by ``normalize_word``, words that leave nothing
    skipped: "Who's", "(who" and "WHO" open with "who"). No question, no kind."""
    if not question:
        return None
    words = question_opening(question).split(" ")
    best, kind = 0, None
    for name in ANSWER_KINDS:
        for opening in getattr(types, name):
            parts = opening.split(" ")
            if len(parts) > best and words[: len(parts)] == parts:
                best, kind = len(parts), name
    return kind


def answer_type_words(
    words: Sequence[str], segments: Sequence[Segment], kind: str, *, spans: Spans | None = None
) -> np.ndarray:
    """Which words are of ``kind`` (bool mask): for ``"names"`` every word of a name
    (``name_spans``, or ``spans`` when given); for ``"numbers"`` every word with a decimal digit of any script that is not
    in a header, and every word of a name that has such a word ("March 10," and "4 June 1927"
    whole: a date is asked for with its month). ``ValueError`` for another kind."""
    if kind not in ANSWER_KINDS:
        raise ValueError(f"answer kind must be one of {', '.join(ANSWER_KINDS)}, got {kind!r}")
    mask = np.zeros(len(words), dtype=bool)
    if kind == "numbers":
        for seg in segments:
            if not seg.header:
                mask[seg.start : seg.end] = [has_decimal(word) for word in words[seg.start : seg.end]]
    for start, end in name_spans(words, segments) if spans is None else spans:
        if kind == "names" or mask[start:end].any():
            mask[start:end] = True
    return mask


def lift_answer_type(
    scores: np.ndarray,
    words: Sequence[str],
    segments: Sequence[Segment],
    question: str | None,
    types: AnswerTypes,
    *,
    spans: Spans | None = None,
) -> np.ndarray:
    """``scores`` (float32) with ``types.weight`` added (in float32) to every word of the kind
    the question asks for (``answer_kind``, ``answer_type_words`` with ``spans``); unchanged for
    a question that asks for neither. For a "who" question the names of the best sentences then
    come before their other words, and a few names from more sentences fit a small budget."""
    out = np.array(scores, dtype=np.float32)
    if out.shape != (len(words),):
        raise ValueError("scores and words must have one entry per word")
    kind = answer_kind(question, types)
    if kind is not None:
        out[answer_type_words(words, segments, kind, spans=spans)] += np.float32(types.weight)
    return out


def title_words(words: Sequence[str], seg: Segment) -> tuple[int, int]:
    """The word range of a header segment's title: a ``Document [n](Title: ...)`` header without
    its ``Document [n](Title:`` wrapper, a title line without leading words of ``#`` alone (a
    Markdown heading's marks)."""
    start = seg.start
    if seg.end - start >= 3 and is_header_index(words, start + 1):
        start += 2
    else:
        while start < seg.end and words[start].strip("#") == "":
            start += 1
    return start, seg.end


def lift_titles(scores: np.ndarray, words: Sequence[str], segments: Sequence[Segment]) -> np.ndarray:
    """``scores`` (float32) with every word of a document's title (``title_words`` of its header
    segments) raised to the best score of the document's other words. Equal scores go in text
    order in ``select``, so a document whose best words are kept has its title kept first: "Sweet
    Caroline) The song has been played at Fenway Park", not "The song has been played ...". A
    document without a header, or a header without a text under it, is left as it is.

    A title line (not a ``Document [n](Title: ...)`` header, no ``#`` marks) whose document's text
    starts with a lower-case ASCII letter (past opening quotes and brackets, ``OPENERS``) is left
    as it is too:
    that line is the start of a hard-wrapped sentence ("Quick update on the offsite logistics for
    next / month. We have booked ...") or of code (``async function find(id) {`` above ``const
    ...``), not a title, and lifting it spent the budget on it."""
    out = np.array(scores, dtype=np.float32)
    if out.shape != (len(words),):
        raise ValueError("scores and words must have one entry per word")
    best: dict[int, np.float32] = {}
    first: dict[int, str] = {}  # each document's first word under its header
    for seg in segments:
        if not seg.header and seg.end > seg.start:
            top = out[seg.start : seg.end].max()
            best[seg.doc] = top if seg.doc not in best else max(best[seg.doc], top)
            first.setdefault(seg.doc, words[seg.start])
    lifted = out.copy()
    for seg in segments:
        if seg.header and seg.doc in best:
            start, end = title_words(words, seg)
            if start == seg.start and _continues_a_sentence(first[seg.doc]):
                continue
            lifted[start:end] = np.maximum(out[start:end], best[seg.doc])
    return lifted


def _continues_a_sentence(word: str) -> bool:
    """Whether ``word`` starts with a lower-case ASCII letter, past opening quotes and brackets
    (``OPENERS``, as the sentence rules skip them)."""
    core = word.lstrip(OPENERS)
    return bool(core) and "a" <= core[0] <= "z"


def selection_scores(
    scores: np.ndarray,
    token_counts: TokenCounts,
    words: Sequence[str],
    segments: Sequence[Segment],
    weights: SelectionWeights,
    question: str | None = None,
) -> np.ndarray:
    """The scores words are chosen by: ``smooth_scores``, then ``lift_name_spans`` when
    ``weights.name_spans``, then ``lift_answer_type`` for ``question`` when
    ``weights.answer_types``, the text's names found once for both, then ``lift_titles`` when
    ``weights.title_lift``. What the ``Condenser`` runs, and anything measuring it, calls this."""
    out = smooth_scores(scores, token_counts, segments, weights)
    spans = None
    if weights.name_spans:
        spans = name_spans(words, segments)
        out = lift_name_spans(out, words, segments, spans=spans)
    if weights.answer_types is not None:
        out = lift_answer_type(out, words, segments, question, weights.answer_types, spans=spans)
    if weights.title_lift:
        out = lift_titles(out, words, segments)
    return out


def question_tokens(ids: Sequence[int], size: int) -> list[int]:
    """The question tokens the model reads: all of them when they fit in ``size``, else the first
    ``size // 2`` and the last ``size - size // 2``. A long question usually names its subject
    first and asks last ("Given the report below, [...] what was the revenue in 2023?"); the
    model's question features do not depend on token order."""
    ids = list(ids)
    if len(ids) <= size:
        return ids
    head = size // 2
    return ids[:head] + ids[len(ids) - (size - head) :]


def question_input(ids: Sequence[int], size: int) -> np.ndarray:
    """The model's question input: ``question_tokens`` of the question's ids, as int32 padded
    with 0 to ``size``."""
    tokens = question_tokens(ids, size)
    padded = np.zeros(size, dtype=np.int32)
    padded[: len(tokens)] = tokens
    return padded


@lru_cache(maxsize=1 << 16)
def normalize_word(word: str) -> str:
    """A word as forced words are matched: ``INVISIBLE`` characters removed, edge punctuation
    stripped, case-folded, a possessive ``'s`` dropped ("«Strauss's»" is "strauss")."""
    core = casefold(word.translate(_NO_INVISIBLE).strip(EDGE_PUNCTUATION))
    if len(core) > 2 and core.endswith(_POSSESSIVE):
        core = core[:-2]
    return core


def _matches(word: str, wanted: set[str]) -> bool:
    if normalize_word(word) in wanted:
        return True
    return _COMPOUND.search(word) is not None and any(
        normalize_word(part) in wanted for part in _COMPOUND.split(word)
    )


def force_phrases(force: Iterable[str]) -> list[tuple[str, ...]]:
    """The ``force`` entries as ``forced_mask`` matches them: each entry's words (``split_words``,
    so each CJK ideograph is one), normalised by ``normalize_word``; words that normalise to
    nothing (a lone dash) are left out, and so are entries with no word left."""
    phrases = []
    for entry in force:
        words = tuple(w for w in (normalize_word(part) for part in split_words(entry)[0]) if w)
        if words:
            phrases.append(words)
    return phrases


def forced_mask(words: Sequence[str], force: Iterable[str] = (), keep_digits: bool = True) -> np.ndarray:
    """Which words are always kept.

    A word is forced when it matches a ``force`` entry (both normalised by ``normalize_word``;
    a compound matches by any of its parts, so ``Strauss`` forces "Strauss-designed" and
    "Strauss\u2014who"). An entry of several words (``force_phrases``) forces them where they
    stand together, in its order, each word matched the same way: ``The Hague`` forces "The
    Hague's" and not every "the", and ``\u5317\u4eac`` (two CJK ideographs, each a word of its
    own, ``_text``) forces the two where they follow each other, not every \u5317. With
    ``keep_digits`` a word is also forced when it contains a decimal digit of any script
    (numbers, dates, IDs, amounts: "1937", "\u0661\u0669\u0663\u0667",
    "\uff11\uff19\uff13\uff17") and is not the index of a ``Document [n](Title: ...)`` header
    (``is_header_index``). That index numbers the documents of the layout and says nothing alone.
    Forcing it kept a ``[3](Title:`` of every document, dropped or not: on the held-out NQ
    contexts, half of all forced tokens, and the forced words exceeded a 0.1 budget in 44% of the
    contexts (3% without the indices). A header is kept or dropped by its score like any other
    words (``force=["[3](Title:"]`` still forces one).
    """
    # A decimal digit of any script (category Nd: "7", "\u0667", "\uff17", "\u096d").
    has_digit = has_decimal if keep_digits else (lambda _word: False)
    forced = np.fromiter(
        (has_digit(word) and not is_header_index(words, i) for i, word in enumerate(words)),
        dtype=bool,
        count=len(words),
    )
    phrases = force_phrases(force)
    firsts = {p[0] for p in phrases}  # only a word that could start an entry is looked at further
    for i, word in enumerate(words):
        if firsts and _matches(word, firsts):
            for phrase in phrases:
                end = i + len(phrase)
                if end <= len(words) and all(_matches(words[i + j], {w}) for j, w in enumerate(phrase)):
                    forced[i:end] = True
    return forced


def token_budget(total_tokens: int, rate: float | None = None, target_tokens: int | None = None) -> int:
    """Tokens the condensed text may have: ``target_tokens`` if given, else ``round(rate * total)``.

    Rounds half up, but a rate keeps at least one token of a text that has any: a rate asks for
    some of the text, and "Paris" at 0.33 would otherwise send nothing. Raises
    ``InvalidInputError`` for a rate outside (0, 1] or a negative target.
    """
    if target_tokens is not None:
        if target_tokens < 0:
            raise InvalidInputError(f"target_tokens must be >= 0, got {target_tokens}")
        return min(int(target_tokens), total_tokens)
    if rate is None or not (0.0 < rate <= 1.0):
        raise InvalidInputError(f"rate must be in (0, 1], got {rate}; e.g. 0.33 keeps a third of the tokens")
    return min(max(int(np.floor(rate * total_tokens + 0.5)), 1), total_tokens)


def select(scores: np.ndarray, token_counts: TokenCounts, forced: np.ndarray, budget: int) -> np.ndarray:
    """Indices (ascending, int32) of the kept words.

    Every forced word is kept, even past the budget. The other words are taken best score first
    (ties: the earlier word first); a word is taken when its tokens still fit in what is left of
    the budget, else passed over for smaller ones further down, until the budget is spent. Words
    without tokens (only zero-width or control characters) are never taken unless forced, or
    unless the budget covers every token: then every word is kept and the text comes back whole.
    """
    scores = np.asarray(scores, dtype=np.float32)
    counts = np.asarray(token_counts, dtype=np.int64)
    forced = np.asarray(forced, dtype=bool)
    if not (scores.shape == counts.shape == forced.shape):
        raise ValueError("scores, token_counts and forced must have one entry per word")
    if budget >= int(counts.sum()):
        return np.arange(len(counts), dtype=np.int32)
    keep = forced.copy()
    left = budget - int(counts[forced].sum())
    # Stable sort on -score keeps the earlier word first among equal scores.
    for i in np.argsort(-scores, kind="stable"):
        if left <= 0:
            break
        if keep[i] or counts[i] == 0 or counts[i] > left:
            continue
        keep[i] = True
        left -= int(counts[i])
    return np.flatnonzero(keep).astype(np.int32)
