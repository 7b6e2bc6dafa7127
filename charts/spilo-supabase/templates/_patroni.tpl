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
{{- with $p.pg_hba }}
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
