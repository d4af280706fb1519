#include "dataplane/proxy/http_stats.h"

#include <cstdio>

#include "dataplane/proxy/tcp_stats.h"

namespace meshctl::dataplane::proxy {
namespace {

template <class T>
T& entry(std::map<std::string, std::unique_ptr<T>>& m, const std::string& key) {
  auto& p = m[key];
  if (!p) p = std::make_unique<T>();
  return *p;
}

std::string format_ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

bool grpc_failure(int code) { return code == 2 || code == 4 || code == 7 || code == 13 || code == 14 || code == 15; }

bool ResponseOutcome::failure() const {
  if (!error.empty()) return true;
  if (grpc_status >= 0) return grpc_failure(grpc_status);
  return status >= 500 || status == 0;
}

void HttpStats::request(const std::string& labels) {
  std::atomic<std::uint64_t>* c;
  {
    std::lock_guard lock(mu_);
    c = &entry(requests_, labels);
  }
  c->fetch_add(1, std::memory_order_relaxed);
}

void HttpStats::response(const std::string& labels, const ResponseOutcome& o, double latency_ms) {
  const std::string status = label("status_code", std::to_string(o.status));
  const std::string resp = labels + "," + status + "," + label("classification", o.failure() ? "failure" : "success") +
                           "," + label("grpc_status", o.grpc_status >= 0 ? std::to_string(o.grpc_status) : "") +
                           "," + label("error", o.error);
  std::atomic<std::uint64_t>* c;
  Histogram* h;
  {
    std::lock_guard lock(mu_);
    c = &entry(responses_, resp);
    h = &entry(latency_, labels + "," + status);
  }
  c->fetch_add(1, std::memory_order_relaxed);
  std::size_t i = 0;
  while (i < kLatencyBucketsMs.size() && latency_ms > kLatencyBucketsMs[i]) ++i;
  h->buckets[i].fetch_add(1, std::memory_order_relaxed);
  h->count.fetch_add(1, std::memory_order_relaxed);
  h->sum_us.fetch_add(static_cast<std::uint64_t>(latency_ms * 1000), std::memory_order_relaxed);
}

std::string HttpStats::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP request_total Total count of HTTP requests.\n# TYPE request_total counter\n";
  for (const auto& [l, c] : requests_) out += "request_total{" + l + "} " + std::to_string(c->load()) + "\n";
  out += "# HELP response_total Total count of HTTP responses.\n# TYPE response_total counter\n";
  for (const auto& [l, c] : responses_) out += "response_total{" + l + "} " + std::to_string(c->load()) + "\n";
  out += "# HELP response_latency_ms Time from a request's head to its response's head, "
         "in milliseconds.\n# TYPE response_latency_ms histogram\n";
  for (const auto& [l, h] : latency_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= kLatencyBucketsMs.size(); ++i) {
      cumulative += h->buckets[i].load();
      const std::string le = i < kLatencyBucketsMs.size() ? format_ms(kLatencyBucketsMs[i]) : "+Inf";
      out += "response_latency_ms_bucket{" + l + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "response_latency_ms_sum{" + l + "} " + format_ms(static_cast<double>(h->sum_us.load()) / 1000.0) + "\n";
    out += "response_latency_ms_count{" + l + "} " + std::to_string(h->count.load()) + "\n";
  }
  return out;
}

}  // namespace meshctl::dataplane::proxy
