#!/usr/bin/python3
"""Train the tiny-llama example model for llmc, end to end, on the CPU.

Steps (all in this one file, deterministic given the flags):
  1. read data/pride_and_prejudice.txt, strip the _emphasis_ underscores and
     unwrap the hard-wrapped paragraphs (one paragraph per line, blank line
     between paragraphs);
  2. train a byte-level BPE tokenizer (GPT-2 byte alphabet, GPT-2
     pre-tokenization pattern, 256 byte tokens + merges + "<|endoftext|>")
     and write tokenizer.json in Hugging Face format;
  3. train a small Llama (exactly the Hugging Face LlamaForCausalLM
     computation: RMSNorm, RoPE with rotate_half, grouped-query attention,
     SwiGLU MLP, untied lm_head) with AdamW and a cosine learning rate;
  4. write config.json, model.safetensors (HF tensor names, float32) and
     reference.json (greedy continuations computed in float32), and check the
     written safetensors file with an independent numpy forward pass.

Uses only Debian's python3-torch and python3-numpy (plus an optimised BLAS
for speed; see examples/README.md):
  /usr/bin/python3 examples/tiny-llama/train.py
"""
import argparse
import json
import math
import os
import re
import struct
import sys
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
EOS_TEXT = "<|endoftext|>"

# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------


def load_text(path):
    with open(path, "r", encoding="utf-8") as f:
        raw = f.read()
    raw = raw.replace("\r\n", "\n").replace("_", "")
    paras = []
    for block in re.split(r"\n\s*\n", raw):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        if lines:
            paras.append(" ".join(lines))
    return "\n\n".join(paras) + "\n"


# --------------------------------------------------------------------------
# Byte-level BPE tokenizer
# --------------------------------------------------------------------------


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 bytes to printable code points."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


# The GPT-2 pre-tokenization pattern, as Hugging Face's ByteLevel pre-tokenizer
# (use_regex=true) applies it:
#   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# Python's re has no \p{..}; [^\W\d_] (letters) and \d (digits) stand in for
# them. The training text is pure ASCII, where this is exact.
GPT2_PAT = re.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def pretokenize(text):
    return GPT2_PAT.findall(text)


