package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/bytesize"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// liveInterval is how often live tables refresh by default, in seconds.
const liveInterval = 10

// instanceTable is the data of the "instances_table" partial: the rows,
// and the URL the live region re-fetches them from.
type instanceTable struct {
	Rows     []inventory.Instance
	Filtered bool
	Refresh  string
	Interval int
}

func (u *site) instanceTable(rows []inventory.Instance, refresh string) instanceTable {
	return instanceTable{Rows: rows, Refresh: refresh, Interval: u.interval}
}

// wantsFragment reports whether a live region asks for just its table.
func wantsFragment(r *http.Request) bool { return r.URL.Query().Get("fragment") == "instances" }

// withFragment returns the current URL asking for the instances fragment.
func withFragment(r *http.Request) string {
	q := r.URL.Query()
	q.Set("fragment", "instances")
	return r.URL.Path + "?" + q.Encode()
}

// confirmData is the content of the removal confirmation page.
type confirmData struct {
	What, Name  string
	Consequence string
	Action      string
	Cancel      string
}

func (u *site) confirm(w http.ResponseWriter, r *http.Request, rq *request, status int, f *form, c confirmData) {
	v := u.view(rq, "Remove "+c.What+" "+c.Name, "")
	v.Form, v.Data = f, c
	u.render(w, r, status, "confirm.html", v)
}

// splitList splits a text field into items at commas and line breaks.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseLabels reads "k=v, k=v" (commas or line breaks between pairs).
func parseLabels(s string) (inventory.Labels, error) {
	return inventory.ParseLabels(splitList(s))
}

// ---- Overview ----

type overviewData struct {
	Hosts, Clusters, Groups, ShardMaps int
	Instances, Up, Down, Unchecked     int
	Mismatched                         int
	Table                              instanceTable
}

func (u *site) overview(w http.ResponseWriter, r *http.Request, rq *request) error {
	ctx := r.Context()
	ins, err := u.Inventory.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return err
	}
	tbl := u.instanceTable(ins, "/?fragment=instances")
	if wantsFragment(r) {
		u.fragment(w, "overview.html", "instances_table", tbl)
		return nil
	}
	d := overviewData{Instances: len(ins), Table: tbl}
	for _, in := range ins {
		switch {
		case in.Status == nil:
			d.Unchecked++
		case in.Status.Up:
			d.Up++
		default:
			d.Down++
		}
		if roleMismatch(in) {
			d.Mismatched++
		}
	}
	hosts, err := u.Inventory.ListHosts(ctx)
	if err != nil {
		return err
	}
	clusters, err := u.Inventory.ListClusters(ctx)
	if err != nil {
		return err
	}
	groups, err := u.Inventory.ListGroups(ctx)
	if err != nil {
		return err
	}
	maps, err := u.Inventory.ListShardMaps(ctx)
	if err != nil {
		return err
	}
	d.Hosts, d.Clusters, d.Groups, d.ShardMaps = len(hosts), len(clusters), len(groups), len(maps)
	v := u.view(rq, "Overview", "overview")
	v.Data = d
	u.render(w, r, http.StatusOK, "overview.html", v)
	return nil
}

// ---- Hosts ----

func (u *site) hosts(w http.ResponseWriter, r *http.Request, rq *request) error {
	hosts, err := u.Inventory.ListHosts(r.Context())
	if err != nil {
		return err
	}
	v := u.view(rq, "Hosts", "hosts")
	v.Data = hosts
	u.render(w, r, http.StatusOK, "hosts.html", v)
	return nil
}

func (u *site) newHost(w http.ResponseWriter, r *http.Request, rq *request) error {
	u.hostForm(w, r, rq, http.StatusOK, newForm())
	return nil
}

func (u *site) hostForm(w http.ResponseWriter, r *http.Request, rq *request, status int, f *form) {
	v := u.view(rq, "Add host", "hosts")
	v.Form = f
	u.render(w, r, status, "host_new.html", v)
}

