#!/usr/bin/env python3
"""to_gemma3_mm.py SRC DST: a Gemma3ForCausalLM checkpoint (config.json +
model.safetensors) rewritten in the layout of the multimodal
Gemma3ForConditionalGeneration checkpoints on the Hub: the text config under
"text_config" (top level: architectures, model_type "gemma3", a
vision_config), the text weights under "language_model.", and stand-in
vision tower and projector tensors. For tests of llmc's import of that
layout (the same greedy ids as the text checkpoint)."""
import json
import struct
import sys

import numpy as np

src, dst = sys.argv[1], sys.argv[2]
cfg = json.load(open(f"{src}/config.json"))
text = {k: v for k, v in cfg.items() if k not in ("architectures", "torch_dtype", "tie_word_embeddings")}
text["model_type"] = "gemma3_text"
mm = {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3", "text_config": text,
      "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 16}, "mm_tokens_per_image": 4,
      "torch_dtype": cfg.get("torch_dtype", "float32")}
if "tie_word_embeddings" in cfg:
    mm["tie_word_embeddings"] = cfg["tie_word_embeddings"]

raw = open(f"{src}/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
out_header, chunks, at = {}, [], 0
def add(name, dtype, shape, payload):
    global at
    out_header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(payload)]}
    chunks.append(payload)
    at += len(payload)
for name, t in header.items():
    if name == "__metadata__":
        continue
    b, e = t["data_offsets"]
    add("language_model." + name, t["dtype"], t["shape"], data[b:e])
add("vision_tower.vision_model.embeddings.patch_embedding.weight", "F32", [4, 4], np.ones(16, np.float32).tobytes())
add("multi_modal_projector.mm_input_projection_weight", "F32", [4, 4], np.ones(16, np.float32).tobytes())
hdr = json.dumps(out_header).encode()
hdr += b" " * (-len(hdr) % 8)
import os
os.makedirs(dst, exist_ok=True)
with open(f"{dst}/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(hdr)) + hdr + b"".join(chunks))
json.dump(mm, open(f"{dst}/config.json", "w"), indent=1)
