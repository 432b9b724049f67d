// A forward pass with every BatchNorm in training mode, one batch at a time,
// on the reference kernels: the convolution runs without its BatchNorm, the
// batch's own statistics normalize the result, and they are averaged into
// the running ones.
#include <algorithm>
#include <cmath>

#include "dusk/adapt_bn.hpp"
#include "dusk/error.hpp"
#include "engine/activations.hpp"
#include "engine/fold.hpp"
#include "engine/kernels/ref/ref_kernels.hpp"
#include "engine/run_layer.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

bool has_batchnorm(const Layer& layer) {
  if (layer.kind == LayerKind::Convolutional) return layer.as<ConvSpec>().batch_normalize;
  if (layer.kind == LayerKind::Connected) return layer.as<ConnectedSpec>().batch_normalize;
  return layer.kind == LayerKind::Batchnorm;
}

// The activation a BatchNorm layer applies after normalizing.
Activation activation_after(const Layer& layer) {
  if (layer.kind == LayerKind::Convolutional) return layer.as<ConvSpec>().activation;
  if (layer.kind == LayerKind::Connected) return layer.as<ConnectedSpec>().activation;
  return Activation::Linear;
}

// Values per channel per image that a BatchNorm layer normalizes over.
std::int64_t spatial_size(const Layer& layer) { return std::int64_t{layer.out.h} * layer.out.w; }

// The layer's output before BatchNorm: the convolution or matrix product
// without bias, or a [batchnorm] layer's input as is.
void pre_normalization(const Layer& layer, const LayerParams& params, const float* in, const Shape& in_shape,
                       float* out, int threads) {
  const std::vector<float> zeros(static_cast<std::size_t>(layer.out.c), 0.0f);
  if (layer.kind == LayerKind::Convolutional) {
    ref::conv2d(in, in_shape, params.weights.data(), zeros.data(), layer.as<ConvSpec>(), out, layer.out, threads);
  } else if (layer.kind == LayerKind::Connected) {
    ref::connected(in, in_shape.size(), params.weights.data(), zeros.data(), layer.as<ConnectedSpec>().outputs, out,
                   threads);
  } else {
    std::copy(in, in + layer.out.size(), out);
  }
}

}  // namespace

BatchNormAdapter::BatchNormAdapter(Graph graph, Weights weights, const AdaptBnOptions& options)
    : graph_(std::move(graph)), weights_(std::move(weights)), options_(options) {
  check_weights_fit(graph_, weights_);
  if (options_.batch < 1) throw Error(cat("batch ", options_.batch, ": use 1 or more images per batch"));
  if (options_.momentum && !(*options_.momentum > 0 && *options_.momentum <= 1)) {
    throw Error(cat("momentum ", *options_.momentum,
                    ": use a value in (0, 1] (PyTorch's convention: the new batch's weight), or none for the "
                    "cumulative average"));
  }
  if (options_.threads <= 0) options_.threads = default_threads();
  mean_.resize(graph_.layers.size());
  variance_.resize(graph_.layers.size());
  for (const Layer& layer : graph_.layers) {
    if (!has_batchnorm(layer)) continue;
    batchnorm_layers_.push_back(layer.index);
    const LayerParams& params = weights_.layers[static_cast<std::size_t>(layer.index)];
    mean_[static_cast<std::size_t>(layer.index)].assign(params.mean.begin(), params.mean.end());
    variance_[static_cast<std::size_t>(layer.index)].assign(params.variance.begin(), params.variance.end());
  }
  if (batchnorm_layers_.empty()) {
    throw Error(cat(graph_.source, " has no BatchNorm (no batch_normalize=1 and no [batchnorm] layer): there are no "
                    "statistics to adapt"));
  }
  const std::int64_t batch_bytes = graph_.peak_activation_bytes() * options_.batch;
  if (batch_bytes > options_.max_activation_bytes) {
    throw Error(cat("a batch of ", options_.batch, " images needs ", batch_bytes >> 20, " MiB of layer outputs, above the ",
                    options_.max_activation_bytes >> 20, " MiB limit; use a smaller batch"));
  }
}

int BatchNormAdapter::smallest_batch() const {
  for (const int index : batchnorm_layers_) {
    if (spatial_size(graph_.layers[static_cast<std::size_t>(index)]) < 2) return 2;
  }
  return 1;
}

