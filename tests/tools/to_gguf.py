#!/usr/bin/env python3
"""Write a Hugging Face checkpoint (config.json + safetensors) as a GGUF file,
laid out as llama.cpp's convert_hf_to_gguf.py lays it out, for llmc's GGUF
import tests. Written from the format's documentation (ggml docs/gguf.md) and
ggml's reference quantizers (ggml-quants.c quantize_row_*_ref); numpy only.

  to_gguf.py HF_DIR OUT.gguf [--type f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1]
             [--dequantized DIR] [--no-tokenizer] [--version 2|3]

--type quantizes every 2-D weight whose rows are whole 32-element blocks
(norms stay f32, as llama.cpp keeps them). --dequantized writes DIR as a
Hugging Face checkpoint of the weights the GGUF holds, dequantized (f32, in
transformers' layout): tests/tools/ref_hf.py on DIR is then the reference
for the GGUF. A Llama model's q and k rows are permuted as llama.cpp's
converter permutes them (LlamaModel.permute), so RoPE pairs are adjacent.
With a tokenizer.json of the byte-level BPE kind, the tokenizer goes in as
llama.cpp's "gpt2" vocabulary (tokens, token types, merges)."""

import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_hf import load_checkpoint  # noqa: E402

GGUF_TYPES = {"u32": 4, "i32": 5, "f32": 6, "bool": 7, "string": 8, "array": 9, "u64": 10}
GGML = {"f32": (0, 1, 4), "f16": (1, 1, 2), "q4_0": (2, 32, 18), "q4_1": (3, 32, 20), "q5_0": (6, 32, 22),
        "q5_1": (7, 32, 24), "q8_0": (8, 32, 34), "bf16": (30, 1, 2)}
ARCHS = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2",
         "Qwen3ForCausalLM": "qwen3"}
LAYER_NAMES = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
               "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
               "self_attn.k_norm": "attn_k_norm", "post_attention_layernorm": "ffn_norm",
               "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
GLOBAL_NAMES = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output"}


def gguf_name(hf):
    stem, _, suffix = hf.rpartition(".")
    if stem in GLOBAL_NAMES:
        return f"{GLOBAL_NAMES[stem]}.{suffix}"
    parts = stem.split(".")
    if parts[:2] == ["model", "layers"]:
        return f"blk.{parts[2]}.{LAYER_NAMES['.'.join(parts[3:])]}.{suffix}"
    raise SystemExit(f"to_gguf: no GGUF name for {hf}")


# ---- ggml's reference quantizers, block by block over rows of 32 ----

def round_away(x):  # C's roundf: halves away from zero
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


def fifth_bits(lo, hi):
    """Q5's qh: bit j of element j's fifth bit, bit j + 16 of element j + 16's, as 4 bytes a block."""
    bits = ((lo >> 4) & 1).astype(np.uint32) << np.arange(16, dtype=np.uint32)
    bits |= ((hi >> 4) & 1).astype(np.uint32) << np.arange(16, 32, dtype=np.uint32)
    return bits.sum(axis=1, dtype=np.uint32).astype("<u4").view(np.uint8).reshape(lo.shape[0], 4)


def quantize(w, kind):
    """w: [rows, k] float32 → (bytes, dequantized float32 of the same shape)."""
    rows, k = w.shape
    b = w.reshape(rows * k // 32, 32).astype(np.float32)
    nb = b.shape[0]
    if kind == "q8_0":
        amax = np.abs(b).max(axis=1)
        d = amax / 127
        inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0).astype(np.float32)
        q = round_away(b * inv[:, None]).astype(np.int8)
        dh = f16(d)
        blocks = np.concatenate([dh.view(np.uint8).reshape(nb, 2), q.view(np.uint8)], axis=1)
        deq = q.astype(np.float32) * dh.astype(np.float32)[:, None]
    elif kind in ("q4_0", "q5_0"):
        levels = 8 if kind == "q4_0" else 16
        idx = np.abs(b).argmax(axis=1)
        mx = b[np.arange(nb), idx]
        d = (mx / -levels).astype(np.float32)
        inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0).astype(np.float32)
        q = np.minimum(2 * levels - 1, np.trunc(b * inv[:, None] + (levels + 0.5)).astype(np.int32))
        dh = f16(d)
        lo, hi = q[:, :16], q[:, 16:]
        qs = ((lo & 0xF) | ((hi & 0xF) << 4)).astype(np.uint8)
        parts = [dh.view(np.uint8).reshape(nb, 2)]
        if kind == "q5_0":
            parts.append(fifth_bits(lo, hi))
        parts.append(qs)
        blocks = np.concatenate(parts, axis=1)
        deq = (q - levels).astype(np.float32) * dh.astype(np.float32)[:, None]
    elif kind in ("q4_1", "q5_1"):
        top = 15 if kind == "q4_1" else 31
        mn, mx = b.min(axis=1), b.max(axis=1)
        d = ((mx - mn) / top).astype(np.float32)
        inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0).astype(np.float32)
        q = np.trunc((b - mn[:, None]) * inv[:, None] + 0.5).astype(np.int32)
        if kind == "q4_1":
            q = np.minimum(15, q)
        dh, mh = f16(d), f16(mn)
        lo, hi = q[:, :16], q[:, 16:]
        qs = ((lo & 0xF) | ((hi & 0xF) << 4)).astype(np.uint8)
        parts = [dh.view(np.uint8).reshape(nb, 2), mh.view(np.uint8).reshape(nb, 2)]
        if kind == "q5_1":
            parts.append(fifth_bits(lo, hi))
        parts.append(qs)
        blocks = np.concatenate(parts, axis=1)
        deq = q.astype(np.float32) * dh.astype(np.float32)[:, None] + mh.astype(np.float32)[:, None]
    else:
        raise SystemExit(f"to_gguf: unknown type {kind}")
    return blocks.astype(np.uint8).tobytes(), deq.reshape(rows, k)


