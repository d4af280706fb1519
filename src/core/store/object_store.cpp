#include "core/store/object_store.h"

namespace meshctl::core::store {

namespace {
const Snapshot::ByName kNoObjects;
const std::map<std::string, Snapshot::ByName, std::less<>> kNoNamespaces;

std::string string_at(const Json& object, const char* a, const char* b = nullptr) {
  const auto it = object.find(a);
  if (it == object.end()) return {};
  if (!b) return it->is_string() ? it->get<std::string>() : std::string();
  if (!it->is_object()) return {};
  const auto jt = it->find(b);
  return jt != it->end() && jt->is_string() ? jt->get<std::string>() : std::string();
}
}  // namespace

Snapshot::Snapshot(const std::vector<ObjectPtr>& objects, std::uint64_t version) : version_(version) {
  for (const auto& o : objects) {
    if (!o || !o->is_object()) continue;
    const auto kind = string_at(*o, "kind");
    const auto name = string_at(*o, "metadata", "name");
    if (kind.empty() || name.empty()) continue;
    auto& slot = index_[kind][string_at(*o, "metadata", "namespace")][name];
    if (!slot) ++size_;
    slot = o;
  }
}

const Json* Snapshot::get(std::string_view kind, std::string_view namespace_name, std::string_view name) const {
  const auto& objects = in_namespace(kind, namespace_name);
  const auto it = objects.find(name);
  return it == objects.end() ? nullptr : it->second.get();
}

const Snapshot::ByName& Snapshot::in_namespace(std::string_view kind, std::string_view namespace_name) const {
  const auto& namespaces = all(kind);
  const auto it = namespaces.find(namespace_name);
  return it == namespaces.end() ? kNoObjects : it->second;
}

const std::map<std::string, Snapshot::ByName, std::less<>>& Snapshot::all(std::string_view kind) const {
  const auto it = index_.find(kind);
  return it == index_.end() ? kNoNamespaces : it->second;
}

// Listeners are called under `publish_mu` so that each sees snapshots in order and one at a
// time; the listener list has its own lock so unsubscribing from inside a listener is safe.
struct SnapshotPublisher::State {
  mutable std::mutex mu;
  SnapshotPtr current = std::make_shared<const Snapshot>();
  std::map<std::uint64_t, std::shared_ptr<ObjectStore::Listener>> listeners;
  std::uint64_t next_id = 1;
  std::recursive_mutex publish_mu;
};

SnapshotPublisher::SnapshotPublisher() : state_(std::make_shared<State>()) {}

SnapshotPtr SnapshotPublisher::current() const {
  std::lock_guard lock(state_->mu);
  return state_->current;
}

Subscription SnapshotPublisher::subscribe(ObjectStore::Listener listener) {
  auto shared = std::make_shared<ObjectStore::Listener>(std::move(listener));
  std::lock_guard publishing(state_->publish_mu);
  std::uint64_t id;
  SnapshotPtr now;
  {
    std::lock_guard lock(state_->mu);
    id = state_->next_id++;
    state_->listeners.emplace(id, shared);
    now = state_->current;
  }
  (*shared)(now);
  std::weak_ptr<State> weak = state_;
  return Subscription([weak, id] {
    if (auto s = weak.lock()) {
      std::lock_guard lock(s->mu);
      s->listeners.erase(id);
    }
  });
}

void SnapshotPublisher::publish(SnapshotPtr snapshot) {
  std::lock_guard publishing(state_->publish_mu);
  std::vector<std::shared_ptr<ObjectStore::Listener>> listeners;
  {
    std::lock_guard lock(state_->mu);
    state_->current = snapshot;
    for (const auto& [id, l] : state_->listeners) listeners.push_back(l);
  }
  for (const auto& l : listeners) (*l)(snapshot);
}

}  // namespace meshctl::core::store
