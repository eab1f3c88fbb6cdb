package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// TokenResponse carries a newly issued token; the secret is shown only here.
type TokenResponse struct {
	Token     string     `json:"token"`
	Info      auth.Token `json:"info"`
	User      string     `json:"user"`
	Role      auth.Role  `json:"role"`
	ExpiresAt time.Time  `json:"expires_at,omitzero"`
}

// Me describes the caller.
type Me struct {
	User        string            `json:"user"`
	Role        auth.Role         `json:"role"`
	Permissions []auth.Permission `json:"permissions"`
	TokenID     int64             `json:"token_id"`
	Version     string            `json:"server_version"`
}

// NewUser is the body of POST /api/v1/users.
type NewUser struct {
	Name     string    `json:"name"`
	Role     auth.Role `json:"role"`
	Password string    `json:"password"`
}

// UserPatch is the body of PATCH /api/v1/users/{name}.
type UserPatch = auth.UserChange

// NewToken is the body of POST /api/v1/tokens.
type NewToken struct {
	Name string `json:"name"`
	// TTL is a Go duration ("720h"); empty for no expiry.
	TTL string `json:"ttl,omitempty"`
}

// EngineInfo lists an engine and whether this build can connect to it.
type EngineInfo struct {
	Name      engine.Kind `json:"name"`
	Supported bool        `json:"supported"`
}

// routes is the whole route table: the core routes below, then each
// domain's own list (one file per domain in this package).
func (s *Server) routes() []route {
	var all []route
	for _, part := range [][]route{
		s.coreRoutes(),
		s.metricsRoutes(),
		s.healthRoutes(),
		s.haRoutes(),
		s.queryRoutes(),
		s.flowRoutes(),
		s.reviewRoutes(),
		s.execRoutes(),
		s.slowlogRoutes(),
		s.verifyRoutes(),
		s.alertRoutes(),
		s.proxyRoutes(),
		s.reportRoutes(),
	} {
		all = append(all, part...)
	}
	return all
}

