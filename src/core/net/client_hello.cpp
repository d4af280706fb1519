#include "core/net/client_hello.h"

#include <cstdint>

namespace meshctl::core::net {
namespace {

// A cursor over untrusted bytes: every read checks the bound, and a failed read poisons it.
class Reader {
 public:
  explicit Reader(std::span<const unsigned char> b) : b_(b) {}
  bool ok() const { return ok_; }
  std::size_t left() const { return ok_ ? b_.size() - pos_ : 0; }
  std::uint32_t u(int n) {
    std::uint32_t v = 0;
    if (!need(n)) return 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | b_[pos_++];
    return v;
  }
  Reader sub(std::size_t n) {
    if (!need(n)) return Reader({});
    Reader r(b_.subspan(pos_, n));
    pos_ += n;
    return r;
  }
  std::string str(std::size_t n) {
    if (!need(n)) return {};
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void skip(std::size_t n) { need(n) && (pos_ += n); }

 private:
  bool need(std::size_t n) {
    if (!ok_ || b_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  std::span<const unsigned char> b_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

constexpr unsigned kHandshake = 22;
constexpr unsigned kClientHello = 1;
constexpr unsigned kExtServerName = 0;
constexpr unsigned kExtAlpn = 16;

}  // namespace

ClientHelloResult parse_client_hello(std::span<const unsigned char> bytes) {
  ClientHelloResult r;
  if (bytes.empty()) return {ClientHelloStatus::incomplete, {}};
  if (bytes[0] != kHandshake) return r;
  if (bytes.size() >= 2 && bytes[1] != 3) return r;  // record version major is always 3
  if (bytes.size() < 5) return {ClientHelloStatus::incomplete, {}};
  const std::size_t record_len = (std::size_t(bytes[3]) << 8) | bytes[4];
  if (record_len == 0 || record_len > 16384) return r;
  if (bytes.size() > 5 && bytes[5] != kClientHello) return r;
  // A ClientHello larger than one record (post-quantum key shares can do that) is parsed from
  // its first record only; SNI and ALPN come early in practice.
  if (bytes.size() < 5 + record_len) return {ClientHelloStatus::incomplete, {}};
  Reader rec(bytes.subspan(5, record_len));
  if (rec.u(1) != kClientHello) return r;
  const std::size_t body_len = rec.u(3);
  Reader body = rec.sub(std::min<std::size_t>(body_len, rec.left()));
  body.skip(2 + 32);            // legacy_version, random
  body.skip(body.u(1));         // session id
  body.skip(body.u(2));         // cipher suites
  body.skip(body.u(1));         // compression methods
  if (!body.ok()) return r;
  if (body.left() == 0) return {ClientHelloStatus::complete, {}};
  Reader exts = body.sub(body.u(2));
  while (exts.ok() && exts.left() >= 4) {
    const auto type = exts.u(2);
    Reader ext = exts.sub(exts.u(2));
    if (type == kExtServerName) {
      Reader list = ext.sub(ext.u(2));
      while (list.ok() && list.left() >= 3) {
        const auto name_type = list.u(1);
        const auto len = list.u(2);
        if (name_type == 0) {
          r.hello.server_name = list.str(len);
        } else {
          list.skip(len);
        }
      }
    } else if (type == kExtAlpn) {
      Reader list = ext.sub(ext.u(2));
      while (list.ok() && list.left() >= 1) {
        const auto len = list.u(1);
        r.hello.alpn.push_back(list.str(len));
      }
    }
  }
  if (!exts.ok()) return r;
  r.status = ClientHelloStatus::complete;
  return r;
}

}  // namespace meshctl::core::net
