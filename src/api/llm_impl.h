#pragma once
// What a loaded schwarm::Llm holds: the checkpoint mapping, the bound model, its backend, the
// tokenizer and chat template. Shared (shared_ptr) by the Llm, its copies, Sessions and Batches.
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "backend/backend.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "schwarm/schwarm.hpp"
#include "text/jinja/chat_template.h"
#include "text/tokenizer.h"

namespace schwarm {

struct Llm::Impl {
  std::string path, backend_name;
  Checkpoint checkpoint;
  std::unique_ptr<Model> model;
  std::unique_ptr<Backend> backend;
  std::optional<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;
  CheckpointChatTemplate chat_template_source;  // special tokens for rendering
  std::string chat_template_error;              // why there is none ("" when there is one)
  int64_t context_length = 0;
  uint64_t file_size = 0;
  // Forward passes of all Sessions and Batches of this model take turns (the backend's threads and
  // scratch are one per model). Held only around Engine::step(), never around user callbacks.
  std::mutex compute;

  const Tokenizer& need_tokenizer(const char* what) const;
};

}  // namespace schwarm
