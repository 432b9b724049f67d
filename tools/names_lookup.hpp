#pragma once
// Class names for a model given without --names, found where Darknet users
// keep them.
#include <string>

namespace dusk::cli {

struct FoundNames {
  std::string path;   // the .names file; empty when none was found
  std::string where;  // how it was found, for the notice
};

// Looks beside the cfg, then beside the weights: a .names file with the
// same stem (yolo.cfg -> yolo.names), else the only .names file in that
// directory, else the names= of the only .data file there.
FoundNames find_names(const std::string& cfg_path, const std::string& weights_path);

}  // namespace dusk::cli
