// Explaining why a weights file does not fit its cfg.
#include "dusk/weights.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

// Floats that one more class adds to the file: every head's feeding
// convolution grows by (masks or anchors) filters.
std::int64_t floats_per_class(const Graph& graph, int& classes) {
  std::int64_t per_class = 0;
  classes = -1;
  for (const int head_index : graph.head_layers()) {
    const Layer& head = graph.layers[static_cast<std::size_t>(head_index)];
    const int producer = head.inputs.front();
    if (producer < 0 || graph.layers[static_cast<std::size_t>(producer)].kind != LayerKind::Convolutional) return 0;
    const Layer& conv = graph.layers[static_cast<std::size_t>(producer)];
    const ConvSpec& spec = conv.as<ConvSpec>();
    const int classes_here = dusk::head_classes(head);
    const int anchors = head.kind == LayerKind::Region ? head.as<RegionSpec>().num
                                                       : static_cast<int>(head.as<YoloSpec>().mask.size());
    if (classes >= 0 && classes != classes_here) return 0;  // heads disagree: no single answer
    classes = classes_here;
    const std::int64_t per_filter = std::int64_t{conv.in.c / spec.groups} * spec.size * spec.size + 1 +
                                    (spec.batch_normalize ? 3 : 0);
    per_class += anchors * per_filter;
  }
  return per_class;
}

// Layer count covered when the file ends exactly at a layer boundary.
int layers_covered_exactly(const Graph& graph, const WeightsFit& fit, std::uint64_t header_bytes) {
  std::uint64_t offset = header_bytes;
  for (const Layer& layer : graph.layers) {
    if (offset == fit.file_bytes) return layer.index;
    offset += static_cast<std::uint64_t>(layer.param_count) * sizeof(float);
  }
  return -1;
}

}  // namespace

std::string diagnose_misfit(const Graph& graph, const WeightsFit& fit) {
  const std::uint64_t header = fit.expected_bytes - static_cast<std::uint64_t>(graph.total_params()) * sizeof(float);
  const std::int64_t difference = (static_cast<std::int64_t>(fit.file_bytes) - static_cast<std::int64_t>(fit.expected_bytes));
  int classes = 0;
  const std::int64_t per_class = floats_per_class(graph, classes);
  if (per_class > 0 && difference % (per_class * 4) == 0) {
    const std::int64_t other = classes + difference / (per_class * 4);
    if (other >= 1) {
      return cat("the file fits exactly if the detection heads have classes=", other, " (not ", classes,
                 "): the weights were trained for ", other, " classes, so set classes=", other,
                 " in every head and filters=(classes+5)*masks in the convolution before each");
    }
  }
  if (fit.first_incomplete_layer >= 0) {
    const int covered = layers_covered_exactly(graph, fit, header);
    if (covered > 0) {
      return cat("the file ends exactly after layer ", covered - 1, ": it holds only the first ", covered,
                 " layers (a backbone or partial file, like darknet53.conv.74), which is for training, not detection");
    }
  }
  for (const int head : graph.head_layers()) {
    if (fit.first_incomplete_layer >= 0 &&
        graph.layers[static_cast<std::size_t>(head)].inputs.front() == fit.first_incomplete_layer) {
      return cat("the file runs out in the convolution feeding the detection head ", graph.describe(head),
                 ", so its filters= or the head's classes= likely differ from the cfg the weights were trained with");
    }
  }
  if (fit.first_incomplete_layer >= 0) {
    return "the weights were probably trained with another cfg (different layers, filters or classes), or the "
           "file is truncated";
  }
  return "the weights may belong to a larger cfg";
}

FitVerdict describe_fit(const Graph& graph, const WeightsFit& fit) {
  if (fit.first_incomplete_layer >= 0) {
    return {"short", cat("the file is short: it runs out in ", graph.describe(fit.first_incomplete_layer), ", ",
                         fit.missing_floats, " floats missing (", fit.file_bytes, " of ", fit.expected_bytes,
                         " bytes); ", diagnose_misfit(graph, fit))};
  }
  if (fit.trailing_bytes > 0) {
    return {"trailing", cat("the file has ", fit.trailing_bytes, " bytes after the last layer's parameters; ",
                            diagnose_misfit(graph, fit))};
  }
  return {"fits", cat("the file fits the cfg exactly (", fit.file_bytes, " bytes)")};
}

}  // namespace dusk
