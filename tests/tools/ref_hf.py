#!/usr/bin/env python3
"""ref_hf.py: an independent numpy reference of a Hugging Face decoder's greedy generation.

Covers LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM,
Gemma2ForCausalLM and Gemma3ForCausalLM (text-only Gemma 3, model_type
"gemma3_text") checkpoints (config.json + model.safetensors, or shards named by
model.safetensors.index.json) with every RoPE variant transformers applies to
them (default, linear, dynamic, yarn, llama3) and their sliding-window
attention.  Tests use it to check llmc's RoPE scaling, sliding windows and
model families against what transformers computes; it is written from
transformers' Python sources, not from llmc's C code.

  python3 tests/tools/ref_hf.py HF_DIR --prompts "1,15,42;3,1,4,1,5" --steps 32 \
      [--window-override N] [--yarn-legacy-factor] [--attn-implementation sdpa] > ref.json
  python3 tests/tools/ref_hf.py HF_DIR --rope-info [--seq-len N]   # inv_freq as HF builds it
  python3 tests/tools/ref_hf.py --self-test                          # hand-computed checks

--window-override N gives every layer a sliding window of N (0: none on any
layer), whatever the architecture and config.json say; without it each
architecture's own rule applies (see below).  (On Gemma 3 it changes only the
windows: each layer keeps the RoPE of its layer type.)

--attn-implementation sdpa reproduces transformers' default attention for
Gemma 2, which drops attn_logit_softcapping (see below); the default, eager,
is the model as defined (and as Google recommends running Gemma 2).

Output (stdout): {"description": "...", "cases": [{"prompt_ids": [...],
"generated_ids": [...], "logits": [[...], ...]}]}.  logits has one row per
generated token: row i is the distribution (over the vocabulary) that
generated_ids[i] was taken from by argmax, i.e. row 0 is the last prompt
position and row i the position of generated token i.  Floats are printed
with Python's repr (shortest round-trip).  Anything unsupported exits with
status 2 and one line on stderr; other errors (bad files, bad ids) exit 1.

What is followed (transformers 4.56/4.57, the last releases whose configs say
`rope_scaling`; 5.x, which reads a `rope_parameters` dict also accepted here,
computes the same frequencies, except that its YaRN derives factor from
max_position_embeddings / original_max_position_embeddings only when factor
itself is missing, which 4.5x rejects):
  * src/transformers/modeling_rope_utils.py: _compute_default_rope_parameters,
    _compute_linear_scaling_rope_parameters, _compute_dynamic_ntk_parameters,
    _compute_yarn_parameters (after PR #40320, "explicit factor > implicit
    factor in YaRN", first released in 4.56; --yarn-legacy-factor gives the
    4.50-4.55 rule instead), _compute_llama3_parameters and the
    dynamic_rope_update decorator (the rule by which dynamic NTK recomputes
    inv_freq during generation).
  * models/llama/modeling_llama.py: LlamaRotaryEmbedding (cos/sin in float32,
    multiplied by attention_scaling), rotate_half / apply_rotary_pos_emb,
    LlamaRMSNorm, repeat_kv (GQA), eager_attention_forward (scale
    head_dim**-0.5, softmax), LlamaMLP (down(silu(gate) * up)).
  * models/mistral: the same network; config.sliding_window (default 4096 when
    config.json lacks the key, null disables it) applies to every layer.
  * models/qwen2: q/k/v biases; Qwen2Config.sliding_window is None unless
    use_sliding_window, and layer_types (when config.json does not give them)
    are "sliding_attention" for layer i >= max_window_layers (default 28),
    "full_attention" below; only sliding layers use the window.
  * masking_utils.py: sliding_window_overlay: key k is visible to query q iff
    q - sliding_window < k <= q (the window counts the query's own position).
  * models/gemma2 (modeling_gemma2.py, configuration_gemma2.py): the
    Gemma2Config defaults (head_dim 256, num_key_value_heads 4,
    query_pre_attn_scalar 256, sliding_window 4096, attn_logit_softcapping 50,
    final_logit_softcapping 30, rope_theta 10000, max_position_embeddings
    8192, tie_word_embeddings true); layer_types, when config.json lacks them,
    "sliding_attention" if (i + 1) % 2 else "full_attention" (layers 0, 2, 4,
    ... slide), and only sliding layers use sliding_window;
    hidden_states = embed * normalizer, normalizer = torch.tensor(hidden_size
    ** 0.5, dtype=hidden_states.dtype); Gemma2RMSNorm: x * rsqrt(mean(x^2) +
    eps) * (1 + weight); each layer x + post_attention_layernorm(attn(
    input_layernorm(x))), then h + post_feedforward_layernorm(mlp(
    pre_feedforward_layernorm(h))); Gemma2MLP: down(act(gate) * up) with
    config.hidden_activation (gelu_pytorch_tanh; hidden_act is not read);
    attention scaling query_pre_attn_scalar ** -0.5; eager_attention_forward's
    softcap, scores = tanh(scores / cap) * cap before the mask is added;
    logits = tanh(logits / final_logit_softcapping) * final_logit_softcapping;
    one rotary embedding (rope_theta, config.rope_scaling if present).
    Attention biases when attention_bias.  transformers >= 4.48 runs
    sdpa_attention_forward by default, which ignores the softcap argument (the
    eager default of 4.45-4.47 was dropped by the attention refactor, PR
    #35235): --attn-implementation sdpa models that.
  * models/gemma3 (modeling_gemma3.py, configuration_gemma3.py,
    Gemma3TextConfig): as Gemma 2, with the defaults rope_theta 1e6,
    rope_local_base_freq 10000, max_position_embeddings 131072,
    attn_logit_softcapping and final_logit_softcapping None; layer_types,
    when config.json lacks them, "sliding_attention" if (i + 1) %
    sliding_window_pattern else "full_attention", the pattern read from
    config.json's sliding_window_pattern (default 6; 4.50-4.52 used the same
    rule on the sliding_window_pattern attribute, before layer_types existed);
    Gemma3TextScaledWordEmbedding: embed * torch.tensor(hidden_size ** 0.5)
    (float32) cast to the weights' dtype; q_norm / k_norm (Gemma3RMSNorm over
    head_dim, with its 1 + weight) before RoPE; sliding layers take the
    rotary embedding of a config copy with rope_theta = rope_local_base_freq
    and rope_scaling {"rope_type": "default"}, full layers rope_theta with
    config.rope_scaling; Gemma3Attention never passes attn_logit_softcapping
    to the attention function, so it has no effect (warned about here).
    5.x's rope_parameters by layer type ({"full_attention": {...},
    "sliding_attention": {...}}) is read as well when rope_scaling is absent.

Numerics: inv_freq is built in float32 step by step as torch does it (each
elementwise op rounded to float32, `scalar / tensor` as reciprocal times
scalar, pow rounded from float64, so a value can differ from torch's pow by
one float32 ulp); the rotary angle position * inv_freq is rounded to float32
like HF's float32 matmul; cos/sin of that angle, attention_scaling and all
activations are float64 (weights as stored, widened).  Gemma's embedding
normalizer is the float32 value of sqrt(hidden_size), as transformers makes it
when the model runs in float32 (a bf16 run rounds it to bf16: 55.4256 ->
55.5 at hidden 3072); Gemma norm weights are used as 1 + weight.  Decoding
uses a KV cache of rotated keys, as HF's DynamicCache does, which matters for
dynamic NTK: the keys of earlier positions keep the rotation of the step that
made them.  Each prompt starts from a freshly loaded model (HF's rotary module
keeps dynamic state across generate() calls; a fresh one per case avoids
that history dependence).
"""

import argparse
import contextlib
import io
import json
import math
import os
import struct
import sys

import numpy as np

F32 = np.float32
F64 = np.float64


class RefError(Exception):
    """A problem with the inputs (exit status 1)."""


class Unsupported(RefError):
    """Something transformers would run that this reference does not model (exit status 2)."""


# ---------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length, JSON header, raw data.
# ---------------------------------------------------------------------------

def _st_to_f32(raw, dtype, shape, name):
    if dtype == "F32":
        arr = np.frombuffer(raw, dtype="<f4")
    elif dtype == "F16":
        arr = np.frombuffer(raw, dtype="<f2").astype(F32)
    elif dtype == "BF16":
        # bf16 is the high half of an f32: shift the 16 bits up and reinterpret.
        arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(F32)
    elif dtype == "F64":
        arr = np.frombuffer(raw, dtype="<f8")
    else:
        raise Unsupported(f"tensor {name} has dtype {dtype} (F32, F16, BF16 and F64 are read)")
    n = int(np.prod(shape)) if shape else 1
    if arr.size != n:
        raise RefError(f"tensor {name}: {arr.size} values for shape {shape}")
    return arr.reshape(shape)


