#pragma once
// The HTTP layer's metrics, with Linkerd's names and labels: request_total when a request
// starts, response_total when its response ends (status_code, classification, grpc_status,
// error), response_latency_ms as the time to the response head, in Linkerd's buckets. Series are
// looked up by their rendered label set under a lock held only for the map lookup; counting is
// atomic.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace meshctl::dataplane::proxy {

// Linkerd's latency buckets, in milliseconds (+Inf implied).
inline constexpr std::array<double, 25> kLatencyBucketsMs{1,    2,    3,    4,    5,     10,    20,    30,    40,
                                                          50,   100,  200,  300,  400,   500,   1000,  2000,  3000,
                                                          4000, 5000, 10000, 20000, 30000, 40000, 50000};

// gRPC codes that make a response a failure: Unknown, DeadlineExceeded, PermissionDenied,
// Internal, Unavailable, DataLoss.
bool grpc_failure(int code);

struct ResponseOutcome {
  int status = 0;
  int grpc_status = -1;  // -1: not gRPC
  std::string error;     // the proxy's own error, empty when the response came from upstream
  bool failure() const;
};

class HttpStats {
 public:
  // `labels` is the request's rendered label list without braces (direction, authority,
  // target_*, tls, ids, dst_*).
  void request(const std::string& labels);
  void response(const std::string& labels, const ResponseOutcome& outcome, double latency_ms);
  std::string render() const;

 private:
  struct Histogram {
    std::array<std::atomic<std::uint64_t>, kLatencyBucketsMs.size() + 1> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_us{0};
  };
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>> requests_;
  std::map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>> responses_;
  std::map<std::string, std::unique_ptr<Histogram>> latency_;
};

}  // namespace meshctl::dataplane::proxy
