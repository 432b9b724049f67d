#include "support/fixtures.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace dusk::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device entropy;
  path_ = fs::temp_directory_path() / ("dusk-test-" + std::to_string(::getpid()) + "-" + std::to_string(entropy()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  return write_bytes(name, std::vector<char>(content.begin(), content.end()));
}

std::string TempDir::write_bytes(const std::string& name, const std::vector<char>& bytes) const {
  const std::string path = file(name);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write test file " + path);
  return path;
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read test file " + path);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

std::vector<float> read_floats(const std::string& path) {
  const std::vector<char> bytes = read_bytes(path);
  std::vector<float> floats(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(floats.size() * sizeof(float)),
            reinterpret_cast<char*>(floats.data()));
  return floats;
}

CommandResult run_command(const std::string& command) {
  TempDir dir;
  const std::string out = dir.file("stdout");
  const std::string err = dir.file("stderr");
  const int status = std::system((command + " >" + out + " 2>" + err).c_str());
  CommandResult result;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  const auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

}  // namespace dusk::test
