#pragma once
// The one error type of the CLI and the control plane: a message that names what was wrong and
// where, plus an optional hint. Thrown by core, caught in main (or a server loop), never on the
// data plane's hot path.

#include <stdexcept>
#include <string>

namespace meshctl::core {

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, std::string hint = {})
      : std::runtime_error(std::move(message)), hint_(std::move(hint)) {}
  const std::string& hint() const { return hint_; }

 private:
  std::string hint_;
};

}  // namespace meshctl::core
