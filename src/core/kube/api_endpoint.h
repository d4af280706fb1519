#pragma once
// Where the Kubernetes API server is and how to authenticate to it. In a pod this comes from the
// service-account mount and KUBERNETES_SERVICE_HOST/PORT; operators and tests can name it.

#include <string>

namespace meshctl::core::kube {

struct ApiEndpoint {
  std::string server;      // "https://10.96.0.1:443"
  std::string token_file;  // bearer token, read on every request so rotation is picked up
  std::string ca_file;     // PEM bundle that signs the API server's certificate
};

// The in-cluster endpoint. Throws core::Error when not running in a pod.
ApiEndpoint in_cluster_endpoint();

}  // namespace meshctl::core::kube
