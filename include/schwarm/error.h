#pragma once
// Errors are exceptions carrying clear text: what file, what is wrong.
#include <stdexcept>
#include <string>

namespace schwarm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// An Error about one file: the message reads "PATH: PROBLEM".
class FileError : public Error {
 public:
  FileError(const std::string& path, const std::string& problem)
      : Error(path + ": " + problem), path_(path), problem_(problem) {}
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_, problem_;
};

}  // namespace schwarm
