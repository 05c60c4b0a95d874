#pragma once
// What was built: the release version (CMake's project version) and the git revision
// of the source tree (`git describe --always --dirty`, "unknown" without git). Shown by
// `couponflow --version`, in couponflow_build_info and couponflow_info.

#include <string_view>

namespace couponflow {

std::string_view build_version();
std::string_view build_revision();

}  // namespace couponflow
