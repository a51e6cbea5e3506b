// Session files: a conversation's token history (see session_file.h).
#include "api/session_file.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "schwarm/error.h"

namespace schwarm {
namespace {
constexpr const char* kFormat = "schwarm-session";
constexpr int kVersion = 1;
}  // namespace

void write_session_file(const std::string& path, const std::string& architecture, int64_t vocab_size,
                        std::span<const int32_t> tokens) {
  nlohmann::ordered_json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["architecture"] = architecture;
  j["vocab_size"] = vocab_size;
  j["tokens"] = std::vector<int32_t>(tokens.begin(), tokens.end());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw FileError(path, "cannot write session file");
    f << j.dump() << '\n';
    if (!f.flush()) throw FileError(path, "cannot write session file");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw FileError(path, "cannot write session file (rename failed)");
  }
}

std::vector<int32_t> read_session_file(const std::string& path, const std::string& architecture, int64_t vocab_size) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw FileError(path, "cannot read session file");
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("not a session file (invalid JSON: ") + e.what() + ")");
  }
  if (!j.is_object() || j.value("format", "") != kFormat) throw FileError(path, "not a schwarm session file");
  if (j.value("version", 0) != kVersion)
    throw FileError(path, "session file version " + j.value("version", nlohmann::json()).dump() + " is not supported");
  const std::string arch = j.value("architecture", "");
  const int64_t vocab = j.value("vocab_size", int64_t{-1});
  if (arch != architecture || vocab != vocab_size)
    throw FileError(path, "saved for " + arch + " with vocab " + std::to_string(vocab) + ", not for this model (" +
                              architecture + ", vocab " + std::to_string(vocab_size) + ")");
  const nlohmann::json& t = j["tokens"];
  if (!t.is_array()) throw FileError(path, "'tokens' must be an array of ids");
  std::vector<int32_t> ids;
  ids.reserve(t.size());
  for (const nlohmann::json& v : t) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= vocab_size)
      throw FileError(path, "token " + v.dump() + " is not an id in [0, " + std::to_string(vocab_size) + ")");
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return ids;
}

}  // namespace schwarm
