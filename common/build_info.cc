#include "common/build_info.h"

#include "build_revision.h"  // generated: COUPONFLOW_REVISION

namespace couponflow {

std::string_view build_version() { return COUPONFLOW_VERSION; }
std::string_view build_revision() { return COUPONFLOW_REVISION; }

}  // namespace couponflow
