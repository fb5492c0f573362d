{{/*
Chart name, truncated to the 63 characters a label value may have.
*/}}
{{- define "hostnet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name prefix of every resource: the release name, plus the chart name unless the release
name already contains it.
*/}}
{{- define "hostnet.fullname" -}}
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

{{- define "hostnet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "hostnet.labels" -}}
helm.sh/chart: {{ include "hostnet.chart" . }}
{{ include "hostnet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hostnet-controller
{{- end }}

{{/*
Labels selecting the controller pods (immutable in a Deployment: never change them).
*/}}
{{- define "hostnet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hostnet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "hostnet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hostnet.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hostnet.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Name of the leader-election Lease; the controller's default is the same
("hostnet-controller-<installation-id>"), the chart passes it explicitly so the Role's
resourceNames and the flag can never disagree. Empty with an automatic installation id (the
controller names it at start-up).
*/}}
{{- define "hostnet.leaseName" -}}
{{- if .Values.controller.leaderElection.id }}
{{- .Values.controller.leaderElection.id }}
{{- else if .Values.installationId }}
{{- printf "hostnet-controller-%s" .Values.installationId }}
{{- end }}
{{- end }}

{{/*
Name of the allocation ledger ConfigMap before sharding (format 1); the shards are named
"<this>-<a>-<b>" for each a.b.0.0/16 holding records. Fixed by the controller. Empty with an
automatic installation id.
*/}}
{{- define "hostnet.ledgerName" -}}
{{- with .Values.installationId }}
{{- printf "hostnet-allocations-%s" . }}
{{- end }}
{{- end }}

{{/*
Namespace the controller records Events in (--event-namespace): Events about cluster-scoped
objects (HostNetwork) need one; "default" unless controller.eventNamespace says otherwise.
*/}}
{{- define "hostnet.eventsNamespace" -}}
{{- .Values.controller.eventNamespace | default "default" }}
{{- end }}

{{/*
Whether the controller needs cloud credentials, and the Secret holding them. aws reads the
SDK's default chain (IRSA, pod identity, instance metadata) instead.
*/}}
{{- define "hostnet.needsCredentials" -}}
{{- if and (not (has .Values.cloud.provider (list "memory" "aws" "none"))) (not (and (eq .Values.cloud.provider "alibaba") .Values.cloud.alibaba.credentialChain)) }}true{{ end }}
{{- end }}

{{- define "hostnet.createCredentialsSecret" -}}
{{- $c := .Values.cloud.credentials }}
{{- if and (include "hostnet.needsCredentials" .) (or $c.accessKey $c.secretKey) }}true{{ end }}
{{- end }}

{{- define "hostnet.credentialsSecretName" -}}
{{- default (printf "%s-cloud-credentials" (include "hostnet.fullname" .)) .Values.cloud.credentials.existingSecret }}
{{- end }}

{{/*
Cross-field checks the JSON schema cannot express. Included by the Deployment.
*/}}
{{- define "hostnet.validate" -}}
{{- include "hostnet.validateNoCloud" . }}
{{- $c := .Values.cloud.credentials }}
{{- if and $c.existingSecret (or $c.accessKey $c.secretKey $c.securityToken) }}
{{- fail "cloud.credentials: set either existingSecret or accessKey/secretKey, not both" }}
{{- end }}
{{- if and (or $c.accessKey $c.secretKey) (not (and $c.accessKey $c.secretKey)) }}
{{- fail "cloud.credentials: accessKey and secretKey must be set together" }}
{{- end }}
{{- if and $c.securityToken (not $c.accessKey) }}
{{- fail "cloud.credentials: securityToken needs accessKey and secretKey" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.controller.leaderElection.enabled) }}
{{- fail "controller.leaderElection.enabled must be true when replicaCount > 1 (two active controllers would fight over the route tables)" }}
{{- end }}
{{- $poolPrefix := int (index (splitList "/" .Values.pool.cidr) 1) }}
{{- if lt (int .Values.pool.blockSize) $poolPrefix }}
{{- fail (printf "pool.blockSize: a /%v block does not fit in pool.cidr %s" .Values.pool.blockSize .Values.pool.cidr) }}
{{- end }}
{{- if gt (sub (int .Values.pool.blockSize) $poolPrefix) 24 }}
{{- fail (printf "pool.blockSize: the pool %s would have more than 16,777,216 /%v blocks" .Values.pool.cidr .Values.pool.blockSize) }}
{{- end }}
{{- end }}

{{/*
cloud.provider=none (direct routing, no cloud router): the controller refuses every flag that
would promise a cloud change, so the chart refuses the values behind them, naming the value.
The cloud's tuning values (timeout, qps, burst, sourceDestCheck, routeTableCapacity,
routeTableTag) have no effect there and are not passed.
*/}}
{{- define "hostnet.validateNoCloud" -}}
{{- if eq .Values.cloud.provider "none" }}
{{- $c := .Values.cloud }}
{{- $set := list }}
{{- range $k := list "region" "endpoint" "projectId" "vpcId" }}
{{- if index $c $k }}{{ $set = append $set (printf "cloud.%s" $k) }}{{ end }}
{{- end }}
{{- if $c.routeTableIds }}{{ $set = append $set "cloud.routeTableIds" }}{{ end }}
{{- if $c.securityGroup.id }}{{ $set = append $set "cloud.securityGroup.id" }}{{ end }}
{{- range $k := list "existingSecret" "accessKey" "secretKey" "securityToken" }}
{{- if index $c.credentials $k }}{{ $set = append $set (printf "cloud.credentials.%s" $k) }}{{ end }}
{{- end }}
{{- if $set }}
{{- fail (printf "cloud.provider=none (direct routing: no cloud is called, each host's hostnet-agent routes the peers) takes no cloud values; unset %s" (join ", " $set)) }}
{{- end }}
{{- end }}
{{- end }}
