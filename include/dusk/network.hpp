#pragma once
// A loaded network ready to run: the graph, its raw parameters, and the
// folded form (BatchNorm merged into the convolution) the engine computes with.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dusk/graph.hpp"
#include "dusk/weights.hpp"

namespace dusk {

struct Calibration;  // int8 ranges (calibration.hpp)

// A CHW float tensor (batch 1).
struct Tensor {
  Shape shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(Shape s, float fill = 0.0f) : shape(s), data(static_cast<std::size_t>(s.size()), fill) {}
};

inline constexpr std::int64_t kDefaultMaxActivationBytes = std::int64_t{8} << 30;
// yolov4 at 416x416: the 3x3 layers at 52x52 and larger, +37 MiB.
inline constexpr double kDefaultWinogradMemoryShare = 0.15;
// Winograd may always add this much, however small the network's kernels:
// on a tiny model a share would allow a few MiB, too little for its one or
// two big layers, and 32 MiB is little on any machine that runs a detector.
inline constexpr std::int64_t kWinogradMemoryFloorBytes = std::int64_t{32} << 20;

enum class Backend {
  Auto,       // Fast when dusk was built with oneDNN, else Reference
  Reference,  // the plain loops every fast kernel is tested against
  Fast,       // oneDNN primitives, chosen at run time for this CPU's features
};

// "auto", "reference", "fast"; parse_backend also takes "ref". nullopt: not a name.
std::string_view backend_name(Backend backend);
std::optional<Backend> parse_backend(std::string_view name);

// The arithmetic of the fast backend's convolutions. Detection heads, the
// convolutions that feed them and the decode always stay fp32.
enum class Precision {
  Auto,  // the fastest mode the CPU has that is no less accurate than NetworkOptions::lowest_accepted
  Fp32,
  Bf16,  // bfloat16 kernels and activations (AVX512-BF16 or AMX), fp32 accumulation
  Int8,  // int8 convolutions (VNNI or AMX), scales from NetworkOptions::calibration
};

// "auto", "fp32", "bf16", "int8". nullopt: not a name.
std::string_view precision_name(Precision precision);
std::optional<Precision> parse_precision(std::string_view name);

struct NetworkOptions {
  int width = 0;   // 0: the cfg's [net] width
  int height = 0;  // 0: the cfg's [net] height
  int threads = 0;  // 0: default_threads(); calls made at the same time share them
  // Auto: DUSK_BACKEND=ref|fast in the environment picks, else Fast when
  // built with oneDNN. An explicit choice is never overridden.
  Backend backend = Backend::Auto;
  // Refuse networks whose layer outputs would need more memory than this
  // (Graph::peak_activation_bytes), before allocating any of it.
  std::int64_t max_activation_bytes = kDefaultMaxActivationBytes;
  // Fast backend: memory Winograd convolutions may add (their transformed
  // kernels are 1.8-4x the plain ones), as a share of the network's kernel
  // bytes but at least kWinogradMemoryFloorBytes. They run 3x3 stride-1
  // convolutions 1.4-2x faster; the layers with the most work per extra
  // byte get them first. 0 turns them off.
  double winograd_memory_share = kDefaultWinogradMemoryShare;
  // Fast backend only. A mode this CPU (or the backend) lacks runs fp32, said
  // once in Network::notices(); with strict_precision it is an error instead.
  Precision precision = Precision::Auto;
  Precision lowest_accepted = Precision::Fp32;  // what Auto may go down to
  bool strict_precision = false;
  // int8's activation ranges (read_calibration); it must have been made with
  // these weights, or loading fails. Without it int8 is not available.
  std::shared_ptr<const Calibration> calibration = nullptr;
};

// The threads a network uses when options.threads is 0: the CPUs this
// process may run on (its affinity mask), capped by a cgroup CPU quota as
// containers set one (2.5 CPUs -> 3), at least 1.
int default_threads();

// The practical peak of this CPU's units in `precision` (Fp32, Bf16, Int8)
// on `threads` threads: GFLOP/s of a oneDNN 1024 x 1024 x 1024 matrix product
// (best of up to 30 runs, about 0.3 s), a multiply-add counted as two
// operations as a network's GFLOP/s counts them. 0 when dusk was built
// without oneDNN or the CPU lacks the unit. What `dusk bench` reads a run against.
double matmul_roof_gflops(Precision precision, int threads);

// BatchNorm folding constant, as in Darknet's normalize and fuse steps.
inline constexpr double kBatchNormEpsilon = 1e-5;

// The same network without BatchNorm: every [convolutional] and
// [connected] layer's BatchNorm folded into its weights and biases (as the
// engine folds them at load), its scale/mean/variance blocks dropped. Pair it
// with the cfg from without_batchnorm (cfg.hpp).
Weights fold_batchnorm(const Graph& graph, const Weights& weights);

class Network {
 public:
  // Reads cfg and weights, checks that they fit, folds BatchNorm.
  static Network load(const std::string& cfg_path, const std::string& weights_path,
                      const NetworkOptions& options = {});
  // The same for a graph already built (its size is used; options.width and
  // height are not). The weights file's warnings are in weights_warnings().
  static Network load(Graph graph, const std::string& weights_path, const NetworkOptions& options = {});
  Network(Graph graph, Weights weights, const NetworkOptions& options = {});

  const Graph& graph() const;
  // What reading the weights file warned about (Weights::warnings). The
  // parameters themselves live folded in the engine, once; read_weights
  // gives the file's blocks as stored.
  const std::vector<std::string>& weights_warnings() const;
  Shape input_shape() const;
  Backend backend() const;  // the backend actually in use (never Auto)
  int threads() const;      // the thread budget
  Precision precision() const;  // the mode actually in use (never Auto)
  // One-line notices from loading (a precision that fell back to fp32).
  const std::vector<std::string>& notices() const;
  // The implementations oneDNN chose for the convolutions of the plan that
  // computes the heads (or, without heads, the last layer) on threads()
  // threads (as "brgconv:avx512_core_bf16"), with how many layers use each;
  // empty on the reference backend.
  std::vector<std::pair<std::string, int>> kernel_summary() const;

  // Runs the network on `input` (shape input_shape()) and returns the outputs
  // of the layers listed in `keep` (every detection head when empty), in the
  // order given. Safe to call from several threads at once; concurrent calls
  // split the thread budget between them rather than oversubscribe the cores.
  std::vector<Tensor> forward(const Tensor& input, const std::vector<int>& keep = {}) const;
  // The same for several inputs at once: per input, what forward() returns
  // for it. The inputs run side by side on shares of the thread budget (one
  // thread each when there are as many inputs as threads), which keeps the
  // cores busier than one input on all of them; memory grows with the
  // threads, not the inputs.
  std::vector<std::vector<Tensor>> forward_batch(const std::vector<Tensor>& inputs,
                                                 const std::vector<int>& keep = {}) const;

 private:
  struct Impl;
  explicit Network(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace dusk
