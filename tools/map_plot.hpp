#pragma once
// The precision-recall plot of `dusk map --plot`.
#include <string>
#include <vector>

#include "dusk/eval.hpp"

namespace dusk::cli {

// Every class's curve in its class colour (or those of the `top` classes
// with the most truths; 0: all), the mean interpolated curve over the
// classes with truths in black, a legend by AP; written whole as PNG.
void save_pr_plot(const MapResult& result, const std::vector<std::string>& names, const std::string& path,
                  std::size_t top = 0);

}  // namespace dusk::cli
