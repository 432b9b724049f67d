// dusk._dusk: the C++ library for Python (pybind11). The Python layer in
// dusk/__init__.py adds the friendly signatures; this file converts arrays,
// releases the GIL around the work and maps errors to dusk.Error subclasses.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>

#include "dusk/cpu.hpp"
#include "dusk/dusk.hpp"
#include "dusk/map_run.hpp"
#include "py_errors.hpp"
#include "model_io.hpp"

namespace py = pybind11;

namespace {

using namespace dusk_python;


// An HxWx3 uint8 array (any strides) as dusk's float RGB image; a strided
// view is read in place, not copied.
dusk::Image image_from_array(const py::array& array, bool rgb) {
  if (!py::isinstance<py::array_t<std::uint8_t>>(array) || array.dtype().kind() != 'u' || array.itemsize() != 1) {
    raise(Stage::Image, "image array has dtype " + py::str(array.dtype()).cast<std::string>() +
                            "; give uint8 pixels (HxWx3, as OpenCV and imageio load them)");
  }
  if (array.ndim() != 3 || array.shape(2) != 3) {
    std::string shape;
    for (py::ssize_t i = 0; i < array.ndim(); ++i) shape += (i ? "x" : "") + std::to_string(array.shape(i));
    raise(Stage::Image, "image array has shape " + (shape.empty() ? std::string("()") : shape) +
                            "; give HxWx3 (height, width, 3 colour channels)");
  }
  const py::ssize_t h = array.shape(0), w = array.shape(1);
  if (h < 1 || w < 1) {
    raise(Stage::Image, "image array is " + std::to_string(h) + "x" + std::to_string(w) + "; it has no pixels");
  }
  if (h * w > dusk::kMaxImagePixels) raise(Stage::Image, "image array has more pixels than dusk accepts (67 Mpx)");
  const auto* base = static_cast<const std::uint8_t*>(array.data());
  const py::ssize_t sy = array.strides(0), sx = array.strides(1), sc = array.strides(2);
  dusk::Image image(static_cast<int>(w), static_cast<int>(h), 3);
  const std::size_t plane = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
  const int red = rgb ? 0 : 2;
  for (py::ssize_t y = 0; y < h; ++y) {
    for (py::ssize_t x = 0; x < w; ++x) {
      const std::uint8_t* p = base + y * sy + x * sx;
      const std::size_t i = static_cast<std::size_t>(y * w + x);
      image.data[i] = p[red * sc] / 255.f;
      image.data[plane + i] = p[sc] / 255.f;
      image.data[2 * plane + i] = p[(2 - red) * sc] / 255.f;
    }
  }
  return image;
}

// Darknet's -out object, from the library's record writer (record.hpp).
py::object detection_dict(const dusk::Detection& d) {
  return py::module_::import("json").attr("loads")(dusk::detection_json(d));
}

// Detection options from Python keywords, each read through dusk's option
// table (options.hpp): the same checks and messages as every shell, the
// option named as Python spells it.
struct PyOptions {
  dusk::DetectorOptions detector;
  dusk::JobOptions job;
};

PyOptions options_from(const py::dict& given, std::vector<std::string> labels) {
  PyOptions o;
  o.detector.labels = std::move(labels);
  o.job.shell = dusk::Shell::Python;
  std::string tiles;
  double tile_overlap = 0.1;
  dusk::NetworkOptions& network = o.detector.network;
  try {
    for (const auto& [key_object, value] : given) {
      const std::string key = py::str(key_object);
      if (key == "thresh") o.detector.threshold = dusk::unit_option(dusk::Option::Threshold, value.cast<double>());
      else if (key == "nms") o.detector.nms = dusk::unit_option(dusk::Option::Nms, value.cast<double>());
      else if (key == "nms_kind") o.detector.nms_kind = dusk::nms_kind_option(value.cast<std::string>());
      else if (key == "letterbox") o.detector.letterbox = value.cast<bool>();
      else if (key == "resize") o.detector.resize = dusk::resize_option(value.cast<std::string>());
      else if (key == "threads") network.threads = dusk::size_option(dusk::Option::Threads, value.cast<long long>());
      else if (key == "size") {
        const auto [width, height] = value.cast<std::pair<long long, long long>>();
        network.width = dusk::size_option(dusk::Option::Width, width);
        network.height = dusk::size_option(dusk::Option::Height, height);
      }
      else if (key == "backend") network.backend = dusk::backend_option(value.cast<std::string>());
      else if (key == "precision") network.precision = dusk::precision_option(value.cast<std::string>());
      else if (key == "accept") network.lowest_accepted = dusk::accept_option(value.cast<std::string>());
      else if (key == "strict") network.strict_precision = value.cast<bool>();
      else if (key == "calib") {
        network.calibration = std::make_shared<const dusk::Calibration>(
            without_gil(Stage::General, [&] { return dusk::read_calibration(value.cast<std::string>()); }));
      }
      else if (key == "tiles") tiles = value.cast<std::string>();
      else if (key == "tile_overlap") tile_overlap = value.cast<double>();
      else if (key == "batch") o.job.batch = dusk::batch_option(value.cast<long long>());
      else if (key == "max_memory") network.max_activation_bytes = dusk::max_memory_option(value.cast<long long>());
      else if (key == "max_image_pixels") o.detector.max_image_pixels = dusk::max_image_pixels_option(value.cast<long long>());
      else raise(Stage::General, "unknown option " + key);
    }
    o.job.tiles = dusk::tiles_option(tiles, tile_overlap);
    dusk::check_job_options(o.job);
  } catch (const dusk::OptionError& error) {
    raise(Stage::General, error.message(dusk::Shell::Python));
  } catch (const py::cast_error&) {
    raise(Stage::General, "an option has a value of the wrong type (see help(dusk.Detector))");
  }
  return o;
}

class PyDetector {
 public:
  PyDetector(const std::string& cfg, const std::string& weights, std::vector<std::string> labels,
             const py::dict& given) {
    PyOptions parsed = options_from(given, std::move(labels));
    const dusk::DetectorOptions& options = parsed.detector;
    job_ = parsed.job;
    const int width = options.network.width, height = options.network.height;
    dusk::Graph graph = without_gil(Stage::Cfg, [&] { return dusk::load_graph(cfg, dusk::GraphOptions{width, height}); });
    dusk::Network network = without_gil(Stage::Weights, [&] {
      return dusk::Network::load(std::move(graph), weights, options.network);
    });
    detector_.emplace(without_gil(Stage::Cfg, [&] { return dusk::Detector(std::move(network), options); }));
    classes_ = detector_->classes();
  }

