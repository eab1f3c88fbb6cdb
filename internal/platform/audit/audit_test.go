package audit_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }

func TestRecordAndFilter(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ann := audit.WithActor(context.Background(), audit.Actor{User: "ann", Addr: "192.0.2.1"})
		bob := audit.WithActor(context.Background(), audit.Actor{User: "bob", Addr: "192.0.2.2"})
		for _, r := range []struct {
			ctx            context.Context
			action, target string
		}{
			{ann, "host.add", "db1"},
			{ann, "instance.add", "m1"},
			{bob, "instance.remove", "m1"},
			{bob, "instance_x.add", "weird"}, // '_' must not match as a wildcard
			{context.Background(), "user.add", "admin"},
		} {
			if err := audit.Record(r.ctx, db, r.action, r.target, map[string]any{"k": "v"}); err != nil {
				t.Fatal(err)
			}
		}
		log := audit.NewLog(db)
		ctx := context.Background()
		tests := []struct {
			f    audit.Filter
			want []string
		}{
			{audit.Filter{}, []string{"user.add", "instance_x.add", "instance.remove", "instance.add", "host.add"}},
			{audit.Filter{User: "ann"}, []string{"instance.add", "host.add"}},
			{audit.Filter{Action: "instance."}, []string{"instance.remove", "instance.add"}},
			{audit.Filter{Target: "m1", User: "bob"}, []string{"instance.remove"}},
			{audit.Filter{User: "system"}, []string{"user.add"}},
			{audit.Filter{Limit: 2}, []string{"user.add", "instance_x.add"}},
			{audit.Filter{Since: time.Now().Add(time.Hour)}, nil},
		}
		for _, tt := range tests {
			got, err := log.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range got {
				actions = append(actions, e.Action)
			}
			if len(actions) != len(tt.want) {
				t.Errorf("%+v: %v, want %v", tt.f, actions, tt.want)
				continue
			}
			for i := range actions {
				if actions[i] != tt.want[i] {
					t.Errorf("%+v: %v, want %v", tt.f, actions, tt.want)
					break
				}
			}
		}
		all, _ := log.List(ctx, audit.Filter{User: "ann", Limit: 1})
		if all[0].Addr != "192.0.2.1" || all[0].Detail["k"] != "v" || all[0].At.IsZero() {
			t.Errorf("entry fields: %+v", all[0])
		}
	})
}
