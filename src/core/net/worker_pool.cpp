#include "core/net/worker_pool.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "core/log/log.h"

namespace meshctl::core::net {

struct WorkerPool::Guards {
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards;
};

WorkerPool::WorkerPool(unsigned threads) : guards_(std::make_unique<Guards>()) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) {
    // Hint 1: each context is run by exactly one thread, so Asio can skip its internal locking.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_->guards.push_back(boost::asio::make_work_guard(*contexts_.back()));
  }
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::start() {
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get()] {
      for (;;) {
        try {
          c->run();
          return;
        } catch (const std::exception& e) {
          // A connection's coroutine must not take the worker down with it.
          core::log::error("proxy", std::string("worker: unexpected exception: ") + e.what());
        }
      }
    });
  }
}

void WorkerPool::stop() {
  guards_->guards.clear();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

boost::asio::io_context& WorkerPool::next() { return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()]; }

}  // namespace meshctl::core::net
