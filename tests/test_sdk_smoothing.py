"""Sentence and document smoothing of word scores: the selection step between scoring and choosing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sdk_bundles import build_test_bundle

from splitinfer.sdk import Condenser
from splitinfer.sdk._errors import BundleError
from splitinfer.sdk._segments import Segment, segment_words
from splitinfer.sdk._selection import (
    NAME_QUESTIONS,
    NUMBER_QUESTIONS,
    AnswerTypes,
    SelectionWeights,
    answer_kind,
    answer_type_words,
    lift_answer_type,
    lift_name_spans,
    lift_titles,
    name_spans,
    select,
    selection_scores,
    smooth_scores,
    title_words,
    token_budget,
)
from splitinfer.sdk._text import split_words

TWO_DOCUMENTS = (
    "Document [1](Title: Rivers) The Nile is long. It flows north.\n"
    "Document [2](Title: Lakes) Lake Baikal is deep. It holds a fifth of fresh water."
)


def test_weights_of_zero_leave_the_model_scores_alone() -> None:
    scores = np.array([0.1, 0.9, 0.4], np.float32)
    out = smooth_scores(scores, [1, 2, 1], [Segment(0, 3, 0)], SelectionWeights())
    assert out.dtype == np.float32 and np.array_equal(out, scores)


def test_a_sentence_score_is_the_token_weighted_mean_of_its_words() -> None:
    scores = np.array([0.2, 0.8, 0.5], np.float32)
    segments = [Segment(0, 2, 0), Segment(2, 3, 0)]
    out = smooth_scores(scores, [1, 3, 2], segments, SelectionWeights(segment=1.0))
    sentence = (0.2 * 1 + 0.8 * 3) / 4  # tokens weigh, not words
    assert out.tolist() == pytest.approx([sentence, sentence, 0.5], abs=1e-6)


def test_a_document_score_is_its_best_sentence_and_blends_by_the_weights() -> None:
    scores = np.array([0.2, 0.6, 0.9, 0.1], np.float32)
    segments = [Segment(0, 1, 0), Segment(1, 2, 0), Segment(2, 3, 1), Segment(3, 4, 1)]
    out = smooth_scores(scores, [1, 1, 1, 1], segments, SelectionWeights(segment=0.5, document=0.25))
    expected = [
        0.25 * 0.2 + 0.5 * 0.2 + 0.25 * 0.6,
        0.25 * 0.6 + 0.5 * 0.6 + 0.25 * 0.6,
        0.25 * 0.9 + 0.5 * 0.9 + 0.25 * 0.9,
        0.25 * 0.1 + 0.5 * 0.1 + 0.25 * 0.9,
    ]
    assert out.tolist() == pytest.approx(expected, abs=1e-6)


def test_a_sentence_without_tokens_scores_zero() -> None:
    out = smooth_scores(np.array([0.7], np.float32), [0], [Segment(0, 1, 0)], SelectionWeights(segment=1.0))
    assert out.tolist() == [0.0]


@pytest.mark.parametrize(
    ("segment", "document", "message"),
    [
        (-0.1, 0.0, "segment_weight must be a number in"),
        (0.0, 1.5, "document_weight must be a number in"),
        (0.7, 0.4, "at most 1"),
        (True, 0.0, "segment_weight"),
        ("0.5", 0.0, "segment_weight"),
    ],
)
def test_bad_weights_are_refused_with_the_field_named(
    segment: object, document: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SelectionWeights(segment, document)  # type: ignore[arg-type]


def test_a_manifest_without_selection_means_no_smoothing() -> None:
    weights = SelectionWeights.from_manifest({"default_rate": 0.33})
    assert not weights.active
    assert SelectionWeights.from_manifest({"selection": {"segment_weight": 0.6}}).to_manifest() == {
        "segment_weight": 0.6,
        "document_weight": 0.0,
    }


def test_a_misspelt_selection_key_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="unknown keys segment;"):
        SelectionWeights.from_manifest({"selection": {"segment": 0.6}})


def test_segments_that_skip_or_overlap_words_are_refused() -> None:
    scores, weights = np.zeros(4, np.float32), SelectionWeights(segment=0.5)
    with pytest.raises(ValueError, match="in order"):
        smooth_scores(scores, [1] * 4, [Segment(0, 2, 0), Segment(3, 4, 0)], weights)
    with pytest.raises(ValueError, match="cover 2 words of 4"):
        smooth_scores(scores, [1] * 4, [Segment(0, 2, 0)], weights)


def test_headers_and_documents_become_their_own_segments() -> None:
    words, gaps = split_words(TWO_DOCUMENTS)
    segments, titles = segment_words(words, gaps, [1] * len(words))
    assert titles == ["Rivers", "Lakes"]
    texts = [(" ".join(words[s.start : s.end]), s.doc, s.header) for s in segments]
    assert texts[0] == ("Document [1](Title: Rivers)", 0, True)
    assert ("The Nile is long.", 0, False) in texts
    assert ("It holds a fifth of fresh water.", 1, False) in texts


TITLED = "Rivers\nThe Nile is long. It floods.\n\n## Lakes\nBaikal is deep.\n\nContext:\nNot a title.\n\nLast"


def test_a_title_line_heads_the_line_under_it_as_a_header_would() -> None:
    words, gaps = split_words(TITLED)
    segments, titles = segment_words(words, gaps, [1] * len(words))
    texts = [(" ".join(words[s.start : s.end]), s.doc, s.header) for s in segments]
    assert texts[:4] == [
        ("Rivers", 0, True),
        ("The Nile is long.", 0, False),
        ("It floods.", 0, False),
        ("## Lakes", 1, True),
    ]
    assert titles[:2] == ["Rivers", "Lakes"]
    # A lead-in ending in ":" and a last line are lines of their own, not titles.
    assert ("Context:", 2, False) in texts and ("Not a title.", 3, False) in texts
    assert texts[-1] == ("Last", 4, False) and titles[2:] == ["", "", ""]


@pytest.mark.parametrize(
    "text",
    [
        "Intro line\n\nbody after a blank line.",  # a blank line under it
        "Ends in a stop.\nbody.",  # a sentence
        "one two three four five six seven eight nine ten eleven twelve thirteen\nbody.",  # 13 words
        "---\nbody.",  # ASCII punctuation alone
        "Para one.\nShort line\nbody.",  # no blank line above it
    ],
)
def test_lines_that_are_not_titles_stay_documents_of_their_own(text: str) -> None:
    words, gaps = split_words(text)
    segments, titles = segment_words(words, gaps, [1] * len(words))
    assert not any(s.header for s in segments)
    assert titles == [""] * len(titles)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("smoothing")
    return {
        "raw": build_test_bundle(folder / "raw.tflite"),
        "zero": build_test_bundle(
            folder / "zero.tflite", selection={"segment_weight": 0.0, "document_weight": 0.0}
        ),
        "sentences": build_test_bundle(
            folder / "sentences.tflite", selection={"segment_weight": 1.0, "document_weight": 0.0}
        ),
        "names": build_test_bundle(
            folder / "names.tflite",
            selection={"segment_weight": 0.0, "document_weight": 0.0, "name_spans": True},
        ),
        "types": build_test_bundle(
            folder / "types.tflite",
            selection={
                "segment_weight": 0.0,
                "document_weight": 0.0,
                "answer_types": AnswerTypes(0.5).to_manifest(),
            },
        ),
        "titles": build_test_bundle(
            folder / "titles.tflite",
            selection={"segment_weight": 0.0, "document_weight": 0.0, "title_lift": True},
        ),
    }


def test_zero_weights_in_the_manifest_condense_exactly_like_no_selection_entry(
    bundles: dict[str, Path],
) -> None:
    raw, zero = Condenser.load(bundles["raw"]), Condenser.load(bundles["zero"])
    for rate in (0.2, 0.5):
        a = raw.condense(TWO_DOCUMENTS, "how deep is lake baikal", rate=rate, keep_digits=False)
        b = zero.condense(TWO_DOCUMENTS, "how deep is lake baikal", rate=rate, keep_digits=False)
        assert a.kept_indices.tolist() == b.kept_indices.tolist()


def _assert_chosen_by(
    condenser: Condenser,
    text: str,
    question: str,
    counts: np.ndarray,
    expected: np.ndarray,
    scores: np.ndarray,
    rates: tuple[float, ...],
    rule: str,
) -> None:
    """At every rate (numbers not forced) the condenser keeps what ``select`` keeps by the
    ``expected`` scores, and at one rate at least not what it keeps by the model's ``scores``:
    else the text does not exercise ``rule``."""
    none_forced = np.zeros(len(counts), bool)
    differs = False
    for rate in rates:
        kept = condenser.condense(text, question, rate=rate, keep_digits=False).kept_indices.tolist()
        budget = token_budget(int(counts.sum()), rate)
        assert kept == select(expected, counts, none_forced, budget).tolist()
        differs |= kept != select(scores, counts, none_forced, budget).tolist()
    assert differs, f"{rule} changed no selection: the test text does not exercise it"


def _model_view(
    condenser: Condenser, text: str, question: str
) -> tuple[list[str], list[Segment], np.ndarray, np.ndarray]:
    """``text``'s words, segments and token counts, and the model's word scores for ``question``
    before any selection rule: what each rule's test lifts by hand to compare with the condenser."""
    words, gaps = split_words(text)
    ids = condenser.tokenizer.encode_words(words)
    counts = np.array([len(t) for t in ids])
    scores = condenser._score(ids, counts, condenser._question_ids(question)[0])
    segments, _ = segment_words(words, gaps, counts.tolist())
    return words, segments, counts, scores


