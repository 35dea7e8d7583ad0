{{/* The chart name, or nameOverride. */}}
{{- define "cloudinfer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object's name: fullnameOverride, else release-chart (the release
name alone when it already contains the chart name). */}}
{{- define "cloudinfer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cloudinfer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "cloudinfer.labels" -}}
helm.sh/chart: {{ include "cloudinfer.chart" . }}
{{ include "cloudinfer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cloudinfer
{{- end }}

{{/* Labels that select the operator's pods (never change them: a Deployment's selector is
immutable). */}}
{{- define "cloudinfer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloudinfer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cloudinfer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cloudinfer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cloudinfer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The namespaces a namespace-scoped install watches: watchNamespaces and the release
namespace, without duplicates, as a JSON list. */}}
{{- define "cloudinfer.watchNamespaces" -}}
{{- $all := append (.Values.watchNamespaces | default list) .Release.Namespace | uniq }}
{{- toJson $all }}
{{- end }}

{{/* The chart's CRDs (crds/, generated from the operator's models) as a list of
{name, plural, scope}: RBAC follows them, so a new kind needs no edit here. */}}
{{- define "cloudinfer.crds" -}}
{{- $crds := list }}
{{- range $path, $_ := .Files.Glob "crds/*.yaml" }}
{{- $crd := fromYaml ($.Files.Get $path) }}
{{- $crds = append $crds (dict "name" $crd.metadata.name "plural" $crd.spec.names.plural "scope" $crd.spec.scope) }}
{{- end }}
{{- toJson $crds }}
{{- end }}

{{/* The plurals of the chart's kinds of one scope ("Namespaced" or "Cluster"), and their
status subresources. */}}
{{- define "cloudinfer.plurals" -}}
{{- $scope := .scope }}
{{- $plurals := list }}
{{- range (include "cloudinfer.crds" .root | fromJsonArray) }}
{{- if eq .scope $scope }}
{{- $plurals = append $plurals .plural }}
{{- end }}
{{- end }}
{{- toJson $plurals }}
{{- end }}

{{/* What the operator does with its own kinds, the same for a ClusterRole and a Role. */}}
{{- define "cloudinfer.rules.namespaced" -}}
{{- $plurals := include "cloudinfer.plurals" (dict "root" . "scope" "Namespaced") | fromJsonArray }}
{{- $status := list }}
{{- range $plurals }}{{ $status = append $status (printf "%s/status" .) }}{{ end -}}
# The managed kinds and ProviderConfigs: watched; finalizers and annotations patched.
- apiGroups: [cloudinfer.io]
  resources: {{ toJson $plurals }}
  verbs: [get, list, watch, patch]
- apiGroups: [cloudinfer.io]
  resources: {{ toJson $status }}
  verbs: [get, patch]
# Credentials and `valueFrom` Secrets are watched; connection Secrets are created and
# updated; in-use finalizers are patched onto referenced Secrets. Never deleted: a
# connection Secret goes with its owner through garbage collection.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, update, patch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* Cluster-scoped things, needed by both install scopes. */}}
{{- define "cloudinfer.rules.cluster" -}}
{{- $plurals := include "cloudinfer.plurals" (dict "root" . "scope" "Cluster") | fromJsonArray }}
{{- $status := list }}
{{- range $plurals }}{{ $status = append $status (printf "%s/status" .) }}{{ end -}}
- apiGroups: [cloudinfer.io]
  resources: {{ toJson $plurals }}
  verbs: [get, list, watch, patch]
- apiGroups: [cloudinfer.io]
  resources: {{ toJson $status }}
  verbs: [get, patch]
# A ClusterProviderConfig's namespaceSelector is matched against namespace labels.
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
# kopf watches CRDs to learn when the kinds appear.
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
{{- if .Values.crds.manage }}
# --manage-crds: server-side apply of the operator's own CRDs, and only those.
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  resourceNames:
    {{- range (include "cloudinfer.crds" . | fromJsonArray) }}
    - {{ .name }}
    {{- end }}
  verbs: [patch]
{{- end }}
{{- end }}

{{- define "cloudinfer.leaseName" -}}
{{- default (printf "%s-leader" (include "cloudinfer.fullname" .)) .Values.operator.leaderElection.leaseName | trunc 63 | trimSuffix "-" }}
{{- end }}
