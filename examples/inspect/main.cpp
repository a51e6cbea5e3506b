// Prints a checkpoint's architecture and parameter counts through the public API.
#include <cstdio>
#include <exception>

#include "schwarm/error.h"
#include "schwarm/inspect.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CHECKPOINT\n", argv[0]);
    return 2;
  }
  try {
    const schwarm::CheckpointSummary s = schwarm::inspect_checkpoint(argv[1]);
    std::printf("%s: %s, %lld parameters", s.path.c_str(), s.architecture.c_str(),
                static_cast<long long>(s.total_params));
    if (s.active_params) std::printf(", %lld active per token", static_cast<long long>(*s.active_params));
    std::printf("\n");
  } catch (const schwarm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
