#pragma once
// The page GET / serves (built in: dusk serve reads no files from disk).
#include <string_view>

namespace dusk::serve {

extern const std::string_view kWebPage;

}  // namespace dusk::serve
