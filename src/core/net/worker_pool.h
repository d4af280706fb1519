#pragma once
// N io_contexts, one thread each. A connection is accepted into one context and stays there for
// its life, so its coroutine never needs a lock and its memory stays on one core's cache.

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace meshctl::core::net {

class WorkerPool {
 public:
  // `threads` == 0 means one per core.
  explicit WorkerPool(unsigned threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start();
  // Lets running handlers finish their current step, then joins the threads.
  void stop();
  // Round robin over the contexts: where the next connection lives.
  boost::asio::io_context& next();
  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(std::size_t i) { return *contexts_[i]; }

 private:
  struct Guards;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::unique_ptr<Guards> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace meshctl::core::net
