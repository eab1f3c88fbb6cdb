module github.com/prometheus/sigv4

go 1.25.0

require github.com/prometheus/common v0.72.1
