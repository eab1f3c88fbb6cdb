// Command cmp checks that pt-query-digest and dbfleet found the same
// classes in a slow log: the same query ids, the same number of events per
// class and the same total Query_time (within a microsecond per event).
//
//	go run ./bench/slowlog/cmp pt.json dbfleet.json
//
// pt.json is `pt-query-digest --output json --limit 100000000`, dbfleet.json
// `dbfleet slowlog digest -o json --limit 0`. It prints one summary line and
// exits 1 on any difference.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
)

type ptReport struct {
	Global struct {
		QueryCount       uint64 `json:"query_count"`
		UniqueQueryCount int    `json:"unique_query_count"`
	} `json:"global"`
	Classes []struct {
		Checksum    string `json:"checksum"`
		Fingerprint string `json:"fingerprint"`
		QueryCount  uint64 `json:"query_count"`
		Metrics     struct {
			QueryTime struct {
				Sum string `json:"sum"`
			} `json:"Query_time"`
		} `json:"metrics"`
	} `json:"classes"`
}

type dbReport struct {
	QueryCount       uint64 `json:"query_count"`
	UniqueQueryCount int    `json:"unique_query_count"`
	Classes          []struct {
		QueryID     string `json:"query_id"`
		Fingerprint string `json:"fingerprint"`
		QueryCount  uint64 `json:"query_count"`
		Metrics     map[string]struct {
			Sum float64 `json:"sum"`
		} `json:"metrics"`
	} `json:"classes"`
}

type class struct {
	fp    string
	count uint64
	sum   float64
}

func load(path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmp:", err)
		os.Exit(2)
	}
	// pt-query-digest starts its output with a blank line.
	for len(b) > 0 && b[0] != '{' {
		b = b[1:]
	}
	if err := json.Unmarshal(b, v); err != nil {
		fmt.Fprintf(os.Stderr, "cmp: %s: %v\n", path, err)
		os.Exit(2)
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cmp pt.json dbfleet.json")
		os.Exit(2)
	}
	var pt ptReport
	var db dbReport
	load(os.Args[1], &pt)
	load(os.Args[2], &db)
	want, got := map[string]class{}, map[string]class{}
	var ptSum, dbSum float64
	for _, c := range pt.Classes {
		s, _ := strconv.ParseFloat(c.Metrics.QueryTime.Sum, 64)
		want[c.Checksum] = class{c.Fingerprint, c.QueryCount, s}
		ptSum += s
	}
	for _, c := range db.Classes {
		s := c.Metrics["Query_time"].Sum
		got[c.QueryID] = class{c.Fingerprint, c.QueryCount, s}
		dbSum += s
	}
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	bad := 0
	for _, id := range ids {
		w, inPT := want[id]
		g, inDB := got[id]
		msg := ""
		switch {
		case !inPT:
			msg = fmt.Sprintf("only in dbfleet: %q, %d events", g.fp, g.count)
		case !inDB:
			msg = fmt.Sprintf("only in pt-query-digest: %q, %d events", w.fp, w.count)
		case w.count != g.count || math.Abs(w.sum-g.sum) > 1e-6*math.Max(1, float64(w.count)):
			msg = fmt.Sprintf("%q: pt-query-digest %d events %.6fs, dbfleet %d events %.6fs", w.fp, w.count, w.sum, g.count, g.sum)
		}
		if msg != "" {
			bad++
			if bad <= 20 {
				fmt.Printf("DIFF 0x%s %s\n", id, msg)
			}
		}
	}
	if pt.Global.QueryCount != db.QueryCount || pt.Global.UniqueQueryCount != db.UniqueQueryCount {
		bad++
		fmt.Printf("DIFF totals: pt-query-digest %d events %d unique, dbfleet %d events %d unique\n",
			pt.Global.QueryCount, pt.Global.UniqueQueryCount, db.QueryCount, db.UniqueQueryCount)
	}
	if bad > 0 {
		fmt.Printf("classes differ: %d differences (%d classes in pt-query-digest, %d in dbfleet)\n", bad, len(want), len(got))
		os.Exit(1)
	}
	fmt.Printf("identical: %d classes, %d events, total Query_time %.6fs (pt-query-digest %.6fs)\n", len(want), db.QueryCount, dbSum, ptSum)
}
