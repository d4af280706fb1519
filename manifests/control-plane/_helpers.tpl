{{- /*
Pieces the control-plane templates share. Templates that need the root context and a component
name take (dict "root" $ "component" "identity").
*/ -}}

{{- define "meshctl.labels" -}}
app.kubernetes.io/part-of: meshctl
app.kubernetes.io/version: {{ .Version | quote }}
meshctl.io/control-plane-ns: {{ .Release.Namespace }}
{{- end }}

{{- define "meshctl.componentLabels" -}}
{{ include "meshctl.labels" .root }}
app.kubernetes.io/name: {{ .component }}
meshctl.io/control-plane-component: {{ .component }}
{{- end }}

{{- define "meshctl.selector" -}}
meshctl.io/control-plane-component: {{ .component }}
meshctl.io/control-plane-ns: {{ .root.Release.Namespace }}
{{- end }}

{{- define "meshctl.annotations" -}}
meshctl.io/created-by: meshctl/cli {{ .Version }}
{{- end }}

{{- /* The identity a control-plane pod with service account `sa` has in the mesh. */ -}}
{{- define "meshctl.identityName" -}}
{{ .sa }}.{{ .root.Release.Namespace }}.serviceaccount.identity.{{ .root.Release.Namespace }}.{{ .root.Identity.TrustDomain }}
{{- end }}

{{- define "meshctl.resources" -}}
requests:
  cpu: {{ .cpu.request | quote }}
  memory: {{ .memory.request | quote }}
{{- if or .cpu.limit .memory.limit }}
limits:
  {{- with .cpu.limit }}
  cpu: {{ . | quote }}
  {{- end }}
  {{- with .memory.limit }}
  memory: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end }}

{{- define "meshctl.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.controllerUID }}
runAsGroup: {{ .Values.controllerGID }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "meshctl.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.controllerUID }}
runAsGroup: {{ .Values.controllerGID }}
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- /* Probes on the admin server every component runs. */ -}}
{{- define "meshctl.probes" -}}
livenessProbe:
  httpGet:
    path: /live
    port: admin-http
  initialDelaySeconds: 10
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /ready
    port: admin-http
  initialDelaySeconds: 2
  periodSeconds: 5
  failureThreshold: 3
{{- end }}

{{- /* Pod metadata and scheduling shared by the three Deployments. */ -}}
{{- define "meshctl.podMetadata" -}}
annotations:
  {{- include "meshctl.annotations" .root | nindent 2 }}
  meshctl.io/trust-root-sha256: {{ sha256sum .root.Identity.TrustAnchorsPEM }}
  {{- with index . "annotations" }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- with .root.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
labels:
  {{- include "meshctl.componentLabels" . | nindent 2 }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{- define "meshctl.affinity" -}}
{{- if .root.Values.enablePodAntiAffinity }}
affinity:
  podAntiAffinity:
    # Never two replicas on one node; spread over zones where the cluster has them.
    requiredDuringSchedulingIgnoredDuringExecution:
    - labelSelector:
        matchLabels:
          {{- include "meshctl.selector" . | nindent 10 }}
      topologyKey: kubernetes.io/hostname
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        labelSelector:
          matchLabels:
            {{- include "meshctl.selector" . | nindent 12 }}
        topologyKey: topology.kubernetes.io/zone
{{- end }}
{{- end }}

{{- define "meshctl.podDisruptionBudget" -}}
{{- if .root.Values.enablePodDisruptionBudget }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: meshctl-{{ .component }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "meshctl.componentLabels" . | nindent 4 }}
  annotations:
    {{- include "meshctl.annotations" .root | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "meshctl.selector" . | nindent 6 }}
{{- end }}
{{- end }}

{{- define "meshctl.image" -}}
{{ .Values.image.registry }}/{{ .Values.image.name }}:{{ .Values.image.tag | default .Version }}
{{- end }}
