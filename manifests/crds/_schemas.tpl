{{- /*
Schema fragments several CRDs share. Files whose name starts with "_" only define templates;
they render no objects. Every fragment starts at column 0: include it with nindent.
*/ -}}

{{- define "meshctl.crd.metadata" -}}
labels:
  app.kubernetes.io/part-of: meshctl
  meshctl.io/control-plane-ns: {{ .Release.Namespace }}
annotations:
  meshctl.io/created-by: meshctl/cli {{ .Version }}
{{- end }}

{{- /* Go durations as ServiceProfiles have always taken them: "300ms", "1m30s", "10s". */ -}}
{{- define "meshctl.crd.goDuration" -}}
type: string
pattern: '^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$'
{{- end }}

{{- /* Gateway API durations: up to four number-unit pairs, e.g. "10s", "1h30m". */ -}}
{{- define "meshctl.crd.gatewayDuration" -}}
type: string
pattern: '^([0-9]{1,5}(h|m|s|ms)){1,4}$'
{{- end }}

{{- define "meshctl.crd.portNumber" -}}
type: integer
format: int32
minimum: 1
maximum: 65535
{{- end }}

{{- /* A port number or an IANA_SVC_NAME port name (a container port's name). */ -}}
{{- define "meshctl.crd.portNumberOrName" -}}
x-kubernetes-int-or-string: true
x-kubernetes-validations:
{{- /* No regular expression here: on a string of unbounded length the API server would
       estimate the rule too expensive and refuse the CRD. The controller checks the name. */}}
- rule: "type(self) == string ? self.size() > 0 && self.size() <= 15 : self >= 1 && self <= 65535"
  message: must be a port number from 1 to 65535 or a port name of 1 to 15 characters
{{- end }}

{{- define "meshctl.crd.labelSelector" -}}
type: object
properties:
  matchLabels:
    type: object
    additionalProperties:
      type: string
  matchExpressions:
    type: array
    items:
      type: object
      required: [key, operator]
      properties:
        key:
          type: string
          minLength: 1
        operator:
          type: string
          enum: [In, NotIn, Exists, DoesNotExist]
        values:
          type: array
          items:
            type: string
x-kubernetes-map-type: atomic
{{- end }}

{{- /* A reference to another object, as policy.meshctl.io targetRefs and identityRefs take it. */ -}}
{{- define "meshctl.crd.objectRef" -}}
type: object
required: [kind]
properties:
  group:
    type: string
    maxLength: 253
  kind:
    type: string
    minLength: 1
    maxLength: 63
  name:
    type: string
    maxLength: 253
  namespace:
    type: string
    maxLength: 63
{{- end }}

{{- define "meshctl.crd.network" -}}
type: object
required: [cidr]
properties:
  cidr:
    type: string
    description: An IPv4 or IPv6 network in CIDR notation, or a single address.
    minLength: 1
  except:
    type: array
    description: Networks inside cidr that are excluded.
    items:
      type: string
{{- end }}

{{- /* The authorities policy and routing accept as defaults or access policies. */ -}}
{{- define "meshctl.crd.defaultPolicies" -}}
[deny, audit, all-authenticated, all-unauthenticated, cluster-authenticated, cluster-unauthenticated]
{{- end }}

{{- /* Status written by the control plane; its shape is the control plane's business. */ -}}
{{- define "meshctl.crd.status" -}}
type: object
x-kubernetes-preserve-unknown-fields: true
{{- end }}