def load_safetensors_file(path, wanted=None):
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise RefError(f"{path}: too short for a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > 100 * 1024 * 1024:
            raise RefError(f"{path}: header length {n} is implausible")
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if wanted is not None and name not in wanted:
            continue
        start, end = info["data_offsets"]
        if not (0 <= start <= end <= len(data)):
            raise RefError(f"{path}: tensor {name} lies outside the file")
        out[name] = _st_to_f32(data[start:end], info["dtype"], list(info["shape"]), name)
    return out


def load_checkpoint(hf_dir):
    single = os.path.join(hf_dir, "model.safetensors")
    index = os.path.join(hf_dir, "model.safetensors.index.json")
    if os.path.exists(single):
        return load_safetensors_file(single)
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            names = {k for k, v in weight_map.items() if v == shard}
            tensors.update(load_safetensors_file(os.path.join(hf_dir, shard), names))
        return tensors
    raise RefError(f"{hf_dir}: no model.safetensors or model.safetensors.index.json")


# ---------------------------------------------------------------------------
# Configuration, with each architecture's transformers defaults.
# ---------------------------------------------------------------------------

ARCH_DEFAULTS = {
    # LlamaConfig / MistralConfig / Qwen2Config __init__ defaults for the keys read here.
    "LlamaForCausalLM": {"max_position_embeddings": 2048},
    "MistralForCausalLM": {"max_position_embeddings": 4096 * 32, "sliding_window": 4096},
    # Phi3Config (models/phi3): q, k and v in one qkv_proj, gate and up in one
    # gate_up_proj (gate first: up_states.chunk(2, dim=-1)); config.sliding_window
    # (None by default) on every layer (Phi3Model picks the sliding mask when set).
    "Phi3ForCausalLM": {"max_position_embeddings": 4096, "sliding_window": None},
    "Qwen2ForCausalLM": {"max_position_embeddings": 32768, "sliding_window": 4096,
                         "max_window_layers": 28, "use_sliding_window": False},
    # Qwen3Config: as Qwen2's; its attention (models/qwen3/modeling_qwen3.py)
    # takes attention_bias on q/k/v/o and an RMSNorm over each head of q and k
    # (q_norm, k_norm, eps rms_norm_eps) before RoPE.
    "Qwen3ForCausalLM": {"max_position_embeddings": 32768, "sliding_window": 4096,
                         "max_window_layers": 28, "use_sliding_window": False},
    # Gemma2Config.__init__ (models/gemma2/configuration_gemma2.py)
    "Gemma2ForCausalLM": {"max_position_embeddings": 8192, "num_key_value_heads": 4, "head_dim": 256,
                          "hidden_activation": "gelu_pytorch_tanh", "rope_theta": 10000.0,
                          "query_pre_attn_scalar": 256, "sliding_window": 4096,
                          "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
                          "tie_word_embeddings": True, "attention_bias": False},
    # Gemma3TextConfig.__init__ (models/gemma3/configuration_gemma3.py); sliding_window_pattern
    # is read from the kwargs (kwargs.get("sliding_window_pattern", 6)).
    "Gemma3ForCausalLM": {"max_position_embeddings": 131072, "num_key_value_heads": 4, "head_dim": 256,
                          "hidden_activation": "gelu_pytorch_tanh", "rope_theta": 1000000.0,
                          "rope_local_base_freq": 10000.0, "query_pre_attn_scalar": 256,
                          "sliding_window": 4096, "sliding_window_pattern": 6,
                          "attn_logit_softcapping": None, "final_logit_softcapping": None,
                          "tie_word_embeddings": True, "attention_bias": False},
}

GEMMA_ARCHS = ("Gemma2ForCausalLM", "Gemma3ForCausalLM")

# ACT2FN names whose function is the tanh form of GELU,
# 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) (activations.py: GELUTanh,
# NewGELUActivation); gelu_fast's rounded constant and the erf GELU are not modelled.
GELU_TANH_NAMES = ("gelu_pytorch_tanh", "gelu_python_tanh", "gelu_new")


class RopeParams:
    """What rope_init and Rotary read from a config, for one rotary embedding."""

    def __init__(self, rope_type, rope_scaling, rope_theta, rope_dim, max_position_embeddings,
                 yarn_legacy_factor=False):
        self.rope_type, self.rope_scaling, self.rope_theta = rope_type, rope_scaling, rope_theta
        self.rope_dim, self.max_position_embeddings = rope_dim, max_position_embeddings
        self.yarn_legacy_factor = yarn_legacy_factor


def _rope_type_of(scaling):
    """(rope_type, rope_scaling) from a config's rope_scaling (None or a dict)."""
    if scaling is not None and not isinstance(scaling, dict):
        raise Unsupported(f"rope_scaling {scaling!r} is not an object")
    if not scaling:
        return "default", None
    rope_type = scaling.get("rope_type", scaling.get("type"))
    if rope_type is None:
        raise RefError("rope_scaling has neither rope_type nor type")
    if rope_type == "su":  # the old name of longrope (Phi-3's first configs)
        rope_type = "longrope"
    if rope_type not in ("default", "linear", "dynamic", "yarn", "llama3", "longrope"):
        raise Unsupported(f"rope_type {rope_type!r} (default, linear, dynamic, yarn, "
                          f"llama3, longrope are modelled)")
    return rope_type, dict(scaling)


class Config:
    def __init__(self, raw, window_override=None, yarn_legacy_factor=False, attn_implementation="eager"):
        archs = raw.get("architectures") or []
        if len(archs) != 1 or archs[0] not in ARCH_DEFAULTS:
            raise Unsupported(f"architectures {archs} (LlamaForCausalLM, MistralForCausalLM, Phi3ForCausalLM, "
                              f"Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma2ForCausalLM and "
                              f"Gemma3ForCausalLM are modelled)")
        self.arch = archs[0]
        d = ARCH_DEFAULTS[self.arch]
        self.gemma = self.arch in GEMMA_ARCHS
        if self.arch == "Gemma3ForCausalLM" and raw.get("model_type", "gemma3_text") != "gemma3_text":
            # model_type picks the config class: "gemma3" is the multimodal Gemma3Config,
            # whose text model sits under text_config.
            raise Unsupported(f"Gemma3ForCausalLM with model_type {raw.get('model_type')!r} "
                              f"(only the text-only gemma3_text)")

        def need(key):
            if raw.get(key) is None:
                raise RefError(f"config.json lacks {key}")
            return raw[key]

        def gemma_key(key, nullable=False):
            # a Gemma config key: the config class's default when absent; null is an error
            # (transformers would fail on it) unless it means "off" (the softcaps)
            v = raw.get(key, d[key])
            if v is None and not nullable:
                raise RefError(f"config.json has {key}: null")
            return v

        self.hidden_size = int(need("hidden_size"))
        self.intermediate_size = int(need("intermediate_size"))
        self.num_layers = int(need("num_hidden_layers"))
        self.num_heads = int(need("num_attention_heads"))
        if self.gemma:
            # Gemma2Config / Gemma3TextConfig: num_key_value_heads defaults to 4 and head_dim to
            # 256 (not num_attention_heads and hidden_size // num_attention_heads).
            self.num_kv_heads = int(gemma_key("num_key_value_heads"))
            self.head_dim = int(gemma_key("head_dim"))
        else:
            self.num_kv_heads = int(raw.get("num_key_value_heads") or self.num_heads)
            # head_dim: getattr(config, "head_dim", None) or hidden_size // num_attention_heads
            self.head_dim = int(raw.get("head_dim") or self.hidden_size // self.num_heads)
        self.vocab_size = raw.get("vocab_size")
        self.rms_norm_eps = float(raw.get("rms_norm_eps", 1e-6))
        self.max_position_embeddings = int(raw.get("max_position_embeddings",
                                                    d["max_position_embeddings"]))
        # Phi3Config has original_max_position_embeddings (default 4096), which
        # longrope reads; the other config classes have no such attribute.
        self.original_max_position_embeddings = (
            int(raw.get("original_max_position_embeddings") or 4096) if self.arch == "Phi3ForCausalLM" else None)
        self.tie_word_embeddings = bool(raw.get("tie_word_embeddings", d.get("tie_word_embeddings", False)))
        self.yarn_legacy_factor = yarn_legacy_factor
        if self.num_heads % self.num_kv_heads:
            raise RefError("num_attention_heads is not a multiple of num_key_value_heads")
        if self.gemma:
            # Gemma2MLP / Gemma3MLP: ACT2FN[config.hidden_activation]; hidden_act is not read
            act = raw.get("hidden_activation", d["hidden_activation"])
            if act not in GELU_TANH_NAMES:
                raise Unsupported(f"hidden_activation {act!r} (the tanh GELU: "
                                  f"{', '.join(GELU_TANH_NAMES)})")
            self.mlp_act = "gelu_tanh"
            if raw.get("use_bidirectional_attention"):
                raise Unsupported("use_bidirectional_attention (only causal attention is modelled)")
        else:
            act = raw.get("hidden_act", "silu")
            if act != "silu":
                raise Unsupported(f"hidden_act {act!r} (only silu)")
            self.mlp_act = "silu"
        if raw.get("pretraining_tp", 1) not in (None, 1):
            raise Unsupported("pretraining_tp != 1")

        # Gemma's differences from Llama (None / 0 / False elsewhere):
        #   embed_scale: hidden_states = embed * normalizer.  transformers casts the
        #     normalizer to the activations' dtype (Gemma2: torch.tensor(hidden_size**0.5,
        #     dtype=hidden_states.dtype); Gemma3: torch.tensor(hidden_size**0.5) -- float32 --
        #     .to(weight.dtype)); this reference runs float64 activations from float32-widened
        #     weights, so it takes the float32 value, as transformers run in float32 does.
        #   norm_offset: Gemma RMSNorm multiplies by (1 + weight) (weights stored zero-centred).
        #   sandwich_norm: post_attention_layernorm on the attention output, and
        #     pre_feedforward_layernorm / post_feedforward_layernorm around the MLP.
        #   attn_scale: query_pre_attn_scalar ** -0.5 (else head_dim ** -0.5).
        #   attn_softcap: Gemma 2's attn_logit_softcapping (eager attention only).
        #   final_softcap: final_logit_softcapping on the logits.
        self.embed_scale = None
        self.norm_offset = 0.0
        self.sandwich_norm = self.gemma
        self.attn_scale = self.head_dim ** -0.5
        self.attn_softcap = None
        self.final_softcap = None
        self.attn_implementation = attn_implementation
        if self.gemma:
            self.embed_scale = float(F32(self.hidden_size ** 0.5))
            self.norm_offset = 1.0
            self.attn_scale = float(gemma_key("query_pre_attn_scalar")) ** -0.5
            self.final_softcap = gemma_key("final_logit_softcapping", nullable=True)
            cap = gemma_key("attn_logit_softcapping", nullable=True)
            if self.arch == "Gemma3ForCausalLM":
                if cap is not None:
                    print(f"ref_hf: warning: attn_logit_softcapping {cap} has no effect on Gemma 3 "
                          f"(Gemma3Attention does not pass it to the attention function)",
                          file=sys.stderr)
                cap = None
            elif attn_implementation == "sdpa":
                cap = None  # sdpa_attention_forward ignores softcap
            self.attn_softcap = cap
            for name, v in (("attn_logit_softcapping", self.attn_softcap),
                            ("final_logit_softcapping", self.final_softcap)):
                if v is not None and not float(v) > 0:
                    raise RefError(f"{name} {v} (tanh(x / cap) * cap needs cap > 0)")
            if self.attn_softcap is not None:
                self.attn_softcap = float(self.attn_softcap)
            if self.final_softcap is not None:
                self.final_softcap = float(self.final_softcap)

        # Biases: Llama's attention_bias / mlp_bias, Qwen2's fixed q/k/v biases; Mistral has none.
        self.qk_norm = self.arch in ("Qwen3ForCausalLM", "Gemma3ForCausalLM")
        if self.gemma:
            self.qkv_bias = self.o_bias = bool(raw.get("attention_bias", d["attention_bias"]))
            self.mlp_bias = False
        elif self.arch == "LlamaForCausalLM":
            self.qkv_bias = self.o_bias = bool(raw.get("attention_bias", False))
            self.mlp_bias = bool(raw.get("mlp_bias", False))
        elif self.arch == "Qwen3ForCausalLM":
            self.qkv_bias = self.o_bias = bool(raw.get("attention_bias", False))
            self.mlp_bias = False
        elif self.arch == "Qwen2ForCausalLM":
            self.qkv_bias, self.o_bias, self.mlp_bias = True, False, False
        else:
            self.qkv_bias = self.o_bias = self.mlp_bias = False

        # RoPE parameters.  transformers <= 4.57 reads rope_theta + rope_scaling
        # (with "type" as the old spelling of "rope_type"); 5.x writes one
        # rope_parameters dict that holds rope_theta as well.
        self.rope_theta = float(raw.get("rope_theta", d.get("rope_theta", 10000.0)))
        scaling = raw.get("rope_scaling")
        local_params = None  # 5.x Gemma 3: rope_parameters["sliding_attention"]
        rp = raw.get("rope_parameters")
        if scaling is None and isinstance(rp, dict):
            if self.arch == "Gemma3ForCausalLM" and ("full_attention" in rp or "sliding_attention" in rp):
                scaling = dict(rp.get("full_attention") or {})
                local_params = dict(rp.get("sliding_attention") or {})
            else:
                scaling = dict(rp)
            if "rope_theta" in scaling:
                self.rope_theta = float(scaling["rope_theta"])
        self.rope_type, self.rope_scaling = _rope_type_of(scaling)
        prf = raw.get("partial_rotary_factor",
                      (self.rope_scaling or {}).get("partial_rotary_factor", 1.0))
        if prf not in (None, 1, 1.0) and self.arch != "Phi3ForCausalLM":
            raise Unsupported(f"partial_rotary_factor {prf} (Llama's apply_rotary_pos_emb "
                              f"rotates the whole head)")
        # Phi3RotaryEmbedding: dim = int(head_dim * partial_rotary_factor); Phi-3's
        # apply_rotary_pos_emb rotates q[..., :dim] and passes the rest (Phi-4-mini: 0.75).
        self.rope_dim = int(self.head_dim * (prf or 1.0))

        # Gemma's layer types (each layer's window and, in Gemma 3, its RoPE).
        self.layer_types = self._gemma_layer_types(raw, d) if self.gemma else None

        # Gemma 3's local RoPE (Gemma3TextModel.rotary_emb_local): a copy of the config with
        # rope_theta = rope_local_base_freq and rope_scaling {"rope_type": "default"}.  Sliding
        # layers use it, full layers the global one (rope_theta, rope_scaling).  Other
        # architectures (and Gemma 2) have one rotary embedding for every layer.
        self.local_rope = None
        self.layer_rope = ["global"] * self.num_layers
        if self.arch == "Gemma3ForCausalLM":
            if local_params is not None:  # 5.x rope_parameters
                theta = local_params.get("rope_theta", raw.get("rope_local_base_freq",
                                                                d["rope_local_base_freq"]))
                lt, ls = _rope_type_of(local_params)
            else:
                theta, lt, ls = gemma_key("rope_local_base_freq"), "default", None
            self.local_rope = RopeParams(lt, ls, float(theta), self.rope_dim,
                                         self.max_position_embeddings, yarn_legacy_factor)
            self.layer_rope = ["local" if t == "sliding_attention" else "global" for t in self.layer_types]

        # Sliding window per layer (None = full causal attention).
        self.layer_windows = self._layer_windows(raw, d, window_override)

    def _gemma_layer_types(self, raw, d):
        n = self.num_layers
        types = raw.get("layer_types")
        if types is None:
            if self.arch == "Gemma2ForCausalLM":
                period = 2  # Gemma2Config: "sliding_attention" if bool((i + 1) % 2) else "full_attention"
            else:
                # Gemma3TextConfig: self._sliding_window_pattern = kwargs.get("sliding_window_pattern", 6)
                period = raw.get("sliding_window_pattern", d["sliding_window_pattern"])
                if isinstance(period, bool) or not isinstance(period, int) or period < 1:
                    raise RefError(f"sliding_window_pattern {period!r} (a positive integer)")
            types = ["sliding_attention" if (i + 1) % period else "full_attention" for i in range(n)]
        # layer_type_validation(layer_types, num_hidden_layers); Gemma's mask mapping has only these two
        if not isinstance(types, list) or len(types) != n or any(
                t not in ("sliding_attention", "full_attention") for t in types):
            raise Unsupported(f"layer_types {types}")
        return list(types)

    def _layer_windows(self, raw, d, override):
        n = self.num_layers
        if override is not None:
            # --window-override: every layer gets window N (0: none), whatever the config says
            return [override or None] * n
        if self.gemma:
            # Gemma2Attention / Gemma3Attention: sliding_window = config.sliding_window if the
            # layer is "sliding_attention" else None.  The model always builds the sliding mask
            # (create_sliding_window_causal_mask raises when config.sliding_window is None).
            sw = raw.get("sliding_window", d["sliding_window"])
            if isinstance(sw, bool) or not isinstance(sw, int) or sw < 1:
                raise RefError(f"sliding_window {sw!r} (transformers' Gemma needs a positive window)")
            return [sw if t == "sliding_attention" else None for t in self.layer_types]
        if self.arch == "LlamaForCausalLM":
            # LlamaConfig has no sliding window; a sliding_window key is ignored by HF.
            return [None] * n
        if self.arch in ("MistralForCausalLM", "Phi3ForCausalLM"):
            sw = raw.get("sliding_window", d["sliding_window"])
            return [sw or None] * n  # null disables the window
        # Qwen2: Qwen2Config.sliding_window = sliding_window if use_sliding_window else None
        use = bool(raw.get("use_sliding_window", d["use_sliding_window"]))
        sw = raw.get("sliding_window", d["sliding_window"]) if use else None
        mwl = raw.get("max_window_layers", d["max_window_layers"])
        types = raw.get("layer_types")
        if types is None:
            types = ["sliding_attention" if sw is not None and i >= mwl else "full_attention"
                     for i in range(n)]
        if len(types) != n or any(t not in ("sliding_attention", "full_attention") for t in types):
            raise Unsupported(f"layer_types {types}")
        if "sliding_attention" in types and not sw:
            raise Unsupported("layer_types name sliding layers but the config has no sliding window")
        return [sw if t == "sliding_attention" else None for t in types]


# ---------------------------------------------------------------------------
# RoPE inverse frequencies (transformers modeling_rope_utils.py), in float32.
#
# torch evaluates these on float32 tensors: every elementwise op rounds to
# float32, a Python scalar operand is cast to float32 first, and
# `scalar / tensor` is tensor.reciprocal() * scalar (Tensor.__rtruediv__).
# The helpers below spell those steps out.
# ---------------------------------------------------------------------------

def _pow32(base, exponent):
    """float32 pow (torch: scalar ** tensor or tensor ** tensor), rounded from float64."""
    return (np.asarray(base, F32).astype(F64) ** np.asarray(exponent, F32).astype(F64)).astype(F32)


def _rdiv32(scalar, t):
    """`scalar / t` for a float32 tensor t, as torch evaluates it: t.reciprocal() * scalar."""
    return (F32(1.0) / t) * F32(scalar)


def _exponents(dim):
    # torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
    return np.arange(0, dim, 2).astype(F32) / F32(dim)


def rope_default(base, dim):
    """_compute_default_rope_parameters: inv_freq = 1 / base ** (arange(0, dim, 2) / dim)."""
    return _rdiv32(1.0, _pow32(F32(base), _exponents(dim))), 1.0


def rope_linear(base, dim, factor):
    """_compute_linear_scaling_rope_parameters: the default inv_freq divided by factor."""
    inv, att = rope_default(base, dim)
    return inv / F32(factor), att


def rope_dynamic(base, dim, factor, max_pos, seq_len=None):
    """_compute_dynamic_ntk_parameters.

    seq_len is max(seq_len, max_position_embeddings) (None at init:
    max_position_embeddings, which gives the default frequencies);
    base' = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2)).
    During generation seq_len arrives as a torch int64 tensor, so base' is a
    float32 tensor computed in float32; at init it is a Python float.
    """
    if seq_len is None:
        new_base = F32(base * ((factor * max_pos / max_pos) - (factor - 1)) ** (dim / (dim - 2)))
    else:
        s = F32(max(int(seq_len), max_pos))
        t = (F32(factor) * s) / F32(max_pos) - F32(factor - 1)
        t = _pow32(t, F32(dim / (dim - 2)))
        new_base = F32(base) * t
    return _rdiv32(1.0, _pow32(new_base, _exponents(dim))), 1.0


def yarn_get_mscale(scale, mscale=1):
    # get_mscale inside _compute_yarn_parameters
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def rope_yarn(base, dim, rs, max_pos, legacy_factor=False):
    """_compute_yarn_parameters (transformers >= 4.56).

    factor = rope_scaling["factor"]; original_max_position_embeddings =
    rope_scaling.get("original_max_position_embeddings") or max_position_embeddings.
    With legacy_factor (transformers 4.50-4.55), a given
    original_max_position_embeddings replaces factor by
    max_position_embeddings / original_max_position_embeddings.
    attention_factor: rope_scaling["attention_factor"] if set, else
    get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim) when both
    are truthy, else get_mscale(factor) = 0.1 * ln(factor) + 1.
    """
    factor = rs["factor"]
    attention_factor = rs.get("attention_factor")
    mscale = rs.get("mscale")
    mscale_all_dim = rs.get("mscale_all_dim")
    if legacy_factor:
        if "original_max_position_embeddings" in rs:
            orig = rs["original_max_position_embeddings"]
            factor = max_pos / orig
        else:
            orig = max_pos
    else:
        orig = rs.get("original_max_position_embeddings") or max_pos
    if attention_factor is None:
        if mscale and mscale_all_dim:
            attention_factor = float(yarn_get_mscale(factor, mscale) /
                                     yarn_get_mscale(factor, mscale_all_dim))
        else:
            attention_factor = yarn_get_mscale(factor)
    beta_fast = rs.get("beta_fast") or 32
    beta_slow = rs.get("beta_slow") or 1
    truncate = rs.get("truncate", True)

    def find_correction_dim(num_rotations):
        # Python floats (float64), as in transformers
        return (dim * math.log(orig / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

    low = find_correction_dim(beta_fast)
    high = find_correction_dim(beta_slow)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)  # note: dim - 1, not dim // 2 - 1

    # linear_ramp_factor(low, high, dim // 2)
    if low == high:
        high += 0.001  # "Prevent singularity"
    ramp = (np.arange(dim // 2).astype(F32) - F32(low)) / F32(high - low)
    ramp = np.clip(ramp, F32(0), F32(1))

    pos_freqs = _pow32(F32(base), _exponents(dim))
    inv_extrapolation = _rdiv32(1.0, pos_freqs)
    inv_interpolation = _rdiv32(1.0, F32(factor) * pos_freqs)
    extrapolation_factor = F32(1) - ramp
    inv = (inv_interpolation * (F32(1) - extrapolation_factor)
           + inv_extrapolation * extrapolation_factor)
    return inv.astype(F32), float(attention_factor)


def rope_llama3(base, dim, rs):
    """_compute_llama3_parameters: wavelength-banded scaling of the default inv_freq."""
    inv, att = rope_default(base, dim)
    factor = rs["factor"]
    low_freq_factor = rs["low_freq_factor"]
    high_freq_factor = rs["high_freq_factor"]
    old_context_len = rs["original_max_position_embeddings"]
    low_freq_wavelen = F32(old_context_len / low_freq_factor)
    high_freq_wavelen = F32(old_context_len / high_freq_factor)
    wavelen = _rdiv32(2 * math.pi, inv)
    # wavelen < high_freq_wavelen: unchanged; wavelen > low_freq_wavelen: divided by factor
    inv_llama = np.where(wavelen > low_freq_wavelen, inv / F32(factor), inv)
    # in between: interpolate with a smooth factor
    smooth = (_rdiv32(old_context_len, wavelen) - F32(low_freq_factor)) / F32(
        high_freq_factor - low_freq_factor)
    smoothed = (F32(1) - smooth) * inv_llama / F32(factor) + smooth * inv_llama
    is_medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
    return np.where(is_medium, smoothed, inv_llama).astype(F32), att


def rope_longrope(base, dim, rs, cfg, seq_len=None):
    """_compute_longrope_parameters (transformers 4.56/4.57).

    original = config.original_max_position_embeddings when the config class
    has the attribute (Phi3Config does, default 4096), and then factor =
    max_position_embeddings / original; else original = max_position_embeddings
    and factor = rope_scaling["factor"]. attention_factor = rope_scaling's, else
    1 when factor <= 1, else sqrt(1 + ln(factor) / ln(original)). ext_factors =
    long_factor when seq_len > original, else short_factor; inv_freq =
    1 / (ext_factors * base ** (arange(0, dim, 2) / dim)), float32.
    """
    orig = cfg.original_max_position_embeddings
    if orig is not None:
        factor = cfg.max_position_embeddings / orig
    else:
        orig, factor = cfg.max_position_embeddings, rs.get("factor")
    attention_factor = rs.get("attention_factor")
    if attention_factor is None:
        attention_factor = 1.0 if factor is None or factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig))
    ext = rs["long_factor"] if seq_len and seq_len > orig else rs["short_factor"]
    ext = np.asarray(ext, dtype=F32)
    if ext.shape != (dim // 2,):
        raise RefError(f"longrope factors have {ext.shape[0]} entries, not {dim // 2}")
    return _rdiv32(1.0, ext * _pow32(F32(base), _exponents(dim))), attention_factor


def rope_init(cfg, seq_len=None):
    """ROPE_INIT_FUNCTIONS[rope_type](config, device, seq_len) -> (inv_freq, attention_scaling)."""
    base, dim, rs = cfg.rope_theta, cfg.rope_dim, cfg.rope_scaling
    t = cfg.rope_type
    if t == "default":
        return rope_default(base, dim)
    if t == "linear":
        return rope_linear(base, dim, rs["factor"])
    if t == "dynamic":
        return rope_dynamic(base, dim, rs["factor"], cfg.max_position_embeddings, seq_len)
    if t == "yarn":
        return rope_yarn(base, dim, rs, cfg.max_position_embeddings, cfg.yarn_legacy_factor)
    if t == "llama3":
        return rope_llama3(base, dim, rs)
    if t == "longrope":
        return rope_longrope(base, dim, rs, cfg, seq_len)
    raise Unsupported(f"rope_type {t}")


def rope_init_checked(cfg, seq_len=None):
    try:
        return rope_init(cfg, seq_len)
    except KeyError as e:
        raise RefError(f"rope_scaling ({cfg.rope_type}) lacks {e}")


class Rotary:
    """LlamaRotaryEmbedding with the dynamic_rope_update decorator's state.

    For "dynamic" rope_type, before each forward with position_ids P:
      seq_len = max(P) + 1
      if seq_len > max_seq_len_cached:            # growth
          inv_freq = rope_init(seq_len); max_seq_len_cached = seq_len
      if seq_len < original_max_seq_len and max_seq_len_cached > original_max_seq_len:
          inv_freq = original_inv_freq; max_seq_len_cached = original_max_seq_len   # reset
    with max_seq_len_cached = original_max_seq_len = max_position_embeddings at init.
    Every position of that forward (the whole prompt at prefill) uses that inv_freq.
    """

    def __init__(self, cfg):
        self.cfg = cfg
        self.inv_freq, self.attention_scaling = rope_init_checked(cfg)
        self.original_inv_freq = self.inv_freq
        self.max_seq_len_cached = cfg.max_position_embeddings
        self.original_max_seq_len = cfg.max_position_embeddings

    def _dynamic_update(self, positions):
        seq_len = int(max(positions)) + 1
        if seq_len > self.max_seq_len_cached:
            self.inv_freq, self.attention_scaling = rope_init(self.cfg, seq_len)
            self.max_seq_len_cached = seq_len
        if seq_len < self.original_max_seq_len and self.max_seq_len_cached > self.original_max_seq_len:
            self.inv_freq = self.original_inv_freq
            self.max_seq_len_cached = self.original_max_seq_len

    def cos_sin(self, positions):
        if self.cfg.rope_type == "dynamic":
            self._dynamic_update(positions)
        if self.cfg.rope_type == "longrope":
            # _longrope_frequency_update: the long factors once a sequence is
            # longer than the original context, the short ones otherwise.
            seq_len = int(max(positions)) + 1
            self.inv_freq, self.attention_scaling = rope_init(self.cfg, seq_len)
        # freqs = inv_freq @ position_ids in float32 (one product each), emb = cat(freqs, freqs)
        ang = np.asarray(positions, dtype=F32)[:, None] * self.inv_freq[None, :]
        emb = np.concatenate([ang, ang], axis=-1).astype(F64)
        return np.cos(emb) * self.attention_scaling, np.sin(emb) * self.attention_scaling


# ---------------------------------------------------------------------------
# The decoder (modeling_llama.py / modeling_mistral.py / modeling_qwen2.py /
# modeling_qwen3.py / modeling_gemma2.py / modeling_gemma3.py).
# ---------------------------------------------------------------------------

def rms_norm(x, w, eps):
    # LlamaRMSNorm: weight * (x * rsqrt(mean(x^2) + eps)).  Gemma's RMSNorm,
    # x * rsqrt(mean(x^2) + eps) * (1 + weight), is this with w = 1 + weight
    # (Model adds the 1 when it loads a Gemma checkpoint).
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def silu(x):
    with np.errstate(over="ignore"):
        return x / (1.0 + np.exp(-x))


def gelu_tanh(x):
    # GELUTanh (gelu_pytorch_tanh: F.gelu(x, approximate="tanh")), NewGELUActivation:
    # 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def softcap(x, cap):
    # Gemma: x / cap, tanh, * cap (eager_attention_forward's softcap; final_logit_softcapping)
    return np.tanh(x / cap) * cap


def new_rotaries(cfg):
    """The model's rotary embeddings by kind: "global" (config.rope_*), and Gemma 3's "local"."""
    rot = {"global": Rotary(cfg)}
    if cfg.local_rope is not None:
        rot["local"] = Rotary(cfg.local_rope)
    return rot


class Model:
    def __init__(self, cfg, tensors):
        self.cfg = cfg
        used = set()

        def get(name, shape=None, required=True):
            t = tensors.get(name)
            if t is None:
                if required:
                    raise RefError(f"checkpoint lacks {name}")
                return None
            if shape is not None and list(t.shape) != list(shape):
                raise RefError(f"{name} has shape {list(t.shape)}, expected {list(shape)}")
            used.add(name)
            return t.astype(F64)

        c = cfg
        H, KV, D, E, I = c.num_heads, c.num_kv_heads, c.head_dim, c.hidden_size, c.intermediate_size
        self.embed = get("model.embed_tokens.weight")
        if self.embed.ndim != 2 or self.embed.shape[1] != E:
            raise RefError(f"model.embed_tokens.weight has shape {list(self.embed.shape)}")
        self.vocab = self.embed.shape[0]
        if c.vocab_size is not None and int(c.vocab_size) != self.vocab:
            raise RefError(f"vocab_size {c.vocab_size} but embed_tokens has {self.vocab} rows")
        if c.tie_word_embeddings:
            self.lm_head = self.embed  # tied: lm_head.weight is embed_tokens.weight
        else:
            self.lm_head = get("lm_head.weight", [self.vocab, E])

        def norm(name, n):
            # Gemma RMSNorm weights are zero-centred: the norm multiplies by 1 + weight
            return get(name, [n]) + c.norm_offset

        self.norm = norm("model.norm.weight", E)
        self.layers = []
        for i in range(c.num_layers):
            p = f"model.layers.{i}."
            L = {
                "in_norm": norm(p + "input_layernorm.weight", E),
                "o": get(p + "self_attn.o_proj.weight", [E, H * D]),
                "down": get(p + "mlp.down_proj.weight", [E, I]),
            }
            if c.arch == "Phi3ForCausalLM":
                # Phi3Attention: qkv[..., :H*D], [H*D : H*D + KV*D], [H*D + KV*D :]; Phi3MLP:
                # gate, up = gate_up_proj(x).chunk(2, dim=-1)
                qkv = get(p + "self_attn.qkv_proj.weight", [(H + 2 * KV) * D, E])
                L["q"], L["k"], L["v"] = qkv[:H * D], qkv[H * D:(H + KV) * D], qkv[(H + KV) * D:]
                gate_up = get(p + "mlp.gate_up_proj.weight", [2 * I, E])
                L["gate"], L["up"] = gate_up[:I], gate_up[I:]
            else:
                L["q"] = get(p + "self_attn.q_proj.weight", [H * D, E])
                L["k"] = get(p + "self_attn.k_proj.weight", [KV * D, E])
                L["v"] = get(p + "self_attn.v_proj.weight", [KV * D, E])
                L["gate"] = get(p + "mlp.gate_proj.weight", [I, E])
                L["up"] = get(p + "mlp.up_proj.weight", [I, E])
            for proj, n_out, on in (("q", H * D, c.qkv_bias), ("k", KV * D, c.qkv_bias),
                                    ("v", KV * D, c.qkv_bias), ("o", E, c.o_bias)):
                L[proj + "_b"] = get(p + f"self_attn.{proj}_proj.bias", [n_out]) if on else None
            for proj, n_out in (("gate", I), ("up", I), ("down", E)):
                L[proj + "_b"] = get(p + f"mlp.{proj}_proj.bias", [n_out]) if c.mlp_bias else None
            L["q_norm"] = norm(p + "self_attn.q_norm.weight", D) if c.qk_norm else None
            L["k_norm"] = norm(p + "self_attn.k_norm.weight", D) if c.qk_norm else None
            if c.sandwich_norm:
                # Gemma: post_attention_layernorm normalises the attention output; the MLP
                # sits between pre_feedforward_layernorm and post_feedforward_layernorm.
                L["post_attn_norm"] = norm(p + "post_attention_layernorm.weight", E)
                L["pre_mlp_norm"] = norm(p + "pre_feedforward_layernorm.weight", E)
                L["post_mlp_norm"] = norm(p + "post_feedforward_layernorm.weight", E)
            else:
                # Llama: post_attention_layernorm is the norm before the MLP
                L["post_attn_norm"] = L["post_mlp_norm"] = None
                L["pre_mlp_norm"] = norm(p + "post_attention_layernorm.weight", E)
            L["window"] = c.layer_windows[i]
            L["rope"] = c.layer_rope[i]
            self.layers.append(L)
        ignored = sorted(n for n in tensors if n not in used and not n.endswith("rotary_emb.inv_freq")
                         and not (c.tie_word_embeddings and n == "lm_head.weight"))
        if ignored:
            # transformers drops unexpected keys with a warning; so does this reference.
            print(f"ref_hf: warning: ignoring tensors the architecture does not use: "
                  f"{', '.join(ignored[:8])}{' ...' if len(ignored) > 8 else ''}", file=sys.stderr)

    def new_cache(self):
        D, KV = self.cfg.head_dim, self.cfg.num_kv_heads
        return [{"k": np.zeros((0, KV, D)), "v": np.zeros((0, KV, D))} for _ in self.layers]

    def forward(self, ids, positions, cache, rotary):
        """Runs tokens `ids` at `positions` (continuing `cache`); returns the last position's logits."""
        c = self.cfg
        H, KV, D = c.num_heads, c.num_kv_heads, c.head_dim
        G = H // KV
        T = len(ids)
        x = self.embed[np.asarray(ids)]
        if c.embed_scale is not None:  # Gemma: embed * normalizer (float32 sqrt(hidden_size))
            x = x * c.embed_scale
        # every rotary embedding runs each forward, as in HF (dynamic NTK updates its state)
        cos_sin = {kind: r.cos_sin(positions) for kind, r in rotary.items()}  # [T, D] each
        qpos = np.asarray(positions)
        scale = c.attn_scale  # head_dim ** -0.5; Gemma: query_pre_attn_scalar ** -0.5
        act = gelu_tanh if c.mlp_act == "gelu_tanh" else silu
        for L, kv in zip(self.layers, cache):
            cos, sin = cos_sin[L["rope"]]
            h = rms_norm(x, L["in_norm"], c.rms_norm_eps)
            q = h @ L["q"].T
            k = h @ L["k"].T
            v = h @ L["v"].T
            if L["q_b"] is not None:
                q, k, v = q + L["q_b"], k + L["k_b"], v + L["v_b"]
            q = q.reshape(T, H, D)
            k = k.reshape(T, KV, D)
            v = v.reshape(T, KV, D)
            if L["q_norm"] is not None:  # Qwen3, Gemma 3: q_norm / k_norm over each head
                q = rms_norm(q, L["q_norm"], c.rms_norm_eps)
                k = rms_norm(k, L["k_norm"], c.rms_norm_eps)
            # apply_rotary_pos_emb: x * cos + rotate_half(x) * sin
            r = cos.shape[-1]  # rotary_dim: the rest of each head passes through (Phi-3's partial rotary)
            q = np.concatenate([q[..., :r] * cos[:, None, :] + rotate_half(q[..., :r]) * sin[:, None, :], q[..., r:]], axis=-1)
            k = np.concatenate([k[..., :r] * cos[:, None, :] + rotate_half(k[..., :r]) * sin[:, None, :], k[..., r:]], axis=-1)
            kv["k"] = np.concatenate([kv["k"], k], axis=0)  # cache of rotated keys
            kv["v"] = np.concatenate([kv["v"], v], axis=0)
            K, V = kv["k"], kv["v"]
            S = K.shape[0]
            kpos = np.arange(S)
            # causal mask, and_masks(sliding_window_overlay) on sliding layers
            allowed = kpos[None, :] <= qpos[:, None]
            if L["window"] is not None:
                allowed &= kpos[None, :] > qpos[:, None] - L["window"]
            # repeat_kv: query head h reads kv head h // G
            qg = q.reshape(T, KV, G, D)
            scores = np.einsum("tkgd,skd->kgts", qg, K) * scale
            if c.attn_softcap is not None:  # Gemma 2: before the mask is added
                scores = softcap(scores, c.attn_softcap)
            scores = np.where(allowed[None, None], scores, -np.inf)
            scores = scores - scores.max(axis=-1, keepdims=True)
            w = np.exp(scores)
            w /= w.sum(axis=-1, keepdims=True)
            a = np.einsum("kgts,skd->tkgd", w, V).reshape(T, H * D)
            o = a @ L["o"].T
            if L["o_b"] is not None:
                o = o + L["o_b"]
            if L["post_attn_norm"] is not None:
                o = rms_norm(o, L["post_attn_norm"], c.rms_norm_eps)
            x = x + o
            h = rms_norm(x, L["pre_mlp_norm"], c.rms_norm_eps)
            g = h @ L["gate"].T
            u = h @ L["up"].T
            if L["gate_b"] is not None:
                g, u = g + L["gate_b"], u + L["up_b"]
            d = (act(g) * u) @ L["down"].T
            if L["down_b"] is not None:
                d = d + L["down_b"]
            if L["post_mlp_norm"] is not None:
                d = rms_norm(d, L["post_mlp_norm"], c.rms_norm_eps)
            x = x + d
        last = rms_norm(x[-1], self.norm, c.rms_norm_eps)
        logits = last @ self.lm_head.T
        if c.final_softcap is not None:
            logits = softcap(logits, c.final_softcap)
        return logits


def generate(model, prompt, steps):
    """Greedy decoding, no EOS stop: `steps` rows of logits and the ids taken from them."""
    for t in prompt:
        if not 0 <= t < model.vocab:
            raise RefError(f"token id {t} is outside the vocabulary (0..{model.vocab - 1})")
    rotary = new_rotaries(model.cfg)  # a fresh model per case (see the module docstring)
    cache = model.new_cache()
    rows, out = [], []
    if steps <= 0:
        return out, rows
    logits = model.forward(prompt, list(range(len(prompt))), cache, rotary)
    pos = len(prompt)
    while True:
        if not np.all(np.isfinite(logits)):
            raise RefError("non-finite logits")
        tok = int(np.argmax(logits))  # first maximum, like torch.argmax
        rows.append([float(v) for v in logits])
        out.append(tok)
        if len(out) == steps:
            return out, rows
        logits = model.forward([tok], [pos], cache, rotary)
        pos += 1


# ---------------------------------------------------------------------------
# --self-test: inv_freq of each RoPE type against values worked out by hand.
# ---------------------------------------------------------------------------

class _Cfg:
    """A stand-in config for rope_init."""

    def __init__(self, rope_type, rs=None, theta=10000.0, dim=16, max_pos=256, legacy=False):
        self.rope_type, self.rope_scaling, self.rope_theta = rope_type, rs, theta
        self.rope_dim, self.max_position_embeddings, self.yarn_legacy_factor = dim, max_pos, legacy


def self_test():
    results = []

    def check(name, got, want, rtol=2e-6):
        got = [float(v) for v in np.atleast_1d(got)]
        want = [float(v) for v in np.atleast_1d(want)]
        ok = len(got) == len(want) and all(
            abs(g - w) <= rtol * max(abs(w), 1e-30) for g, w in zip(got, want))
        results.append(ok)
        print(f"{'PASS' if ok else 'FAIL'} {name}" +
              ("" if ok else f"\n     got  {got}\n     want {want}"))

    # dim 16, theta 10000: the default inv_freq is 10000^(-i/8), i = 0..7.
    base = [10000.0 ** (-i / 8) for i in range(8)]

    inv, att = rope_init(_Cfg("default"))
    check("default: inv_freq = theta^(-2i/dim)", inv, base)
    check("default: inv_freq[1] = 1/sqrt(10), inv_freq[4] = 0.01",
          [inv[1], inv[4]], [0.31622776601683794, 0.01])
    check("default: attention_scaling 1", att, 1.0, 0)

    inv, att = rope_init(_Cfg("linear", {"rope_type": "linear", "factor": 4.0}))
    check("linear x4: inv_freq / 4", inv, [b / 4 for b in base])
    check("linear x4: inv_freq[4] = 0.0025", inv[4], 0.0025)

    # llama3: factor 8, low 1, high 4, original 64 -> band edges at wavelengths 64 and 16.
    # wavelen_i = 2*pi / inv_i = 6.28, 19.87, 62.83, 198.7, ... so i = 0 keeps its
    # frequency, i = 1, 2 are smoothed, i >= 3 are divided by 8.
    rs = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 64}
    want = []
    for b in base:
        wl = 2 * math.pi / b
        if wl < 16:
            want.append(b)
        elif wl > 64:
            want.append(b / 8)
        else:
            s = (64 / wl - 1) / (4 - 1)
            want.append((1 - s) * b / 8 + s * b)
    inv, att = rope_init(_Cfg("llama3", rs))
    check("llama3 (8, 1, 4, 64): banded inv_freq", inv, want)
    # by hand: s1 = (64 / (2*pi*sqrt(10)) - 1) / 3 = 0.7403565, inv1 = (1/sqrt(10)) * ((1-s1)/8 + s1);
    # wavelength 2*pi/0.1 = 62.83: s2 = (64 / 62.83 - 1) / 3 = 0.0061972, inv2 = 0.1 * ((1-s2)/8 + s2)
    check("llama3: inv_freq[0..3] = 1, 0.2443846, 0.01304226, 0.003952847",
          inv[:4], [1.0, 0.24438459943539834, 0.013042256043820465, 0.003952847075210474], 2e-6)

    # dynamic NTK: factor 2, max_pos 64.  At init (and seq_len <= 64) the default
    # frequencies; at seq_len 128 base' = 10000 * (2*128/64 - 1)^(16/14) = 10000 * 3^(8/7).
    rs = {"rope_type": "dynamic", "factor": 2.0}
    inv, _ = rope_init(_Cfg("dynamic", rs, max_pos=64))
    check("dynamic: init = default", inv, base)
    inv, _ = rope_init(_Cfg("dynamic", rs, max_pos=64), seq_len=40)
    check("dynamic: seq_len 40 <= 64 = default", inv, base)
    b2 = 10000.0 * 3.0 ** (16 / 14)
    inv, _ = rope_init(_Cfg("dynamic", rs, max_pos=64), seq_len=128)
    check("dynamic: seq_len 128: base 10000*3^(8/7) = 35097.9", inv,
          [b2 ** (-i / 8) for i in range(8)], 4e-6)
    # the update rule: prefill of 60 (<= 64) keeps the init inv_freq; a step at
    # position 64 (seq_len 65) grows; each later step regrows.
    cfg = _Cfg("dynamic", rs, max_pos=64)
    rot = Rotary(cfg)
    rot.cos_sin(list(range(60)))
    seen = [rot.max_seq_len_cached]
    rot.cos_sin([64])
    seen.append(rot.max_seq_len_cached)
    g65 = rot.inv_freq
    rot.cos_sin([65])
    seen.append(rot.max_seq_len_cached)
    rot.cos_sin([3])  # a short sequence resets to the original frequencies
    seen.append(rot.max_seq_len_cached)
    b65 = 10000.0 * (2 * 65 / 64 - 1) ** (16 / 14)
    check("dynamic: cached length 64, 65, 66, reset to 64", seen, [64, 65, 66, 64], 0)
    check("dynamic: seq_len 65 base 10000*(65/32-1)^(8/7)", g65,
          [b65 ** (-i / 8) for i in range(8)], 4e-6)
    check("dynamic: after the reset, the init frequencies", rot.inv_freq, base)

    # yarn: factor 4, original 64, beta 32/1.  find_correction_dim(r) =
    # 16 * ln(64 / (2*pi*r)) / (2 * ln 10000): r = 32 -> -0.99430, r = 1 -> 2.01600,
    # so low = 0 (floor, clamped), high = 3 (ceil); ramp_i = i / 3 clamped;
    # inv_i = base_i * (ramp_i / 4 + (1 - ramp_i)).
    rs = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}
    fcd = [16 * math.log(64 / (2 * math.pi * r)) / (2 * math.log(10000.0)) for r in (32, 1)]
    check("yarn: correction dims -0.99430, 2.01600", fcd, [-0.9942997453882676, 2.0160002112515443], 1e-12)
    want = []
    for i, b in enumerate(base):
        r = min(max(i / 3, 0.0), 1.0)
        want.append(b / 4 * r + b * (1 - r))
    inv, att = rope_init(_Cfg("yarn", rs, max_pos=256))
    check("yarn (4, orig 64): inv_freq", inv, want)
    check("yarn: inv_freq[0..3] = 1, 0.237171, 0.05, 0.00790569",
          inv[:4], [1.0, 0.23717082, 0.05, 0.0079056942], 2e-6)
    check("yarn: attention_factor = 0.1 ln 4 + 1 = 1.138629", att, 1.1386294361119891, 1e-12)
    # >= 4.56 keeps factor 4 even though max_position_embeddings / original = 2048 / 64 = 32
    inv_new, att_new = rope_init(_Cfg("yarn", rs, max_pos=2048))
    check("yarn >= 4.56: explicit factor wins over max_pos/original", inv_new, want)
    inv_old, att_old = rope_init(_Cfg("yarn", rs, max_pos=2048, legacy=True))
    check("yarn legacy (4.50-4.55): factor = 2048/64 = 32, attention 0.1 ln 32 + 1",
          [inv_old[3], att_old], [base[3] / 32, 0.1 * math.log(32) + 1])
    # no original: the correction range uses max_position_embeddings (256):
    # r = 1 -> 16 * ln(256/(2 pi)) / 18.42 = 3.2200 -> high 4; r = 32 -> 0.2098 -> low 0
    inv, _ = rope_init(_Cfg("yarn", {"rope_type": "yarn", "factor": 4.0}, max_pos=256))
    check("yarn without original: ramp over 0..4", inv,
          [b / 4 * min(i / 4, 1) + b * (1 - min(i / 4, 1)) for i, b in enumerate(base)])
    # truncate false: low = max(-0.9943, 0) = 0, high = 2.0160002 unrounded
    rs_nt = dict(rs, truncate=False)
    inv, _ = rope_init(_Cfg("yarn", rs_nt, max_pos=256))
    check("yarn truncate=false: ramp i / 2.0160002", inv,
          [b / 4 * min(i / 2.0160002112515443, 1) + b * (1 - min(i / 2.0160002112515443, 1))
           for i, b in enumerate(base)], 4e-6)
    # mscale / mscale_all_dim: (0.1*2*ln4 + 1) / (0.1*1*ln4 + 1) = 1.277259 / 1.138629
    _, att = rope_init(_Cfg("yarn", dict(rs, mscale=2, mscale_all_dim=1), max_pos=256))
    check("yarn mscale 2 / mscale_all_dim 1: attention 1.121752", att,
          (0.2 * math.log(4) + 1) / (0.1 * math.log(4) + 1), 1e-12)
    _, att = rope_init(_Cfg("yarn", dict(rs, mscale=1, mscale_all_dim=0), max_pos=256))
    check("yarn mscale_all_dim 0 (falsy): attention 0.1 ln 4 + 1", att, 1.1386294361119891, 1e-12)
    _, att = rope_init(_Cfg("yarn", dict(rs, attention_factor=0.5), max_pos=256))
    check("yarn attention_factor given: 0.5", att, 0.5, 0)

    # sliding window: q - W < k <= q
    qpos, kpos, W = np.arange(5), np.arange(5), 3
    allowed = (kpos[None, :] <= qpos[:, None]) & (kpos[None, :] > qpos[:, None] - W)
    check("sliding window 3: row 4 sees keys 2, 3, 4", allowed[4].astype(int), [0, 0, 1, 1, 1], 0)

    # Qwen2's layer rule
    raw = {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 8, "intermediate_size": 8,
           "num_hidden_layers": 4, "num_attention_heads": 2, "use_sliding_window": True,
           "sliding_window": 5, "max_window_layers": 2}
    check("qwen2: windows per layer (max_window_layers 2)",
          [w or 0 for w in Config(raw).layer_windows], [0, 0, 5, 5], 0)
    raw["use_sliding_window"] = False
    check("qwen2: use_sliding_window false -> no window",
          [w or 0 for w in Config(raw).layer_windows], [0, 0, 0, 0], 0)
    check("--window-override 3: every layer",
          [w or 0 for w in Config(raw, window_override=3).layer_windows], [3, 3, 3, 3], 0)
    raw["architectures"] = ["MistralForCausalLM"]
    del raw["sliding_window"]
    check("mistral: no sliding_window key -> MistralConfig's 4096 on every layer",
          [w or 0 for w in Config(raw).layer_windows], [4096] * 4, 0)
    raw["sliding_window"] = None
    check("mistral: sliding_window null -> none",
          [w or 0 for w in Config(raw).layer_windows], [0] * 4, 0)
    raw["architectures"], raw["sliding_window"] = ["LlamaForCausalLM"], 5
    check("llama: sliding_window ignored (LlamaConfig has none)",
          [w or 0 for w in Config(raw).layer_windows], [0] * 4, 0)

    # Gemma 2: layer_types default "sliding_attention" if (i + 1) % 2 -> layers 0, 2, 4 slide
    g2 = {"architectures": ["Gemma2ForCausalLM"], "hidden_size": 1152, "intermediate_size": 8,
          "num_hidden_layers": 5, "num_attention_heads": 4, "sliding_window": 6}
    cfg = Config(g2)
    check("gemma2: windows alternate from layer 0 (Gemma2Config layer_types)",
          [w or 0 for w in cfg.layer_windows], [6, 0, 6, 0, 6], 0)
    check("gemma2: defaults head_dim 256, num_key_value_heads 4, tied",
          [cfg.head_dim, cfg.num_kv_heads, int(cfg.tie_word_embeddings)], [256, 4, 1], 0)
    check("gemma2: defaults caps 50 / 30, theta 10000, max_pos 8192",
          [cfg.attn_softcap, cfg.final_softcap, cfg.rope_theta, cfg.max_position_embeddings],
          [50.0, 30.0, 10000.0, 8192], 0)
    check("gemma2: scaling 256 ** -0.5 = 0.0625 (query_pre_attn_scalar default)", cfg.attn_scale, 0.0625, 0)
    # float32(sqrt(1152)) = 33.941123962402344 (float64: 33.94112549695428)
    check("gemma: normalizer float32(sqrt(1152)) = 33.941123962402344", cfg.embed_scale,
          33.941123962402344, 0)
    check("gemma2: sliding_window absent -> 4096", [w or 0 for w in Config(
        {k: v for k, v in g2.items() if k != "sliding_window"}).layer_windows], [4096, 0, 4096, 0, 4096], 0)
    check("gemma2: final_logit_softcapping null -> none",
          [Config(dict(g2, final_logit_softcapping=None)).final_softcap is None], [1], 0)
    check("gemma2: sdpa drops the attention softcap",
          [Config(g2, attn_implementation="sdpa").attn_softcap is None], [1], 0)
    # gelu tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); at 1: tanh(0.7978846 * 1.044715)
    # = tanh(0.8335623) = 0.6823840, so 0.8411920; at -1 the odd part gives -0.1588080
    check("gelu_tanh(1, -1) = 0.841192, -0.158808", gelu_tanh(np.array([1.0, -1.0])),
          [0.8411919906082768, -0.15880800939172324], 1e-12)
    check("gemma rms_norm: (1 + w) after the load: x = (3, 4), w = 0 -> x / sqrt(12.5)",
          rms_norm(np.array([3.0, 4.0]), np.array([0.0, 0.0]) + 1.0, 0.0),
          [3 / math.sqrt(12.5), 4 / math.sqrt(12.5)], 1e-15)
    # Gemma 3: sliding if (i + 1) % sliding_window_pattern (default 6) -> layers 5, 11 are full
    g3 = dict(g2, architectures=["Gemma3ForCausalLM"], num_hidden_layers=12)
    cfg = Config(g3)
    check("gemma3: pattern 6 -> full attention on layers 5 and 11",
          [w or 0 for w in cfg.layer_windows], [6] * 5 + [0] + [6] * 5 + [0], 0)
    check("gemma3: local rope (theta 10000) on sliding layers, global (1e6) on 5 and 11",
          [cfg.local_rope.rope_theta, cfg.rope_theta, cfg.layer_rope.count("global"),
           cfg.layer_rope[5] == "global", cfg.layer_rope[11] == "global"], [10000.0, 1e6, 2, 1, 1], 0)
    with contextlib.redirect_stderr(io.StringIO()) as warned:
        ignored = Config(dict(g3, attn_logit_softcapping=5.0)).attn_softcap is None
    check("gemma3: no caps by default, attn_logit_softcapping ignored (with a warning)",
          [cfg.final_softcap is None, ignored, "no effect on Gemma 3" in warned.getvalue()], [1, 1, 1], 0)
    check("gemma3: sliding_window_pattern 3 -> full on 2, 5, 8, 11",
          [w or 0 for w in Config(dict(g3, sliding_window_pattern=3)).layer_windows], [6, 6, 0] * 4, 0)
    lt = ["full_attention", "sliding_attention"] * 6
    check("gemma3: layer_types win over sliding_window_pattern",
          [w or 0 for w in Config(dict(g3, layer_types=lt, sliding_window_pattern=3)).layer_windows],
          [0, 6] * 6, 0)
    cfg = Config(dict(g3, rope_scaling={"rope_type": "linear", "factor": 8.0}, rope_local_base_freq=500.0))
    check("gemma3: rope_scaling on the global rope only (linear x8); local default, theta 500",
          [cfg.rope_type == "linear", cfg.local_rope.rope_type == "default", cfg.local_rope.rope_theta],
          [1, 1, 500.0], 0)
    check("gemma3: local inv_freq = 500^(-2i/256)", rope_init(cfg.local_rope)[0][:3],
          [1.0, 500.0 ** (-2 / 256), 500.0 ** (-4 / 256)], 2e-6)
    check("--window-override 3 on gemma3: windows change, ropes stay",
          [w or 0 for w in Config(g3, window_override=3).layer_windows] +
          [Config(g3, window_override=3).layer_rope.count("global")], [3] * 12 + [2], 0)

    n_fail = results.count(False)
    print(f"{len(results) - n_fail} passed, {n_fail} failed")
    return 0 if n_fail == 0 else 1


# ---------------------------------------------------------------------------

def parse_prompts(text):
    prompts = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            raise RefError("an empty prompt in --prompts")
        try:
            prompts.append([int(t) for t in part.split(",")])
        except ValueError:
            raise RefError(f"bad prompt {part!r} (comma-separated token ids)")
    return prompts


def describe(cfg, model):
    r = cfg.rope_type
    if cfg.rope_scaling:
        r += " " + json.dumps({k: v for k, v in cfg.rope_scaling.items() if k not in ("type", "rope_type")},
                              sort_keys=True)
    wins = sorted({w for w in cfg.layer_windows if w})
    win = "none" if not wins else ", ".join(
        f"{w} on layers {[i for i, x in enumerate(cfg.layer_windows) if x == w]}" for w in wins)
    return (f"ref_hf.py: numpy reference of transformers 4.56/4.57 {cfg.arch} greedy decoding "
            f"(float64 activations; inv_freq in float32 as torch builds it; rotary angles rounded to "
            f"float32, cos/sin in float64; KV cache of rotated keys). rope: {r}, theta {cfg.rope_theta}, "
            f"attention_scaling {Rotary(cfg).attention_scaling!r}"
            f"{' (yarn legacy factor rule)' if cfg.yarn_legacy_factor and cfg.rope_type == 'yarn' else ''}; "
            f"sliding window: {win}; max_position_embeddings {cfg.max_position_embeddings}; "
            f"vocab {model.vocab}.{describe_gemma(cfg)}")


def describe_gemma(cfg):
    if not cfg.gemma:
        return ""
    dropped = cfg.attn_implementation == "sdpa" and cfg.arch == "Gemma2ForCausalLM"
    text = (f" Gemma: embedding normalizer {cfg.embed_scale!r} (float32 sqrt(hidden_size)); "
            f"RMSNorm weights used as 1 + weight; attention scaling {cfg.attn_scale!r} "
            f"(query_pre_attn_scalar ** -0.5); attention softcap {cfg.attn_softcap}"
            f"{' (sdpa: dropped)' if dropped else ''}; "
            f"final logit softcap {cfg.final_softcap}; gelu_tanh MLP")
    if cfg.local_rope is not None:
        local = [i for i, k in enumerate(cfg.layer_rope) if k == "local"]
        text += (f"; local rope {cfg.local_rope.rope_type}, theta {cfg.local_rope.rope_theta} "
                 f"on layers {local}, global rope on the others")
    return text + "."


def main(argv):
    ap = argparse.ArgumentParser(description="numpy reference of HF Llama/Mistral/Qwen2/Qwen3/Gemma2/Gemma3 "
                                             "greedy decoding")
    ap.add_argument("hf_dir", nargs="?", help="directory with config.json and model.safetensors")
    ap.add_argument("--prompts", help='prompts as token ids: "1,15,42;3,1,4,1,5"')
    ap.add_argument("--steps", type=int, default=32, help="greedy tokens per prompt (default 32)")
    ap.add_argument("--window-override", type=int, default=None, metavar="N",
                    help="a sliding window of N on every layer (0: none on any), in place of "
                         "what the architecture and config.json say")
    ap.add_argument("--yarn-legacy-factor", action="store_true",
                    help="YaRN as transformers 4.50-4.55: a given original_max_position_embeddings "
                         "replaces factor by max_position_embeddings / original")
    ap.add_argument("--attn-implementation", choices=("eager", "sdpa"), default="eager",
                    help="Gemma 2's attention as transformers runs it: eager (default) applies "
                         "attn_logit_softcapping, sdpa (transformers >= 4.48's default) drops it")
    ap.add_argument("--rope-info", action="store_true",
                    help="print {inv_freq, attention_scaling} as built for --seq-len and exit "
                         "(Gemma 3: the sliding layers' under \"sliding_attention\")")
    ap.add_argument("--seq-len", type=int, default=None, help="sequence length for --rope-info (dynamic)")
    ap.add_argument("--self-test", action="store_true", help="check the RoPE formulas and exit")
    args = ap.parse_args(argv)

    if args.self_test:
        return self_test()
    if not args.hf_dir:
        raise RefError("HF_DIR is required")
    if args.window_override is not None and args.window_override < 0:
        raise RefError("--window-override must be >= 0")
    with open(os.path.join(args.hf_dir, "config.json")) as f:
        raw = json.load(f)
    cfg = Config(raw, args.window_override, args.yarn_legacy_factor, args.attn_implementation)
    new_rotaries(cfg)  # reports a rope_scaling that lacks a key before the weights are read
    if args.rope_info:
        inv, att = rope_init_checked(cfg, args.seq_len)
        info = {"rope_type": cfg.rope_type, "inv_freq": [float(v) for v in inv],
                "attention_scaling": float(att)}
        if cfg.local_rope is not None:
            linv, latt = rope_init_checked(cfg.local_rope, args.seq_len)
            info["sliding_attention"] = {"rope_type": cfg.local_rope.rope_type,
                                         "rope_theta": cfg.local_rope.rope_theta,
                                         "inv_freq": [float(v) for v in linv],
                                         "attention_scaling": float(latt)}
        json.dump(info, sys.stdout)
        sys.stdout.write("\n")
        return 0
    if args.prompts is None:
        raise RefError("--prompts is required")
    if args.steps < 0:
        raise RefError("--steps must be >= 0")
    prompts = parse_prompts(args.prompts)
    model = Model(cfg, load_checkpoint(args.hf_dir))
    cases = []
    for p in prompts:
        gen, rows = generate(model, p, args.steps)
        cases.append({"prompt_ids": p, "generated_ids": gen, "logits": rows})
    json.dump({"description": describe(cfg, model), "cases": cases}, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Unsupported as e:
        print(f"ref_hf: unsupported: {e}", file=sys.stderr)
        sys.exit(2)
    except (RefError, OSError, ValueError, KeyError) as e:
        msg = str(e).replace("\n", " ")
        print(f"ref_hf: {type(e).__name__ if not isinstance(e, RefError) else 'error'}: {msg}",
              file=sys.stderr)
        sys.exit(1)
