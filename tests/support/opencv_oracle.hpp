#pragma once
// OpenCV DNN's Darknet importer as an independent oracle: runs a cfg/weights
// pair and returns the output of the OpenCV layer that ends a Darknet layer.
#include <map>
#include <string>
#include <vector>

#include "dusk/graph.hpp"

namespace dusk::test {

// The OpenCV layer name holding Darknet layer `index`'s final output:
// the activation "<act>_{N+1}", else "bn_N", else "conv_N" for convolutions.
std::string opencv_output_name(const Graph& graph, int index);

// Runs OpenCV DNN (fusion off, so intermediate layers are readable) on a CHW
// input of the graph's input shape and returns the named layers' outputs.
std::map<int, std::vector<float>> opencv_layer_outputs(const std::string& cfg_path, const std::string& weights_path,
                                                       const Graph& graph, const std::vector<float>& input,
                                                       const std::vector<int>& layers);

}  // namespace dusk::test
