"""Shared helpers of the student, convert, gates and bench tests (no tests here).

``write_labels`` writes a small labels file in the format of ``splitinfer distill label``: short
prompts of topic sentences where a made-up teacher scores the sentence that answers the question
high, question words medium and the rest low, so a student can learn something in seconds.
Its prompts are paragraphs, and the file records where their lines break, as ``distill label``
writes them. ``train_tiny`` trains a tiny student on it (64-token windows, 8 channels) through the
real ``distill train`` code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TOPICS = [
    ("Paris", "The capital of France is Paris, a city on the Seine."),
    ("Everest", "The highest mountain on Earth is Everest in the Himalayas."),
    ("Jupiter", "The largest planet of the solar system is Jupiter, a gas giant."),
    ("Nile", "The longest river in Africa is the Nile, which flows north."),
    ("Tokyo", "The most populous city of Japan is Tokyo, on the island of Honshu."),
    ("Amazon", "The largest rainforest is the Amazon, mostly in Brazil."),
    ("Pacific", "The deepest ocean is the Pacific, with the Mariana Trench."),
    ("Sahara", "The biggest hot desert is the Sahara across northern Africa."),
]
QUESTIONS = {
    "Paris": "what is the capital of France",
    "Everest": "which is the highest mountain",
    "Jupiter": "what is the largest planet",
    "Nile": "which river is the longest in Africa",
    "Tokyo": "which city of Japan has the most people",
    "Amazon": "where is the largest rainforest",
    "Pacific": "which ocean is the deepest",
    "Sahara": "what is the biggest hot desert",
}
FILLER = (
    "Many visitors come every year to see the old buildings and the museums of the region. "
    "The weather changes quickly in spring and people often carry an umbrella with them. "
    "Local markets sell bread, cheese and fruit from the farms around the valley. "
)
TEACHER = {"teacher": "test-teacher", "settings": {"kind": "answer sentence high, question words medium"}}


def make_record(index: int, split: str, rng: np.random.Generator, line_breaks: bool = False) -> dict:
    order = rng.permutation(len(TOPICS))
    key = TOPICS[order[0]][0]
    parts = [FILLER]
    for j in order[:5]:
        parts += [TOPICS[j][1], FILLER]
    context = ("\n\n" if line_breaks else " ").join(parts)
    words = context.split()
    question = QUESTIONS[key]
    answer_words = set(dict(TOPICS)[key].split())
    qwords = set(question.split())
    scores = []
    for w in words:
        base = 0.9 if w in answer_words else 0.6 if w.strip(",.").lower() in qwords else 0.05
        scores.append(round(float(np.clip(base + rng.normal(0, 0.02), 0, 1)), 4))
    record = {
        "id": f"toy-{split}-{index}",
        "source": "toy",
        "split": split,
        "question": question,
        "words": words,
        "scores": scores,
        "answers": [key],
    }
    if line_breaks:  # each part is a paragraph of its own, as a labels file records it
        from splitinfer.converters.labels import word_breaks
        from splitinfer.sdk._text import split_words

        record["breaks"] = word_breaks(split_words(context)[1])
    return record


def write_labels(
    path: Path, train: int = 24, heldout: int = 6, seed: int = 0, line_breaks: bool = True
) -> Path:
    """A labels file with ``train`` train-split and ``heldout`` held-out prompts. With
    ``line_breaks`` (as ``distill label`` writes them now) each prompt's parts are paragraphs and
    the file records where lines break; without, the file is one made before labels did."""
    rng = np.random.default_rng(seed)
    meta = {**TEACHER, "format": "toy", "split": "all", "count": train + heldout}
    if line_breaks:
        meta["line_breaks"] = True
    lines = [json.dumps({"_meta": meta})]
    lines += [json.dumps(make_record(i, "train", rng, line_breaks)) for i in range(train)]
    lines += [json.dumps(make_record(i, "heldout", rng, line_breaks)) for i in range(heldout)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_options(labels: Path, output: Path, seed: int = 0, epochs: int = 3):
    from splitinfer.converters.train import TrainOptions

    return TrainOptions(
        labels=[labels],
        output=output,
        epochs=epochs,
        seed=seed,
        batch_size=16,
        learning_rate=5e-3,
        max_seq_len=64,
        max_question_len=16,
        validation_fraction=0.2,
        embed_dim=8,
        channels=8,
        dilations=(1, 2),
        pool_sizes=(5,),
        members=1,
        verbose=0,
    )


def train_tiny(tmp: Path, seed: int = 0) -> tuple[Path, Path]:
    """``(student.keras, labels.jsonl)`` of a tiny student trained on toy labels."""
    from splitinfer.converters.train import train

    labels = write_labels(tmp / "labels.jsonl")
    model = tmp / "student.keras"
    train(tiny_options(labels, model, seed))
    return model, labels
