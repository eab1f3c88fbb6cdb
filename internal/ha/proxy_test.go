package ha

import (
	"net"
	"strconv"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// tcpProxy is an in-process toxiproxy in front of one server: dbfleet
// connects through it, replicas do not. cut black-holes it (connections
// are accepted and existing ones kept, but nothing passes: a partition,
// not a refusal); heal lets traffic through again.
type tcpProxy struct {
	p    *toxiproxy.Proxy
	port int
}

func startProxy(t *testing.T, upstream int) *tcpProxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "node"+strconv.Itoa(upstream), "127.0.0.1:0", "127.0.0.1:"+strconv.Itoa(upstream))
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	_, port, _ := net.SplitHostPort(p.Listen)
	n, _ := strconv.Atoi(port)
	return &tcpProxy{p: p, port: n}
}

func (x *tcpProxy) cut(t *testing.T) {
	t.Helper()
	for _, dir := range []string{"upstream", "downstream"} {
		_, err := x.p.Toxics.AddToxicJson(strings.NewReader(`{"name":"cut-` + dir + `","type":"timeout","stream":"` + dir + `","attributes":{"timeout":0}}`))
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (x *tcpProxy) heal(t *testing.T) {
	t.Helper()
	for _, dir := range []string{"upstream", "downstream"} {
		if err := x.p.Toxics.RemoveToxic(t.Context(), "cut-"+dir); err != nil {
			t.Fatal(err)
		}
	}
}
