#include "common/build_info.h"

#include "build_revision.h"  // generated: COUPONFLOW_REVISION

// jemalloc's control interface. Weak: without jemalloc in the process it is null, and
// a build with the system allocator needs no jemalloc header or library.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace couponflow {

std::string_view build_version() { return COUPONFLOW_VERSION; }
std::string_view build_revision() { return COUPONFLOW_REVISION; }

std::string allocator_in_use() {
  if (mallctl == nullptr) return "system";
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) != 0 || version == nullptr) {
    return "jemalloc";
  }
  return std::string("jemalloc ") + version;
}

std::string_view configured_allocator() { return COUPONFLOW_CONFIGURED_ALLOCATOR; }

}  // namespace couponflow
