#pragma once
// Darknet's activation functions, computed with Darknet's own formulas
// (float math, its thresholds and constants) so outputs match bit for bit
// where the C library does.
#include "dusk/graph.hpp"

namespace dusk {

// One element; not valid for the channel-mixing normalize_channels family.
float activate(float x, Activation activation);

// In place over a CHW tensor. Handles every activation, including the ones
// that normalise across channels at each pixel.
void apply_activation(Activation activation, float* data, const Shape& shape, int threads);

// In place over `count` elements; pointwise activations only.
void apply_pointwise_activation(Activation activation, float* data, std::int64_t count);

}  // namespace dusk
