// include/dusk/dusk.h over the C++ library: handles, status codes, a
// thread-local last error, and no exception across the boundary.
#include "dusk/dusk.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <exception>
#include <new>
#include <string>

#include "dusk/dusk.hpp"
#include "dusk/text.hpp"

struct dusk_detector {
  dusk::Detector detector;
  int classes = 0;
  dusk::JobOptions job;  // tiles and batch
};

struct dusk_tracker {
  dusk::Tracker tracker;
};

namespace {

thread_local std::string last_error;

// The stage a failure happened in decides its status: the same dusk::Error
// while reading the cfg is a cfg error, while reading weights a weights error.
dusk_status fail(dusk_status status, const std::string& message) {
  last_error = message;
  return status;
}

template <class Body>
dusk_status guarded(dusk_status stage, Body&& body) {
  try {
    body();
    last_error.clear();
    return DUSK_OK;
  } catch (const std::bad_alloc&) {
    return fail(DUSK_ERROR_MEMORY, "out of memory; try a smaller input size or image");
  } catch (const dusk::Error& error) {  // options it names are spelled as dusk_options fields
    return fail(stage, error.message(dusk::Shell::C));
  } catch (const std::exception& error) {
    return fail(DUSK_ERROR_INTERNAL, error.what());
  } catch (...) {
    return fail(DUSK_ERROR_INTERNAL, "unknown failure inside dusk");
  }
}

// A caller's options struct over our defaults: the caller's may be older
// (smaller) than ours, and the fields it lacks keep their defaults.
template <class Options>
Options versioned(const Options* given, Options defaults, const char* name, const char* init) {
  if (given != nullptr) {
    if (given->struct_size < sizeof(uint32_t) || given->struct_size > 4096) {
      throw dusk::Error(dusk::cat(name, ".struct_size is ", given->struct_size, "; set it with ", init,
                                  " before filling the options in"));
    }
    std::memcpy(&defaults, given, std::min<std::size_t>(given->struct_size, sizeof(defaults)));
  }
  return defaults;
}

struct CallerOptions {
  dusk::DetectorOptions detector;
  dusk::JobOptions job;
};

// Options from a caller's struct, each read through dusk's option table
// (options.hpp): the command line's checks and messages, the field named as C spells it.
CallerOptions detector_options(const dusk_options* given) {
  dusk_options defaults;
  dusk_options_init(&defaults);
  const dusk_options o = versioned(given, defaults, "dusk_options", "dusk_options_init");
  CallerOptions caller;
  dusk::DetectorOptions& options = caller.detector;
  // What these throw is printed by guarded(), the options spelled as C's fields.
  options.threshold = dusk::unit_option(dusk::Option::Threshold, o.threshold);
  options.nms = dusk::unit_option(dusk::Option::Nms, o.nms);
  options.letterbox = o.letterbox != 0;
  options.network.width = dusk::size_option(dusk::Option::Width, o.width);
  options.network.height = dusk::size_option(dusk::Option::Height, o.height);
  options.network.threads = dusk::size_option(dusk::Option::Threads, o.threads);
  if (o.precision != nullptr) options.network.precision = dusk::precision_option(o.precision);
  if (o.backend != nullptr) options.network.backend = dusk::backend_option(o.backend);
  options.network.strict_precision = o.strict != 0;
  if (o.nms_kind != nullptr) options.nms_kind = dusk::nms_kind_option(o.nms_kind);
  if (o.resize != nullptr) options.resize = dusk::resize_option(o.resize);
  caller.job.tiles = dusk::tiles_option(o.tiles != nullptr ? o.tiles : "", o.tile_overlap);
  caller.job.batch = dusk::batch_option(o.batch);
  options.network.max_activation_bytes = dusk::max_memory_option(o.max_memory_mib);
  dusk::check_job_options(caller.job);
  caller.job.shell = dusk::Shell::C;
  if (o.names_path != nullptr) options.labels = dusk::load_labels(o.names_path);
  if (o.calibration_path != nullptr) {
    options.network.calibration = std::make_shared<const dusk::Calibration>(dusk::read_calibration(o.calibration_path));
  }
  return caller;
}

// Creation in stages, each failure reported with its stage's status.
template <class GraphOf, class NetworkOf>
dusk_status create(const dusk_options* given, dusk_detector** out, GraphOf&& graph_of, NetworkOf&& network_of) {
  if (out == nullptr) return fail(DUSK_ERROR_ARGUMENT, "the dusk_detector** to fill in is NULL");
  *out = nullptr;
  CallerOptions caller;
  dusk_status status = guarded(DUSK_ERROR_ARGUMENT, [&] { caller = detector_options(given); });
  if (status != DUSK_OK) return status;
  const dusk::DetectorOptions& options = caller.detector;
  dusk::Graph graph;
  status = guarded(DUSK_ERROR_CFG, [&] { graph = graph_of(dusk::GraphOptions{options.network.width, options.network.height}); });
  if (status != DUSK_OK) return status;
  std::optional<dusk::Network> network;
  status = guarded(DUSK_ERROR_WEIGHTS, [&] {
    network.emplace(network_of(std::move(graph), options.network));
  });
  if (status != DUSK_OK) return status;
  return guarded(DUSK_ERROR_CFG, [&] {  // a graph without detection heads
    const int classes = network->graph().classes();
    *out = new dusk_detector{dusk::Detector(std::move(*network), options), classes, caller.job};
  });
}

// One allocation: the detections, then their labels.
dusk_detection* to_c(const std::vector<dusk::Detection>& detections) {
  std::size_t text = 0;
  for (const dusk::Detection& d : detections) text += d.label.size() + 1;
  const std::size_t head = std::max<std::size_t>(1, detections.size()) * sizeof(dusk_detection);
  auto* block = static_cast<char*>(::operator new(head + text));
  auto* out = reinterpret_cast<dusk_detection*>(block);
  char* labels = block + head;
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const dusk::Detection& d = detections[i];
    std::memcpy(labels, d.label.c_str(), d.label.size() + 1);
    out[i] = dusk_detection{d.class_id, d.confidence, d.box.left,   d.box.top,    d.box.width, d.box.height,
                            d.relative.x, d.relative.y, d.relative.w, d.relative.h, labels};
    labels += d.label.size() + 1;
  }
  return out;
}