void BatchNormAdapter::add_batch(const std::vector<Tensor>& inputs) {
  const std::size_t count = inputs.size();
  if (static_cast<int>(count) < smallest_batch()) {
    throw Error(cat("a batch of ", count, " image(s) has one value per channel in a BatchNorm whose output is 1x1; "
                    "such a batch needs ", smallest_batch(), " images or more"));
  }
  for (const Tensor& input : inputs) {
    if (!(input.shape == graph_.input)) {
      throw Error(cat("input of shape ", to_string(input.shape), " but the network takes ", to_string(graph_.input)));
    }
  }
  const int last_bn = batchnorm_layers_.back();
  const std::vector<int> last_reader = graph_.last_readers();
  const int threads = options_.threads;
  ++batches_;
  images_ += static_cast<std::int64_t>(count);

  // outputs[layer][image], each freed after its last reader.
  std::vector<std::vector<std::vector<float>>> outputs(graph_.layers.size());
  for (const Layer& layer : graph_.layers) {
    if (layer.index > last_bn) break;
    const auto slot = static_cast<std::size_t>(layer.index);
    const LayerParams& params = weights_.layers[slot];
    std::vector<std::vector<float>>& out = outputs[slot];
    out.assign(count, std::vector<float>(static_cast<std::size_t>(layer.out.size())));
    const auto inputs_of = [&](std::size_t image) {
      LayerInputs in;
      for (const int producer : layer.inputs) {
        in.data.push_back(producer < 0 ? inputs[image].data.data()
                                       : outputs[static_cast<std::size_t>(producer)][image].data());
        in.shapes.push_back(producer < 0 ? graph_.input : graph_.layers[static_cast<std::size_t>(producer)].out);
      }
      return in;
    };

    if (!has_batchnorm(layer)) {
      const FoldedLayer folded = fold_layer(layer, params, graph_.source);
      for (std::size_t i = 0; i < count; ++i) run_layer_reference(layer, folded, inputs_of(i), out[i].data(), threads);
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        const LayerInputs in = inputs_of(i);
        pre_normalization(layer, params, in.data.front(), in.shapes.front(), out[i].data(), threads);
      }
      // Per channel: the batch's mean and variance (two passes, in double).
      const std::int64_t spatial = spatial_size(layer);
      const double n = static_cast<double>(spatial) * static_cast<double>(count);
      const double weight = options_.momentum ? *options_.momentum : 1.0 / batches_;
      std::vector<double>& running_mean = mean_[slot];
      std::vector<double>& running_variance = variance_[slot];
      for (int c = 0; c < layer.out.c; ++c) {
        double sum = 0;
        for (std::size_t i = 0; i < count; ++i) {
          const float* x = out[i].data() + std::int64_t{c} * spatial;
          for (std::int64_t k = 0; k < spatial; ++k) sum += x[k];
        }
        const double mean = sum / n;
        double squares = 0;
        for (std::size_t i = 0; i < count; ++i) {
          const float* x = out[i].data() + std::int64_t{c} * spatial;
          for (std::int64_t k = 0; k < spatial; ++k) squares += (x[k] - mean) * (x[k] - mean);
        }
        const double biased = squares / n;
        const double unbiased = squares / (n - 1);
        running_mean[static_cast<std::size_t>(c)] += weight * (mean - running_mean[static_cast<std::size_t>(c)]);
        running_variance[static_cast<std::size_t>(c)] +=
            weight * (unbiased - running_variance[static_cast<std::size_t>(c)]);
        // Normalize with the batch's own statistics, then gamma and beta.
        const double factor = params.scales[static_cast<std::size_t>(c)] / std::sqrt(biased + kBatchNormEpsilon);
        const double shift = params.biases[static_cast<std::size_t>(c)] - mean * factor;
        for (std::size_t i = 0; i < count; ++i) {
          float* x = out[i].data() + std::int64_t{c} * spatial;
          for (std::int64_t k = 0; k < spatial; ++k) x[k] = static_cast<float>(x[k] * factor + shift);
        }
      }
      for (std::size_t i = 0; i < count; ++i) apply_activation(activation_after(layer), out[i].data(), layer.out, threads);
    }
    for (const int producer : layer.inputs) {
      if (producer >= 0 && last_reader[static_cast<std::size_t>(producer)] == layer.index) {
        std::vector<std::vector<float>>().swap(outputs[static_cast<std::size_t>(producer)]);
      }
    }
  }
  for (const int index : batchnorm_layers_) {
    LayerParams& params = weights_.layers[static_cast<std::size_t>(index)];
    const auto slot = static_cast<std::size_t>(index);
    for (std::size_t c = 0; c < params.mean.size(); ++c) {
      params.mean[c] = static_cast<float>(mean_[slot][c]);
      params.variance[c] = static_cast<float>(variance_[slot][c]);
    }
  }
}

}  // namespace dusk
