#pragma once
// The layout transforms that Darknet applies to stored matrices.
#include <bit>

#include "dusk/weights.hpp"

namespace dusk {

static_assert(std::endian::native == std::endian::little, "dusk reads Darknet's little-endian floats directly");

// Row-major rows x cols -> cols x rows.
std::vector<float> transposed(const std::vector<float>& matrix, std::int64_t rows, std::int64_t cols);

// Whether a layer's weight matrix is stored transposed in the file: connected
// layers when the header says so, convolutions with flipped=1. Returns the
// stored (rows, cols) in that case.
bool stored_transposed(const Layer& layer, const WeightsHeader& header, std::int64_t& rows, std::int64_t& cols);

}  // namespace dusk
