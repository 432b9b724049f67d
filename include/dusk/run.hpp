#pragma once
// The job layer: many images through one Detector, each image's outcome
// handed to a sink in input order. The shells that detect on a list
// (`dusk detect`, `dusk map`, Python's detect(list), the C API's
// dusk_detect_files) all drive it, so loading, fitting, batching, tiling,
// per-image errors, the bounded window of images in flight and the worker
// count are written once.
#include <any>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dusk/detector.hpp"
#include "dusk/error.hpp"
#include "dusk/image.hpp"
#include "dusk/tiles.hpp"

namespace dusk {

// Where a job's images come from: `count` items, each with a name (for
// results and messages) and a load, called on a worker thread; a load that
// throws fails that item alone.
struct ImageSource {
  std::size_t count = 0;
  std::function<std::string(std::size_t)> name;
  std::function<Image(std::size_t)> load;
};
// Image files, each refused above `max_image_pixels`.
ImageSource image_files(std::vector<std::string> paths, std::int64_t max_image_pixels = kMaxImagePixels);
// Images already decoded, named by `names` (or "image 1", "image 2", ...).
ImageSource images_in_memory(std::vector<Image> images, std::vector<std::string> names = {});

// One item of a stream: its name, its load (called on a worker; what it
// throws fails the item alone) and whatever the source attaches for the
// sink (a video frame), handed back in JobItem::attached.
struct StreamItem {
  std::string name;
  std::function<Image()> load;
  std::any attached;
};
// A source of unknown length (video frames): next() gives the next item, or
// nullopt at the end, and is called from one worker at a time, in order; it
// may block. cancel(), when the job stops early (the sink threw), must make
// a blocked next() return.
struct ImageStream {
  std::function<std::optional<StreamItem>()> next;
  std::function<void()> cancel;
};

enum class JobOutput {
  Detections,   // thresholded, NMS applied: what Detector::detect returns
  ScoredBoxes,  // every class of every box above the threshold after NMS: Detector::scored_boxes (mAP ranks these)
  Fitted,       // only the network's input, JobItem::fitted (dusk calibrate); nothing is detected
};

struct JobItem {
  std::size_t index = 0;  // position in the source
  std::string name;
  std::vector<Detection> detections;  // JobOutput::Detections
  std::vector<ScoredBox> scored;      // JobOutput::ScoredBoxes
  Image fitted;                       // JobOutput::Fitted
  int width = 0;   // the original image
  int height = 0;
  double ms = 0;   // detection time; a batch's time is shared among its images
  std::string error;  // empty when the item worked
  std::any attached;  // StreamItem::attached
};

struct JobOptions {
  int batch = 1;                     // images per forward pass; Detections without tiles only
  std::optional<TileOptions> tiles;  // each image cut into tiles (detect_tiled); not with batch > 1
  int workers = 0;                   // whole-image workers; 0: the network's thread count
  JobOutput output = JobOutput::Detections;
  // Called on the worker once an item is detected, with its original image
  // (to draw and save it); what it throws becomes the item's error.
  std::function<void(const JobItem& item, Image& original)> after_detect;
  // Whose names an item's error uses for the options it mentions (Error::message).
  Shell shell = Shell::Library;
};

struct JobSummary {
  std::size_t items = 0;
  std::size_t failed = 0;
  std::size_t detections = 0;  // over the items that worked
  double detect_ms = 0;        // summed JobItem::ms of the items that worked
  double seconds = 0;          // wall time of the whole job
};

// The job options that cannot go together (batch with tiles, scored boxes
// with either), as an OptionError; every job and every shell checks through it.
void check_job_options(const JobOptions& options);

// Runs every item of `source` and calls `sink` on the calling thread in
// input order, as soon as an item and all before it are done; at most
// 2 x workers batches are in flight, so memory stays flat over any length.
// Throws dusk::Error only for options no item could run with.
JobSummary run_detection_job(const Detector& detector, const ImageSource& source, const JobOptions& options,
                             const std::function<void(JobItem&&)>& sink);
// The same over a stream (what the list form runs on). What the sink throws
// stops the job (after cancel() and the workers' current items) and propagates.
JobSummary run_detection_job(const Detector& detector, const ImageStream& stream, const JobOptions& options,
                             const std::function<void(JobItem&&)>& sink);
// Loading and fitting only, without a network (JobOutput::Fitted, whatever
// options.output says): the items' fitted images, for work that runs its own
// passes (calibration). Workers: options.workers, or default_threads().
JobSummary run_fitting_job(const ImageFit& fit, const ImageSource& source, const JobOptions& options,
                           const std::function<void(JobItem&&)>& sink);

}  // namespace dusk
