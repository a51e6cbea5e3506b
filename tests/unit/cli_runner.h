#pragma once
// Runs the `schwarm` binary the tests were built with (SCHWARM_CLI_PATH), as a user would.
#include <sys/wait.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace schwarm_test {

struct RunResult {
  int exit_code = -1;  // -1 when the process did not exit normally
  std::string out;     // stdout, and stderr too when it was merged
};

// Runs `cmd` through the shell; its stdout.
// run_cli: args is passed through the shell (quote paths). with_stderr: merge stderr into out; otherwise
// stderr is dropped.
inline RunResult run_shell(const std::string& cmd) {
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

inline RunResult run_cli(const std::string& args, bool with_stderr = true) {
  return run_shell(std::string(SCHWARM_CLI_PATH) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

struct SplitResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// A scratch directory for one test, removed with the object.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "schwarm-cli-XXXXXX").string();
    path = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs the binary with `stdin_text` as its standard input, stdout and stderr kept apart.
inline SplitResult run_cli_split(const std::string& args, const std::string& stdin_text = "") {
  TempDir dir;
  const std::string in = dir.file("stdin"), err = dir.file("stderr");
  std::ofstream(in, std::ios::binary) << stdin_text;
  const RunResult r = run_shell(std::string(SCHWARM_CLI_PATH) + " " + args + " <'" + in + "' 2>'" + err + "'");
  return {r.exit_code, r.out, slurp(err)};
}

}  // namespace schwarm_test
