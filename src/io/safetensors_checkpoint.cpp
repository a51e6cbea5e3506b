// Checkpoints made of one or more .safetensors files: a single file, a directory with a
// model.safetensors.index.json naming the shard of every tensor, or a directory of *.safetensors.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "io/safetensors_file.h"
#include "io/safetensors_json.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using safetensors_detail::printable;

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr uintmax_t kMaxIndexBytes = 256ull << 20;

std::string quote_name(std::string_view s) {
  std::string out(1, '"');
  out += printable(s);
  out += '"';
  return out;
}

// A shard name from the index must name a file inside the checkpoint directory.
void check_shard_name(const std::string& index_path, const std::string& tensor,
                      const std::string& shard) {
  const std::string where = "weight_map entry " + quote_name(tensor) + " -> " + quote_name(shard);
  if (shard.empty()) throw FileError(index_path, where + ": empty shard file name");
  if (shard.find('\0') != std::string::npos || shard.find('\\') != std::string::npos)
    throw FileError(index_path, where + ": shard file name has a NUL or backslash");
  const fs::path p(shard);
  if (p.is_absolute() || p.has_root_name() || p.has_root_directory())
    throw FileError(index_path, where + ": shard path is absolute; it must stay inside the "
                                        "checkpoint directory");
  for (const fs::path& part : p)
    if (part == "..")
      throw FileError(index_path, where + ": shard path escapes the checkpoint directory (\"..\")");
}

std::string read_small_file(const std::string& path) {
  MappedFile f(path);
  if (f.size() > kMaxIndexBytes)
    throw FileError(path, "index file is implausibly large (" + std::to_string(f.size()) +
                              " bytes)");
  if (f.size() == 0) return {};  // an empty mapping has no data pointer
  return std::string(reinterpret_cast<const char*>(f.data()), f.size());
}

}  // namespace

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& path) {
  SafetensorsCheckpoint ck;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    throw FileError(path, "no such file or directory" + (ec ? " (" + ec.message() + ")" : ""));

  // tensor name -> shard it must be in (only with an index)
  std::map<std::string, std::string> expected;
  std::string index_path;
  std::vector<std::string> shard_paths;

  if (fs::is_directory(st)) {
    const fs::path dir(path);
    index_path = (dir / kIndexName).string();
    if (fs::exists(index_path, ec)) {
      const std::string text = read_small_file(index_path);
      const json index = safetensors_detail::parse_strict_json(text, index_path, "index", 0, 8);
      if (!index.is_object()) throw FileError(index_path, "index is not a JSON object");
      if (!index.contains("weight_map") || !index["weight_map"].is_object())
        throw FileError(index_path, "index has no \"weight_map\" object");
      std::set<std::string> shard_names;
      for (const auto& [tensor, shard] : index["weight_map"].items()) {
        if (!shard.is_string())
          throw FileError(index_path,
                          "weight_map entry " + quote_name(tensor) + " is not a file name string");
        const std::string name = shard.get<std::string>();
        check_shard_name(index_path, tensor, name);
        const std::string shard_path = (dir / name).string();
        expected.emplace(tensor, shard_path);
        shard_names.insert(name);
      }
      for (const std::string& name : shard_names) shard_paths.push_back((dir / name).string());
      if (shard_paths.empty()) throw FileError(index_path, "weight_map lists no tensors");
      for (const std::string& s : shard_paths)
        if (!fs::is_regular_file(s, ec))
          throw FileError(index_path, "shard " + quote_name(s) + " listed in weight_map is missing");
    } else {
      for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".safetensors" && e.is_regular_file())
          shard_paths.push_back(e.path().string());
      if (ec) throw FileError(path, "cannot list directory: " + ec.message());
      std::sort(shard_paths.begin(), shard_paths.end());
      if (shard_paths.empty())
        throw FileError(path, "directory holds no *.safetensors files and no " +
                                  std::string(kIndexName));
    }
  } else {
    shard_paths.push_back(path);
  }

  std::map<std::string, std::string> owner;  // tensor name -> file, to catch duplicates
  for (const std::string& file : shard_paths) {
    auto mapping = std::make_shared<MappedFile>(file);
    SafetensorsContents contents = parse_safetensors(mapping->bytes(), file);
    ck.mappings_.push_back(std::move(mapping));
    ck.files_.push_back(file);
    for (TensorView& t : contents.tensors) {
      const auto [it, inserted] = owner.emplace(t.name, file);
      if (!inserted)
        throw FileError(file, "tensor " + quote_name(t.name) + " is also in " + it->second);
      ck.tensors_.push_back(std::move(t));
    }
  }
  for (const auto& [tensor, shard] : expected) {
    const auto it = owner.find(tensor);
    if (it == owner.end() || it->second != shard)
      throw FileError(index_path, "tensor " + quote_name(tensor) + " listed in weight_map is missing "
                                  "from its shard " + shard +
                                  (it == owner.end() ? "" : " (it is in " + it->second + ")"));
  }
  std::sort(ck.tensors_.begin(), ck.tensors_.end(),
            [](const TensorView& a, const TensorView& b) { return a.name < b.name; });
  return ck;
}

const TensorView* SafetensorsCheckpoint::find_tensor(std::string_view name) const {
  const auto it = std::lower_bound(
      tensors_.begin(), tensors_.end(), name,
      [](const TensorView& t, std::string_view n) { return std::string_view(t.name) < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

}  // namespace schwarm
