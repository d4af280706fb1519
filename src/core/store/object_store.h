#pragma once
// Where the control plane gets its truth: Kubernetes objects, listed and watched. A store
// publishes immutable snapshots of every object it holds; readers keep a snapshot as long as they
// like and never lock. Two stores sit behind this interface: the local store (a directory of
// YAML, this file's companion) and, later, the Kubernetes API.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/yaml/yaml_json.h"

namespace meshctl::core::store {

using Json = yaml::Json;
using ObjectPtr = std::shared_ptr<const Json>;

// Every object of a store at one moment, indexed by kind, namespace and name. Cluster-scoped
// objects (Namespace) have the empty namespace.
class Snapshot {
 public:
  using ByName = std::map<std::string, ObjectPtr, std::less<>>;

  Snapshot() = default;
  // Objects without kind or metadata.name are skipped (stores validate before this); a later
  // object with the same kind, namespace and name replaces an earlier one.
  Snapshot(const std::vector<ObjectPtr>& objects, std::uint64_t version);

  // Grows by one on every change the store publishes.
  std::uint64_t version() const { return version_; }
  std::size_t size() const { return size_; }

  // The object, or null.
  const Json* get(std::string_view kind, std::string_view namespace_name, std::string_view name) const;
  // Objects of `kind` in one namespace, by name (empty when none).
  const ByName& in_namespace(std::string_view kind, std::string_view namespace_name) const;
  // Objects of `kind` in every namespace: namespace -> name -> object.
  const std::map<std::string, ByName, std::less<>>& all(std::string_view kind) const;

 private:
  std::map<std::string, std::map<std::string, ByName, std::less<>>, std::less<>> index_;
  std::uint64_t version_ = 0;
  std::size_t size_ = 0;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Ends a subscription when destroyed.
class Subscription {
 public:
  Subscription() = default;
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  ~Subscription() { reset(); }
  Subscription(Subscription&& o) noexcept : cancel_(std::exchange(o.cancel_, nullptr)) {}
  Subscription& operator=(Subscription&& o) noexcept {
    if (this != &o) {
      reset();
      cancel_ = std::exchange(o.cancel_, nullptr);
    }
    return *this;
  }
  void reset() {
    if (auto c = std::exchange(cancel_, nullptr)) c();
  }

 private:
  std::function<void()> cancel_;
};

class ObjectStore {
 public:
  using Listener = std::function<void(const SnapshotPtr&)>;
  virtual ~ObjectStore() = default;
  // The latest snapshot (list). Never null; empty before anything loaded. Any thread.
  virtual SnapshotPtr current() const = 0;
  // Watch: `listener` gets the current snapshot at once (on the calling thread), then every new
  // one on the store's thread, one call at a time. Listeners must not block for long: they hold
  // up the next snapshot for everybody.
  virtual Subscription subscribe(Listener listener) = 0;
};

// The publishing half shared by stores: holds the current snapshot and the listeners.
class SnapshotPublisher {
 public:
  SnapshotPublisher();
  SnapshotPtr current() const;
  Subscription subscribe(ObjectStore::Listener listener);
  void publish(SnapshotPtr snapshot);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace meshctl::core::store
