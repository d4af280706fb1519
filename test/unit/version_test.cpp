#include <catch2/catch.hpp>

#include "core/version.h"

TEST_CASE("the version is a semantic version", "[version]") {
  const std::string v{meshctl::core::version()};
  REQUIRE(std::count(v.begin(), v.end(), '.') == 2);
}
