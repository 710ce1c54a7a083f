import { TokenizerLoader } from "@lenml/tokenizers";
import fs from "fs";
const [dir, input] = process.argv.slice(2);
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(dir + "/tokenizer.json", "utf8")),
  tokenizerConfig: JSON.parse(fs.readFileSync(dir + "/tokenizer_config.json", "utf8")),
});
for (const line of fs.readFileSync(input, "utf8").split("\n")) {
  if (!line) continue;
  const text = JSON.parse(line);
  console.log(JSON.stringify(tok.encode(text, { add_special_tokens: false })));
}
