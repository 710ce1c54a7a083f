/* llmc_tokenizer.h: a Hugging Face tokenizer.json reader for BPE, byte-level
 * (GPT-2, Llama-3, Qwen-style) and sentencepiece-style (Llama 2, Mistral,
 * TinyLlama, Gemma: characters, byte_fallback), for encoding prompts and
 * decoding samples.
 *
 * Supported: model.type "BPE" with `vocab` and `merges` (either "a b" strings
 * or [a, b] pairs), byte_fallback, fuse_unk and unk_token; pre_tokenizers
 * ByteLevel (alone or in a Sequence after Split), Split on a literal string
 * (Removed, Isolated, MergedWithPrevious, MergedWithNext), Metaspace, or none
 * (sentencepiece-style); normalizers NFC, NFD, NFKC, NFKD, Prepend and
 * Replace of a literal string, in Sequences; decoders ByteLevel, or Replace,
 * ByteFallback, Fuse, Strip of leading spaces and Metaspace; and
 * `added_tokens`, which are matched literally before normalization. Other
 * kinds (WordPiece, Unigram, regex Replace, ...) fail to load with
 * LLMC_UNIMPLEMENTED naming them. Special tokens come from the
 * post_processor (TemplateProcessing, RobertaProcessing, BertProcessing,
 * ByteLevel, a Sequence of them) and, through llmc_tokenizer_load_files or
 * _load_dir, from tokenizer_config.json and generation_config.json; never
 * from a token's name.
 *
 * Split patterns (and ByteLevel's GPT-2 pattern) run on Oniguruma, the regex
 * engine Hugging Face's tokenizers use, with a bound on backtracking; each
 * stretch of valid UTF-8 is searched, and a byte that is not valid UTF-8 is
 * a pre-token of its own. NFC/NFD/NFKC/NFKD come from utf8proc.
 *
 * A loaded tokenizer is immutable; encode and decode may run concurrently. */
#ifndef LLMC_TOKENIZER_H
#define LLMC_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc_support.h"

typedef struct llmc_tokenizer llmc_tokenizer_t;

/* The most stop ids a tokenizer (generation_config.json) may declare. */
#define LLMC_TOKENIZER_MAX_STOP 32 /* model_json.c says "32" in a message */

/* Reads tokenizer.json alone: what encode adds comes from its post_processor,
 * and there are no stop ids. Missing file: LLMC_NOT_FOUND; malformed JSON,
 * duplicate keys or missing fields: LLMC_DATA_LOSS with the path as location;
 * a valid file of an unsupported kind: LLMC_UNIMPLEMENTED naming the kind. */
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_load(const char *tokenizer_json_path,
                                                 llmc_tokenizer_t **out_tokenizer);
/* tokenizer.json with the files that say which special tokens it uses:
 * tokenizer_config.json (bos_token, eos_token, add_bos_token, add_eos_token)
 * and generation_config.json (bos_token_id, eos_token_id: an id or a list);
 * either path may be NULL. Each file is read as hostile input (a regular file,
 * bounded); malformed, or naming a token or id outside the vocabulary:
 * LLMC_DATA_LOSS located at that file. The precedence is in tokenizer.c. */
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_load_files(const char *tokenizer_json_path,
                                                       const char *tokenizer_config_path,
                                                       const char *generation_config_path,
                                                       llmc_tokenizer_t **out_tokenizer);
/* dir/tokenizer.json (required), dir/tokenizer_config.json and
 * dir/generation_config.json (each optional), every path confined to dir
 * (llmc_path_confine): a Hugging Face directory, an artifact, or any
 * directory holding a tokenizer.json. */
/* The same from tokenizer.json and tokenizer_config.json text (config_json
 * may be NULL): a tokenizer a model file carries (GGUF). where names it in
 * errors. */
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_load_text(const char *json, size_t len, const char *config_json,
                                                      size_t config_len, const char *where,
                                                      llmc_tokenizer_t **out_tokenizer);
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_load_dir(const char *dir,
                                                     llmc_tokenizer_t **out_tokenizer);
void llmc_tokenizer_destroy(llmc_tokenizer_t *t);

/* One more than the largest token id in the vocabulary or added tokens. */
int32_t llmc_tokenizer_vocab_size(const llmc_tokenizer_t *t);

/* Encodes UTF-8 text (invalid UTF-8 is encoded byte by byte, never rejected).
 * add_special adds the special tokens Hugging Face's encode(text,
 * add_special_tokens=True) adds: the template's before the text, and after
 * it (see llmc_tokenizer_special_ids); without it, none. *out_ids is
 * malloc'd; the caller frees it. Fails only when the vocabulary lacks a
 * token for some byte, or on out-of-memory. */
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_encode(const llmc_tokenizer_t *t, const char *text,
                                                   size_t len, bool add_special, int32_t **out_ids,
                                                   int64_t *out_n);

/* Appends the bytes of token `id` to buf: byte-level tokens map back to raw
 * bytes, added tokens append their content. A token may end inside a UTF-8
 * sequence; concatenate before printing. LLMC_OUT_OF_RANGE for an id outside
 * [0, vocab_size) or one no token was assigned. */
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_decode_token(const llmc_tokenizer_t *t, int32_t id,
                                                         llmc_buf_t *buf);
/* Appends the text of a whole sequence of ids, as Hugging Face's decode
 * does: the tokens' bytes, then the decoder's strip of leading spaces
 * (sentencepiece-style tokenizers drop the space their normalizer
 * prepended). A stream of tokens after a prompt uses _decode_token. */
LLMC_MUST_USE llmc_status_t *llmc_tokenizer_decode(const llmc_tokenizer_t *t, const int32_t *ids, size_t n,
                                                   llmc_buf_t *buf);

/* BOS: tokenizer_config.json's bos_token, else generation_config.json's
 * bos_token_id, else the first special token encode adds; -1 when none.
 * Never guessed from a token's name: Qwen3 has a "<s>" and no BOS. */
int32_t llmc_tokenizer_bos(const llmc_tokenizer_t *t);
/* The first stop id, or -1. */
int32_t llmc_tokenizer_eos(const llmc_tokenizer_t *t);
/* The stop ids (borrowed), generation_config.json's eos_token_id, else
 * tokenizer_config.json's eos_token; returns how many (0: none). */
int llmc_tokenizer_stop_ids(const llmc_tokenizer_t *t, const int32_t **out_ids);
/* The ids encode with add_special puts before (suffix false) or after the
 * text (borrowed); returns how many. */
int llmc_tokenizer_special_ids(const llmc_tokenizer_t *t, bool suffix, const int32_t **out_ids);

/* The id of a token whose decoded bytes (or added-token content) equal s, or
 * -1; for looking up stop tokens such as "<|eot_id|>" or "<|im_end|>". */
int32_t llmc_tokenizer_find(const llmc_tokenizer_t *t, const char *s, size_t len);

#endif
