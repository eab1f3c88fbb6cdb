package query

import (
	"context"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/inventory"
)

// ExampleAccess says how much of a statement that others ran on an
// instance (a slow-query example, with their literal values) a caller may
// see. The console's own rules decide: what its grants and masking rules
// let the caller read on that instance.
type ExampleAccess string

// Example access levels.
const (
	// ExampleNone: no query grant on the instance; the statement's shape
	// (its fingerprint) only.
	ExampleNone ExampleAccess = "none"
	// ExampleNormalized: a grant, but masking rules apply to the caller
	// on the instance; every literal of the statement hidden.
	ExampleNormalized ExampleAccess = "normalized"
	// ExampleFull: a grant (or query.grant) and no masking rule applies
	// (or query.unmask): the statement as stored (credentials redacted).
	ExampleFull ExampleAccess = "full"
)

// StatementAccess decides how much of the statements run on instance p
// may see. Grants: any unexpired grant of p (or p's role) on the
// instance, or query.grant, which covers every instance. Masking: a rule
// whose instance glob matches the instance or a member of its cluster
// (the console may answer from a replica) applies unless p has
// query.unmask.
func (s *Service) StatementAccess(ctx context.Context, p auth.Principal, instance string) (ExampleAccess, error) {
	in, err := s.inv.GetInstance(ctx, instance)
	if err != nil {
		return "", err
	}
	if !p.Can(auth.QueryRun) {
		return ExampleNone, nil
	}
	if !p.Can(auth.QueryGrant) {
		gs, err := s.activeGrants(ctx, p, in.Name)
		if err != nil {
			return "", err
		}
		if len(gs) == 0 {
			return ExampleNone, nil
		}
	}
	if p.Can(auth.QueryUnmask) {
		return ExampleFull, nil
	}
	rules, err := s.ListMasks(ctx)
	if err != nil {
		return "", err
	}
	names, err := s.clusterNames(ctx, in)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if anyRuleFor(rules, n) {
			return ExampleNormalized, nil
		}
	}
	return ExampleFull, nil
}

// clusterNames are the instance's name and those of its cluster's members.
func (s *Service) clusterNames(ctx context.Context, in inventory.Instance) ([]string, error) {
	names := []string{in.Name}
	if in.Cluster == "" {
		return names, nil
	}
	members, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{Cluster: in.Cluster})
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if m.Name != in.Name {
			names = append(names, m.Name)
		}
	}
	return names, nil
}
