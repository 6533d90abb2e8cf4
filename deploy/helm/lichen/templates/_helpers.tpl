{{/*
Names and labels.
*/}}
{{- define "lichen.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lichen.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "lichen.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "lichen.labels" -}}
helm.sh/chart: {{ include "lichen.chart" . }}
app.kubernetes.io/name: {{ include "lichen.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lichen
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component; call with (dict "root" $ "component" "api"). */}}
{{- define "lichen.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lichen.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component; call with (dict "root" $ "component" "api"). */}}
{{- define "lichen.componentLabels" -}}
{{ include "lichen.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lichen.api.fullname" -}}
{{- printf "%s-api" (include "lichen.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lichen.runner.fullname" -}}
{{- printf "%s-runner" (include "lichen.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lichen.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lichen.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "lichen.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Secrets: the chart's own Secret, or the operator's existing ones.
*/}}
{{- define "lichen.secretName" -}}
{{- printf "%s-secrets" (include "lichen.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lichen.configMapName" -}}
{{- printf "%s-config" (include "lichen.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* True ("true") when the S3 credentials come from a Secret (chart's or existing). */}}
{{- define "lichen.s3.hasCredentials" -}}
{{- if or .Values.s3.existingSecret .Values.s3.accessKeyId .Values.s3.secretAccessKey -}}
true
{{- end -}}
{{- end -}}

{{/*
Runner shutdown: on SIGTERM the runner stops taking jobs and waits shutdownGraceMs for its
running VMs (so by default every run it holds can reach the longest allowed wall time),
then cancels the rest and hands them back to the queue. Kubernetes must wait longer still.
*/}}
{{- define "lichen.runner.shutdownGraceMs" -}}
{{- $maxWall := int64 (required "limits.max.wallMs is required" .Values.limits.max.wallMs) -}}
{{- /* index, not .field: a null value is absent after Helm coalesces values (missingkey=error under lint --strict). */ -}}
{{- $configured := index .Values.runner "shutdownGraceMs" -}}
{{- if kindIs "invalid" $configured -}}
{{- add $maxWall 15000 -}}
{{- else -}}
{{- $grace := int64 $configured -}}
{{- if lt $grace $maxWall -}}
{{- fail (printf "runner.shutdownGraceMs (%d) must be at least limits.max.wallMs (%d): a draining runner would cancel runs that are still within their limits" $grace $maxWall) -}}
{{- end -}}
{{- $grace -}}
{{- end -}}
{{- end -}}

{{- define "lichen.runner.terminationGracePeriodSeconds" -}}
{{- $drain := div (add (int64 (include "lichen.runner.shutdownGraceMs" .)) 999) 1000 -}}
{{- $configured := index .Values.runner "terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" $configured -}}
{{- add $drain (int64 .Values.runner.shutdownMarginSeconds) -}}
{{- else -}}
{{- $grace := int64 $configured -}}
{{- if le $grace $drain -}}
{{- fail (printf "runner.terminationGracePeriodSeconds (%d) must be longer than the runner's shutdown drain (%d s = runner.shutdownGraceMs, at least limits.max.wallMs)" $grace $drain) -}}
{{- end -}}
{{- $grace -}}
{{- end -}}
{{- end -}}

{{/*
Environment read from Secrets, shared by the api and runner containers. Non-secret
settings come from the ConfigMap (envFrom in the Deployments).
*/}}
{{- define "lichen.secretEnv" -}}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      {{- if .Values.redis.existingSecret }}
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretKey }}
      {{- else }}
      name: {{ include "lichen.secretName" . }}
      key: redis-url
      {{- end }}
{{- if include "lichen.s3.hasCredentials" . }}
- name: LICHEN_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      {{- if .Values.s3.existingSecret }}
      name: {{ .Values.s3.existingSecret }}
      key: {{ .Values.s3.existingSecretAccessKeyIdKey }}
      {{- else }}
      name: {{ include "lichen.secretName" . }}
      key: s3-access-key-id
      {{- end }}
- name: LICHEN_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      {{- if .Values.s3.existingSecret }}
      name: {{ .Values.s3.existingSecret }}
      key: {{ .Values.s3.existingSecretSecretAccessKeyKey }}
      {{- else }}
      name: {{ include "lichen.secretName" . }}
      key: s3-secret-access-key
      {{- end }}
{{- end }}
{{- if .Values.auth.existingSecret }}
- name: LICHEN_ADMIN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret }}
      key: {{ .Values.auth.existingSecretAdminKeyKey }}
      optional: true
- name: LICHEN_API_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret }}
      key: {{ .Values.auth.existingSecretApiKeysKey }}
      optional: true
{{- else }}
{{- if .Values.auth.adminKey }}
- name: LICHEN_ADMIN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "lichen.secretName" . }}
      key: admin-key
{{- end }}
{{- if .Values.auth.apiKeys }}
- name: LICHEN_API_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ include "lichen.secretName" . }}
      key: api-keys
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes for the read-only root filesystem: /tmp and the data directory (image cache). */}}
{{- define "lichen.dataSizeLimit" -}}
{{- if .Values.storage.dataSizeLimit -}}
{{- .Values.storage.dataSizeLimit -}}
{{- else -}}
{{- $cacheMi := div (int64 .Values.imageCache.maxBytes) 1048576 -}}
{{- printf "%dMi" (add $cacheMi (div $cacheMi 4) 1024) -}}
{{- end -}}
{{- end -}}

{{- define "lichen.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.storage.tmpSizeLimit }}
- name: data
  emptyDir:
    {{- with .Values.storage.dataMedium }}
    medium: {{ . }}
    {{- end }}
    sizeLimit: {{ include "lichen.dataSizeLimit" . }}
{{- end -}}

{{- define "lichen.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: {{ .Values.storage.dataMountPath }}
{{- end -}}

{{/* Checksums that roll the pods when their configuration changes. */}}
{{- define "lichen.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end -}}
