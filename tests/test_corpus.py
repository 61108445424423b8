"""Corpus builders: the cases every part of the pipeline trains and evaluates on."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from splitinfer.converters.corpus import build_cases, is_heldout, load_cases, synthetic_cases
from splitinfer.sdk._errors import InvalidInputError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TOPICS = ["river", "castle", "violin", "comet", "glacier", "orchard", "lantern", "harbor", "meadow", "tunnel"]


def _write_jsonl(path: Path, records: list[dict], gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records)
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def _nq_records(n: int = 24) -> list[dict]:
    records = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        records.append(
            {
                "question": f"what is special about the {topic} number {i}",
                "answers": [f"answer{i}"],
                "ctxs": [
                    {
                        "title": f"Title {i}",
                        "text": f"The {topic} number {i} is known for answer{i} and more {topic} facts.",
                        "hasanswer": True,
                        "isgold": True,
                    }
                ],
            }
        )
    return records


@pytest.fixture
def nq_file(tmp_path: Path) -> Path:
    return _write_jsonl(tmp_path / "nq.jsonl.gz", _nq_records(), gz=True)


def test_nq_context_is_ten_documents_with_the_gold_one_at_a_cycling_position(nq_file: Path) -> None:
    cases = load_cases("nq", nq_file)
    for index, case in enumerate(cases):
        lines = case.context.split("\n")
        assert len(lines) == 10 == len(case.documents)
        assert [re.match(r"Document \[(\d+)\]\(Title: ", line).group(1) for line in lines] == [
            str(n) for n in range(1, 11)
        ]
        assert f"answer{index} and more" in lines[index % 10]
        assert sum(f"is known for answer{index} " in line for line in lines) == 1


@pytest.mark.parametrize("layout", ["titles", "plain"])
def test_other_layouts_write_the_same_documents_in_the_same_order(nq_file: Path, layout: str) -> None:
    standard, other = load_cases("nq", nq_file), load_cases("nq", nq_file, layout=layout)
    for a, b in zip(standard, other, strict=True):
        assert b.id == f"{a.id}~{layout}" and b.split == a.split and b.answers == a.answers
        blocks = b.context.split("\n\n")
        assert blocks == b.documents and len(blocks) == 10
        for line, block in zip(a.documents, blocks, strict=True):
            title, text = re.match(r"Document \[\d+\]\(Title: (.*?)\) (.*)", line).groups()
            assert block == (f"{title}\n{text}" if layout == "titles" else text)


def test_a_layout_is_for_nq_only(nq_file: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="layout 'plain' is for format nq"):
        load_cases("qa", _write_jsonl(tmp_path / "qa.jsonl", []), layout="plain")
    with pytest.raises(InvalidInputError, match="layout must be one of documents, titles, plain"):
        load_cases("nq", nq_file, layout="markdown")


def test_swapped_questions_keep_the_context_and_ask_a_distractors_question(nq_file: Path, capsys) -> None:
    own = {case.id: case for case in load_cases("nq", nq_file)}
    swapped = load_cases("nq", nq_file, questions="swapped")
    assert len(swapped) == len(own)  # here every record has a distractor of its own split
    assert "left out" not in capsys.readouterr().err
    assert swapped == load_cases("nq", nq_file, questions="swapped")  # seeded: the same each time
    records = _nq_records()
    asked_other = 0
    for case in swapped:
        base, asked = re.fullmatch(r"(nq-\d+)~q(\d+)", case.id).groups()
        mine, theirs = own[base], records[int(asked)]
        assert case.context == mine.context and case.documents == mine.documents
        assert case.question == theirs["question"] != mine.question
        assert case.answers == theirs["answers"]
        # The question's own gold passage is one of the documents, and no split is crossed.
        assert sum(f"is known for {theirs['answers'][0]} " in doc for doc in case.documents) == 1
        assert case.split == mine.split == ("heldout" if is_heldout(case.question) else "train")
        asked_other += 1
    assert asked_other >= len(own) // 2


def test_swapped_questions_follow_the_arrangement_and_the_layout(nq_file: Path) -> None:
    for seed, layout, tail in ((1, "documents", "~s1"), (0, "titles", "~titles")):
        swapped = load_cases("nq", nq_file, questions="swapped", seed=seed, layout=layout)
        by_id = {case.id: case for case in load_cases("nq", nq_file, seed=seed, layout=layout)}
        for case in swapped:
            assert case.id.endswith(tail)
            assert case.context == by_id[re.sub(r"~q\d+", "", case.id)].context
        # The question asked of a context does not depend on how its documents are arranged.
        usual = {
            re.sub(r"~q\d+", "", c.id): c.question for c in load_cases("nq", nq_file, questions="swapped")
        }
        assert {c.id.split("~")[0]: c.question for c in swapped} == usual


def test_questions_are_for_nq_only(nq_file: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="questions 'swapped' is for format nq"):
        load_cases("qa", _write_jsonl(tmp_path / "qa.jsonl", []), questions="swapped")
    with pytest.raises(InvalidInputError, match="questions must be one of own, swapped"):
        load_cases("nq", nq_file, questions="others")
    with pytest.raises(InvalidInputError, match="synthetic prompts ask their own"):
        build_cases("synthetic", None, limit=2, questions="swapped")


def test_hard_distractors_share_the_question_words(nq_file: Path) -> None:
    case = load_cases("nq", nq_file)[0]
    # Records 10 and 20 are about the same topic as record 0: BM25 puts them first.
    assert "The river number 10 " in case.context and "The river number 20 " in case.context


def test_random_distractors_are_seeded(nq_file: Path) -> None:
    first = load_cases("nq", nq_file, distractors="random", seed=1)
    again = load_cases("nq", nq_file, distractors="random", seed=1)
    other = load_cases("nq", nq_file, distractors="random", seed=2)
    assert [c.context for c in first] == [c.context for c in again]
    assert [c.context for c in first] != [c.context for c in other]


def test_a_seed_rearranges_the_same_hard_documents_under_a_suffixed_id(nq_file: Path) -> None:
    plain = load_cases("nq", nq_file)
    assert plain == load_cases("nq", nq_file, seed=0)  # seed 0: the evaluation's cases, unchanged
    moved = load_cases("nq", nq_file, seed=1)
    assert moved == load_cases("nq", nq_file, seed=1)
    assert [c.id for c in moved] == [f"{c.id}~s1" for c in plain]
    for a, b in zip(plain, moved, strict=True):
        body = lambda doc: doc.split(") ", 1)[1]  # noqa: E731 - the text without "Document [i](Title: ..."
        assert sorted(map(body, a.documents)) == sorted(map(body, b.documents))
        assert (a.question, a.answers, a.split) == (b.question, b.answers, b.split)
    assert sum(a.context != b.context for a, b in zip(plain, moved, strict=True)) > len(plain) // 2


def test_a_case_does_not_depend_on_split_or_limit(nq_file: Path) -> None:
    everything = {c.id: c.context for c in load_cases("nq", nq_file)}
    train = load_cases("nq", nq_file, split="train", limit=3)
    assert len(train) == 3 and all(c.split == "train" for c in train)
    assert all(everything[c.id] == c.context for c in train)


def test_heldout_split_is_the_sha1_rule() -> None:
    questions = [f"question {i}" for i in range(200)]
    held = [q for q in questions if is_heldout(q)]
    assert 20 <= len(held) <= 60
    import hashlib

    assert all(int(hashlib.sha1(q.encode()).hexdigest(), 16) % 5 == 0 for q in held)


def test_gsm8k_prompt_has_eight_other_demonstrations_and_the_target_verbatim(tmp_path: Path) -> None:
    records = [
        {"question": f"Tom has {i} apples. How many?", "answer": f"He has {i}.\n#### {i}"} for i in range(12)
    ]
    cases = load_cases("gsm8k", _write_jsonl(tmp_path / "g.jsonl", records))
    case = cases[5]
    assert case.answers == ["5"] and case.verbatim == case.question == records[5]["question"]
    assert case.context.count("Question: ") == 8 and records[5]["question"] not in case.context
    assert case.context.count("Let's think step by step\n") == 8 and case.context.count("#### ") == 8


def test_qa_lines_are_used_as_they_are(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "qa.jsonl", [{"question": "q?", "context": "c c", "answers": ["c"]}])
    [case] = load_cases("qa", path)
    assert (case.question, case.context, case.answers, case.source) == ("q?", "c c", ["c"], "qa")


def test_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "q", "context": "c", "answers": []}\n{oops\n')
    with pytest.raises(InvalidInputError, match=r"bad.jsonl:2: not valid JSON"):
        load_cases("qa", path)


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "qa.jsonl", [{"question": "q", "answers": []}])
    with pytest.raises(InvalidInputError, match="no field 'context' \\(the line has: answers, question\\)"):
        load_cases("qa", path)


def test_a_missing_file_says_to_pass_data(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no such file"):
        load_cases("nq", tmp_path / "absent.jsonl")


def test_unknown_format_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="unknown data format"):
        load_cases("csv", tmp_path)


def test_synthetic_kv_question_asks_for_a_key_whose_value_is_the_answer() -> None:
    cases = synthetic_cases("kv", 3, seed=4)
    assert [c.context for c in cases] == [c.context for c in synthetic_cases("kv", 3, seed=4)]
    for case in cases:
        pairs = json.loads(case.context.split("\n", 1)[1])
        key = re.search(r'key "([0-9a-f-]{36})"', case.question).group(1)
        assert case.answers == [pairs[key]]


def test_synthetic_essay_plants_the_answer_once_in_long_prose() -> None:
    texts = ["Alpha beta gamma delta epsilon. Zeta eta theta iota kappa lambda. Mu nu xi omicron pi rho."]
    for case in synthetic_cases("essay", 5, seed=0, texts=texts) + synthetic_cases("essay", 5, seed=1):
        assert len(case.context.split()) > 150
        assert case.answers[0] in case.context


def test_synthetic_labelling_set_shares_the_limit_among_kinds_and_fills_essays_from_data(
    nq_file: Path,
) -> None:
    cases = build_cases("synthetic", nq_file, limit=5, kinds="essay,kv")
    assert [c.source for c in cases] == ["essay", "essay", "essay", "kv", "kv"]
    assert "is known for answer" in cases[0].context


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "nq-open-train.jsonl.gz").is_file(), reason="../shared/data is absent")
def test_shared_nq_splits_about_a_fifth_out() -> None:
    cases = load_cases("nq", SHARED / "nq-open-train.jsonl.gz")
    held = sum(c.split == "heldout" for c in cases)
    assert len(cases) == 1655 and 0.15 < held / len(cases) < 0.25
    assert all(len(c.documents) == 10 for c in cases)


@pytest.mark.parametrize("gzipped", [False, True])
def test_bytes_that_are_not_utf8_are_named_by_line(tmp_path: Path, gzipped: bool) -> None:
    good = b'{"question": "q", "context": "c d", "answers": ["c"]}\n'
    data = good + b'{"question": "\xff\xfe", "context": "x", "answers": ["x"]}\n'
    path = tmp_path / ("qa.jsonl.gz" if gzipped else "qa.jsonl")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    with pytest.raises(InvalidInputError, match=r"qa\.jsonl(\.gz)?:2: not UTF-8 text \(byte 15\)"):
        load_cases("qa", path)


@pytest.mark.skipif(not (SHARED / "nq-open-train.jsonl.gz").is_file(), reason="../shared/data is absent")
def test_records_that_cannot_swap_their_question_are_counted_on_stderr(capsys) -> None:
    data = SHARED / "nq-open-train.jsonl.gz"
    own = load_cases("nq", data)
    swapped = load_cases("nq", data, questions="swapped")
    left_out = len(own) - len(swapped)
    assert left_out > 0
    assert f"{left_out} of {len(own)} records left out of --questions swapped" in capsys.readouterr().err
