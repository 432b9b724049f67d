#pragma once
// Darknet's -out JSON (`darknet detector test -out result.json`), written in
// one place for every shell: `dusk detect --json/--jsonl` and its video and
// tracking lines, Python's Detection.to_dict() and Detector.record(), Dask's
// partitions. Keys come in Darknet's order; coordinates and confidences are
// rounded to six decimals, half away from zero, as Darknet's %f prints them.
#include <optional>
#include <string>
#include <vector>

#include "dusk/detector.hpp"
#include "dusk/run.hpp"

namespace dusk {

double six_decimals(double value);

// {"class_id":16,"name":"dog","relative_coordinates":{"center_x":..,"center_y":..,"width":..,"height":..},"confidence":..}
std::string detection_json(const Detection& detection);
// The array of detection_json objects.
std::string objects_json(const std::vector<Detection>& detections);

// One image: {"frame_id":N (when given),"filename":name,"objects":[...]},
// then "width" and "height" of the image when `with_size`; an item that
// failed has "error" (its message) in place of the objects and the size.
std::string image_record_json(const JobItem& item, std::optional<int> frame_id, bool with_size);

}  // namespace dusk