def test_the_condenser_chooses_words_by_their_smoothed_scores(bundles: dict[str, Path]) -> None:
    raw, smoothed = Condenser.load(bundles["raw"]), Condenser.load(bundles["sentences"])
    assert smoothed.selection == SelectionWeights(segment=1.0)
    _, segments, counts, scores = _model_view(raw, TWO_DOCUMENTS, "how deep is lake baikal")
    expected_scores = smooth_scores(scores, counts, segments, smoothed.selection)
    _assert_chosen_by(
        smoothed,
        TWO_DOCUMENTS,
        "how deep is lake baikal",
        counts,
        expected_scores,
        scores,
        (0.2, 0.35, 0.5),
        "smoothing",
    )


def test_a_bundle_with_bad_selection_weights_does_not_load(tmp_path: Path) -> None:
    path = build_test_bundle(
        tmp_path / "bad.tflite", selection={"segment_weight": 0.9, "document_weight": 0.9}
    )
    with pytest.raises(BundleError, match=r"selection.*at most 1"):
        Condenser.load(path)


def _spans(text: str) -> list[str]:
    words, gaps = split_words(text)
    segments, _ = segment_words(words, gaps, [1] * len(words))
    return [" ".join(words[a:b]) for a, b in name_spans(words, segments)]


def test_names_are_runs_of_capitalised_or_numeric_words() -> None:
    text = (
        "Natural Born Killers is a 1994 American film starring Woody Harrelson, Juliette Lewis and "
        "Robert Downey Jr. in a role."
    )
    assert _spans(text) == [
        "Natural Born Killers",
        "1994 American",
        "Woody Harrelson,",
        "Juliette Lewis",
        "Robert Downey Jr.",
    ]


