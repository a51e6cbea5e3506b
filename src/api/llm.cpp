// schwarm::Llm: loading a checkpoint (weights paged in with progress, model bound, tokenizer and
// chat template found) and the text functions.
#include <filesystem>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "api/llm_impl.h"
#include "core/mapped_file.h"
#include "runtime/kv_cache.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

constexpr int64_t kDefaultContext = 4096;

// Reads one byte per page of every tensor so the weights are in memory before the first token
// (not paged in during it), reporting progress every 64 MiB. Tensors in `skip` (the backend's own
// copies, prepare_weights) are left alone: `done` of the checkpoint's `total` bytes are counted already.
void page_in(const Checkpoint& cp, const LoadProgressFn& progress, const std::unordered_set<const uint8_t*>& skip,
             uint64_t done, uint64_t total) {
  uint64_t reported = done;
  volatile uint8_t sink = 0;
  for (const TensorView& t : cp.tensors()) {
    if (skip.count(t.data.data())) continue;
    for (size_t i = 0; i < t.data.size(); i += 4096) sink = sink ^ t.data[i];
    done += t.data.size();
    if (progress && done - reported >= (64u << 20)) {
      progress(done, total);
      reported = done;
    }
  }
  if (progress) progress(total, total);
}

std::optional<Tokenizer> find_tokenizer(const Checkpoint& cp) {
  if (const GgufMetadata* md = cp.gguf_metadata()) {
    if (find_metadata(*md, "tokenizer.ggml.model")) return Tokenizer::from_gguf(*md, cp.path());
    return std::nullopt;
  }
  if (!cp.hf_dir().empty() && std::filesystem::exists(std::filesystem::path(cp.hf_dir()) / "tokenizer.json"))
    return Tokenizer::from_hf_dir(cp.hf_dir());
  return std::nullopt;
}

void find_template(Llm::Impl& m) {
  const std::string where = m.checkpoint.gguf_metadata() || m.checkpoint.hf_dir().empty() ? m.path : m.checkpoint.hf_dir();
  try {
    m.chat_template_source = find_chat_template(where);
    m.chat_template = ChatTemplate::parse(m.chat_template_source.source, m.chat_template_source.origin);
  } catch (const Error& e) {
    m.chat_template_error = e.what();
  }
}

std::unique_ptr<Backend> make_backend(const LoadOptions& o) {
  if (o.threads < 0) throw Error("load: threads must be >= 0, got " + std::to_string(o.threads));
  std::unique_ptr<Backend> be;
  try {
    be = make_backend_by_name(o.backend, o.threads);
  } catch (const Error& e) {
    throw Error(std::string("load: ") + e.what());
  }
  be->set_quantized_activations(o.quantize_activations);
  return be;
}

}  // namespace

const char* version() { return SCHWARM_VERSION; }

const Tokenizer& Llm::Impl::need_tokenizer(const char* what) const {
  if (!tokenizer) throw Error(std::string(what) + ": " + path + " has no tokenizer");
  return *tokenizer;
}