def train_bpe(text, vocab_size, n_special=1):
    """Returns (merges as list of (a, b) symbol strings, vocab dict str->id).

    Ids 0..255 are the bytes in byte order (id == byte value), ids 256.. the
    merges in rank order; the special tokens come after (added by caller).
    Pair counts are kept incrementally over a table of unique words.
    """
    b2u = bytes_to_unicode()
    n_merges = vocab_size - 256 - n_special
    word_freq = defaultdict(int)
    for w in pretokenize(text):
        word_freq[w] += 1
    words = []   # list of symbol lists
    freqs = []
    for w, c in word_freq.items():
        words.append([b2u[b] for b in w.encode("utf-8")])
        freqs.append(c)
    pair_count = defaultdict(int)
    pair_where = defaultdict(set)  # pair -> indices of words containing it
    for i, syms in enumerate(words):
        for a, b in zip(syms, syms[1:]):
            pair_count[(a, b)] += freqs[i]
            pair_where[(a, b)].add(i)
    merges = []
    for _ in range(n_merges):
        if not pair_count:
            break
        # Highest count; ties broken by the lexicographically smallest pair.
        best = min(pair_count.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if pair_count[best] < 2:
            break
        merges.append(best)
        a, b = best
        new = a + b
        for i in sorted(pair_where.pop(best, ())):
            syms = words[i]
            f = freqs[i]
            # remove this word's old pair counts
            for p in zip(syms, syms[1:]):
                pair_count[p] -= f
                if pair_count[p] <= 0:
                    del pair_count[p]
            out = []
            j = 0
            while j < len(syms):
                if j + 1 < len(syms) and syms[j] == a and syms[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pair_count[p] += f
                pair_where[p].add(i)
        pair_count.pop(best, None)
    vocab = {b2u[b]: b for b in range(256)}
    for k, (a, b) in enumerate(merges):
        vocab[a + b] = 256 + k
    return merges, vocab


class Tokenizer:
    def __init__(self, merges, vocab, specials):
        self.b2u = bytes_to_unicode()
        self.u2b = {u: b for b, u in self.b2u.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.vocab = dict(vocab)
        self.specials = dict(specials)  # content -> id
        self.id_to_tok = {i: t for t, i in vocab.items()}
        self.cache = {}

    def _bpe(self, word):
        syms = [self.b2u[b] for b in word.encode("utf-8")]
        while len(syms) > 1:
            best, best_rank = None, None
            for p in zip(syms, syms[1:]):
                r = self.ranks.get(p)
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = p, r
            if best is None:
                break
            out, j = [], 0
            while j < len(syms):
                if j + 1 < len(syms) and (syms[j], syms[j + 1]) == best:
                    out.append(syms[j] + syms[j + 1])
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            syms = out
        return [self.vocab[s] for s in syms]

    def encode(self, text):
        ids = []
        # added tokens are matched literally before pre-tokenization
        pat = "(" + "|".join(re.escape(s) for s in self.specials) + ")"
        for piece in re.split(pat, text):
            if piece in self.specials:
                ids.append(self.specials[piece])
                continue
            for w in pretokenize(piece):
                if w not in self.cache:
                    self.cache[w] = self._bpe(w)
                ids.extend(self.cache[w])
        return ids

    def decode(self, ids):
        out = bytearray()
        inv_spec = {i: s for s, i in self.specials.items()}
        for i in ids:
            if i in inv_spec:
                out += inv_spec[i].encode("utf-8")
            else:
                out += bytes(self.u2b[c] for c in self.id_to_tok[i])
        return out.decode("utf-8", errors="replace")


def tokenizer_json(merges, vocab, eos_id):
    full_vocab = dict(vocab)
    full_vocab[EOS_TEXT] = eos_id
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{
            "id": eos_id, "content": EOS_TEXT, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True,
        }],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                    "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
            "vocab": full_vocab,
            "merges": [a + " " + b for a, b in merges],
        },
    }


# --------------------------------------------------------------------------
# Model: the Hugging Face LlamaForCausalLM computation
# --------------------------------------------------------------------------


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rope_cos_sin(seq_len, head_dim, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    t = torch.arange(seq_len, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)              # [T, hd/2]
    emb = torch.cat((freqs, freqs), dim=-1)        # [T, hd]
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    # q, k: [B, H, T, hd]; cos, sin: [T, hd]
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hd = cfg["hidden_size"], cfg["head_dim"]
        self.nh, self.nkv, self.hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], hd
        self.q_proj = nn.Linear(d, self.nh * hd, bias=False)
        self.k_proj = nn.Linear(d, self.nkv * hd, bias=False)
        self.v_proj = nn.Linear(d, self.nkv * hd, bias=False)
        self.o_proj = nn.Linear(self.nh * hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        rep = self.nh // self.nkv  # repeat_kv: kv head j serves q heads j*rep .. j*rep+rep-1
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        att = att.masked_fill(mask, float("-inf"))
        att = torch.softmax(att.float(), dim=-1).to(q.dtype)
        y = (att @ v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, m = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, m, bias=False)
        self.up_proj = nn.Linear(d, m, bias=False)
        self.down_proj = nn.Linear(m, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        cos, sin = rope_cos_sin(cfg["max_position_embeddings"], cfg["head_dim"], cfg["rope_theta"])
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        std = 0.02
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, mean=0.0, std=std)
                if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                    p.data.mul_(1.0 / math.sqrt(2 * cfg["num_hidden_layers"]))

    def forward(self, ids):
        T = ids.shape[1]
        x = self.model.embed_tokens(ids)
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.model.norm(x))


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------


