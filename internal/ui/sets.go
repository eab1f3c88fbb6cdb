package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/dbfleet/dbfleet/internal/inventory"
)

// ---- Data-source groups ----

func (u *site) groups(w http.ResponseWriter, r *http.Request, rq *request) error {
	gs, err := u.Inventory.ListGroups(r.Context())
	if err != nil {
		return err
	}
	v := u.view(rq, "Groups", "groups")
	v.Data = gs
	u.render(w, r, http.StatusOK, "groups.html", v)
	return nil
}

type groupFormData struct {
	Instances []inventory.Instance
}

func (u *site) newGroup(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.groupForm(w, r, rq, http.StatusOK, newForm())
}

func (u *site) groupForm(w http.ResponseWriter, r *http.Request, rq *request, status int, f *form) error {
	ins, err := u.Inventory.ListInstances(r.Context(), inventory.InstanceFilter{})
	if err != nil {
		return err
	}
	v := u.view(rq, "Add group", "groups")
	v.Form, v.Data = f, groupFormData{Instances: ins}
	u.render(w, r, status, "group_new.html", v)
	return nil
}

func (u *site) addGroup(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := formFrom(r)
	g := inventory.Group{
		Name:        strings.TrimSpace(f.Get("name")),
		Description: strings.TrimSpace(f.Get("description")),
		Members:     r.PostForm["members"],
	}
	if g.Name == "" {
		f.Invalid("name", "A group needs a name.")
	}
	sel, err := inventory.ParseSelector(splitList(f.Get("selector")))
	if err != nil {
		f.Invalid("selector", err.Error())
	}
	if len(sel) > 0 {
		g.Selector = sel
	}
	if len(g.Members) == 0 && len(g.Selector) == 0 && !f.Failed() {
		f.Invalid("members", "Choose members, give a selector, or both.")
	}
	if f.Failed() {
		return u.groupForm(w, r, rq, http.StatusBadRequest, f)
	}
	if _, err := u.Inventory.AddGroup(r.Context(), g); err != nil {
		return u.groupForm(w, r, rq, u.formError(r, f, err), f)
	}
	return u.redirect(w, r, "/groups/"+url.PathEscape(g.Name), "Group "+g.Name+" added.")
}

type groupData struct {
	Group inventory.Group
	Table instanceTable
}

func (u *site) group(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	g, err := u.Inventory.GetGroup(r.Context(), name)
	if err != nil {
		return err
	}
	ins, err := u.Inventory.ResolveGroup(r.Context(), name)
	if err != nil {
		return err
	}
	tbl := u.instanceTable(ins, withFragment(r))
	if wantsFragment(r) {
		u.fragment(w, "group.html", "instances_table", tbl)
		return nil
	}
	v := u.view(rq, "Group "+g.Name, "groups")
	v.Data = groupData{Group: g, Table: tbl}
	u.render(w, r, http.StatusOK, "group.html", v)
	return nil
}

func groupConfirm(name string) confirmData {
	return confirmData{What: "group", Name: name,
		Consequence: "The group is deleted; its instances stay in the inventory.",
		Action:      "/groups/" + url.PathEscape(name) + "/remove", Cancel: "/groups/" + url.PathEscape(name)}
}