  // One image: tiled when the detector was made with tiles.
  std::vector<dusk::Detection> detect_image(const dusk::Detector& detector, const dusk::Image& image) const {
    return job_.tiles ? dusk::detect_tiled(detector, image, *job_.tiles) : detector.detect(image);
  }

  std::vector<dusk::Detection> detect_path(const std::string& path) const {
    return without_gil(Stage::Image, [&] {
      return detect_image(*detector_, dusk::load_image(path, detector_->options().max_image_pixels));
    });
  }
  std::vector<dusk::Detection> detect_array(const py::array& array, bool rgb) const {
    const dusk::Image image = image_from_array(array, rgb);
    return without_gil(Stage::Image, [&] { return detect_image(*detector_, image); });
  }
  // The same at another threshold (what a tracker takes: every detection down to its low threshold).
  std::vector<dusk::Detection> detect_array_at(const py::array& array, bool rgb, float threshold) const {
    const dusk::Image image = image_from_array(array, rgb);
    dusk::DetectorOptions options = detector_->options();
    options.threshold = threshold;
    return without_gil(Stage::Image, [&] { return detect_image(dusk::Detector(detector_->network(), options), image); });
  }
  // A list: a job (run.hpp) over paths and arrays, results in input order.
  // Each item's detections, or None where it failed, and (index, message) per failure.
  using BatchResult = std::pair<std::vector<std::optional<std::vector<dusk::Detection>>>,
                                std::vector<std::pair<std::size_t, std::string>>>;
  BatchResult detect_batch(const py::list& items, bool rgb) const {
    auto images = std::make_shared<std::vector<std::optional<dusk::Image>>>();
    auto paths = std::make_shared<std::vector<std::string>>();
    for (const py::handle item : items) {
      if (py::isinstance<py::str>(item)) {
        paths->push_back(item.cast<std::string>());
        images->emplace_back();
      } else if (py::isinstance<py::array>(item)) {
        paths->emplace_back();
        images->emplace_back(image_from_array(py::reinterpret_borrow<py::array>(item), rgb));
      } else {
        raise(Stage::Image, "a batch holds paths (str) and HxWx3 uint8 arrays, not " +
                                py::str(py::type::handle_of(item).attr("__name__")).cast<std::string>());
      }
    }
    const std::int64_t max_pixels = detector_->options().max_image_pixels;
    const dusk::ImageSource source{
        images->size(),
        [paths](std::size_t i) { return (*paths)[i].empty() ? "item " + std::to_string(i) : (*paths)[i]; },
        [images, paths, max_pixels](std::size_t i) {
          return (*images)[i] ? *(*images)[i] : dusk::load_image((*paths)[i], max_pixels);
        }};
    return without_gil(Stage::Image, [&] {
      BatchResult result;
      dusk::run_detection_job(*detector_, source, job_, [&](dusk::JobItem&& item) {
        if (item.error.empty()) {
          result.first.emplace_back(std::move(item.detections));
        } else {
          result.first.emplace_back(std::nullopt);
          result.second.emplace_back(item.index, std::move(item.error));
        }
      });
      return result;
    });
  }

