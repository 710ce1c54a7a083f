// llama.cpp (through node-llama-cpp's prebuilt binaries) on a GGUF file, for
// tests/e2e/gguf.sh: the reference llmc's GGUF import is compared with.
//   node gguf_llama_cpp.mjs greedy MODEL.gguf IDS STEPS   → greedy ids, space-separated
//   node gguf_llama_cpp.mjs tokenize MODEL.gguf TEXTS.jsonl → one JSON array of ids per line
//     (special tokens in the text parsed as tokens, as transformers and llmc do)
//   node gguf_llama_cpp.mjs bench MODEL.gguf PROMPT_LEN TOKENS THREADS → decode tokens/s (bench/gguf.sh)
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [, , command, modelPath, arg, steps] = process.argv;
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath});
if (command === "greedy") {
  const context = await model.createContext({contextSize: 256, batchSize: 256, threads: 1});
  const seq = context.getSequence();
  const out = [];
  for await (const t of seq.evaluate(arg.split(",").map(Number), {temperature: 0})) {
    out.push(t);
    if (out.length >= Number(steps)) break;
  }
  console.log(out.join(" "));
} else if (command === "bench") {
  const [promptLen, tokens, threads] = [Number(arg), Number(steps), Number(process.argv[7] || 2)];
  const context = await model.createContext({contextSize: promptLen + tokens + 8, batchSize: 512, threads});
  const seq = context.getSequence();
  const prompt = Array.from({length: promptLen}, (_, i) => 1 + (i * 7) % 100);
  let n = 0, start = 0;
  for await (const t of seq.evaluate(prompt, {temperature: 0})) {
    void t;
    if (n === 0) start = performance.now(); // the first token ends the prefill
    if (++n > tokens) break;
  }
  console.log(`decode ${(tokens / ((performance.now() - start) / 1000)).toFixed(1)} tokens/s`);
} else if (command === "tokenize") {
  const lines = readFileSync(arg, "utf8").split("\n").filter((l) => l.length);
  for (const line of lines) console.log(JSON.stringify(Array.from(model.tokenize(JSON.parse(line), true))));
} else {
  console.error("usage: gguf_llama_cpp.mjs greedy|tokenize MODEL ARG [STEPS]");
  process.exit(64);
}
await model.dispose();
await llama.dispose();
