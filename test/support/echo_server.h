#pragma once
// A tiny backend for proxy tests, on 127.0.0.1 with a kernel-chosen port, one thread per
// connection (tests open a handful). A connection that starts with an HTTP request line gets
// HTTP/1.1 answers (keep-alive; "/slow" waits a second first); any other connection is echoed
// byte for byte and half-closed when the client half-closes. With `banner`, the server speaks
// first, as SMTP or MySQL servers do.

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace meshctl::test {

class EchoServer {
 public:
  explicit EchoServer(std::string banner = {});
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void serve(int fd);
  std::string banner_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<int> fds_;
};

// A listener whose accept queue is full, so a connect to it hangs until the caller gives up.
class BlackholeListener {
 public:
  BlackholeListener();
  ~BlackholeListener();
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

// Connects to 127.0.0.1:port, writes `send`, half-closes when asked, reads until EOF or
// `timeout`, or until `stop_after` bytes arrived; returns what was read.
std::string tcp_exchange(int port, const std::string& send, bool half_close, int timeout_ms = 3000,
                         std::size_t stop_after = static_cast<std::size_t>(-1));

}  // namespace meshctl::test