  // One image's -out record (record.hpp) as JSON text: an image that fails
  // gives a record with its "error", not an exception (what Dask and
  // python -m dusk write per line).
  std::string record(const py::object& image, bool rgb, std::optional<int> frame_id, bool with_size) const {
    dusk::ImageSource source;
    if (py::isinstance<py::str>(image)) {
      source = dusk::image_files({image.cast<std::string>()}, detector_->options().max_image_pixels);
    } else {
      source = dusk::images_in_memory({image_from_array(py::reinterpret_borrow<py::array>(image), rgb)}, {"image"});
    }
    return without_gil(Stage::Image, [&] {
      std::string text;
      dusk::JobOptions one = job_;
      one.batch = 1;
      dusk::run_detection_job(*detector_, source, one, [&](dusk::JobItem&& item) {
        text = dusk::image_record_json(item, frame_id, with_size);
      });
      return text;
    });
  }

  int classes() const { return classes_; }
  py::tuple input_size() const {
    const dusk::Shape s = detector_->network().input_shape();
    return py::make_tuple(s.w, s.h);
  }
  int threads() const { return detector_->network().threads(); }
  std::string precision() const { return std::string(dusk::precision_name(detector_->network().precision())); }
  std::vector<std::string> notices() const { return detector_->network().notices(); }
  const std::vector<std::string>& labels() const { return detector_->options().labels; }

 private:
  std::optional<dusk::Detector> detector_;
  dusk::JobOptions job_;  // tiles and batch
  int classes_ = 0;
};

// Fills rows of dusk.DETECTION_DTYPE, an array numpy made (np.empty) in Python.
void fill_structured(const std::vector<dusk::Detection>& detections, py::array& out) {
  struct Row {
    std::int32_t class_id;
    float confidence, left, top, width, height, center_x, center_y, rel_width, rel_height;
  };
  if (out.itemsize() != static_cast<py::ssize_t>(sizeof(Row)) || out.ndim() != 1 ||
      out.shape(0) != static_cast<py::ssize_t>(detections.size()) || !(out.flags() & py::array::c_style)) {
    throw std::runtime_error("fill_structured needs a contiguous DETECTION_DTYPE array of one row per detection");
  }
  auto* rows = static_cast<Row*>(out.mutable_data());
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const dusk::Detection& d = detections[i];
    rows[i] = Row{d.class_id,   d.confidence, d.box.left,  d.box.top,  d.box.width,
                  d.box.height, d.relative.x, d.relative.y, d.relative.w, d.relative.h};
  }
}

