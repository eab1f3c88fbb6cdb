package ui

import (
	"net/http"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/proxy"
)

// proxyList is the read/write-splitting proxy's page: every listener, and
// for those running in this server their primary, replicas' eligibility,
// pools and sessions.
func (u *site) proxyList(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Proxy == nil {
		return errkind.New(errkind.Unavailable, "the proxy is not enabled on this server")
	}
	ls, err := u.Proxy.List(r.Context())
	if err != nil {
		return err
	}
	v := u.view(rq, "Proxy", "proxy")
	v.Data = proxyData{Listeners: ls}
	u.render(w, r, http.StatusOK, "proxy.html", v)
	return nil
}

type proxyData struct {
	Listeners []proxy.Listener
}
