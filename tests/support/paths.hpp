#pragma once
// Where the tests find their data: ../shared beside the checkout, Debian's
// darknet package, the project's own cfg/ and the built dusk binary.
#include <string>

namespace dusk::test {

inline const std::string kSharedDir = DUSK_SHARED_DIR;
inline const std::string kSourceDir = DUSK_SOURCE_DIR;
inline const std::string kDuskBinary = DUSK_BINARY;
inline const std::string kDarknetDir = "/usr/share/darknet";

inline std::string shared(const std::string& relative) { return kSharedDir + "/" + relative; }
inline std::string darknet_data(const std::string& relative) { return kDarknetDir + "/data/" + relative; }
inline std::string project(const std::string& relative) { return kSourceDir + "/" + relative; }

}  // namespace dusk::test
