// `dusk export`: a Darknet model as an ONNX model that computes the same.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli_common.hpp"
#include "commands.hpp"
#include "dusk/calibration.hpp"
#include "dusk/export.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

struct ExportArgs {
  std::string cfg;
  std::string weights;
  std::string out;
  std::string size;
  int opset = 13;
  std::string batch = "1";
  std::string names;
  bool decode = false;
  bool fp16 = false;
  bool int8 = false;
  std::string calib;
  bool nms = false;
  float nms_iou = 0.45f;
  float thresh = 0.25f;
};

int run_export(const ExportArgs& args) {
  refuse_to_overwrite(args.out, {args.cfg, args.weights});
  if (args.batch != "1" && args.batch != "dynamic") throw UsageError("--batch '" + args.batch + "': use 1 or dynamic");
  if (args.int8 && args.calib.empty()) throw UsageError("--int8 needs --calib FILE (make one with dusk calibrate)");
  if (!args.int8 && !args.calib.empty()) throw UsageError("--calib is for --int8; add --int8 or leave it out");
  const Size size = parse_size(args.size);
  const Graph graph = load_graph(args.cfg, GraphOptions{size.width, size.height});
  print_warnings(graph.warnings);
  const Weights weights = args.weights == "-" ? random_weights(graph, 1) : read_weights(args.weights, graph);
  OnnxExportOptions options;
  options.opset = args.opset;
  options.dynamic_batch = args.batch == "dynamic";
  options.dusk_version = DUSK_VERSION;
  options.decode = args.decode || args.nms;
  options.fp16 = args.fp16;
  if (args.int8) options.int8 = std::make_shared<const Calibration>(read_calibration(args.calib));
  options.nms = args.nms;
  options.nms_iou = args.nms_iou;
  options.score_threshold = args.thresh;
  if (!args.names.empty()) options.labels = load_labels(args.names);
  const std::string bytes = export_onnx(graph, weights, options);
  write_file_atomic(args.out, bytes.data(), bytes.size());
  std::string outputs;
  for (const int h : graph.head_layers()) outputs += cat(outputs.empty() ? "" : ", ", "layer ", h, " ", to_string(graph.layers[static_cast<std::size_t>(h)].out));
  std::fprintf(stderr, "dusk: wrote %s: %.1f MB, %s, opset %d, input %dx%dx%d, heads %s\n", args.out.c_str(),
               static_cast<double>(bytes.size()) / 1e6, args.fp16 ? "float16" : args.int8 ? "int8 QDQ" : "float32", args.opset, graph.input.c, graph.input.h, graph.input.w,
               outputs.c_str());
  return 0;
}

}  // namespace

void add_export_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* command = app.add_subcommand("export", "Write the model as ONNX (BatchNorm folded, head activations applied)");
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file, or - for seeded random weights")->required();
  command->add_option("out", args->out, "ONNX file to write")->required();
  command->add_option("--size", args->size, "input size WxH instead of the cfg's");
  command->add_option("--opset", args->opset, "ONNX opset, 13 to 17")->capture_default_str();
  command->add_option("--batch", args->batch, "1, or dynamic for a symbolic batch dimension")->capture_default_str();
  command->add_option("--names", args->names, "class names, one per line, stored in the model's metadata");
  command->add_flag("--decode", args->decode, "add outputs boxes (x1,y1,x2,y2 in input pixels), class_scores, scores, class_ids");
  command->add_flag("--fp16", args->fp16, "weights and computation in float16 (input, heads and decode stay float32)");
  command->add_flag("--int8", args->int8,
                    "QuantizeLinear/DequantizeLinear around the convolutions dusk runs in int8, with dusk's scales "
                    "(ONNX Runtime runs them as QLinearConv); needs --calib");
  command->add_option("--calib", args->calib, "--int8: calibration file from dusk calibrate, made with these weights");
  command->add_flag("--nms", args->nms,
                    "implies --decode: ONNX NonMaxSuppression per class, output 'selected' (batch, class, box); ONNX "
                    "Runtime runs it, OpenCV 4.6 cannot import it");
  command->add_option("--nms-iou", args->nms_iou, "--nms: overlap above which the weaker box goes")
      ->check(CLI::Range(0.f, 1.f))->capture_default_str();
  command->add_option("--thresh", args->thresh, "--nms: probability a box needs")->check(CLI::Range(0.f, 1.f))->capture_default_str();
  command->callback([args, &action] { action = [args] { return run_export(*args); }; });
}

}  // namespace dusk::cli
