package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// Config is the proxy section of the server configuration
// (docs/config.md, docs/proxy.md): it applies to every listener run by
// `dbfleet serve` and is what `dbfleet proxy run` gets from the server.
type Config struct {
	// PoolSize bounds the connections to each backend per proxy user.
	PoolSize int `yaml:"pool_size" env:"DBFLEET_PROXY_POOL_SIZE" json:"pool_size"`
	// ConnectTimeout bounds dialing a backend and waiting for a pooled
	// connection.
	ConnectTimeout time.Duration `yaml:"connect_timeout" env:"DBFLEET_PROXY_CONNECT_TIMEOUT" json:"connect_timeout"`
	// CheckEvery: how often the topology is read and the servers probed.
	CheckEvery time.Duration `yaml:"check_every" env:"DBFLEET_PROXY_CHECK_EVERY" json:"check_every"`
	// MaxReplicaLag takes a replica out of the read pool.
	MaxReplicaLag time.Duration `yaml:"max_replica_lag" env:"DBFLEET_PROXY_MAX_REPLICA_LAG" json:"max_replica_lag"`
	// PrimaryReads: with no eligible replica, reads go to the primary
	// (else they fail).
	PrimaryReads bool `yaml:"primary_reads" env:"DBFLEET_PROXY_PRIMARY_READS" json:"primary_reads"`
	// CausalReads: a read after the session's own write waits on the
	// replica for that write (CausalTimeout), else runs on the primary.
	CausalReads   bool          `yaml:"causal_reads" env:"DBFLEET_PROXY_CAUSAL_READS" json:"causal_reads"`
	CausalTimeout time.Duration `yaml:"causal_timeout" env:"DBFLEET_PROXY_CAUSAL_TIMEOUT" json:"causal_timeout"`
	// HoldWindow and HoldQueue bound the writes held during a failover or
	// a switchover.
	HoldWindow time.Duration `yaml:"hold_window" env:"DBFLEET_PROXY_HOLD_WINDOW" json:"hold_window"`
	HoldQueue  int           `yaml:"hold_queue" env:"DBFLEET_PROXY_HOLD_QUEUE" json:"hold_queue"`
	// AuthMethod for clients: mysql_native_password or
	// caching_sha2_password.
	AuthMethod string `yaml:"auth_method" env:"DBFLEET_PROXY_AUTH_METHOD" json:"auth_method"`
	// TLSCert and TLSKey (PEM files) offer TLS to clients.
	TLSCert string `yaml:"tls_cert" env:"DBFLEET_PROXY_TLS_CERT" json:"-"`
	TLSKey  string `yaml:"tls_key" env:"DBFLEET_PROXY_TLS_KEY" json:"-"`
	// MaxPacket bounds one client command (bytes).
	MaxPacket int `yaml:"-" json:"max_packet"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{
		PoolSize:       64,
		ConnectTimeout: 5 * time.Second,
		CheckEvery:     time.Second,
		MaxReplicaLag:  5 * time.Second,
		PrimaryReads:   true,
		CausalReads:    true,
		CausalTimeout:  50 * time.Millisecond,
		HoldWindow:     10 * time.Second,
		HoldQueue:      1000,
		AuthMethod:     mysql.AUTH_NATIVE_PASSWORD,
		MaxPacket:      64 << 20,
	}
}

// Validate names each wrong key (proxy.key).
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"connect_timeout", c.ConnectTimeout}, {"check_every", c.CheckEvery}, {"max_replica_lag", c.MaxReplicaLag}, {"causal_timeout", c.CausalTimeout}, {"hold_window", c.HoldWindow}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("proxy.%s %s: want a positive duration", d.key, d.v))
		}
	}
	if c.PoolSize < 1 {
		errs = append(errs, fmt.Errorf("proxy.pool_size %d: want at least 1", c.PoolSize))
	}
	if c.HoldQueue < 1 {
		errs = append(errs, fmt.Errorf("proxy.hold_queue %d: want at least 1", c.HoldQueue))
	}
	if c.AuthMethod != mysql.AUTH_NATIVE_PASSWORD && c.AuthMethod != mysql.AUTH_CACHING_SHA2_PASSWORD {
		errs = append(errs, fmt.Errorf("proxy.auth_method %q: want %s or %s", c.AuthMethod, mysql.AUTH_NATIVE_PASSWORD, mysql.AUTH_CACHING_SHA2_PASSWORD))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("proxy.tls_cert and proxy.tls_key: set both or neither"))
	}
	return errors.Join(errs...)
}

// Options are a listener's options for cluster under this configuration.
func (c Config) Options(cluster string) (Options, error) {
	o := Options{
		Cluster: cluster, PoolSize: c.PoolSize, ConnectTimeout: c.ConnectTimeout, MaxPacket: c.MaxPacket,
		AuthMethod: c.AuthMethod, CheckEvery: c.CheckEvery, MaxReplicaLag: c.MaxReplicaLag,
		NoPrimaryReads: !c.PrimaryReads, CausalReads: c.CausalReads, CausalTimeout: c.CausalTimeout,
		HoldWindow: c.HoldWindow, HoldQueue: c.HoldQueue,
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return o, fmt.Errorf("proxy TLS: %w", err)
		}
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return o, nil
}
