// run_detection_job: chunks of `batch` images on ordered workers (run.hpp).
#include "dusk/run.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <new>

#include "dusk/error.hpp"
#include "dusk/options.hpp"
#include "dusk/text.hpp"
#include "util/ordered_work.hpp"

namespace dusk {

namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The item's error: what was thrown, named after the item when it says nothing of it.
std::string failure(const std::string& name, const std::exception& error, Shell shell) {
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr) {
    return cat(name, ": out of memory; allow fewer pixels per image or give the network a smaller input");
  }
  const std::string what = error_message(error, shell);
  return what.find(name) == std::string::npos ? cat(name, ": ", what) : what;
}

// One chunk of up to `batch` items, numbered from `first`: loaded one by one
// (a broken image fails alone), detected in one pass, handed to after_detect.
// `detector` is null for a fitting job, which fits by `fit`.
std::vector<JobItem> run_chunk(const Detector* detector, const ImageFit& fit, std::vector<StreamItem> chunk,
                               const JobOptions& options, std::size_t first) {
  const std::size_t size = chunk.size();
  std::vector<JobItem> items(size);
  std::vector<Image> originals(size);
  std::vector<FittedImage> fitted;
  std::vector<std::size_t> loaded;  // positions in the chunk of the items that loaded
  const bool fit_only = options.output == JobOutput::Fitted;
  const bool whole = !options.tiles && options.output == JobOutput::Detections;  // detected from a fitted copy
  for (std::size_t k = 0; k < size; ++k) {
    JobItem& item = items[k];
    item.index = first + k;
    item.name = std::move(chunk[k].name);
    item.attached = std::move(chunk[k].attached);
    try {
      originals[k] = chunk[k].load();
      item.width = originals[k].w;
      item.height = originals[k].h;
      if (fit_only) {
        item.fitted = detector != nullptr ? detector->fit_to_network(originals[k]) : fit_image(originals[k], fit);
        originals[k] = Image();
        continue;
      }
      if (whole) {
        fitted.push_back({detector->fit_to_network(originals[k]), originals[k].w, originals[k].h});
        if (!options.after_detect) originals[k] = Image();  // only drawing needs it again
      }
      loaded.push_back(k);
    } catch (const std::exception& error) {
      item.error = failure(item.name, error, options.shell);
    }
  }
  try {
    const Clock::time_point start = Clock::now();
    if (whole) {
      std::vector<std::vector<Detection>> found = fitted.empty() ? std::vector<std::vector<Detection>>{}
                                                                 : detector->detect_fitted(std::move(fitted));
      for (std::size_t j = 0; j < loaded.size(); ++j) items[loaded[j]].detections = std::move(found[j]);
    } else {
      for (const std::size_t k : loaded) {
        if (options.output == JobOutput::ScoredBoxes) {
          items[k].scored = detector->scored_boxes(originals[k]);
        } else {
          items[k].detections = detect_tiled(*detector, originals[k], *options.tiles);
        }
      }
    }
    const double ms = elapsed_ms(start);
    for (const std::size_t k : loaded) items[k].ms = ms / static_cast<double>(loaded.size());
  } catch (const std::exception& error) {
    for (const std::size_t k : loaded) items[k].error = failure(items[k].name, error, options.shell);
    loaded.clear();
  }
  if (options.after_detect) {
    for (const std::size_t k : loaded) {
      try {
        options.after_detect(items[k], originals[k]);
      } catch (const std::exception& error) {
        items[k].error = failure(items[k].name, error, options.shell);
      }
    }
  }
  return items;
}

}  // namespace

ImageSource image_files(std::vector<std::string> paths, std::int64_t max_image_pixels) {
  auto shared = std::make_shared<const std::vector<std::string>>(std::move(paths));
  return {shared->size(), [shared](std::size_t i) { return (*shared)[i]; },
          [shared, max_image_pixels](std::size_t i) { return load_image((*shared)[i], max_image_pixels); }};
}

