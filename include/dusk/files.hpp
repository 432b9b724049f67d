#pragma once
// Whole-file reads with a size limit, and writes that appear whole or not at all.
#include <cstddef>
#include <string>
#include <vector>

namespace dusk {

// Reads a file into memory. `what` names it in messages ("cfg", "weights").
// Throws dusk::Error if it cannot be read or is larger than max_bytes.
std::vector<char> read_file(const std::string& path, std::size_t max_bytes, const char* what);
std::size_t file_size_or_throw(const std::string& path, const char* what);

// True for the image formats dusk decodes (and TIFF, which lists name),
// by extension, any case: what a directory of images expands to.
bool has_image_extension(const std::string& path);

// For a directory that holds no image files: "; its subdirectory D holds N
// images: give that" when one level down does (coco128/images holding
// val2017/), else "".
std::string images_one_level_down(const std::string& directory);

// Writes to a temporary file beside `path`, then renames it over `path`.
void write_file_atomic(const std::string& path, const void* data, std::size_t size);

}  // namespace dusk
