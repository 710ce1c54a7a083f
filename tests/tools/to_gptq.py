#!/usr/bin/env python3
"""to_gptq.py SRC DST REF [--group G] [--format gptq|gptq_v2] [--asym] [--act-order] [--awq]:
an f32 Llama checkpoint (config.json + model.safetensors, e.g. from gen_model)
rewritten as a GPTQ checkpoint the way AutoGPTQ / GPTQModel save one (--awq:
an AWQ one as AutoAWQ's GEMM format saves it), and REF,
the same model with those quantized values dequantized to f32 (what a GPTQ
loader computes), for tests of llmc's import.

Every layer's linear weight W [N, K] (q/k/v/o, gate/up/down) becomes
  NAME.qweight I32 [K/8, N]: input rows k = 8i+j in bits 4j..4j+3 of row i,
  NAME.qzeros  I32 [K/G, N/8]: zero point of (group, column 8i+j) in bits 4j..,
               minus one in checkpoint_format "gptq" (v1), as is in "gptq_v2",
  NAME.scales  F16 [K/G, N], NAME.g_idx I32 [K] = k // G,
with W[n, k] = scales[g, n] * (q[k, n] - zero[g, n]). Quantization is
round-to-nearest (not GPTQ's error feedback: the format is what is tested):
symmetric, scale = max|w| / 7.5 per group, zero 8 (AutoGPTQ's sym rule:
2 max|w| / 15); --asym: min/max, zero = round(-min / scale). --act-order
writes a permuted g_idx (checkpoints llmc refuses). --awq (asymmetric):
  NAME.qweight I32 [K, N/8] and NAME.qzeros I32 [K/G, N/8], columns packed 8
  an int32 with column 8i+c in nibble [0, 4, 1, 5, 2, 6, 3, 7][c] (AutoAWQ's
  order 0 2 4 6 1 3 5 7), zero points as they are; NAME.scales F16 [K/G, N].
Embeddings, norms and lm_head stay as they are."""
import json
import os
import struct
import sys

import numpy as np

args = sys.argv[1:]
src, dst, ref = args[0], args[1], args[2]
group = int(args[args.index("--group") + 1]) if "--group" in args else 128
fmt = args[args.index("--format") + 1] if "--format" in args else "gptq"
awq = "--awq" in args
asym, act_order = "--asym" in args or awq, "--act-order" in args

cfg = json.load(open(f"{src}/config.json"))
raw = open(f"{src}/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]


def tensor(name):
    t = header[name]
    b, e = t["data_offsets"]
    assert t["dtype"] == "F32"
    return np.frombuffer(data[b:e], np.float32).reshape(t["shape"])


def write(path, tensors):
    out_header, chunks, at = {}, [], 0
    for name, (dtype, shape, payload) in tensors.items():
        out_header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(payload)]}
        chunks.append(payload)
        at += len(payload)
    h = json.dumps(out_header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def pack_rows(q):  # [R, C] of 0..15, R % 8 == 0 -> I32 [R/8, C]
    q = q.astype(np.uint32).reshape(q.shape[0] // 8, 8, q.shape[1])
    return sum(q[:, j, :] << (4 * j) for j in range(8)).astype(np.uint32)


def pack_cols(q, order=range(8)):  # [R, C] of 0..15, C % 8 == 0 -> I32 [R, C/8]; column c in nibble order[c]
    q = q.astype(np.uint32).reshape(q.shape[0], q.shape[1] // 8, 8)
    return sum(q[:, :, c] << (4 * order[c]) for c in range(8)).astype(np.uint32)


AWQ_NIBBLE = [0, 4, 1, 5, 2, 6, 3, 7]


gptq, dense = {}, {}
linear = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
for name in header:
    if name == "__metadata__":
        continue
    w = tensor(name)
    base = name[: -len(".weight")]
    if not (name.endswith(".weight") and base.split(".")[-1] in linear):
        gptq[name] = dense[name] = ("F32", list(w.shape), w.tobytes())
        continue
    N, K = w.shape
    G = K if group < 0 else group
    wg = w.T.reshape(K // G, G, N)  # [groups, G, N]
    if asym:
        lo, hi = np.minimum(wg.min(1), 0), np.maximum(wg.max(1), 0)
        scale = ((hi - lo) / 15).astype(np.float16)
        s32 = np.where(scale.astype(np.float32) == 0, 1, scale.astype(np.float32))
        zero = np.clip(np.round(-lo / s32), 0, 15).astype(np.int64)
    else:
        scale = (np.abs(wg).max(1) / 7.5).astype(np.float16)
        s32 = np.where(scale.astype(np.float32) == 0, 1, scale.astype(np.float32))
        zero = np.full(scale.shape, 8, np.int64)
    q = np.clip(np.round(wg / s32[:, None, :]) + zero[:, None, :], 0, 15).astype(np.int64)
    deq = (scale.astype(np.float32)[:, None, :] * (q - zero[:, None, :]).astype(np.float32)).reshape(K, N).T
    qk = q.reshape(K, N)
    g_idx = np.arange(K, dtype=np.int32) // G
    if act_order:
        g_idx = np.roll(g_idx, 1)
    if awq:
        gptq[base + ".qweight"] = ("I32", [K, N // 8], pack_cols(qk, AWQ_NIBBLE).tobytes())
        gptq[base + ".qzeros"] = ("I32", [K // G, N // 8], pack_cols(zero, AWQ_NIBBLE).tobytes())
        gptq[base + ".scales"] = ("F16", [K // G, N], scale.tobytes())
    else:
        stored_zero = (zero - (1 if fmt == "gptq" else 0)) & 15
        gptq[base + ".qweight"] = ("I32", [K // 8, N], pack_rows(qk).tobytes())
        gptq[base + ".qzeros"] = ("I32", [K // G, N // 8], pack_cols(stored_zero).tobytes())
        gptq[base + ".scales"] = ("F16", [K // G, N], scale.tobytes())
        gptq[base + ".g_idx"] = ("I32", [K], g_idx.tobytes())
    dense[name] = ("F32", [N, K], np.ascontiguousarray(deq, np.float32).tobytes())

for path, tensors, qc in ((dst, gptq, True), (ref, dense, False)):
    os.makedirs(path, exist_ok=True)
    c = dict(cfg)
    if qc and awq:
        c["quantization_config"] = {"quant_method": "awq", "bits": 4, "group_size": group, "zero_point": True,
                                    "version": "gemm"}
    elif qc:
        c["quantization_config"] = {"quant_method": "gptq", "bits": 4, "group_size": group, "desc_act": act_order,
                                    "sym": not asym, "checkpoint_format": fmt}
    json.dump(c, open(f"{path}/config.json", "w"), indent=1)
    write(f"{path}/model.safetensors", tensors)
    for extra in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if os.path.exists(f"{src}/{extra}"):
            payload = open(f"{src}/{extra}", "rb").read()
            open(f"{path}/{extra}", "wb").write(payload)
