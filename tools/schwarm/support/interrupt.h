#pragma once
// Ctrl-C while an answer is being generated stops that answer, not the program: while an
// InterruptScope is alive, SIGINT only sets a flag that the generation callback polls
// (interrupted()). Outside a scope SIGINT has its default effect (or the line editor's).
#include <signal.h>

#include <atomic>

namespace schwarm::cli {

class InterruptScope {
 public:
  InterruptScope();   // installs the flag-setting SIGINT handler and clears the flag
  ~InterruptScope();  // restores the previous handler
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  struct sigaction old_ {};
};

// The flag itself, for schwarm::GenerateOptions::stop_flag (read before every token).
const std::atomic<bool>& interrupt_flag();
bool interrupted();        // SIGINT arrived since the innermost scope began (or since clear)
void clear_interrupted();  // forget it, e.g. before the next answer

}  // namespace schwarm::cli