func (u *site) addHost(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := formFrom(r)
	h := inventory.Host{
		Name:    strings.TrimSpace(f.Get("name")),
		Address: strings.TrimSpace(f.Get("address")),
		Rack:    strings.TrimSpace(f.Get("rack")),
		Zone:    strings.TrimSpace(f.Get("zone")),
	}
	if h.Name == "" {
		f.Invalid("name", "A host needs a name.")
	}
	if h.Address == "" {
		f.Invalid("address", "Enter the address dbfleet connects to (IP or DNS name).")
	}
	if c := strings.TrimSpace(f.Get("cores")); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			f.Invalid("cores", "Enter a whole number of CPU cores.")
		}
		h.Cores = n
	}
	var err error
	if h.MemoryBytes, err = bytesize.Parse(f.Get("memory")); err != nil {
		f.Invalid("memory", err.Error())
	}
	if h.DiskBytes, err = bytesize.Parse(f.Get("disk")); err != nil {
		f.Invalid("disk", err.Error())
	}
	if h.Labels, err = parseLabels(f.Get("labels")); err != nil {
		f.Invalid("labels", err.Error())
	}
	if f.Failed() {
		u.hostForm(w, r, rq, http.StatusBadRequest, f)
		return nil
	}
	added, err := u.Inventory.AddHost(r.Context(), h)
	if err != nil {
		u.hostForm(w, r, rq, u.formError(r, f, err), f)
		return nil
	}
	return u.redirect(w, r, "/hosts/"+url.PathEscape(h.Name), withWarnings("Host "+h.Name+" added.", added.Warnings))
}

type hostData struct {
	Host  inventory.Host
	Table instanceTable
}

func (u *site) host(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	h, err := u.Inventory.GetHost(r.Context(), name)
	if err != nil {
		return err
	}
	ins, err := u.Inventory.ListInstances(r.Context(), inventory.InstanceFilter{Host: name})
	if err != nil {
		return err
	}
	tbl := u.instanceTable(ins, withFragment(r))
	if wantsFragment(r) {
		u.fragment(w, "host.html", "instances_table", tbl)
		return nil
	}
	v := u.view(rq, "Host "+h.Name, "hosts")
	v.Data = hostData{Host: h, Table: tbl}
	u.render(w, r, http.StatusOK, "host.html", v)
	return nil
}

func hostConfirm(name string) confirmData {
	return confirmData{What: "host", Name: name,
		Consequence: "The host is removed from the inventory. A host that still runs instances cannot be removed.",
		Action:      "/hosts/" + url.PathEscape(name) + "/remove", Cancel: "/hosts/" + url.PathEscape(name)}
}

func (u *site) confirmRemoveHost(w http.ResponseWriter, r *http.Request, rq *request) error {
	h, err := u.Inventory.GetHost(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	u.confirm(w, r, rq, http.StatusOK, nil, hostConfirm(h.Name))
	return nil
}

func (u *site) removeHost(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	if err := u.Inventory.RemoveHost(r.Context(), name); err != nil {
		f := newForm()
		u.confirm(w, r, rq, u.formError(r, f, err), f, hostConfirm(name))
		return nil
	}
	return u.redirect(w, r, "/hosts", "Host "+name+" removed.")
}

// ---- Clusters ----

type clusterRow struct {
	inventory.Cluster
	Count, Up, Down int
}

func (u *site) clusters(w http.ResponseWriter, r *http.Request, rq *request) error {
	ctx := r.Context()
	cs, err := u.Inventory.ListClusters(ctx)
	if err != nil {
		return err
	}
	ins, err := u.Inventory.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return err
	}
	rows := make([]clusterRow, len(cs))
	idx := map[string]int{}
	for i, c := range cs {
		rows[i].Cluster = c
		idx[c.Name] = i
	}
	for _, in := range ins {
		i, ok := idx[in.Cluster]
		if !ok {
			continue
		}
		rows[i].Count++
		if in.Status != nil && in.Status.Up {
			rows[i].Up++
		} else if in.Status != nil {
			rows[i].Down++
		}
	}
	v := u.view(rq, "Clusters", "clusters")
	v.Data = rows
	u.render(w, r, http.StatusOK, "clusters.html", v)
	return nil
}

