// `dusk serve`: one loaded model behind a REST endpoint, live streams with
// their annotated video and events, a web page and metrics.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

#include "../cli_common.hpp"
#include "dusk/options.hpp"
#include "../commands.hpp"
#include "../detect_args.hpp"
#include "../interrupt.hpp"
#include "../names_lookup.hpp"
#include "http_server.hpp"
#include "metrics.hpp"
#include "stream_hub.hpp"
#include "work_pool.hpp"
#include "../track_output.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

struct ServeArgs {
  DetectArgs detect;  // the model, detection and tracking options, as dusk detect's
  std::string host = "127.0.0.1";
  int port = 8080;
  std::vector<std::string> streams;
  std::string token_file;
  int max_body_mb = 32;
  std::size_t queue = 32;
  std::size_t max_connections = 256;
  std::string log_format = "text";
  std::string cors_origin;
};

std::string read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(cat("--token-file ", path, " cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(token.begin());
  if (token.size() < 16) throw UsageError(cat("--token-file ", path, " holds a token of ", token.size(), " characters; use 16 or more"));
  return token;
}

int run_serve(ServeArgs args) {
  DetectArgs& d = args.detect;
  if (args.log_format != "text" && args.log_format != "json") throw UsageError("--log-format must be text or json");
  if (args.port < 0 || args.port > 65535) throw UsageError(cat("--port ", args.port, " is not a TCP port (0 to 65535)"));
  if (d.tracking_option_given && !d.track) {
    throw UsageError("--track-high, --track-low, --track-match, --track-buffer, --count-line and --zone need --track");
  }
  std::vector<serve::StreamSpec> streams;
  for (const std::string& text : args.streams) {
    streams.push_back(serve::parse_stream(text));
    for (std::size_t i = 0; i + 1 < streams.size(); ++i) {
      if (streams[i].name == streams.back().name) throw UsageError(cat("two --stream are named ", streams.back().name));
    }
  }
  parse_count_specs(d);  // syntax errors before anything loads
  serve::ServerConfig config;
  config.host = args.host;
  config.port = args.port;
  if (!args.token_file.empty()) config.token = read_token(args.token_file);
  config.max_body_bytes = static_cast<std::size_t>(args.max_body_mb) << 20;
  config.max_connections = args.max_connections;
  config.max_image_pixels = d.max_image_pixels;
  config.json_logs = args.log_format == "json";
  config.cors_origin = args.cors_origin;

  const Size size = parse_size(d.size);
  NetworkOptions network_options{size.width, size.height, d.threads, backend_option(d.backend), d.max_memory_mb << 20};
  apply_precision_flags(d.precision, network_options);
  const Network network = load_network(d.cfg, d.weights, network_options);
  const int classes = network.graph().classes();
  DetectorOptions options;
  options.threshold = d.threshold;
  options.nms = d.nms;
  options.letterbox = d.letterbox;
  options.max_image_pixels = d.max_image_pixels;
  std::string names_from = d.names;
  if (!d.names.empty()) {
    options.labels = load_labels(d.names);
  } else if (classes > 0) {
    const FoundNames found = find_names(d.cfg, d.weights);
    if (!found.path.empty()) {
      std::vector<std::string> labels = load_labels(found.path);
      if (static_cast<int>(labels.size()) == classes) {
        options.labels = std::move(labels);
        names_from = found.path;
      }
    }
  }
  const Detector detector(network, options);  // POST /v1/detect's defaults
  DetectorOptions stream_options = options;
  if (d.track) stream_options.threshold = d.track_low;
  const Detector stream_detector(network, stream_options);

  const Shape input = network.input_shape();
  const nlohmann::ordered_json model = {
      {"cfg", d.cfg},
      {"weights", d.weights},
      {"input", {{"width", input.w}, {"height", input.h}, {"channels", input.c}}},
      {"classes", classes},
      {"names", options.labels},
      {"names_file", names_from},
      {"precision", std::string(precision_name(network.precision()))},
      {"backend", std::string(backend_name(network.backend()))},
      {"threads", network.threads()},
      {"defaults", {{"thresh", d.threshold}, {"nms", d.nms}, {"letterbox", d.letterbox}}},
      {"streams", args.streams.size()},
      {"tracking", d.track}};

  serve::Metrics metrics;
  serve::StreamHub hub(stream_detector, classes, d, std::move(streams));
  serve::WorkPool pool(std::max(1, network.threads()), args.queue, [&hub] { return hub.next_job(); });
  serve::Server server(config, detector, pool, hub, metrics, model.dump());
  const int port = server.listen();
  hub.start([&pool] { pool.wake(); });
  std::cerr << "dusk serve: listening on http://" << config.host << ":" << port << " (" << classes << " classes, "
            << network.threads() << " threads, " << args.streams.size() << " streams"
            << (config.token.empty() ? "" : ", token required") << ")" << std::endl;
  server.run(catch_interrupts(), std::chrono::seconds(8));
  hub.stop();
  pool.drain();
  std::cerr << "dusk serve: stopped" << std::endl;
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<ServeArgs>();
  DetectArgs& d = args->detect;
  CLI::App* command = app.add_subcommand("serve", "Serve detection over HTTP: REST, live streams, a web page, metrics");
  command->add_option("cfg", d.cfg, "Darknet .cfg file")->required();
  command->add_option("weights", d.weights, "Darknet .weights file, or - for seeded random weights")->required();
  command->add_option("--names", d.names, "class names (default: a .names file beside the cfg or weights that fits)");
  command->add_option("--host", args->host, "address to listen on (0.0.0.0 for every interface)")->capture_default_str();
  command->add_option("--port", args->port, "TCP port (0: any free one, printed)")->capture_default_str();
  command->add_option("--stream", args->streams,
                      "NAME=SOURCE: a video file, image sequence, camera or URL watched for the server's lifetime "
                      "(repeat for more)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command->add_option("--token-file", args->token_file,
                      "require 'Authorization: Bearer TOKEN' (the file's content) on every path but /healthz");
  command->add_option("--thresh", d.threshold, "default threshold of POST /v1/detect")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 1.0f));
  command->add_option("--nms", d.nms, "default NMS overlap")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
  command->add_flag("--letterbox", d.letterbox, "letterbox by default");
  command->add_option("--threads", d.threads, "threads for the network (default: all cores); shared by everything")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--size", d.size, "network input size WxH instead of the cfg's");
  command->add_option("--backend", d.backend, "auto, fast (oneDNN) or ref (reference kernels)")->capture_default_str();
  add_precision_flags(*command, d.precision);
  command->add_option("--max-image-pixels", d.max_image_pixels, "refuse posted images with more pixels (413)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--max-body-mb", args->max_body_mb, "refuse request bodies larger than this (413)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  command->add_option("--queue", args->queue, "posted images waiting for a worker before 503")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  command->add_option("--max-connections", args->max_connections, "open connections beyond which new ones are closed")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  command->add_option("--log-format", args->log_format, "text or json: one line per request on stderr")
      ->capture_default_str();
  command->add_option("--cors-origin", args->cors_origin, "send Access-Control-Allow-Origin with this value (default: none)");
  add_tracking_flags(*command, d, "streams");
  command->callback([args, command, &action] {
    note_given_flags(*command, args->detect);
    action = [args] { return run_serve(*args); };
  });
}

}  // namespace dusk::cli
