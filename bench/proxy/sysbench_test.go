//go:build proxybench

// Package proxybench compares dbfleet's proxy with a direct connection and
// a plain TCP forwarder (Go io.Copy, the floor for any extra hop) under
// Debian's sysbench, in the same run, against a real MariaDB primary and
// replica (internal/testenv). Run it with bench/proxy/run.sh or:
//
//	go test -tags proxybench ./bench/proxy/ -run TestSysbench -v -timeout 60m [-time 10] [-threads 1,8,32] [-workloads oltp_point_select,oltp_read_only,oltp_read_write] [-pin]
//
// The forwarder and the proxy run as separate processes (this test binary
// re-executed), so that -pin can put them on their own core with taskset
// while sysbench and the servers share the other. It prints a table of
// QPS and p99 latency per path, and each path's QPS as a share of the
// forwarder's. It is a benchmark, not a test: it fails only when a run
// fails.
package proxybench

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/proxy"
	dsql "github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

var (
	runTime   = flag.Int("time", 10, "seconds per sysbench run")
	threads   = flag.String("threads", "1,8,32", "sysbench thread counts")
	workloads = flag.String("workloads", "oltp_point_select,oltp_read_only,oltp_read_write", "sysbench workloads")
	tables    = flag.Int("tables", 4, "sysbench tables")
	rows      = flag.Int("rows", 100000, "rows per table")
	cpuprof   = flag.String("cpuprofile-proxy", "", "write the (unpinned) proxy process' CPU profile to this file")
	pin       = flag.Bool("pin", true, "also run the forwarder and the proxy pinned on core 0 (sysbench and servers on the others)")
)

const roleEnv = "DBFLEET_PROXYBENCH_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "forward":
		forward(os.Getenv("LISTEN"), os.Getenv("TARGET"))
		return
	case "proxy":
		runProxy()
		return
	}
	os.Exit(testenv.Main(m))
}

// forward is the plain TCP forwarder: a goroutine per direction, io.Copy.
func forward(listen, target string) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			b, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				return
			}
			go func() { io.Copy(b, c); b.Close() }()
			io.Copy(c, b)
			c.Close()
		}()
	}
}

func runProxy() {
	topo := proxy.Topology{Primary: proxy.Backend{Name: "primary", Addr: os.Getenv("PRIMARY")}}
	for _, r := range strings.Split(os.Getenv("REPLICAS"), ",") {
		if r != "" {
			topo.Replicas = append(topo.Replicas, proxy.Backend{Name: r, Addr: r})
		}
	}
	u := proxy.User{Name: "bench", Password: "bench", Backend: proxy.Account{User: os.Getenv("BUSER"), Password: os.Getenv("BPASS")}}
	p, err := proxy.New(proxy.Options{Cluster: "bench", Dialect: dsql.MariaDB, PoolSize: 128}, topo, []proxy.User{u})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", os.Getenv("LISTEN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if f := os.Getenv("CPUPROFILE"); f != "" {
		// -cpuprofile-proxy: where the proxy process spends its CPU.
		out, err := os.Create(f)
		if err == nil && pprof.StartCPUProfile(out) == nil {
			defer out.Close()
			defer pprof.StopCPUProfile()
		}
	}
	fmt.Println("ready")
	if err := p.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// helper starts this binary in a role, optionally under taskset, and
// waits for it to listen.
func helper(t *testing.T, cpus string, env ...string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{self, "-test.run=^$"}
	if cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper %v: %q, %v", env, line, err)
	}
}

type path struct {
	name       string
	port       int
	user, pass string
}

type result struct {
	qps, p99 float64
}

var (
	qpsRe = regexp.MustCompile(`queries:\s+\d+\s+\(([\d.]+) per sec`)
	p99Re = regexp.MustCompile(`99th percentile:\s+([\d.]+)`)
)

func sysbench(t *testing.T, p path, workload string, threads int, cmd string) result {
	t.Helper()
	args := []string{workload, "--db-driver=mysql", "--mysql-host=127.0.0.1",
		"--mysql-port=" + strconv.Itoa(p.port), "--mysql-user=" + p.user, "--mysql-password=" + p.pass,
		"--mysql-db=sbtest", "--tables=" + strconv.Itoa(*tables), "--table-size=" + strconv.Itoa(*rows),
		"--threads=" + strconv.Itoa(threads), "--time=" + strconv.Itoa(*runTime), "--percentile=99",
		"--db-ps-mode=disable", "--rand-type=uniform", cmd}
	out, err := exec.Command("sysbench", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("sysbench %s %s via %s: %v\n%s", workload, cmd, p.name, err, out)
	}
	if cmd != "run" {
		return result{}
	}
	q, l := qpsRe.FindSubmatch(out), p99Re.FindSubmatch(out)
	if q == nil || l == nil {
		t.Fatalf("sysbench output not understood:\n%s", out)
	}
	qps, _ := strconv.ParseFloat(string(q[1]), 64)
	p99, _ := strconv.ParseFloat(string(l[1]), 64)
	return result{qps, p99}
}

