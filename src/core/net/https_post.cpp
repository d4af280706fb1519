#include "core/net/https_post.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/net/host_port.h"
#include "core/net/resolve.h"

namespace meshctl::core::net {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

std::string ssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

int connect_with_timeout(const ResolvedAddress& a, std::chrono::milliseconds timeout) {
  const int fd = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.length) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
      err != 0) {
    ::close(fd);
    return -1;
  }
  // Back to blocking with timeouts: this client does one exchange and is never on the hot path.
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

}  // namespace

HttpsPostResponse https_post(const HttpsPostRequest& r) {
  const auto hp = parse_host_port(r.address, "address");
  const std::string where = r.address;
  if (r.trust_anchors.empty()) throw Error(where + ": no trust anchors to verify the server with");

  std::unique_ptr<SSL_CTX, CtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw Error(where + ": " + ssl_error());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  for (const auto& anchor : r.trust_anchors) X509_STORE_add_cert(store, anchor.native());

  Fd sock;
  std::string tried;
  for (const auto& a : resolve(hp.host, hp.port, r.timeout)) {
    sock.fd = connect_with_timeout(a, r.timeout);
    if (sock.fd >= 0) break;
    tried += (tried.empty() ? "" : ", ") + a.text;
  }
  if (sock.fd < 0) throw Error(where + ": cannot connect (" + tried + ")");

  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx.get()));
  if (!ssl) throw Error(where + ": " + ssl_error());
  SSL_set_fd(ssl.get(), sock.fd);
  SSL_set_tlsext_host_name(ssl.get(), r.server_name.c_str());
  // The server must prove exactly the expected identity, not the name we dialled.
  SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  if (SSL_set1_host(ssl.get(), r.server_name.c_str()) != 1) throw Error(where + ": bad server name");
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    if (verify != X509_V_OK) {
      ERR_clear_error();
      throw Error(where + ": the server is not " + r.server_name + " under the trust anchors (" +
                  X509_verify_cert_error_string(verify) + ")");
    }
    throw Error(where + ": TLS handshake failed: " + ssl_error());
  }

  std::string req = "POST " + r.path + " HTTP/1.1\r\nHost: " + hp.host + "\r\nContent-Type: " + r.content_type +
                    "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
  size_t written = 0;
  while (written < req.size()) {
    const int n = SSL_write(ssl.get(), req.data() + written, static_cast<int>(req.size() - written));
    if (n <= 0) throw Error(where + ": write failed: " + ssl_error());
    written += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[16384];
  for (;;) {
    const int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n > 0) {
      resp.append(buf, static_cast<size_t>(n));
      if (resp.size() > r.max_response_bytes) throw Error(where + ": response too large");
      continue;
    }
    const int e = SSL_get_error(ssl.get(), n);
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) break;
    throw Error(where + ": read failed: " + ssl_error());
  }
  ERR_clear_error();

  const size_t head_end = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || resp.size() < 12) {
    throw Error(where + ": not an HTTP response");
  }
  HttpsPostResponse out;
  out.status = std::atoi(resp.c_str() + 9);
  std::string head = resp.substr(0, head_end);
  std::string body = resp.substr(head_end + 4);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    // De-chunk: size line, data, CRLF ... until a zero-size chunk.
    std::string plain;
    size_t pos = 0;
    for (;;) {
      const size_t eol = body.find("\r\n", pos);
      if (eol == std::string::npos) throw Error(where + ": truncated chunked response");
      const size_t size = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
      if (size == 0) break;
      if (eol + 2 + size > body.size()) throw Error(where + ": truncated chunked response");
      plain += body.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    body = std::move(plain);
  }
  out.body = std::move(body);
  return out;
}

}  // namespace meshctl::core::net
