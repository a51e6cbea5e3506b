#include "interrupt.h"

namespace schwarm::cli {
namespace {

// Lock-free, so async-signal-safe to store from the handler.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_sigint(int) { g_interrupted.store(true, std::memory_order_relaxed); }

}  // namespace

InterruptScope::InterruptScope() {
  g_interrupted.store(false);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a write to a pipe in flight is not cut short
  sigaction(SIGINT, &sa, &old_);
}

InterruptScope::~InterruptScope() { sigaction(SIGINT, &old_, nullptr); }

const std::atomic<bool>& interrupt_flag() { return g_interrupted; }
bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }
void clear_interrupted() { g_interrupted.store(false); }

}  // namespace schwarm::cli
