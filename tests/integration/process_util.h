// Helpers for tests that start campd / campctl as processes: environment defaults, reading a log
// file, and running a shell command for its output and exit status.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace camp::testing {

inline std::string env_or(const char* name, const char* def) {
  const char* v = std::getenv(name);
  return v ? v : def;
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs a shell command; its stdout (with stderr too when merge_stderr) in *out. The exit
// status, or -1 when it did not exit normally.
inline int run(const std::string& cmd, std::string* out, bool merge_stderr = false) {
  FILE* f = popen((merge_stderr ? cmd + " 2>&1" : cmd).c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  const int st = pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace camp::testing
