#pragma once
// KernelStore: the one owner of every layer's folded parameters. Biases,
// BatchNorm scales and shortcut weights stay here for the network's life; a
// convolution's plain folded kernel may instead be handed to a backend,
// which keeps it in its own layouts (the oneDNN kernel cache,
// dnnl/kernel_cache.hpp) and registers a restorer to write it back.
//
// Lifetime of a plain kernel, all decided here under one lock:
//   - while Network::load runs it may still be in the weights file, read
//     through the kernel source into one reused buffer when a backend asks;
//   - use_kernel hands it to a backend, then releases the held copy unless
//     it is pinned or the backend asks to keep it;
//   - plain() pins it: restored first if it was released (from the kernel
//     source, or through the backend's restorer), never released again, and
//     the returned reference stays valid as long as the store lives. That is
//     what reference kernels read, whichever backend runs the rest.
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "engine/fold.hpp"
#include "util/memory.hpp"

namespace dusk {

class KernelStore {
 public:
  // Writes the layer's folded kernel, whole, to `out`.
  using KernelSource = std::function<void(int layer, float* out)>;
  // The same from a backend's own layout; false when it cannot.
  using KernelRestorer = std::function<bool(int layer, float* out)>;

  KernelStore() = default;
  // `kernel_floats[i]`: the size of layer i's kernel, held in folded[i] or
  // still in the file (then folded[i].weights is empty).
  KernelStore(std::vector<FoldedLayer> folded, std::vector<std::size_t> kernel_floats);
  KernelStore(const KernelStore&) = delete;
  KernelStore& operator=(const KernelStore&) = delete;

  // The layer's folded parameters with its plain kernel, pinned (see above).
  // Throws, naming `describe`, when a released kernel cannot be restored.
  const FoldedLayer& plain(int layer, const std::string& describe);
  // Biases, one per output channel; never released.
  const std::vector<float>& biases(int layer) const;
  std::size_t kernel_floats(int layer) const;
  // Whether the plain kernel is held here.
  bool holds_plain(int layer) const;
  // Whether use_kernel can hand it out: held, or readable from the source.
  bool kernel_available(int layer) const;
  // Calls use(kernel) with the layer's plain folded kernel; afterwards the
  // held copy is released unless pinned or `keep_plain` (a kernel read from
  // the source is then kept). Throws when !kernel_available(layer).
  void use_kernel(int layer, const std::function<void(const float* kernel)>& use, bool keep_plain);
  // Reads the kernel from the source into a held copy (end of a load, for
  // layers no backend took). No-op when held or there is no source.
  void load_plain(int layer);

  // While Network::load runs: kernels still in the weights file, the
  // largest being `largest_floats` (one buffer of that size is reused).
  void set_kernel_source(KernelSource source, std::size_t largest_floats);
  void set_restorer(KernelRestorer restorer);

 private:
  mutable std::mutex mutex_;
  std::vector<FoldedLayer> folded_;  // never resized: references to its elements stay valid
  std::vector<std::size_t> kernel_floats_;
  std::vector<bool> pinned_;
  KernelSource source_;
  AlignedBuffer source_buffer_;
  KernelRestorer restorer_;
};

}  // namespace dusk
