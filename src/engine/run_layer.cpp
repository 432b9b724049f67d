#include "engine/run_layer.hpp"

#include <algorithm>
#include <cstring>

#include "engine/activations.hpp"
#include "engine/kernels/ref/ref_kernels.hpp"

namespace dusk {

void run_layer_reference(const Layer& layer, const FoldedLayer& params, const LayerInputs& inputs, float* out,
                         int threads) {
  const float* in = inputs.data.front();
  const Shape& in_shape = inputs.shapes.front();
  switch (layer.kind) {
    case LayerKind::Convolutional: {
      const ConvSpec& spec = layer.as<ConvSpec>();
      ref::conv2d(in, in_shape, params.weights.data(), params.biases.data(), spec, out, layer.out, threads);
      apply_activation(spec.activation, out, layer.out, threads);
      return;
    }
    case LayerKind::Connected: {
      const ConnectedSpec& spec = layer.as<ConnectedSpec>();
      ref::connected(in, in_shape.size(), params.weights.data(), params.biases.data(), spec.outputs, out, threads);
      apply_activation(spec.activation, out, layer.out, threads);
      return;
    }
    case LayerKind::Maxpool: {
      const PoolSpec& spec = layer.as<PoolSpec>();
      if (spec.maxpool_depth) {
        ref::maxpool_depth(in, in_shape, out, layer.out, threads);
      } else {
        ref::maxpool(in, in_shape, spec, out, layer.out, threads);
      }
      return;
    }
    case LayerKind::LocalAvgpool: ref::local_avgpool(in, in_shape, layer.as<PoolSpec>(), out, layer.out, threads); return;
    case LayerKind::Avgpool: ref::global_avgpool(in, in_shape, out); return;
    case LayerKind::Route: {
      const RouteSpec& spec = layer.as<RouteSpec>();
      ref::route(inputs.data, inputs.shapes, spec.groups, spec.group_id, out);
      return;
    }
    case LayerKind::Shortcut: {
      const ShortcutSpec& spec = layer.as<ShortcutSpec>();
      const std::vector<const float*> from(inputs.data.begin() + 1, inputs.data.end());
      const std::vector<Shape> from_shapes(inputs.shapes.begin() + 1, inputs.shapes.end());
      ref::shortcut(in, in_shape, from, from_shapes, params.weights, spec.weights_type, out);
      apply_activation(spec.activation, out, layer.out, threads);
      return;
    }
    case LayerKind::Upsample: ref::upsample(in, in_shape, layer.as<UpsampleSpec>(), out, layer.out); return;
    case LayerKind::Reorg3d: {  // indexed over the output dims, as Darknet
      const ReorgSpec& spec = layer.as<ReorgSpec>();
      ref::darknet_reorg(in, layer.out.w, layer.out.h, layer.out.c, spec.stride, spec.reverse, out);
      return;
    }
    case LayerKind::Reorg: {  // indexed over the input dims: the YOLOv2 layout
      const ReorgSpec& spec = layer.as<ReorgSpec>();
      ref::darknet_reorg(in, in_shape.w, in_shape.h, in_shape.c, spec.stride, spec.reverse, out);
      return;
    }
    case LayerKind::Yolo:
      std::memcpy(out, in, static_cast<std::size_t>(in_shape.size()) * sizeof(float));
      ref::yolo_activate(out, layer.out, layer.as<YoloSpec>());
      return;
    case LayerKind::GaussianYolo:
      std::memcpy(out, in, static_cast<std::size_t>(in_shape.size()) * sizeof(float));
      ref::gaussian_yolo_activate(out, layer.out, layer.as<YoloSpec>());
      return;
    case LayerKind::Region:
      std::memcpy(out, in, static_cast<std::size_t>(in_shape.size()) * sizeof(float));
      ref::region_activate(out, layer.out, layer.as<RegionSpec>());
      return;
    case LayerKind::Sam: {
      ref::multiply(in, inputs.data[1], layer.out.size(), out);
      apply_activation(layer.as<ScaleSpec>().activation, out, layer.out, threads);
      return;
    }
    case LayerKind::ScaleChannels: {
      const ScaleSpec& spec = layer.as<ScaleSpec>();
      ref::scale_channels(in, inputs.data[1], layer.out, spec.scale_wh, out);
      apply_activation(spec.activation, out, layer.out, threads);
      return;
    }
    case LayerKind::Softmax: {
      const SoftmaxSpec& spec = layer.as<SoftmaxSpec>();
      ref::softmax(in, in_shape.size(), spec.groups, spec.temperature, out);
      return;
    }
    case LayerKind::Crop: ref::centre_crop(in, in_shape, layer.as<CropSpec>(), out, layer.out); return;
    case LayerKind::Batchnorm:
      ref::channel_affine(in, in_shape, params.scales.data(), params.biases.data(), out);
      return;
    case LayerKind::Activation:
      std::memcpy(out, in, static_cast<std::size_t>(in_shape.size()) * sizeof(float));
      apply_activation(layer.as<ActivationSpec>().activation, out, layer.out, threads);
      return;
    case LayerKind::Dropout:
    case LayerKind::Cost:
    case LayerKind::Empty:
    case LayerKind::Count:
      std::memcpy(out, in, static_cast<std::size_t>(in_shape.size()) * sizeof(float));
      return;
  }
}

}  // namespace dusk
