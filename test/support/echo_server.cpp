#include "support/echo_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace meshctl::test {
namespace {

int listen_loopback(int backlog, int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, backlog) != 0) {
    throw std::runtime_error("test listener: cannot bind");
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

int connect_loopback(int port, bool nonblocking = false) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && !nonblocking) {
    close(fd);
    return -1;
  }
  return fd;
}

bool write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

EchoServer::EchoServer(std::string banner) : banner_(std::move(banner)) {
  listen_fd_ = listen_loopback(64, port_);
  accept_thread_ = std::thread([this] {
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      ++accepted_;
      std::lock_guard lock(mu_);
      fds_.push_back(fd);
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  });
}

EchoServer::~EchoServer() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  close(listen_fd_);
  accept_thread_.join();
  std::lock_guard lock(mu_);
  for (int fd : fds_) shutdown(fd, SHUT_RDWR);
  for (auto& t : connections_) t.join();
  for (int fd : fds_) close(fd);
}

void EchoServer::serve(int fd) {
  if (!banner_.empty() && !write_all(fd, banner_)) return;
  std::string buf;
  char chunk[4096];
  bool http = false, decided = false;
  for (;;) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      shutdown(fd, SHUT_WR);
      return;
    }
    if (!decided) {
      const std::string_view first(chunk, static_cast<std::size_t>(n));
      http = first.rfind("GET ", 0) == 0 || first.rfind("POST ", 0) == 0 || first.rfind("HEAD ", 0) == 0;
      decided = true;
    }
    if (!http) {
      if (!write_all(fd, std::string(chunk, static_cast<std::size_t>(n)))) return;
      continue;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
    for (auto end = buf.find("\r\n\r\n"); end != std::string::npos; end = buf.find("\r\n\r\n")) {
      const std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      const auto sp = head.find(' ');
      const std::string path = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
      if (path == "/slow") std::this_thread::sleep_for(std::chrono::seconds(1));
      const std::string body = "hello from backend " + path + "\n";
      if (!write_all(fd, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: " + std::to_string(body.size()) +
                             "\r\n\r\n" + body)) {
        return;
      }
    }
  }
}

BlackholeListener::BlackholeListener() {
  listen_fd_ = listen_loopback(0, port_);
  // Linux keeps backlog+1 connections queued; SYNs after that are dropped.
  for (int i = 0; i < 4; ++i) fillers_.push_back(connect_loopback(port_, true));
}

BlackholeListener::~BlackholeListener() {
  for (int fd : fillers_) close(fd);
  close(listen_fd_);
}

std::string tcp_exchange(int port, const std::string& send_bytes, bool half_close, int timeout_ms,
                         std::size_t stop_after) {
  const int fd = connect_loopback(port);
  if (fd < 0) return "<connect failed>";
  if (!send_bytes.empty()) write_all(fd, send_bytes);
  if (half_close) shutdown(fd, SHUT_WR);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char chunk[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
    if (out.size() >= stop_after) break;
  }
  close(fd);
  return out;
}

}  // namespace meshctl::test
