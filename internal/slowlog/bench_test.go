package slowlog

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkDigest digests a slow log on one worker; set SLOWLOG_BENCH to a
// file (e.g. one from go run ./bench/slowlog/gen), else the MariaDB sample
// repeated is used. bench/slowlog/compare.sh measures against pt-query-digest.
func BenchmarkDigest(b *testing.B) {
	data := bytes.Repeat([]byte(mariadbSample), 2000)
	if f := os.Getenv("SLOWLOG_BENCH"); f != "" {
		var err error
		if data, err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		digestBytes(b, data, Options{Workers: 1})
	}
}

func BenchmarkFingerprint(b *testing.B) {
	q := []byte("SELECT o.id, o.total, i.sku, i.qty FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.customer_id = 1234 AND o.created > '2026-01-02 03:04:05' ORDER BY o.created DESC LIMIT 10")
	var f fingerprinter
	b.SetBytes(int64(len(q)))
	for i := 0; i < b.N; i++ {
		f.fingerprint(q)
	}
}