// mariadbPIDs reads each server's pid file.
func mariadbPIDs(t *testing.T, c *testenv.MariaDBCluster) []string {
	t.Helper()
	var pids []string
	for _, n := range c.Nodes {
		var f string
		if err := n.DB(t, "").QueryRow("SELECT @@pid_file").Scan(&f); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(f, "/") {
			f = n.DataDir + "/" + f
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, strings.TrimSpace(string(b)))
	}
	return pids
}

func setAffinity(t *testing.T, cpus string, pids []string) {
	t.Helper()
	for _, pid := range pids {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, pid).CombinedOutput(); err != nil {
			t.Fatalf("taskset %s: %v %s", pid, err, out)
		}
	}
}

func TestSysbench(t *testing.T) {
	if _, err := exec.LookPath("sysbench"); err != nil {
		t.Fatal("sysbench not found: apt-get install sysbench")
	}
	c := testenv.StartMariaDBCluster(t, 2)
	pr := c.Primary()
	pr.Exec(t, "CREATE DATABASE IF NOT EXISTS sbtest")
	direct := path{"direct", pr.Port, pr.User, pr.Password}
	began := time.Now()
	sysbench(t, direct, "oltp_read_write", 4, "prepare")
	c.WaitSync(t)
	t.Logf("prepared %d tables of %d rows in %s", *tables, *rows, time.Since(began).Round(time.Second))

	ncpu := strings.TrimSpace(mustOut(t, "nproc"))
	n, _ := strconv.Atoi(ncpu)
	rest := "1"
	if n > 2 {
		rest = "1-" + strconv.Itoa(n-1)
	}
	paths := []path{direct}
	start := func(suffix, cpus string) {
		fport, pport := testenv.FreePort(t), testenv.FreePort(t)
		helper(t, cpus, roleEnv+"=forward", "LISTEN=127.0.0.1:"+strconv.Itoa(fport), "TARGET=127.0.0.1:"+strconv.Itoa(pr.Port))
		prof := ""
		if cpus == "" && *cpuprof != "" {
			prof = *cpuprof
		}
		helper(t, cpus, roleEnv+"=proxy", "CPUPROFILE="+prof, "LISTEN=127.0.0.1:"+strconv.Itoa(pport), "PRIMARY=127.0.0.1:"+strconv.Itoa(pr.Port),
			"REPLICAS=127.0.0.1:"+strconv.Itoa(c.Nodes[1].Port), "BUSER="+pr.User, "BPASS="+pr.Password)
		paths = append(paths, path{"forwarder" + suffix, fport, pr.User, pr.Password}, path{"dbfleet proxy" + suffix, pport, "bench", "bench"})
	}
	start("", "")
	type key struct {
		path, workload string
		threads        int
	}
	res := map[key]result{}
	var order []string
	run := func(ps []path, before, after func()) {
		for _, w := range strings.Split(*workloads, ",") {
			for _, th := range strings.Split(*threads, ",") {
				n, _ := strconv.Atoi(th)
				for _, p := range ps {
					if before != nil {
						before()
					}
					r := sysbench(t, p, w, n, "run")
					if after != nil {
						after()
					}
					res[key{p.name, w, n}] = r
					t.Logf("%-24s %-18s %2d threads: %9.0f QPS, p99 %.2f ms", p.name, w, n, r.qps, r.p99)
				}
			}
		}
		for _, p := range ps {
			order = append(order, p.name)
		}
	}
	run(paths, nil, nil)
	if *pin {
		pinned := len(paths)
		start(" (pinned)", "0")
		pids := mariadbPIDs(t, c)
		// sysbench inherits this process' affinity.
		self := []string{strconv.Itoa(os.Getpid())}
		run(paths[pinned:], func() { setAffinity(t, rest, append(pids, self...)) }, func() { setAffinity(t, "0-"+strconv.Itoa(n-1), append(pids, self...)) })
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n| path | workload | threads | QPS | p99 ms | vs forwarder | added µs/query |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, w := range strings.Split(*workloads, ",") {
		for _, th := range strings.Split(*threads, ",") {
			n, _ := strconv.Atoi(th)
			for _, name := range order {
				r, ok := res[key{name, w, n}]
				if !ok {
					continue
				}
				fw := "forwarder"
				if strings.HasSuffix(name, "(pinned)") {
					fw = "forwarder (pinned)"
				}
				ratio, added := "", ""
				if f := res[key{fw, w, n}]; f.qps > 0 && name != fw && name != "direct" {
					ratio = fmt.Sprintf("%.2f", r.qps/f.qps)
					// Mean time per query in a thread, minus the forwarder's.
					added = fmt.Sprintf("%.0f", float64(n)*(1/r.qps-1/f.qps)*1e6)
				}
				fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %.2f | %s | %s |\n", name, w, n, r.qps, r.p99, ratio, added)
			}
		}
	}
	t.Log(b.String())
}

func mustOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
