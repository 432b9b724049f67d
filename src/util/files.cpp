#include "dusk/files.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace fs = std::filesystem;

std::size_t file_size_or_throw(const std::string& path, const char* what) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error || !fs::exists(status)) {
    throw Error(cat("cannot open ", what, " file ", path, ": no such file; check the path"));
  }
  if (fs::is_directory(status)) {
    throw Error(cat("cannot read ", what, " file ", path, ": it is a directory; give a file"));
  }
  const auto size = fs::file_size(path, error);
  if (error) throw Error(cat("cannot read ", what, " file ", path, ": ", error.message()));
  return static_cast<std::size_t>(size);
}

std::vector<char> read_file(const std::string& path, std::size_t max_bytes, const char* what) {
  const std::size_t size = file_size_or_throw(path, what);
  if (size > max_bytes) {
    throw Error(cat(what, " file ", path, " is ", size, " bytes, more than the limit of ", max_bytes,
                    " bytes; check that it is the right file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(cat("cannot open ", what, " file ", path, ": ", std::strerror(errno)));
  std::vector<char> bytes(size);
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::size_t>(in.gcount()) != size) {
    throw Error(cat("cannot read ", what, " file ", path, ": it changed while being read"));
  }
  return bytes;
}

void write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device entropy;
  const fs::path temp = dir / cat(".", target.filename().string(), ".tmp-", ::getpid(), "-", entropy());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw Error(cat("cannot write ", path, ": ", std::strerror(errno),
                      "; check that the directory exists and is writable"));
    }
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw Error(cat("cannot write ", path, ": ", std::strerror(errno), " (disk full?)"));
    }
  }
  std::error_code error;
  fs::rename(temp, target, error);
  if (error) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw Error(cat("cannot write ", path, ": ", error.message()));
  }
}

bool has_image_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* known : {".jpg", ".jpeg", ".png", ".bmp", ".tga", ".gif", ".pnm", ".ppm", ".pgm", ".pbm", ".tif", ".tiff"}) {
    if (ext == known) return true;
  }
  return false;
}

std::string images_one_level_down(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code error;
  std::string best;
  std::size_t best_count = 0;
  for (fs::directory_iterator dir(directory, error), end; !error && dir != end; dir.increment(error)) {
    if (!dir->is_directory(error)) continue;
    std::size_t count = 0;
    std::error_code inner;
    for (fs::directory_iterator it(dir->path(), inner), stop; !inner && it != stop; it.increment(inner)) {
      if (has_image_extension(it->path().string())) ++count;
    }
    if (count > best_count) {
      best_count = count;
      best = dir->path().string();
    }
  }
  if (best_count == 0) return "";
  return cat("; its subdirectory ", best, " holds ", best_count, best_count == 1 ? " image" : " images", ": give that");
}

}  // namespace dusk
