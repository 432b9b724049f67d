#pragma once
// Temporary files and directories for tests, removed when they go out of scope.
#include <filesystem>
#include <string>
#include <vector>

namespace dusk::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `content` to a file in this directory and returns its path.
  std::string write(const std::string& name, const std::string& content) const;
  std::string write_bytes(const std::string& name, const std::vector<char>& bytes) const;

 private:
  std::filesystem::path path_;
};

std::vector<char> read_bytes(const std::string& path);
std::vector<float> read_floats(const std::string& path);

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};
// Runs `command` through the shell, capturing stdout and stderr.
CommandResult run_command(const std::string& command);

}  // namespace dusk::test
