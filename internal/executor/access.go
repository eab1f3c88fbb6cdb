package executor

import (
	"context"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Who sees an execution is decided here, for every edge: its requester,
// or anyone with sql.execute. To anyone else it does not exist (not
// found, never forbidden: its id says nothing either). A script and its
// statements hold data and sometimes secrets.

// visible reports whether p may see ex.
func visible(p auth.Principal, ex Execution) bool {
	return p.Can(auth.SQLExecute) || (p.User != "" && ex.RequestedBy == p.User)
}

// getVisible returns the execution (without script and statements) when
// p may see it.
func (s *Service) getVisible(ctx context.Context, p auth.Principal, id ID) (Execution, error) {
	ex, err := s.st.get(ctx, id)
	if err != nil {
		return Execution{}, err
	}
	if !visible(p, ex) {
		return Execution{}, errkind.New(errkind.NotFound, "execution %d not found", id)
	}
	return ex, nil
}

// Get returns an execution with its script and statements, when p may
// see it (its requester, or sql.execute); to others it is not found.
func (s *Service) Get(ctx context.Context, p auth.Principal, id ID) (Execution, error) {
	ex, err := s.getVisible(ctx, p, id)
	if err != nil {
		return ex, err
	}
	return s.withStatements(ctx, ex)
}

// List returns executions, newest first, without statements. Without
// sql.execute, p sees only the executions requested on their behalf:
// the filter is narrowed to them, and asking for someone else's is
// forbidden.
func (s *Service) List(ctx context.Context, p auth.Principal, f Filter) ([]Execution, error) {
	if !p.Can(auth.SQLExecute) {
		if f.RequestedBy != "" && f.RequestedBy != p.User {
			return nil, p.Require(auth.SQLExecute)
		}
		f.RequestedBy = p.User
		if p.User == "" {
			return []Execution{}, nil
		}
	}
	return s.st.list(ctx, f)
}

// RollbackScript builds the SQL that undoes an execution's committed
// changes (see rollbackScript), when p may see the execution.
func (s *Service) RollbackScript(ctx context.Context, p auth.Principal, id ID) (RollbackScript, error) {
	ex, err := s.getVisible(ctx, p, id)
	if err != nil {
		return RollbackScript{}, err
	}
	return s.rollbackScript(ctx, ex)
}

// StepRollbackScript is RollbackScript for the work-order engine, which
// decides itself who may see a ticket's SQL: it answers only for the
// executions of ticket steps (keys in the ticket: namespace).
func (s *Service) StepRollbackScript(ctx context.Context, id ID) (RollbackScript, error) {
	ex, err := s.st.get(ctx, id)
	if err != nil {
		return RollbackScript{}, err
	}
	if !strings.HasPrefix(ex.Ref, ticketNamespace) {
		return RollbackScript{}, errkind.New(errkind.NotFound, "execution %d is not a work-order step's", id)
	}
	return s.rollbackScript(ctx, ex)
}