def test_a_name_ends_at_a_comma_a_bracket_or_a_sentence_and_skips_headers() -> None:
    text = (
        "Document [1](Title: Students for a Democratic Society) SDS met at Ann Arbor, Michigan in "
        '1960 (with Tom Hayden) New Left Review. "Ögedei Khan" ruled.'
    )
    # The header is no sentence; "SDS" and "Michigan" are single words; ")" ends "Tom Hayden)";
    # "Review." ends its sentence, so the quoted name after it is another run, looked into
    # past its opening quote.
    assert _spans(text) == ["Ann Arbor,", "Tom Hayden)", "New Left Review.", '"Ögedei Khan"']
    assert _spans("one Word only") == []
    assert _spans("") == []


def test_every_word_of_a_name_takes_its_best_score() -> None:
    text = "It stars Woody Harrelson, Juliette Lewis and others."
    words, gaps = split_words(text)
    segments, _ = segment_words(words, gaps, [1] * len(words))
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.5, 0.4, 0.1, 0.2], dtype=np.float32)
    out = lift_name_spans(scores, words, segments)
    assert out.dtype == np.float32
    assert out.tolist() == pytest.approx([0.1, 0.2, 0.9, 0.9, 0.5, 0.5, 0.1, 0.2])
    assert scores[2] == pytest.approx(0.3), "the input is left as it was"
    with pytest.raises(ValueError, match="one entry per word"):
        lift_name_spans(scores[:3], words, segments)