func (s *Server) coreRoutes() []route {
	return []route{
		// Session.
		{method: "POST", path: "/api/v1/login", tag: "auth", summary: "Log in with a user name and password; returns a token", public: true,
			in: LoginRequest{}, out: TokenResponse{}, handle: s.login},
		{method: "POST", path: "/api/v1/logout", tag: "auth", summary: "Revoke the token used for this request",
			handle: func(r *http.Request, p auth.Principal) (any, error) { return nil, s.Auth.Logout(r.Context(), p) }},
		{method: "GET", path: "/api/v1/me", tag: "auth", summary: "Who the caller is and what they may do", out: Me{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return Me{User: p.User, Role: p.Role, Permissions: auth.PermissionsOf(p.Role), TokenID: p.TokenID, Version: s.Version}, nil
			}},

		// Users.
		{method: "GET", path: "/api/v1/users", tag: "users", summary: "List users", perm: auth.UserManage, out: []auth.User{},
			handle: func(r *http.Request, p auth.Principal) (any, error) { return s.Auth.ListUsers(r.Context()) }},
		{method: "POST", path: "/api/v1/users", tag: "users", summary: "Add a user", perm: auth.UserManage, in: NewUser{}, out: auth.User{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in NewUser
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return s.Auth.AddUser(r.Context(), in.Name, in.Role, in.Password)
			}},
		{method: "GET", path: "/api/v1/users/{name}", tag: "users", summary: "Show a user", out: auth.User{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				name := r.PathValue("name")
				if name != p.User && !p.Can(auth.UserManage) {
					return nil, p.Require(auth.UserManage)
				}
				return s.Auth.GetUser(r.Context(), name)
			}},
		{method: "PATCH", path: "/api/v1/users/{name}", tag: "users", summary: "Change a user's role, disable or enable them, or set a password (your own password needs no admin)",
			in: UserPatch{}, out: auth.User{}, handle: s.patchUser},

		// Tokens.
		{method: "GET", path: "/api/v1/tokens", tag: "tokens", summary: "List your tokens (all users' with ?all=true and user.manage)", query: []string{"all"}, out: []auth.Token{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				user := p.User
				if r.URL.Query().Get("all") == "true" {
					if err := p.Require(auth.UserManage); err != nil {
						return nil, err
					}
					user = ""
				}
				return s.Auth.ListTokens(r.Context(), user)
			}},
		{method: "POST", path: "/api/v1/tokens", tag: "tokens", summary: "Create a named API token for yourself", in: NewToken{}, out: TokenResponse{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in NewToken
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				var ttl time.Duration
				if in.TTL != "" {
					var err error
					if ttl, err = time.ParseDuration(in.TTL); err != nil || ttl <= 0 {
						return nil, errkind.New(errkind.Invalid, "invalid ttl %q: want a positive duration such as 720h", in.TTL)
					}
				}
				raw, tok, err := s.Auth.CreateToken(r.Context(), p.User, in.Name, ttl)
				if err != nil {
					return nil, err
				}
				return TokenResponse{Token: raw, Info: tok, User: p.User, Role: p.Role, ExpiresAt: tok.ExpiresAt}, nil
			}},
		{method: "DELETE", path: "/api/v1/tokens/{id}", tag: "tokens", summary: "Revoke a token (yours, or anyone's with user.manage)",
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
				if err != nil {
					return nil, errkind.New(errkind.Invalid, "invalid token id %q", r.PathValue("id"))
				}
				return nil, s.Auth.RevokeToken(r.Context(), p, id)
			}},

		// Engines.
		{method: "GET", path: "/api/v1/engines", tag: "inventory", summary: "Engines the inventory knows and whether this build connects to them", out: []EngineInfo{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				out := []EngineInfo{}
				for _, k := range engine.Known {
					out = append(out, EngineInfo{Name: k, Supported: s.Engines.Supported(k)})
				}
				return out, nil
			}},

		// Hosts.
		{method: "GET", path: "/api/v1/hosts", tag: "inventory", summary: "List hosts", perm: auth.InventoryRead, out: []inventory.Host{},
			handle: func(r *http.Request, p auth.Principal) (any, error) { return s.Inventory.ListHosts(r.Context()) }},
		{method: "POST", path: "/api/v1/hosts", tag: "inventory", summary: "Add a host", perm: auth.InventoryWrite, in: inventory.Host{}, out: inventory.Host{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in inventory.Host
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return s.Inventory.AddHost(r.Context(), in)
			}},
		{method: "GET", path: "/api/v1/hosts/{name}", tag: "inventory", summary: "Show a host", perm: auth.InventoryRead, out: inventory.Host{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return s.Inventory.GetHost(r.Context(), r.PathValue("name"))
			}},
		{method: "DELETE", path: "/api/v1/hosts/{name}", tag: "inventory", summary: "Remove a host that runs no instance", perm: auth.InventoryDelete,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return nil, s.Inventory.RemoveHost(r.Context(), r.PathValue("name"))
			}},

		// Clusters.
		{method: "GET", path: "/api/v1/clusters", tag: "inventory", summary: "List clusters", perm: auth.InventoryRead, out: []inventory.Cluster{},
			handle: func(r *http.Request, p auth.Principal) (any, error) { return s.Inventory.ListClusters(r.Context()) }},
		{method: "POST", path: "/api/v1/clusters", tag: "inventory", summary: "Add a cluster", perm: auth.InventoryWrite, in: inventory.Cluster{}, out: inventory.Cluster{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in inventory.Cluster
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return s.Inventory.AddCluster(r.Context(), in)
			}},
		{method: "GET", path: "/api/v1/clusters/{name}", tag: "inventory", summary: "Show a cluster with its instances and their state", perm: auth.InventoryRead, out: inventory.Cluster{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return s.Inventory.GetCluster(r.Context(), r.PathValue("name"))
			}},
		{method: "PATCH", path: "/api/v1/clusters/{name}", tag: "inventory", summary: "Change a cluster's env, business or labels", perm: auth.InventoryWrite, in: inventory.ClusterPatch{}, out: inventory.Cluster{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in inventory.ClusterPatch
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return s.Inventory.UpdateCluster(r.Context(), r.PathValue("name"), in)
			}},
		{method: "DELETE", path: "/api/v1/clusters/{name}", tag: "inventory", summary: "Remove a cluster that has no instance", perm: auth.InventoryDelete,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return nil, s.Inventory.RemoveCluster(r.Context(), r.PathValue("name"))
			}},

		// Instances.
		{method: "GET", path: "/api/v1/instances", tag: "inventory", summary: "List instances with their last observed state", perm: auth.InventoryRead,
			query: []string{"cluster", "engine", "host", "env"}, out: []inventory.Instance{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				q := r.URL.Query()
				return s.Inventory.ListInstances(r.Context(), inventory.InstanceFilter{
					Cluster: q.Get("cluster"), Engine: engine.Kind(q.Get("engine")), Host: q.Get("host"), Env: q.Get("env")})
			}},
		{method: "POST", path: "/api/v1/instances", tag: "inventory", summary: "Register an instance (its password is stored encrypted and never returned)", perm: auth.InventoryWrite,
			in: inventory.NewInstance{}, out: inventory.Instance{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in inventory.NewInstance
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return s.Inventory.AddInstance(r.Context(), in)
			}},
		{method: "GET", path: "/api/v1/instances/{name}", tag: "inventory", summary: "Show an instance", perm: auth.InventoryRead, out: inventory.Instance{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return s.Inventory.GetInstance(r.Context(), r.PathValue("name"))
			}},
		{method: "PATCH", path: "/api/v1/instances/{name}", tag: "inventory", summary: "Change an instance's credentials, cluster, role or labels", perm: auth.InventoryWrite,
			in: inventory.InstancePatch{}, out: inventory.Instance{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in inventory.InstancePatch
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return s.Inventory.UpdateInstance(r.Context(), r.PathValue("name"), in)
			}},
		{method: "DELETE", path: "/api/v1/instances/{name}", tag: "inventory", summary: "Remove an instance", perm: auth.InventoryDelete,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return nil, s.Inventory.RemoveInstance(r.Context(), r.PathValue("name"))
			}},
		{method: "POST", path: "/api/v1/instances/{name}/check", tag: "inventory", summary: "Connect to an instance and report version, uptime and replication as the server sees them",
			perm: auth.InstanceCheck, out: inventory.CheckResult{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return s.Inventory.Check(r.Context(), r.PathValue("name"))
			}},

		// Groups.
		{method: "GET", path: "/api/v1/groups", tag: "inventory", summary: "List data-source groups", perm: auth.InventoryRead, out: []inventory.Group{},
			handle: func(r *http.Request, p auth.Principal) (any, error) { return s.Inventory.ListGroups(r.Context()) }},
		{method: "POST", path: "/api/v1/groups", tag: "inventory", summary: "Add a data-source group (members, a selector, or both)", perm: auth.InventoryWrite,
			in: inventory.Group{}, out: inventory.Group{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in inventory.Group
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return s.Inventory.AddGroup(r.Context(), in)
			}},
		{method: "GET", path: "/api/v1/groups/{name}", tag: "inventory", summary: "Show a group with the instances it names now", perm: auth.InventoryRead, out: inventory.Group{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return s.Inventory.GetGroup(r.Context(), r.PathValue("name"))
			}},
		{method: "DELETE", path: "/api/v1/groups/{name}", tag: "inventory", summary: "Remove a group", perm: auth.InventoryDelete,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return nil, s.Inventory.RemoveGroup(r.Context(), r.PathValue("name"))
			}},

		// Shard maps.
		{method: "GET", path: "/api/v1/shardmaps", tag: "inventory", summary: "List shard maps", perm: auth.InventoryRead, out: []inventory.ShardMap{},
			handle: func(r *http.Request, p auth.Principal) (any, error) { return s.Inventory.ListShardMaps(r.Context()) }},
		{method: "POST", path: "/api/v1/shardmaps", tag: "inventory", summary: "Add a shard map", perm: auth.InventoryWrite,
			in: inventory.ShardMap{}, out: inventory.ShardMap{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in inventory.ShardMap
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return s.Inventory.AddShardMap(r.Context(), in)
			}},
		{method: "GET", path: "/api/v1/shardmaps/{name}", tag: "inventory", summary: "Show a shard map", perm: auth.InventoryRead, out: inventory.ShardMap{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return s.Inventory.GetShardMap(r.Context(), r.PathValue("name"))
			}},
		{method: "DELETE", path: "/api/v1/shardmaps/{name}", tag: "inventory", summary: "Remove a shard map", perm: auth.InventoryDelete,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				return nil, s.Inventory.RemoveShardMap(r.Context(), r.PathValue("name"))
			}},

		// Audit.
		{method: "GET", path: "/api/v1/audit", tag: "audit", summary: "The audit log, newest first", perm: auth.AuditRead,
			query: []string{"user", "action", "target", "since", "limit"}, out: []audit.Entry{}, handle: s.listAudit},
	}
}

