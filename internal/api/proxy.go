package api

import (
	"net/http"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/proxy"
)

// The read/write-splitting proxy: listeners per cluster inside the
// server, their users, sessions and status, the configuration a separate
// `dbfleet proxy run` follows, and the HA hook that holds writes.

// ProxyRequest is the body of POST /api/v1/proxy.
type ProxyRequest struct {
	Cluster string `json:"cluster"`
	Listen  string `json:"listen"`
}

func (s *Server) proxyRoutes() []route {
	get := s.proxySvc
	return []route{
		{method: "GET", path: "/api/v1/proxy", tag: "proxy", summary: "List the proxy listeners, with the status of those running on this server",
			perm: auth.InventoryRead, out: []proxy.Listener{},
			handle: withSvc(get, func(r *http.Request, p auth.Principal, svc *proxy.Service) (any, error) { return svc.List(r.Context()) })},
		{method: "POST", path: "/api/v1/proxy", tag: "proxy", summary: "Run a proxy listener for a cluster inside the server (dbfleet proxy add CLUSTER --listen ADDR)",
			perm: auth.InventoryWrite, in: ProxyRequest{}, out: proxy.Listener{}, status: http.StatusCreated,
			handle: withBody(get, func(r *http.Request, p auth.Principal, svc *proxy.Service, in ProxyRequest) (any, error) {
				return svc.Add(r.Context(), in.Cluster, in.Listen)
			})},
		{method: "GET", path: "/api/v1/proxy/{cluster}", tag: "proxy", summary: "Show a cluster's proxy listener: topology, replicas' eligibility, pools, sessions, whether writes are held",
			perm: auth.InventoryRead, out: proxy.Listener{},
			handle: withSvc(get, func(r *http.Request, p auth.Principal, svc *proxy.Service) (any, error) {
				return svc.Get(r.Context(), r.PathValue("cluster"))
			})},
		{method: "DELETE", path: "/api/v1/proxy/{cluster}", tag: "proxy", summary: "Stop and remove a cluster's proxy listener and its users",
			perm: auth.InventoryDelete,
			handle: withSvc(get, func(r *http.Request, p auth.Principal, svc *proxy.Service) (any, error) {
				return nil, svc.Remove(r.Context(), r.PathValue("cluster"))
			})},
		{method: "GET", path: "/api/v1/proxy/{cluster}/sessions", tag: "proxy", summary: "List the client sessions of a cluster's proxy on this server",
			perm: auth.InventoryRead, out: []proxy.SessionInfo{},
			handle: withSvc(get, func(r *http.Request, p auth.Principal, svc *proxy.Service) (any, error) {
				return svc.Sessions(r.Context(), r.PathValue("cluster"))
			})},
		{method: "GET", path: "/api/v1/proxy/{cluster}/users", tag: "proxy", summary: "List a cluster's proxy users (no passwords)",
			perm: auth.InventoryRead, out: []proxy.UserInfo{},
			handle: withSvc(get, func(r *http.Request, p auth.Principal, svc *proxy.Service) (any, error) {
				return svc.Users(r.Context(), r.PathValue("cluster"))
			})},
		{method: "POST", path: "/api/v1/proxy/{cluster}/users", tag: "proxy", summary: "Add or replace a proxy user mapped to a backend account (passwords stored encrypted)",
			perm: auth.InventoryWrite, in: proxy.NewUser{}, out: proxy.UserInfo{}, status: http.StatusCreated,
			handle: withBody(get, func(r *http.Request, p auth.Principal, svc *proxy.Service, in proxy.NewUser) (any, error) {
				return svc.AddUser(r.Context(), r.PathValue("cluster"), in)
			})},
		{method: "DELETE", path: "/api/v1/proxy/{cluster}/users/{name}", tag: "proxy", summary: "Remove a proxy user",
			perm: auth.InventoryWrite,
			handle: withSvc(get, func(r *http.Request, p auth.Principal, svc *proxy.Service) (any, error) {
				return nil, svc.RemoveUser(r.Context(), r.PathValue("cluster"), r.PathValue("name"))
			})},
		{method: "GET", path: "/api/v1/proxy/{cluster}/remote", tag: "proxy",
			summary: "What a separate proxy process (dbfleet proxy run) needs: topology, users with their backend accounts, the monitor account, settings. Contains credentials: admin only (proxy.remote), audited",
			perm:    auth.ProxyRemote, out: proxy.RemoteConfig{},
			handle: withSvc(get, func(r *http.Request, p auth.Principal, svc *proxy.Service) (any, error) {
				return svc.Remote(r.Context(), r.PathValue("cluster"))
			})},
		{method: "POST", path: "/api/v1/proxy/{cluster}/ha", tag: "proxy",
			summary: "An HA hook's event (ha.hooks url): pre-failover/pre-switchover hold new writes, post- events send them to the new primary, fence marks the old one",
			perm:    auth.HAManage, in: proxy.HAEvent{},
			handle: withBody(get, func(r *http.Request, p auth.Principal, svc *proxy.Service, in proxy.HAEvent) (any, error) {
				in.Cluster = r.PathValue("cluster")
				return nil, svc.HandleHA(in)
			})},
	}
}

func (s *Server) proxySvc() (*proxy.Service, error) {
	if s.Proxy == nil {
		return nil, errkind.New(errkind.Unavailable, "the proxy is not enabled on this server")
	}
	return s.Proxy, nil
}
