{{/*
bootstrap.mode: fresh | restore | standby. Fills the holder .h with env, volumes, and the CR's
clone/standby sections (h.clone, h.standby). Args: root (.), h.

Who sets what (postgres-operator pkg/cluster/k8sres.go): spec.env first, then generateCloneEnvironment /
generateStandbyEnvironment appended after it, so a name both set appears twice and the operator's (last)
wins. The values agree but for one spelling: for s3_force_path_style the operator appends
CLONE_AWS_S3_FORCE_PATH_STYLE "1" where the chart writes "true"; it makes no difference, because the chart
renders s3_force_path_style only with an endpoint, and with an endpoint Spilo rewrites the variable from
the endpoint's convention (4.0 configure_spilo.py, write_wale_environment: "true" for path style).

restore to a time from S3 renders spec.clone: the operator then sets CLONE_SCOPE, CLONE_METHOD=
CLONE_WITH_WALE, CLONE_TARGET_TIME, CLONE_WAL_BUCKET_SCOPE_PREFIX="" and CLONE_WALE_S3_PREFIX from
s3_wal_path. The CRD's clone section only knows S3, and without s3_wal_path the operator takes the bucket
from its own global configuration (an operator-wide wal_s3_bucket would send a GCS or Azure restore to S3),
so GCS and Azure restores set those variables themselves and leave spec.clone out. So does a restore to
the latest state: without a timestamp the operator clones by pg_basebackup from a running source.
Either way the source's storage, region and credentials go in CLONE_* variables: the clone inherits
nothing from the main backup settings.
*/}}

{{- define "spilo-supabase.bootstrap" -}}
{{- $root := .root -}}{{- $h := .h -}}
{{- $b := $root.Values.bootstrap -}}
{{- $cluster := include "spilo-supabase.clusterName" $root -}}
{{- $version := $root.Values.postgresql.version -}}
{{- if eq $b.mode "fresh" -}}
  {{- range $s := list "restore" "standby" -}}
    {{- if index $b $s -}}
      {{- fail (printf "bootstrap.%s is set but bootstrap.mode is fresh; set bootstrap.mode: %s or remove bootstrap.%s" $s $s $s) -}}
    {{- end -}}
  {{- end -}}
{{- else if eq $b.mode "restore" -}}
  {{- if $b.standby }}{{ fail "bootstrap.standby is set but bootstrap.mode is restore; a cluster is restored or a standby, never both" }}{{ end -}}
  {{- $r := required "bootstrap.mode is restore: set bootstrap.restore.cluster (the source cluster's name)" $b.restore -}}
  {{- $src := required "bootstrap.mode is restore: set bootstrap.restore.cluster (the source cluster's name)" $r.cluster -}}
  {{- if eq $src $cluster -}}
    {{- fail (printf "bootstrap.restore.cluster is %q, this cluster's own name: a restore must be a new cluster, or it would archive into its source's WAL path" $src) -}}
  {{- end -}}
  {{- $kind := include "spilo-supabase.target" (dict "section" $r "path" "bootstrap.restore") -}}
  {{- $t := dict -}}
  {{- if $kind -}}
    {{- $t = index $r $kind -}}
  {{- else -}}
    {{- $kind = include "spilo-supabase.target" (dict "section" $root.Values.backup "path" "backup") -}}
    {{- if not $kind -}}
      {{- fail "bootstrap.mode is restore but the source storage is unknown: set bootstrap.restore.s3, .gcs or .azure (or a backup target, which the restore then reads)" -}}
    {{- end -}}
    {{- $t = index $root.Values.backup $kind -}}
  {{- end -}}
  {{- $walPath := include "spilo-supabase.walPath" (dict "kind" $kind "t" $t "cluster" $src "uid" ($r.uid | default "") "version" $version) -}}
  {{- if and $r.targetTime (eq $kind "s3") -}}
    {{- $clone := dict "cluster" $src "timestamp" $r.targetTime "s3_wal_path" $walPath -}}
    {{- with $r.uid }}{{ $_ := set $clone "uid" . }}{{ end -}}
    {{- $pathStyle := ternary $t.forcePathStyle true (hasKey $t "forcePathStyle") -}}
    {{- /* The operator copies s3_endpoint into CLONE_WALE_S3_ENDPOINT as is, which Spilo reads as path
         style; a virtual-host endpoint therefore stays in the CLONE_ env only (storageEnv). */ -}}
    {{- if and $t.endpoint $pathStyle -}}
      {{- $_ := set $clone "s3_endpoint" $t.endpoint -}}
      {{- $_ := set $clone "s3_force_path_style" true -}}
    {{- end -}}
    {{- $_ := set $h "clone" $clone -}}
  {{- else -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" "CLONE_SCOPE" "value" $src) -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" "CLONE_METHOD" "value" "CLONE_WITH_WALE") -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" "CLONE_WAL_BUCKET_SCOPE_PREFIX" "value" "") -}}
    {{- with $r.targetTime -}}
      {{- include "spilo-supabase.env" (dict "h" $h "name" "CLONE_TARGET_TIME" "value" .) -}}
    {{- end -}}
  {{- end -}}
  {{- include "spilo-supabase.storageEnv" (dict "h" $h "prefix" "CLONE_" "purpose" "restore" "kind" $kind "t" $t "walPath" $walPath) -}}
{{- else if eq $b.mode "standby" -}}
  {{- if $b.restore }}{{ fail "bootstrap.restore is set but bootstrap.mode is standby; a cluster is restored or a standby, never both" }}{{ end -}}
  {{- $s := required "bootstrap.mode is standby: set bootstrap.standby.cluster (the cluster to follow)" $b.standby -}}
  {{- $src := required "bootstrap.mode is standby: set bootstrap.standby.cluster (the cluster to follow)" $s.cluster -}}
  {{- if eq $src $cluster -}}
    {{- fail (printf "bootstrap.standby.cluster is %q, this cluster's own name; a standby follows another cluster" $src) -}}
  {{- end -}}
  {{- $kind := include "spilo-supabase.target" (dict "section" $s "path" "bootstrap.standby") -}}
  {{- $t := dict -}}
  {{- if $kind -}}
    {{- $t = index $s $kind -}}
  {{- else -}}
    {{- $kind = include "spilo-supabase.target" (dict "section" $root.Values.backup "path" "backup") -}}
    {{- if not $kind -}}
      {{- fail "bootstrap.mode is standby but the source archive is unknown: set bootstrap.standby.s3 or .gcs (or a backup target, which the standby then reads)" -}}
    {{- end -}}
    {{- $t = index $root.Values.backup $kind -}}
  {{- end -}}
  {{- if eq $kind "azure" -}}
    {{- fail "bootstrap.mode is standby with an Azure archive: the operator's standby section supports only S3 and GCS" -}}
  {{- end -}}
  {{- $walPath := include "spilo-supabase.walPath" (dict "kind" $kind "t" $t "cluster" $src "uid" ($s.uid | default "") "version" $version) -}}
  {{- $_ := set $h "standby" (dict (ternary "s3_wal_path" "gs_wal_path" (eq $kind "s3")) $walPath) -}}
  {{- include "spilo-supabase.storageEnv" (dict "h" $h "prefix" "STANDBY_" "purpose" "standby" "kind" $kind "t" $t "walPath" $walPath) -}}
{{- else -}}
  {{- fail (printf "bootstrap.mode is %q; it must be fresh, restore or standby" $b.mode) -}}
{{- end -}}
{{- include "spilo-supabase.envTraps" (dict "root" $root "h" $h) -}}
{{- end -}}
