#pragma once
// A Darknet [convolutional] layer described to oneDNN: its geometry (with
// Darknet's padding), its weights as stored, and primitive descriptors for it.
#include <oneapi/dnnl/dnnl.hpp>

#include "dusk/graph.hpp"

namespace dusk::fast {

struct ConvDesc {
  dnnl::memory::desc src_any;       // layouts left to oneDNN, in the convolution's data type
  dnnl::memory::desc weights_any;
  dnnl::memory::desc dst_any;
  dnnl::memory::desc user_weights;  // the folded kernel as dusk holds it (oihw / goihw)
  dnnl::memory::desc bias;
  dnnl::memory::dims strides;
  dnnl::memory::dims dilates;
  dnnl::memory::dims pad_l;
  dnnl::memory::dims pad_r;

  // Source, weights and destination in `type` (f32, bf16, or s8 with an f32
  // destination); the bias and the kernel as dusk holds it stay f32.
  explicit ConvDesc(const Layer& layer, dnnl::memory::data_type type = dnnl::memory::data_type::f32);

  // Throws dnnl::error when no implementation takes these layouts and post-ops.
  dnnl::convolution_forward::primitive_desc make(dnnl::algorithm algorithm, const dnnl::memory::desc& src,
                                                 const dnnl::memory::desc& weights, const dnnl::memory::desc& dst,
                                                 const dnnl::primitive_attr& attr, const dnnl::engine& engine) const;
};

}  // namespace dusk::fast
