"""The inputs of the golden vectors: each case a text, a question and how to condense it.

Each case exercises a rule the Java port could get wrong: whitespace (NBSP, exotic spaces,
mixed newlines), the tokenizer's Unicode steps (accents, CJK, emoji, RTL, final sigma, control
characters, code points outside the BMP), WordPiece limits (words over 100 characters, words of
hundreds of tokens), word-score sums (numpy sums long words pairwise), forced words (digits,
casefold, edge punctuation), the budget (rates, targets, forced words past the budget, ties),
the sentences and documents that score smoothing reads, and the headers and headings whose
titles the title lift raises.
``score_levels`` > 0 quantises the given token scores to that many values to force ties.
"""

from __future__ import annotations

from typing import Any

from splitinfer.sdk._text import WHITESPACE

_WORDS = (
    "the",
    "model",
    "keeps",
    "words",
    "that",
    "matter",
    "for",
    "the",
    "question",
    "and",
    "drops",
    "filler",
    "such",
    "as",
    "really",
    "quite",
    "very",
    "basically",
    "actually",
    "so",
    "on",
    "while",
    "numbers",
    "like",
    "42",
    "and",
    "2024",
    "survive",
    "because",
    "they",
    "carry",
    "facts",
    "Paris",
    "is",
    "the",
    "capital",
    "of",
    "France",
    "and",
    "Berlin",
    "of",
    "Germany",
    "rivers",
    "mountains",
    "invoices",
    "totals",
    "dates",
)


# Names and numbers in a few sentences, for the questions that ask for one or the other.
_FILM = (
    "Natural Born Killers is a 1994 American crime film directed by Oliver Stone and starring Woody "
    "Harrelson, Juliette Lewis, Robert Downey Jr. and Tommy Lee Jones. It was released on August 26, "
    "1994 and made 110 million dollars in all. Critics were split, and the film stirred a long debate "
    "about violence in the media."
)


def _prose(n_words: int, seed: int) -> str:
    """Deterministic pseudo-prose of ``n_words`` words with sentence punctuation and newlines."""
    out: list[str] = []
    state = seed
    for i in range(n_words):
        state = (state * 1103515245 + 12345) % (1 << 31)
        word = _WORDS[state % len(_WORDS)]
        if i % 11 == 10:
            word += "."
        elif i % 7 == 6:
            word += ","
        out.append(word)
        out.append("\n" if i % 37 == 36 else " ")
    return "".join(out).rstrip()


def _case(name: str, text: str, **kw: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "name": name,
        "text": text,
        "question": kw.pop("question", ""),
        "rate": kw.pop("rate", None),
        "target_tokens": kw.pop("target_tokens", None),
        "force": kw.pop("force", []),
        "keep_digits": kw.pop("keep_digits", True),
        "score_levels": kw.pop("score_levels", 0),
    }
    if case["rate"] is None and case["target_tokens"] is None:
        case["rate"] = 0.5
    if kw:
        raise TypeError(f"unknown case fields {sorted(kw)}")
    return case


