#include "support/opencv_oracle.hpp"

#include <opencv2/dnn.hpp>

#include <algorithm>
#include <stdexcept>

namespace dusk::test {

namespace {

// OpenCV's Darknet importer names activation layers after Darknet's names.
const char* opencv_activation_prefix(Activation activation) {
  switch (activation) {
    case Activation::Leaky: return "leaky";
    case Activation::Logistic: return "logistic";
    case Activation::Mish: return "mish";
    case Activation::Swish: return "swish";
    case Activation::Relu: return "relu";
    case Activation::Tanh: return "tanh";
    default: return nullptr;
  }
}

}  // namespace

std::string opencv_output_name(const Graph& graph, int index) {
  const Layer& layer = graph.layers.at(static_cast<std::size_t>(index));
  if (layer.kind != LayerKind::Convolutional) {
    throw std::runtime_error("opencv_output_name handles convolutions only, not " + graph.describe(index));
  }
  const ConvSpec& spec = layer.as<ConvSpec>();
  if (const char* prefix = opencv_activation_prefix(spec.activation)) {
    return std::string(prefix) + "_" + std::to_string(index + 1);
  }
  return (spec.batch_normalize ? "bn_" : "conv_") + std::to_string(index);
}

std::map<int, std::vector<float>> opencv_layer_outputs(const std::string& cfg_path, const std::string& weights_path,
                                                       const Graph& graph, const std::vector<float>& input,
                                                       const std::vector<int>& layers) {
  cv::dnn::Net net = cv::dnn::readNetFromDarknet(cfg_path, weights_path);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  net.enableFusion(false);

  const int dims[] = {1, graph.input.c, graph.input.h, graph.input.w};
  cv::Mat blob(4, dims, CV_32F);
  std::copy(input.begin(), input.end(), blob.ptr<float>());
  net.setInput(blob);

  const std::vector<std::string> known = net.getLayerNames();
  std::vector<std::string> names;
  for (const int index : layers) {
    const std::string name = opencv_output_name(graph, index);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      throw std::runtime_error("OpenCV has no layer named " + name + " for " + graph.describe(index));
    }
    names.push_back(name);
  }
  std::vector<cv::Mat> outputs;
  net.forward(outputs, names);

  std::map<int, std::vector<float>> result;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const cv::Mat& mat = outputs[i];
    const float* data = mat.ptr<float>();
    result[layers[i]] = std::vector<float>(data, data + mat.total());
  }
  return result;
}

}  // namespace dusk::test
