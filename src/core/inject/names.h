#pragma once
// Names the injector writes into pod specs and reads back from them. Uninject, the webhook and
// `check` recognise meshctl's work by these, so each is spelled once here.

#include <array>
#include <string_view>

namespace meshctl::core::inject {

// Opt-in annotation on a pod template or namespace, and its values.
inline constexpr std::string_view kInjectAnnotation = "meshctl.io/inject";
inline constexpr std::string_view kInjectEnabled = "enabled";
inline constexpr std::string_view kInjectDisabled = "disabled";
inline constexpr std::string_view kInjectIngress = "ingress";

// Metadata added to an injected pod.
inline constexpr std::string_view kCreatedByAnnotation = "meshctl.io/created-by";
inline constexpr std::string_view kProxyVersionAnnotation = "meshctl.io/proxy-version";
inline constexpr std::string_view kTrustRootSha256Annotation = "meshctl.io/trust-root-sha256";
inline constexpr std::string_view kControlPlaneNsLabel = "meshctl.io/control-plane-ns";
inline constexpr std::string_view kWorkloadNsLabel = "meshctl.io/workload-ns";
// Followed by the owner's kind in lower case: meshctl.io/proxy-deployment: web.
inline constexpr std::string_view kProxyOwnerLabelPrefix = "meshctl.io/proxy-";

// Per-workload settings, on a pod template or (for every pod in it) a namespace.
inline constexpr std::string_view kConfigPrefix = "config.meshctl.io/";
inline constexpr std::string_view kSkipInboundPortsAnnotation = "config.meshctl.io/skip-inbound-ports";
inline constexpr std::string_view kSkipOutboundPortsAnnotation = "config.meshctl.io/skip-outbound-ports";
inline constexpr std::string_view kOpaquePortsAnnotation = "config.meshctl.io/opaque-ports";
inline constexpr std::string_view kProxyLogLevelAnnotation = "config.meshctl.io/proxy-log-level";
inline constexpr std::string_view kProxyCpuRequestAnnotation = "config.meshctl.io/proxy-cpu-request";
inline constexpr std::string_view kProxyCpuLimitAnnotation = "config.meshctl.io/proxy-cpu-limit";
inline constexpr std::string_view kProxyMemoryRequestAnnotation = "config.meshctl.io/proxy-memory-request";
inline constexpr std::string_view kProxyMemoryLimitAnnotation = "config.meshctl.io/proxy-memory-limit";
inline constexpr std::string_view kProxyImageAnnotation = "config.meshctl.io/proxy-image";
inline constexpr std::string_view kDefaultInboundPolicyAnnotation = "config.meshctl.io/default-inbound-policy";
inline constexpr std::string_view kNativeSidecarAnnotation = "config.meshctl.io/proxy-enable-native-sidecar";

// What the injector adds to a pod spec.
inline constexpr std::string_view kProxyContainerName = "meshctl-proxy";
inline constexpr std::string_view kInitContainerName = "meshctl-init";
inline constexpr std::string_view kProxyPortName = "meshctl-proxy";
inline constexpr std::string_view kAdminPortName = "meshctl-admin";
inline constexpr std::string_view kIdentityEndEntityVolume = "meshctl-identity-end-entity";
inline constexpr std::string_view kIdentityTokenVolume = "meshctl-identity-token";
inline constexpr std::string_view kXtablesLockVolume = "meshctl-proxy-init-xtables-lock";
inline constexpr std::string_view kTokenMountDir = "/var/run/secrets/tokens";
inline constexpr std::string_view kTokenFileName = "meshctl-identity-token";
inline constexpr int kTokenExpirationSeconds = 86400;

// Containers of other meshes: a pod with one of these is not injected.
inline constexpr std::array<std::string_view, 4> kOtherMeshContainers{"istio-proxy", "istio-init", "linkerd-proxy",
                                                                     "linkerd-init"};

}  // namespace meshctl::core::inject
