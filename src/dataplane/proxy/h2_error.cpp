#include "dataplane/proxy/h2_error.h"

#include <nghttp2/nghttp2.h>

#include <vector>

namespace meshctl::dataplane::proxy {

struct H2ErrorResponder::State {
  int status;
  std::string cause;
  nghttp2_session* session = nullptr;
  std::string output;
  std::int32_t stream = 0;  // the first request's stream, once its headers are complete
  bool grpc = false;
  bool answered = false;
  bool failed = false;

  void answer() {
    const std::string status_text = std::to_string(grpc ? 200 : status);
    const std::string grpc_status = std::to_string(grpc_status_for(status));
    std::vector<nghttp2_nv> headers;
    auto add = [&](std::string_view name, const std::string& value) {
      headers.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                         reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                         NGHTTP2_NV_FLAG_NONE});
    };
    const std::string grpc_type = "application/grpc";
    const std::string zero = "0";
    add(":status", status_text);
    add("meshctl-proxy-error", cause);
    if (grpc) {
      add("content-type", grpc_type);
      add("grpc-status", grpc_status);
      add("grpc-message", cause);
    } else {
      add("content-length", zero);
    }
    // No data provider: the response ends with its headers (trailers-only for gRPC).
    if (nghttp2_submit_response(session, stream, headers.data(), headers.size(), nullptr) != 0) failed = true;
    nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, stream, NGHTTP2_NO_ERROR, nullptr, 0);
    answered = true;
  }
};

namespace {

using State = H2ErrorResponder::State;

int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen, const uint8_t* value,
              size_t valuelen, uint8_t, void* user) {
  auto* s = static_cast<State*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (n == "content-type" && v.rfind("application/grpc", 0) == 0) s->grpc = true;
  return 0;
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* s = static_cast<State*>(user);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST && s->stream == 0) {
    s->stream = frame->hd.stream_id;
    s->answer();
  }
  return 0;
}

}  // namespace

H2ErrorResponder::H2ErrorResponder(int status, std::string cause) : state_(std::make_unique<State>()) {
  state_->status = status;
  state_->cause = std::move(cause);
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_server_new(&state_->session, cbs, state_.get());
  nghttp2_session_callbacks_del(cbs);
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1}};
  nghttp2_submit_settings(state_->session, NGHTTP2_FLAG_NONE, settings, 1);
}

H2ErrorResponder::~H2ErrorResponder() { nghttp2_session_del(state_->session); }

bool H2ErrorResponder::receive(std::string_view bytes) {
  const auto n = nghttp2_session_mem_recv(state_->session, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return n >= 0 && !state_->failed;
}

bool H2ErrorResponder::answered() const { return state_->answered; }

std::string H2ErrorResponder::take_output() {
  std::string out;
  for (;;) {
    const uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(state_->session, &data);
    if (n <= 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return out;
}

int H2ErrorResponder::grpc_status_for(int http_status) {
  switch (http_status) {
    case 502:
    case 503: return 14;
    case 504: return 4;
    case 403: return 7;
    default: return 2;
  }
}

}  // namespace meshctl::dataplane::proxy
