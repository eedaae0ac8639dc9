{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "euglena.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name prefix of every object. The release name is used alone when it already contains the
chart name, so `helm install euglena charts/euglena` gives "euglena-gateway", not
"euglena-euglena-gateway". Truncated to leave room for component suffixes.
*/}}
{{- define "euglena.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "euglena.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels common to every object. */}}
{{- define "euglena.labels" -}}
helm.sh/chart: {{ include "euglena.chart" . }}
app.kubernetes.io/name: {{ include "euglena.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: euglena
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of the whole release (no component). */}}
{{- define "euglena.selectorLabels" -}}
app.kubernetes.io/name: {{ include "euglena.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Per-component labels and selector labels. Call with a dict:
  include "euglena.componentLabels" (dict "ctx" $ "component" "gateway")
*/}}
{{- define "euglena.componentLabels" -}}
{{ include "euglena.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "euglena.componentSelectorLabels" -}}
{{ include "euglena.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* "<fullname>-<component>" */}}
{{- define "euglena.componentName" -}}
{{- printf "%s-%s" (include "euglena.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Image reference from an image block; the tag defaults to appVersion, a digest wins. */}}
{{- define "euglena.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .image.tag }}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{/* The Secret holding the services' secrets. */}}
{{- define "euglena.secretName" -}}
{{- default (include "euglena.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* The Secret holding the in-chart RabbitMQ password and Erlang cookie. */}}
{{- define "euglena.rabbitmqSecretName" -}}
{{- default (include "euglena.componentName" (dict "ctx" . "component" "rabbitmq")) .Values.rabbitmq.auth.existingSecret }}
{{- end }}

{{/* Host names of the in-chart services. */}}
{{- define "euglena.redisHost" -}}
{{ include "euglena.componentName" (dict "ctx" . "component" "redis") }}
{{- end }}
{{- define "euglena.rabbitmqHost" -}}
{{ include "euglena.componentName" (dict "ctx" . "component" "rabbitmq") }}
{{- end }}
{{- define "euglena.chromaHost" -}}
{{ include "euglena.componentName" (dict "ctx" . "component" "chroma") }}
{{- end }}

{{/* One env var read from the services' Secret; missing keys leave it unset. */}}
{{- define "euglena.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "euglena.secretName" .ctx }}
      key: {{ .name }}
      optional: true
{{- end }}

{{/* Environment shared by every Euglena service: the ConfigMap plus the pod's identity. */}}
{{- define "euglena.commonEnvFrom" -}}
- configMapRef:
    name: {{ include "euglena.componentName" (dict "ctx" . "component" "config") }}
{{- end }}

{{- define "euglena.commonEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- if not .Values.redis.enabled }}
{{ include "euglena.secretEnv" (dict "ctx" . "name" "REDIS_URL") }}
{{- end }}
{{- end }}

{{/* Pod annotations that roll pods when configuration changes. */}}
{{- define "euglena.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}

{{/*
RABBITMQ_URL (and RABBITMQ_MANAGEMENT_URL with management=true). For the in-chart RabbitMQ the
password comes from its Secret and is spliced in with Kubernetes' $(VAR) expansion, so it is
stored once.
*/}}
{{- define "euglena.rabbitmqEnv" -}}
{{- if .ctx.Values.rabbitmq.enabled }}
{{- $host := include "euglena.rabbitmqHost" .ctx }}
- name: RABBITMQ_USERNAME
  value: {{ .ctx.Values.rabbitmq.auth.username | quote }}
- name: RABBITMQ_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "euglena.rabbitmqSecretName" .ctx }}
      key: password
- name: RABBITMQ_URL
  value: {{ printf "amqp://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@%s:%d/" $host (int .ctx.Values.rabbitmq.port) | quote }}
{{- if .management }}
- name: RABBITMQ_MANAGEMENT_URL
  value: {{ printf "http://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@%s:%d" $host (int .ctx.Values.rabbitmq.managementPort) | quote }}
{{- end }}
{{- else }}
{{ include "euglena.secretEnv" (dict "ctx" .ctx "name" "RABBITMQ_URL") }}
{{- if .management }}
{{ include "euglena.secretEnv" (dict "ctx" .ctx "name" "RABBITMQ_MANAGEMENT_URL") }}
{{- end }}
{{- end }}
{{- end }}

{{/* Restricted pod-level securityContext (Pod Security Standard "restricted"). */}}
{{- define "euglena.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Restricted container securityContext. */}}
{{- define "euglena.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ if hasKey . "readOnly" }}{{ .readOnly }}{{ else }}true{{ end }}
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The gateway's in-cluster URL. */}}
{{- define "euglena.gatewayUrl" -}}
{{- printf "http://%s:%d" (include "euglena.componentName" (dict "ctx" . "component" "gateway")) (int .Values.gateway.service.port) }}
{{- end }}

{{/* Checks that values make sense together; fails the render with a clear message. */}}
{{- define "euglena.validate" -}}
{{- if le (int .Values.agent.terminationGracePeriodSeconds) (int .Values.agent.taskTimeoutSeconds) }}
{{- fail (printf "agent.terminationGracePeriodSeconds (%d) must be greater than agent.taskTimeoutSeconds (%d) so a draining worker can finish its task" (int .Values.agent.terminationGracePeriodSeconds) (int .Values.agent.taskTimeoutSeconds)) }}
{{- end }}
{{- if and .Values.agentPool.enabled (gt (int .Values.agentPool.minReplicas) (int .Values.agentPool.maxReplicas)) }}
{{- fail (printf "agentPool.minReplicas (%d) must not exceed agentPool.maxReplicas (%d)" (int .Values.agentPool.minReplicas) (int .Values.agentPool.maxReplicas)) }}
{{- end }}
{{- if and .Values.agentPool.enabled (not .Values.operator.enabled) }}
{{- fail "agentPool.enabled needs operator.enabled: without the operator nobody scales the agents" }}
{{- end }}
{{- if and .Values.rabbitmq.enabled (le (int64 .Values.rabbitmq.consumerTimeoutMs) (mul (int64 .Values.agent.taskTimeoutSeconds) 1000)) }}
{{- fail (printf "rabbitmq.consumerTimeoutMs (%d) must exceed agent.taskTimeoutSeconds (%d s), or RabbitMQ closes the channel of a worker busy with a long task" (int64 .Values.rabbitmq.consumerTimeoutMs) (int .Values.agent.taskTimeoutSeconds)) }}
{{- end }}
{{- if and .Values.agent.enabled (not .Values.agent.model.apiUrl) (not .Values.agent.model.offline) }}
{{- fail "agent.model.apiUrl is not set: agents need an OpenAI-compatible chat-completions endpoint, e.g. --set agent.model.apiUrl=https://api.openai.com/v1 (key in secrets.modelApiKey) or a vLLM, Ollama or llama.cpp server's .../v1. To run the offline stand-in model on purpose (canned answers, no LLM), set agent.model.offline=true." }}
{{- end }}
{{- if and .Values.agent.model.apiUrl .Values.agent.model.offline }}
{{- fail "agent.model.apiUrl is set and agent.model.offline is true: choose the model or the offline stand-in" }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- if and (not .Values.redis.enabled) (not .Values.redis.external.url) }}
{{- fail "redis.enabled is false: set redis.external.url or secrets.existingSecret with REDIS_URL" }}
{{- end }}
{{- if and (not .Values.rabbitmq.enabled) (not .Values.rabbitmq.external.url) }}
{{- fail "rabbitmq.enabled is false: set rabbitmq.external.url or secrets.existingSecret with RABBITMQ_URL" }}
{{- end }}
{{- end }}
{{- end }}
