"""Random inputs for the differential test of the Java core against the Python SDK (``differential.py``).

``cases(seed, n)`` gives ``n`` cases, the same ones for the same seed on every machine (one
``random.Random`` per case, seeded from ``seed`` and the case's number, so case 17 of a run is
case 17 of a longer run too). A case is what both sides are given (see ``DifferentialMain.java``):

- ``text``, ``question``, ``force``, ``keep_digits``, and ``rate`` or ``target_tokens`` (or
  neither: the condenser's ``default_rate``), edge values and invalid ones included;
- ``score_seed`` and ``score_levels``: the token scores (``make_golden.splitmix64_scores``, and
  the hash model of ``differential.HashRunner`` / ``HashScores.java``), ties when levels > 0,
  NaN, infinities, -0.0, huge, subnormal and negative scores when -1 (``differential.wild``);
- the condenser's shape: ``max_seq_len``, ``max_question_len``, ``default_rate``,
  ``line_break_id`` (-1: none), the selection weights (``segment_weight``, ``document_weight``,
  ``name_spans``, ``answer_weight``: None for no answer types, ``title_lift``);
- ``max_words`` / ``max_tokens``: a second, tighter cut of the segments;
- ``join_at``: fractions in [0, 1) that each side turns into kept word indices (``int(p * n)``)
  for a join of an arbitrary set of words;
- ``selection_manifest``: a bundle manifest's ``selection`` entry, valid or not, that both sides
  read (``SelectionWeights.from_manifest``) or refuse with the same message.

Texts mix scripts (accented Latin, Greek with final sigma, CJK ideographs in and out of the BMP,
kana, Hangul, Arabic and Hebrew with their marks, Thai, Devanagari, emoji with ZWJ, skin tones and
flags, combining marks, mathematical letters, any code point at all), odd whitespace (every
character of ``WHITESPACE``, CRLF, zero-width characters), punctuation runs, numbers in several
scripts, IDs, UUIDs and dates, ``Document [i](Title: ...)`` headers, title lines, abbreviations,
blank lines and very long words. A title line's next line often starts with a word that goes on
with its sentence (``GOES_ON``: a hard-wrapped paragraph) or nearly does (``NEAR_MISSES``), and
some documents are code whose first line reads as a title line (``CODE``), so the title lift's
skip of title lines over such text is exercised (``differential.skipped_title_lines``).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

# The whitespace of splitinfer.sdk._text.WHITESPACE, spelled out so a change there shows up here.
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u034f"
LATIN = (
    "the model keeps words that matter for question and drops filler such as really quite very "
    "basically actually numbers like facts capital river mountain invoice total date film crime "
    "released directed starring critics debate violence media also new york paris berlin"
).split()
NAMES = "Paris France Berlin Woody Harrelson Oliver Stone Juliette Lewis Tommy Lee Jones NASA IBM".split()
ACCENTED = "café naïve résumé Zürich São Paulo Ærø Øresund Łódź İstanbul straße façade Ångström ÉCOLE".split()
GREEK = ["ΟΔΟΣ", "ΣΑΣ", "Σ", "ΑΣ", "ΑΣ'Β", "ὈΔΥΣΣΕΎΣ", "σοφός", "ΣΊΣΥΦΟΣ.", "Α\u0301Σ", "ΜΆΣ\u0345"]
CJK = "金门大桥是旧金山的标志北京东京上海中国日本語漢字学习問題答案世界"
CJK_FAR = "\U00020000\U00020001\U0002a6d6\U0002a700\U0002b740\U0002b820\U0002f800\uf900\ufa0e\u3400\u4dbf"
KANA = "ひらがなカタカナｶﾀｶﾅーっゃゅょヴ゙ﾞﾟ"
HANGUL = ["한국어", "서울", "안녕하세요", "\u1100\u1161\u11a8", "ᄀᄁ", "ㅎㅏ"]
ARABIC = ["مرحبا", "العربية", "كِتَابٌ", "٣", "١٩٣٧", "؟", "۔", "ـــ"]
HEBREW = ["שָׁלוֹם", "עברית", "בְּרֵאשִׁית"]
THAI = ["ภาษาไทย", "สวัสดี", "กรุงเทพฯ", "๑๒๓"]
DEVANAGARI = ["हिन्दी", "नमस्ते।", "भारत॥", "४२", "क़"]
EMOJI = [
    "😀",
    "👍🏽",
    "👨\u200d👩\u200d👧\u200d👦",
    "🏳\ufe0f\u200d🌈",
    "🇫🇷",
    "❤\ufe0f",
    "1\ufe0f\u20e3",
    "🧑🏿\u200d🚀",
    "🫠",
    "🥲",
]
MATH = "𝐀𝐁𝐂𝐚𝐛𝟏𝟐𝔄𝔅𝕏𝖆𝒜"
OTHER = ["Ⅻ", "ⅻ", "²", "①", "½", "ǅ", "ﬁ", "ß", "K", "Å", "İ", "ŉ", "ǰ", "ẞ", "Ω", "µ", "ı", "ſt."]
NUMBERS = [
    "42",
    "2024",
    "3.14",
    "$1,234.56",
    "2024-03-05",
    "05/03/2024",
    "12:30",
    "1e-9",
    "-7",
    "#42",
    "ID-00042",
    "v1.2.3",
    "１９３７",
    "४२",
    "٤٢",
    "๔๒",
    "10%",
    "№5",
    "²³",
    "①②",
    "𝟏𝟐",
]
PUNCT = [
    ".",
    "...",
    "…",
    "?!",
    "!",
    "?",
    ",",
    ";",
    ":",
    "—",
    "–",
    "-",
    "(",
    ")",
    "[",
    "]",
    '"',
    "'",
    "«",
    "»",
    "“",
    "”",
    "‘",
    "’",
    "「",
    "」",
    "『",
    "』",
    "（",
    "）",
    "。",
    "！",
    "？",
    "、",
    "，",
    "｡",
    "।",
    "॥",
    "؟",
    "۔",
    "#",
    "##",
    "```",
    "---",
    "{",
    "}",
    "/",
    "\\",
    "@",
    "&",
    "*",
    "C#",
    "C++",
]
ABBREVIATIONS = [
    "Mr.",
    "Mrs.",
    "Dr.",
    "U.S.",
    "e.g.",
    "i.e.",
    "etc.",
    "No.",
    "A.",
    "vs.",
    "St.",
    "Inc.",
    "approx.",
]
COMBINING = "\u0300\u0301\u0302\u0303\u0308\u0327\u0323\u0338\u20dd\u0345\u05b0\u064b\u0e31\u093c\u1ab0\u0489"
QUESTION_OPENINGS = [
    "Who",
    "who",
    "WHO'S",
    "(who",
    "Whom",
    "Whose",
    "When",
    "when?",
    "What year",
    "which  year",
    "What date",
    "How many",
    "how much",
    "How old",
    "How long",
    "How far",
    "How tall",
    "What percentage",
    "What",
    "Where",
    "Why",
    "How",
    "«Who»",
    "Who\u200b",
    "谁",
    "",
]


def _accent(rng: random.Random, word: str) -> str:
    """``word`` with a combining mark or two after random letters."""
    chars = list(word)
    for _ in range(rng.randint(1, 2)):
        k = rng.randrange(len(chars))
        chars[k] += rng.choice(COMBINING)
    return "".join(chars)


def _case_of(rng: random.Random, word: str) -> str:
    r = rng.random()
    if r < 0.15:
        return word.upper()
    if r < 0.4:
        return word[:1].upper() + word[1:]
    return word


def _any_char(rng: random.Random) -> str:
    """Any code point but a surrogate: mostly the BMP, sometimes the planes above."""
    while True:
        cp = rng.randrange(0x110000) if rng.random() < 0.3 else rng.randrange(0x10000)
        if not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _long_word(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:  # over 100 characters: one [UNK]
        return "".join(rng.choice("abcdefghij") for _ in range(rng.randint(95, 140)))
    if kind == 1:  # hundreds of tokens
        return "-".join(rng.choice(LATIN) for _ in range(rng.randint(5, 150)))
    if kind == 2:
        return rng.choice(CJK) * rng.randint(2, 40)
    if kind == 3:
        return "".join(rng.choice(PUNCT) for _ in range(rng.randint(3, 60)))
    return "".join(rng.choice(EMOJI) for _ in range(rng.randint(3, 30)))


def _word(rng: random.Random) -> str:
    """One word (which the splitter may still cut: ideographs are words of their own)."""
    r = rng.random()
    if r < 0.30:
        word = _case_of(rng, rng.choice(LATIN))
    elif r < 0.38:
        word = rng.choice(NAMES)
    elif r < 0.43:
        word = rng.choice(ACCENTED)
    elif r < 0.45:
        word = _accent(rng, rng.choice(LATIN))
    elif r < 0.48:
        word = rng.choice(GREEK)
    elif r < 0.53:
        word = "".join(rng.choice(CJK + CJK_FAR) for _ in range(rng.randint(1, 6)))
    elif r < 0.55:
        word = "".join(rng.choice(KANA) for _ in range(rng.randint(1, 5)))
    elif r < 0.57:
        word = rng.choice(HANGUL)
    elif r < 0.59:
        word = rng.choice(ARABIC + HEBREW)
    elif r < 0.61:
        word = rng.choice(THAI + DEVANAGARI)
    elif r < 0.64:
        word = rng.choice(EMOJI)
    elif r < 0.66:
        word = "".join(rng.choice(MATH) for _ in range(rng.randint(1, 4)))
    elif r < 0.68:
        word = rng.choice(OTHER)
    elif r < 0.76:
        word = rng.choice(NUMBERS)
    elif r < 0.77:
        word = _uuid(rng)
    elif r < 0.80:
        word = rng.choice(ABBREVIATIONS)
    elif r < 0.85:
        word = rng.choice(PUNCT)
    elif r < 0.88:
        word = "".join(_any_char(rng) for _ in range(rng.randint(1, 4)))
    elif r < 0.89:
        word = _long_word(rng)
    elif r < 0.92:
        word = _word(rng) + rng.choice(ZERO_WIDTH) + (_word(rng) if rng.random() < 0.5 else "")
    else:
        word = _case_of(rng, rng.choice(LATIN)) + rng.choice(PUNCT)
    if rng.random() < 0.12:  # glue punctuation to either end
        word = rng.choice(PUNCT) + word if rng.random() < 0.4 else word + rng.choice(PUNCT)
    if rng.random() < 0.03:
        word += "'s" if rng.random() < 0.5 else "\u2019s"
    return word


def _space(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.8:
        return " "
    if r < 0.9:
        return rng.choice(SPACES)
    if r < 0.95:
        return "".join(rng.choice(SPACES) for _ in range(rng.randint(2, 4)))
    return rng.choice(["  ", " \u00a0", "\u3000", "\u2028", "\t", " \u200b "])


def _line_break(rng: random.Random) -> str:
    return rng.choice(
        ["\n", "\n", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\n \n", "\n\n\n", "\n\u2028", " \n", "\n\t"]
    )


def _sentence(rng: random.Random) -> str:
    n = rng.choice([1, 2, 3, 5, 8, 12, 20, 40, 60])
    words = [_word(rng) for _ in range(rng.randint(1, n))]
    if rng.random() < 0.5:
        words[0] = words[0][:1].upper() + words[0][1:]
    if rng.random() < 0.2 and len(words) > 2:  # a name in the middle
        k = rng.randrange(len(words))
        words[k : k + 1] = rng.sample(NAMES, rng.randint(2, 3))
    out = words[0]
    for w in words[1:]:
        out += _space(rng) + w
    return out + rng.choice([".", ".", "!", "?", "", "。", "？", "।", "؟", ".\u201d", ".)", "…", ":", ";"])


def _header(rng: random.Random, index: int) -> str:
    n = rng.choice([str(index), str(index), "١٢", "", "x", "３", str(index) + "0"])
    title = " ".join(_word(rng) for _ in range(rng.randint(0, 4)))
    r = rng.random()
    if r < 0.7:
        return f"Document [{n}](Title: {title})"
    if r < 0.8:
        return f"Document [{n}](Title: {title} (a (b) c))"
    if r < 0.9:
        return f"Document [{n}](Title: {title}"  # never closed
    return f"document [{n}](Title:{title})"


# First words of the line under a title line: ones that go on with the title line's sentence
# (an ASCII a-z past opening quotes and brackets: a hard-wrapped paragraph), over which
# ``lift_titles`` leaves a title line as it is, and near misses, over which it lifts it.
GOES_ON = [
    "month.",
    "and",
    "the",
    "of",
    "x",
    '"a',
    "(b",
    "[c",
    "{d",
    "'e",
    '("[x',
    "((y",
    "z,",
    "iOS",
    "\u201cthe",
    "\u2018a",
    "\u00aba",
    "\u300cb",
]
NEAR_MISSES = [
    "Month.",
    "42",
    "\u00e9t\u00e9",
    "\u00df",
    "\U0001d41a",
    '"(',
    "((",
    "\u201cThe",
    "\u2018A",
    "\u00ab\u00e9",
    "`a",
    "<a",
    "_x",
    "-y",
    "\uff54he",
    "\u200bthe",
    "\u01c5a",
    "\u0130a",
]
# Code whose first line reads as a title line and whose next line starts lower case.
CODE = [
    ("async function find(id) {", "  const row = await db.get(id);\n  return row;\n}"),
    ("def area(r)", "    return 3.14 * r * r"),
    ("for (let i = 0; i < n; i++) {", "\ttotal += x[i];\n}"),
    ("SELECT name, total", "from invoices where total > 100"),
    ("## Usage", "run `make test` first"),
]


def _title_line(rng: random.Random) -> str:
    words = [_word(rng) for _ in range(rng.randint(1, 14))]
    if rng.random() < 0.3:
        words.insert(0, rng.choice(["#", "##", "###"]))
    return " ".join(words)


def _structured_text(rng: random.Random) -> str:
    """Lines and paragraphs: documents with headers, title lines, sentences."""
    parts: list[str] = []
    for d in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.25:
            parts.append(_header(rng, d + 1) + _space(rng))
        elif r < 0.45:
            parts.append(_title_line(rng) + rng.choice(["\n", "\n", "\r\n", "\n\n", ":\n"]))
            if rng.random() < 0.6:  # a line that goes on with the title line's sentence, or nearly
                parts.append(rng.choice(GOES_ON if rng.random() < 0.7 else NEAR_MISSES) + _space(rng))
        elif r < 0.52:
            head, body = rng.choice(CODE)
            parts.append(head + rng.choice(["\n", "\n", "\r\n"]) + body + _line_break(rng))
            continue
        line = " ".join(_sentence(rng) for _ in range(rng.randint(1, 4)))
        parts.append(line)
        parts.append(_line_break(rng))
    text = "".join(parts)
    if rng.random() < 0.3:
        text = rng.choice(SPACES) + text
    if rng.random() < 0.7:
        text = text.rstrip("\n\r")
    return text


def _soup_text(rng: random.Random) -> str:
    """Words and separators of any kind, no structure at all."""
    out = []
    for _ in range(rng.randint(0, 60)):
        r = rng.random()
        if r < 0.6:
            out.append(_word(rng))
        elif r < 0.8:
            out.append(_space(rng))
        elif r < 0.9:
            out.append(_line_break(rng))
        else:
            out.append(rng.choice(ZERO_WIDTH))
    return "".join(out)


def _text(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.005:  # not valid Unicode: refused by both condensers, tokenized by both tokenizers
        return _soup_text(rng) + chr(rng.randrange(0xD800, 0xE000)) + _soup_text(rng)
    if r < 0.02:
        return rng.choice(["", " ", "\n\n", "\u200b", "\u3000\u2028"])
    if r < 0.55:
        return _structured_text(rng)
    if r < 0.9:
        return _soup_text(rng)
    return "".join(_any_char(rng) if rng.random() < 0.85 else _space(rng) for _ in range(rng.randint(1, 80)))


def _question(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.15:
        return ""
    opening = rng.choice(QUESTION_OPENINGS)
    words = text.split()
    rest = " ".join(rng.choice(words) for _ in range(rng.randint(0, 6))) if words else ""
    if r < 0.2:  # longer than the model's question input
        rest = " ".join(_word(rng) for _ in range(rng.randint(30, 120)))
    if r < 0.3:
        return _soup_text(rng)
    return f"{opening} {rest}".strip() + rng.choice(["?", "", " ?", "？"])


def _force(rng: random.Random, text: str) -> list[str]:
    if rng.random() < 0.5:
        return []
    words = text.split() or ["x"]
    out = []
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        word = rng.choice(words)
        if r < 0.4:
            out.append(word)
        elif r < 0.55:
            out.append(_case_of(rng, word.lower()) + rng.choice(PUNCT))
        elif r < 0.6:  # a phrase that stands in the text: forced where its words stand together
            start = rng.randrange(len(words))
            out.append(" ".join(words[start : start + rng.randint(2, 3)]))
        elif r < 0.65:
            out.append(" ".join(rng.choice(words) for _ in range(2)))
        elif r < 0.75:
            out.append(word.split("-")[0])
        elif r < 0.85:
            out.append(rng.choice(["", " ", "\u200b", "[3](Title:", "C#", "Σ", "ß", "ss", "ΣΑΣ"]))
        else:
            out.append(_word(rng))
    return out


RATES = [1e-9, 0.001, 0.01, 0.1, 0.2, 0.25, 0.33, 0.5, 0.7, 0.999, 1.0, 0.0, -0.5, 1.5, 1.0000000000000002]
TARGETS = [0, 1, 2, 3, 5, 10, 50, 1000, 2**31 - 1, -1]


def _budget(rng: random.Random) -> tuple[float | None, int | None]:
    r = rng.random()
    if r < 0.1:
        return None, None
    if r < 0.55:
        return (rng.choice(RATES) if rng.random() < 0.5 else rng.uniform(0.0, 1.0)), None
    return None, (rng.choice(TARGETS) if rng.random() < 0.5 else rng.randint(0, 200))


def _weights(rng: random.Random) -> tuple[float, float]:
    r = rng.random()
    if r < 0.3:
        return 0.0, 0.0
    if r < 0.6:
        return 0.6, 0.2
    if r < 0.7:
        return rng.choice([(1.0, 0.0), (0.0, 1.0), (0.5, 0.5), (0.3, 0.7)])
    segment = rng.random()
    return segment, rng.uniform(0.0, 1.0 - segment)


WEIGHT_VALUES = [0, 0.0, 0.5, 1, 1.0, 0.6, 0.2, 1.5, 2, -0.1, 1e-05, 1e-3, True, None, "0.5", [0.5]]


def _openings(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.05:
        return rng.choice([[], "who", None, {"who": 1}])
    out: list[Any] = []
    for _ in range(rng.randint(1, 4)):
        q = rng.random()
        if q < 0.5:
            out.append(
                rng.choice(
                    [
                        "who",
                        "whom",
                        "when",
                        "how many",
                        "what year",
                        "谁 是",
                        "谁",
                        "wie gross",
                        "what",
                        "how",
                        "where",
                    ]
                )
            )
        elif q < 0.8:
            out.append(rng.choice(QUESTION_OPENINGS))
        elif q < 0.95:
            out.append(_word(rng))
        else:
            out.append(rng.choice([1, None, ["who"], ""]))
    return out


def _selection_entry(rng: random.Random) -> Any:
    """A manifest's ``selection`` value: mostly valid, often with one fault."""
    if rng.random() < 0.05:
        return rng.choice([None, [], "x", 1, True, 0.5])
    entry: dict[str, Any] = {}
    for key in ("segment_weight", "document_weight"):
        if rng.random() < 0.7:
            entry[key] = (
                rng.choice(WEIGHT_VALUES) if rng.random() < 0.4 else round(rng.random(), rng.randint(1, 17))
            )
    if rng.random() < 0.6:
        entry["name_spans"] = rng.choice([True, False, True, 1, None, "yes"])
    if rng.random() < 0.6:
        if rng.random() < 0.1:
            entry["answer_types"] = rng.choice([None, [], "who", {"weight": 0.1}, {}])
        else:
            entry["answer_types"] = {
                "weight": rng.choice(WEIGHT_VALUES) if rng.random() < 0.5 else 0.1,
                "names": _openings(rng),
                "numbers": _openings(rng),
            }
    if rng.random() < 0.5:
        entry["title_lift"] = rng.choice([True, False, True, 1, 0, None, "true", [True]])
    if rng.random() < 0.05:
        entry[rng.choice(["segment", "Name_spans", "extra", "title_lifts", "Title_lift"])] = 1
    return entry