py::dict inspect(const std::string& cfg, const std::string& weights) {
  const dusk::Graph graph = without_gil(Stage::Cfg, [&] { return dusk::load_graph(cfg); });
  dusk::WeightsFit fit;
  const dusk::FitVerdict verdict = without_gil(Stage::Weights, [&] {
    dusk::read_weights_partial(weights, graph, fit);
    return dusk::describe_fit(graph, fit);
  });
  py::list layers;
  for (const dusk::Layer& layer : graph.layers) {
    py::dict row;
    row["index"] = layer.index;
    row["kind"] = std::string(dusk::layer_kind_name(layer.kind));
    row["output"] = py::make_tuple(layer.out.c, layer.out.h, layer.out.w);
    layers.append(row);
  }
  py::dict out;
  out["cfg"] = cfg;
  out["weights"] = weights;
  out["fits"] = fit.fits();
  out["status"] = verdict.status;
  out["verdict"] = verdict.message;
  out["total_params"] = graph.total_params();
  out["total_bflops"] = graph.total_bflops();
  out["expected_floats"] = dusk::expected_floats(graph);
  out["file_bytes"] = fit.file_bytes;
  out["expected_bytes"] = fit.expected_bytes;
  out["layers"] = layers;
  return out;
}

py::dict forward(const std::string& cfg, const std::string& weights, const py::object& image, const py::object& layers,
                 int width, int height, int threads, bool letterbox, bool rgb) {
  dusk::Graph graph = without_gil(Stage::Cfg, [&] { return dusk::load_graph(cfg, dusk::GraphOptions{width, height}); });
  const dusk::Network network = without_gil(Stage::Weights, [&] {
    return dusk::Network::load(std::move(graph), weights, dusk::NetworkOptions{0, 0, threads});
  });
  const dusk::Graph& g = network.graph();
  dusk::Tensor input(g.input);
  if (!image.is_none()) {
    const dusk::Image loaded = py::isinstance<py::str>(image)
                                   ? without_gil(Stage::Image, [&] { return dusk::load_image(image.cast<std::string>()); })
                                   : image_from_array(image.cast<py::array>(), rgb);
    input.data = dusk::fit_image(loaded, dusk::ImageFit{g.input.w, g.input.h, letterbox}).data;
  } else {
    std::fill(input.data.begin(), input.data.end(), 0.5f);
  }
  std::vector<int> keep;
  if (!layers.is_none()) keep = layers.cast<std::vector<int>>();
  if (keep.empty()) keep = g.head_layers();
  const std::vector<dusk::Tensor> outputs = without_gil(Stage::General, [&] { return network.forward(input, keep); });
  py::dict out;
  for (std::size_t i = 0; i < keep.size(); ++i) {
    const dusk::Layer& layer = g.layers[static_cast<std::size_t>(keep[i])];
    const dusk::Shape& s = outputs[i].shape;
    py::array_t<float> array({s.c, s.h, s.w});
    std::memcpy(array.mutable_data(), outputs[i].data.data(), outputs[i].data.size() * sizeof(float));
    out[py::str(std::string(dusk::layer_kind_name(layer.kind)) + "_" + std::to_string(layer.index))] = array;
  }
  return out;
}

