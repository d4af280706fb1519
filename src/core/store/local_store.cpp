#include "core/store/local_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/log/log.h"
#include "core/metrics/registry.h"
#include "core/yaml/manifest_stream.h"

namespace meshctl::core::store {
namespace fs = std::filesystem;

std::string FileProblem::to_string() const {
  return line > 0 ? file + ":" + std::to_string(line) + ": " + problem : file + ": " + problem;
}

namespace {

// Kinds that live outside namespaces; everything else defaults to "default" like kubectl.
const std::set<std::string, std::less<>> kClusterScoped{
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "StorageClass", "PriorityClass",
    "APIService", "IngressClass", "RuntimeClass"};

// ManifestError says "<source>: document <n>, line <l>: <problem>"; the store reports
// "<source>:<l>: <problem>", the form editors and compilers use.
std::string problem_of(const yaml::ManifestError& e) {
  const std::string what = e.what();
  const auto at = what.find(", line ");
  if (at == std::string::npos) return what;
  const auto colon = what.find(": ", at);
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

std::optional<std::string> check_object(const Json& o) {
  if (!o.is_object()) return "expected a Kubernetes object (a mapping)";
  const auto kind = o.find("kind");
  if (kind == o.end() || !kind->is_string() || kind->get<std::string>().empty()) return "object without kind";
  const auto meta = o.find("metadata");
  if (meta == o.end() || !meta->is_object()) return kind->get<std::string>() + " without metadata";
  const auto name = meta->find("name");
  if (name == meta->end() || !name->is_string() || name->get<std::string>().empty()) {
    return kind->get<std::string>() + " without metadata.name";
  }
  if (const auto ns = meta->find("namespace"); ns != meta->end() && !ns->is_string()) {
    return "metadata.namespace is not a string";
  }
  return std::nullopt;
}

bool wanted_file(const fs::path& p) {
  const auto ext = p.extension().string();
  const auto name = p.filename().string();
  // Editors' swap and backup files and hidden files (ConfigMap's ..data) are not manifests.
  if (name.empty() || name[0] == '.') return false;
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// What tells a file changed without reading it.
struct Stamp {
  std::int64_t mtime_ns = 0;
  std::int64_t size = -1;
  std::uint64_t inode = 0;
  friend bool operator==(const Stamp&, const Stamp&) = default;
};

std::optional<Stamp> stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return Stamp{std::int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, std::int64_t(st.st_size),
               std::uint64_t(st.st_ino)};
}

}  // namespace

std::optional<std::vector<ObjectPtr>> parse_manifest_file(const std::string& text, const std::string& source,
                                                          FileProblem& problem) {
  problem = {source, 0, {}};
  std::vector<ObjectPtr> out;
  try {
    const yaml::ManifestStream stream(text, source);
    for (size_t i = 0; i < stream.size(); ++i) {
      const Json& doc = stream.document(i);
      std::vector<const Json*> objects{&doc};
      if (doc.is_object() && doc.value("kind", "") == "List" && doc.contains("items")) {
        if (!doc["items"].is_array()) {
          problem = {source, stream.line(i), "List items is not a sequence"};
          return std::nullopt;
        }
        objects.clear();
        for (const auto& item : doc["items"]) objects.push_back(&item);
      }
      for (const Json* o : objects) {
        if (auto why = check_object(*o)) {
          problem = {source, stream.line(i), *why};
          return std::nullopt;
        }
        auto copy = std::make_shared<Json>(*o);
        auto& meta = (*copy)["metadata"];
        if (!kClusterScoped.contains((*copy)["kind"].get<std::string>())) {
          if (!meta.contains("namespace") || meta["namespace"].get<std::string>().empty()) meta["namespace"] = "default";
        } else {
          meta.erase("namespace");
        }
        out.push_back(std::move(copy));
      }
    }
  } catch (const yaml::ManifestError& e) {
    problem = {source, e.line(), problem_of(e)};
    return std::nullopt;
  } catch (const std::exception& e) {
    problem = {source, 0, e.what()};
    return std::nullopt;
  }
  return out;
}

struct LocalStore::FileState {
  Stamp stamp;
  std::vector<ObjectPtr> objects;  // the last good parse
  std::optional<FileProblem> problem;
};

LocalStore::LocalStore(LocalStoreOptions options) : options_(std::move(options)) {}

LocalStore::~LocalStore() { stop(); }

std::vector<FileProblem> LocalStore::rescan() {
  std::error_code ec;
  if (!fs::is_directory(options_.directory, ec)) {
    throw Error("--registry " + options_.directory + ": not a readable directory");
  }
  // Paths first, sorted, so the same directory always gives the same snapshot.
  std::vector<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(options_.directory, fs::directory_options::follow_directory_symlink,
                                                  ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().starts_with('.') && it->is_directory(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && wanted_file(it->path())) paths.push_back(it->path().string());
  }
  std::sort(paths.begin(), paths.end());

  std::lock_guard lock(mu_);
  std::vector<FileProblem> found;
  bool changed = false;
  std::map<std::string, std::shared_ptr<FileState>> next;
  for (const auto& path : paths) {
    const auto stamp = stamp_of(path);
    if (!stamp) continue;  // removed between the listing and now: gone
    auto old = files_.find(path);
    if (old != files_.end() && old->second->stamp == *stamp) {
      next.emplace(path, old->second);
      continue;
    }
    auto state = std::make_shared<FileState>();
    state->stamp = *stamp;
    if (old != files_.end()) state->objects = old->second->objects;
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    FileProblem problem;
    if (!in) {
      problem = {path, 0, "cannot read the file"};
    } else if (auto objects = parse_manifest_file(text.str(), path, problem)) {
      state->objects = std::move(*objects);
      state->problem.reset();
      changed = true;
      next.emplace(path, std::move(state));
      continue;
    }
    state->problem = problem;
    found.push_back(problem);
    log::warn("store", problem.to_string() + (old != files_.end() ? " (keeping the objects it held before)" : ""));
    if (options_.metrics) {
      options_.metrics->counter("store_load_errors_total", "Files of the registry that failed to load, by file",
                                {{"file", path}}).inc();
    }
    next.emplace(path, std::move(state));
  }
  if (next.size() != files_.size()) changed = true;  // a file went away (or came, handled above)
  files_ = std::move(next);

  if (options_.metrics) {
    std::size_t broken = 0;
    for (const auto& [p, f] : files_) broken += f->problem ? 1 : 0;
    options_.metrics->gauge("store_files_broken", "Registry files whose last change did not load").set(double(broken));
  }
  if (changed || version_ == 0) {
    std::vector<ObjectPtr> all;
    for (const auto& [p, f] : files_) all.insert(all.end(), f->objects.begin(), f->objects.end());
    auto snapshot = std::make_shared<const Snapshot>(all, ++version_);
    if (options_.metrics) {
      options_.metrics->gauge("store_objects", "Objects in the registry").set(double(snapshot->size()));
      options_.metrics->counter("store_reloads_total", "Snapshots published").inc();
    }
    log::debug("store", "snapshot " + std::to_string(version_) + ": " + std::to_string(snapshot->size()) +
                            " objects from " + std::to_string(files_.size()) + " files");
    publisher_.publish(std::move(snapshot));
  }
  return found;
}

std::vector<FileProblem> LocalStore::problems() const {
  std::lock_guard lock(mu_);
  std::vector<FileProblem> out;
  for (const auto& [p, f] : files_) {
    if (f->problem) out.push_back(*f->problem);
  }
  return out;
}

void LocalStore::start() {
  rescan();
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { poll_loop(); });
}

void LocalStore::stop() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LocalStore::poll_loop() {
  std::unique_lock lock(loop_mu_);
  while (!loop_cv_.wait_for(lock, options_.poll_interval, [&] { return stopping_; })) {
    lock.unlock();
    try {
      rescan();
    } catch (const std::exception& e) {
      // The directory vanished or became unreadable: keep serving what was loaded.
      log::warn("store", e.what());
    }
    lock.lock();
  }
}

}  // namespace meshctl::core::store
