/* llmc_chat.h: the chat templates of the common model families, rendered
 * without a Jinja engine.
 *
 * A checkpoint's tokenizer_config.json carries its chat template as Jinja
 * source. llmc does not interpret Jinja: it recognises which family a
 * template belongs to by its markers and renders that family's format,
 * written here from the templates themselves and checked against
 * Hugging Face's Jinja implementation (@huggingface/jinja) on real files
 * (tests/e2e/tokenize.sh, chat-conformance):
 *
 *   llama3    <|start_header_id|>role<|end_header_id|>\n\n{content|trim}<|eot_id|>
 *             (Llama 3 Instruct; the 3.1+ templates with a date header are
 *             refused until they can be checked)
 *   chatml    <|im_start|>role\n{content}<|im_end|>\n, with the template's
 *             default system message when it has one (Qwen2.5), and Qwen3's
 *             <think> handling of assistant turns after the last user turn
 *   gemma     <start_of_turn>user|model\n{content|trim}<end_of_turn>\n, the
 *             system message prefixed to the first user turn; roles must
 *             alternate
 *   deepseek  <｜User｜>{content}, <｜Assistant｜>{content}<｜end▁of▁sentence｜>,
 *             system messages first, joined by blank lines
 *
 * Messages are text only, with roles "system", "user" and "assistant"
 * (tools, images and other roles: LLMC_INVALID_ARGUMENT). A template of
 * another family is LLMC_UNIMPLEMENTED, naming the families supported. */
#ifndef LLMC_CHAT_H
#define LLMC_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "llmc_support.h"

typedef struct llmc_chat_template llmc_chat_template_t;

typedef struct {
  const char *role;
  const char *content; /* UTF-8, NUL-terminated */
} llmc_chat_message_t;

/* dir/tokenizer_config.json's chat_template (a string, or the "default" of a
 * list of named templates), with its bos_token. No file or no template:
 * LLMC_NOT_FOUND; malformed: LLMC_DATA_LOSS; a family llmc does not render:
 * LLMC_UNIMPLEMENTED. */
LLMC_MUST_USE llmc_status_t *llmc_chat_template_load_dir(const char *dir, llmc_chat_template_t **out);
void llmc_chat_template_destroy(llmc_chat_template_t *t);
/* "llama3", "chatml", "qwen3", "gemma" or "deepseek". */
const char *llmc_chat_template_family(const llmc_chat_template_t *t);

/* Appends the prompt the template makes of messages[0..n) to out, ending
 * with the assistant's turn opening when add_generation_prompt. The text
 * holds the template's special tokens (BOS included), so it is encoded
 * without add_special. */
LLMC_MUST_USE llmc_status_t *llmc_chat_render(const llmc_chat_template_t *t, const llmc_chat_message_t *messages,
                                              size_t n, bool add_generation_prompt, llmc_buf_t *out);

/* Messages from a JSON array of {"role": string, "content": string} (the
 * OpenAI shape; other members are ignored): *out (malloc'd, the caller
 * frees it) points into arr's strings. A content that is not a string (a
 * list of parts, null) or a string with a NUL: LLMC_INVALID_ARGUMENT
 * naming the message. */
LLMC_MUST_USE llmc_status_t *llmc_chat_messages_from_json(const json_t *arr, llmc_chat_message_t **out,
                                                          size_t *out_n);

#endif