py::dict run_map(const std::string& data, const std::string& cfg, const std::string& weights, int points,
                 float iou_thresh, float thresh, const py::object& letterbox, int threads, const std::string& list,
                 bool coco, int width, int height, const std::string& names) {
  dusk::Graph graph = without_gil(Stage::Cfg, [&] { return dusk::load_graph(cfg, dusk::GraphOptions{width, height}); });
  dusk::Network network = without_gil(Stage::Weights, [&] {
    return dusk::Network::load(std::move(graph), weights, dusk::NetworkOptions{0, 0, threads});
  });
  dusk::MapRunOptions options;
  options.map = dusk::MapOptions{iou_thresh, points, thresh};
  if (!letterbox.is_none()) options.letterbox = letterbox.cast<bool>();
  options.coco = coco;
  const dusk::MapRun run = without_gil(Stage::General, [&] { return dusk::run_map(std::move(network), dusk::LabeledSource{data, list, names}, options); });
  py::list classes;
  for (std::size_t i = 0; i < run.result.classes.size(); ++i) {
    const dusk::ClassAccuracy& c = run.result.classes[i];
    py::dict row;
    row["class_id"] = i;
    row["name"] = run.set.names[i];
    row["ap"] = c.ap;
    row["truths"] = c.truths;
    row["detections"] = c.detections;
    row["tp"] = c.tp_at_threshold;
    row["fp"] = c.fp_at_threshold;
    classes.append(row);
  }
  py::dict out;
  out["map"] = run.result.map;
  out["detections_count"] = run.result.detections_count;
  out["unique_truth_count"] = run.result.unique_truth_count;
  out["tp"] = run.result.tp;
  out["fp"] = run.result.fp;
  out["fn"] = run.result.fn;
  out["precision"] = run.result.precision;
  out["recall"] = run.result.recall;
  out["f1"] = run.result.f1;
  out["average_iou"] = run.result.average_iou;
  out["classes"] = classes;
  out["images"] = run.evaluated;
  out["failures"] = run.failures;
  out["unlabeled"] = run.set.unlabeled;
  out["letterbox"] = run.letterbox;
  if (run.coco) {
    py::dict c;
    c["map"] = run.coco->map;
    c["map50"] = run.coco->map50;
    c["map75"] = run.coco->map75;
    c["map_small"] = run.coco->map_small;
    c["map_medium"] = run.coco->map_medium;
    c["map_large"] = run.coco->map_large;
    out["coco"] = c;
  }
  return out;
}

// Draws detections on a copy of an HxWx3 uint8 array (same channel order).
py::array annotate(const py::array& array, const std::vector<dusk::Detection>& detections, int classes, bool rgb) {
  dusk::Image image = image_from_array(array, rgb);
  dusk::draw_detections(image, detections, classes);
  const py::ssize_t h = image.h, w = image.w;
  py::array_t<std::uint8_t> out({h, w, py::ssize_t{3}});
  auto view = out.mutable_unchecked<3>();
  const std::size_t plane = static_cast<std::size_t>(w * h);
  const int red = rgb ? 0 : 2;
  for (py::ssize_t y = 0; y < h; ++y) {
    for (py::ssize_t x = 0; x < w; ++x) {
      const std::size_t i = static_cast<std::size_t>(y * w + x);
      for (int ch = 0; ch < 3; ++ch) {
        const float v = std::min(1.f, std::max(0.f, image.data[static_cast<std::size_t>(ch) * plane + i]));
        view(y, x, ch == 0 ? red : ch == 1 ? 1 : 2 - red) = static_cast<std::uint8_t>(v * 255.f + 0.5f);
      }
    }
  }
  return out;
}

// (track_id, detection_index) per tracked object of the frame.
class PyTracker {
 public:
  PyTracker(float high, float low, float match, int buffer, double fps)
      : tracker_(without_gil(Stage::General, [&] { return dusk::Tracker(dusk::TrackerOptions{high, low, match, buffer, fps}); })) {}
  std::vector<std::pair<std::int64_t, std::size_t>> update(const std::vector<dusk::Detection>& detections) {
    std::vector<std::pair<std::int64_t, std::size_t>> out;
    for (const dusk::TrackedObject& o : tracker_.update(detections)) out.emplace_back(o.track_id, o.detection_index);
    return out;
  }
  std::vector<std::int64_t> removed() const { return tracker_.removed(); }
  std::int64_t frames() const { return tracker_.frames(); }
  int buffer_frames() const { return tracker_.buffer_frames(); }

 private:
  dusk::Tracker tracker_;
};

py::tuple linear_assignment(const py::array_t<double, py::array::c_style | py::array::forcecast>& cost, double limit) {
  if (cost.ndim() != 2) raise(Stage::General, "linear_assignment takes a 2-D cost matrix");
  const int rows = static_cast<int>(cost.shape(0)), cols = static_cast<int>(cost.shape(1));
  const std::vector<double> values(cost.data(), cost.data() + cost.size());
  const dusk::Assignment a = without_gil(Stage::General, [&] { return dusk::linear_assignment(values, rows, cols, limit); });
  return py::make_tuple(a.matches, a.unmatched_rows, a.unmatched_cols);
}

}  // namespace