// One image, tiled when the detector was made with tiles.
std::vector<dusk::Detection> detect_one(const dusk_detector& detector, const dusk::Image& image) {
  return detector.job.tiles ? dusk::detect_tiled(detector.detector, image, *detector.job.tiles)
                            : detector.detector.detect(image);
}

void deliver(const std::vector<dusk::Detection>& found, dusk_detection** detections, size_t* count) {
  *detections = to_c(found);
  *count = found.size();
}

}  // namespace

extern "C" {

const char* dusk_version(void) { return "0.1.0"; }
int dusk_api_version(void) { return DUSK_C_API_VERSION; }
const char* dusk_last_error(void) { return last_error.c_str(); }

const char* dusk_status_name(dusk_status status) {
  switch (status) {
    case DUSK_OK: return "ok";
    case DUSK_ERROR_ARGUMENT: return "argument error";
    case DUSK_ERROR_CFG: return "cfg error";
    case DUSK_ERROR_WEIGHTS: return "weights error";
    case DUSK_ERROR_IMAGE: return "image error";
    case DUSK_ERROR_MEMORY: return "out of memory";
    case DUSK_ERROR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

void dusk_options_init(dusk_options* options) {
  if (options == nullptr) return;
  *options = dusk_options{sizeof(dusk_options), 0.25f, 0.45f, 0, 0, 0, 0, nullptr, nullptr, nullptr,
                          nullptr, 0, nullptr, nullptr, nullptr, 0.1f, 1,
                          dusk::kDefaultMaxActivationBytes >> 20};
}

dusk_status dusk_detector_create(const char* cfg_path, const char* weights_path, const dusk_options* options,
                                 dusk_detector** detector) {
  if (cfg_path == nullptr || weights_path == nullptr) {
    if (detector != nullptr) *detector = nullptr;
    return fail(DUSK_ERROR_ARGUMENT, "dusk_detector_create: the cfg and weights paths must not be NULL");
  }
  return create(
      options, detector, [&](const dusk::GraphOptions& graph_options) { return dusk::load_graph(cfg_path, graph_options); },
      [&](dusk::Graph graph, const dusk::NetworkOptions& network_options) {
        return dusk::Network::load(std::move(graph), weights_path, network_options);
      });
}

dusk_status dusk_detector_create_from_memory(const char* cfg_text, size_t cfg_size, const void* weights,
                                             size_t weights_size, const dusk_options* options,
                                             dusk_detector** detector) {
  if (cfg_text == nullptr || weights == nullptr || cfg_size == 0 || weights_size == 0) {
    if (detector != nullptr) *detector = nullptr;
    return fail(DUSK_ERROR_ARGUMENT, "dusk_detector_create_from_memory: the cfg and weights buffers must be non-NULL "
                                     "and non-empty");
  }
  return create(
      options, detector,
      [&](const dusk::GraphOptions& graph_options) {
        return dusk::build_graph(dusk::parse_cfg(std::string_view(cfg_text, cfg_size), "<cfg in memory>"),
                                 graph_options);
      },
      [&](dusk::Graph graph, const dusk::NetworkOptions& network_options) {
        const auto* bytes = static_cast<const char*>(weights);
        dusk::Weights parsed = dusk::parse_weights(std::vector<char>(bytes, bytes + weights_size), graph,
                                                   "<weights in memory>");
        return dusk::Network(std::move(graph), std::move(parsed), network_options);
      });
}

void dusk_detector_destroy(dusk_detector* detector) { delete detector; }

dusk_status dusk_detector_info(const dusk_detector* detector, int* classes, int* width, int* height) {
  if (detector == nullptr) return fail(DUSK_ERROR_ARGUMENT, "dusk_detector_info: the detector is NULL");
  const dusk::Shape input = detector->detector.network().input_shape();
  if (classes != nullptr) *classes = detector->classes;
  if (width != nullptr) *width = input.w;
  if (height != nullptr) *height = input.h;
  return DUSK_OK;
}

dusk_status dusk_detect_file(const dusk_detector* detector, const char* image_path, dusk_detection** detections,
                             size_t* count) {
  if (detector == nullptr || image_path == nullptr || detections == nullptr || count == nullptr) {
    return fail(DUSK_ERROR_ARGUMENT, "dusk_detect_file: detector, image path, detections and count must not be NULL");
  }
  *detections = nullptr;
  *count = 0;
  return guarded(DUSK_ERROR_IMAGE, [&] {
    const dusk::Image image = dusk::load_image(image_path, detector->detector.options().max_image_pixels);
    deliver(detect_one(*detector, image), detections, count);
  });
}

dusk_status dusk_detect_pixels(const dusk_detector* detector, const uint8_t* pixels, int width, int height, int stride,
                               dusk_pixel_format format, dusk_detection** detections, size_t* count) {
  if (detector == nullptr || pixels == nullptr || detections == nullptr || count == nullptr) {
    return fail(DUSK_ERROR_ARGUMENT, "dusk_detect_pixels: detector, pixels, detections and count must not be NULL");
  }
  *detections = nullptr;
  *count = 0;
  if (format != DUSK_PIXELS_RGB && format != DUSK_PIXELS_BGR) {
    return fail(DUSK_ERROR_ARGUMENT, dusk::cat("dusk_detect_pixels: pixel format ", static_cast<int>(format),
                                               " is neither DUSK_PIXELS_RGB nor DUSK_PIXELS_BGR"));
  }
  if (width < 1 || height < 1 || stride < 3 * width) {
    return fail(DUSK_ERROR_ARGUMENT, dusk::cat("dusk_detect_pixels: a ", width, "x", height, " image with a stride of ",
                                               stride, " bytes; need positive sizes and a stride >= 3 x width"));
  }
  const auto pixel_format = format == DUSK_PIXELS_RGB ? dusk::PixelFormat::RGB : dusk::PixelFormat::BGR;
  return guarded(DUSK_ERROR_IMAGE, [&] {
    if (!detector->job.tiles) {
      deliver(detector->detector.detect(pixels, width, height, stride, pixel_format), detections, count);
    } else {
      deliver(detect_one(*detector, dusk::image_from_pixels(pixels, width, height, stride, pixel_format)), detections,
              count);
    }
  });
}

void dusk_detections_free(dusk_detection* detections) { ::operator delete(detections); }

dusk_status dusk_detect_files(const dusk_detector* detector, const char* const* image_paths, size_t paths,
                              dusk_image_callback on_image, void* user_data) {
  if (detector == nullptr || (image_paths == nullptr && paths > 0) || on_image == nullptr) {
    return fail(DUSK_ERROR_ARGUMENT, "dusk_detect_files: detector, image paths and callback must not be NULL");
  }
  std::vector<std::string> files;
  for (size_t i = 0; i < paths; ++i) {
    if (image_paths[i] == nullptr) return fail(DUSK_ERROR_ARGUMENT, dusk::cat("dusk_detect_files: image path ", i, " is NULL"));
    files.emplace_back(image_paths[i]);
  }
  std::size_t failed = 0;
  const dusk_status status = guarded(DUSK_ERROR_INTERNAL, [&] {
    dusk::run_detection_job(
        detector->detector, dusk::image_files(files, detector->detector.options().max_image_pixels), detector->job,
        [&](dusk::JobItem&& item) {
          if (!item.error.empty()) {
            ++failed;
            on_image(user_data, item.index, image_paths[item.index], DUSK_ERROR_IMAGE, nullptr, 0, item.error.c_str());
            return;
          }
          const std::unique_ptr<dusk_detection, void (*)(dusk_detection*)> found(to_c(item.detections),
                                                                                 dusk_detections_free);
          on_image(user_data, item.index, image_paths[item.index], DUSK_OK, found.get(), item.detections.size(), nullptr);
        });
  });
  if (status != DUSK_OK) return status;
  if (failed > 0) return fail(DUSK_ERROR_IMAGE, dusk::cat("dusk_detect_files: ", failed, " of ", paths, " images failed"));
  return DUSK_OK;
}

void dusk_tracker_options_init(dusk_tracker_options* options) {
  if (options == nullptr) return;
  const dusk::TrackerOptions defaults;
  *options = dusk_tracker_options{sizeof(dusk_tracker_options), defaults.high, defaults.low, defaults.match,
                                  defaults.buffer, defaults.fps};
}

dusk_status dusk_tracker_create(const dusk_tracker_options* given, dusk_tracker** tracker) {
  if (tracker == nullptr) return fail(DUSK_ERROR_ARGUMENT, "the dusk_tracker** to fill in is NULL");
  *tracker = nullptr;
  return guarded(DUSK_ERROR_ARGUMENT, [&] {
    dusk_tracker_options defaults;
    dusk_tracker_options_init(&defaults);
    const dusk_tracker_options o = versioned(given, defaults, "dusk_tracker_options", "dusk_tracker_options_init");
    *tracker = new dusk_tracker{dusk::Tracker(dusk::TrackerOptions{o.high, o.low, o.match, o.buffer, o.fps})};
  });
}

void dusk_tracker_destroy(dusk_tracker* tracker) { delete tracker; }

dusk_status dusk_tracker_update(dusk_tracker* tracker, const dusk_detection* detections, size_t count,
                                dusk_tracked_object** objects, size_t* object_count) {
  if (tracker == nullptr || (detections == nullptr && count > 0) || objects == nullptr || object_count == nullptr) {
    return fail(DUSK_ERROR_ARGUMENT,
                "dusk_tracker_update: tracker, objects and object_count must not be NULL, nor detections when count > 0");
  }
  *objects = nullptr;
  *object_count = 0;
  return guarded(DUSK_ERROR_INTERNAL, [&] {
    std::vector<dusk::Detection> frame(count);
    for (std::size_t i = 0; i < count; ++i) {
      const dusk_detection& c = detections[i];
      dusk::Detection& d = frame[i];
      d.class_id = c.class_id;
      d.confidence = c.confidence;
      d.box = {c.left, c.top, c.width, c.height};
      d.relative = {c.center_x, c.center_y, c.rel_width, c.rel_height};
    }
    const std::vector<dusk::TrackedObject> tracked = tracker->tracker.update(frame);
    auto* out = static_cast<dusk_tracked_object*>(::operator new(std::max<std::size_t>(1, tracked.size()) * sizeof(dusk_tracked_object)));
    for (std::size_t i = 0; i < tracked.size(); ++i) out[i] = {tracked[i].track_id, tracked[i].detection_index};
    *objects = out;
    *object_count = tracked.size();
  });
}

void dusk_tracked_objects_free(dusk_tracked_object* objects) { ::operator delete(objects); }

dusk_status dusk_inspect(const char* cfg_path, const char* weights_path, dusk_inspect_result* result) {
  if (cfg_path == nullptr || weights_path == nullptr || result == nullptr) {
    return fail(DUSK_ERROR_ARGUMENT, "dusk_inspect: cfg path, weights path and result must not be NULL");
  }
  if (result->struct_size != sizeof(dusk_inspect_result)) {
    return fail(DUSK_ERROR_ARGUMENT, dusk::cat("dusk_inspect_result.struct_size is ", result->struct_size,
                                               "; set it to sizeof(dusk_inspect_result)"));
  }
  dusk::Graph graph;
  dusk_status status = guarded(DUSK_ERROR_CFG, [&] { graph = dusk::load_graph(cfg_path); });
  if (status != DUSK_OK) return status;
  return guarded(DUSK_ERROR_WEIGHTS, [&] {
    dusk::WeightsFit fit;
    dusk::read_weights_partial(weights_path, graph, fit);
    const dusk::FitVerdict verdict = dusk::describe_fit(graph, fit);
    result->fits = fit.fits() ? 1 : 0;
    result->layers = static_cast<int>(graph.layers.size());
    result->total_params = graph.total_params();
    result->total_bflops = graph.total_bflops();
    result->expected_floats = dusk::expected_floats(graph);
    const std::uint64_t header = fit.expected_bytes - static_cast<std::uint64_t>(result->expected_floats) * 4;
    result->file_floats = static_cast<int64_t>((fit.file_bytes > header ? fit.file_bytes - header : 0) / 4);
    std::snprintf(result->verdict, sizeof(result->verdict), "%s", verdict.message.c_str());
  });
}

}  // extern "C"
