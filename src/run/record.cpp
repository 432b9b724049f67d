// Darknet's -out records (record.hpp).
#include "dusk/record.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

namespace dusk {

namespace {

nlohmann::ordered_json detection_object(const Detection& d) {
  return {{"class_id", d.class_id},
          {"name", d.label},
          {"relative_coordinates",
           {{"center_x", six_decimals(d.relative.x)},
            {"center_y", six_decimals(d.relative.y)},
            {"width", six_decimals(d.relative.w)},
            {"height", six_decimals(d.relative.h)}}},
          {"confidence", six_decimals(d.confidence)}};
}

nlohmann::ordered_json objects_array(const std::vector<Detection>& detections) {
  nlohmann::ordered_json objects = nlohmann::ordered_json::array();
  for (const Detection& d : detections) objects.push_back(detection_object(d));
  return objects;
}

}  // namespace

double six_decimals(double value) { return std::round(value * 1e6) / 1e6; }

std::string detection_json(const Detection& detection) { return detection_object(detection).dump(); }

std::string objects_json(const std::vector<Detection>& detections) { return objects_array(detections).dump(); }

std::string image_record_json(const JobItem& item, std::optional<int> frame_id, bool with_size) {
  nlohmann::ordered_json record = nlohmann::ordered_json::object();
  if (frame_id) record["frame_id"] = *frame_id;
  record["filename"] = item.name;
  if (!item.error.empty()) {
    record["error"] = item.error;
    return record.dump();
  }
  record["objects"] = objects_array(item.detections);
  if (with_size) {
    record["width"] = item.width;
    record["height"] = item.height;
  }
  return record.dump();
}

}  // namespace dusk
