// A whole load: cfg text and weights bytes together, then (for networks
// small enough to run quickly) a forward pass and a detection. Any outcome
// but success or a dusk::Error is a finding.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dusk/dusk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const std::string cfg = input.ConsumeRandomLengthString(8192);
  const std::vector<std::uint8_t> rest = input.ConsumeRemainingBytes<std::uint8_t>();
  const std::vector<char> bytes(rest.begin(), rest.end());
  try {
    const dusk::Graph graph = dusk::build_graph(dusk::parse_cfg(cfg, "fuzz.cfg"));
    dusk::Weights weights = dusk::parse_weights(bytes, graph, "fuzz.weights");
    // Only run what finishes in milliseconds; loading is what is under test.
    if (graph.total_bflops() > 0.002 || graph.peak_activation_bytes() > (8 << 20)) return 0;
    const dusk::Network network(graph, std::move(weights), dusk::NetworkOptions{0, 0, 1, dusk::Backend::Reference});
    network.forward(dusk::Tensor(graph.input, 0.5f), {static_cast<int>(graph.layers.size()) - 1});
    if (!graph.head_layers().empty() && graph.input.c == 3) {
      const dusk::Detector detector(network, dusk::DetectorOptions{});
      dusk::Image image(20, 15, 3, 0.3f);
      std::vector<dusk::Detection> found = detector.detect(image);
      dusk::draw_detections(image, found, 3);
    }
  } catch (const dusk::Error&) {
  }
  return 0;
}