// engineOption is one entry of an engine select.
type engineOption struct {
	Kind      engine.Kind
	Supported bool
	Port      int
}

// defaultPorts are the usual ports of each engine, for the port field.
var defaultPorts = map[engine.Kind]int{
	engine.MariaDB: 3306, engine.MySQL: 3306, engine.TiDB: 4000, engine.Postgres: 5432,
	engine.Redis: 6379, engine.MongoDB: 27017, engine.SQLServer: 1433, engine.Elasticsearch: 9200,
}

func (u *site) engineOptions() []engineOption {
	out := make([]engineOption, len(engine.Known))
	for i, k := range engine.Known {
		out[i] = engineOption{Kind: k, Supported: u.Engines != nil && u.Engines.Supported(k), Port: defaultPorts[k]}
	}
	return out
}

type clusterFormData struct {
	Engines []engineOption
}

func (u *site) newCluster(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm()
	f.Set("env", inventory.DefaultEnv)
	u.clusterForm(w, r, rq, http.StatusOK, f)
	return nil
}

func (u *site) clusterForm(w http.ResponseWriter, r *http.Request, rq *request, status int, f *form) {
	v := u.view(rq, "Add cluster", "clusters")
	v.Form, v.Data = f, clusterFormData{Engines: u.engineOptions()}
	u.render(w, r, status, "cluster_new.html", v)
}

func (u *site) addCluster(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := formFrom(r)
	c := inventory.Cluster{
		Name:     strings.TrimSpace(f.Get("name")),
		Engine:   engine.Kind(f.Get("engine")),
		Env:      strings.TrimSpace(f.Get("env")),
		Business: strings.TrimSpace(f.Get("business")),
	}
	if c.Name == "" {
		f.Invalid("name", "A cluster needs a name.")
	}
	if _, err := engine.ParseKind(string(c.Engine)); err != nil {
		f.Invalid("engine", "Choose an engine.")
	}
	var err error
	if c.Labels, err = parseLabels(f.Get("labels")); err != nil {
		f.Invalid("labels", err.Error())
	}
	if f.Failed() {
		u.clusterForm(w, r, rq, http.StatusBadRequest, f)
		return nil
	}
	if _, err := u.Inventory.AddCluster(r.Context(), c); err != nil {
		u.clusterForm(w, r, rq, u.formError(r, f, err), f)
		return nil
	}
	return u.redirect(w, r, "/clusters/"+url.PathEscape(c.Name), "Cluster "+c.Name+" added.")
}

type clusterData struct {
	Cluster inventory.Cluster
	Table   instanceTable
	HA      *haPanel // nil when HA is not wired (ha.go)
}

