#pragma once
// What `install`, `install --crds` and `uninstall` render, over the generic template renderer:
// checks on the values beyond their types, the root context templates see, and the two sets of
// objects.
//
// Templates see:
//   .Values              the effective values, identityTrustAnchorsPEM filled in
//   .ConfigValues        the same without the issuer's certificate and key (meshctl-config)
//   .Release.Namespace   the mesh namespace; .Release.Name is "meshctl"
//   .Version             this meshctl's version (the default image tag)
//   .Identity.TrustDomain, .Identity.TrustAnchorsPEM,
//   .Identity.Issuer.{External,CrtPEM,KeyPEM}
//   .Webhook.{CrtPEM,KeyPEM,CaBundle}   CaBundle is base64 of CrtPEM, ready for caBundle

#include <vector>

#include "core/render/identity_material.h"
#include "core/render/values.h"

namespace meshctl::core::render {

// Checks what types alone cannot: names Kubernetes would refuse, enums, port and count ranges,
// durations. Throws core::Error "value <key>: ..." naming the key.
void validate_values(const Json& values);

// identityTrustDomain, or clusterDomain when it is empty.
std::string trust_domain(const Json& values);

Json control_plane_context(const Json& values, const IdentityMaterial& identity);

// The control plane, in creation order.
std::vector<Json> render_control_plane(const Json& values, const IdentityMaterial& identity);

// The CRDs, labelled for the mesh namespace in `values`.
std::vector<Json> render_crds(const Json& values);

}  // namespace meshctl::core::render
