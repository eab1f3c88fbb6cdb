package query

import (
	"context"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
)

// CheckExport runs the checks of Export that need no connection to the
// instance: the request, the statement's plan (one query, parsed and
// rendered, no INTO, no locking, no special comments, the allow-lists of
// functions and operators) and p's grants over everything it reads. A
// work order calls it at review time, so that an export the console
// would refuse fails before anyone approves it.
//
// A nil error promises nothing: Export checks everything again and adds
// what needs the server (the column lineage that masking relies on, the
// server's own errors). Names are compared as the instance's server does
// when that is known (cached from an earlier statement), otherwise
// case-insensitively, which accepts everything an exact comparison
// accepts: CheckExport never refuses what Export would run.
//
// A refusal (or failure) is audited like Export's, as query.refused (or
// query.failed) with the ticket and "check": true; a pass is not audited,
// since nothing ran.
func (s *Service) CheckExport(ctx context.Context, p auth.Principal, req ExportRequest) error {
	start := s.now()
	err := s.checkExport(ctx, p, req)
	if err != nil {
		extra := map[string]any{"export": true, "check": true}
		if req.Ticket != "" {
			extra["ticket"] = req.Ticket
		}
		s.record(ctx, p, "query.export", Request{Instance: req.Instance, Database: req.Database, Statement: req.Statement}, extra, nil, err, s.now().Sub(start))
	}
	return err
}

func (s *Service) checkExport(ctx context.Context, p auth.Principal, req ExportRequest) error {
	j, err := s.exportJob(ctx, p, req)
	if err != nil {
		return err
	}
	if j.gs, j.full, err = s.grants(ctx, j.p, j.in); err != nil {
		return err
	}
	j.names = s.knownNames(j.target.Engine, j.target.Name)
	return j.checkGrants()
}

// knownNames is how target's server compares names, without asking it:
// from the cache for the MySQL family (case-insensitive when not cached,
// the more permissive reading), exact for the others.
func (s *Service) knownNames(target engine.Kind, instance string) names {
	switch target {
	case engine.MariaDB, engine.MySQL, engine.TiDB:
	default:
		return exactNames
	}
	if v, ok := s.lctn.get(instance, s.now()); ok {
		return names{fold: v != 0, colFold: true}
	}
	return names{fold: true, colFold: true}
}
