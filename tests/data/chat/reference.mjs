// The reference for llmc's chat templates: Hugging Face's own Jinja
// implementation (@huggingface/jinja, as transformers.js renders chat
// templates). Prints one line per conversation of CONVERSATIONS: the
// rendered prompt (add_generation_prompt true) as a JSON string, or null
// where the template raises an exception.
//   node reference.mjs TOKENIZER_CONFIG_JSON CONVERSATIONS_JSONL
import { Template } from "@huggingface/jinja";
import fs from "fs";
const [configPath, input] = process.argv.slice(2);
const cfg = JSON.parse(fs.readFileSync(configPath, "utf8"));
const text = (t) => (t && typeof t === "object" ? t.content : t);
const template = new Template(cfg.chat_template);
for (const line of fs.readFileSync(input, "utf8").split("\n")) {
  if (!line) continue;
  let out = null;
  try {
    out = template.render({
      messages: JSON.parse(line),
      add_generation_prompt: true,
      bos_token: text(cfg.bos_token) ?? "",
      eos_token: text(cfg.eos_token) ?? "",
    });
  } catch (e) {
    out = null;
  }
  console.log(JSON.stringify(out));
}
