/* llmc_tokenizer.h: a Hugging Face tokenizer.json reader for byte-level BPE
 * (GPT-2, Llama-3, Qwen-style), for encoding prompts and decoding samples.
 *
 * Supported: model.type "BPE" with `vocab` and `merges` (either "a b" strings
 * or [a, b] pairs), a ByteLevel pre_tokenizer (alone or in a Sequence after
 * Split), ByteLevel or no decoder, no normalizer or NFC (treated as identity),
 * and `added_tokens`, which are matched literally before pre-tokenization.
 * WordPiece, Unigram and sentencepiece-style (Metaspace, byte_fallback) BPE
 * fail to load with LLMC_UNIMPLEMENTED.
 *
 * Pre-tokenization splits text without a regex engine: the GPT-2 pattern and
 * the Llama-3/Qwen2 pattern are hand-written matchers, and any other Split
 * regex is approximated by the GPT-2 one. Unicode classes are approximated:
 * ASCII is exact, and non-ASCII code points count as letters except for a
 * short table of spaces, digits, punctuation, symbols and emoji. Text with
 * letters from other classes (e.g. non-Latin digits) may therefore split
 * differently from Hugging Face's, giving a valid but different encoding.
 *
 * A loaded tokenizer is immutable; encode and decode may run concurrently. */
#ifndef LLMC_TOKENIZER_H
#define LLMC_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc_support.h"

typedef struct llmc_tokenizer llmc_tokenizer_t;

/* Reads tokenizer.json. Missing file: LLMC_NOT_FOUND; malformed JSON, duplicate
 * keys or missing fields: LLMC_DATA_LOSS with the path as location; a valid
 * file of an unsupported kind: LLMC_UNIMPLEMENTED naming the kind. */
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_load(const char *tokenizer_json_path,
                                                 llmc_tokenizer_t **out_tokenizer);
void llmc_tokenizer_destroy(llmc_tokenizer_t *t);

/* One more than the largest token id in the vocabulary or added tokens. */
int32_t llmc_tokenizer_vocab_size(const llmc_tokenizer_t *t);

/* Encodes UTF-8 text (invalid UTF-8 is encoded byte by byte, never rejected).
 * add_bos prepends the BOS token when the tokenizer has one. *out_ids is
 * malloc'd; the caller frees it. Fails only when the vocabulary lacks a
 * token for some byte, or on out-of-memory. */
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_encode(const llmc_tokenizer_t *t, const char *text,
                                                   size_t len, bool add_bos, int32_t **out_ids,
                                                   int64_t *out_n);

/* Appends the bytes of token `id` to buf: byte-level tokens map back to raw
 * bytes, added tokens append their content. A token may end inside a UTF-8
 * sequence; concatenate before printing. LLMC_OUT_OF_RANGE for an id outside
 * [0, vocab_size) or one no token was assigned. */
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_decode_token(const llmc_tokenizer_t *t, int32_t id,
                                                         llmc_buf_t *buf);

/* BOS: the first special token of the post_processor's template (or its cls);
 * only without a template, a token named "<|begin_of_text|>", "<s>" or
 * "<bos>". EOS: a token named "<|end_of_text|>", "</s>", "<eos>" or "<|endoftext|>". -1 when none.
 * tokenizer.json does not record which stop token a chat model uses; take that
 * from generation_config.json when it matters. */
int32_t llmc_tokenizer_bos(const llmc_tokenizer_t *t);
int32_t llmc_tokenizer_eos(const llmc_tokenizer_t *t);

/* The id of a token whose decoded bytes (or added-token content) equal s, or
 * -1; for looking up stop tokens such as "<|eot_id|>" or "<|im_end|>". */
int32_t llmc_tokenizer_find(const llmc_tokenizer_t *t, const char *s, size_t len);

#endif
