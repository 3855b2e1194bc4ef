{{- /* A chart file's content for a Secret: stringData as is, data serialized by the mount path's extension (as zero-to-jupyterhub does). */ -}}
{{- define "standin.fileContent" -}}
{{- if hasKey . "stringData" -}}
{{- .stringData -}}
{{- else if hasKey . "data" -}}
{{- if hasSuffix ".json" .mountPath -}}{{- toJson .data -}}
{{- else if or (hasSuffix ".yaml" .mountPath) (hasSuffix ".yml" .mountPath) -}}{{- toYaml .data -}}
{{- else -}}{{- fail (printf "extraFiles: %s: data is written only to .json, .yaml or .yml files in this stand-in; use stringData" .mountPath) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "standin.labels" -}}
app: jupyterhub
release: {{ .Release.Name }}
chart: {{ .Chart.Name }}-{{ .Chart.Version }}
heritage: {{ .Release.Service }}
{{- end -}}
