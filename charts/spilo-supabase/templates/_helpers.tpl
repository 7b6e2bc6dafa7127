{{/*
Names, labels and small shared helpers. Larger sections of the postgresql resource live in
_patroni.tpl, _backup.tpl and _clone.tpl.
*/}}

{{- define "spilo-supabase.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The postgresql resource's name; every operator-made object derives from it, so it is checked here. */}}
{{- define "spilo-supabase.clusterName" -}}
{{- $name := default .Release.Name .Values.clusterName -}}
{{- if gt (len $name) 51 -}}
{{- fail (printf "clusterName %q is %d characters long; at most 51 are allowed because the operator appends -pooler-repl (set clusterName)" $name (len $name)) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "clusterName %q is not a DNS-1035 label (lower case letters, digits and '-', starting with a letter); set clusterName" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "spilo-supabase.fullname" -}}
{{- include "spilo-supabase.clusterName" . -}}
{{- end -}}

{{- define "spilo-supabase.teamId" -}}
{{- default (include "spilo-supabase.clusterName" . | splitList "-" | first) .Values.teamId -}}
{{- end -}}

{{- define "spilo-supabase.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spilo-supabase.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spilo-supabase.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{/* Common labels; callers add app.kubernetes.io/component. */}}
{{- define "spilo-supabase.labels" -}}
helm.sh/chart: {{ include "spilo-supabase.chart" . }}
{{ include "spilo-supabase.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: supabase
{{- range $k, $v := .Values.labels }}
{{ $k | quote }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* Labels the operator puts on the PostgreSQL pods (application=spilo, <cluster_name_label>=<cluster>). */}}
{{- define "spilo-supabase.spiloPodLabels" -}}
application: spilo
{{ .Values.operator.clusterNameLabel | quote }}: {{ include "spilo-supabase.clusterName" . | quote }}
{{- end -}}

{{/* Labels the operator puts on the pooler pods (both the primary and the replica pooler). */}}
{{- define "spilo-supabase.poolerPodLabels" -}}
application: db-connection-pooler
{{ .Values.operator.clusterNameLabel | quote }}: {{ include "spilo-supabase.clusterName" . | quote }}
{{- end -}}

{{- define "spilo-supabase.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository .Values.image.tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}
{{- end -}}

{{/* The operator's name for a user's password Secret ('_' in the user name becomes '-'). */}}
{{- define "spilo-supabase.credentialsSecret" -}}
{{- printf "%s.%s.credentials.postgresql.acid.zalan.do" (.user | replace "_" "-") .cluster -}}
{{- end -}}

{{- define "spilo-supabase.jwtSecretName" -}}
{{- default (printf "%s-supabase-jwt" (include "spilo-supabase.clusterName" .)) .Values.supabase.jwt.existingSecret -}}
{{- end -}}

{{- define "spilo-supabase.rootKeySecretName" -}}
{{- default (printf "%s-supabase-root-key" (include "spilo-supabase.clusterName" .)) .Values.supabase.rootKey.existingSecret -}}
{{- end -}}

{{/*
A values number as a plain string. Helm reads numbers as float64, and printing one directly gives
1.048576e+06 for 1048576; integral numbers are printed as integers.
*/}}
{{- define "spilo-supabase.str" -}}
{{- if or (kindIs "float64" .) (kindIs "float32" .) -}}
{{- if eq (float64 .) (float64 (int64 .)) -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* A resources block with every quantity a quoted string, as the CRD requires. */}}
{{- define "spilo-supabase.resources" -}}
{{- range $group := list "requests" "limits" }}
{{- with (index $ $group) }}
{{ $group }}:
{{- range $k, $v := . }}
  {{ $k }}: {{ include "spilo-supabase.str" $v | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Which storage target a backup/restore/standby section names: "s3", "gcs", "azure" or "" (fails on two). */}}
{{- define "spilo-supabase.target" -}}
{{- $found := list -}}
{{- range $t := list "s3" "gcs" "azure" -}}
{{- if hasKey $.section $t -}}{{- if index $.section $t -}}{{- $found = append $found $t -}}{{- end -}}{{- end -}}
{{- end -}}
{{- if gt (len $found) 1 -}}
{{- fail (printf "%s names %d storage targets (%s); exactly one of s3, gcs, azure is allowed" $.path (len $found) (join ", " $found)) -}}
{{- end -}}
{{- if $found }}{{ first $found }}{{ end -}}
{{- end -}}

{{/* Where the chart mounts storage credentials in the PostgreSQL container, per purpose (backup, restore, standby). */}}
{{- define "spilo-supabase.walgMount" -}}
{{- printf "/run/secrets/wal-g/%s" . -}}
{{- end -}}
