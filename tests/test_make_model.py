"""``make model``'s plan: which labels files it makes, each with its corpus seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitinfer.converters.make_model import parse_args, slices


def test_rearranged_nq_slices_are_labelled_with_their_own_seed_and_never_held_out() -> None:
    plan = {s.name: s for s in slices(parse_args(["--nq-arrangements", "2", "--nq-limit", "5"]))}
    assert plan["nq-train-hard"].seed is None and plan["nq-train-hard"].limit == 5
    assert [plan[f"nq-train-hard-s{k}"].seed for k in (1, 2)] == [1, 2]
    assert all(plan[f"nq-train-hard-s{k}"].split == "train" for k in (1, 2))
    assert "nq-train-hard-s1" not in {s.name for s in slices(parse_args(["--nq-arrangements", "0"]))}
    assert {s.split for s in plan.values()} == {"train", "heldout"}


def test_nq_layouts_add_train_slices_in_those_layouts_and_nothing_else() -> None:
    plan = {s.name: s for s in slices(parse_args(["--nq-layouts", "titles,plain", "--nq-layout-cases", "0"]))}
    for layout in ("titles", "plain"):
        item = plan[f"nq-train-hard-{layout}"]
        assert (item.format, item.split, item.layout, item.limit) == ("nq", "train", layout, None)
    assert {s.layout for s in slices(parse_args(["--nq-layouts", ""]))} == {"documents"}
    with pytest.raises(SystemExit):
        parse_args(["--nq-layouts", "documents"])


@pytest.mark.parametrize(
    ("argv", "names", "limit"),
    [
        # The default: the first third of the NQ train cases in each extra layout.
        ([], ["nq-train-hard-titles-451", "nq-train-hard-plain-451"], 451),
        (["--nq-layout-cases", "100", "--nq-layouts", "plain"], ["nq-train-hard-plain-100"], 100),
        (["--nq-limit", "5"], ["nq-train-hard-titles-451", "nq-train-hard-plain-451"], 5),
    ],
)
def test_extra_layouts_label_the_first_cases_into_files_named_by_their_number(argv, names, limit) -> None:
    # A file named by its number of cases: resuming a file of all the cases does not train on them.
    plan = slices(parse_args(argv))
    extra = [s for s in plan if s.layout != "documents"]
    assert [s.name for s in extra] == names and {s.limit for s in extra} == {limit}
    usual = next(s for s in plan if s.name == "nq-train-hard")
    assert usual.limit == (5 if "--nq-limit" in argv else None)  # the usual layout: every case


@pytest.mark.parametrize(
    ("argv", "name", "limit"),
    [
        (["--nq-swapped-cases", "0"], "nq-train-hard-swapped", None),
        (["--nq-swapped-cases", "400"], "nq-train-hard-swapped-400", 400),
        (["--nq-swapped-cases", "400", "--nq-limit", "5"], "nq-train-hard-swapped-400", 5),
    ],
)
def test_swapped_questions_are_one_more_train_slice(argv, name, limit) -> None:
    swapped = [s for s in slices(parse_args(argv)) if s.questions != "own"]
    assert [(s.name, s.format, s.split, s.questions, s.limit) for s in swapped] == [
        (name, "nq", "train", "swapped", limit)
    ]
    assert {s.questions for s in slices(parse_args([]))} == {"own"}  # not the bundle's recipe (yet)


@pytest.mark.parametrize("value", ["-1", "a third"])
def test_a_bad_number_of_layout_cases_is_a_usage_error(capsys, value) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--nq-layout-cases", value])
    assert exit_info.value.code == 2
    assert "whole number of cases (0: all)" in capsys.readouterr().err


def test_the_model_card_in_the_docs_is_the_one_the_bundled_condenser_carries() -> None:
    from pathlib import Path

    from splitinfer.converters.report import CARD_NAME
    from splitinfer.sdk._bundle import read_bundle
    from splitinfer.sdk._condenser import DEFAULT_BUNDLE

    docs = Path(__file__).resolve().parents[1] / "docs" / "model_card.md"
    assert docs.read_bytes() == read_bundle(DEFAULT_BUNDLE).files[CARD_NAME]


def test_the_model_card_names_each_member_s_seed_and_kept_epoch() -> None:
    from splitinfer.converters.report import _training_lines

    one = {"target": "rank", "loss": "bce", "epochs_run": 6, "best_epoch": 4}
    assert "epoch 4 of 6 run kept" in _training_lines(one)[0]
    members = {
        "target": "rank",
        "loss": "bce",
        "epochs_run": 7,
        "members": [
            {"seed": 0, "epochs_run": 6, "best_epoch": 4},
            {"seed": 1, "epochs_run": 7, "best_epoch": 5},
        ],
    }
    line = _training_lines(members)[0]
    assert "2 members trained alone" in line and "seed 0: epoch 4, seed 1: epoch 5" in line


def test_labels_in_work_that_the_run_would_not_make_stop_it_with_the_way_out(tmp_path, capsys) -> None:
    # A --work of bigger labels (here a case the run does not build) is refused by distill label;
    # make model says that its labels are resumed and that another --work is the way out.
    from splitinfer.converters.labels import LabelRecord, write_labels
    from splitinfer.converters.make_model import Slice, label
    from splitinfer.sdk._errors import InvalidInputError

    item = Slice("synthetic-train", "synthetic", None, "train", 2)
    record = LabelRecord("not-built-by-this-run", "kv", "train", "q?", ["a"], [0.5], ["a"])
    write_labels(tmp_path / item.file_name(), {"teacher": "minilm", "line_breaks": True}, [record])
    with pytest.raises(InvalidInputError, match=r"labels in --work are resumed.*needs another --work"):
        label(item, tmp_path, tmp_path, 0)
    assert "holds 1 labelled case(s) that this run would not label" in capsys.readouterr().err


def test_a_candidate_written_elsewhere_never_rewrites_the_shipped_card(tmp_path) -> None:
    from splitinfer.converters.make_model import DEFAULT_CARD, DEFAULT_OUTPUT

    assert parse_args([]).card == DEFAULT_CARD
    assert parse_args(["--output", str(DEFAULT_OUTPUT)]).card == DEFAULT_CARD
    candidate = tmp_path / "cand.tflite"
    assert parse_args(["--output", str(candidate)]).card == tmp_path / "cand.model_card.md"
    assert parse_args(["--output", str(candidate), "--card", "x.md"]).card == Path("x.md")


def test_slices_labelled_side_by_side_give_the_files_one_at_a_time_gives(tmp_path) -> None:
    from splitinfer.converters.make_model import Slice, label_all

    items = [
        Slice("synthetic-train", "synthetic", None, "train", 2),
        Slice("synthetic-heldout", "synthetic", None, "heldout", 6),
    ]
    alone, together = tmp_path / "alone", tmp_path / "together"
    alone.mkdir()
    together.mkdir()
    first = label_all(items, tmp_path, alone, 0, jobs=1)
    second = label_all(items, tmp_path, together, 0, jobs=2)
    # The files in the order of the slices, whatever finished first, and byte for byte the same.
    assert [p.name for p in first] == [p.name for p in second] == [i.file_name() for i in items]
    for a, b in zip(first, second, strict=True):
        assert len(a.read_text(encoding="utf-8").splitlines()) > 1
        assert a.read_bytes() == b.read_bytes()


def test_a_slice_that_fails_side_by_side_stops_the_run_with_its_error(tmp_path, capsys) -> None:
    from splitinfer.converters.labels import LabelRecord, write_labels
    from splitinfer.converters.make_model import Slice, label_all
    from splitinfer.sdk._errors import InvalidInputError

    good = Slice("synthetic-train", "synthetic", None, "train", 2)
    bad = Slice("synthetic-heldout", "synthetic", None, "heldout", 6)
    record = LabelRecord("not-built-by-this-run", "kv", "heldout", "q?", ["a"], [0.5], ["a"])
    write_labels(tmp_path / bad.file_name(), {"teacher": "minilm", "line_breaks": True}, [record])
    with pytest.raises(InvalidInputError, match=r"labels in --work are resumed"):
        label_all([good, bad], tmp_path, tmp_path, 0, jobs=2)
    assert "a slice failed" in capsys.readouterr().err


def test_the_label_progress_counts_the_cases_of_the_files_begun(tmp_path) -> None:
    from splitinfer.converters.make_model import _progress

    begun, partial, missing = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    begun.write_text('{"_meta": {"count": 3}}\n{"id": 1}\n{"id": 2}\n', encoding="utf-8")
    partial.write_text('{"_meta": {"count": 5}}\n{"id": 1}\n{"id": 2, "wor', encoding="utf-8")
    assert _progress([begun, partial, missing]) == (8, 3)  # an unfinished last line is no case yet
    assert _progress([missing]) == (None, 0)


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_number_of_jobs_is_a_usage_error(capsys, value) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--jobs", value])
    assert "--jobs" in capsys.readouterr().err


def test_the_model_cards_limits_name_the_kinds_of_prompt_the_student_was_trained_on() -> None:
    from splitinfer.converters.report import model_card
    from splitinfer.sdk._bundle import read_bundle
    from splitinfer.sdk._condenser import DEFAULT_BUNDLE

    manifest = dict(read_bundle(DEFAULT_BUNDLE).manifest)
    manifest["training_data"] = {
        **manifest["training_data"],
        "train_prompts_by_source": {"legal": 9, "chat": 4},
    }
    limits = model_card(manifest).split("## Limits")[1]
    assert "Trained on these kinds of prompt only: chat, legal" in limits
    del manifest["training_data"]
    assert "Trained on the prompts of its training data only" in model_card(manifest).split("## Limits")[1]


def test_an_interrupted_build_says_what_is_kept_and_exits_130(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C, or SIGTERM from a cancelled CI job: one line, not a traceback or a silent exit 143."""
    import os
    import signal
    import time

    from splitinfer.converters import make_model

    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
        raise AssertionError("SIGTERM did not stop the build")

    monkeypatch.setattr(make_model, "build", terminated)
    before = signal.getsignal(signal.SIGTERM)
    assert make_model.main(["--work", str(tmp_path / "work")]) == 130
    err = capsys.readouterr().err
    assert err.startswith("make model: interrupted; the labels written so far in ")
    assert err.count("\n") == 1
    assert signal.getsignal(signal.SIGTERM) == before  # its own handler again once the build ended