def permute(w, n_head):  # LlamaModel.permute in llama.cpp's convert_hf_to_gguf.py
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


# ---- the file ----

def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv_bytes(key, kind, value):
    out = gguf_string(key) + struct.pack("<I", GGUF_TYPES[kind])
    if kind == "string":
        return out + gguf_string(value)
    if kind == "array":
        elem, items = value
        out += struct.pack("<IQ", GGUF_TYPES[elem], len(items))
        if elem == "string":
            return out + b"".join(gguf_string(s) for s in items)
        fmt = {"u32": "<I", "i32": "<i", "f32": "<f"}[elem]
        return out + b"".join(struct.pack(fmt, v) for v in items)
    fmt = {"u32": "<I", "i32": "<i", "f32": "<f", "bool": "<?", "u64": "<Q"}[kind]
    return out + struct.pack(fmt, value)


LLAMA3_RE = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
             "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
QWEN2_RE = LLAMA3_RE.replace("\\p{N}{1,3}", "\\p{N}")


def pre_name(tok):
    """llama.cpp's name for the tokenizer's pre-tokenization (what
    convert_hf_to_gguf.py's get_vocab_base_pre finds by hashing)."""
    pre = tok.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    for st in steps:
        if st.get("type") == "ByteLevel" and st.get("use_regex", True):
            return "gpt-2"
        if st.get("type") == "Split":
            regex = st.get("pattern", {}).get("Regex")
            if regex == LLAMA3_RE:
                return "llama-bpe"
            if regex == QWEN2_RE:
                return "qwen2"
    return "default"


