#pragma once
// A small Prometheus registry for the control plane: counters and gauges with labels, rendered
// in the text exposition format. Series are created on first use under a lock; updating an
// existing series is one atomic operation. (The proxy keeps its own per-layer stats.)

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace meshctl::core::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Registry {
 public:
  // The series of family `name` with `labels`; the same name and labels give the same object,
  // which stays valid for the registry's life. `help` is taken from the first call.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});

  // Text exposition format 0.0.4, families sorted by name, series by labels.
  std::string render() const;

 private:
  struct Family {
    std::string type;  // "counter" or "gauge"
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // by rendered label set
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
  };
  Family& family(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// `{a="x",b="y"}` with Prometheus escaping; empty for no labels.
std::string format_labels(const Labels& labels);

}  // namespace meshctl::core::metrics