def case(seed: int, index: int) -> dict[str, Any]:
    """Case ``index`` of the run seeded ``seed``."""
    rng = random.Random(f"{seed}/{index}")
    text = _text(rng)
    rate, target = _budget(rng)
    segment, document = _weights(rng)
    return {
        "name": f"fuzz_{seed}_{index}",
        "text": text,
        "question": _question(rng, text),
        "force": _force(rng, text),
        "keep_digits": rng.random() < 0.7,
        "rate": rate,
        "target_tokens": target,
        "score_seed": rng.getrandbits(62),
        "score_levels": rng.choice([0, 0, 0, 2, 3, 4, 16, 128, -1]),
        "max_seq_len": rng.choice([1, 2, 3, 5, 8, 16, 64, 512]),
        "max_question_len": rng.choice([1, 2, 7, 64]),
        "default_rate": rng.choice([0.5, 0.33, 0.1, 1.0]),
        "line_break_id": rng.choice([-1, -1, 102, 0, 1]),
        "segment_weight": segment,
        "document_weight": document,
        "name_spans": rng.random() < 0.6,
        "answer_weight": rng.choice([None, 0.1, 0.1, 1.0, rng.uniform(1e-6, 1.0)]),
        "max_words": rng.choice([48, 48, 1, 2, 3, 7]),
        "max_tokens": rng.choice([96, 96, 1, 2, 5, 11]),
        "join_at": sorted(rng.random() for _ in range(rng.randint(0, 12))),
        "selection_manifest": _selection_entry(rng),
        "title_lift": rng.random() < 0.5,
    }


def cases(seed: int, n: int, start: int = 0) -> list[dict[str, Any]]:
    """Cases ``start`` to ``start + n - 1`` of the run seeded ``seed``."""
    return [case(seed, i) for i in range(start, start + n)]
