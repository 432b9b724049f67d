// dusk's transform of 3x3 kernels into oneDNN's F(4x4,3x3) Winograd layout
// against oneDNN's own reorder into that layout, on seeded random channel
// counts (padded ones included), map sizes and thread counts (which change
// the kernel oneDNN picks and its blocking). Agreement within 1e-5 of the largest transformed value.
#include <doctest/doctest.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <random>
#include <set>
#include <vector>

#include "dusk/error.hpp"
#include "engine/dnnl/kernel_cache.hpp"
#include "engine/dnnl/winograd_kernel.hpp"
#include "support/compare.hpp"

namespace {

using dnnl::memory;

struct Transformed {
  std::vector<float> by_onednn, by_dusk;
  bool handled = false;
};

// oneDNN's Winograd layout for this convolution, or an empty desc when it
// has no Winograd kernel for it on this CPU.
memory::desc winograd_layout(const dnnl::engine& engine, int out, int in, int side) {
  const memory::desc src({1, in, side, side}, memory::data_type::f32, memory::format_tag::any);
  const memory::desc weights({out, in, 3, 3}, memory::data_type::f32, memory::format_tag::any);
  const memory::desc dst({1, out, side, side}, memory::data_type::f32, memory::format_tag::any);
  try {
    const dnnl::convolution_forward::desc conv(dnnl::prop_kind::forward_inference,
                                               dnnl::algorithm::convolution_winograd, src, weights, dst, {1, 1},
                                               {1, 1}, {1, 1});
    return dnnl::convolution_forward::primitive_desc(conv, engine).weights_desc();
  } catch (const dnnl::error&) {
    return {};
  }
}

Transformed transform_both(const dnnl::engine& engine, const memory::desc& layout, int out, int in, unsigned seed) {
  std::vector<float> kernel(static_cast<std::size_t>(out) * in * 9);
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> unit(-1.f, 1.f);
  for (float& v : kernel) v = unit(random);
  Transformed t;
  t.by_onednn.assign(layout.get_size() / sizeof(float), 0.f);
  t.by_dusk.assign(t.by_onednn.size(), -7.f);  // every element must be written
  const memory::desc plain({out, in, 3, 3}, memory::data_type::f32, memory::format_tag::oihw);
  memory from(plain, engine, kernel.data());
  memory to(layout, engine, t.by_onednn.data());
  dnnl::stream stream(engine);
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  t.handled = dusk::fast::transform_winograd_kernel(kernel.data(), out, in, layout, t.by_dusk.data());
  return t;
}

}  // namespace

TEST_CASE("3x3 kernels transformed into oneDNN's Winograd layouts equal oneDNN's own reorder") {
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  struct Shape {
    int out, in, side;
  };
  std::vector<Shape> shapes = {{16, 16, 8}, {32, 64, 52}, {17, 20, 9}, {64, 3 * 16 + 5, 13}, {512, 1024, 13},
                               {256, 128, 52}, {128, 64, 104}};
  std::mt19937 random(5);
  for (int i = 0; i < 12; ++i) {
    std::uniform_int_distribution<int> channels(1, 300), side(3, 60);
    shapes.push_back({channels(random), channels(random), side(random)});
  }
  std::set<int> formats;  // which layouts were compared
  const int threads = omp_get_max_threads();
  for (const int thread_count : {1, 2}) {  // F(2x2,3x3) lays kernels out differently below a batch per thread
    omp_set_num_threads(thread_count);
    for (const Shape& s : shapes) {
      const memory::desc layout = winograd_layout(engine, s.out, s.in, s.side);
      if (layout.data.format_kind != dnnl_format_kind_wino) continue;  // no Winograd kernel here for this one
      const Transformed t = transform_both(engine, layout, s.out, s.in, static_cast<unsigned>(s.out + s.in));
      const dnnl_wino_desc_t& w = layout.data.format_desc.wino_desc;
      INFO(s.out << "x" << s.in << " at " << s.side << "x" << s.side << ", " << thread_count << " thread(s), format "
                 << w.wino_format << ", blocks oc " << w.oc_block << "x" << w.oc2_block << " ic " << w.ic_block
                 << "x" << w.ic2_block);
      REQUIRE(t.handled);
      const dusk::test::Difference d = dusk::test::compare(t.by_dusk, t.by_onednn);
      INFO(dusk::test::describe(d));
      CHECK(d.max_abs <= 1e-5 * d.max_magnitude);
      formats.insert(w.wino_format);
    }
  }
  omp_set_num_threads(threads);
  if (formats.empty()) {
    MESSAGE("oneDNN has no fp32 Winograd kernel on this CPU (it needs AVX-512): nothing compared");
    return;
  }
  CHECK(formats == std::set<int>{dnnl_wino_wei_aaOio, dnnl_wino_wei_aaOBiOo, dnnl_wino_wei_OBaaIBOIio});
}

