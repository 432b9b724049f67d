// Calibration file text: parse it, and what parses must format and parse
// back to the same calibration. Any outcome but that or a dusk::Error is a
// finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dusk/calibration.hpp"
#include "dusk/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  dusk::Calibration parsed;
  try {
    parsed = dusk::parse_calibration(text, "fuzz.calib");
  } catch (const dusk::Error&) {
    return 0;
  }
  const dusk::Calibration again = dusk::parse_calibration(dusk::format_calibration(parsed), "formatted.calib");
  const bool same = again.weights_hash == parsed.weights_hash && again.width == parsed.width &&
                    again.height == parsed.height && again.method == parsed.method && again.images == parsed.images &&
                    again.ranges == parsed.ranges &&
                    (parsed.method == dusk::CalibrationMethod::Max || again.percentile == parsed.percentile);
  if (!same) std::abort();
  return 0;
}
