{{/*
WAL-G environment for Spilo (spilo 4.0-p3 configure_spilo.py), shared by backups (no prefix), restores
(CLONE_) and standbys (STANDBY_). Spilo's traps, and why each variable is here:
  - archiving is on only when WAL_S3_BUCKET / WAL_GS_BUCKET / WALG_AZ_PREFIX is non-empty;
  - WAL-G is used only when USE_WALG_BACKUP / USE_WALG_RESTORE are exactly "true";
  - with the bucket in spec.env Spilo prefixes the path with "<namespace>-" unless
    WAL_BUCKET_SCOPE_PREFIX is set, and the operator's clone would not find it (postgres-operator#2116);
  - off AWS the region must be explicit; endpoints without SSE need WALG_DISABLE_S3_SSE=true;
  - a restore or standby does not inherit the main credentials, endpoint or region: each has its
    prefixed variable.
Credentials are only referenced (secretKeyRef, or a Secret volume for file-based keys).

Every helper here fills a holder dict {env: [...], volumes: [...]} passed as .h.
*/}}

{{- define "spilo-supabase.env" -}}
{{- $_ := set .h "env" (append .h.env (dict "name" .name "value" (toString .value))) -}}
{{- end -}}

{{- define "spilo-supabase.envSecret" -}}
{{- $_ := set .h "env" (append .h.env (dict "name" .name "valueFrom" (dict "secretKeyRef" (dict "name" .secret "key" .key)))) -}}
{{- end -}}

{{- define "spilo-supabase.secretVolume" -}}
{{- $vol := dict "name" .name "mountPath" .mountPath "volumeSource" (dict "secret" (dict "secretName" .secret "defaultMode" 288)) -}}
{{- $_ := set .h "volumes" (append .h.volumes $vol) -}}
{{- end -}}

{{/* Spilo's WAL location for a cluster: <scheme>://<bucket>[/<prefix>]/spilo/<cluster>[/<uid>]/wal/<pg>. */}}
{{- define "spilo-supabase.walPath" -}}
{{- $t := .t -}}
{{- $scheme := get (dict "s3" "s3" "gcs" "gs" "azure" "azure") .kind -}}
{{- $bucket := ternary $t.container $t.bucket (eq .kind "azure") -}}
{{- $parts := list (printf "%s://%s" $scheme $bucket) -}}
{{- if $t.prefix }}{{ $parts = append $parts $t.prefix }}{{ end -}}
{{- $parts = append $parts "spilo" -}}
{{- $parts = append $parts .cluster -}}
{{- if .uid }}{{ $parts = append $parts .uid }}{{ end -}}
{{- $parts = append $parts "wal" -}}
{{- $parts = append $parts .version -}}
{{- join "/" $parts -}}
{{- end -}}