TEST_CASE("layouts other than F(4x4,3x3)'s are left to oneDNN") {
  const memory::desc blocked({32, 32, 3, 3}, memory::data_type::f32, memory::format_tag::OIhw16i16o);
  std::vector<float> kernel(32 * 32 * 9, 1.f), target(kernel.size(), -7.f);
  CHECK_FALSE(dusk::fast::transform_winograd_kernel(kernel.data(), 32, 32, blocked, target.data()));
  CHECK(target.front() == -7.f);
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const memory::desc layout = winograd_layout(engine, 32, 32, 26);
  if (layout.data.format_kind == dnnl_format_kind_wino) {  // a kernel of another size than the layout's
    CHECK_FALSE(dusk::fast::transform_winograd_kernel(kernel.data(), 16, 32, layout, target.data()));
  }
}

// The kernel lifetime rules (engine/kernel_store.hpp, dnnl/kernel_cache.hpp):
// a plain kernel is released once a layout is stored, restored exactly from a
// blocked layout when a reference step needs it, and kept from then on.
TEST_CASE("kernel store and cache: plain kernels released, restored from a blocked layout, then pinned") {
  const memory::desc user({32, 16, 3, 3}, memory::data_type::f32, memory::format_tag::oihw);
  std::mt19937 engine(4);
  std::uniform_real_distribution<float> value(-1.f, 1.f);
  std::vector<float> original(32 * 16 * 9);
  for (float& v : original) v = value(engine);
  std::vector<dusk::FoldedLayer> layers(9);
  layers[7].weights = original;
  std::vector<std::size_t> floats(9, 0);
  floats[7] = floats[8] = original.size();  // layer 8's kernel was never held, and there is no source
  dusk::KernelStore store(std::move(layers), floats);
  dusk::FastWeights weights;
  weights.configure(1, 0.0, store);
  dusk::FastWeights::Impl& cache = *weights.impl;

  const memory::desc blocked({32, 16, 3, 3}, memory::data_type::f32, memory::format_tag::OIhw16i16o);
  cache.in_layout(7, "layer 7", user, blocked);
  CHECK(!store.holds_plain(7));  // held once, in oneDNN's layout
  CHECK(weights.holds_kernel(7));

  CHECK(store.plain(7, "layer 7").weights == original);  // a reference step needs it again: reorders are exact
  const memory::desc other({32, 16, 3, 3}, memory::data_type::f32, memory::format_tag::OIhw8i8o);
  const memory stored = cache.in_layout(7, "layer 7", user, other);
  CHECK(store.holds_plain(7));  // pinned: a later layout leaves it in place
  CHECK(stored.get_desc() == other);

  CHECK_THROWS_WITH_AS(store.plain(8, "layer 8"), doctest::Contains("layer 8"), dusk::Error);
  CHECK_THROWS_AS(cache.in_layout(8, "layer 8", user, blocked), dusk::Error);
}
