# The same decode measured with torch on the same device in the same run
# (bench/gpu/run.sh calls it; the GPU machine has torch and transformers).
# Three peers for the ~1.1B model of prepare.sh (TinyLlama's shape):
#   1. the cuBLAS floor: one decode step's weight GEMVs (q/k/v, o, gate/up,
#      down for every layer, then lm_head) as F.linear on distinct bf16/f16
#      weights, replayed as a CUDA graph so launches cost nothing: what the
#      weight reads alone cost through cuBLAS, with no norm, RoPE, attention;
#   2. Hugging Face LlamaForCausalLM (random weights, eager, its default
#      dynamic cache): greedy decode at batch 1 and 8;
#   3. the cuBLAS prefill GEMMs: the same F.linear calls on 128, 512 and
#      2000 token rows, as TFLOP/s (below).
# Each section catches its own failure so one missing piece does not hide
# the rest. Prints one line per measurement.
import sys, time
import torch
import torch.nn.functional as F

DIM, LAYERS, HEADS, KV_HEADS, HIDDEN, VOCAB = 2048, 22, 32, 4, 5632, 32000
HEAD = DIM // HEADS
dev = sys.argv[1] if len(sys.argv) > 1 else 'cuda'


def timed(fn, iters):
    torch.cuda.synchronize()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    e0.record()
    for _ in range(iters):
        fn()
    e1.record()
    torch.cuda.synchronize()
    return e0.elapsed_time(e1) / iters  # ms


def copy_bandwidth():
    n = 1 << 30  # 1 GiB each way
    a = torch.empty(n, dtype=torch.uint8, device=dev)
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    ms = timed(lambda: b.copy_(a), 20)
    return 2 * n / (ms * 1e-3) / 1e9


def gemv_floor(dtype, batch):
    shapes = [((HEADS + 2 * KV_HEADS) * HEAD, DIM), (DIM, DIM), (2 * HIDDEN, DIM), (DIM, HIDDEN)]
    ws = [torch.randn(n, k, device=dev, dtype=dtype) for _ in range(LAYERS) for (n, k) in shapes]
    ws.append(torch.randn(VOCAB, DIM, device=dev, dtype=dtype))
    xs = {k: torch.randn(batch, k, device=dev, dtype=dtype) for k in (DIM, HIDDEN)}
    nbytes = sum(w.numel() * w.element_size() for w in ws)

    def step():
        for w in ws:
            F.linear(xs[w.shape[1]], w)
    step()
    g = torch.cuda.CUDAGraph()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        step()
    torch.cuda.current_stream().wait_stream(s)
    with torch.cuda.graph(g):
        step()
    for _ in range(3):
        g.replay()
    ms = timed(g.replay, 20)
    del ws, g
    torch.cuda.empty_cache()
    return ms, nbytes / (ms * 1e-3) / 1e9


def hf_decode(dtype, batch, new_tokens=64, prompt=8):
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(hidden_size=DIM, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                      num_key_value_heads=KV_HEADS, intermediate_size=HIDDEN, vocab_size=VOCAB,
                      max_position_embeddings=2048)
    torch.manual_seed(1)
    with torch.device(dev):
        model = LlamaForCausalLM(cfg).to(dtype).eval()
    ids = torch.randint(0, VOCAB, (batch, prompt), device=dev)
    kw = dict(do_sample=False, pad_token_id=0, eos_token_id=None)
    with torch.no_grad():
        model.generate(ids, max_new_tokens=4, min_new_tokens=4, **kw)  # warm up
        times = []
        for n in (1, new_tokens + 1):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            model.generate(ids, max_new_tokens=n, min_new_tokens=n, **kw)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    del model
    torch.cuda.empty_cache()
    return (times[1] - times[0]) / new_tokens * 1e3  # ms per decode step, prefill subtracted


print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0) if dev == 'cuda' else dev}")
try:
    bw = copy_bandwidth()
    print(f"torch copy bandwidth: {bw:.0f} GB/s (read+write of 1 GiB)")
except Exception as e:
    bw = None
    print(f"torch copy bandwidth: failed: {e}")
for name, dtype in (('bf16', torch.bfloat16), ('f16', torch.float16)):
    for batch in (1, 8):
        try:
            ms, gbs = gemv_floor(dtype, batch)
            frac = f", {gbs / bw * 100:.0f}% of copy" if bw else ""
            print(f"cublas decode-step GEMVs ({name}, batch {batch}, CUDA graph): {ms:.3f} ms, "
                  f"{gbs:.0f} GB/s of weights{frac}")
        except Exception as e:
            print(f"cublas decode-step GEMVs ({name}, batch {batch}): failed: {e}")
# 3. Prefill's GEMMs: the same weights against T token rows (one F.linear
# each, the layers in sequence, lm_head over every row where llmc computes
# only the last: a floor for the GEMM part of a prefill), as TFLOP/s.
n_params = sum(n * k for (n, k) in [((HEADS + 2 * KV_HEADS) * HEAD, DIM), (DIM, DIM), (2 * HIDDEN, DIM),
                                    (DIM, HIDDEN)]) * LAYERS + VOCAB * DIM
for tokens in (128, 512, 2000):
    try:
        ms, _ = gemv_floor(torch.bfloat16, tokens)
        print(f"cublas prefill GEMMs (bf16, {tokens} tokens, CUDA graph): {ms:.3f} ms, "
              f"{2 * tokens * n_params / (ms * 1e-3) / 1e12:.0f} TFLOP/s")
    except Exception as e:
        print(f"cublas prefill GEMMs (bf16, {tokens} tokens): failed: {e}")
for batch in (1, 8):
    try:
        ms = hf_decode(torch.bfloat16, batch)
        print(f"transformers LlamaForCausalLM eager decode (bf16, batch {batch}): {ms:.2f} ms/step, "
              f"{batch * 1e3 / ms:.0f} tok/s")
    except Exception as e:
        print(f"transformers decode (bf16, batch {batch}): failed: {type(e).__name__}: {e}")