{{/*
Storage variables for one target. Args: h, prefix ("", "CLONE_", "STANDBY_"), purpose (backup, restore,
standby: names the credential mounts), kind (s3, gcs, azure), t (the target), walPath (explicit WAL
location, or "" to let Spilo build it from the bucket and the cluster's own name).
*/}}
{{- define "spilo-supabase.storageEnv" -}}
{{- $h := .h -}}{{- $p := .prefix -}}{{- $t := .t -}}
{{- $mount := include "spilo-supabase.walgMount" .purpose -}}
{{- if eq .kind "s3" -}}
  {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WAL_S3_BUCKET") "value" $t.bucket) -}}
  {{- if .walPath -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WALE_S3_PREFIX") "value" .walPath) -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WALG_S3_PREFIX") "value" .walPath) -}}
  {{- end -}}
  {{- $region := $t.region -}}
  {{- if and $t.endpoint (not $region) }}{{ $region = "us-east-1" }}{{ end -}}
  {{- if $region -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "AWS_REGION") "value" $region) -}}
  {{- end -}}
  {{- $pathStyle := $t.forcePathStyle -}}
  {{- if and $t.endpoint (not (hasKey $t "forcePathStyle")) }}{{ $pathStyle = true }}{{ end -}}
  {{- if $t.endpoint -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "AWS_ENDPOINT") "value" $t.endpoint) -}}
    {{- if not $pathStyle -}}
      {{- /* Spilo forces path style for any endpoint unless WALE_S3_ENDPOINT names another convention. */ -}}
      {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WALE_S3_ENDPOINT") "value" ($t.endpoint | replace "://" "+virtualhost://")) -}}
    {{- end -}}
  {{- end -}}
  {{- if $pathStyle -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "AWS_S3_FORCE_PATH_STYLE") "value" "true") -}}
  {{- end -}}
  {{- $noSSE := $t.disableSSE -}}
  {{- if and $t.endpoint (not (hasKey $t "disableSSE")) }}{{ $noSSE = true }}{{ end -}}
  {{- if or $noSSE (and $t.endpoint (hasKey $t "disableSSE")) -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WALG_DISABLE_S3_SSE") "value" (ternary "true" "false" (eq (toString $noSSE) "true"))) -}}
  {{- end -}}
  {{- with $t.caBundle -}}
    {{- $dir := printf "%s-ca" $mount -}}
    {{- include "spilo-supabase.secretVolume" (dict "h" $h "name" (printf "walg-%s-ca" $.purpose) "mountPath" $dir "secret" .secretName) -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WALG_S3_CA_CERT_FILE") "value" (printf "%s/%s" $dir (default "ca.crt" .key))) -}}
  {{- end -}}
  {{- with $t.credentials -}}
    {{- include "spilo-supabase.envSecret" (dict "h" $h "name" (print $p "AWS_ACCESS_KEY_ID") "secret" .secretName "key" (default "AWS_ACCESS_KEY_ID" .accessKeyIdKey)) -}}
    {{- include "spilo-supabase.envSecret" (dict "h" $h "name" (print $p "AWS_SECRET_ACCESS_KEY") "secret" .secretName "key" (default "AWS_SECRET_ACCESS_KEY" .secretAccessKeyKey)) -}}
  {{- end -}}
{{- else if eq .kind "gcs" -}}
  {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WAL_GS_BUCKET") "value" $t.bucket) -}}
  {{- if .walPath -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WALE_GS_PREFIX") "value" .walPath) -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WALG_GS_PREFIX") "value" .walPath) -}}
  {{- end -}}
  {{- with $t.credentials -}}
    {{- $dir := printf "%s-gcs" $mount -}}
    {{- include "spilo-supabase.secretVolume" (dict "h" $h "name" (printf "walg-%s-gcs" $.purpose) "mountPath" $dir "secret" .secretName) -}}
    {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "GOOGLE_APPLICATION_CREDENTIALS") "value" (printf "%s/%s" $dir (default "key.json" .key))) -}}
  {{- end -}}
{{- else if eq .kind "azure" -}}
  {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "WALG_AZ_PREFIX") "value" .walPath) -}}
  {{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "AZURE_STORAGE_ACCOUNT") "value" $t.storageAccount) -}}
  {{- with $t.credentials -}}
    {{- include "spilo-supabase.envSecret" (dict "h" $h "name" (print $p "AZURE_STORAGE_ACCESS_KEY") "secret" .secretName "key" (default "AZURE_STORAGE_ACCESS_KEY" .key)) -}}
  {{- end -}}
{{- else -}}
  {{- fail (printf "unknown storage target %q" .kind) -}}
{{- end -}}
{{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "USE_WALG_BACKUP") "value" "true") -}}
{{- include "spilo-supabase.env" (dict "h" $h "name" (print $p "USE_WALG_RESTORE") "value" "true") -}}
{{- end -}}

