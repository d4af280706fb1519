#pragma once
// Every environment variable that configures the proxy, in one table. The injector writes them
// into the meshctl-proxy container and the proxy reads them (and lists them in `meshctl proxy
// --help`), so a name or a default exists exactly once. The proxy reads nothing else.

#include <array>
#include <string_view>

namespace meshctl::core::proxy_env {

struct Var {
  std::string_view name;
  // What the proxy assumes when the variable is unset; empty means the proxy cannot start
  // without it or the feature is off.
  std::string_view default_value;
  std::string_view description;
};

// Where the control plane is and who it must be.
inline constexpr Var kDestinationAddr{"MESHCTL_PROXY_DESTINATION_ADDR", "",
                                      "host:port of the destination service (discovery, routes, policy)"};
inline constexpr Var kDestinationName{"MESHCTL_PROXY_DESTINATION_NAME", "",
                                      "identity the destination service must present"};
inline constexpr Var kIdentityAddr{"MESHCTL_PROXY_IDENTITY_ADDR", "", "host:port of the identity service"};
inline constexpr Var kIdentityServerName{"MESHCTL_PROXY_IDENTITY_SERVER_NAME", "",
                                         "identity the identity service must present"};

// The proxy's own identity.
inline constexpr Var kIdentityName{"MESHCTL_PROXY_IDENTITY_NAME", "",
                                   "this proxy's identity: <sa>.<ns>.serviceaccount.identity.<mesh-ns>.<trust-domain>"};
inline constexpr Var kIdentityDir{"MESHCTL_PROXY_IDENTITY_DIR", "/var/run/meshctl/identity/end-entity",
                                  "directory (in memory) for the private key and CSR"};
inline constexpr Var kTrustAnchors{"MESHCTL_PROXY_TRUST_ANCHORS", "", "PEM bundle of the mesh's trust anchors"};
inline constexpr Var kTrustDomain{"MESHCTL_PROXY_TRUST_DOMAIN", "cluster.local",
                                  "trust domain of workload identities (SPIFFE URIs)"};
inline constexpr Var kTokenFile{"MESHCTL_PROXY_TOKEN_FILE", "/var/run/secrets/tokens/meshctl-identity-token",
                                "projected service-account token presented to the identity service"};

// Listeners.
inline constexpr Var kInboundAddr{"MESHCTL_PROXY_INBOUND_ADDR", "0.0.0.0:4143", "inbound listener (mesh to app)"};
inline constexpr Var kOutboundAddr{"MESHCTL_PROXY_OUTBOUND_ADDR", "127.0.0.1:4140",
                                   "outbound listener (app to mesh), fed by the iptables redirect"};
inline constexpr Var kAdminAddr{"MESHCTL_PROXY_ADMIN_ADDR", "127.0.0.1:4191",
                                "admin listener: /metrics, /ready, /live, /shutdown, tap"};
inline constexpr Var kInboundPorts{"MESHCTL_PROXY_INBOUND_PORTS", "",
                                   "the pod's container ports, comma-separated (policy is looked up for these)"};

// Where the proxy runs.
inline constexpr Var kNamespace{"MESHCTL_PROXY_NAMESPACE", "", "namespace of the pod"};
inline constexpr Var kPodName{"MESHCTL_PROXY_POD_NAME", "", "name of the pod"};
inline constexpr Var kClusterNetworks{"MESHCTL_PROXY_CLUSTER_NETWORKS",
                                      "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8",
                                      "CIDRs of the cluster (cluster-* default policies)"};

// Behaviour.
inline constexpr Var kOpaquePorts{"MESHCTL_PROXY_OPAQUE_PORTS", "25,587,3306,4444,5432,6379,9300,11211",
                                  "ports and ranges carried as opaque TCP, without protocol detection"};
inline constexpr Var kDefaultInboundPolicy{"MESHCTL_PROXY_DEFAULT_INBOUND_POLICY", "all-unauthenticated",
                                           "policy for ports no Server covers: all-unauthenticated, "
                                           "all-authenticated, cluster-unauthenticated, cluster-authenticated, "
                                           "deny or audit"};
inline constexpr Var kLogLevel{"MESHCTL_PROXY_LOG_LEVEL", "warn,meshctl=info",
                               "log filter: a level or comma-separated target=level directives"};
inline constexpr Var kDetectTimeout{"MESHCTL_PROXY_DETECT_TIMEOUT", "1000ms",
                                    "how long to wait for a client's first bytes before treating it as TCP"};
inline constexpr Var kInboundConnectTimeout{"MESHCTL_PROXY_INBOUND_CONNECT_TIMEOUT", "100ms",
                                            "timeout to connect to the application"};
inline constexpr Var kOutboundConnectTimeout{"MESHCTL_PROXY_OUTBOUND_CONNECT_TIMEOUT", "1000ms",
                                             "timeout to connect to a destination endpoint"};
inline constexpr Var kShutdownGracePeriod{"MESHCTL_PROXY_SHUTDOWN_GRACE_PERIOD", "120s",
                                          "how long open connections may drain after a shutdown signal"};
inline constexpr Var kIngressMode{"MESHCTL_PROXY_INGRESS_MODE", "false",
                                  "route outbound traffic by its Host header (ingress controllers)"};

inline constexpr std::array kAll{
    kDestinationAddr, kDestinationName,    kIdentityAddr,    kIdentityServerName,   kIdentityName,
    kIdentityDir,     kTrustAnchors,       kTrustDomain,     kTokenFile,            kInboundAddr,
    kOutboundAddr,    kAdminAddr,          kInboundPorts,    kNamespace,            kPodName,
    kClusterNetworks, kOpaquePorts,        kDefaultInboundPolicy, kLogLevel,        kDetectTimeout,
    kInboundConnectTimeout, kOutboundConnectTimeout, kShutdownGracePeriod, kIngressMode,
};

}  // namespace meshctl::core::proxy_env
