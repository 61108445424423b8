"""`splitinfer eval` end to end: real data files, the real command, the bundled condenser."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest
from cli_support import exit_code

from splitinfer.cli.main import main

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
NQ = SHARED / "nq-open-train.jsonl.gz"
HAVE_BUNDLE = resources.files("splitinfer.sdk").joinpath("assets/condenser.tflite").is_file()
NO_BUNDLE = "no default bundle yet (sdk/assets/condenser.tflite); the student is checked once it lands"

# Ten facts; each case asks about one of them, with all ten (rotated) as its context.
FACTS = [
    (
        "Who designed the glass pavilion in the botanical garden?",
        "Henrietta Marlowe",
        "The glass pavilion in the botanical garden was designed by the architect Henrietta Marlowe, "
        "who had trained as a shipbuilder before she turned to buildings.",
    ),
    (
        "Which river flows past the old salt warehouses?",
        "Vellmar",
        "The old salt warehouses stand on the banks of the Vellmar, a slow river that floods the lower "
        "streets every few springs.",
    ),
    (
        "What instrument did the town's founder play?",
        "cello",
        "According to the town chronicle, the founder played the cello at every harvest festival and "
        "left his instrument to the parish church.",
    ),
    (
        "Which bird nests on the cathedral roof?",
        "peregrine falcons",
        "A pair of peregrine falcons has nested on the cathedral roof for many years, and volunteers "
        "watch the nest through a camera.",
    ),
    (
        "What is the local cheese washed in?",
        "cider",
        "The local cheese is washed in cider during ripening, which gives its rind an orange colour and "
        "a smell that visitors rarely forget.",
    ),
    (
        "Who won the first rowing race on the lake?",
        "Tobias Grenfell",
        "The first rowing race on the lake was won by Tobias Grenfell, a ferryman who rowed the course "
        "alone against crews of four.",
    ),
    (
        "What crop did the monks grow on the terraces?",
        "saffron",
        "On the southern terraces the monks grew saffron, and the spice paid for the monastery's new "
        "library and its copyists.",
    ),
    (
        "Which language are the oldest street signs written in?",
        "Occitan",
        "The oldest street signs in the quarter are written in Occitan, a reminder of the traders who "
        "settled there from the south.",
    ),
    (
        "What stone was the bridge built from?",
        "granite",
        "The bridge was built from grey granite quarried in the hills, and each block was dragged down "
        "to the river on wooden sledges.",
    ),
    (
        "Who painted the mural in the railway station?",
        "Ines Okafor",
        "The mural in the railway station was painted by Ines Okafor, whose scenes of the valley cover "
        "the whole wall of the waiting hall.",
    ),
]


def _write_qa(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i, (question, answer, _) in enumerate(FACTS):
            sentences = [fact for _, _, fact in FACTS]
            context = " ".join(sentences[i + 3 :] + sentences[: i + 3])
            out.write(
                json.dumps({"id": f"fact-{i}", "question": question, "context": context, "answers": [answer]})
            )
            out.write("\n")
    return path


def _run_json(capsys, *argv: str) -> dict:
    assert main(["eval", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _by_key(doc: dict) -> dict[tuple[str, float], dict]:
    return {(row["method"], row["rate"]): row for row in doc["results"]}


def test_eval_on_a_qa_file_reports_every_method_and_rate(tmp_path, capsys) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    out = tmp_path / "condensed.jsonl"
    plot = tmp_path / "eval.png"
    doc = _run_json(
        capsys,
        "--format",
        "qa",
        "--data",
        str(data),
        "--split",
        "all",
        "--rates",
        "0.2,0.5",
        "--methods",
        "random,truncate,none",
        "--output",
        str(out),
        "--plot",
        str(plot),
    )
    assert doc["config"]["format"] == "qa" and doc["config"]["cases"] == 10
    assert [(r["method"], r["rate"]) for r in doc["results"]] == [
        ("random", 0.2),
        ("random", 0.5),
        ("truncate", 0.2),
        ("truncate", 0.5),
        ("none", 1.0),
    ]
    rows = _by_key(doc)
    assert rows[("none", 1.0)]["answer_retention"] == 1.0
    assert rows[("random", 0.2)]["answer_retention"] < 1.0
    for (method, rate), row in rows.items():
        assert row["n"] == 10
        if method != "none":
            assert row["ratio_tokens"] == pytest.approx(rate, rel=0.1)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 10 * 5
    assert {"id", "method", "rate", "condensed", "original_tokens", "condensed_tokens"} <= set(lines[0])
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_the_table_is_printed_without_json(tmp_path, capsys) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    # A qa file is the user's own: every record counts unless --split says otherwise.
    assert main(["eval", "--format", "qa", "--data", str(data), "--methods", "random,none"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("qa, all split, 10 cases")
    assert out[1].split()[:3] == ["method", "rate", "kept"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rates", "0,0.2"], "outside (0, 1]"),
        (["--methods", "student,magic"], "'magic'"),
        (["--limit", "0"], "--limit"),
        (["--arrangements", "0"], "--arrangements must be a whole number from 1 to 100, got 0"),
        (["--arrangements", "101"], "--arrangements must be a whole number from 1 to 100, got 101"),
        (["--seed", str(2**32 - 1), "--arrangements", "2"], "runs past seed"),
        (["--format", "gsm8k", "--answer", "--data", "x.jsonl"], "drop --answer"),
        (["--format", "qa"], "--data"),
        (["--format", "qa", "--data", "missing.jsonl"], "no such file"),
    ],
)
def test_bad_flags_exit_2_with_the_reason(capsys, argv, message) -> None:
    assert main(["eval", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _qa_line(**fields: object) -> str:
    record = {"question": "Who painted the mural?", "context": "Ines Okafor painted it.", "answers": ["Ines"]}
    record.update(fields)
    return json.dumps({k: v for k, v in record.items() if v is not None}) + "\n"


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (["--plot", "{tmp}/missing/eval.png"], {}, "does not exist"),
        (["--plot", "{tmp}/eval.txt"], {}, "not an image name"),
        (["--plot", "{tmp}/eval.pgf"], {}, "not an image name"),  # matplotlib's, but it needs LaTeX
        (["--plot", "{tmp}"], {}, "a folder"),
        (["--output", "{tmp}"], {}, "a folder"),
        (["--output", "{tmp}/facts.jsonl"], {}, "is the --data file"),
        (["--model", "{tmp}/student.tflite"], {}, "add student to --methods"),
        (["--distractors", "random"], {}, "--distractors is for --format nq"),
        (["--layout", "plain"], {}, "--layout is for --format nq"),
        (["--questions", "swapped"], {}, "--questions is for --format nq"),
        (["--arrangements", "3"], {}, "--arrangements is for --format nq"),
        (["--answer", "--answer-rates", "abc"], {}, "--answer-rates: 'abc'"),
        ([], {"facts.jsonl": _qa_line(context="  ")}, "the context is empty"),
        ([], {"facts.jsonl": _qa_line(answers=["the", "."])}, "no answer left"),
        ([], {"facts.jsonl": _qa_line(context=None)}, "no field 'context'"),
    ],
)
def test_bad_outputs_and_records_exit_2_before_any_case_runs(tmp_path, capsys, argv, files, message) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    before = data.read_bytes()
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["eval", "--format", "qa", "--data", str(data), "--methods", "random", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.out == "" and data.read_bytes() == before
    assert not (tmp_path / "eval.txt").exists() and not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "kv", "--data", "x.jsonl"], "reads no --data"),
        (["--format", "essay", "--data", "missing.jsonl.gz"], "no such file"),
        (["--format", "qa", "--data", "."], "a folder, not a data file"),
    ],
)
def test_a_data_file_the_format_cannot_use_is_refused(capsys, argv, message) -> None:
    assert main(["eval", "--methods", "random", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.skipif(not HAVE_BUNDLE, reason=NO_BUNDLE)
@pytest.mark.slow
def test_the_student_beats_random_on_the_qa_slice(tmp_path, capsys) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    doc = _run_json(
        capsys,
        "--format",
        "qa",
        "--data",
        str(data),
        "--split",
        "all",
        "--rates",
        "0.2,0.33",
        "--methods",
        "student,random",
    )
    rows = _by_key(doc)
    for rate in (0.2, 0.33):
        assert rows[("student", rate)]["answer_retention"] > rows[("random", rate)]["answer_retention"]


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.skipif(not NQ.is_file(), reason="../shared/data is absent")
def test_eval_on_a_held_out_nq_slice(capsys) -> None:
    methods = "student,random,truncate,none" if HAVE_BUNDLE else "random,truncate,none"
    doc = _run_json(
        capsys,
        "--format",
        "nq",
        "--data",
        str(NQ),
        "--limit",
        "40",
        "--rates",
        "0.2,0.5",
        "--methods",
        methods,
    )
    assert doc["config"]["split"] == "heldout" and doc["config"]["cases"] == 40
    rows = _by_key(doc)
    assert rows[("none", 1.0)]["answer_retention"] > 0.9
    assert rows[("random", 0.2)]["answer_retention"] < 0.5
    assert rows[("random", 0.2)]["rate_within_10pct"] > 0.9
    if not HAVE_BUNDLE:
        pytest.skip(NO_BUNDLE)
    assert rows[("student", 0.2)]["answer_retention"] > rows[("random", 0.2)]["answer_retention"]


@pytest.mark.shared_data
@pytest.mark.skipif(not NQ.is_file(), reason="../shared/data is absent")
def test_arrangements_judge_each_case_with_its_documents_in_other_orders(capsys, tmp_path) -> None:
    out = tmp_path / "condensed.jsonl"
    doc = _run_json(
        capsys,
        *("--format", "nq", "--data", str(NQ), "--limit", "4", "--arrangements", "3", "--seed", "0"),
        *("--rates", "0.5", "--methods", "random,none", "--output", str(out)),
    )
    assert doc["config"]["cases"] == 12 and doc["config"]["arrangements"] == 3
    assert {r["n"] for r in doc["results"]} == {12}
    # One record per case, method and rate; the cases in order.
    ids = list(dict.fromkeys(json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()))
    first = ids[:4]
    assert not any("~" in i for i in first)  # seed 0: the usual arrangement, as without the flag
    assert ids[4:8] == [f"{i}~s1" for i in first] and ids[8:] == [f"{i}~s2" for i in first]

    from splitinfer.evaluation import data as eval_data

    cases = eval_data.load("nq", NQ, "hard", "heldout", 4, 0, "documents", 3)
    plain = eval_data.load("nq", NQ, "hard", "heldout", 4, 0, "documents")
    assert [c.context for c in cases[:4]] == [c.context for c in plain]
    for k in range(4):  # the same ten documents (numbered by place), in three orders
        orders = [[re.sub(r"^Document \[\d+\]", "", d) for d in cases[k + 4 * a].documents] for a in range(3)]
        assert all(sorted(o) == sorted(orders[0]) for o in orders)
        assert len({tuple(o) for o in orders}) == 3
    drawn = eval_data.load("nq", NQ, "random", "heldout", 2, 5, "documents", 2)
    base = [c.id for c in eval_data.load("nq", NQ, "random", "heldout", 2, 5, "documents")]
    assert [c.id for c in drawn] == [f"{i}~r5" for i in base] + [f"{i}~r6" for i in base]
    assert drawn[0].documents != drawn[2].documents  # another draw of random distractors


@pytest.mark.shared_data
@pytest.mark.skipif(not NQ.is_file(), reason="../shared/data is absent")
def test_swapped_questions_ask_of_the_same_documents_another_question(capsys, tmp_path) -> None:
    out = tmp_path / "condensed.jsonl"
    doc = _run_json(
        capsys,
        *("--format", "nq", "--data", str(NQ), "--limit", "6", "--questions", "swapped"),
        *("--rates", "0.5", "--methods", "none", "--output", str(out)),
    )
    assert doc["config"]["questions"] == "swapped" and doc["config"]["cases"] == 6
    assert _by_key(doc)[("none", 1.0)]["answer_retention"] == 1.0  # the asked record's passage is there
    ids = {json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()}
    assert len(ids) == 6 and all(re.fullmatch(r"nq-\d+~q\d+", i) for i in ids)

    from splitinfer.evaluation import data as eval_data

    own = {c.id: c for c in eval_data.load("nq", NQ)}
    for case in eval_data.load("nq", NQ, limit=6, questions="swapped"):
        mine = own[case.id.split("~")[0]]
        assert case.context == mine.context and case.question != mine.question


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--output", "{tmp}/student.tflite"], "--output {tmp}/student.tflite is the --model bundle"),
        (["--plot", "{tmp}/student.tflite"], "--plot {tmp}/student.tflite is the --model bundle"),
        (["--output", "{tmp}/./student.tflite"], "is the --model bundle"),
        (["--output", "{tmp}/a.png", "--plot", "{tmp}/a.png"], "--output and --plot are the same file"),
        (["--output", "/proc/eval.jsonl"], "--output /proc/eval.jsonl: cannot write into /proc"),
        (["--plot", "/proc/eval.png"], "--plot /proc/eval.png: cannot write into /proc"),
    ],
)
def test_outputs_that_would_overwrite_the_model_or_each_other_exit_2(
    tmp_path, capsys, argv: list[str], message: str
) -> None:
    data = _write_qa(tmp_path / "facts.jsonl")
    model = tmp_path / "student.tflite"
    model.write_bytes(b"a bundle the run would read")
    args = ["eval", "--format", "qa", "--data", str(data), "--methods", "student", "--model", str(model)]
    assert main([*args, *(a.replace("{tmp}", str(tmp_path)) for a in argv)]) == 2
    err = capsys.readouterr().err.strip()
    assert message.replace("{tmp}", str(tmp_path)) in err and len(err.splitlines()) == 1
    assert model.read_bytes() == b"a bundle the run would read" and not (tmp_path / "a.png").exists()


def test_an_output_over_the_default_bundle_is_refused(tmp_path, capsys, monkeypatch) -> None:
    import splitinfer.sdk._condenser as condenser

    default = tmp_path / "condenser.tflite"  # stands in for sdk/assets/condenser.tflite
    default.write_bytes(b"the bundled condenser")
    monkeypatch.setattr(condenser, "DEFAULT_BUNDLE", default)
    data = _write_qa(tmp_path / "facts.jsonl")
    args = ["eval", "--format", "qa", "--data", str(data), "--methods", "student,random"]
    assert main([*args, "--output", str(default)]) == 2
    assert "is the bundled condenser (the default --model)" in capsys.readouterr().err
    assert default.read_bytes() == b"the bundled condenser"


def test_a_run_that_fails_midway_leaves_the_old_output_untouched(tmp_path, capsys, monkeypatch) -> None:
    import splitinfer.evaluation.command as command

    def half_then_crash(cases, methods, tokenizer, config, answerer, on_record=None):
        on_record({"id": "first", "condensed": "half of a run"})
        raise RuntimeError("a bug halfway through")

    monkeypatch.setattr(command, "evaluate", half_then_crash)
    data = _write_qa(tmp_path / "facts.jsonl")
    out = tmp_path / "condensed.jsonl"
    out.write_text("the previous run's results\n")
    argv = ["eval", "--format", "qa", "--data", str(data), "--methods", "random", "--output", str(out)]
    assert main(argv) == 3
    assert "a bug halfway through" in capsys.readouterr().err
    assert out.read_text() == "the previous run's results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["condensed.jsonl", "facts.jsonl"]


def test_a_negative_seed_exits_2_in_one_line(tmp_path, capsys) -> None:
    from splitinfer.evaluation.command import EvalOptions, evaluate_options
    from splitinfer.sdk._errors import InvalidInputError

    data = _write_qa(tmp_path / "facts.jsonl")
    assert exit_code(["eval", "--format", "qa", "--data", str(data), "--seed", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--seed: must be a whole number from 0" in err and len(err.splitlines()) == 1
    with pytest.raises(InvalidInputError, match="--seed must be a whole number"):
        evaluate_options(EvalOptions(format="qa", data=str(data), methods="random", seed=-1))


def test_eval_help_states_the_exit_codes(capsys) -> None:
    assert exit_code(["eval", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and all(f"\n  {code}  " in out for code in range(4))


@pytest.mark.parametrize("flag", ["--output", "--plot"])
def test_an_output_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path, flag) -> None:
    # Outputs are written whole and then swapped in; a link stays a link (sdk._bundle.atomic_path,
    # which also writes pipes and devices such as /dev/stdout in place).
    data = _write_qa(tmp_path / "facts.jsonl")
    target = tmp_path / ("out.png" if flag == "--plot" else "out.jsonl")
    real = tmp_path / ("real.png" if flag == "--plot" else "real.jsonl")
    real.write_text("old", encoding="utf-8")
    target.symlink_to(real)
    argv = ["eval", "--format", "qa", "--data", str(data), "--methods", "random", flag, str(target)]
    assert exit_code(argv) == 0
    assert target.is_symlink()
    written = real.read_bytes()
    assert written != b"old"
    assert written.startswith(b"\x89PNG") if flag == "--plot" else written.startswith(b"{")


@pytest.mark.parametrize("content", ["", "qa"])
def test_essays_from_a_file_without_nq_passages_are_refused(tmp_path, capsys, content) -> None:
    data = _write_qa(tmp_path / "facts.jsonl") if content == "qa" else tmp_path / "empty.jsonl"
    if content == "":
        data.write_text("", encoding="utf-8")
    argv = ["eval", "--format", "essay", "--data", str(data), "--limit", "2", "--methods", "none"]
    assert exit_code(argv) == 2
    assert "no held-out NQ gold passages" in capsys.readouterr().err


def test_a_record_with_an_empty_answers_list_is_named_as_such(tmp_path, capsys) -> None:
    data = tmp_path / "no-answers.jsonl"
    data.write_text(
        json.dumps({"question": "q?", "context": "a b c d", "answers": []}) + "\n", encoding="utf-8"
    )
    assert exit_code(["eval", "--format", "qa", "--data", str(data), "--methods", "none"]) == 2
    err = capsys.readouterr().err
    assert "empty 'answers' list" in err and "normalisation" not in err