func (u *site) cluster(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := u.Inventory.GetCluster(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	tbl := u.instanceTable(c.Instances, withFragment(r))
	if wantsFragment(r) {
		u.fragment(w, "cluster.html", "instances_table", tbl)
		return nil
	}
	f := newForm()
	f.Set("env", c.Env)
	f.Set("business", c.Business)
	f.Set("labels", strings.ReplaceAll(c.Labels.String(), ",", ", "))
	u.clusterPage(w, r, rq, http.StatusOK, c, f)
	return nil
}

func (u *site) clusterPage(w http.ResponseWriter, r *http.Request, rq *request, status int, c inventory.Cluster, f *form) {
	v := u.view(rq, "Cluster "+c.Name, "clusters")
	v.Form = f
	v.Data = clusterData{Cluster: c, Table: u.instanceTable(c.Instances, "/clusters/"+url.PathEscape(c.Name)+"?fragment=instances"),
		HA: u.haPanelFor(r, rq, c.Name)}
	u.render(w, r, status, "cluster.html", v)
}

// editCluster changes env, business and labels; only what changed is sent
// to the service, so the audit log shows the real change.
func (u *site) editCluster(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	c, err := u.Inventory.GetCluster(r.Context(), name)
	if err != nil {
		return err
	}
	f := formFrom(r)
	var p inventory.ClusterPatch
	if env := strings.TrimSpace(f.Get("env")); env != c.Env {
		if env == "" {
			f.Invalid("env", "A cluster needs an environment (e.g. prod, test, dev).")
		}
		p.Env = &env
	}
	if b := strings.TrimSpace(f.Get("business")); b != c.Business {
		p.Business = &b
	}
	labels, err := parseLabels(f.Get("labels"))
	if err != nil {
		f.Invalid("labels", err.Error())
	}
	for k, v := range labels {
		if old, ok := c.Labels[k]; !ok || old != v {
			if p.SetLabels == nil {
				p.SetLabels = inventory.Labels{}
			}
			p.SetLabels[k] = v
		}
	}
	for k := range c.Labels {
		if _, ok := labels[k]; !ok {
			p.UnsetLabels = append(p.UnsetLabels, k)
		}
	}
	slices.Sort(p.UnsetLabels)
	if f.Failed() {
		u.clusterPage(w, r, rq, http.StatusBadRequest, c, f)
		return nil
	}
	if p.Env == nil && p.Business == nil && len(p.SetLabels) == 0 && len(p.UnsetLabels) == 0 {
		return u.redirect(w, r, "/clusters/"+url.PathEscape(name), "Nothing changed.")
	}
	if _, err := u.Inventory.UpdateCluster(r.Context(), name, p); err != nil {
		u.clusterPage(w, r, rq, u.formError(r, f, err), c, f)
		return nil
	}
	return u.redirect(w, r, "/clusters/"+url.PathEscape(name), "Cluster "+name+" updated.")
}

func clusterConfirm(name string) confirmData {
	return confirmData{What: "cluster", Name: name,
		Consequence: "The cluster is removed from the inventory. A cluster that still has instances cannot be removed.",
		Action:      "/clusters/" + url.PathEscape(name) + "/remove", Cancel: "/clusters/" + url.PathEscape(name)}
}

func (u *site) confirmRemoveCluster(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := u.Inventory.GetCluster(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	u.confirm(w, r, rq, http.StatusOK, nil, clusterConfirm(c.Name))
	return nil
}

func (u *site) removeCluster(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	if err := u.Inventory.RemoveCluster(r.Context(), name); err != nil {
		f := newForm()
		u.confirm(w, r, rq, u.formError(r, f, err), f, clusterConfirm(name))
		return nil
	}
	return u.redirect(w, r, "/clusters", "Cluster "+name+" removed.")
}

// ---- Instances ----

type instancesData struct {
	Clusters []inventory.Cluster
	Envs     []string
	Engines  []engine.Kind
	Filter   inventory.InstanceFilter
	Table    instanceTable
}

func (u *site) instances(w http.ResponseWriter, r *http.Request, rq *request) error {
	ctx := r.Context()
	q := r.URL.Query()
	flt := inventory.InstanceFilter{Cluster: q.Get("cluster"), Engine: engine.Kind(q.Get("engine")), Env: q.Get("env")}
	ins, err := u.Inventory.ListInstances(ctx, flt)
	if err != nil {
		return err
	}
	tbl := u.instanceTable(ins, withFragment(r))
	tbl.Filtered = flt != inventory.InstanceFilter{}
	if wantsFragment(r) {
		u.fragment(w, "instances.html", "instances_table", tbl)
		return nil
	}
	cs, err := u.Inventory.ListClusters(ctx)
	if err != nil {
		return err
	}
	var envs []string
	for _, c := range cs {
		if !slices.Contains(envs, c.Env) {
			envs = append(envs, c.Env)
		}
	}
	slices.Sort(envs)
	v := u.view(rq, "Instances", "instances")
	v.Data = instancesData{Clusters: cs, Envs: envs, Engines: engine.Known, Filter: flt, Table: tbl}
	u.render(w, r, http.StatusOK, "instances.html", v)
	return nil
}

type instanceFormData struct {
	Engines  []engineOption
	Hosts    []inventory.Host
	Clusters []inventory.Cluster
	Roles    []string
}

func (u *site) newInstance(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm()
	for _, k := range []string{"cluster", "host", "engine"} { // links from a cluster or host page preselect
		if v := r.URL.Query().Get(k); v != "" {
			f.Set(k, v)
		}
	}
	return u.instanceForm(w, r, rq, http.StatusOK, f)
}

func (u *site) instanceForm(w http.ResponseWriter, r *http.Request, rq *request, status int, f *form) error {
	hosts, err := u.Inventory.ListHosts(r.Context())
	if err != nil {
		return err
	}
	cs, err := u.Inventory.ListClusters(r.Context())
	if err != nil {
		return err
	}
	v := u.view(rq, "Add instance", "instances")
	v.Form = f
	v.Data = instanceFormData{Engines: u.engineOptions(), Hosts: hosts, Clusters: cs,
		Roles: []string{inventory.RolePrimary, inventory.RoleReplica}}
	u.render(w, r, status, "instance_new.html", v)
	return nil
}

func (u *site) addInstance(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := formFrom(r, "password")
	n := inventory.NewInstance{
		Name:     strings.TrimSpace(f.Get("name")),
		Engine:   engine.Kind(f.Get("engine")),
		Host:     f.Get("host"),
		User:     strings.TrimSpace(f.Get("user")),
		Password: r.PostFormValue("password"),
		Cluster:  f.Get("cluster"),
		Role:     f.Get("role"),
	}
	if n.Name == "" {
		f.Invalid("name", "An instance needs a name.")
	}
	if _, err := engine.ParseKind(string(n.Engine)); err != nil {
		f.Invalid("engine", "Choose an engine.")
	}
	if n.Host == "" {
		f.Invalid("host", "Choose the host the instance runs on.")
	}
	port, err := strconv.Atoi(strings.TrimSpace(f.Get("port")))
	if err != nil || port < 1 || port > 65535 {
		f.Invalid("port", "Enter a port between 1 and 65535.")
	}
	n.Port = port
	if n.Role != "" && n.Cluster == "" {
		f.Invalid("role", "A role needs a cluster; choose one or leave the role empty.")
	}
	if n.Labels, err = parseLabels(f.Get("labels")); err != nil {
		f.Invalid("labels", err.Error())
	}
	if f.Failed() {
		return u.instanceForm(w, r, rq, http.StatusBadRequest, f)
	}
	if _, err := u.Inventory.AddInstance(r.Context(), n); err != nil {
		return u.instanceForm(w, r, rq, u.formError(r, f, err), f)
	}
	return u.redirect(w, r, "/instances/"+url.PathEscape(n.Name),
		"Instance "+n.Name+" added. Press \u201cCheck now\u201d to connect to it.")
}

// instanceData is the instance page: the instance, the outcome of a check
// just made (if any), and the edit form's choices.
type instanceData struct {
	Instance inventory.Instance
	Check    *inventory.CheckResult
	// CheckError is set when a check just failed; CheckProblem says what
	// kind of failure it was in words.
	CheckError   string
	CheckProblem string
	Clusters     []inventory.Cluster
	Roles        []string
	Supported    bool
}

func (u *site) instance(w http.ResponseWriter, r *http.Request, rq *request) error {
	in, err := u.Inventory.GetInstance(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return u.instancePage(w, r, rq, http.StatusOK, instanceData{Instance: in}, nil)
}

func (u *site) instancePage(w http.ResponseWriter, r *http.Request, rq *request, status int, d instanceData, f *form) error {
	cs, err := u.Inventory.ListClusters(r.Context())
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Engine == d.Instance.Engine {
			d.Clusters = append(d.Clusters, c)
		}
	}
	d.Roles = []string{inventory.RolePrimary, inventory.RoleReplica}
	d.Supported = u.Engines != nil && u.Engines.Supported(d.Instance.Engine)
	if f == nil {
		f = newForm()
		f.Set("user", d.Instance.User)
		f.Set("cluster", d.Instance.Cluster)
		f.Set("role", d.Instance.Role)
	}
	v := u.view(rq, "Instance "+d.Instance.Name, "instances")
	v.Form, v.Data = f, d
	u.render(w, r, status, "instance.html", v)
	return nil
}

// checkInstance connects to the instance now and shows what it reports,
// or why it could not be reached.
func (u *site) checkInstance(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	res, err := u.Inventory.Check(r.Context(), name)
	if err != nil && errkind.Is(err, errkind.NotFound) {
		return err
	}
	in, gerr := u.Inventory.GetInstance(r.Context(), name)
	if gerr != nil {
		return gerr
	}
	d := instanceData{Instance: in}
	status := http.StatusOK
	if err != nil {
		d.CheckError = u.message(r, err)
		switch errkind.Of(err) {
		case errkind.Unavailable:
			d.CheckProblem = "Unreachable: dbfleet could not connect to " + res.Address + "."
		case errkind.Unauthorized:
			d.CheckProblem = "Wrong credentials: the server at " + res.Address + " rejected the user name or password."
		case errkind.Invalid:
			d.CheckProblem = "Cannot check this instance."
		default:
			d.CheckProblem = "The check failed."
		}
		status = httpx.Status(err)
	} else {
		d.Check = &res
	}
	return u.instancePage(w, r, rq, status, d, nil)
}

// editInstance changes user, password, cluster and role.
func (u *site) editInstance(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	in, err := u.Inventory.GetInstance(r.Context(), name)
	if err != nil {
		return err
	}
	f := formFrom(r, "password")
	var p inventory.InstancePatch
	if user := strings.TrimSpace(f.Get("user")); user != in.User {
		p.User = &user
	}
	if pw := r.PostFormValue("password"); pw != "" {
		p.Password = &pw
	}
	cluster, role := f.Get("cluster"), f.Get("role")
	if cluster != in.Cluster {
		p.Cluster = &cluster
	}
	if role != in.Role {
		p.Role = &role
	}
	if role != "" && cluster == "" {
		f.Invalid("role", "A role needs a cluster; choose one or leave the role empty.")
		return u.instancePage(w, r, rq, http.StatusBadRequest, instanceData{Instance: in}, f)
	}
	if p.User == nil && p.Password == nil && p.Cluster == nil && p.Role == nil {
		return u.redirect(w, r, "/instances/"+url.PathEscape(name), "Nothing changed.")
	}
	if _, err := u.Inventory.UpdateInstance(r.Context(), name, p); err != nil {
		return u.instancePage(w, r, rq, u.formError(r, f, err), instanceData{Instance: in}, f)
	}
	return u.redirect(w, r, "/instances/"+url.PathEscape(name), "Instance "+name+" updated.")
}

func instanceConfirm(name string) confirmData {
	return confirmData{What: "instance", Name: name,
		Consequence: "The instance is removed from the inventory (the database server itself is not touched). It leaves the groups that list it; an instance that holds a shard cannot be removed.",
		Action:      "/instances/" + url.PathEscape(name) + "/remove", Cancel: "/instances/" + url.PathEscape(name)}
}

func (u *site) confirmRemoveInstance(w http.ResponseWriter, r *http.Request, rq *request) error {
	in, err := u.Inventory.GetInstance(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	u.confirm(w, r, rq, http.StatusOK, nil, instanceConfirm(in.Name))
	return nil
}

func (u *site) removeInstance(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	if err := u.Inventory.RemoveInstance(r.Context(), name); err != nil {
		f := newForm()
		u.confirm(w, r, rq, u.formError(r, f, err), f, instanceConfirm(name))
		return nil
	}
	return u.redirect(w, r, "/instances", "Instance "+name+" removed.")
}