ImageSource images_in_memory(std::vector<Image> images, std::vector<std::string> names) {
  auto shared = std::make_shared<const std::vector<Image>>(std::move(images));
  auto labels = std::make_shared<const std::vector<std::string>>(std::move(names));
  return {shared->size(),
          [labels](std::size_t i) { return i < labels->size() ? (*labels)[i] : cat("image ", i + 1); },
          [shared](std::size_t i) { return (*shared)[i]; }};
}

namespace {

// A list read as a stream, in order.
ImageStream list_stream(const ImageSource& source) {
  auto next = std::make_shared<std::size_t>(0);  // shared by every copy of the lambda
  ImageStream stream;
  stream.next = [&source, next]() -> std::optional<StreamItem> {
    if (*next >= source.count) return std::nullopt;
    const std::size_t i = (*next)++;
    StreamItem item;
    try {
      item.name = source.name(i);
    } catch (const std::exception& error) {
      item.name = cat("item ", i + 1);
      const std::string why = error.what();
      item.load = [why]() -> Image { throw Error(why); };
      return item;
    }
    item.load = [&source, i] { return source.load(i); };
    return item;
  };
  return stream;
}

// The job itself; `detector` is null for a fitting job.
JobSummary run_job(const Detector* detector, const ImageFit& fit, const ImageStream& stream, const JobOptions& options,
                   const std::function<void(JobItem&&)>& sink) {
  check_job_options(options);
  const Clock::time_point start = Clock::now();
  const std::size_t batch = static_cast<std::size_t>(options.batch);
  const int workers = options.workers > 0 ? options.workers
                      : detector != nullptr ? detector->network().threads()
                                            : default_threads();
  JobSummary summary;
  std::size_t items_taken = 0;  // numbers the items; takes happen one at a time
  struct Chunk {
    std::size_t first = 0;
    std::vector<StreamItem> items;
  };
  run_in_order<std::vector<JobItem>>(
      workers,
      [&]() -> std::optional<Chunk> {
        Chunk chunk{items_taken, {}};
        while (chunk.items.size() < batch) {
          std::optional<StreamItem> item = stream.next();
          if (!item) break;
          chunk.items.push_back(std::move(*item));
        }
        if (chunk.items.empty()) return std::nullopt;
        items_taken += chunk.items.size();
        return chunk;
      },
      [&](std::size_t, Chunk&& chunk) { return run_chunk(detector, fit, std::move(chunk.items), options, chunk.first); },
      [&](std::size_t, std::vector<JobItem>&& items) {
        for (JobItem& item : items) {
          ++summary.items;
          if (item.error.empty()) {
            summary.detections += item.detections.size() + item.scored.size();
            summary.detect_ms += item.ms;
          } else {
            ++summary.failed;
          }
          sink(std::move(item));
        }
      },
      stream.cancel);
  summary.seconds = elapsed_ms(start) / 1000.0;
  return summary;
}

}  // namespace

void check_job_options(const JobOptions& options) {
  batch_option(options.batch);
  if (options.batch > 1 && options.tiles) {
    throw OptionError(Option::Batch, {Option::Batch, " and ", Option::Tiles,
                                      " do not go together: a tiled image is already a batch of its tiles"});
  }
  if (options.output == JobOutput::ScoredBoxes && (options.batch > 1 || options.tiles)) {
    throw Error("scored boxes (for mAP) are made image by image, without batches or tiles");
  }
}

JobSummary run_detection_job(const Detector& detector, const ImageSource& source, const JobOptions& options,
                             const std::function<void(JobItem&&)>& sink) {
  return run_job(&detector, {}, list_stream(source), options, sink);
}

JobSummary run_detection_job(const Detector& detector, const ImageStream& stream, const JobOptions& options,
                             const std::function<void(JobItem&&)>& sink) {
  return run_job(&detector, {}, stream, options, sink);
}

JobSummary run_fitting_job(const ImageFit& fit, const ImageSource& source, const JobOptions& options,
                           const std::function<void(JobItem&&)>& sink) {
  JobOptions fitting = options;
  fitting.output = JobOutput::Fitted;
  fitting.batch = 1;
  fitting.tiles.reset();
  return run_job(nullptr, fit, list_stream(source), fitting, sink);
}

}  // namespace dusk
