#include "dataplane/proxy/tcp_stats.h"

namespace meshctl::dataplane::proxy {

TcpStats::Series& TcpStats::series(const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& s = series_[labels];
  if (!s) s = std::make_unique<Series>();
  return *s;
}

std::string TcpStats::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, s] : series_) {
      out += std::string(name) + "{" + labels + "} " + std::to_string(value(*s)) + "\n";
    }
  };
  family("tcp_open_total", "counter", "Total count of opened connections.",
         [](const Series& s) { return s.open_total.load(std::memory_order_relaxed); });
  family("tcp_close_total", "counter", "Total count of closed connections.",
         [](const Series& s) { return s.close_total.load(std::memory_order_relaxed); });
  family("tcp_open_connections", "gauge", "Number of currently-open connections.",
         [](const Series& s) { return s.open.load(std::memory_order_relaxed); });
  family("tcp_read_bytes_total", "counter", "Total count of bytes read from peers.",
         [](const Series& s) { return s.read_bytes.load(std::memory_order_relaxed); });
  family("tcp_write_bytes_total", "counter", "Total count of bytes written to peers.",
         [](const Series& s) { return s.write_bytes.load(std::memory_order_relaxed); });
  return out;
}

std::string label(const std::string& name, const std::string& value) {
  std::string out = name + "=\"";
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out + "\"";
}

}  // namespace meshctl::dataplane::proxy
