#pragma once
// BatchNorm statistics re-estimated on a user's own unlabeled images (AdaBN,
// Li et al. 2016): the network runs with every BatchNorm in training mode and
// the running means and variances are replaced by those of the new images.
//
// Training mode, as PyTorch's nn.BatchNorm2d computes it: each batch is
// normalized by its own per-channel mean and biased variance (divided by n,
// n = images x height x width); what is averaged into the stored variance is
// the unbiased one (divided by n - 1). The file's variance is the one
// inference divides by, and Darknet's training also stores the unbiased
// estimate (it normalizes with it too, a factor n / (n - 1) from PyTorch).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dusk/image.hpp"
#include "dusk/network.hpp"

namespace dusk {

struct AdaptBnOptions {
  int batch = 8;  // images normalized together
  // nullopt: the stored statistics become the plain average over all
  // batches (PyTorch's momentum=None), the file's old ones forgotten.
  // A value m in (0, 1]: running = (1 - m) * running + m * batch_statistic
  // per batch, starting from the file's (PyTorch's convention; Darknet's
  // training uses m = 0.01).
  std::optional<double> momentum;
  bool letterbox = false;  // images fitted to the network as dusk detect does
  ResizeMethod resize = ResizeMethod::Darknet;
  int threads = 0;  // 0: default_threads()
  std::int64_t max_image_pixels = kMaxImagePixels;
  std::int64_t max_activation_bytes = kDefaultMaxActivationBytes;  // for a whole batch
};

// Accumulates training-mode statistics batch by batch.
class BatchNormAdapter {
 public:
  // Throws dusk::Error when the graph has no BatchNorm (nothing to adapt),
  // when a batch would not fit max_activation_bytes, or on bad options.
  BatchNormAdapter(Graph graph, Weights weights, const AdaptBnOptions& options);

  // Runs one batch of inputs (each of shape graph().input) and folds its
  // statistics into the running ones. A batch too small to have two values
  // per channel in some BatchNorm is refused.
  void add_batch(const std::vector<Tensor>& inputs);

  const Graph& graph() const { return graph_; }
  // The file's parameters with the BatchNorm means and variances updated
  // (nothing else differs).
  const Weights& weights() const { return weights_; }
  std::vector<int> batchnorm_layers() const { return batchnorm_layers_; }
  int batches() const { return batches_; }
  std::int64_t images() const { return images_; }
  // The fewest inputs a batch needs: 2 unless every BatchNorm sees more
  // than one value per channel per image.
  int smallest_batch() const;

 private:
  Graph graph_;
  Weights weights_;
  AdaptBnOptions options_;
  std::vector<int> batchnorm_layers_;
  // Running statistics in double, per layer (empty for layers without BN).
  std::vector<std::vector<double>> mean_;
  std::vector<std::vector<double>> variance_;
  int batches_ = 0;
  std::int64_t images_ = 0;
};

struct AdaptBnResult {
  std::int64_t images = 0;  // images used
  int batches = 0;
  std::vector<int> layers;  // layers whose statistics changed
  // Images that could not be used, with why (one line each).
  std::vector<std::pair<std::string, std::string>> skipped;
  std::uint64_t seen = 0;   // the header's images-seen count as written
};

// Called after each batch with the images read so far (used or skipped) and
// the total.
using AdaptBnProgress = std::function<void(std::int64_t done, std::int64_t total)>;

// Reads cfg and weights, runs every image (in the order given, batches of
// options.batch; images that do not decode are skipped and listed) and
// writes `out_path`: the input weights file byte for byte, except each
// BatchNorm's mean and variance and the header's `seen` (increased by the
// images used). Written whole or not at all; an output naming the cfg, the
// weights or an image is refused.
AdaptBnResult adapt_batchnorm(const std::string& cfg_path, const std::string& weights_path,
                              const std::vector<std::string>& images, const std::string& out_path,
                              const AdaptBnOptions& options = {}, const AdaptBnProgress& progress = {});

}  // namespace dusk
