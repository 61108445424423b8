"""Golden vectors for score smoothing: ``segment_words``, ``smooth_scores``, ``name_spans`` /
``lift_name_spans``, the answer types (``answer_kind``, ``answer_type_words`` /
``lift_answer_type``, ``AnswerTypes.from_manifest``) and the title lift (``title_words`` /
``lift_titles``, and ``selection_scores`` with every rule on) as pure functions.

``make_golden.py`` writes them into ``golden_vectors.json`` under ``"segments"``, ``"smoothing"``,
``"names"``, ``"answer_kinds"``, ``"answer_types"``, ``"titles"`` and ``"answer_type_manifests"``
(the ``selection`` entries of manifests, the ``title_lift`` flag among them); the Java port
(``Segments``, ``Selection.smoothScores``, ``Selection.nameSpans``, ``Selection.liftNameSpans``,
``Selection.answerKind``, ``Selection.answerTypeWords``, ``Selection.liftAnswerType``,
``Selection.titleWords``, ``Selection.liftTitles``, ``Selection.selectionScores``,
``SelectionWeights.fromManifest``) must reproduce them exactly (segments as ``[start, end, doc,
header]``, names and titles as ``[start, end]``, scores bit for bit as float32, a refused
manifest by the same message).

Each text targets a rule the port could get wrong: line ends (LF, CR, CRLF, blank lines, and the
other Unicode line separators that do *not* end a document), ``Document [n](Title: ...)`` headers
(nested parentheses, the 40-word limit, Unicode decimal digits but not superscripts), sentence
ends after closing quotes and brackets, abbreviations and single initials (counted in code
points, so an astral letter is one), the next word's first code point (Python's ``isupper`` and
``isdigit``: Roman numerals, superscripts, astral letters and digits), opening quotes, and cuts of
long segments into equal pieces (Python's ``round`` is half to even). The answer-kind questions
open with an opening after case, edge punctuation, possessives and odd whitespace, or only nearly
("whoever", "how-many", a zero-width space, fullwidth letters), and casefold non-ASCII openings
("groß", final sigma); two custom lists have openings that are prefixes of one another, across
kinds and in either order. A text of names with a digit ("March 10,", "4 June 1927.", a date in a
header) and without ("Ann Arbor.") pins which names a "numbers" question marks whole. The refused
manifests have openings of no words ("", " ", "?"), openings written otherwise than they are
compared ("Who" for "who", "wie groß" for "wie gross"), openings that are not text, and openings
listed twice, in one list or in both. The title texts have ``Document [n](Title: ...)`` headers
(one with no text under it, one whose title opens with ``##``), title lines with Markdown marks
(``##``, two runs of ``###``, ``#hashtag``, which is a word), a title line over a header (two
header segments of one document), an unclosed header that is a title line (its wrapper still
left out), and a text without headers; and title lines over text that goes on with their
sentence, which are not lifted: a hard-wrapped paragraph, code, next lines opening ``"a``,
``(b``, ``[c``, ``{d``, ``'e``, ``\u201cf`` and ``\u00abg``, beside next lines that do not go on
(upper case, a digit, ``été``, ``"(`` alone, a curly quote before upper case) and headings and headers over lower-case text, which are
lifted. Hand-made vectors add a title already above its text's best, a header after its text,
empty segments, documents whose segments interleave, a document's first text segment taken in
segment order, first words outside ASCII or of no letters, and ``Document [n](Title:`` headers
too short to be headers. ``_check_titles`` fails when no vector has a title line skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from splitinfer.sdk._segments import OPENERS, Segment, segment_words
from splitinfer.sdk._selection import (
    AnswerTypes,
    SelectionWeights,
    answer_kind,
    answer_type_words,
    lift_answer_type,
    lift_name_spans,
    lift_titles,
    name_spans,
    question_opening,
    selection_scores,
    smooth_scores,
    title_words,
)
from splitinfer.sdk._text import split_words
from splitinfer.sdk._tokenizer import WordPieceTokenizer
from splitinfer.sdk._unicode import has_decimal

ScoreSource = Callable[[int, int, int], np.ndarray]

# (max_words, max_tokens): the SDK's defaults, and small limits that cut almost every sentence.
LIMITS = ((48, 96), (5, 7))

WEIGHTS = ((0.0, 0.0), (0.6, 0.2), (1.0, 0.0), (0.0, 1.0), (0.3, 0.7), (0.25, 0.5), (0.1, 0.0))


def _header_at_limit(title_words: int) -> str:
    return "Document [9](Title: " + " ".join(["w"] * title_words) + " end) Body. Next."


def texts() -> list[tuple[str, str]]:
    """``(name, text)`` pairs; names are unique."""
    return [
        ("empty", ""),
        ("whitespace_only", "  \n \r\n "),
        ("two_sentences", "Paris is big. Berlin is bigger."),
        ("no_capital_after_period", "it ends here. and goes on. then 42 more."),
        ("question_and_exclamation", "Really? Yes! 3 apples. (Maybe) not! ok? fine."),
        (
            "abbreviations",
            "Mr. Smith went to the U.S. on Jan. 5. Dr. Who met J. R. R. Tolkien etc. Then left. "
            "No. 5 is Fig. 2 here. MRS. Jones and APPROX. Nine. Inc. Ltd. Co. Corp. Gen. Done.",
        ),
        (
            "quotes_and_brackets_close",
            'He said "Stop." Then "Go!" she said. \u201cYes.\u201d \u00abNon.\u00bb Ok. '
            "It was (very big.) Next one. [See above.] Done. {x.}) Y.",
        ),
        (
            "openers_start_the_next_sentence",
            'Done. "quoted start" and. (paren start) end. \u2018single\u2019 x. \u00abguillemet\u00bb y. "',
        ),
        (
            "multi_document_headers",
            "Document [1](Title: Alpha (band) history) The band formed. It split.\n"
            "Document [2](Title: Beta) Beta is a letter.\n"
            "Document [3](Title: Gamma rays) Gamma rays are waves. They are short.",
        ),
        ("header_only_line", "Document [1](Title: Only)\nbody text here."),
        ("header_unclosed", "Document [1](Title: never closed ( more words"),
        ("header_at_the_40_word_limit", _header_at_limit(37)),
        ("header_past_the_40_word_limit", _header_at_limit(38)),
        (
            "header_digits",
            "Document [\u0663\u0661](Title: Arabic-Indic digits) Text here.\n"
            "Document [\u00b2](Title: superscript) Not a header.\n"
            "Document [](Title: empty) Not either.\n"
            "Document [1](Title:x) Nor this.\n"
            "document [1](Title: lower) Nor this.",
        ),
        ("header_not_first_on_its_line", "See Document [1](Title: X) here."),
        ("header_nested_parentheses", "Document [12](Title: A (b) c) Body. More (x) text."),
        ("header_closed_twice", "Document [3](Title: x)) y. Z."),
        ("header_three_words", "Document [4](Title: )"),
        (
            "unicode_upper_and_digits",
            "Ende. \u00c4pfel sind gut. Zahl. \u0663 ist drei. Roman. \u2160 is one. Super. \u00b2 squared. "
            "lower. \u00e9t\u00e9 ici. Greek. \u03a3igma ok. Title. \u01c5ungla. Circled. \u2460 one. "
            "Kelvin. \u212a cold.",
        ),
        (
            "astral_code_points",
            "Math. \U0001d400 bold A. Emoji. \U0001f600 smile. Digit. \U0001d7ce zero. "
            "Initial \U0001d400. Next. Pair \U0001d400\U0001d401. Next.",
        ),
        ("single_character_stems", "A. B. x. Yes. I. Am. \u00e9. Next. 1. Two. ab. Cd."),
        ("crlf_and_cr", "First line.\r\nSecond line. Two.\r\n\r\nThird\rFourth\nFifth."),
        ("blank_lines", "Para one.\n\nPara two.\n\n\nPara three"),
        (
            "title_lines",
            "Dragon Ball Z\nIt aired in 1989. It ran long.\n\n## Goku (character)\nHe is a hero.\n\n"
            "Context:\nA lead-in is not a title.\n\nNot a title either.\nIts line ends in a stop.\n\n"
            "Followed by a blank line\n\nso no title.\n\n"
            "one two three four five six seven eight nine ten eleven twelve\ntwelve words head this.\n\n"
            "one two three four five six seven eight nine ten eleven twelve thirteen\ntoo long.\n\n"
            "---\npunctuation alone.\n\nFirst\nSecond\nThird.\n\n"
            "Title over a header\nDocument [1](Title: Inner) Body.\r\n\r\nCRLF title\r\nBody two.\n\n"
            "Last line title",
        ),
        ("other_line_separators", "a\u2028b\u0085c\x0bd\x0ce\x1cf. G h\u2029I. J"),
        ("period_and_closer_words", '. . ! ? ") Word. ." Next ?! Ok'),
        ("run_on_130_words", " ".join(f"w{i % 10}" for i in range(130))),
        ("json_line", "{" + ", ".join(f'"key_{i}": "value number {i}"' for i in range(40)) + "}"),
        ("one_word_of_many_tokens", "short " + "incomprehensibilities" * 12 + " tail. End"),
        ("numbers_and_lists", "Items: 1. apples 2. pears 3. plums. Total 3. Price $4.50. Paid."),
        (
            "uncased_full_stops",
            "\u91d1\u95e8\u5927\u6865\u3002\u5b83\u5728\u65e7\u91d1\u5c71\uff01\u4f60\u53bb\u8fc7\u5417\uff1f"
            "\u300c\u6771\u4eac\u306f\u5927\u304d\u3044\u3002\u300d\u6b21\uff61\u7d42 "
            "\u092f\u0939 \u0939\u0948\u0964 \u0926\u0942\u0938\u0930\u093e\u0965 \u0924\u0940\u0938\u0930\u093e "
            "\u0647\u0644\u061f \u0646\u0639\u0645\u06d4 end\u3002",
        ),
    ]


def name_texts() -> list[tuple[str, str]]:
    """Texts aimed at the name rules (``name_spans``), segmented like the others."""
    return [
        (
            "names_basic",
            "Natural Born Killers is a 1994 American film starring Woody Harrelson, Juliette Lewis and "
            "Robert Downey Jr. in 1994. Tommy Lee Jones; Tom Sizemore: Oliver Stone) and others.",
        ),
        (
            "names_punctuation_and_headers",
            'Document [1](Title: Ann Arbor, Michigan) SDS met at "Ann Arbor," Michigan (Tom Hayden) '
            "\u201cNew Left\u201d [Review] -- ... *Bold Name* `Code Word` \u00abLe Monde\u00bb.\n"
            "Document [2](Title: Nile) The Nile flows NORTH to the Mediterranean Sea, 6,650 km in all.",
        ),
        (
            "names_unicode_first_letters",
            "\u00d6gedei Khan met \u00c9mile Zola. \u2160 \u216b Roman and \u00b2 \u00b3 supers. "
            "\U0001d400\U0001d401 Bold \U0001d7ce\U0001d7cf digits. \u0130stanbul \u01c5ungla titlecase "
            "\u0665\u0666 Arabic \u00e9lan vital \uff21\uff22 Wide Letters.",
        ),
        (
            # Names with a digit, which a "numbers" question marks whole ("March 10,", "4 June
            # 1927.", "Boeing 747", and "In 1994 Oliver Stone" by the sentence's first word),
            # names without one it leaves ("Ann Arbor.", "Tom Hayden"), and a date in a header.
            "names_with_dates",
            "The SDS met in Ann Arbor. Tom Hayden spoke there on March 10, 2017, and Lindbergh landed "
            "on 4 June 1927. Boeing 747 jets fly 900 km. In 1994 Oliver Stone won.\n"
            "Document [2](Title: May 5, 1990) The Nile, on 5 May 1990.",
        ),
    ]


def title_texts() -> list[tuple[str, str]]:
    """Texts aimed at the title lift (``title_words``, ``lift_titles``), segmented like the others."""
    return [
        (
            "titles_documents",
            "Document [1](Title: Sweet Caroline) The song has been played at Fenway Park since 1997. "
            "Fans sing along in the eighth inning.\n"
            "Document [2](Title: Fenway Park (stadium)) Fenway Park is a ballpark in Boston.\n"
            "Document [3](Title: No text under it)\n"
            "Document [4](Title: ## Not a heading) A Document title keeps its marks.",
        ),
        (
            "titles_markdown_headings",
            "# Main heading\nThe intro comes first. It has two sentences.\n\n"
            "## Second part\nThe body of the second part.\n\n"
            "### ### Third\nTwo runs of marks.\n\n"
            "#hashtag heading\nA word that starts with # is a word.\n\n"
            "Plain title\nA title line without marks.\n\n"
            "Title over a header\nDocument [5](Title: Inner) Both are lifted.",
        ),
        (
            # A header never closed on its line is a title line, and still loses its wrapper; a
            # line ending in "[2](Title:" is no title line (it ends in a colon) and no header.
            "titles_header_like_title_line",
            "Document [1](Title: never closed\nThe line under it is its text.\n\n"
            "Document [2](Title:\nNot a title line: it ends in a colon.",
        ),
        ("titles_no_headers", "A text without headers. It has two sentences.\nAnd a second line of text."),
        (
            "titles_with_names_and_numbers",
            "Document [1](Title: Woody Harrelson) Woody Harrelson starred in Natural Born Killers in 1994.\n"
            "Document [2](Title: 1994 in film) Films of 1994 include Forrest Gump. Who made it?\n\n"
            "Oliver Stone\nHe directed the film in 1994 with Woody Harrelson.",
        ),
        # A title line whose next line starts with a lower-case ASCII letter goes on with its
        # sentence, and is not lifted: a hard-wrapped paragraph's first line, a line of code.
        (
            "titles_wrapped_paragraph_and_code",
            "Quick update on the offsite logistics for next\nmonth. We have booked the hall for Friday.\n\n"
            "async function find(id) {\n  const row = await db.get(id);\n  return row;\n}",
        ),
        # Past opening quotes and brackets (the sentence rules' OPENERS), still lower case.
        (
            "titles_continued_past_openers",
            'Opened by a double quote\n"a quoted start.\n\nOpened by a parenthesis\n(b in brackets.\n\n'
            "Opened by a square bracket\n[c in square brackets.\n\nOpened by a brace\n{d in braces.\n\n"
            "Opened by a single quote\n'e in single quotes.\n\nOpened by a curly quote\n\u201cf in curly quotes.\n\n"
            "Opened by guillemets\n\u00abg entre guillemets.",
        ),
        # These do not go on, and their title lines are lifted: upper case, a digit, a lower-case
        # letter outside ASCII, openers alone, a curly opening quote before upper case.
        (
            "titles_not_continued",
            "Upper case\nThe text goes on.\n\nA digit\n42 is a number.\n\n"
            'Non-ASCII lower case\n\u00e9t\u00e9 is summer.\n\nOpeners alone\n"( nothing after them.\n\n'
            "A curly quote\n\u201cThe quote opens upper case.",
        ),
        # A heading (its marks left out) and a header are lifted over lower-case text, an unclosed
        # header too (a title line whose wrapper is left out); "#hashtag" is a word, so its line
        # is a title line, and is not; a title line over a header is not, the header is.
        (
            "titles_headings_and_headers_over_lower_case",
            "## Heading\nlower-case line under it.\n\n### ### Two runs\nand lower.\n\n"
            "#hashtag title\nlower again.\n\n"
            "Document [4](Title: Lower text) the text starts lower-case.\n\n"
            "Document [5](Title: never closed\nthe line under it.\n\n"
            "Title over a header\nDocument [6](Title: Inner) lower body here.",
        ),
    ]


def name_vectors(segment_cases: list[dict[str, Any]], scores_for: ScoreSource) -> list[dict[str, Any]]:
    """``name_spans`` and ``lift_name_spans`` over every segment case (both limits) with given
    scores (``scores_for`` as in ``smoothing_vectors``)."""
    out = []
    for k, case in enumerate(segment_cases):
        n = len(case["words"])
        segs = [Segment(a, b, d, h) for a, b, d, h in case["segments"]]
        scores = scores_for(9000 + k, n, 8 if k % 3 == 0 else 0)
        out.append(
            {
                "name": case["name"],
                "words": case["words"],
                "segments": case["segments"],
                "scores": [float(v) for v in scores],
                "spans": [[a, b] for a, b in name_spans(case["words"], segs)],
                "lifted": [float(v) for v in lift_name_spans(scores, case["words"], segs)],
            }
        )
    if not any(v["spans"] for v in out):
        raise AssertionError("no golden text has a name")
    return out


# The bundled openings, and two lists of other openings that are prefixes of one another: "what"
# (names) of "what year" (numbers) and "how many" of "how many years ago", shortest first; and
# "who" and "who is the" (names, longest first) of "who is the oldest" (numbers, looked up last).
DEFAULT_TYPES = AnswerTypes(0.1)
CUSTOM_TYPES = AnswerTypes(
    0.25,
    names=("who", "what", "which person", "wer", "qui"),
    numbers=(
        "what year",
        "how many",
        "how many years ago",
        "in which year",
        "wie viele",
        "wie gross",
        "combien",
        "\u03c0\u03cc\u03c3\u03b5\u03c3",
    ),
)
NESTED_TYPES = AnswerTypes(1.0, names=("who is the", "who"), numbers=("who is the oldest", "when"))

# (label, openings, questions): "bundled/00" is the first question for the bundled openings.
KIND_QUESTIONS: tuple[tuple[str, AnswerTypes, tuple[str | None, ...]], ...] = (
    (
        "bundled",
        DEFAULT_TYPES,
        (
            "Who wrote Hamlet?",
            "Who's the author?",
            "who\u2019s there",
            "WHO",
            "WHO'S",
            "(who",
            "\u00abWho\u00bb is it",
            '"Who" wrote it',
            "? who is it",
            "... -- Who",
            "\n\tWho knows",
            "whose book is it",
            "Whose\u2019s",
            "Whom did she marry?",
            "whom?",
            "Who, when and how many",
            "Whoever wrote it",
            "Whos",
            "who'd know",
            "\u200bwho",
            "\uff37\uff48\uff4f wrote it",
            "the play by whom",
            "how many moons",
            "How many?",
            "HOW MANY",
            "how  many",
            "how\u00a0many",
            "How\nmany",
            "how-many",
            "how",
            "How do birds fly",
            "how much is it",
            "How old is she",
            "how long",
            "How far",
            "how tall",
            "When's the match",
            "when?",
            "When who",
            "What year was it built",
            "what",
            "What is the year",
            "Which year",
            "what date",
            "What percentage of voters",
            "In what year",
            "Document [1](Title: Who) when",
            "\u8c01\u8bbe\u8ba1\u4e86\u8fd9\u5ea7\u6865\uff1f",
            "Wer schrieb Faust?",
            "\u0130s who",
            "?!",
            "   ",
            "",
            None,
        ),
    ),
    (
        "custom",
        CUSTOM_TYPES,
        (
            "What film won",
            "What year did it win",
            "what year",
            "What",
            "Which person",
            "which",
            "How many years ago",
            "how many years",
            "In which year",
            "in which",
            "Wer schrieb Faust?",
            "WER",
            "Wie viele Monde hat der Mars?",
            "wie",
            "Wie gro\u00df ist Berlin?",
            "WIE GROSS",
            "Combien de lunes",
            "Qui a \u00e9crit",
            "\u03a0\u03cc\u03c3\u03b5\u03c2 \u03c7\u03ce\u03c1\u03b5\u03c2",
            "\u03a0\u038c\u03a3\u0395\u03a3",
            "who",
            "when",
        ),
    ),
    (
        "nested",
        NESTED_TYPES,
        (
            "Who is the oldest person",
            "who is the king",
            "Who is",
            "who is the oldest",
            "Who is the old",
            "when",
        ),
    ),
)


def answer_kind_vectors() -> list[dict[str, Any]]:
    """``answer_kind`` (and the opening it reads) for each question of ``KIND_QUESTIONS``."""
    out = []
    for label, types, questions in KIND_QUESTIONS:
        for q, question in enumerate(questions):
            out.append(
                {
                    "name": f"{label}/{q:02d}",
                    "types": types.to_manifest(),
                    "question": question,
                    "opening": None if question is None else question_opening(question),
                    "kind": answer_kind(question, types),
                }
            )
    for kind in ("names", "numbers", None):
        if not any(v["kind"] == kind for v in out):
            raise AssertionError(f"no golden question asks for {kind}")
    return out


# A question of each kind and one of neither; weights with and without an exact float32.
LIFT_QUESTIONS = ("Who wrote it?", "How many are there?", "Where is it?")
LIFT_WEIGHTS = (0.1, 0.06, 0.15, 1.0, 1 / 3, 1e-06)


def answer_type_vectors(segment_cases: list[dict[str, Any]], scores_for: ScoreSource) -> list[dict[str, Any]]:
    """``answer_type_words`` of both kinds and ``lift_answer_type`` for each of ``LIFT_QUESTIONS``
    over every segment case (both limits), with the bundled openings, a weight of ``LIFT_WEIGHTS``
    in turn and given scores (``scores_for`` as in ``smoothing_vectors``)."""
    out = []
    for k, case in enumerate(segment_cases):
        n = len(case["words"])
        segs = [Segment(a, b, d, h) for a, b, d, h in case["segments"]]
        scores = scores_for(11000 + k, n, 8 if k % 3 == 0 else 0)
        types = AnswerTypes(LIFT_WEIGHTS[k % len(LIFT_WEIGHTS)])
        out.append(
            {
                "name": case["name"],
                "words": case["words"],
                "segments": case["segments"],
                "scores": [float(v) for v in scores],
                "weight": types.weight,
                "names": [bool(b) for b in answer_type_words(case["words"], segs, "names")],
                "numbers": [bool(b) for b in answer_type_words(case["words"], segs, "numbers")],
                "lifted": {
                    q: [float(v) for v in lift_answer_type(scores, case["words"], segs, q, types)]
                    for q in LIFT_QUESTIONS
                },
            }
        )
    for kind in ("names", "numbers"):
        if not any(any(v[kind]) for v in out):
            raise AssertionError(f"no golden text has words of kind {kind}")
    # A "numbers" question marks a name with a digit whole and leaves a name without one.
    if not any(m and not has_decimal(w) for v in out for w, m in zip(v["words"], v["numbers"], strict=True)):
        raise AssertionError("no golden text has a name marked as a number for its digit")
    if not any(n and not m for v in out for n, m in zip(v["names"], v["numbers"], strict=True)):
        raise AssertionError("no golden text has a name without a digit")
    return out


# Every rule on, as the bundled condenser (minilm-cnn-1.7) has them: the title lift comes last.
ALL_RULES = SelectionWeights(0.6, 0.2, True, DEFAULT_TYPES, True)


def title_vectors(segment_cases: list[dict[str, Any]], scores_for: ScoreSource) -> list[dict[str, Any]]:
    """``title_words`` of every header segment and ``lift_titles`` over every segment case (both
    limits) with given scores (``scores_for`` as in ``smoothing_vectors``), and
    ``selection_scores`` with ``ALL_RULES`` for each of ``LIFT_QUESTIONS`` (``"combined"``, with
    the manifest entry it reads, ``"selection"``); then hand-made vectors (``_title_synthetic``)."""
    out = []
    selection = ALL_RULES.to_manifest()
    for k, case in enumerate(segment_cases):
        words, n = case["words"], len(case["words"])
        segs = [Segment(a, b, d, h) for a, b, d, h in case["segments"]]
        scores = scores_for(13000 + k, n, 8 if k % 3 == 0 else 0)
        out.append(
            {
                "name": case["name"],
                "words": words,
                "segments": case["segments"],
                "counts": case["counts"],
                "scores": [float(v) for v in scores],
                "titles": [list(title_words(words, s)) for s in segs if s.header],
                "lifted": [float(v) for v in lift_titles(scores, words, segs)],
                "selection": selection,
                "combined": {
                    q: [float(v) for v in selection_scores(scores, case["counts"], words, segs, ALL_RULES, q)]
                    for q in LIFT_QUESTIONS
                },
            }
        )
    out.extend(_title_synthetic())
    _check_titles(out)
    return out


def _title_vector(
    name: str, words: list[str], segments: list[list[Any]], scores: list[float]
) -> dict[str, Any]:
    segs = [Segment(a, b, d, h) for a, b, d, h in segments]
    values = np.array(scores, dtype=np.float32)
    return {
        "name": name,
        "words": words,
        "segments": segments,
        "scores": [float(v) for v in values],
        "titles": [list(title_words(words, s)) for s in segs if s.header],
        "lifted": [float(v) for v in lift_titles(values, words, segs)],
    }


def _title_synthetic() -> list[dict[str, Any]]:
    """Hand-made inputs ``segment_words`` does not make (no ``"combined"``: some do not cover
    their words in order, as ``smooth_scores`` wants)."""
    header = ["Document", "[1](Title:", "Top", "title)"]
    return [
        # "Top" is above its text's best (0.5) and stays; "title)" rises to it; the wrapper stays.
        _title_vector(
            "synthetic/title_above_its_text",
            [*header, "dull", "text."],
            [[0, 4, 0, True], [4, 6, 0, False]],
            [0.1, 0.2, 0.9, 0.3, 0.5, 0.4],
        ),
        # A document's best is over all its segments, before any title is lifted, wherever its
        # header stands; a title line's marks and a header's wrapper are never lifted.
        _title_vector(
            "synthetic/header_after_its_text",
            ["low", "high.", *header, "##", "Mark", "x."],
            [[0, 2, 0, False], [2, 6, 0, True], [6, 8, 1, True], [8, 9, 1, False]],
            [0.25, 0.75, 0.0, 0.0, 0.5, 0.125, 0.0, 0.0, 0.375],
        ),
        # An empty text segment gives its document no best; a title of '#' words alone is empty.
        _title_vector(
            "synthetic/empty_segments_and_titles",
            ["Document", "[7](Title:", "Empty)", "##", "#", "body."],
            [[0, 3, 0, True], [3, 3, 0, False], [3, 5, 1, True], [5, 6, 1, False], [6, 6, 2, True]],
            [0.0, 0.1, 0.2, 0.3, 0.4, 0.9],
        ),
        # Documents whose segments interleave, a later segment better than an earlier one, and
        # scores outside [0, 1].
        _title_vector(
            "synthetic/interleaved_documents",
            ["A", "b", "c.", "d", "e.", "F", "g", "h."],
            [
                [0, 1, 1, True],
                [1, 3, 0, False],
                [3, 5, 1, False],
                [5, 6, 0, True],
                [6, 7, 1, False],
                [7, 8, 0, False],
            ],
            [-1.5, 0.25, -0.5, 2.5, 0.5, -3.0, 3.5, 1.0],
        ),
        # A title line is read against its document's first text segment in segment order, not
        # word order ("Upper." here, so "Title One" is lifted), empty segments passed over ("(x"
        # goes on, so "Title Two" is not).
        _title_vector(
            "synthetic/first_text_segment_in_segment_order",
            ["Title", "One", "lower", "Upper.", "Title", "Two", '"(x', "Y."],
            [
                [0, 2, 0, True],
                [2, 2, 0, False],
                [3, 4, 0, False],
                [2, 3, 0, False],
                [4, 6, 1, True],
                [6, 6, 1, False],
                [6, 8, 1, False],
            ],
            [0.125, 0.25, 0.875, 0.5, 0.125, 0.25, 0.75, 0.375],
        ),
        # First words that do not go on, so each title line is lifted: a non-ASCII lower-case
        # letter, an astral one (a surrogate pair in Java), an empty word, openers alone, a
        # full-width letter, an underscore.
        _title_vector(
            "synthetic/first_words_that_do_not_go_on",
            ["T0", "\u00e9t\u00e9", "T1", "\U0001d41a", "T2", "", "T3", '"(', "T4", "\uff54he", "T5", "_x"],
            [[2 * d + k, 2 * d + k + 1, d, k == 0] for d in range(6) for k in (0, 1)],
            [0.125, 0.75] * 6,
        ),
        # A "Document [n](Title:" header of two words is no header to title_words: a title line,
        # left as it is over lower-case text; one of three words loses its wrapper and is lifted.
        _title_vector(
            "synthetic/short_document_headers_over_lower_case",
            ["Document", "[1](Title:", "lower", "text.", "Document", "[2](Title:", "X)", "lower."],
            [[0, 2, 0, True], [2, 4, 0, False], [4, 7, 1, True], [7, 8, 1, False]],
            [0.125, 0.25, 0.375, 0.75, 0.125, 0.25, 0.375, 0.625],
        ),
    ]


def _check_titles(vectors: list[dict[str, Any]]) -> None:
    """The title vectors hold every situation the port could get wrong."""
    seen: set[str] = set()
    for v in vectors:
        words, scores, lifted = v["words"], v["scores"], v["lifted"]
        segs = [Segment(a, b, d, h) for a, b, d, h in v["segments"]]
        best: dict[int, float] = {}
        first: dict[int, str] = {}  # each document's first text word, in segment order
        for s in segs:
            if not s.header and s.end > s.start:
                best[s.doc] = max(best.get(s.doc, -np.inf), *scores[s.start : s.end])
                first.setdefault(s.doc, words[s.start])
        texts = set(best)
        for seg, (start, end) in zip([s for s in segs if s.header], v["titles"], strict=True):
            if seg.doc not in texts:
                seen.add("a header without text")
            if start > seg.start and words[seg.start] == "Document":
                seen.add("a header's wrapper")
            if start > seg.start and words[seg.start] != "Document":
                seen.add("a heading's marks")
            raised = any(lifted[i] != scores[i] for i in range(start, end))
            for i in range(start, end):
                if lifted[i] != scores[i]:
                    seen.add("a title lifted")
                elif seg.doc in texts and scores[i] > best[seg.doc]:
                    seen.add("a title above its text's best")
            if seg.doc not in texts:
                continue
            opened = first[seg.doc].lstrip(OPENERS)
            lower = opened[:1] != "" and "a" <= opened[0] <= "z"
            # Left below its text's best: before title lines over text that goes on with their
            # sentence were skipped, no title of a document with text ever was.
            below = any(lifted[i] == scores[i] < best[seg.doc] for i in range(start, end))
            if start == seg.start and below:
                seen.add("a title line skipped")
                if lower and opened != first[seg.doc]:
                    seen.add("a title line skipped past an opening quote or bracket")
            if start == seg.start and raised and opened[:1].islower() and not lower:
                seen.add("a title line lifted over a non-ASCII lower-case letter")
            if start == seg.start and raised and first[seg.doc] != "" and opened == "":
                seen.add("a title line lifted over openers alone")
            if start > seg.start and raised and lower:
                seen.add(
                    f"a {'header' if words[seg.start] == 'Document' else 'heading'} lifted over lower case"
                )
        if not any(s.header for s in segs) and words:
            seen.add("a text without headers")
    wanted = {
        "a header without text",
        "a header's wrapper",
        "a heading's marks",
        "a title lifted",
        "a title above its text's best",
        "a text without headers",
        "a title line skipped",
        "a title line skipped past an opening quote or bracket",
        "a title line lifted over a non-ASCII lower-case letter",
        "a title line lifted over openers alone",
        "a header lifted over lower case",
        "a heading lifted over lower case",
    }
    if wanted - seen:
        raise AssertionError(f"no golden title vector has {', '.join(sorted(wanted - seen))}")


def _types(weight: Any = 0.1, names: Any = ("who",), numbers: Any = ("when",)) -> dict[str, Any]:
    """An ``answer_types`` entry (tuples are JSON lists)."""
    return {"weight": weight, "names": names, "numbers": numbers}


# (name, the manifest's "selection" entry): refused ones (those with two faults must be refused
# for the one the SDK checks first), then the accepted ones, whose names start with "accepted_".
MANIFESTS: tuple[tuple[str, Any], ...] = (
    ("weight_int_zero", {"answer_types": _types(weight=0)}),
    ("weight_zero", {"answer_types": _types(weight=0.0)}),
    ("weight_above_one", {"answer_types": _types(weight=1.5)}),
    ("weight_negative", {"answer_types": _types(weight=-0.1)}),
    ("weight_string", {"answer_types": _types(weight="x")}),
    ("weight_bool", {"answer_types": _types(weight=True)}),
    ("weight_null", {"answer_types": _types(weight=None)}),
    ("weight_list", {"answer_types": _types(weight=[0.1])}),
    ("weight_before_names", {"answer_types": _types(weight=2, names="who")}),
    ("names_string", {"answer_types": _types(names="who")}),
    ("names_empty", {"answer_types": _types(names=[])}),
    ("names_null", {"answer_types": _types(names=None)}),
    ("numbers_object", {"answer_types": _types(numbers={"when": 1})}),
    ("opening_empty", {"answer_types": _types(names=("",))}),
    ("opening_space", {"answer_types": _types(names=(" ",))}),
    ("opening_question_mark", {"answer_types": _types(numbers=("?",))}),
    ("opening_punctuation_only", {"answer_types": _types(numbers=("when", "... --"))}),
    ("opening_capitals", {"answer_types": _types(names=("Who",))}),
    ("opening_punctuation", {"answer_types": _types(numbers=("when?",))}),
    ("opening_two_spaces", {"answer_types": _types(numbers=("how  many",))}),
    ("opening_tab", {"answer_types": _types(numbers=("how\tmany",))}),
    ("opening_no_break_space", {"answer_types": _types(numbers=("how\u00a0many",))}),
    ("opening_line_separator", {"answer_types": _types(numbers=("how\u2028many",))}),
    ("opening_possessive", {"answer_types": _types(names=("who's",))}),
    ("opening_both_quotes", {"answer_types": _types(names=('"who\'s"',))}),
    ("opening_backslash", {"answer_types": _types(names=("Who\\",))}),
    ("opening_sharp_s", {"answer_types": _types(numbers=("wie gro\u00df",))}),
    ("opening_final_sigma", {"answer_types": _types(numbers=("\u03c0\u03cc\u03c3\u03b5\u03c2",))}),
    ("opening_fullwidth", {"answer_types": _types(names=("\uff37\uff48\uff4f",))}),
    # U+1FAF0 is new in Unicode 14: printable for the SDK's table, unassigned for Java 17's data.
    ("opening_capitals_unicode_14", {"answer_types": _types(names=("Who\U0001faf0",))}),
    ("opening_number", {"answer_types": _types(names=("who", 1))}),
    ("opening_null", {"answer_types": _types(names=(None,))}),
    ("opening_list", {"answer_types": _types(names=(["who"],))}),
    ("opening_in_both", {"answer_types": _types(names=("who", "when"))}),
    ("opening_twice", {"answer_types": _types(names=("who", "whom", "who"))}),
    ("opening_twice_in_numbers", {"answer_types": _types(numbers=("when", "how many", "when"))}),
    ("opening_twice_written_otherwise", {"answer_types": _types(names=("who", "Who"))}),
    ("opening_empty_before_twice", {"answer_types": _types(names=("who", "", "who"))}),
    ("opening_in_both_before_a_bad_one", {"answer_types": _types(numbers=("who", "When"))}),
    ("missing_numbers", {"answer_types": {"weight": 0.1, "names": ["who"]}}),
    ("extra_key", {"answer_types": {**_types(), "dates": ["what date"]}}),
    ("no_keys", {"answer_types": {}}),
    ("string", {"answer_types": "on"}),
    ("list", {"answer_types": [0.1, ["who"], ["when"]]}),
    ("number", {"answer_types": 0.1}),
    ("int", {"answer_types": 1}),
    ("bool", {"answer_types": True}),
    ("unknown_selection_key_first", {"answer_type": _types(), "answer_types": _types(weight=0)}),
    ("answer_types_before_weights", {"segment_weight": 2.0, "answer_types": _types(weight=0)}),
    ("weights_after_answer_types", {"segment_weight": 2.0, "answer_types": _types()}),
    ("accepted_null", {"segment_weight": 0.6, "answer_types": None}),
    ("accepted_alone", {"answer_types": _types()}),
    ("accepted_int_weight_one", {"answer_types": _types(weight=1)}),
    (
        "accepted_bundled",
        {
            "segment_weight": 0.6,
            "document_weight": 0.2,
            "name_spans": True,
            "answer_types": DEFAULT_TYPES.to_manifest(),
        },
    ),
    ("accepted_custom", {"answer_types": CUSTOM_TYPES.to_manifest()}),
    ("zero_width_space", {"answer_types": _types(names=("who\u200b",))}),
    # Found by the differential test (differential.py): the weights are checked before the
    # name_spans flag, and numbers are shown as Python writes them (1 not 1.0, 1e-05 not 1.0E-5).
    ("weight_range_before_name_spans", {"segment_weight": 1.5, "name_spans": "yes"}),
    ("weight_sum_before_name_spans", {"segment_weight": 0.7, "document_weight": 0.7, "name_spans": 1}),
    ("weight_sum_shows_an_int_as_an_int", {"segment_weight": 1, "document_weight": 0.5}),
    ("weight_small_negative", {"document_weight": -1e-05}),
    ("weight_huge", {"segment_weight": 1.5e16}),
    ("weight_tiny_in_sum", {"segment_weight": 1.0, "document_weight": 2.5e-07}),
    ("answer_types_weight_tiny_negative", {"answer_types": _types(weight=-2.5e-08)}),
    ("answer_types_weight_large", {"answer_types": _types(weight=12345678.5)}),
    # The title lift: a JSON true or false, checked after the weights and the name_spans flag;
    # and a key the SDK does not know, with the keys it takes.
    ("title_lift_string", {"title_lift": "yes"}),
    ("title_lift_int", {"title_lift": 1}),
    ("title_lift_zero", {"title_lift": 0}),
    ("title_lift_null", {"title_lift": None}),
    ("title_lift_list", {"title_lift": [True]}),
    ("name_spans_before_title_lift", {"name_spans": "no", "title_lift": "no"}),
    ("weights_before_title_lift", {"segment_weight": 0.7, "document_weight": 0.7, "title_lift": 1}),
    ("answer_types_before_title_lift", {"answer_types": _types(weight=0), "title_lift": None}),
    ("unknown_key_title_lifts", {"title_lifts": True}),
    ("unknown_keys_and_title_lift", {"Title_lift": True, "title": 1, "title_lift": True}),
    ("accepted_title_lift", {"title_lift": True}),
    ("accepted_title_lift_false", {"segment_weight": 0.6, "title_lift": False}),
    ("accepted_bundled_1_7", ALL_RULES.to_manifest()),
)


def answer_type_manifest_vectors() -> list[dict[str, Any]]:
    """``SelectionWeights.from_manifest`` of each of ``MANIFESTS`` (read back from JSON, as a
    bundle's manifest is): the error's message, or the answer types (null: none) and the
    title_lift flag it reads."""
    out = []
    for name, entry in MANIFESTS:
        selection = json.loads(json.dumps(entry))
        accepted = name.startswith("accepted_")
        try:
            weights = SelectionWeights.from_manifest({"selection": selection})
        except ValueError as err:
            if accepted:
                raise
            out.append({"name": name, "selection": selection, "error": str(err)})
            continue
        if not accepted:
            raise AssertionError(f"the manifest {name} was accepted")
        out.append(
            {
                "name": name,
                "selection": selection,
                "answer_types": None if weights.answer_types is None else weights.answer_types.to_manifest(),
                "title_lift": weights.title_lift,
            }
        )
    return out


def segment_vectors(tokenizer: WordPieceTokenizer) -> list[dict[str, Any]]:
    """Per text and per limit pair: words, gaps, token counts and the segments."""
    out = []
    for name, text in texts() + name_texts() + title_texts():
        words, gaps = split_words(text)
        counts = [len(ids) for ids in tokenizer.encode_words(words)]
        for max_words, max_tokens in LIMITS:
            segments, _ = segment_words(words, gaps, counts, max_words, max_tokens)
            out.append(
                {
                    "name": f"{name}/{max_words}w{max_tokens}t",
                    "words": words,
                    "gaps": gaps,
                    "counts": counts,
                    "max_words": max_words,
                    "max_tokens": max_tokens,
                    "segments": [[s.start, s.end, s.doc, s.header] for s in segments],
                }
            )
    out.append(_half_even_cut())
    return out


def _half_even_cut() -> dict[str, Any]:
    # 6 words, 8 tokens, 2 tokens per piece: 4 pieces at 1.5, 3, 4.5 words -> 2, 3, 4 (half to
    # even; half up would give 2, 3, 5).
    words = ["a", "b", "c", "d", "e", "f"]
    gaps = [" "] * 5 + [""]
    counts = [1, 2, 1, 1, 2, 1]
    segments, _ = segment_words(words, gaps, counts, 48, 2)
    bounds = [[s.start, s.end] for s in segments]
    if bounds != [[0, 2], [2, 3], [3, 4], [4, 6]]:
        raise AssertionError(f"the half-to-even cut changed: {bounds}")
    return {
        "name": "half_to_even_cut/48w2t",
        "words": words,
        "gaps": gaps,
        "counts": counts,
        "max_words": 48,
        "max_tokens": 2,
        "segments": [[s.start, s.end, s.doc, s.header] for s in segments],
    }


def _vector(
    name: str,
    scores: np.ndarray,
    counts: Sequence[int],
    segments: list[list[Any]],
    weights: tuple[float, float],
) -> dict[str, Any]:
    segs = [Segment(a, b, d, h) for a, b, d, h in segments]
    out = smooth_scores(scores, counts, segs, SelectionWeights(*weights))
    return {
        "name": name,
        "scores": [float(v) for v in np.asarray(scores, dtype=np.float32)],
        "counts": list(counts),
        "segments": segments,
        "segment_weight": weights[0],
        "document_weight": weights[1],
        "smoothed": [float(v) for v in out],
    }


def smoothing_vectors(segment_cases: list[dict[str, Any]], scores_for: ScoreSource) -> list[dict[str, Any]]:
    """``smooth_scores`` over the segment cases' segments (default limits), given scores, weights.

    ``scores_for(seed, n, levels)`` gives ``n`` float32 scores (the splitmix64 stream of the
    token scores, so the Java test can use its own copy of it).
    """
    out = []
    for k, case in enumerate(segment_cases):
        n = len(case["words"])
        if n == 0 or case["max_words"] != 48:
            continue
        # The bundle's weights, and one of the others in turn (each pair comes up 4 times or more).
        for w in (1, k % len(WEIGHTS)) if k % len(WEIGHTS) != 1 else (1,):
            weights = WEIGHTS[w]
            seed = 7000 + 100 * k + w
            scores = scores_for(seed, n, 8 if k % 3 == 0 else 0)
            name = f"{case['name']}/{weights[0]}+{weights[1]}"
            out.append(_vector(name, scores, case["counts"], case["segments"], weights))
    out.extend(_synthetic())
    return out


def _synthetic() -> list[dict[str, Any]]:
    """Hand-made inputs: words without tokens, a segment without tokens, extreme scores, long words."""
    f32 = np.float32
    scores = np.array([0.0, 1.0, 0.5, 1e-7, 0.999999, 0.3333333, 0.7, 0.1, 0.0, 0.25], dtype=f32)
    counts = [0, 3, 1, 0, 300, 2, 1, 0, 0, 7]
    # doc 1 is split in two runs of segments; the segment [7, 9) has no tokens and scores 0.
    segments = [[0, 2, 0, False], [2, 5, 1, False], [5, 7, 2, True], [7, 9, 1, False], [9, 10, 2, False]]
    out = [
        _vector(f"synthetic/{a}+{b}", scores, counts, segments, (a, b)) for a, b in ((0.6, 0.2), (0.5, 0.5))
    ]
    out.append(
        _vector(
            "synthetic/all_zero_scores", np.zeros(4, dtype=f32), [1, 2, 0, 1], [[0, 4, 0, False]], (0.6, 0.2)
        )
    )
    out.append(
        _vector("synthetic/single_word", np.array([0.4], dtype=f32), [5], [[0, 1, 0, False]], (0.3, 0.3))
    )
    # Scores with full float32 mantissas, where the blend often lands within a double's rounding
    # of a float32 tie: ((1 - s) - d) is not 1 - (s + d), and (a + b) + c is not a + (b + c).
    # 0.5000001788... and 0.4400000572... (with 0.1 beside them) tell those orders apart.
    full = np.array([0.5000001788139343, 0.1, 0.44000005722045898, 0.1], dtype=f32)
    pairs = [[0, 2, 0, False], [2, 4, 0, False]]
    out.append(_vector("synthetic/evaluation_order", full, [1, 1, 1, 1], pairs, (0.6, 0.2)))
    # np.cumsum starts from the first product, so negative zeros stay negative (0.0 + -0.0 is 0.0).
    out.append(
        _vector(
            "synthetic/negative_zeros",
            np.array([-0.0, -0.0], dtype=f32),
            [1, 1],
            [[0, 2, 0, False]],
            (0.6, 0.2),
        )
    )
    # A first word of 2**30 tokens makes the running totals large: a later segment's mean, the
    # difference of two totals, then differs from the sum of its own words (the SDK's contract).
    heavy = (0.5 + 0.5 * np.cos(np.arange(51) * 0.9)).astype(f32)
    heavy_runs = [[0, 1, 0, False]] + [[a, a + 5, 1, False] for a in range(1, 51, 5)]
    out.append(_vector("synthetic/running_totals", heavy, [1 << 30] + [1] * 50, heavy_runs, (0.6, 0.2)))
    n = 240
    wave = (0.5 + 0.5 * np.sin(np.arange(n) * 1.7)).astype(f32)
    counts = [1 + i % 4 for i in range(n)]
    runs = [[a, a + 5, a // 40, a % 40 == 0] for a in range(0, n, 5)]
    for weights in ((0.6, 0.2), (0.35, 0.45), (0.15, 0.05)):
        out.append(
            _vector(f"synthetic/full_mantissas/{weights[0]}+{weights[1]}", wave, counts, runs, weights)
        )
    return out
