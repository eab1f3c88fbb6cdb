package app

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dbfleet/dbfleet/internal/metrics"
)

// openMetrics opens the embedded metric store (with a remote writer when
// configured) and builds the scraper over the inventory.
//
// Every server process scrapes into its own TSDB (metrics.scrape, on by
// default) rather than only the lease holder: the store is local to the
// process, and each server answers the query API and dashboards from it,
// so a server that did not scrape would show nothing. Several servers on
// one PostgreSQL store therefore scrape the fleet once each; set
// metrics.scrape: false on servers that should only serve the UI/API, or
// remote-write from all of them into one shared Prometheus-compatible store.
func openMetrics(cfg metrics.Config, inv metrics.Inventory, vis metrics.Visibility, reg prometheus.Registerer, log *slog.Logger) (*metrics.Store, *metrics.Scraper, *metrics.RemoteWriter, error) {
	var remote *metrics.RemoteWriter
	if cfg.RemoteWriteURL != "" {
		remote = metrics.NewRemoteWriter(cfg.RemoteWriteURL, 0, log.With("component", "remote-write"))
		if cfg.RemoteWriteToken != "" {
			remote.Headers = map[string]string{"Authorization": "Bearer " + cfg.RemoteWriteToken}
		}
	}
	store, err := metrics.Open(cfg.Dir, metrics.StoreOptions{Retention: cfg.Retention, Registerer: reg, Remote: remote, Visibility: vis}, log.With("component", "metrics"))
	if err != nil {
		return nil, nil, nil, err
	}
	scraper := metrics.NewScraper(inv, store, cfg.ScraperOptions(), log.With("component", "scraper"))
	return store, scraper, remote, nil
}

// metricsLoops are the background loops of the metrics pipeline.
func metricsLoops(cfg metrics.Config, scraper *metrics.Scraper, remote *metrics.RemoteWriter) []struct {
	name string
	run  func(context.Context) error
} {
	var loops []struct {
		name string
		run  func(context.Context) error
	}
	if cfg.Scrape {
		loops = append(loops, struct {
			name string
			run  func(context.Context) error
		}{"metrics scraper", scraper.Run})
	}
	if remote != nil {
		loops = append(loops, struct {
			name string
			run  func(context.Context) error
		}{"remote write", remote.Run})
	}
	return loops
}
