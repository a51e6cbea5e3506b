#pragma once
// Reading the user's lines for `schwarm chat`. On a terminal (and when the build found libedit or
// GNU readline) lines come through the line editor, with history kept in a file; otherwise (stdin
// a pipe or a file, or no editor built in) plain line-by-line reading, no prompt printed, so a
// conversation can be scripted. A line ending in a backslash continues on the next line (the
// backslash becomes a newline), in both modes.
#include <memory>
#include <optional>
#include <string>

namespace schwarm::cli {

class LineInput {
 public:
  virtual ~LineInput() = default;
  // The next message, or nullopt at end of input (Ctrl-D). `prompt` is shown only when editing.
  std::optional<std::string> read(const std::string& prompt);
  virtual bool editing() const = 0;  // true: the line editor on a terminal

 protected:
  virtual std::optional<std::string> read_line(const std::string& prompt) = 0;  // without '\n'
  virtual void remember(const std::string& message) = 0;                        // history
};

// history_file: where the editor keeps its history ("" = in memory only). force_plain: never edit.
std::unique_ptr<LineInput> open_line_input(const std::string& history_file,
                                           bool force_plain = false);

// $SCHWARM_HISTORY, else $HOME/.schwarm_history, else "".
std::string default_history_file();

// Which editor the build has: "libedit", "readline" or "none".
const char* line_editor_name();

}  // namespace schwarm::cli
