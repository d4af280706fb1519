// The HTTP/2 error answer, checked with nghttp2's client side.
#include <nghttp2/nghttp2.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <string>

#include "dataplane/proxy/h2_error.h"

using meshctl::dataplane::proxy::H2ErrorResponder;

namespace {

struct Client {
  nghttp2_session* session = nullptr;
  std::map<std::string, std::string> headers;
  bool closed = false;
  Client() {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame*, const uint8_t* n, size_t nl, const uint8_t* v, size_t vl, uint8_t,
                void* u) {
          static_cast<Client*>(u)->headers[std::string(reinterpret_cast<const char*>(n), nl)] =
              std::string(reinterpret_cast<const char*>(v), vl);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cbs, [](nghttp2_session*, int32_t, uint32_t, void* u) {
          static_cast<Client*>(u)->closed = true;
          return 0;
        });
    nghttp2_session_client_new(&session, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Client() { nghttp2_session_del(session); }
  std::string request(bool grpc) {
    std::string m = "POST", p = "/pkg.Svc/Call", sch = "http", a = "svc:80", ct = "application/grpc";
    auto nv = [](const char* n, std::string& v) -> nghttp2_nv {
      return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n)), reinterpret_cast<uint8_t*>(v.data()),
                        strlen(n), v.size(), NGHTTP2_NV_FLAG_NONE};
    };
    std::vector<nghttp2_nv> h{nv(":method", m), nv(":path", p), nv(":scheme", sch), nv(":authority", a)};
    if (grpc) h.push_back(nv("content-type", ct));
    nghttp2_submit_request(session, nullptr, h.data(), h.size(), nullptr, nullptr);
    std::string out;
    const uint8_t* data = nullptr;
    for (ssize_t n; (n = nghttp2_session_mem_send(session, &data)) > 0;) out.append(reinterpret_cast<const char*>(data), n);
    return out;
  }
};

}  // namespace

TEST_CASE("HTTP/2 clients get the proxy's error as a response, gRPC clients as a grpc-status", "[proxy]") {
  for (bool grpc : {false, true}) {
    Client c;
    H2ErrorResponder r(503, "no endpoints for web:80");
    const auto bytes = c.request(grpc);
    // Byte by byte: the request may arrive in any number of reads.
    for (char b : bytes) REQUIRE(r.receive(std::string_view(&b, 1)));
    REQUIRE(r.answered());
    const auto out = r.take_output();
    REQUIRE(nghttp2_session_mem_recv(c.session, reinterpret_cast<const uint8_t*>(out.data()), out.size()) ==
            static_cast<ssize_t>(out.size()));
    CHECK(c.closed);
    CHECK(c.headers["meshctl-proxy-error"] == "no endpoints for web:80");
    if (grpc) {
      CHECK(c.headers[":status"] == "200");
      CHECK(c.headers["grpc-status"] == "14");
    } else {
      CHECK(c.headers[":status"] == "503");
    }
  }
  H2ErrorResponder r(502, "x");
  CHECK_FALSE(r.receive("GET / HTTP/1.1\r\n\r\n"));
  CHECK(H2ErrorResponder::grpc_status_for(504) == 4);
  CHECK(H2ErrorResponder::grpc_status_for(403) == 7);
}
