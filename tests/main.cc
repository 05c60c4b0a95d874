#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <string_view>

#include "common/log.h"

int main(int argc, char** argv) {
  // Task transitions log at INFO; tests keep stderr for warnings unless asked.
  const char* level = std::getenv("COUPONFLOW_TEST_LOG");
  couponflow::log::set_min_level(level != nullptr && std::string_view(level) == "info"
                                     ? couponflow::log::Level::kInfo
                                     : couponflow::log::Level::kWarn);
  doctest::Context context(argc, argv);
  return context.run();
}
