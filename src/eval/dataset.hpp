#pragma once
// A labeled image set as Darknet describes it: a `.data` file naming the
// class count, the image list and the names file; label files found from the
// image paths by Darknet's rules.
#include <optional>
#include <string>
#include <vector>

#include "dusk/eval.hpp"

namespace dusk {

struct DataFile {
  std::string path;
  std::optional<int> classes;
  std::string valid;  // valid=, else train=; empty when neither is there
  std::string names;
};

// Reads key=value lines; `#` and `;` start comments. Unknown keys (backup=,
// eval=, ...) are accepted. Errors name the file and line.
DataFile read_data_file(const std::string& path);

// The image paths of a list file (one per line, blank lines skipped) or the
// images directly in a directory, sorted.
std::vector<std::string> read_image_list(const std::string& path);

// Where Darknet looks for an image's labels: /images/ (and the COCO year
// folders, /JPEGImages/) become /labels/, the image extension becomes .txt.
// The second candidate is the same name beside the image (AlexeyAB's layout).
std::vector<std::string> label_path_candidates(const std::string& image_path);

// The truths of one label file: `class cx cy w h` per line, relative
// coordinates. A line with another field count, a number that does not
// parse, or a class outside [0, classes) is an error naming file:line.
std::vector<Truth> read_truths(const std::string& label_path, int classes);

}  // namespace dusk
