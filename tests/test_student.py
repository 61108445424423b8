"""The student and ``splitinfer distill train``: I/O contract, question features, windows as the
device cuts them, held-out prompts never trained on, determinism."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from test_student_support import tiny_options, train_tiny, write_labels

from splitinfer.converters.convert import keras_numpy
from splitinfer.converters.student import QuestionFeatures, StudentConfig, build_student
from splitinfer.converters.train import rank_targets, train
from splitinfer.converters.windows import (
    default_tokenizer,
    encode_prompt,
    prompt_windows,
    question_ids,
    token_targets,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return train_tiny(tmp_path_factory.mktemp("student"))


def test_student_maps_int32_context_and_question_ids_to_one_score_in_0_1_per_context_token() -> None:
    model = build_student(
        StudentConfig(
            max_seq_len=32, max_question_len=8, embed_dim=4, channels=4, dilations=(1,), embed_init="random"
        )
    )
    context = np.random.default_rng(0).integers(1, 30000, (2, 32)).astype(np.int32)
    question = np.zeros((2, 8), dtype=np.int32)
    scores = keras_numpy(model({"context_ids": context, "question_ids": question}))
    assert scores.shape == (2, 32)
    assert np.all((scores >= 0) & (scores <= 1))


def test_question_features_flag_context_tokens_that_occur_in_the_question() -> None:
    context = np.array([[5, 7, 9, 0]], dtype=np.int32)
    question = np.array([[9, 0, 0]], dtype=np.int32)
    emb = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
    _, scalars = QuestionFeatures()([context, question, emb[context], emb[question]])
    exact = keras_numpy(scalars)[0, :, 0]
    assert exact.tolist() == [0.0, 0.0, 1.0, 0.0]  # the pad 0 in context never matches pad in question


def test_question_features_are_zero_without_a_question_but_rarity_remains() -> None:
    context = np.array([[5, 7, 9]], dtype=np.int32)
    question = np.zeros((1, 3), dtype=np.int32)
    emb = np.random.default_rng(2).normal(size=(30, 4)).astype(np.float32)
    vectors, scalars = QuestionFeatures()([context, question, emb[context], emb[question]])
    scalars = keras_numpy(scalars)[0]
    assert np.all(keras_numpy(vectors) == 0.0)
    assert np.all(scalars[:, [0, 1, 2, 4, 5]] == 0.0)
    assert np.allclose(scalars[:, 3], np.log([6.0, 8.0, 10.0]) / np.log(30522))


def test_rarer_tokens_have_higher_ids_in_the_vocabulary() -> None:
    tokenizer = default_tokenizer()
    assert tokenizer.token_id("the") < tokenizer.token_id("river") < tokenizer.token_id("zeppelin")


def test_pretrained_embeddings_put_related_words_closer_than_unrelated_ones() -> None:
    from splitinfer.converters.student import pretrained_embeddings

    table = pretrained_embeddings(32)
    tokenizer = default_tokenizer()

    def cosine(a: str, b: str) -> float:
        x, y = table[tokenizer.token_id(a)], table[tokenizer.token_id(b)]
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))

    assert table.shape == (30522, 32)
    assert cosine("river", "lake") > cosine("river", "guitar")
    assert cosine("king", "queen") > cosine("king", "carbon")


def test_receptive_field_of_the_default_student_covers_sentences() -> None:
    assert StudentConfig().receptive_field >= 100


def test_rank_targets_order_words_within_a_prompt_and_share_ties() -> None:
    assert rank_targets(np.array([0.2, 0.9, 0.2, 0.5])).tolist() == pytest.approx([1 / 6, 1.0, 1 / 6, 2 / 3])
    assert rank_targets(np.array([0.3])).tolist() == [1.0]


def test_sharpened_targets_keep_the_order_and_split_at_the_default_rate() -> None:
    from splitinfer.converters.train import word_targets

    scores = np.linspace(0.0, 1.0, 101)
    sharp = word_targets(scores, 0.33, 0.05)
    assert np.all(np.diff(sharp) > 0)
    assert sharp[50] < 0.1 and sharp[90] > 0.9 and sharp[67] == pytest.approx(0.5, abs=0.01)
    assert np.array_equal(word_targets(scores, 0.33, 0.0), rank_targets(scores))


def test_targets_at_several_rates_step_at_each_of_them() -> None:
    from splitinfer.converters.train import word_targets

    scores = np.linspace(0.0, 1.0, 101)
    multi = word_targets(scores, 0.33, 0.02, (0.1, 0.33))
    assert np.all(np.diff(multi) > 0)
    # About 0.5 between the two cuts, 0.25 / 0.75 at each of them, near 0 and 1 outside.
    assert multi[20] < 0.02 and multi[97] > 0.98 and multi[80] == pytest.approx(0.5, abs=0.02)
    assert multi[67] == pytest.approx(0.25, abs=0.02) and multi[90] == pytest.approx(0.75, abs=0.02)
    assert np.array_equal(word_targets(scores, 0.33, 0.02, (0.33,)), word_targets(scores, 0.33, 0.02))


def test_shifted_windows_cut_tokens_elsewhere_and_keep_their_word_targets() -> None:
    from splitinfer.converters.train import build_examples, shifted, word_targets

    tokenizer = default_tokenizer()
    words = [f"w{i % 7}" for i in range(40)]
    record = {"words": words, "scores": list(np.linspace(0, 1, len(words))), "question": "q"}
    prompt = encode_prompt(tokenizer, record, 8)
    view, first = shifted(prompt, 16)
    starts = np.cumsum(prompt.counts) - prompt.counts
    assert starts[first] >= 8 and starts[first - 1] < 8
    assert view.words == words[first:] and view.ids.tolist() == prompt.ids[starts[first] :].tolist()
    plain = build_examples([prompt], 16)
    both = build_examples([prompt], 16, shifted_windows=True)
    assert len(both[0]) > len(plain[0])
    assert np.array_equal(both[0][: len(plain[0])], plain[0])
    # The first shifted window starts at word `first`, with that word's target.
    row = len(plain[0])
    assert both[0][row, 0] == prompt.ids[starts[first]]
    assert both[2][row, 0] == pytest.approx(word_targets(prompt.teacher, 0.33, 0.0)[first])
    short = encode_prompt(tokenizer, {**record, "words": words[:3], "scores": [0.1, 0.2, 0.3]}, 8)
    assert shifted(short, 16) is None


def test_rearranged_and_re_laid_out_variants_of_a_case_are_validated_together() -> None:
    from splitinfer.converters.train import is_validation

    ids = [f"nq-{i}" for i in range(200)]
    assert [is_validation(i, 0.2) for i in ids] == [is_validation(f"{i}~s3", 0.2) for i in ids]
    assert [is_validation(i, 0.2) for i in ids] == [is_validation(f"{i}~titles", 0.2) for i in ids]
    assert 10 < sum(is_validation(i, 0.2) for i in ids) < 70


def test_the_window_attention_student_converts_to_builtins_and_matches_keras(tmp_path: Path) -> None:
    import keras

    from splitinfer.converters.convert import convert, frozen_function, load_source
    from splitinfer.converters.gates import builtin_ops, interpreter

    config = StudentConfig(
        max_seq_len=32,
        max_question_len=8,
        embed_dim=8,
        channels=8,
        dilations=(1, 2),
        embed_init="random",
        attention_heads=2,
    )
    model = build_student(config)
    path = tmp_path / "attention.keras"
    model.save(path)
    context = np.zeros((1, 32), dtype=np.int32)
    context[0, :20] = np.random.default_rng(3).integers(1000, 30000, 20)
    question = np.array([[2054, 2003, 0, 0, 0, 0, 0, 0]], dtype=np.int32)
    inputs = {"context_ids": context, "question_ids": question}
    expected = keras_numpy(model(inputs))
    reloaded = keras.saving.load_model(path, compile=False)
    assert np.allclose(keras_numpy(reloaded(inputs)), expected, atol=1e-6)
    flat = convert(frozen_function(load_source(path)), "float32")
    assert builtin_ops(flat).passed
    runner = interpreter(flat)
    details = {d["name"]: d["index"] for d in runner.get_input_details()}
    runner.set_tensor(details["context_ids"], context)
    runner.set_tensor(details["question_ids"], question)
    runner.invoke()
    got = runner.get_tensor(runner.get_output_details()[0]["index"])
    assert np.abs(got - expected).max() <= 1e-4


def test_window_attention_ignores_what_sits_at_padded_positions() -> None:
    from splitinfer.converters.student import WindowAttention

    layer = WindowAttention(2, stride=4)
    ids = np.zeros((1, 16), dtype=np.int32)
    ids[0, :8] = 7  # two stride-4 blocks of real tokens, two of padding
    x = np.random.default_rng(4).normal(size=(1, 16, 8)).astype(np.float32)
    first = keras_numpy(layer([x, ids]))
    changed = x.copy()
    changed[0, 8:] += 100.0
    assert np.allclose(keras_numpy(layer([changed, ids]))[0, :8], first[0, :8], atol=1e-5)
    changed[0, :4] += 1.0  # a real block does count
    assert not np.allclose(keras_numpy(layer([changed, ids]))[0, 4:8], first[0, 4:8], atol=1e-3)


def test_question_ids_are_the_tokens_padded_with_zeros_or_a_long_question_s_two_ends() -> None:
    tokenizer = default_tokenizer()
    ids = question_ids(tokenizer, "Who won the Nobel prize?", 16)
    expected = tokenizer.encode("Who won the Nobel prize?")
    assert ids[: len(expected)].tolist() == expected and not ids[len(expected) :].any()
    long = " ".join(["please"] * 30 + ["who", "won", "the", "nobel", "prize", "in", "physics", "?"])
    every = tokenizer.encode(long)
    assert question_ids(tokenizer, long, 16).tolist() == every[:8] + every[-8:]  # as the Condenser reads it


def test_windows_never_split_a_word_and_targets_follow_each_token_s_word() -> None:
    tokenizer = default_tokenizer()
    words = ["unbelievably", "long", "tokenization", "examples"] * 10
    record = {"words": words, "scores": list(np.linspace(0, 1, len(words))), "question": "q"}
    prompt = encode_prompt(tokenizer, record, 8)
    windows, spans = prompt_windows(prompt, 16)
    assert sum(size for _, _, size in spans) == int(prompt.counts.sum())
    for row, (first, end, size) in enumerate(spans):
        assert size == int(prompt.counts[first:end].sum()) <= 16
        assert windows[row, :size].tolist() == [i for w in words[first:end] for i in tokenizer.encode_word(w)]
        assert not windows[row, size:].any()
    targets = token_targets(prompt, spans, prompt.teacher, 16)
    first, end, size = spans[1]
    assert targets[1, :size].tolist() == pytest.approx(
        np.repeat(prompt.teacher[first:end], prompt.counts[first:end])
    )
    assert np.all(targets[1, size:] == -1.0)


def test_distill_train_writes_the_model_and_a_summary_naming_the_teacher_and_data(
    trained: tuple[Path, Path],
) -> None:
    model, _ = trained
    summary = json.loads(model.with_name(model.name + ".json").read_text())
    assert model.is_file()
    assert summary["teacher"]["name"] == "test-teacher"
    assert summary["data"]["heldout_prompts"] == 6
    assert summary["data"]["train_prompts"] + summary["data"]["validation_prompts"] == 24
    assert 0.0 <= summary["heldout_agreement"]["f1"] <= 1.0
    assert summary["architecture"]["config"]["max_seq_len"] == 64


def test_a_failed_save_leaves_the_previous_model_and_summary_whole(
    trained: tuple[Path, Path], tmp_path: Path, monkeypatch
) -> None:
    import keras

    from splitinfer.converters.train import train

    model, labels = trained
    output = tmp_path / "student.keras"
    output.write_bytes(model.read_bytes())
    sidecar = output.with_name(output.name + ".json")
    sidecar.write_text("previous summary\n")

    def full_disk(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        train(tiny_options(labels, output))
    assert output.read_bytes() == model.read_bytes()
    assert sidecar.read_text() == "previous summary\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.keras", "student.keras.json"]


def test_distill_train_never_fits_or_validates_on_heldout_prompts(tmp_path: Path) -> None:
    from splitinfer.converters.train import build_examples, split_prompts
    from splitinfer.converters.windows import load_prompts

    labels = write_labels(tmp_path / "labels.jsonl", train=20, heldout=5)
    lines = labels.read_text().splitlines()
    marked = [json.loads(line) for line in lines[1:]]
    for record in marked:  # a word only held-out prompts contain
        if record["split"] == "heldout":
            record["words"].append("zeppelin")
            record["scores"].append(1.0)
    labels.write_text("\n".join([lines[0], *map(json.dumps, marked)]) + "\n")
    tokenizer = default_tokenizer()
    _, prompts = load_prompts([labels], tokenizer, 16)
    fit, val, heldout = split_prompts(prompts, 0.2)
    assert len(heldout) == 5 and {p.split for p in fit + val} == {"train"}
    assert val and len(fit) + len(val) == 20
    x, _, _ = build_examples(fit + val, 64)
    assert tokenizer.token_id("zeppelin") not in set(x.ravel().tolist())
    with pytest.raises(Exception, match="no train-split prompt"):
        build_examples([], 64)


def test_the_student_learns_the_teacher_s_ranking_better_than_chance(trained: tuple[Path, Path]) -> None:
    model, _ = trained
    summary = json.loads(model.with_name(model.name + ".json").read_text())
    # At rate 0.33 a random scorer agrees with F1 about 0.33 on these prompts.
    assert summary["heldout_agreement"]["f1"] > 0.5


def test_distill_train_is_deterministic_for_a_seed(tmp_path: Path, trained: tuple[Path, Path]) -> None:
    import keras

    first, labels = trained
    again = tmp_path / "again.keras"
    train(tiny_options(labels, again, seed=0))
    a = keras.saving.load_model(first, compile=False).get_weights()
    b = keras.saving.load_model(again, compile=False).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_the_order_the_labels_files_are_given_in_does_not_change_the_student(tmp_path: Path) -> None:
    import keras

    lines = write_labels(tmp_path / "all.jsonl", train=12, heldout=4).read_text().splitlines(keepends=True)
    header, records = lines[0], lines[1:]
    b_file, a_file = tmp_path / "b.jsonl", tmp_path / "a.jsonl"
    b_file.write_text(header + "".join(records[::2]))
    a_file.write_text(header + "".join(records[1::2]))
    weights = []
    for run, files in (("ab", [a_file, b_file]), ("ba", [b_file, a_file])):
        model = tmp_path / f"{run}.keras"
        summary = train(replace(tiny_options(a_file, model, epochs=1), labels=files))
        assert [f["file"] for f in summary["data"]["files"]] == ["a.jsonl", "b.jsonl"]
        weights.append(keras.saving.load_model(model, compile=False).get_weights())
    assert all(np.array_equal(x, y) for x, y in zip(*weights, strict=True))


def test_members_are_students_trained_alone_averaged_over_one_embedding(
    tmp_path: Path, trained: tuple[Path, Path]
) -> None:
    import keras

    from splitinfer.converters.convert import convert, frozen_function, load_source
    from splitinfer.converters.gates import TFLiteScorer, analyzer_ops, builtin_ops

    first, labels = trained
    second = tmp_path / "seed1.keras"
    train(tiny_options(labels, second, seed=1))
    merged = tmp_path / "members.keras"
    summary = train(replace(tiny_options(labels, merged, seed=0), members=2))
    assert [m["seed"] for m in summary["members"]] == [0, 1]
    assert summary["architecture"]["config"]["members"] == 2

    rng = np.random.default_rng(4)
    inputs = {
        "context_ids": rng.integers(1000, 30000, (3, 64)).astype(np.int32),
        "question_ids": np.pad(rng.integers(1000, 30000, (3, 5)), ((0, 0), (0, 11))).astype(np.int32),
    }

    def scores(path: Path) -> np.ndarray:
        return keras_numpy(keras.saving.load_model(path, compile=False)(inputs))

    alone = [scores(path) for path in (first, second)]
    both = scores(merged)
    assert not np.allclose(alone[0], alone[1])  # two seeds, two different scorers
    assert np.allclose(both, (alone[0] + alone[1]) / 2, atol=1e-6)

    one, two = (convert(frozen_function(load_source(path)), "float32") for path in (first, merged))
    assert builtin_ops(two).passed
    assert len(two) < 1.2 * len(one)  # the embedding table is stored once
    # Each layer of both members runs as one op: as many convolutions as one member has.
    assert analyzer_ops(two).count("CONV_2D") == analyzer_ops(one).count("CONV_2D")
    assert np.allclose(TFLiteScorer(two)(inputs["context_ids"], inputs["question_ids"]), both, atol=1e-5)


def test_distill_train_on_a_missing_labels_file_exits_2_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from splitinfer.cli.main import main

    code = main(
        ["distill", "train", "--labels", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "s.keras")]
    )
    assert code == 2
    assert "distill label" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("output", "extra", "message"),
    [
        ("student", [], "end the name in .keras"),
        ("labels.jsonl/s.keras", [], "is a file, not a folder"),
        ("s.keras", ["--attention-heads", "-1"], "--attention-heads must be >= 0"),
        ("s.keras", ["--attention-heads", "2", "--members", "2"], "for --attention-heads pass --members 1"),
    ],
)
def test_distill_train_refuses_an_unsavable_output_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture, output: str, extra: list[str], message: str
) -> None:
    from splitinfer.cli.main import main

    labels = write_labels(tmp_path / "labels.jsonl", train=4, heldout=1)
    code = main(["distill", "train", "--labels", str(labels), "--output", str(tmp_path / output), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.jsonl"]


def test_distill_train_refuses_a_folder_where_the_summary_goes_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from splitinfer.cli.main import main

    labels = write_labels(tmp_path / "labels.jsonl", train=4, heldout=1)
    (tmp_path / "s.keras.json").mkdir()
    code = main(["distill", "train", "--labels", str(labels), "--output", str(tmp_path / "s.keras")])
    assert code == 2 and "where its training summary goes, is a folder" in capsys.readouterr().err
    assert not (tmp_path / "s.keras").exists()


def test_distill_train_refuses_to_replace_a_model_unless_told_to(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from splitinfer.cli.main import main

    model, labels = trained
    output = tmp_path / "student.keras"
    output.write_bytes(model.read_bytes())
    code = main(["distill", "train", "--labels", str(labels), "--output", str(output)])
    assert code == 2 and "already exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert output.read_bytes() == model.read_bytes()


def test_distill_train_on_a_folder_says_it_is_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from splitinfer.cli.main import main

    assert main(["distill", "train", "--labels", str(tmp_path), "--output", str(tmp_path / "s.keras")]) == 2
    assert f"{tmp_path} is a folder, not a labels file; pass its files" in capsys.readouterr().err


def test_distill_train_on_a_file_that_is_not_text_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from splitinfer.cli.main import main

    labels = tmp_path / "labels.jsonl.gz"
    labels.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe\xfa binary")
    assert main(["distill", "train", "--labels", str(labels), "--output", str(tmp_path / "s.keras")]) == 2
    err = capsys.readouterr().err
    assert "not a labels file" in err or "not UTF-8" in err


def test_distill_train_refuses_a_labels_file_given_twice_or_labelled_with_other_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from splitinfer.cli.main import main

    labels = write_labels(tmp_path / "labels.jsonl", train=4, heldout=1)
    out = str(tmp_path / "s.keras")
    assert main(["distill", "train", "--labels", str(labels), str(labels), "--output", out]) == 2
    assert "is in the labels more than once" in capsys.readouterr().err
    other = tmp_path / "other.jsonl"
    lines = labels.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    header["_meta"]["settings"] = {"kind": "another rule"}
    renamed = [json.dumps({**json.loads(line), "id": "o" + json.loads(line)["id"]}) for line in lines[1:]]
    other.write_text("\n".join([json.dumps(header), *renamed]) + "\n", encoding="utf-8")
    assert main(["distill", "train", "--labels", str(labels), str(other), "--output", out]) == 2
    assert "with different settings" in capsys.readouterr().err
    assert not (tmp_path / "s.keras").exists()
