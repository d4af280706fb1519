#include "core/kube/api_endpoint.h"

#include <cstdlib>

#include "core/error.h"

namespace meshctl::core::kube {

ApiEndpoint in_cluster_endpoint() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    throw Error("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod",
                "outside a cluster, name the API server with --kube-api-server");
  }
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // an IPv6 address
  constexpr const char* dir = "/var/run/secrets/kubernetes.io/serviceaccount/";
  return {"https://" + h + ":" + port, std::string(dir) + "token", std::string(dir) + "ca.crt"};
}

}  // namespace meshctl::core::kube
