{{/*
spec.patroni: timings, synchronous replication and the permanent logical slots Supabase Realtime
needs (a slot that is not permanent is lost on failover, and Realtime then misses changes).
Patroni silently raises a ttl below 20 and adjusts loop_wait/retry_timeout that break its rule, so
the values that would be changed behind the user's back fail here instead.
*/}}
{{- define "spilo-supabase.patroni" -}}
{{- $p := .Values.patroni -}}
{{- $ttl := int64 $p.ttl -}}{{- $loop := int64 $p.loop_wait -}}{{- $retry := int64 $p.retry_timeout -}}
{{- $instances := int64 .Values.instances -}}
{{- if gt (add $loop (mul 2 $retry)) $ttl -}}
  {{- fail (printf "patroni: loop_wait + 2 * retry_timeout (%d + 2 * %d) exceeds ttl (%d); Patroni would silently change them" $loop $retry $ttl) -}}
{{- end -}}
{{- if and $p.synchronous_mode_strict (not $p.synchronous_mode) -}}
  {{- fail "patroni.synchronous_mode_strict needs patroni.synchronous_mode: true" -}}
{{- end -}}
{{- if and $p.synchronous_mode (lt $instances 2) -}}
  {{- fail (printf "patroni.synchronous_mode needs at least 2 instances (instances is %d)" $instances) -}}
{{- end -}}
{{- if and $p.synchronous_mode (ge (int64 $p.synchronous_node_count) $instances) -}}
  {{- fail (printf "patroni.synchronous_node_count (%d) must be below instances (%d)" (int64 $p.synchronous_node_count) $instances) -}}
{{- end -}}
ttl: {{ $ttl }}
loop_wait: {{ $loop }}
retry_timeout: {{ $retry }}
maximum_lag_on_failover: {{ int64 $p.maximum_lag_on_failover }}
failsafe_mode: {{ $p.failsafe_mode }}
synchronous_mode: {{ $p.synchronous_mode }}
synchronous_mode_strict: {{ $p.synchronous_mode_strict }}
{{- if $p.synchronous_mode }}
synchronous_node_count: {{ int64 $p.synchronous_node_count }}
{{- end }}
{{- with (include "spilo-supabase.pgHba" . | fromYamlArray) }}
pg_hba:
{{- range . }}
  - {{ . | quote }}
{{- end }}
{{- end }}
{{- with .Values.supabase.realtime.slots }}
slots:
{{- range . }}
  {{ . }}:
    type: logical
    database: postgres
    plugin: {{ $.Values.supabase.realtime.plugin | default "wal2json" }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Spilo 4.0-p3's own pg_hba with the operator's defaults filled in (configure_spilo.py's template:
PAM_OAUTH2 and HUMAN_ROLE=zalandos set by the operator, replication user `standby`, no ALLOW_NOSSL).
The CR's patroni.pg_hba replaces Spilo's list as a whole, so a list that adds lines must carry these.
*/}}
{{- define "spilo-supabase.spiloPgHba" -}}
- local all all trust
- hostssl all +zalandos 127.0.0.1/32 pam
- host all all 127.0.0.1/32 md5
- hostssl all +zalandos ::1/128 pam
- host all all ::1/128 md5
- local replication standby trust
- hostssl replication standby all md5
- hostnossl all all all reject
- hostssl all +zalandos all pam
- hostssl all all all md5
{{- end -}}

{{/*
The pg_hba list for the CR (a YAML list; empty keeps Spilo's own). With supabase.services.enabled, one
line per database, role list and source network lets the services chart's unencrypted logins in, ahead
of Spilo's `hostnossl all all all reject`, followed by patroni.pg_hba or else Spilo's defaults.
*/}}
{{- define "spilo-supabase.pgHba" -}}
{{- $p := .Values.patroni -}}
{{- $sv := .Values.supabase.services -}}
{{- $lines := list -}}
{{- if $sv.enabled -}}
  {{- range $db := keys $sv.access | sortAlpha -}}
    {{- $roles := index $sv.access $db -}}
    {{- range $roles -}}
      {{- if not (hasKey $.Values.supabase.users .) -}}
        {{- fail (printf "supabase.services.access.%s: role %q is not in supabase.users, so the operator neither creates it nor keeps its password" $db .) -}}
      {{- end -}}
    {{- end -}}
    {{- range $cidr := $sv.sourceCIDRs -}}
      {{- $lines = append $lines (printf "hostnossl %s %s %s scram-sha-256" $db (join "," $roles) $cidr) -}}
    {{- end -}}
  {{- end -}}
  {{- $lines = concat $lines (default (include "spilo-supabase.spiloPgHba" . | fromYamlArray) $p.pg_hba) -}}
{{- else -}}
  {{- $lines = $p.pg_hba -}}
{{- end -}}
{{- toYaml (default (list) $lines) -}}
{{- end -}}
