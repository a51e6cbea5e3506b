#include "line_input.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#if defined(SCHWARM_HAVE_LIBEDIT)
#include <editline/readline.h>
#elif defined(SCHWARM_HAVE_READLINE)
#include <readline/history.h>
#include <readline/readline.h>
#endif

namespace schwarm::cli {

std::optional<std::string> LineInput::read(const std::string& prompt) {
  std::optional<std::string> line = read_line(prompt);
  if (!line) return std::nullopt;
  std::string message;
  // "text\" + next line: a multi-line message. The continuation prompt is "... ".
  while (!line->empty() && line->back() == '\\') {
    line->pop_back();
    message += *line + "\n";
    line = read_line("... ");
    if (!line) break;
  }
  if (line) message += *line;
  if (!message.empty()) remember(message);
  return message;
}

namespace {

class PlainInput final : public LineInput {
 public:
  bool editing() const override { return false; }

 protected:
  std::optional<std::string> read_line(const std::string&) override {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF files
    return line;
  }
  void remember(const std::string&) override {}
};

#if defined(SCHWARM_HAVE_LIBEDIT) || defined(SCHWARM_HAVE_READLINE)
class EditorInput final : public LineInput {
 public:
  explicit EditorInput(std::string history_file) : history_file_(std::move(history_file)) {
    using_history();
    if (!history_file_.empty()) read_history(history_file_.c_str());  // absent on first use: fine
  }
  ~EditorInput() override {
    if (!history_file_.empty()) history_truncate_file(history_file_.c_str(), 1000);
  }
  bool editing() const override { return true; }

 protected:
  std::optional<std::string> read_line(const std::string& prompt) override {
    char* p = readline(prompt.c_str());
    if (!p) return std::nullopt;
    std::string line(p);
    std::free(p);
    return line;
  }
  // Written at once, so the history survives a Ctrl-C at the prompt (which ends the program).
  void remember(const std::string& message) override {
    add_history(message.c_str());
    if (!history_file_.empty()) write_history(history_file_.c_str());
  }

 private:
  std::string history_file_;
};
#endif

}  // namespace

std::unique_ptr<LineInput> open_line_input(const std::string& history_file, bool force_plain) {
#if defined(SCHWARM_HAVE_LIBEDIT) || defined(SCHWARM_HAVE_READLINE)
  if (!force_plain && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
    return std::make_unique<EditorInput>(history_file);
#else
  (void)history_file;
  (void)force_plain;
#endif
  return std::make_unique<PlainInput>();
}

std::string default_history_file() {
  if (const char* h = std::getenv("SCHWARM_HISTORY")) return h;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.schwarm_history";
  return "";
}

const char* line_editor_name() {
#if defined(SCHWARM_HAVE_LIBEDIT)
  return "libedit";
#elif defined(SCHWARM_HAVE_READLINE)
  return "readline";
#else
  return "none";
#endif
}

}  // namespace schwarm::cli