def test_name_spans_in_the_manifest() -> None:
    on = SelectionWeights.from_manifest({"selection": {"segment_weight": 0.6, "name_spans": True}})
    assert on.name_spans and on.active and on.blends
    assert on.to_manifest() == {"segment_weight": 0.6, "document_weight": 0.0, "name_spans": True}
    only = SelectionWeights(name_spans=True)
    assert only.active and not only.blends
    # Off is written as nothing, so bundles made before name spans keep their bytes.
    assert SelectionWeights(0.6, 0.2, False).to_manifest() == {"segment_weight": 0.6, "document_weight": 0.2}
    with pytest.raises(ValueError, match="name_spans must be true or false, got 'yes'"):
        SelectionWeights.from_manifest({"selection": {"name_spans": "yes"}})
    with pytest.raises(ValueError, match="name_spans must be true or false, got 1"):
        SelectionWeights.from_manifest({"selection": {"name_spans": 1}})


NAMED_CAST = (
    "Natural Born Killers is a 1994 American satirical crime film directed by Oliver Stone and "
    "starring Woody Harrelson, Juliette Lewis, Robert Downey Jr., Tom Sizemore and Tommy Lee Jones. "
    "It was released by Warner Bros. Pictures in August and drew a large audience."
)
TITLED_SONG = (
    "Document [1](Title: Sweet Caroline) The song has been played at Fenway Park since 1997 and in the "
    "eighth inning of every game since 2002.\n"
    "Document [2](Title: Boston Red Sox) The Red Sox play their home games at Fenway Park in Boston.\n"
    "Document [3](Title: Neil Diamond) Neil Diamond wrote and recorded the song in 1969."
)


@pytest.mark.parametrize(
    ("bundle", "weights", "text", "question", "rates"),
    [
        (
            "names",
            SelectionWeights(name_spans=True),
            NAMED_CAST,
            "who starred in natural born killers",
            (0.2, 0.35, 0.5),
        ),
        (
            "titles",
            SelectionWeights(title_lift=True),
            TITLED_SONG,
            "what song is played at fenway park in the eighth inning",
            (0.1, 0.2, 0.35),
        ),
    ],
)
def test_the_condenser_keeps_names_whole_and_titles_with_their_text(
    bundles: dict[str, Path],
    bundle: str,
    weights: SelectionWeights,
    text: str,
    question: str,
    rates: tuple[float, ...],
) -> None:
    raw, ruled = Condenser.load(bundles["raw"]), Condenser.load(bundles[bundle])
    assert ruled.selection == weights
    words, segments, counts, scores = _model_view(raw, text, question)
    lift = lift_name_spans if weights.name_spans else lift_titles
    lifted = lift(scores, words, segments)
    _assert_chosen_by(ruled, text, question, counts, lifted, scores, rates, bundle)


def test_a_bundle_with_a_bad_name_spans_value_does_not_load(tmp_path: Path) -> None:
    path = build_test_bundle(tmp_path / "bad.tflite", selection={"segment_weight": 0.6, "name_spans": "on"})
    with pytest.raises(BundleError, match="name_spans must be true or false"):
        Condenser.load(path)


TYPES = AnswerTypes(0.1)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("who starred in natural born killers", "names"),
        ("Who's the president of France?", "names"),
        ("WHOSE dog is it", "names"),
        ('"Who wrote it"', "names"),
        ("when did the war end", "numbers"),
        ("how many moons does mars have", "numbers"),
        ("How much is it?", "numbers"),
        ("what year was it built", "numbers"),
        ("what is the capital of peru", None),  # "what" alone asks for neither
        ("how do birds fly", None),  # "how" alone is no opening: "how many" is
        ("the play by whom", None),  # an opening is where the question starts
        ("whoever", None),
        ("", None),
        (None, None),
    ],
)
def test_a_question_asks_for_names_or_numbers_by_how_it_opens(question: str | None, kind: str | None) -> None:
    assert answer_kind(question, TYPES) == kind


def test_the_longest_opening_wins_and_a_bundle_may_list_its_own() -> None:
    types = AnswerTypes(0.2, names=("what", "who"), numbers=("what year", "wie viele"))
    assert answer_kind("what film won", types) == "names"
    assert answer_kind("What year did it win", types) == "numbers"
    assert answer_kind("Wie viele Monde hat der Mars?", types) == "numbers"


