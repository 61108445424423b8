"""Write a tiny random-weight llama model as GGUF, for a real llama.cpp server to load and serve.

    python tiny_gguf.py OUT.gguf [--seed 0]

Runs with the python of the llama venv (it needs only ``gguf`` and ``numpy``), so the test process
does not need ``gguf``. The same seed writes the same bytes.

The model: llama architecture, 2 blocks, hidden 64, 4 heads, feed-forward 128, f32 weights, a
byte-level ``gpt2`` BPE tokenizer (the 256 bytes in GPT-2's byte-to-unicode spelling, a few merges,
then an end-of-text control token). Its answers are nonsense, but readable nonsense: the rows of the
output matrix are zero except for printable ASCII letters, space and the merged tokens, whose rows are
large, so sampling picks those (every chunk is valid UTF-8 text) and never picks the end-of-text
token (an answer runs to ``max_tokens`` and ends with ``length``).
"""

from __future__ import annotations

import argparse
import string
from pathlib import Path

import gguf
import numpy as np

N_LAYERS = 2
N_EMBD = 64
N_HEAD = 4
N_FF = 128
CONTEXT = 8192  # = llama_engine.CONTEXT_TOKENS, the --n_ctx the engine runs with
MERGES = ("Ġ t", "h e", "Ġt he", "i n", "e r", "a n")
EOS = "<|endoftext|>"
READABLE = set(string.ascii_letters + " ")


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (what byte-level BPE vocabularies spell)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {byte: chr(char) for byte, char in zip(printable, chars, strict=True)}


def vocabulary() -> tuple[list[str], list[int], list[bool]]:
    """Tokens, their GGUF token types, and whether the model may emit each one."""
    spelled = byte_to_unicode()
    tokens = [spelled[byte] for byte in range(256)]
    readable = [chr(byte) in READABLE for byte in range(256)]
    for merge in MERGES:
        tokens.append(merge.replace(" ", ""))
        readable.append(True)
    types = [int(gguf.TokenType.NORMAL)] * len(tokens)
    tokens.append(EOS)
    types.append(int(gguf.TokenType.CONTROL))
    readable.append(False)
    return tokens, types, readable


def weights(rng: np.random.Generator, readable: list[bool]) -> dict[str, np.ndarray]:
    """Named f32 tensors in numpy order (out, in); GGUF stores the reversed shape llama.cpp expects."""

    def normal(*shape: int, scale: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    ones = np.ones(N_EMBD, dtype=np.float32)
    n_vocab = len(readable)
    tensors = {"token_embd.weight": normal(n_vocab, N_EMBD, scale=1.0)}
    for i in range(N_LAYERS):
        block = f"blk.{i}"
        tensors[f"{block}.attn_norm.weight"] = ones.copy()
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            tensors[f"{block}.{name}.weight"] = normal(N_EMBD, N_EMBD, scale=0.1)
        tensors[f"{block}.ffn_norm.weight"] = ones.copy()
        tensors[f"{block}.ffn_gate.weight"] = normal(N_FF, N_EMBD, scale=0.1)
        tensors[f"{block}.ffn_up.weight"] = normal(N_FF, N_EMBD, scale=0.1)
        tensors[f"{block}.ffn_down.weight"] = normal(N_EMBD, N_FF, scale=0.1)
    tensors["output_norm.weight"] = ones.copy()
    mask = np.array(readable, dtype=np.float32)[:, None]
    tensors["output.weight"] = normal(n_vocab, N_EMBD, scale=1.0) * mask
    return tensors


def write_model(path: Path, seed: int = 0) -> Path:
    """Writes the tiny model to ``path`` (deterministic for ``seed``) and returns the path."""
    tokens, types, readable = vocabulary()
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(f"splitinfer-tiny-llama-seed{seed}")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(int(gguf.LlamaFileType.ALL_F32))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(list(MERGES))
    writer.add_bos_token_id(len(tokens) - 1)
    writer.add_eos_token_id(len(tokens) - 1)
    writer.add_add_bos_token(False)
    for name, tensor in weights(np.random.default_rng(seed), readable).items():
        writer.add_tensor(name, tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the .gguf file to write")
    parser.add_argument("--seed", type=int, default=0, help="weights seed (default 0)")
    args = parser.parse_args()
    print(write_model(args.out, args.seed))


if __name__ == "__main__":
    main()