Llm::Llm(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Llm Llm::load(const std::string& path, const LoadOptions& options) {
  if (options.context_size < 0)
    throw Error("load: context_size must be >= 0, got " + std::to_string(options.context_size));
  auto m = std::make_shared<Impl>();
  m->path = path;
  m->backend_name = options.backend;
  m->checkpoint = Checkpoint::open(path);
  m->backend = make_backend(options);
  for (const std::string& f : m->checkpoint.files()) m->file_size += std::filesystem::file_size(f);
  // A GPU backend uploads the weights (reading them is the paging in); host backends page them in,
  // except the weights the backend copied into its own layout (prepare_weights), whose mapped
  // pages are dropped instead (no second copy in memory).
  const bool uploaded = m->backend->upload_weights(m->checkpoint.tensors(), options.on_progress);
  uint64_t total = 0, done = 0;
  for (const TensorView& t : m->checkpoint.tensors()) total += t.data.size();
  const LoadProgressFn& progress = options.on_progress;
  if (!uploaded && progress) progress(0, total);
  std::unordered_set<const uint8_t*> copied;
  m->backend->prepare_weights(m->checkpoint.tensors(), [&](const TensorView& t) {
    copied.insert(t.data.data());
    MappedFile::release_pages(t.data);
    done += t.data.size();
    if (!uploaded && progress) progress(done, total);
  });
  if (!uploaded) page_in(m->checkpoint, progress, copied, done, total);
  m->model = make_model(m->checkpoint);
  m->tokenizer = find_tokenizer(m->checkpoint);
  find_template(*m);
  const int64_t trained = m->model->config().max_position_embeddings;
  m->context_length = options.context_size > 0 ? options.context_size
                      : trained > 0            ? std::min(trained, kDefaultContext)
                                               : kDefaultContext;
  return Llm(std::move(m));
}

std::optional<Llm> Llm::try_load(const std::string& path, const LoadOptions& options, std::string* error) noexcept {
  try {
    return load(path, options);
  } catch (const std::exception& e) {
    if (error) *error = e.what();
  } catch (...) {
    if (error) *error = "load: unknown error";
  }
  return std::nullopt;
}

const std::string& Llm::path() const { return impl_->path; }
const std::string& Llm::backend() const { return impl_->backend_name; }
std::string Llm::architecture() const { return impl_->model->config().architecture; }
std::string Llm::family() const { return arch_family_name(impl_->model->config().family); }
int64_t Llm::n_params() const { return count_params(impl_->model->config()).total; }
int64_t Llm::n_active_params() const { return count_params(impl_->model->config()).active; }
uint64_t Llm::file_size() const { return impl_->file_size; }
int32_t Llm::vocab_size() const { return static_cast<int32_t>(impl_->model->config().vocab_size); }
int64_t Llm::context_length() const { return impl_->context_length; }
int64_t Llm::trained_context_length() const { return impl_->model->config().max_position_embeddings; }
int64_t Llm::kv_bytes_per_token() const { return kv_cache_bytes_per_token(impl_->model->config()); }

bool Llm::has_tokenizer() const { return impl_->tokenizer.has_value(); }
bool Llm::has_chat_template() const { return impl_->chat_template.has_value(); }
int32_t Llm::bos_id() const { return impl_->tokenizer ? impl_->tokenizer->bos_id() : -1; }
int32_t Llm::eos_id() const { return impl_->tokenizer ? impl_->tokenizer->eos_id() : -1; }
bool Llm::is_end_of_generation(int32_t id) const {
  return impl_->tokenizer && id >= 0 && id < impl_->tokenizer->n_vocab() && impl_->tokenizer->is_end_of_generation(id);
}

std::vector<int32_t> Llm::tokenize(std::string_view text, bool add_special, bool parse_special) const {
  return impl_->need_tokenizer("tokenize").encode(text, add_special, parse_special);
}

std::string Llm::detokenize(std::span<const int32_t> ids, bool skip_special) const {
  return impl_->need_tokenizer("detokenize").decode(ids, skip_special);
}

std::string Llm::token_to_piece(int32_t id) const { return impl_->need_tokenizer("token_to_piece").token_to_piece(id); }

std::string Llm::apply_chat_template(std::span<const ChatMessage> messages, bool add_generation_prompt) const {
  if (!impl_->chat_template)
    throw Error("apply_chat_template: " + impl_->path + " has no usable chat template (" + impl_->chat_template_error + ")");
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) context["messages"].push_back({{"role", m.role}, {"content", m.content}});
  context["add_generation_prompt"] = add_generation_prompt;
  fill_special_tokens(context, impl_->chat_template_source);
  return impl_->chat_template->render(context);
}

std::vector<int32_t> Llm::tokenize_chat(std::span<const ChatMessage> messages, bool add_generation_prompt) const {
  return tokenize(apply_chat_template(messages, add_generation_prompt), false, true);
}

}  // namespace schwarm