{{/* The backup section: archiving and base backups of this cluster. Args: root (.), h. */}}
{{- define "spilo-supabase.backupEnv" -}}
{{- $v := .root.Values.backup -}}
{{- if $v.enabled -}}
  {{- $kind := include "spilo-supabase.target" (dict "section" $v "path" "backup") -}}
  {{- if not $kind -}}
    {{- fail "backup.enabled is true but no target is set: set exactly one of backup.s3, backup.gcs, backup.azure" -}}
  {{- end -}}
  {{- $t := index $v $kind -}}
  {{- $cluster := include "spilo-supabase.clusterName" .root -}}
  {{- /* An explicit path only when a prefix is asked for, or always for Azure (Spilo builds no Azure path). */ -}}
  {{- $walPath := "" -}}
  {{- if or $t.prefix (eq $kind "azure") -}}
    {{- $walPath = include "spilo-supabase.walPath" (dict "kind" $kind "t" $t "cluster" $cluster "uid" "" "version" .root.Values.postgresql.version) -}}
  {{- end -}}
  {{- include "spilo-supabase.storageEnv" (dict "h" .h "prefix" "" "purpose" "backup" "kind" $kind "t" $t "walPath" $walPath) -}}
  {{- /* The operator adds its global wal_s3_bucket / wal_gs_bucket only for names spec.env lacks, and Spilo
       prefers S3 over GCS over Azure: an empty value shadows a global bucket that would take the WAL elsewhere. */ -}}
  {{- if ne $kind "s3" -}}
    {{- include "spilo-supabase.env" (dict "h" .h "name" "WAL_S3_BUCKET" "value" "") -}}
  {{- end -}}
  {{- if eq $kind "azure" -}}
    {{- include "spilo-supabase.env" (dict "h" .h "name" "WAL_GS_BUCKET" "value" "") -}}
  {{- end -}}
  {{- include "spilo-supabase.env" (dict "h" .h "name" "WAL_BUCKET_SCOPE_PREFIX" "value" "") -}}
  {{- include "spilo-supabase.env" (dict "h" .h "name" "WAL_BUCKET_SCOPE_SUFFIX" "value" "") -}}
  {{- include "spilo-supabase.env" (dict "h" .h "name" "BACKUP_SCHEDULE" "value" $v.schedule) -}}
  {{- include "spilo-supabase.env" (dict "h" .h "name" "BACKUP_NUM_TO_RETAIN" "value" (include "spilo-supabase.str" $v.retention)) -}}
  {{- include "spilo-supabase.env" (dict "h" .h "name" "WALG_COMPRESSION_METHOD" "value" $v.compression) -}}
  {{- if $v.fromReplica -}}
    {{- include "spilo-supabase.env" (dict "h" .h "name" "WALG_BACKUP_FROM_REPLICA" "value" "true") -}}
  {{- end -}}
{{- else -}}
  {{- range $t := list "s3" "gcs" "azure" -}}
    {{- if index $v $t -}}
      {{- fail (printf "backup.%s is set but backup.enabled is false: nothing would be archived; set backup.enabled: true or remove backup.%s" $t $t) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}


{{/*
extraEnv entries Spilo would silently misread. Args: root (.), h (after backupEnv and bootstrap, so names
the chart sets are left to the "set twice" check).
  - storage, scope and mode variables belong to backup/bootstrap: set on their own they archive with
    WAL-E, or under "<namespace>-<cluster>", or clone nothing;
  - USE_WALG_* other than exactly "true" select WAL-E;
  - USE_PAUSE_AT_RECOVERY_TARGET, CLONE_TARGET_INCLUSIVE, ALLOW_NOSSL: any non-empty value, "false"
    included, counts as true in Spilo's templates;
  - WAL-G settings reach WAL-G only under the names Spilo copies into its envdir.
*/}}
{{- define "spilo-supabase.envTraps" -}}
{{- $owned := list "WAL_S3_BUCKET" "WAL_GS_BUCKET" "WAL_GCS_BUCKET" "WAL_SWIFT_BUCKET" "WALE_S3_PREFIX" "WALG_S3_PREFIX" "WALE_GS_PREFIX" "WALG_GS_PREFIX" "WALE_GCS_PREFIX" "WALE_SWIFT_PREFIX" "WALG_AZ_PREFIX" "WALG_SSH_PREFIX" "WAL_BUCKET_SCOPE_PREFIX" "WAL_BUCKET_SCOPE_SUFFIX" "USE_WALG" "USE_WALG_BACKUP" "USE_WALG_RESTORE" "SCOPE" "METHOD" "WITH_WALE" "TARGET_TIME" "TARGET_TIMELINE" "WALE_ENV_DIR" -}}
{{- $flags := list "USE_PAUSE_AT_RECOVERY_TARGET" "CLONE_TARGET_INCLUSIVE" "ALLOW_NOSSL" -}}
{{- $walg := list "WALG_S3_SSE_KMS_ID" "WALG_S3_SSE" "WALG_DISABLE_S3_SSE" "WALG_AZURE_BUFFER_SIZE" "WALG_AZURE_MAX_BUFFERS" "WALG_DELTA_MAX_STEPS" "WALG_DELTA_ORIGIN" "WALG_DOWNLOAD_CONCURRENCY" "WALG_UPLOAD_CONCURRENCY" "WALG_UPLOAD_DISK_CONCURRENCY" "WALG_DISK_RATE_LIMIT" "WALG_NETWORK_RATE_LIMIT" "WALG_COMPRESSION_METHOD" "WALG_BACKUP_COMPRESSION_METHOD" "WALG_BACKUP_FROM_REPLICA" "WALG_SENTINEL_USER_DATA" "WALG_PREVENT_WAL_OVERWRITE" "WALG_S3_CA_CERT_FILE" "WALG_LIBSODIUM_KEY" "WALG_LIBSODIUM_KEY_PATH" "WALG_LIBSODIUM_KEY_TRANSFORM" "WALG_PGP_KEY" "WALG_PGP_KEY_PATH" "WALG_PGP_KEY_PASSPHRASE" -}}
{{- $chart := dict -}}
{{- range .h.env }}{{ $_ := set $chart .name true }}{{ end -}}
{{- range $e := .root.Values.extraEnv -}}
  {{- $name := toString $e.name -}}
  {{- $base := regexReplaceAll "^(CLONE|STANDBY)_" $name "" -}}
  {{- if hasKey $chart $name -}}
  {{- else if has $name $flags -}}
    {{- fail (printf "extraEnv %s: Spilo treats any non-empty value, \"false\" included, as true; leave it out (absent is false)" $name) -}}
  {{- else if has $base $owned -}}
    {{- fail (printf "extraEnv %s: storage, scope and WAL-G selection variables come from backup and bootstrap (set alone, Spilo archives with WAL-E, under <namespace>-<cluster>, or restores nothing)" $name) -}}
  {{- else if and (hasPrefix "WALG_" $base) (not (has $base $walg)) -}}
    {{- fail (printf "extraEnv %s: Spilo 4.0 passes WAL-G only the settings it copies to its envdir (%s); this one would be ignored" $name (join ", " $walg)) -}}
  {{- end -}}
{{- end -}}
{{- end -}}
