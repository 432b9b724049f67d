#pragma once
// A loaded network ready to run: the graph, its raw parameters, and the
// folded form (BatchNorm merged into the convolution) the engine computes with.
#include <memory>
#include <string>
#include <vector>

#include "dusk/graph.hpp"
#include "dusk/weights.hpp"

namespace dusk {

// A CHW float tensor (batch 1).
struct Tensor {
  Shape shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(Shape s, float fill = 0.0f) : shape(s), data(static_cast<std::size_t>(s.size()), fill) {}
};

enum class Backend {
  Auto,       // the fastest path this CPU supports
  Reference,  // the plain loops every fast kernel is tested against
};

struct NetworkOptions {
  int width = 0;   // 0: the cfg's [net] width
  int height = 0;  // 0: the cfg's [net] height
  int threads = 0;  // 0: all cores
  Backend backend = Backend::Auto;  // DUSK_BACKEND=ref forces Reference
};

// BatchNorm folding constant, as in Darknet's normalize and fuse steps.
inline constexpr double kBatchNormEpsilon = 1e-5;

class Network {
 public:
  // Reads cfg and weights, checks that they fit, folds BatchNorm.
  static Network load(const std::string& cfg_path, const std::string& weights_path,
                      const NetworkOptions& options = {});
  Network(Graph graph, Weights weights, const NetworkOptions& options = {});

  const Graph& graph() const;
  const Weights& raw_weights() const;  // as read from the file, BatchNorm unfolded
  Shape input_shape() const;
  Backend backend() const;  // the backend actually in use

  // Runs the network on `input` (shape input_shape()) and returns the outputs
  // of the layers listed in `keep` (every detection head when empty), in the
  // order given. Safe to call from several threads at once.
  std::vector<Tensor> forward(const Tensor& input, const std::vector<int>& keep = {}) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace dusk
