// The HTTP metric families: names, labels, classification and Linkerd's latency buckets.
#include <catch2/catch.hpp>

#include "dataplane/proxy/http_stats.h"
#include "dataplane/proxy/http_types.h"

using namespace meshctl::dataplane::proxy;

TEST_CASE("responses are classified as Linkerd classifies them", "[proxy][unit]") {
  CHECK_FALSE(ResponseOutcome{200, -1, ""}.failure());
  CHECK_FALSE(ResponseOutcome{404, -1, ""}.failure());
  CHECK(ResponseOutcome{500, -1, ""}.failure());
  CHECK(ResponseOutcome{503, -1, ""}.failure());
  // gRPC answers 200 and says how it went in grpc-status.
  CHECK_FALSE(ResponseOutcome{200, 0, ""}.failure());
  CHECK_FALSE(ResponseOutcome{200, 5, ""}.failure());  // NotFound is the application's answer
  for (int code : {2, 4, 7, 13, 14, 15}) CHECK(ResponseOutcome{200, code, ""}.failure());
  // An answer the proxy produced itself is a failure whatever its status.
  CHECK(ResponseOutcome{200, -1, "stream reset"}.failure());
}

TEST_CASE("request, response and latency series render in the exposition format", "[proxy][unit]") {
  HttpStats stats;
  const std::string labels = R"(direction="outbound",authority="web:80",tls="true",server_id="web.ns")";
  stats.request(labels);
  stats.request(labels);
  stats.response(labels, ResponseOutcome{200, -1, ""}, 0.5);
  stats.response(labels, ResponseOutcome{200, -1, ""}, 7);
  stats.response(labels, ResponseOutcome{503, -1, "no endpoints"}, 60000);
  const auto text = stats.render();
  INFO(text);
  CHECK(text.find("# TYPE request_total counter\nrequest_total{" + labels + "} 2\n") != std::string::npos);
  CHECK(text.find("response_total{" + labels +
                  R"(,status_code="200",classification="success",grpc_status="",error=""} 2)") != std::string::npos);
  CHECK(text.find("response_total{" + labels +
                  R"(,status_code="503",classification="failure",grpc_status="",error="no endpoints"} 1)") !=
        std::string::npos);
  // Cumulative buckets: 0.5ms falls in le=1, 7ms in le=10; 60s only in +Inf.
  CHECK(text.find("response_latency_ms_bucket{" + labels + R"(,status_code="200",le="1"} 1)") != std::string::npos);
  CHECK(text.find("response_latency_ms_bucket{" + labels + R"(,status_code="200",le="5"} 1)") != std::string::npos);
  CHECK(text.find("response_latency_ms_bucket{" + labels + R"(,status_code="200",le="10"} 2)") != std::string::npos);
  CHECK(text.find("response_latency_ms_bucket{" + labels + R"(,status_code="200",le="50000"} 2)") != std::string::npos);
  CHECK(text.find("response_latency_ms_bucket{" + labels + R"(,status_code="503",le="50000"} 0)") != std::string::npos);
  CHECK(text.find("response_latency_ms_bucket{" + labels + R"(,status_code="503",le="+Inf"} 1)") != std::string::npos);
  CHECK(text.find("response_latency_ms_count{" + labels + R"(,status_code="200"} 2)") != std::string::npos);
  CHECK(text.find("response_latency_ms_sum{" + labels + R"(,status_code="200"} 7.5)") != std::string::npos);
}

TEST_CASE("hop-by-hop headers are recognised", "[proxy][unit]") {
  for (const char* h : {"connection", "keep-alive", "transfer-encoding", "upgrade", "te", "proxy-connection", "host"}) {
    CHECK(is_hop_by_hop(h));
  }
  for (const char* h : {"content-type", "content-length", "authorization", "grpc-timeout", "x-forwarded-for"}) {
    CHECK_FALSE(is_hop_by_hop(h));
  }
}
