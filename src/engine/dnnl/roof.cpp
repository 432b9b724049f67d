// The practical peak of this CPU's arithmetic units: a large oneDNN matrix
// product timed in each precision, the ceiling a network's GFLOP/s is read
// against (`dusk bench`), so that a slow host is told from slow code.
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "dusk/network.hpp"
#include "dusk/cpu.hpp"

namespace dusk {

namespace {

using dnnl::memory;

double matmul_gflops(memory::data_type src, memory::data_type weights, memory::data_type dst, int threads) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  double best = 0;
  try {
    const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    constexpr memory::dim n = 1024;
    const dnnl::matmul::desc desc(memory::desc({n, n}, src, memory::format_tag::ab),
                                  memory::desc({n, n}, weights, memory::format_tag::any),
                                  memory::desc({n, n}, dst, memory::format_tag::ab));
    const dnnl::matmul::primitive_desc pd(desc, engine);
    memory a(pd.src_desc(), engine), b(pd.weights_desc(), engine), c(pd.dst_desc(), engine);
    // 0x3f bytes: 0.75 in f32 and bf16, 63 in s8; no zeros or denormals,
    // which some units run faster or slower than real data.
    for (memory* m : {&a, &b}) std::memset(m->get_data_handle(), 0x3f, m->get_desc().get_size());
    const dnnl::matmul matmul(pd);
    const auto run = [&] {
      matmul.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
      stream.wait();
    };
    run();  // kernels generated, caches warm
    double fastest = 1e30, spent = 0;
    for (int i = 0; i < 30 && spent < 0.25; ++i) {
      const auto start = std::chrono::steady_clock::now();
      run();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      fastest = std::min(fastest, seconds);
      spent += seconds;
    }
    best = 2.0 * n * n * n / fastest / 1e9;
  } catch (const dnnl::error&) {
    best = 0;  // no implementation of this type on this CPU
  }
  omp_set_num_threads(saved);
  return best;
}

}  // namespace

double matmul_roof_gflops(Precision precision, int threads) {
  const CpuFeatures cpu = cpu_features();
  switch (precision) {
    case Precision::Fp32:
      return matmul_gflops(memory::data_type::f32, memory::data_type::f32, memory::data_type::f32, threads);
    case Precision::Bf16:
      if (!cpu.bf16()) return 0;
      return matmul_gflops(memory::data_type::bf16, memory::data_type::bf16, memory::data_type::f32, threads);
    case Precision::Int8:
      if (!cpu.int8()) return 0;
      return matmul_gflops(memory::data_type::s8, memory::data_type::s8, memory::data_type::s32, threads);
    case Precision::Auto: break;
  }
  return 0;
}

}  // namespace dusk
