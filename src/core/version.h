#pragma once
#include <string_view>

namespace meshctl::core {

// The release version, set by the build (CMake's project version).
constexpr std::string_view version() { return MESHCTL_VERSION; }

}  // namespace meshctl::core