def write_safetensors(path, tensors):
    """tensors: list of (name, float32 numpy array). Little-endian F32."""
    header, offset, blobs = {}, 0, []
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype="<f4")
        b = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        s, e = info["data_offsets"]
        out[name] = np.frombuffer(data[base + s:base + e], dtype="<f4").reshape(info["shape"])
    return out


def numpy_llama_logits(w, cfg, ids):
    """Independent float64 numpy forward pass over the written safetensors,
    written after transformers' modeling_llama.py, to check the export."""
    D, H, KV, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], \
        cfg["head_dim"]
    eps, T = cfg["rms_norm_eps"], len(ids)

    def rms(x, g):
        return g * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))

    inv_freq = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    freqs = np.outer(np.arange(T, dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], -1)
    cos, sin = np.cos(emb), np.sin(emb)

    def rot(x):
        return np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)

    g = {k: v.astype(np.float64) for k, v in w.items()}
    x = g["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms(x, g[p + "input_layernorm.weight"])
        q = (h @ g[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd).transpose(1, 0, 2)
        k = (h @ g[p + "self_attn.k_proj.weight"].T).reshape(T, KV, hd).transpose(1, 0, 2)
        v = (h @ g[p + "self_attn.v_proj.weight"].T).reshape(T, KV, hd).transpose(1, 0, 2)
        q = q * cos + rot(q) * sin
        k = k * cos + rot(k) * sin
        out = np.zeros((H, T, hd))
        for hh in range(H):
            kv = hh // (H // KV)
            s = q[hh] @ k[kv].T / math.sqrt(hd)
            s = s + np.triu(np.full((T, T), -np.inf), 1)
            s = np.exp(s - s.max(-1, keepdims=True))
            s = s / s.sum(-1, keepdims=True)
            out[hh] = s @ v[kv]
        x = x + out.transpose(1, 0, 2).reshape(T, H * hd) @ g[p + "self_attn.o_proj.weight"].T
        h = rms(x, g[p + "post_attention_layernorm.weight"])
        a = h @ g[p + "mlp.gate_proj.weight"].T
        x = x + ((a / (1 + np.exp(-a))) * (h @ g[p + "mlp.up_proj.weight"].T)) @ \
            g[p + "mlp.down_proj.weight"].T
    return rms(x, g["model.norm.weight"]) @ g["lm_head.weight"].T


@torch.no_grad()
def greedy(model, ids, n):
    ids = list(ids)
    out = []
    for _ in range(n):
        logits = model(torch.tensor([ids[-model.cfg["max_position_embeddings"]:]]))
        nxt = int(torch.argmax(logits[0, -1]))
        out.append(nxt)
        ids.append(nxt)
    return out


@torch.no_grad()
def sample(model, ids, n, temperature, gen):
    ids = list(ids)
    out = []
    for _ in range(n):
        logits = model(torch.tensor([ids[-model.cfg["max_position_embeddings"]:]]))[0, -1]
        probs = torch.softmax(logits / temperature, -1)
        nxt = int(torch.multinomial(probs, 1, generator=gen))
        out.append(nxt)
        ids.append(nxt)
    return out


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(HERE, "data", "pride_and_prejudice.txt"))
    ap.add_argument("--out", default=HERE, help="output directory")
    ap.add_argument("--steps", type=int, default=380, help="optimizer steps")
    ap.add_argument("--time-budget", type=float, default=0,
                    help="stop training after this many seconds (0: no limit); the cosine "
                         "schedule is still laid out over --steps")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256, help="training sequence length")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=688)
    ap.add_argument("--max-pos", type=int, default=256)
    ap.add_argument("--log-every", type=int, default=25)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)

    # Debian's torch calls whatever libblas.so.3 is installed; the reference
    # BLAS (libblas3) is ~25x slower than OpenBLAS here. See examples/README.md.
    g0 = torch.Generator().manual_seed(0)  # leaves the global RNG (model init) untouched
    a, b = torch.randn(1024, 256, generator=g0), torch.randn(256, 688, generator=g0)
    a @ b
    t0 = time.time()
    for _ in range(5):
        a @ b
    gflops = 5 * 2 * 1024 * 256 * 688 / max(time.time() - t0, 1e-9) / 1e9
    print("matmul: %.0f GFLOP/s" % gflops)
    if gflops < 25:
        print("warning: slow BLAS (reference libblas?); install libopenblas0-pthread or run with "
              "LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread")

    # ---- text and tokenizer
    text = load_text(args.data)
    t0 = time.time()
    merges, vocab = train_bpe(text, args.vocab, n_special=1)
    eos_id = 256 + len(merges)
    assert eos_id == args.vocab - 1, "fewer merges than asked for"
    tok = Tokenizer(merges, vocab, {EOS_TEXT: eos_id})
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(merges, vocab, eos_id), f, ensure_ascii=False, indent=1)
    data_ids = tok.encode(text) + [eos_id]
    assert tok.decode(data_ids[:-1]) == text
    print("text: %d chars, %d tokens (%.2f chars/token), BPE %d merges in %.1fs" % (
        len(text), len(data_ids), len(text) / len(data_ids), len(merges), time.time() - t0))
    counts = np.bincount(np.array(data_ids), minlength=args.vocab).astype(np.float64)
    pr = counts[counts > 0] / counts.sum()
    print("unigram entropy: %.3f nats/token" % float(-(pr * np.log(pr)).sum()))
    sys.stdout.flush()

    # ---- model
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": args.dim,
        "intermediate_size": args.intermediate,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "head_dim": args.dim // args.heads,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "vocab_size": args.vocab,
        "max_position_embeddings": args.max_pos,
        "initializer_range": 0.02,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "bos_token_id": None,
        "eos_token_id": eos_id,
        "use_cache": True,
    }
    model = LlamaForCausalLM(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print("model: %d parameters" % n_params)

    # ---- data split: last 5% held out
    data = torch.tensor(data_ids, dtype=torch.long)
    n_val = len(data) // 20
    train_data, val_data = data[:-n_val], data[-n_val:]
    gen = torch.Generator().manual_seed(args.seed)

    def batch(src, bs):
        ix = torch.randint(0, len(src) - args.ctx - 1, (bs,), generator=gen)
        x = torch.stack([src[i:i + args.ctx] for i in ix])
        y = torch.stack([src[i + 1:i + 1 + args.ctx] for i in ix])
        return x, y

    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))

    @torch.no_grad()
    def evaluate(src, n=8):
        g = torch.Generator().manual_seed(0)
        losses = []
        for _ in range(n):
            ix = torch.randint(0, len(src) - args.ctx - 1, (8,), generator=g)
            x = torch.stack([src[i:i + args.ctx] for i in ix])
            y = torch.stack([src[i + 1:i + 1 + args.ctx] for i in ix])
            losses.append(F.cross_entropy(model(x).view(-1, args.vocab), y.view(-1)).item())
        return sum(losses) / len(losses)

    t_train = time.time()
    model.train()
    ema = None
    step = 0
    for step in range(args.steps):
        for g_ in opt.param_groups:
            g_["lr"] = lr_at(step)
        x, y = batch(train_data, args.batch)
        loss = F.cross_entropy(model(x).view(-1, args.vocab), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % args.log_every == 0 or step == args.steps - 1:
            el = time.time() - t_train
            print("step %5d/%d  loss %.4f  ema %.4f  lr %.2e  %.0fs  %.0f tok/s" % (
                step, args.steps, loss.item(), ema, lr_at(step), el,
                (step + 1) * args.batch * args.ctx / max(el, 1e-9)))
            sys.stdout.flush()
        if args.time_budget and time.time() - t_train > args.time_budget:
            print("time budget reached at step %d" % step)
            break
    train_time = time.time() - t_train
    model.eval()
    train_loss, val_loss = evaluate(train_data), evaluate(val_data)
    print("final: train loss %.4f, held-out loss %.4f nats/token; %d steps in %.0fs" % (
        train_loss, val_loss, step + 1, train_time))

    # ---- export
    tensors = [("model.embed_tokens.weight", model.model.embed_tokens.weight)]
    for i, L in enumerate(model.model.layers):
        p = "model.layers.%d." % i
        tensors += [
            (p + "input_layernorm.weight", L.input_layernorm.weight),
            (p + "self_attn.q_proj.weight", L.self_attn.q_proj.weight),
            (p + "self_attn.k_proj.weight", L.self_attn.k_proj.weight),
            (p + "self_attn.v_proj.weight", L.self_attn.v_proj.weight),
            (p + "self_attn.o_proj.weight", L.self_attn.o_proj.weight),
            (p + "post_attention_layernorm.weight", L.post_attention_layernorm.weight),
            (p + "mlp.gate_proj.weight", L.mlp.gate_proj.weight),
            (p + "mlp.up_proj.weight", L.mlp.up_proj.weight),
            (p + "mlp.down_proj.weight", L.mlp.down_proj.weight),
        ]
    tensors += [("model.norm.weight", model.model.norm.weight), ("lm_head.weight", model.lm_head.weight)]
    st_path = os.path.join(args.out, "model.safetensors")
    write_safetensors(st_path, [(n, t.detach().numpy()) for n, t in tensors])
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")

    # ---- check the written file against PyTorch with an independent forward pass
    w = read_safetensors(st_path)
    prompts = ["It is a truth universally acknowledged, that a single man",
               "Elizabeth looked at Mr. Darcy and said"]
    check_ids = tok.encode(prompts[0])
    ref_np = numpy_llama_logits(w, cfg, check_ids)
    with torch.no_grad():
        ref_pt = model(torch.tensor([check_ids]))[0].double().numpy()
    diff = float(np.abs(ref_np - ref_pt).max())
    print("numpy (float64, from model.safetensors) vs PyTorch logits: max abs diff %.2e" % diff)
    assert diff < 1e-3, "exported weights do not reproduce the PyTorch model"

    # ---- reference generations
    ref = {"description": "Greedy (argmax) continuations computed by the PyTorch model in float32, "
                          "no BOS; generated_ids are exactly 32 tokens, never stopped at EOS. "
                          "first_logits are the top-5 (id, logit) of the last prompt position.",
           "eos_token_id": eos_id, "cases": []}
    for ptxt in prompts:
        ids = tok.encode(ptxt)
        gen_ids = greedy(model, ids, 32)
        with torch.no_grad():
            last = model(torch.tensor([ids]))[0, -1]
        top = torch.topk(last, 5)
        ref["cases"].append({
            "prompt": ptxt, "prompt_ids": ids, "generated_ids": gen_ids,
            "generated_text": tok.decode(gen_ids),
            "first_logits": [[int(i), round(float(v), 5)] for v, i in zip(top.values, top.indices)],
        })
        print("greedy: %r -> %r" % (ptxt, tok.decode(gen_ids)))
    text_ref = json.dumps(ref, indent=1)
    # keep each id list on one line
    text_ref = re.sub(r"\[[-0-9.,\s\[\]]*\]",
                      lambda m: json.dumps(json.loads(m.group(0)), separators=(",", ":")), text_ref)
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        f.write(text_ref + "\n")

    g = torch.Generator().manual_seed(args.seed)
    for ptxt in prompts:
        s = sample(model, tok.encode(ptxt), 48, 0.8, g)
        print("sample (T=0.8): %r -> %r" % (ptxt, tok.decode(s)))
    print("params %d, safetensors %d bytes, total wall time %.0fs" % (
        n_params, os.path.getsize(st_path), time.time() - t_start))


if __name__ == "__main__":
    main()
