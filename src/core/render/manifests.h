#pragma once
// Renders a directory of embedded templates (manifests/crds/, manifests/control-plane/) into
// Kubernetes objects. Each template's output must be YAML; an object that fails to parse, or
// lacks apiVersion, kind, metadata.name or the mesh's ownership labels, is an error naming the
// template and line. Files whose name starts with "_" hold only `define`s and render nothing.

#include <string>
#include <string_view>
#include <vector>

#include "core/render/template.h"

namespace meshctl::core::render {

// The labels every object install creates carries; uninstall and check find objects by them.
inline constexpr std::string_view kControlPlaneNsLabel = "meshctl.io/control-plane-ns";
inline constexpr std::string_view kPartOfLabel = "app.kubernetes.io/part-of";

// The objects of one template's output. `source` names the template in errors
// ("manifests/crds/server.yaml"); `rendered` maps output lines back to template lines.
std::vector<Json> parse_rendered(std::string_view source, const RenderedText& rendered);

// Every object the templates under manifests/<dir>/ render with `context` (dot in the
// templates: .Values, .Release, ...), in the order Kubernetes should create them: by kind
// (Namespace, CRDs, ServiceAccounts, Secrets, ConfigMaps, RBAC, Services, workloads, webhooks),
// then by template path, then as written.
std::vector<Json> render_manifests(std::string_view dir, const Json& context);

// The objects as a YAML stream, "---" before each.
std::string to_yaml_stream(const std::vector<Json>& objects);

// The objects as one JSON v1 List, which kubectl apply accepts too.
std::string to_json_list(const std::vector<Json>& objects);

}  // namespace meshctl::core::render
