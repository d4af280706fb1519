#include "core/identity/kubernetes_token_validator.h"

#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace meshctl::core::identity {
namespace {

std::string read_token(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t;
}

TokenVerdict refused(std::string reason, std::string code) {
  TokenVerdict v;
  v.reason = std::move(reason);
  v.reason_code = std::move(code);
  return v;
}

}  // namespace

KubernetesTokenValidator::KubernetesTokenValidator(kube::ApiEndpoint endpoint, std::string audience)
    : endpoint_(std::move(endpoint)), audience_(std::move(audience)) {}

TokenVerdict KubernetesTokenValidator::validate(std::string_view token) {
  nlohmann::json review = {
      {"apiVersion", "authentication.k8s.io/v1"},
      {"kind", "TokenReview"},
      {"spec", {{"token", token}, {"audiences", nlohmann::json::array({audience_})}}},
  };
  httplib::Client client(endpoint_.server);
  client.set_ca_cert_path(endpoint_.ca_file.c_str());
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  client.set_bearer_token_auth(read_token(endpoint_.token_file).c_str());
  auto res = client.Post("/apis/authentication.k8s.io/v1/tokenreviews", review.dump(), "application/json");
  if (!res) {
    return refused("TokenReview: cannot reach the API server: " + httplib::to_string(res.error()), "review_failed");
  }
  if (res->status != 201 && res->status != 200) {
    return refused("TokenReview: the API server answered " + std::to_string(res->status), "review_failed");
  }
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  if (!body.is_object() || !body.contains("status") || !body["status"].is_object()) {
    return refused("TokenReview: the API server's answer has no status", "review_failed");
  }
  const auto& status = body["status"];
  if (!status.value("authenticated", false)) {
    return refused("token not authenticated: " + status.value("error", std::string("no reason given")), "unauthenticated");
  }
  if (status.contains("audiences") && status["audiences"].is_array()) {
    bool found = false;
    for (const auto& a : status["audiences"]) found = found || (a.is_string() && a == audience_);
    if (!found) return refused("token is not for audience \"" + audience_ + "\"", "wrong_audience");
  }
  const std::string username = status.contains("user") && status["user"].is_object()
                                   ? status["user"].value("username", std::string())
                                   : std::string();
  auto sa = parse_service_account_username(username);
  if (!sa) {
    return refused("token user \"" + username + "\" is not system:serviceaccount:<namespace>:<name>",
                   "not_a_service_account");
  }
  TokenVerdict v;
  v.valid = true;
  v.service_account = *sa;
  return v;
}

}  // namespace meshctl::core::identity
