#pragma once
// A Resolver over a static map, for proxy tests: targets set before a watch answer at once;
// a target can also be left pending (no answer yet) or changed while the proxy runs.
// Snapshots sit behind one mutex: tests need simple, not lock-free.

#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "core/discovery/resolver.h"

namespace meshctl::test {

class FakeResolver : public core::discovery::Resolver {
 public:
  void set(const std::string& target, core::discovery::EndpointSet set) {
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard lock(mu_);
      auto& w = watch_for(target);
      w->snapshot = std::make_shared<const core::discovery::EndpointSet>(std::move(set));
      ready.swap(w->waiting);
    }
    for (auto& r : ready) r();
  }
  // The target exists for discovery but has not answered yet.
  void set_pending(const std::string& target) {
    std::lock_guard lock(mu_);
    watch_for(target);
  }

  // Targets never set answer "does not exist" at once.
  std::shared_ptr<core::discovery::TargetWatch> watch(const std::string& target) override {
    std::lock_guard lock(mu_);
    const bool known = watches_.count(target) > 0;
    auto& w = watch_for(target);
    if (!known) w->snapshot = std::make_shared<const core::discovery::EndpointSet>();
    return w;
  }

 private:
  struct Watch : core::discovery::TargetWatch {
    std::mutex* mu = nullptr;
    core::discovery::EndpointSnapshot snapshot;
    std::vector<std::function<void()>> waiting;
    core::discovery::EndpointSnapshot current() const override {
      std::lock_guard lock(*mu);
      return snapshot;
    }
    void on_first_snapshot(std::function<void()> ready) override {
      {
        std::lock_guard lock(*mu);
        if (!snapshot) {
          waiting.push_back(std::move(ready));
          return;
        }
      }
      ready();
    }
  };
  std::shared_ptr<Watch>& watch_for(const std::string& target) {
    auto& w = watches_[target];
    if (!w) {
      w = std::make_shared<Watch>();
      w->mu = &mu_;
    }
    return w;
  }
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Watch>> watches_;
};

}  // namespace meshctl::test