PYBIND11_MODULE(_dusk, m) {
  m.doc() = "dusk's C++ engine; use the dusk package, not this module directly";
  m.def("_set_error_classes", [](py::object error, py::object cfg, py::object weights, py::object image) {
    error_classes() = ErrorClasses{std::move(error), std::move(cfg), std::move(weights), std::move(image)};
  });
  // Named tuples: attribute access (d.box.left) and unpacking both work.
  const py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  const py::object box_type = namedtuple("Box", "left top width height");
  const py::object relative_type = namedtuple("RelativeBox", "center_x center_y width height");
  m.attr("Box") = box_type;
  m.attr("RelativeBox") = relative_type;
  py::class_<dusk::Detection>(m, "Detection")
      .def(py::init([](int class_id, float confidence, std::tuple<float, float, float, float> box, std::string label) {
             dusk::Detection d;
             d.class_id = class_id;
             d.confidence = confidence;
             d.box = {std::get<0>(box), std::get<1>(box), std::get<2>(box), std::get<3>(box)};
             d.label = label.empty() ? std::to_string(class_id) : std::move(label);
             return d;
           }),
           py::arg("class_id"), py::arg("confidence"), py::arg("box"), py::arg("label") = "",
           "A detection from another detector: box is (left, top, width, height) in pixels")
      .def_readonly("class_id", &dusk::Detection::class_id)
      .def_readonly("label", &dusk::Detection::label)
      .def_readonly("confidence", &dusk::Detection::confidence)
      .def_property_readonly("box", [box_type](const dusk::Detection& d) {
        return box_type(d.box.left, d.box.top, d.box.width, d.box.height);
      }, "Box(left, top, width, height) in pixels of the original image")
      .def_property_readonly("relative", [relative_type](const dusk::Detection& d) {
        return relative_type(d.relative.x, d.relative.y, d.relative.w, d.relative.h);
      }, "RelativeBox(center_x, center_y, width, height) relative to the image, as Darknet's -out JSON")
      .def("to_dict", &detection_dict)
      .def("__repr__", [](const dusk::Detection& d) {
        return "Detection(" + d.label + ", " + std::to_string(d.confidence).substr(0, 6) + ", box=(" +
               std::to_string(static_cast<int>(d.box.left)) + ", " + std::to_string(static_cast<int>(d.box.top)) + ", " +
               std::to_string(static_cast<int>(d.box.width)) + ", " + std::to_string(static_cast<int>(d.box.height)) + "))";
      });
  py::class_<PyDetector>(m, "Detector")
      .def(py::init<const std::string&, const std::string&, std::vector<std::string>, const py::dict&>())
      .def("detect_path", &PyDetector::detect_path)
      .def("detect_array", &PyDetector::detect_array)
      .def("detect_array_at", &PyDetector::detect_array_at)
      .def("detect_batch", &PyDetector::detect_batch)
      .def("record", &PyDetector::record)
      .def_property_readonly("classes", &PyDetector::classes)
      .def_property_readonly("input_size", &PyDetector::input_size)
      .def_property_readonly("threads", &PyDetector::threads)
      .def_property_readonly("precision", &PyDetector::precision)
      .def_property_readonly("notices", &PyDetector::notices)
      .def_property_readonly("labels", &PyDetector::labels);
  py::class_<PyTracker>(m, "Tracker")
      .def(py::init<float, float, float, int, double>())
      .def("update", &PyTracker::update)
      .def_property_readonly("removed", &PyTracker::removed)
      .def_property_readonly("frames", &PyTracker::frames)
      .def_property_readonly("buffer_frames", &PyTracker::buffer_frames);
  m.def("linear_assignment", &linear_assignment);
  m.def("fill_structured", &fill_structured);
  m.def("inspect", &inspect);
  m.def("forward", &forward);
  m.def("map", &run_map);
  m.def("annotate", &annotate);
  m.def("openmp_runtime", &dusk::openmp_runtime_file);
  m.def("default_threads", &dusk::default_threads);
  add_model_io(m);
  m.def("load_labels", [](const std::string& path) {
    return without_gil(Stage::General, [&] { return dusk::load_labels(path); });
  });
}
