// The LayerKind rows (layer_kind_table.hpp), checked against the enum at compile time.
#include "graph/layer_kind_table.hpp"

#include <array>
#include <cstddef>

namespace dusk {
namespace {

// Darknet's BFLOPs (its "BF" column): a multiply-add counts two.
double convolution_bflops(const Layer& layer) {
  const ConvSpec& spec = layer.as<ConvSpec>();
  const double weights = double(layer.in.c / spec.groups) * spec.filters * spec.size * spec.size;
  return 2.0 * weights * layer.out.h * layer.out.w / 1e9;
}

double pool_bflops(const Layer& layer) {
  const PoolSpec& spec = layer.as<PoolSpec>();
  return double(spec.size) * spec.size * layer.in.c * layer.out.h * layer.out.w / 1e9;
}

double shortcut_bflops(const Layer& layer) {
  const ShortcutSpec& spec = layer.as<ShortcutSpec>();
  const double flops = double(layer.out.size()) * static_cast<double>(spec.from.size()) / 1e9;
  return spec.weights_type == ShortcutWeights::None ? flops : 2 * flops;
}

using K = LayerKind;
using P = ParamForm;
constexpr std::array<LayerKindRow, static_cast<std::size_t>(LayerKind::Count)> kLayerKindRows = {{
    {K::Convolutional, "convolutional", P::ConvKernel, convolution_bflops, false},
    {K::Connected, "connected", P::ConnectedMatrix, nullptr, false},
    {K::Maxpool, "maxpool", P::None, pool_bflops, false},
    {K::LocalAvgpool, "local_avgpool", P::None, pool_bflops, false},
    {K::Avgpool, "avgpool", P::None, nullptr, false},
    {K::Route, "route", P::None, nullptr, false},
    {K::Shortcut, "shortcut", P::ShortcutWeights, shortcut_bflops, false},
    {K::Upsample, "upsample", P::None, nullptr, false},
    {K::Reorg, "reorg", P::None, nullptr, false},
    {K::Reorg3d, "reorg3d", P::None, nullptr, false},
    {K::Yolo, "yolo", P::None, nullptr, true},
    {K::GaussianYolo, "Gaussian_yolo", P::None, nullptr, true},
    {K::Region, "region", P::None, nullptr, true},
    {K::Dropout, "dropout", P::None, nullptr, false},
    {K::Cost, "cost", P::None, nullptr, false},
    {K::Sam, "sam", P::None, nullptr, false},
    {K::ScaleChannels, "scale_channels", P::None, nullptr, false},
    {K::Softmax, "softmax", P::None, nullptr, false},
    {K::Batchnorm, "batchnorm", P::Batchnorm, nullptr, false},
    {K::Activation, "activation", P::None, nullptr, false},
    {K::Empty, "empty", P::None, nullptr, false},
    {K::Crop, "crop", P::None, nullptr, false},
}};

constexpr bool layer_kind_rows_in_order() {
  for (std::size_t i = 0; i < kLayerKindRows.size(); ++i) {
    if (kLayerKindRows[i].kind != static_cast<LayerKind>(i) || kLayerKindRows[i].name.empty()) return false;
  }
  return true;
}
static_assert(layer_kind_rows_in_order(), "kLayerKindRows: one row per LayerKind, in the enum's order");

}  // namespace

const LayerKindRow& layer_kind_row(LayerKind kind) { return kLayerKindRows.at(static_cast<std::size_t>(kind)); }

std::string_view layer_kind_name(LayerKind kind) { return layer_kind_row(kind).name; }

bool is_detection_head(LayerKind kind) { return layer_kind_row(kind).detection_head; }

}  // namespace dusk
