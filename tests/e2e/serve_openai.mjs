// The official `openai` npm client against `llmc serve` (tests/e2e/serve.sh
// serve-openai): node serve_openai.mjs URL KEY MODEL IDS REF_IDS REF_TEXT
// where IDS is a comma-separated prompt, REF_IDS the space-separated greedy
// ids llmc run makes for it, and REF_TEXT llmc run's continuation of the
// text prompt "It is a truth universally acknowledged". Exits 1 with a
// message at the first difference.
import OpenAI from 'openai';

const [url, key, model, ids, refIds, refText] = process.argv.slice(2);
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };

// node serve_openai.mjs URL KEY MODEL --chat REF: chat completions, plain and
// streamed, give REF (llmc run --chat's reply to "Once upon a time").
if (ids === '--chat') {
  const ref = refIds;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
  const messages = [{ role: 'user', content: 'Once upon a time' }];
  const c = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0 });
  const m = c.choices[0].message;
  if (c.object !== 'chat.completion' || m.role !== 'assistant' || m.content !== ref)
    fail(`chat ${JSON.stringify(c)} != '${ref}'`);
  if (!c.usage || c.usage.completion_tokens < 1) fail(`chat usage ${JSON.stringify(c.usage)}`);
  let streamed = '', role = null, finish = null;
  for await (const chunk of await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, stream: true })) {
    if (chunk.object !== 'chat.completion.chunk') fail(`chunk object ${chunk.object}`);
    role ??= chunk.choices[0]?.delta?.role ?? null;
    streamed += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  if (streamed !== ref || role !== 'assistant' || !finish) fail(`streamed chat '${streamed}' (${role}, ${finish}) != '${ref}'`);
  // Chat logprobs: an entry a completion token, its bytes, the sampled token
  // (greedy) first among its alternatives.
  const lc = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, logprobs: true, top_logprobs: 2 });
  const content = lc.choices[0].logprobs?.content;
  if (!content || content.length !== lc.usage.completion_tokens) fail(`chat logprobs ${JSON.stringify(lc.choices[0].logprobs)}`);
  for (const e of content) {
    if (typeof e.token !== 'string' || !Array.isArray(e.bytes) || e.top_logprobs.length !== 2 ||
        e.top_logprobs[0].logprob !== e.logprob || e.top_logprobs[0].logprob < e.top_logprobs[1].logprob)
      fail(`chat logprob entry ${JSON.stringify(e)}`);
  }
  try {
    await client.chat.completions.create({ model, messages, max_tokens: 2, top_logprobs: 2 });
    fail('top_logprobs without logprobs: no error');
  } catch (e) {
    if (!(e instanceof OpenAI.BadRequestError)) fail(`top_logprobs without logprobs: ${e}`);
  }
  console.log('openai client chat checks passed');
  process.exit(0);
}
const prompt = ids.split(',').map(Number);
const n = refIds.split(' ').length;
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });

// Non-streaming, prompt as ids; return_token_ids is passed through as is.
const r = await client.completions.create({ model, prompt, max_tokens: n, temperature: 0, return_token_ids: true });
if (r.choices[0].token_ids.join(' ') !== refIds) fail(`ids ${r.choices[0].token_ids} != ${refIds}`);
if (r.usage.prompt_tokens !== prompt.length || r.usage.completion_tokens !== n) fail(`usage ${JSON.stringify(r.usage)}`);

// Streaming, the same tokens; usage in the last chunk.
const s = await client.completions.create({ model, prompt, max_tokens: n, temperature: 0, stream: true, return_token_ids: true });
const got = [];
let usage = null, finish = null;
for await (const chunk of s) {
  got.push(...(chunk.choices[0]?.token_ids ?? []));
  if (chunk.usage) usage = chunk.usage;
  if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
}
if (got.join(' ') !== refIds) fail(`streamed ids ${got} != ${refIds}`);
if (!usage || usage.total_tokens !== prompt.length + n || finish !== 'length') fail(`stream end ${JSON.stringify(usage)} ${finish}`);

// A text prompt, plain and streamed, is llmc run's text.
const text = 'It is a truth universally acknowledged';
const t = await client.completions.create({ model, prompt: text, max_tokens: 32, temperature: 0 });
if (t.choices[0].text !== refText) fail(`text '${t.choices[0].text}' != '${refText}'`);
let streamed = '';
for await (const chunk of await client.completions.create({ model, prompt: text, max_tokens: 32, temperature: 0, stream: true }))
  streamed += chunk.choices[0]?.text ?? '';
if (streamed !== refText) fail(`streamed text '${streamed}' != '${refText}'`);

// logprobs: one entry a token; greedy, so each sampled token is its own
// best alternative, at the same log-probability; the tokens spell the text.
const lp = (await client.completions.create({ model, prompt: text, max_tokens: 8, temperature: 0, logprobs: 3 })).choices[0];
const l = lp.logprobs;
if (!l || l.tokens.length !== 8 || l.token_logprobs.length !== 8 || l.top_logprobs.length !== 8 || l.text_offset.length !== 8)
  fail(`logprobs ${JSON.stringify(l)}`);
if (l.tokens.join('') !== lp.text) fail(`logprobs tokens '${l.tokens.join('')}' != text '${lp.text}'`);
for (let i = 0; i < 8; i++) {
  const alts = Object.entries(l.top_logprobs[i]);
  if (alts.length < 1 || alts.length > 3 || !(l.token_logprobs[i] <= 0)) fail(`logprobs[${i}] ${JSON.stringify(alts)}`);
  const best = Math.max(...alts.map(([, v]) => v));
  if (l.top_logprobs[i][l.tokens[i]] !== best || l.token_logprobs[i] !== best)
    fail(`greedy token ${JSON.stringify(l.tokens[i])} (${l.token_logprobs[i]}) is not its best alternative ${JSON.stringify(alts)}`);
  if (i > 0 && l.text_offset[i] !== l.text_offset[i - 1] + Buffer.byteLength(l.tokens[i - 1])) fail(`text_offset ${l.text_offset}`);
}
let streamedLp = [];
for await (const chunk of await client.completions.create({ model, prompt: text, max_tokens: 8, temperature: 0, logprobs: 3, stream: true }))
  streamedLp.push(...(chunk.choices[0]?.logprobs?.token_logprobs ?? []));
if (streamedLp.join(' ') !== l.token_logprobs.join(' ')) fail(`streamed logprobs ${streamedLp} != ${l.token_logprobs}`);

// Models, and the errors as the client's typed exceptions.
const models = await client.models.list();
if (models.data.length !== 1 || models.data[0].id !== model) fail(`models ${JSON.stringify(models.data)}`);
const expectError = async (cls, what, call) => {
  try { await call(); } catch (e) {
    if (e instanceof cls && typeof e.message === 'string') return;
    fail(`${what}: ${e}`);
  }
  fail(`${what}: no error`);
};
await expectError(OpenAI.BadRequestError, 'chat without a template',
  () => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }));
await expectError(OpenAI.BadRequestError, 'max_tokens -1',
  () => client.completions.create({ model, prompt, max_tokens: -1 }));
await expectError(OpenAI.NotFoundError, 'unknown model',
  () => client.completions.create({ model: 'gpt-4', prompt, max_tokens: 4 }));
const bad = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'wrong', maxRetries: 0 });
await expectError(OpenAI.AuthenticationError, 'wrong key', () => bad.models.list());
console.log('openai client checks passed');