def cases() -> list[dict[str, Any]]:
    """Every golden case, in file order; names are unique."""
    c = _case
    return [
        c("plain_sentence", "The quick brown fox jumps over the lazy dog near the river bank."),
        c(
            "question_rate_third",
            "Paris is the capital of France. Berlin is the capital of Germany.",
            question="What is the capital of France?",
            rate=0.33,
        ),
        c(
            "target_five_tokens",
            "Condensing keeps the words that matter and drops the rest.",
            target_tokens=5,
        ),
        c("target_zero", "Nothing but forced words survive a zero budget, like 7 or 2024.", target_tokens=0),
        c("target_over_total", "Short text.", target_tokens=1000),
        c("rate_one_keeps_all", "Every single word is kept at rate one, even filler.", rate=1.0),
        c("rate_tiny", "A tiny rate keeps almost nothing from this sentence at all.", rate=0.01),
        c("rate_half_rounds_up", "one two three", rate=0.5),
        c("numbers_kept", "Invoice 4711 dated 2024-03-05 totals $1,234.56 for 3 items.", rate=0.2),
        c(
            "numbers_not_kept",
            "Invoice 4711 dated 2024-03-05 totals $1,234.56 for 3 items.",
            rate=0.2,
            keep_digits=False,
        ),
        c(
            "force_with_punctuation",
            "We met in Paris, then (Paris) again, and \u201cParis\u201d once more.",
            force=["paris"],
            rate=0.1,
        ),
        c(
            "force_multiword_entry",
            "She moved from New York to York and then to New Delhi.",
            force=["New York"],
            rate=0.1,
        ),
        # An entry of several words forces them where they stand together, not each everywhere.
        c(
            "force_phrase_common_word",
            "The court in The Hague ruled. The appeal was late and the fine stands. "
            "The Hague's judges met; the New York-based firm left New\nYork.",
            force=["The Hague", "new york"],
            rate=0.1,
        ),
        c("force_phrase_overlapping", "a a a b a a", force=["a a"], rate=0.1),
        c("force_phrase_at_the_end", "left right left right", force=["left right left right left"], rate=0.2),
        c(
            "force_phrase_cjk",
            "\u5317\u65b9\u5f88\u51b7\u3002\u4eac\u5267\u597d\u3002\u6211\u53bb\u8fc7\u5317\u4eac\u3002",
            force=["\u5317\u4eac"],
            rate=0.1,
        ),
        c(
            "force_casefold_sharp_s",
            "Die Stra\u00dfe hei\u00dft STRASSE auf Gro\u00dfbuchstaben.",
            force=["strasse"],
            rate=0.1,
        ),
        c("force_edge_punctuation_entry", "Call Bob. Bob? bob! [BOB] Bobby", force=["(bob)"], rate=0.1),
        c(
            "force_empty_entries",
            "Blank force entries force nothing here.",
            force=["", "  ", "..."],
            rate=0.3,
        ),
        c(
            "accents",
            "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 co\u00f6perate \u00c5ngstr\u00f6m fa\u00e7ade",
            rate=0.5,
        ),
        c("decomposed_accents", "Cafe\u0301 and re\u0301sume\u0301 typed with combining marks", rate=0.5),
        c(
            "cjk_mixed",
            "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002 Tokyo is big.",
            question="\u9996\u90fd\u306f\uff1f",
            rate=0.5,
        ),
        # Chinese has no spaces: each ideograph is a word, so a paragraph condenses (not one huge word).
        c(
            "cjk_paragraph",
            "\u91d1\u95e8\u5927\u6865\u5728\u65e7\u91d1\u5c71\u3002\u5b83\u6a2a\u8de8\u91d1\u95e8\u6d77\u5ce1\u3002"
            "\u8fd9\u5ea7\u6865\u7531\u65bd\u7279\u52b3\u65af\u8bbe\u8ba1\uff0c1937\u5e74\u5f00\u901a\u3002",
            question="\u8c01\u8bbe\u8ba1\u4e86\u8fd9\u5ea7\u6865\uff1f",
            rate=0.3,
            force=["\u65bd\u7279"],
        ),
        # Kana are words of their own too (BERT leaves them in runs: a kana paragraph was one word).
        c(
            "kana_paragraph",
            "\u308f\u305f\u3057\u306f\u304d\u306e\u3046\u3068\u3046\u304d\u3087\u3046\u3078"
            "\u3044\u304d\u307e\u3057\u305f\u3002\u304b\u3044\u304e\u306f3\u3058\u304b\u3089"
            "\u3067\u3059\u3002\u30bf\u30ef\u30fc\u306f\u9ad8\u3044\u3002",
            question="\u304b\u3044\u304e\u306f\u3044\u3064\uff1f",
            rate=0.2,
        ),
        c("kana_halfwidth_and_voiced", "\uff83\uff9e\uff70\uff80 \u304c\u304b\u3099 \u31f0\u30fc", rate=0.5),
        c("cjk_extension_b", "\U00020000\U0002a6d6 rare \u4e00\u9fa5 ideographs", rate=0.5),
        c("hangul", "\uc11c\uc6b8\uc740 \ud55c\uad6d\uc758 \uc218\ub3c4\uc785\ub2c8\ub2e4.", rate=0.5),
        c(
            "emoji",
            "I \u2764\ufe0f NY \U0001f355\U0001f355 \U0001f469\u200d\U0001f469\u200d\U0001f467 "
            "\U0001fae0 \U0001f44d\U0001f3fd ok",
            rate=0.5,
        ),
        c(
            "rtl_arabic_hebrew",
            "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 "
            "\u200f\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd\u200e end",
            rate=0.5,
        ),
        c(
            "greek_final_sigma",
            "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u03a3\u039f\u03a6\u039f\u03a3 "
            "\u03a3 \u0391\u03a3. \u03a3's \u0391\u03a3'\u0391 \u0391\u03a3\u0345",
            rate=0.6,
        ),
        c("turkish_dotted_i", "\u0130STANBUL I\u011fd\u0131r \u0131\u0130i", rate=0.5),
        c(
            "cyrillic",
            "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0401\u0416\u0418\u041a "
            "\u0439\u043e\u0436",
            rate=0.5,
        ),
        c(
            "devanagari_marks",
            "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
            rate=0.5,
        ),
        c(
            "thai_marks",
            "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a \u0e42\u0e25\u0e01",
            rate=0.5,
        ),
        c("vietnamese", "Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u r\u1ea5t nhi\u1ec1u", rate=0.5),
        c("mixed_scripts_in_word", "abc\u0430\u0431\u0432\u03b1\u03b2\u03b3 xyz", rate=0.5),
        c(
            "fullwidth_not_ascii_digits",
            "\uff21\uff22\uff23\uff11\uff12\uff13 are fullwidth, 123 is not",
            rate=0.2,
        ),
        c("superscripts_ligatures", "x\u00b2 H\u2082O \ufb01nance \ufb02ow \u2460", rate=0.5),
        c("math_alphanumerics", "\U0001d400\U0001d401\U0001d402 bold \U0001d7ce digits", rate=0.5),
        c(
            "kelvin_and_cherokee_casefold",
            "\u212a \u13a0\u13b3\u13a9 \uab70 \uab83\uab70 k",
            force=["\u13a0", "K"],
            rate=0.1,
        ),
        c(
            "punctuation_heavy",
            "Hello,world!!! (test) [x] {y} <z> \"quoted\" 'single' \u2014 dash \u2026 "
            "\u00abguillemets\u00bb \u00bfque? \u00a1si!",
            rate=0.4,
        ),
        c("apostrophes", "don't can't it\u2019s rock\u2019n\u2019roll O'Neill", rate=0.5),
        c("hyphenated", "state-of-the-art well-known e-mail", rate=0.5),
        c("numbers_formats", "3.14159 1e-10 -42 +7 0x1F 1,000,000 50% #1", rate=0.1, keep_digits=False),
        c(
            "datetime_url_email",
            "2024-01-01T12:00:00Z https://example.com/a/b?q=1&x=2 mail@example.org",
            rate=0.5,
        ),
        c("code_snippet", "def f(x):\n    return x**2  # square\n\nprint(f(3))", rate=0.5),
        c("long_word_over_100_chars", "short " + "a" * 150 + " tail " + "b" * 100, rate=0.5),
        # Over 100 characters, a piece is WordPieced 100 at a time; a slice that cannot be matched is
        # one [UNK] (here the second, with a character outside the vocabulary), the others are not.
        c(
            "long_pieces_in_slices",
            "seq " + "acgtt" * 50 + " mix " + "ab" * 60 + "\u2603" + "cd" * 60 + " \U0001f600" * 3 + "q" * 101,
            rate=0.3,
        ),
        c("long_piece_after_punctuation", "x" * 101 + "," + "y" * 99, rate=0.5),
        c("word_of_many_tokens", ",".join(["ab"] * 80) + " small word", rate=0.5),
        c("word_of_twelve_tokens", "antidisestablishmentarianism-supercalifragilistic end", rate=0.5),
        c("empty", "", rate=0.5),
        c("empty_with_question", "", question="Anything?", rate=0.5),
        c("whitespace_only", "   \n\t \u00a0\u3000 ", rate=0.5),
        c("leading_trailing_whitespace", "  \n hello  world \t\n ", rate=1.0),
        c("nbsp_and_thin_spaces", "price\u00a0100\u00a0EUR and\u2009thin\u202fnarrow\u205fmath", rate=0.5),
        c("every_whitespace_char", "w".join(WHITESPACE) + "end", rate=0.5),
        c("zero_width_not_whitespace", "zero\u200bwidth \u200b alone \ufeffbom", rate=0.5),
        c("control_chars", "abc\x00def \x07bell \x1bESC\x7f tab\x08 \x01\x02 ok", rate=0.5),
        c("zero_token_word_forced", "keep \u200b this \x01", force=["\u200b"], rate=0.3),
        c(
            "mixed_newlines",
            "line1\r\nline2\rline3\nline4\u2028line5\u2029line6\x85line7\x0bline8\x0cline9",
            rate=0.5,
        ),
        c("tabs_and_indentation", "\tdef g():\n\t\treturn 1\n\t# done", rate=0.5),
        c(
            "private_use_unassigned_replacement",
            "pua\ue000x \u0378gap bad\ufffdbyte soft\u00adhyphen",
            rate=0.5,
        ),
        c("single_word", "Hello", rate=0.5),
        c("single_word_target_zero", "Hello", target_tokens=0),
        c("repeated_words_ties", "the the the the the the", rate=0.5, score_levels=1),
        c("two_level_ties", _prose(60, 7), rate=0.3, score_levels=2),
        c("four_level_ties", _prose(80, 8), rate=0.4, score_levels=4),
        c("forced_exceed_budget", "1 2 3 4 5 6 7 8 9 10 words between 11 12", rate=0.1),
        c(
            "force_compounds_and_possessives",
            "Strauss's team, the Strauss-designed towers, Strauss\u2014who was famous\u2014and \u00abStrauss\u00bb, "
            "Strauss\u2026 **Strauss** and STRAUSS'S plans over TCP/IP or x-ray; Straussian and Strausses not.",
            force=["Strauss", "IP", "ray"],
            target_tokens=0,
        ),
        c(
            "force_behind_symbols_quotes_and_invisible_characters",
            "\u201eStrauss\u201c and @Strauss, $Strauss, ~Strauss~, Strauss\u2122, \u300cStrauss\u300d, "
            "Strauss\u200b and Strau\u00adss; C# and C++ and c stay apart from each other.",
            force=["Strauss", "C#"],
            target_tokens=0,
        ),
        c(
            "digits_of_any_script",
            "In \u0661\u0669\u0663\u0667 or \uff11\uff19\uff13\uff17 or \u0967\u096f\u0969\u096d or 1937, "
            "not \u00b2 nor \u2460 nor \u4e00.",
            target_tokens=0,
        ),
        c("zero_width_words_at_full_rate", "alpha \u200b beta \u00ad gamma \u2060 delta", rate=1.0),
        c("zero_width_words_at_half_rate", "alpha \u200b beta \u00ad gamma \u2060 delta", rate=0.5),
        c("target_with_forced", "Order 66 was given on day 19 of year 3.", target_tokens=3),
        c(
            "question_unicode",
            "Gr\u00fc\u00dfe aus M\u00fcnchen und K\u00f6ln.",
            question="Wo ist M\u00dcNCHEN? \u2014 \u6771\u4eac",
            rate=0.5,
        ),
        c("question_over_64_tokens", _prose(30, 3), question=_prose(90, 4), rate=0.5),
        c("prose_200_words", _prose(200, 1), rate=0.33),
        c(
            "prose_1000_words_question",
            _prose(1000, 2),
            question="What is the capital of Germany?",
            rate=0.25,
        ),
        c("prose_700_words_target", _prose(700, 5), target_tokens=300, force=["rivers", "dates"]),
        c(
            "long_words_in_windows",
            " ".join(["incomprehensibilities"] * 3 + ["x" * 40, "ok"] + ["q,"] * 9),
            rate=0.5,
        ),
        # Sentences, documents and headers: what score smoothing (selection weights) reads.
        c(
            "multi_document_qa",
            "Document [1](Title: Rhine (river)) The Rhine flows north. It passes Basel and Cologne.\n"
            "Document [2](Title: Danube) The Danube flows east. Vienna and Budapest lie on it.\n"
            "Document [3](Title: Seine) The Seine crosses Paris. It ends at Le Havre.",
            question="Which river flows through Vienna?",
            rate=0.3,
        ),
        # A header's index is not forced as a number; digits in its title and text still are,
        # and so is an index that does not follow "Document" or that a force entry names.
        c(
            "header_indices_not_forced",
            "Document [1](Title: 2014 Rose Bowl) The game was played on January 1, 2014.\n"
            "Document [2](Title: Rose) A rose is a woody plant. See [2](Title: too.\n"
            "Document [10](Title: Bowl) A bowl is a round dish.",
            question="Who played in the 2014 Rose Bowl?",
            rate=0.2,
            force=["[10](Title:"],
        ),
        c(
            "sentences_and_abbreviations",
            'Mr. Brown moved to the U.S. in May. He said "It is big." Then he left. J. R. wrote '
            "on Fig. 3 (see above.) Prices rose! Why? \u00c9t\u00e9 came. \u00b2 is small.",
            question="Where did Mr. Brown move?",
            rate=0.4,
        ),
        c(
            "crlf_documents_target",
            "First doc here.\r\nSecond doc. Two parts.\r\rThird\rFourth one.",
            target_tokens=8,
        ),
        c("one_long_line_in_pieces", " ".join(_WORDS * 3), rate=0.3, force=["numbers"]),
        # Answer types: the selection bundle lifts the names a "who" question asks for and the
        # numbers a "when" or "how many" one does (numbers not forced, or their lift is moot).
        c(
            "answer_type_who",
            _FILM,
            question="Who directed Natural Born Killers?",
            rate=0.2,
        ),
        c(
            "answer_type_who_after_punctuation",
            _FILM,
            question="(WHO'S the star of the film?",
            rate=0.15,
            keep_digits=False,
        ),
        c(
            "answer_type_how_many",
            _FILM,
            question="How many dollars did the film make?",
            rate=0.2,
            keep_digits=False,
        ),
        c(
            "answer_type_when_documents",
            "Document [1](Title: Golden Gate Bridge) The bridge opened on May 27, 1937. Joseph Strauss "
            "led the work with Charles Ellis.\n"
            "Document [2](Title: Bay Bridge) The Bay Bridge opened in 1936. It links Oakland and San "
            "Francisco, 7 km apart.",
            question="When did the Golden Gate Bridge open?",
            rate=0.25,
            keep_digits=False,
        ),
        c(
            "answer_type_how_alone_asks_for_neither",
            _FILM,
            question="How did critics see the film?",
            rate=0.2,
        ),
        # Title lift: the selection bundle raises each document's title (a header's, without its
        # "Document [n](Title:", or a heading's, without its "##") to its text's best word.
        c(
            "title_lift_documents",
            "Document [1](Title: Sweet Caroline) The song has been played at Fenway Park since 1997. "
            "Fans sing it in the eighth inning.\n"
            "Document [2](Title: Fenway Park) Fenway Park is a ballpark in Boston. It opened in 1912.\n"
            "Document [3](Title: Boston Red Sox)\n"
            "Document [4](Title: Neil Diamond) Neil Diamond wrote the song in 1969.",
            question="Where has Sweet Caroline been played since 1997?",
            rate=0.3,
            keep_digits=False,
        ),
        c(
            "title_lift_markdown_headings",
            "# Golden Gate Bridge\nThe bridge opened in 1937. Joseph Strauss led the work.\n\n"
            "## Bay Bridge\nThe Bay Bridge opened in 1936. It links Oakland and San Francisco.\n\n"
            "Plain heading\nA section without marks, and nothing about bridges at all.",
            question="Which bridge links Oakland?",
            rate=0.3,
            keep_digits=False,
            score_levels=4,
        ),
        # A title line whose next line starts lower case is the first line of a hard-wrapped
        # paragraph, not a title, and is not lifted: on the selection bundle this keeps
        # "month. have booked the in for and the bus" where lifting every title line kept the
        # whole first line "Quick update on the offsite logistics for next".
        c(
            "title_lift_wrapped_lines",
            "Quick update on the offsite logistics for next\nmonth. We have booked the hall in Denver "
            "for Friday and the bus leaves at nine.\n\nCatering notes from the venue team\nthey need "
            "the final head count by Tuesday, and lunch is served at noon.",
            question="Where is the hall?",
            rate=0.3,
            keep_digits=False,
        ),
    ]


def error_cases() -> list[dict[str, Any]]:
    """Budget requests that must fail with InvalidInputError (Java: InvalidInputException)."""
    return [
        {"name": "rate_zero", "total_tokens": 10, "rate": 0.0, "target_tokens": None},
        {"name": "rate_negative", "total_tokens": 10, "rate": -0.5, "target_tokens": None},
        {"name": "rate_above_one", "total_tokens": 10, "rate": 1.5, "target_tokens": None},
        {"name": "no_rate_no_target", "total_tokens": 10, "rate": None, "target_tokens": None},
        {"name": "target_negative", "total_tokens": 10, "rate": None, "target_tokens": -1},
    ]
