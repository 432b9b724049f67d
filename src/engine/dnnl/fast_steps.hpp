#pragma once
// The pieces a FastPlan is made of: values (tensors with a oneDNN memory
// layout and a place in the call's arena), steps that read and write them,
// and the frame that holds one call's arena.
#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "dusk/graph.hpp"
#include "engine/fold.hpp"
#include "util/memory.hpp"

namespace dusk::fast {

using Desc = dnnl::memory::desc;

Desc plain_desc(const Shape& shape);

// oneDNN's own plain loops ("ref:..."): slower than dusk's reference kernels,
// so the fast path never takes them.
bool is_reference_impl(const dnnl::primitive_desc_base& pd);

struct Value {
  Desc desc;
  Shape shape;
  std::ptrdiff_t offset = -1;  // bytes into the frame's arena; -1: the network input, bound per call
  int alias_of = -1;  // a view (sub-tensor) of another value's memory
};

// A primitive's scratchpad: its layout and where it lies in the arena.
struct Scratchpad {
  Desc desc;
  std::ptrdiff_t offset = 0;
};

// One call's memory: one arena holding every value and scratchpad where
// the plan placed it, and a oneDNN memory for each.
class Frame {
 public:
  Frame(const dnnl::engine& engine, const std::vector<Value>& values, const std::vector<Scratchpad>& scratchpads,
        std::size_t arena_bytes);
  dnnl::memory& memory(int value) { return memories_[static_cast<std::size_t>(value)]; }
  dnnl::memory& scratchpad(int index) { return scratchpads_[static_cast<std::size_t>(index)]; }
  float* data(int value) { return static_cast<float*>(memories_[static_cast<std::size_t>(value)].get_data_handle()); }
  dnnl::stream& stream() { return stream_; }
  int threads = 1;

 private:
  AlignedBuffer arena_;
  std::vector<dnnl::memory> memories_;
  std::vector<dnnl::memory> scratchpads_;
  dnnl::stream stream_;
};

class Step {
 public:
  virtual ~Step() = default;
  virtual void run(Frame& frame) const = 0;
  std::vector<int> reads;
  std::vector<int> writes;
};

// A oneDNN primitive with its arguments: values bound per call, constants
// (weights, biases) shared by every call, and its scratchpad (each call
// brings its own, so concurrent calls never share one).
class PrimitiveStep : public Step {
 public:
  PrimitiveStep(dnnl::primitive primitive, std::vector<std::pair<int, int>> value_args,
                std::vector<std::pair<int, dnnl::memory>> constant_args, int scratchpad);
  void run(Frame& frame) const override;

 private:
  dnnl::primitive primitive_;
  std::vector<std::pair<int, int>> value_args_;  // DNNL_ARG_* -> value
  std::vector<std::pair<int, dnnl::memory>> constant_args_;
  int scratchpad_;  // index into the frame's scratchpads; -1: none needed
};

// A whole layer on the reference kernels, over plain CHW values.
class ReferenceStep : public Step {
 public:
  ReferenceStep(const Layer& layer, const FoldedLayer& params, std::vector<Shape> input_shapes);
  void run(Frame& frame) const override;

 private:
  const Layer& layer_;
  const FoldedLayer& params_;
  std::vector<Shape> input_shapes_;
};

// An activation oneDNN has no post-op for, in place on a plain value.
class ActivationStep : public Step {
 public:
  ActivationStep(Activation activation, Shape shape);
  void run(Frame& frame) const override;

 private:
  Activation activation_;
  Shape shape_;
};

}  // namespace dusk::fast
