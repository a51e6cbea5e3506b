#pragma once
// Writes the result records of a batch as JSON lines in request order while results arrive in
// completion order: record k is written (and flushed) as soon as records 0..k-1 are written, and
// held in memory only until then. So the file always holds a prefix of the final output and an
// interrupted run loses nothing already written. Strings that are not valid UTF-8 are written
// with U+FFFD in place of the bad bytes.
#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace schwarm::cli {

class OrderedJsonlWriter {
 public:
  // `out` stays owned by the caller; `name` is used in write errors.
  OrderedJsonlWriter(std::FILE* out, std::string name) : out_(out), name_(std::move(name)) {}

  // Record number `seq` (0, 1, 2, ... each given once). Throws Error when a write fails.
  void put(int64_t seq, nlohmann::ordered_json record);
  int64_t written() const { return next_; }           // records written so far
  size_t pending() const { return pending_.size(); }  // done but waiting for an earlier one

 private:
  void write_line(const nlohmann::ordered_json& record);
  std::FILE* out_;
  std::string name_;
  int64_t next_ = 0;
  std::map<int64_t, nlohmann::ordered_json> pending_;
};

}  // namespace schwarm::cli