def tokenizer_kvs(hf_dir, config):
    path = os.path.join(hf_dir, "tokenizer.json")
    n = config["vocab_size"]
    if not os.path.exists(path):
        # A placeholder vocabulary (llama.cpp loads no model without one):
        # printable ASCII tokens, no merges.
        return [("tokenizer.ggml.model", "string", "gpt2"), ("tokenizer.ggml.pre", "string", "default"),
                ("tokenizer.ggml.tokens", "array", ("string", [f"<t{i}>" for i in range(n)])),
                ("tokenizer.ggml.token_type", "array", ("i32", [1] * n)),
                ("tokenizer.ggml.merges", "array", ("string", []))]
    with open(path, encoding="utf-8") as f:
        tok = json.load(f)
    cfg = {}
    if os.path.exists(os.path.join(hf_dir, "tokenizer_config.json")):
        with open(os.path.join(hf_dir, "tokenizer_config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
    model = tok["model"]
    if model.get("type") != "BPE":
        raise SystemExit("to_gguf: only BPE tokenizers are written")
    vocab = dict(model["vocab"])
    for t in tok.get("added_tokens", []):
        vocab[t["content"]] = t["id"]
    tokens = [f"[PAD{i}]" for i in range(n)]
    types = [5] * n  # unused
    specials = {t["id"]: t.get("special") for t in tok.get("added_tokens", [])}
    spm = bool(model.get("byte_fallback"))
    for s, i in vocab.items():
        if i < n:
            tokens[i] = s
            if i in specials:
                types[i] = 3 if specials[i] else 4  # control, user-defined
            elif spm and len(s) == 6 and s.startswith("<0x") and s.endswith(">"):
                types[i] = 6  # byte
            else:
                types[i] = 1  # normal
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    kvs = []
    if spm:
        # llama.cpp's sentencepiece vocabulary has scores, not merges: a
        # token's score is minus the rank of the first merge that makes it
        # (the order transformers' conversion from sentencepiece gave them).
        scores = [0.0] * n
        seen = set()
        for rank, m in enumerate(merges):
            whole = m.replace(" ", "")
            i = vocab.get(whole)
            if i is not None and i < n and whole not in seen:
                seen.add(whole)
                scores[i] = -float(rank + 1)
        unk = model.get("unk_token")
        if unk in vocab:
            types[vocab[unk]] = 2
            kvs.append(("tokenizer.ggml.unknown_token_id", "u32", vocab[unk]))
        kvs = [("tokenizer.ggml.model", "string", "llama"),
               ("tokenizer.ggml.tokens", "array", ("string", tokens)),
               ("tokenizer.ggml.scores", "array", ("f32", scores)),
               ("tokenizer.ggml.token_type", "array", ("i32", types))] + kvs
    else:
        kvs = [("tokenizer.ggml.model", "string", "gpt2"), ("tokenizer.ggml.pre", "string", pre_name(tok)),
               ("tokenizer.ggml.tokens", "array", ("string", tokens)),
               ("tokenizer.ggml.token_type", "array", ("i32", types)),
               ("tokenizer.ggml.merges", "array", ("string", merges))]

    def token_of(v):
        return v.get("content") if isinstance(v, dict) else v
    for key in ("bos", "eos"):
        t = token_of(cfg.get(f"{key}_token"))
        if t in vocab and vocab[t] < n:
            kvs.append((f"tokenizer.ggml.{key}_token_id", "u32", vocab[t]))
    for key in ("add_bos_token", "add_eos_token"):
        if isinstance(cfg.get(key), bool):
            kvs.append((f"tokenizer.ggml.{key}", "bool", cfg[key]))
    return kvs


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hf_dir")
    ap.add_argument("out")
    ap.add_argument("--type", default="f32", choices=sorted(GGML))
    ap.add_argument("--dequantized", metavar="DIR")
    ap.add_argument("--no-tokenizer", action="store_true")
    ap.add_argument("--version", type=int, default=3, choices=(2, 3))
    args = ap.parse_args(argv)
    with open(os.path.join(args.hf_dir, "config.json")) as f:
        config = json.load(f)
    hf_arch = config["architectures"][0]
    arch = ARCHS[hf_arch]
    tensors = load_checkpoint(args.hf_dir)
    n_heads = config["num_attention_heads"]
    n_kv = config.get("num_key_value_heads") or n_heads
    head_dim = config.get("head_dim") or config["hidden_size"] // n_heads
    tied = config.get("tie_word_embeddings", hf_arch not in ("LlamaForCausalLM", "MistralForCausalLM"))
    kvs = [("general.architecture", "string", arch), ("general.name", "string", "llmc-test"),
           (f"{arch}.context_length", "u32", config.get("max_position_embeddings", 2048)),
           (f"{arch}.embedding_length", "u32", config["hidden_size"]),
           (f"{arch}.block_count", "u32", config["num_hidden_layers"]),
           (f"{arch}.feed_forward_length", "u32", config["intermediate_size"]),
           (f"{arch}.attention.head_count", "u32", n_heads),
           (f"{arch}.attention.head_count_kv", "u32", n_kv),
           (f"{arch}.attention.key_length", "u32", head_dim),
           (f"{arch}.attention.value_length", "u32", head_dim),
           (f"{arch}.rope.dimension_count", "u32", head_dim),
           (f"{arch}.rope.freq_base", "f32", float(config.get("rope_theta", 10000.0))),
           (f"{arch}.attention.layer_norm_rms_epsilon", "f32", float(config.get("rms_norm_eps", 1e-6)))]
    extra = []  # (gguf name, float32 array): tensors that are not checkpoint weights
    rs = config.get("rope_scaling") or {}
    rtype = rs.get("rope_type", rs.get("type"))
    if rtype == "llama3":  # LlamaModel.generate_extra_tensors: the factors as a tensor
        base = float(config.get("rope_theta", 10000.0))
        freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) / np.float32(head_dim)))
        factor, lo, hi = rs.get("factor", 8.0), rs.get("low_freq_factor", 1.0), rs.get("high_freq_factor", 4.0)
        old = rs.get("original_max_position_embeddings", 8192)
        factors = []
        for f in freqs:
            wavelen = 2 * np.pi / float(f)
            if wavelen < old / hi:
                factors.append(1.0)
            elif wavelen > old / lo:
                factors.append(factor)
            else:
                smooth = (old / wavelen - lo) / (hi - lo)
                factors.append(1 / ((1 - smooth) / factor + smooth))
        extra.append(("rope_freqs.weight", np.array(factors, dtype=np.float32)))
    elif rtype in ("linear", "yarn"):
        kvs += [(f"{arch}.rope.scaling.type", "string", rtype), (f"{arch}.rope.scaling.factor", "f32", float(rs["factor"]))]
        if rtype == "yarn":
            kvs.append((f"{arch}.rope.scaling.original_context_length", "u32", rs["original_max_position_embeddings"]))
    elif rtype:
        raise SystemExit(f"to_gguf: rope scaling {rtype} is not written")
    tok_kvs = [] if args.no_tokenizer else tokenizer_kvs(args.hf_dir, config)
    eos = config.get("eos_token_id")
    if isinstance(eos, int) and not any(k == "tokenizer.ggml.eos_token_id" for k, _, _ in tok_kvs):
        kvs.append(("tokenizer.ggml.eos_token_id", "u32", eos))
    kvs += tok_kvs

    infos, datas, deq = [], [], {}
    names = [n for n in tensors if not (tied and n == "lm_head.weight") and "rotary_emb" not in n]
    order = sorted(names, key=lambda n: (n.startswith("model.layers."), int(n.split(".")[2]) if n.startswith("model.layers.") else 0, n))
    for name in order:
        w = np.asarray(tensors[name], dtype=np.float32)
        stored = w
        if arch == "llama" and name.endswith("self_attn.q_proj.weight"):
            stored = permute(w, n_heads)
        elif arch == "llama" and name.endswith("self_attn.k_proj.weight"):
            stored = permute(w, n_kv)
        kind = args.type if (w.ndim == 2 and w.shape[1] % 32 == 0) or args.type in ("f32", "f16", "bf16") else "f32"
        if w.ndim == 1 and kind != "f32":
            kind = "f32"  # norms and biases stay f32
        if kind == "f32":
            data, d = stored.astype("<f4").tobytes(), w
        elif kind == "f16":
            data, d = stored.astype("<f2").tobytes(), w.astype(np.float16).astype(np.float32)
        elif kind == "bf16":
            bits = (stored.astype("<f4").view("<u4") + 0x7FFF + ((stored.astype("<f4").view("<u4") >> 16) & 1)) >> 16
            data = bits.astype("<u2").tobytes()
            d = (((w.astype("<f4").view("<u4") + 0x7FFF + ((w.astype("<f4").view("<u4") >> 16) & 1)) >> 16) << 16).astype("<u4").view("<f4")
        else:
            data, _ = quantize(stored, kind)
            _, d = quantize(w, kind)  # the same rows, so the same blocks, unpermuted
        deq[name] = d
        infos.append((gguf_name(name), list(reversed(w.shape)), GGML[kind][0]))
        datas.append(data)

    for name, arr in extra:
        infos.append((name, list(reversed(arr.shape)), GGML["f32"][0]))
        datas.append(arr.astype("<f4").tobytes())

    header = b"GGUF" + struct.pack("<IQQ", args.version, len(infos), len(kvs))
    header += b"".join(kv_bytes(*kv) for kv in kvs)
    offset = 0
    for (name, ne, typ), data in zip(infos, datas):
        header += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        header += struct.pack("<IQ", typ, offset)
        offset += (len(data) + 31) // 32 * 32
    header += b"\0" * (-len(header) % 32)
    with open(args.out, "wb") as f:
        f.write(header)
        for data in datas:
            f.write(data + b"\0" * (-len(data) % 32))

    if args.dequantized:
        os.makedirs(args.dequantized, exist_ok=True)
        shutil.copy(os.path.join(args.hf_dir, "config.json"), args.dequantized)
        meta, blobs, off = {}, [], 0
        for name in order:
            b = np.ascontiguousarray(deq[name], dtype="<f4").tobytes()
            meta[name] = {"dtype": "F32", "shape": list(deq[name].shape), "data_offsets": [off, off + len(b)]}
            blobs.append(b)
            off += len(b)
        head = json.dumps(meta).encode()
        head += b" " * (-len(head) % 8)
        with open(os.path.join(args.dequantized, "model.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


if __name__ == "__main__":
    main(sys.argv[1:])
