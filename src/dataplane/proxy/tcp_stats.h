#pragma once
// The transport layer's metrics, with Linkerd's names: tcp_open_total, tcp_close_total,
// tcp_open_connections, tcp_read_bytes_total, tcp_write_bytes_total. A connection looks its
// label set up once (under a lock) and then only touches the entry's atomics, so the data path
// never locks. Entries live as long as the stats object, so references stay valid.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace meshctl::dataplane::proxy {

class TcpStats {
 public:
  struct Series {
    std::atomic<std::uint64_t> open_total{0};
    std::atomic<std::uint64_t> close_total{0};
    std::atomic<std::int64_t> open{0};
    std::atomic<std::uint64_t> read_bytes{0};
    std::atomic<std::uint64_t> write_bytes{0};
  };

  // `labels` is the rendered label list without braces: direction="inbound",peer="src",...
  Series& series(const std::string& labels);

  // Prometheus text for the five families.
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Series>> series_;
};

// One open connection's accounting: opened on construction, closed on destruction. Bytes are
// added as they move, so a long-lived connection's counters are current while it is open; the
// increments are relaxed atomics on the series, no lock.
class TcpSeriesGuard {
 public:
  explicit TcpSeriesGuard(TcpStats::Series& s) : s_(s) {
    s_.open_total.fetch_add(1, std::memory_order_relaxed);
    s_.open.fetch_add(1, std::memory_order_relaxed);
  }
  ~TcpSeriesGuard() {
    s_.close_total.fetch_add(1, std::memory_order_relaxed);
    s_.open.fetch_sub(1, std::memory_order_relaxed);
  }
  TcpSeriesGuard(const TcpSeriesGuard&) = delete;
  TcpSeriesGuard& operator=(const TcpSeriesGuard&) = delete;
  void add_read(std::uint64_t n) { s_.read_bytes.fetch_add(n, std::memory_order_relaxed); }
  void add_written(std::uint64_t n) { s_.write_bytes.fetch_add(n, std::memory_order_relaxed); }
  TcpStats::Series& series() { return s_; }

 private:
  TcpStats::Series& s_;
};

// `name="value"` with Prometheus escaping of backslash, quote and newline.
std::string label(const std::string& name, const std::string& value);

}  // namespace meshctl::dataplane::proxy
