#pragma once
// Runs the `schwarm` binary the tests were built with (SCHWARM_CLI_PATH), as a user would.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace schwarm_test {

struct RunResult {
  int exit_code = -1;  // -1 when the process did not exit normally
  std::string out;     // stdout, and stderr too when it was merged
};

// args is passed through the shell (quote paths). with_stderr: merge stderr into out; otherwise
// stderr is dropped.
inline RunResult run_cli(const std::string& args, bool with_stderr = true) {
  const std::string cmd = std::string(SCHWARM_CLI_PATH) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace schwarm_test