@pytest.mark.parametrize(
    ("types", "message"),
    [
        (lambda: AnswerTypes(0.0), r"weight must be a number in \(0, 1\], got 0.0"),
        (lambda: AnswerTypes(1.5), r"weight must be a number in \(0, 1\], got 1.5"),
        (lambda: AnswerTypes(True), r"weight must be a number in \(0, 1\], got True"),
        (lambda: AnswerTypes(0.1, names=()), "names must be a non-empty list"),
        (lambda: AnswerTypes(0.1, names=("Who",)), "names has 'Who'; write it as words are compared, 'who'"),
        (lambda: AnswerTypes(0.1, numbers=("how  many",)), "numbers has 'how  many'; write it .* 'how many'"),
        (lambda: AnswerTypes(0.1, numbers=("when?",)), "numbers has 'when\\?'; write it .* 'when'"),
        (lambda: AnswerTypes(0.1, numbers=("wie groß",)), "write it as words are compared, 'wie gross'"),
        (lambda: AnswerTypes(0.1, names=(" ",)), "names has ' '; an opening is one or more words"),
        (lambda: AnswerTypes(0.1, names=(7,)), "names has 7; an opening is one or more words"),
        (lambda: AnswerTypes(0.1, names=("?",)), "names has '\\?'; an opening is one or more words"),
        (
            lambda: AnswerTypes(0.1, names=("who",), numbers=("who",)),
            "opening 'who' is in names and in numbers",
        ),
        (lambda: AnswerTypes(0.1, names=("who", "who")), "opening 'who' is twice in names"),
    ],
)
def test_bad_answer_types_are_refused_with_what_is_wrong(types: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        types()  # type: ignore[operator]


def test_answer_types_in_the_manifest() -> None:
    weights = SelectionWeights(0.6, 0.2, True, TYPES)
    entry = weights.to_manifest()
    assert entry["answer_types"] == {
        "weight": 0.1,
        "names": list(NAME_QUESTIONS),
        "numbers": list(NUMBER_QUESTIONS),
    }
    assert SelectionWeights.from_manifest({"selection": entry}) == weights
    assert SelectionWeights(answer_types=TYPES).active
    # None is written as nothing, so bundles made before answer types keep their bytes.
    assert "answer_types" not in SelectionWeights(0.6, 0.2, True).to_manifest()
    for bad, message in (
        ("on", "answer_types must be an object, got str"),
        (
            {"weight": 0.1, "names": ["who"]},
            "answer_types takes weight, names and numbers, got names, weight",
        ),
        ({"weight": "x", "names": ["who"], "numbers": ["when"]}, "weight must be a number"),
    ):
        with pytest.raises(ValueError, match=message):
            SelectionWeights.from_manifest({"selection": {"answer_types": bad}})


def test_the_words_a_question_asks_for_are_names_or_numbers_outside_headers() -> None:
    text = (
        "Document [1](Title: Natural Born Killers) It was made in 1994 by Oliver Stone, for 34 million. "
        "It opened on March 10, 2017 in Ann Arbor."
    )
    words, gaps = split_words(text)
    segments, _ = segment_words(words, gaps, [1] * len(words))
    names = [words[i] for i in np.flatnonzero(answer_type_words(words, segments, "names"))]
    numbers = [words[i] for i in np.flatnonzero(answer_type_words(words, segments, "numbers"))]
    # The header's title is no sentence; "It" is one word; "March 10," is a name, as is "Ann Arbor."
    assert names == ["Oliver", "Stone,", "March", "10,", "Ann", "Arbor."]
    # Not the header's "[1](Title:"; the month comes with its day, a name without digits does not.
    assert numbers == ["1994", "34", "March", "10,", "2017"]
    with pytest.raises(ValueError, match="answer kind must be one of names, numbers, got 'dates'"):
        answer_type_words(words, segments, "dates")


def test_the_words_asked_for_gain_the_weight_in_float32() -> None:
    text = "It was directed by Oliver Stone in 1994."
    words, gaps = split_words(text)
    segments, _ = segment_words(words, gaps, [1] * len(words))
    scores = np.linspace(0.1, 0.8, len(words)).astype(np.float32)
    who = lift_answer_type(scores, words, segments, "who directed it", TYPES)
    assert who.dtype == np.float32
    gained = np.flatnonzero(who != scores).tolist()
    assert [words[i] for i in gained] == ["Oliver", "Stone"]
    assert who[gained].tolist() == (scores[gained] + np.float32(0.1)).tolist()
    # Names found once by the caller (as selection_scores does) are the ones used.
    spans = name_spans(words, segments)
    assert (
        lift_answer_type(scores, words, segments, "who directed it", TYPES, spans=spans).tolist()
        == who.tolist()
    )
    assert lift_answer_type(scores, words, segments, "who", TYPES, spans=[]).tolist() == scores.tolist()
    when = lift_answer_type(scores, words, segments, "when was it directed", TYPES)
    assert [words[i] for i in np.flatnonzero(when != scores)] == ["1994."]
    assert lift_answer_type(scores, words, segments, "what is it", TYPES).tolist() == scores.tolist()
    with pytest.raises(ValueError, match="one entry per word"):
        lift_answer_type(scores[:2], words, segments, "who", TYPES)


def test_the_condenser_lifts_the_words_its_question_asks_for(bundles: dict[str, Path]) -> None:
    raw, typed = Condenser.load(bundles["raw"]), Condenser.load(bundles["types"])
    assert typed.selection == SelectionWeights(answer_types=AnswerTypes(0.5))
    text = (
        "Natural Born Killers is a satirical crime film directed by Oliver Stone and starring Woody "
        "Harrelson and Juliette Lewis. It was released in 1994 and drew a large audience of 200 million."
    )
    words, gaps = split_words(text)
    ids = raw.tokenizer.encode_words(words)
    counts = np.array([len(t) for t in ids])
    segments, _ = segment_words(words, gaps, counts.tolist())
    for question in ("who directed natural born killers", "when was natural born killers released"):
        scores = raw._score(ids, counts, raw._question_ids(question)[0])
        lifted = lift_answer_type(scores, words, segments, question, typed.selection.answer_types)
        _assert_chosen_by(
            typed, text, question, counts, lifted, scores, (0.1, 0.2, 0.35), f"answer types for {question!r}"
        )
    # A question that asks for neither condenses as without the rule; so does no question.
    for question in ("what is natural born killers", None):
        a = raw.condense(text, question, rate=0.2, keep_digits=False).kept_indices.tolist()
        assert typed.condense(text, question, rate=0.2, keep_digits=False).kept_indices.tolist() == a


def test_a_bundle_with_bad_answer_types_does_not_load(tmp_path: Path) -> None:
    path = build_test_bundle(
        tmp_path / "bad.tflite",
        selection={"answer_types": {"weight": 0.1, "names": ["Who"], "numbers": ["when"]}},
    )
    with pytest.raises(
        BundleError, match=r"selection rules are wrong \(answer_types names has 'Who'; .*'who'"
    ):
        Condenser.load(path)


def _title(text: str) -> list[str]:
    words, gaps = split_words(text)
    segments, _ = segment_words(words, gaps, [1] * len(words))
    return [" ".join(words[slice(*title_words(words, seg))]) for seg in segments if seg.header]


def test_a_title_is_the_header_without_its_wrapper_or_markdown_marks() -> None:
    assert _title(TWO_DOCUMENTS) == ["Rivers)", "Lakes)"]
    assert _title("Document [3](Title: Sweet Caroline (song)) It was a hit.") == ["Sweet Caroline (song))"]
    assert _title("## Results of 2023\nRevenue grew.") == ["Results of 2023"]
    assert _title("### Notes\nA line under a heading.") == ["Notes"]
    assert _title("Lake Baikal\nLake Baikal is deep.") == ["Lake Baikal"]


def test_a_title_takes_the_best_score_of_its_document_s_text() -> None:
    words, gaps = split_words(TWO_DOCUMENTS)
    segments, _ = segment_words(words, gaps, [1] * len(words))
    # Document [1](Title: Rivers) The Nile is long. It flows north. / Document [2](Title: Lakes) ...
    scores = np.linspace(0.05, 0.6, len(words)).astype(np.float32)
    scores[words.index("Nile")] = 0.9
    scores[words.index("Rivers)")] = 0.95  # a title already above its text keeps its own score
    out = lift_titles(scores, words, segments)
    assert out.dtype == np.float32
    changed = {words[i]: float(out[i]) for i in np.flatnonzero(out != scores)}
    assert changed == {"Lakes)": pytest.approx(float(scores[-1]))}
    assert out[words.index("Rivers)")] == np.float32(0.95)
    # The wrapper "Document [n](Title:" is not lifted: it says nothing of the document.
    assert out[words.index("Document")] == scores[words.index("Document")]
    assert scores[words.index("Lakes)")] != out[words.index("Lakes)")], "the input is left as it was"
    with pytest.raises(ValueError, match="one entry per word"):
        lift_titles(scores[:3], words, segments)
    # A header with no text under it, and a text without headers, are left alone.
    bare, bare_gaps = split_words("Document [1](Title: Rivers)")
    bare_segments, _ = segment_words(bare, bare_gaps, [1] * len(bare))
    low = np.zeros(len(bare), np.float32)
    assert lift_titles(low, bare, bare_segments).tolist() == low.tolist()
    plain, plain_gaps = split_words("The Nile is long. It flows north.")
    plain_segments, _ = segment_words(plain, plain_gaps, [1] * len(plain))
    ramp = np.arange(len(plain), dtype=np.float32)
    assert lift_titles(ramp, plain, plain_segments).tolist() == ramp.tolist()


@pytest.mark.parametrize(
    ("text", "lifted"),
    [
        # A title line above its text, a Markdown heading, a Document header: lifted.
        ("Sweet Caroline\nThe song is played at Fenway Park.", True),
        ("## notes on the song\nthe song is played at Fenway Park.", True),
        ("Document [1](Title: Sweet Caroline) the song is played at Fenway Park.", True),
        ("Sweet Caroline\n\u00e9t\u00e9 1969 is when it was written.", True),  # only a-z reads as wrapped
        ("Sweet Caroline\n1969 is when it was written.", True),
        # The first line of a hard-wrapped paragraph, or of code: left alone.
        (
            "Quick update on the offsite logistics for next\nmonth. We have booked the Hotel Alpenblick.",
            False,
        ),
        ('async function findUser(id) {\n  const user = await db.query("FROM users");', False),
        ("We will meet at the usual place\n(the caf\u00e9 by the station) at noon.", False),
        ('He said the hotel was\n"cheap" and clean.', False),
        ("He said the hotel was\n\u201ccheap\u201d and clean.", False),  # the sentence rules' openers
        ("The hotel\n\u201cCheap and clean\u201d, said the review.", True),
    ],
)
def test_a_title_line_above_a_line_that_goes_on_with_its_sentence_is_not_lifted(
    text: str, lifted: bool
) -> None:
    words, gaps = split_words(text)
    segments, _ = segment_words(words, gaps, [1] * len(words))
    assert any(seg.header for seg in segments), "the first line must read as a title or header"
    scores = np.linspace(0.0, 1.0, len(words), dtype=np.float32)
    out = lift_titles(scores, words, segments)
    assert (out != scores).any() == lifted


def test_title_lift_in_the_manifest_and_last_of_the_rules() -> None:
    on = SelectionWeights.from_manifest({"selection": {"title_lift": True}})
    assert on.title_lift and on.active and not on.blends
    assert on.to_manifest() == {"segment_weight": 0.0, "document_weight": 0.0, "title_lift": True}
    # Off is written as nothing, so bundles made before titles were lifted keep their bytes.
    assert "title_lift" not in SelectionWeights(0.6, 0.2, True, TYPES).to_manifest()
    with pytest.raises(ValueError, match="title_lift must be true or false, got 1"):
        SelectionWeights.from_manifest({"selection": {"title_lift": 1}})
    with pytest.raises(ValueError, match=r"it takes segment_weight, .*answer_types and title_lift"):
        SelectionWeights.from_manifest({"selection": {"titles": True}})
    # Last: a title rises to its text's best score after that text's names and asked-for words rose.
    text = "Document [1](Title: Film) It stars Woody Harrelson in 1994."
    words, gaps = split_words(text)
    counts = [1] * len(words)
    segments, _ = segment_words(words, gaps, counts)
    scores = np.full(len(words), 0.2, np.float32)
    scores[words.index("Woody")] = 0.5
    every = SelectionWeights(0.0, 0.0, True, TYPES, True)
    out = selection_scores(scores, counts, words, segments, every, "who stars in it")
    assert out[words.index("Film)")] == out[words.index("Harrelson")] == np.float32(0.5) + np.float32(0.1)