func (s *Server) login(r *http.Request, _ auth.Principal) (any, error) {
	var in LoginRequest
	if err := httpx.ReadJSON(r, &in); err != nil {
		return nil, err
	}
	raw, tok, err := s.Auth.Login(r.Context(), in.User, in.Password, httpx.ClientAddr(r), auth.KindLogin)
	if err != nil {
		return nil, err
	}
	u, err := s.Auth.GetUser(r.Context(), in.User)
	if err != nil {
		return nil, err
	}
	return TokenResponse{Token: raw, Info: tok, User: u.Name, Role: u.Role, ExpiresAt: tok.ExpiresAt}, nil
}

func (s *Server) patchUser(r *http.Request, p auth.Principal) (any, error) {
	var in UserPatch
	if err := httpx.ReadJSON(r, &in); err != nil {
		return nil, err
	}
	return s.Auth.UpdateUser(r.Context(), p, httpx.ClientAddr(r), r.PathValue("name"), in)
}

func (s *Server) listAudit(r *http.Request, _ auth.Principal) (any, error) {
	q := r.URL.Query()
	f := audit.Filter{User: q.Get("user"), Action: q.Get("action"), Target: q.Get("target")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errkind.New(errkind.Invalid, "invalid limit %q: want a positive integer", v)
		}
		f.Limit = n
	}
	if v := q.Get("since"); v != "" {
		t, err := parseSince(v, time.Now())
		if err != nil {
			return nil, err
		}
		f.Since = t
	}
	return s.Audit.List(r.Context(), f)
}

// parseSince accepts an RFC 3339 time, a date, or a duration ago ("24h").
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errkind.New(errkind.Invalid, "invalid since %q: want a duration ago (24h), a date (2026-01-31) or an RFC 3339 time", v)
}
