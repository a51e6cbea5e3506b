#include "jsonl_writer.h"

#include <cerrno>
#include <cstring>

#include "schwarm/error.h"

namespace schwarm::cli {

void OrderedJsonlWriter::write_line(const nlohmann::ordered_json& record) {
  const std::string line =
      record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0)
    throw FileError(name_, std::string("write failed: ") + std::strerror(errno));
}

void OrderedJsonlWriter::put(int64_t seq, nlohmann::ordered_json record) {
  if (seq < next_ || pending_.count(seq))
    throw Error("result record " + std::to_string(seq) + " given twice");
  if (seq != next_) {
    pending_.emplace(seq, std::move(record));
    return;
  }
  write_line(record);
  ++next_;
  for (auto it = pending_.begin(); it != pending_.end() && it->first == next_;
       it = pending_.erase(it)) {
    write_line(it->second);
    ++next_;
  }
}

}  // namespace schwarm::cli
