#pragma once
// The local store: a directory of ordinary Kubernetes YAML (and JSON) files, read recursively and
// watched, so the same manifests a user applies to a cluster describe a mesh with no cluster.
//
// Changes are found by polling (stat of every file every `poll_interval`) rather than inotify:
// inotify is not recursive (a watch per directory, raced by directories created later), misses
// changes on network and some overlay file systems, and Kubernetes ConfigMap volumes swap a
// symlink rather than write a file. A stat of a few hundred files four times a second costs next
// to nothing, keeps a burst of editor writes to one re-scan, and bounds how late a change is.
//
// Each file's objects are kept separately: a file that fails to parse keeps the objects it held
// before (and contributes none if it never parsed), its error is logged once per change as
// "file:line: problem" and counted, and every other file is unaffected.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/store/object_store.h"

namespace meshctl::core::metrics {
class Registry;
}

namespace meshctl::core::store {

struct FileProblem {
  std::string file;
  int line = 0;  // 1-based; 0 when the problem is not about one line (unreadable file)
  std::string problem;
  // "file:line: problem"
  std::string to_string() const;
};

struct LocalStoreOptions {
  std::string directory;
  std::chrono::milliseconds poll_interval{250};
  // Optional: store_load_errors_total{file}, store_files_broken, store_objects, store_reloads_total.
  metrics::Registry* metrics = nullptr;
};

class LocalStore : public ObjectStore {
 public:
  explicit LocalStore(LocalStoreOptions options);
  ~LocalStore() override;
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  // Reads what changed since the last scan and publishes a snapshot when objects changed.
  // Returns the problems of the files read in this scan. start() calls this on its thread;
  // tests call it directly. Throws core::Error when the directory itself cannot be read.
  std::vector<FileProblem> rescan();
  // Problems of every file that is broken now.
  std::vector<FileProblem> problems() const;

  // Scans once on the calling thread (throwing what rescan throws), then polls on a thread.
  void start();
  void stop();

  SnapshotPtr current() const override { return publisher_.current(); }
  Subscription subscribe(Listener listener) override { return publisher_.subscribe(std::move(listener)); }

 private:
  struct FileState;
  void poll_loop();

  LocalStoreOptions options_;
  SnapshotPublisher publisher_;
  mutable std::mutex mu_;  // files_, version_: rescan may run from a test and the thread
  std::map<std::string, std::shared_ptr<FileState>> files_;
  std::uint64_t version_ = 0;
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Objects of one file's text (YAML stream or JSON; a kind: List is expanded; namespaced objects
// without a namespace get "default", as kubectl would give them). Nothing, with `problem` set,
// when the text is not a valid manifest: all or nothing, so a half-edited file never shows half
// its objects. Exposed for tests.
std::optional<std::vector<ObjectPtr>> parse_manifest_file(const std::string& text, const std::string& source,
                                                          FileProblem& problem);

}  // namespace meshctl::core::store
