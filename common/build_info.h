#pragma once
// What was built: the release version (CMake's project version), the git revision of
// the source tree (`git describe --always --dirty`, "unknown" without git) and the
// memory allocator. Shown by `couponflow --version`, in couponflow_build_info and
// couponflow_info.

#include <string>
#include <string_view>

namespace couponflow {

std::string_view build_version();
std::string_view build_revision();
/// The allocator this process actually uses: "jemalloc <version>" when jemalloc
/// serves malloc (linked, or preloaded), else "system".
std::string allocator_in_use();
/// The allocator the build chose (COUPONFLOW_ALLOCATOR): "jemalloc" or "system".
std::string_view configured_allocator();

}  // namespace couponflow
