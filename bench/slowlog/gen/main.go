// Command gen writes a synthetic MariaDB slow log (see
// internal/slowlog/slowloggen for its format and content).
//
//	go run ./bench/slowlog/gen -size 100MB -o /tmp/slow.log
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/slowlog/slowloggen"
)

func main() {
	size := flag.String("size", "100MB", "approximate output size (KB, MB, GB; or bytes)")
	out := flag.String("o", "-", "output file (- for stdout)")
	seed := flag.Uint64("seed", 1, "random seed")
	start := flag.String("start", "2026-03-02T08:00:00Z", "time of the first event (RFC 3339)")
	qps := flag.Int("qps", 400, "events per second of log time")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: -size %q: %v\n", *size, err)
		os.Exit(2)
	}
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: -start %q: %v\n", *start, err)
		os.Exit(2)
	}
	var w io.Writer = os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gen: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	written, events, err := slowloggen.Write(w, n, slowloggen.Options{Seed: *seed, Start: t0, QPS: *qps})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %d bytes, %d events\n", written, events)
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("want a size such as 100MB")
	}
	return int64(v * float64(mult)), nil
}
