#pragma once
// The seam between the proxy and discovery. The proxy asks for a target ("host:port") and gets a
// watch whose current snapshot it reads lock-free on every connection or request; the
// destination client (or a fake in tests) keeps the snapshot current. A watch outlives a lost
// connection to the destination service: the proxy keeps serving on the last snapshot.

#include <functional>
#include <memory>
#include <string>

#include "core/discovery/endpoint.h"

namespace meshctl::core::discovery {

class TargetWatch {
 public:
  virtual ~TargetWatch() = default;
  // The latest snapshot, or null before the first answer arrived. Lock-free; any thread.
  virtual EndpointSnapshot current() const = 0;
  // Runs `ready` once, as soon as a first snapshot exists (at once, on the calling thread, when
  // one already does; otherwise on the resolver's thread). Callers post to their own executor.
  virtual void on_first_snapshot(std::function<void()> ready) = 0;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // A watch on `target` ("web.default.svc.cluster.local:80", "10.199.1.10:80"). Watches on the
  // same target are shared. Never blocks. Any thread.
  virtual std::shared_ptr<TargetWatch> watch(const std::string& target) = 0;
};

}  // namespace meshctl::core::discovery