func (u *site) confirmRemoveGroup(w http.ResponseWriter, r *http.Request, rq *request) error {
	g, err := u.Inventory.GetGroup(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	u.confirm(w, r, rq, http.StatusOK, nil, groupConfirm(g.Name))
	return nil
}

func (u *site) removeGroup(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	if err := u.Inventory.RemoveGroup(r.Context(), name); err != nil {
		f := newForm()
		u.confirm(w, r, rq, u.formError(r, f, err), f, groupConfirm(name))
		return nil
	}
	return u.redirect(w, r, "/groups", "Group "+name+" removed.")
}

// ---- Shard maps ----

func (u *site) shardMaps(w http.ResponseWriter, r *http.Request, rq *request) error {
	ms, err := u.Inventory.ListShardMaps(r.Context())
	if err != nil {
		return err
	}
	v := u.view(rq, "Shard maps", "shards")
	v.Data = ms
	u.render(w, r, http.StatusOK, "shards.html", v)
	return nil
}

type shardFormData struct {
	Strategies []string
	Instances  []inventory.Instance
}

func (u *site) newShardMap(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.shardMapForm(w, r, rq, http.StatusOK, newForm())
}

func (u *site) shardMapForm(w http.ResponseWriter, r *http.Request, rq *request, status int, f *form) error {
	ins, err := u.Inventory.ListInstances(r.Context(), inventory.InstanceFilter{})
	if err != nil {
		return err
	}
	v := u.view(rq, "Add shard map", "shards")
	v.Form = f
	v.Data = shardFormData{Strategies: []string{"hash", "mod", "range", "list", "lookup"}, Instances: ins}
	u.render(w, r, status, "shard_new.html", v)
	return nil
}

func (u *site) addShardMap(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := formFrom(r)
	m := inventory.ShardMap{
		Name:        strings.TrimSpace(f.Get("name")),
		Database:    strings.TrimSpace(f.Get("database")),
		Key:         strings.TrimSpace(f.Get("key")),
		Strategy:    f.Get("strategy"),
		Description: strings.TrimSpace(f.Get("description")),
	}
	if m.Name == "" {
		f.Invalid("name", "A shard map needs a name.")
	}
	if m.Database == "" {
		f.Invalid("database", "Enter the logical database name.")
	}
	for i, line := range splitList(f.Get("shards")) {
		sh, err := inventory.ParseShard(line, i)
		if err != nil {
			f.Invalid("shards", err.Error())
			break
		}
		m.Shards = append(m.Shards, sh)
	}
	if len(m.Shards) == 0 && f.Err("shards") == "" {
		f.Invalid("shards", "List at least one shard, one per line: INSTANCE/DATABASE.")
	}
	if f.Failed() {
		return u.shardMapForm(w, r, rq, http.StatusBadRequest, f)
	}
	added, err := u.Inventory.AddShardMap(r.Context(), m)
	if err != nil {
		return u.shardMapForm(w, r, rq, u.formError(r, f, err), f)
	}
	return u.redirect(w, r, "/shards/"+url.PathEscape(m.Name), withWarnings("Shard map "+m.Name+" added.", added.Warnings))
}

type shardMapData struct {
	Map       inventory.ShardMap
	Instances map[string]inventory.Instance
}

func (u *site) shardMap(w http.ResponseWriter, r *http.Request, rq *request) error {
	m, err := u.Inventory.GetShardMap(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	ins, err := u.Inventory.ListInstances(r.Context(), inventory.InstanceFilter{})
	if err != nil {
		return err
	}
	byName := map[string]inventory.Instance{}
	for _, in := range ins {
		byName[in.Name] = in
	}
	v := u.view(rq, "Shard map "+m.Name, "shards")
	v.Data = shardMapData{Map: m, Instances: byName}
	u.render(w, r, http.StatusOK, "shard.html", v)
	return nil
}

func shardMapConfirm(name string) confirmData {
	return confirmData{What: "shard map", Name: name,
		Consequence: "The shard map is deleted; its instances and their data are not touched.",
		Action:      "/shards/" + url.PathEscape(name) + "/remove", Cancel: "/shards/" + url.PathEscape(name)}
}

func (u *site) confirmRemoveShardMap(w http.ResponseWriter, r *http.Request, rq *request) error {
	m, err := u.Inventory.GetShardMap(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	u.confirm(w, r, rq, http.StatusOK, nil, shardMapConfirm(m.Name))
	return nil
}

func (u *site) removeShardMap(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	if err := u.Inventory.RemoveShardMap(r.Context(), name); err != nil {
		f := newForm()
		u.confirm(w, r, rq, u.formError(r, f, err), f, shardMapConfirm(name))
		return nil
	}
	return u.redirect(w, r, "/shards", "Shard map "+name+" removed.")
}
