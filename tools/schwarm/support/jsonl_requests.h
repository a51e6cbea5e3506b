#pragma once
// One line of a `schwarm generate --jsonl` batch file, parsed and checked. A line is a JSON object:
//   {"id": "a1",                      optional, a string or an integer; default: the line number
//    "prompt": "text"                 either a prompt (tokenized as is, BOS added) ...
//    "messages": [{"role": "user", "content": "..."}, ...]
//                                     ... or a conversation (rendered with the chat template)
//    "max_tokens": 64,                optional (alias "n_predict"), >= -1 (-1: until the model
//                                     ends or the context is full); default: -n
//    "temperature", "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n", "seed": optional,
//                                     the same ranges as the flags; default: the flags
//    "stop": "text" | ["a", "b"]}     optional stop strings (added to none from the command line)
// Anything else is an error naming the line: not JSON, not an object, invalid UTF-8, a duplicate
// or unknown key (a misspelt option must not be silently ignored), a wrong type or range, both or
// neither of prompt and messages. Blank lines are skipped (they still count for line numbers).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sampling_args.h"

namespace schwarm::cli {

struct RequestMessage {
  std::string role, content;
};

struct BatchRequest {
  nlohmann::json id;  // a string or an integer
  int64_t line = 0;   // 1-based line number in the input file
  std::optional<std::string> prompt;
  std::vector<RequestMessage> messages;  // used when prompt is unset
  std::optional<int64_t> max_tokens;
  SamplingArgs sampling;
  std::vector<std::string> stop;
};

struct ParsedLine {
  std::optional<BatchRequest> request;  // set when the line is valid
  nlohmann::json id;                    // the line's id when it could be read, else null
  std::string error;                    // set when the line is not valid (without the line number)
};

// `line` without its newline. A blank (whitespace-only) line gives neither request nor error.
ParsedLine parse_request_line(std::string_view line, int64_t line_no);

// Upper limits that keep a hostile file from exhausting memory or the stack.
inline constexpr size_t kMaxRequestLineBytes = 64u << 20;
inline constexpr int kMaxRequestJsonDepth = 32;

}  // namespace schwarm::cli
