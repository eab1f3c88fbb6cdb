package query

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// The Redis reader: an ACL user (Redis 6+) that may run exactly the
// console's read commands (redisAllowed, and of OBJECT and MEMORY the
// subcommands the console allows) on every key, nothing else: no write,
// no CONFIG, FLUSH*, DEBUG, SHUTDOWN, KEYS, scripts, pub/sub channels.
// The rules are derived from the console's allow-list rather than from
// categories: +@read holds commands the console refuses (PFCOUNT, which
// may write its cache; XREAD, which blocks; SORT_RO; RANDOMKEY...) and
// INFO is @dangerous, so no category set is exact.
//
// Redis ACLs are not replicated: every Redis instance has a reader of
// its own (its home is itself), and a server without an ACL file forgets
// it at a restart; the next login (refused) re-creates it.

// redisReaderSubcommands are the subcommands the console allows of its
// allowed commands that have subcommands (see planRedis).
var redisReaderSubcommands = map[string][]string{
	"OBJECT": {"ENCODING", "FREQ", "IDLETIME", "REFCOUNT"},
	"MEMORY": {"USAGE"},
}

// redisConnectionCommands are what a client needs to open a session:
// PING (the adapter checks the connection), SELECT (a database other than
// 0). AUTH and HELLO need no permission.
var redisConnectionCommands = []string{"PING", "SELECT"}

// redisReaderRules are the command rules of the reader on the server c:
// +name (lower case) for each allowed command the server knows, +name|sub
// for the allowed subcommands. Commands the server does not know (a
// newer command on an older server) are left out.
func redisReaderRules(ctx context.Context, c engine.Conn) ([]string, error) {
	names := make([]string, 0, len(redisAllowed)+len(redisConnectionCommands))
	for n := range redisAllowed {
		names = append(names, n)
	}
	for _, n := range redisConnectionCommands {
		if _, ok := redisAllowed[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	rows, _, err := c.Query(ctx, 0, "COMMAND INFO", args...)
	if err != nil {
		return nil, fmt.Errorf("ask the server which commands it knows: %w", err)
	}
	if len(rows.Values) != len(names) {
		return nil, fmt.Errorf("COMMAND INFO answered %d entries for %d commands", len(rows.Values), len(names))
	}
	var out []string
	for i, n := range names {
		if rows.Values[i][0] == nil {
			continue // unknown to this server
		}
		if subs, ok := redisReaderSubcommands[n]; ok {
			for _, s := range subs {
				out = append(out, "+"+strings.ToLower(n+"|"+s))
			}
			continue
		}
		out = append(out, "+"+strings.ToLower(n))
	}
	return out, nil
}

// redisUser is what ACL GETUSER reports of a user.
type redisUser struct {
	flags, passwords []string
	commands         string // "-@all +get ..."
	keys, channels   string // "~*", "" (Redis 6: patterns without the ~ and &)
	selectors        int
}

// redisGetUser reads user with ACL GETUSER; ok is false when there is
// no such user.
func redisGetUser(ctx context.Context, admin engine.Conn, user string) (u redisUser, ok bool, err error) {
	rows, _, err := admin.Query(ctx, 0, "ACL GETUSER ?", user)
	if err != nil {
		return u, false, fmt.Errorf("ACL GETUSER %s: %w", user, err)
	}
	if len(rows.Values) <= 1 {
		return u, false, nil // a nil reply: no such user
	}
	// A flat array of field, value; nested arrays come as JSON text.
	list := func(v any) []string {
		s := engine.String(v)
		var out []string
		if json.Unmarshal([]byte(s), &out) != nil {
			if s == "" {
				return nil
			}
			return strings.Fields(s)
		}
		return out
	}
	for i := 0; i+1 < len(rows.Values); i += 2 {
		v := rows.Values[i+1][0]
		switch rows.String(i, 0) {
		case "flags":
			u.flags = list(v)
		case "passwords":
			u.passwords = list(v)
		case "commands":
			u.commands = engine.String(v)
		case "keys":
			u.keys = strings.Join(list(v), " ")
		case "channels":
			u.channels = strings.Join(list(v), " ")
		case "selectors":
			var sel []any
			if json.Unmarshal([]byte(engine.String(v)), &sel) == nil {
				u.selectors = len(sel)
			}
		}
	}
	return u, true, nil
}

// allKeys reports whether the key patterns are "every key" (Redis 7:
// "~*", Redis 6: "*").
func (u redisUser) allKeys() bool { return u.keys == "~*" || u.keys == "*" }

// redisEffective evaluates command rules as ACL GETUSER reports them
// ("-@all +get +@hash -hset ...": Redis folds a set of commands into a
// category and its exceptions) into the commands, and command|subcommand
// pairs, they allow, asking the server what each category holds. all
// reports +@all (allcommands): everything, whatever follows.
func redisEffective(ctx context.Context, admin engine.Conn, rules string) (set map[string]bool, all bool, err error) {
	set = map[string]bool{}
	cats := map[string][]string{}
	category := func(c string) ([]string, error) {
		if names, ok := cats[c]; ok {
			return names, nil
		}
		rows, _, err := admin.Query(ctx, 0, "ACL CAT ?", c)
		if err != nil {
			return nil, fmt.Errorf("ACL CAT %s: %w", c, err)
		}
		var names []string
		for _, r := range rows.All() {
			names = append(names, strings.ToLower(r.String(0)))
		}
		cats[c] = names
		return names, nil
	}
	for _, r := range strings.Fields(strings.ToLower(rules)) {
		switch {
		case r == "+@all" || r == "allcommands":
			all = true
		case r == "-@all" || r == "nocommands":
			all, set = false, map[string]bool{}
		case strings.HasPrefix(r, "+@") || strings.HasPrefix(r, "-@"):
			names, err := category(r[2:])
			if err != nil {
				return nil, false, err
			}
			for _, n := range names {
				if r[0] == '+' {
					set[n] = true
				} else {
					delete(set, n)
				}
			}
		case strings.HasPrefix(r, "+"):
			set[r[1:]] = true
		case strings.HasPrefix(r, "-"):
			delete(set, r[1:])
			for n := range set {
				if strings.HasPrefix(n, r[1:]+"|") {
					delete(set, n)
				}
			}
		}
	}
	return set, all, nil
}

func redisPasswordHash(pw string) string {
	sum := sha256.Sum256([]byte(pw))
	return hex.EncodeToString(sum[:])
}

// redisSyncReader makes the reader user exist, on, with exactly the
// password a.password, every key, no channel, and exactly the console's
// read commands; it is rewritten whole (ACL SETUSER ... reset ...) when
// anything differs. It then saves the ACLs when the server has an ACL
// file.
func redisSyncReader(ctx context.Context, admin engine.Conn, a readerAccount, res *syncResult) error {
	rules, err := redisReaderRules(ctx, admin)
	if err != nil {
		return err
	}
	res.granted = []string{fmt.Sprintf("every key, %d read commands", len(rules))}
	u, exists, err := redisGetUser(ctx, admin, a.user)
	if err != nil {
		return fmt.Errorf("read the reader user: %w", err)
	}
	var differs []string
	if exists {
		have, all, err := redisEffective(ctx, admin, u.commands)
		if err != nil {
			return err
		}
		if !slices.Contains(u.flags, "on") || slices.Contains(u.flags, "nopass") {
			differs = append(differs, "flags "+strings.Join(u.flags, " "))
		}
		if !slices.Equal(u.passwords, []string{redisPasswordHash(a.password)}) {
			differs = append(differs, "password")
		}
		if all || len(have) != len(rules) || slices.ContainsFunc(rules, func(r string) bool { return !have[r[1:]] }) {
			differs = append(differs, "commands")
		}
		if !u.allKeys() || u.channels != "" || u.selectors > 0 {
			differs = append(differs, "keys or channels")
		}
		if len(differs) == 0 {
			return nil
		}
	}
	args := []any{a.user, "reset", "on", ">" + a.password, "~*", "resetchannels", "-@all"}
	for _, r := range rules {
		args = append(args, r)
	}
	if _, err := admin.Exec(ctx, "ACL SETUSER", args...); err != nil {
		return fmt.Errorf("set the reader user's rules: %w", engine.Redact(err, a.password))
	}
	switch {
	case !exists:
		res.changes = append(res.changes, "created user "+a.user)
	case len(differs) == 1 && differs[0] == "password":
		res.changes = append(res.changes, "new password")
	default:
		res.changes = append(res.changes, "rules reset ("+strings.Join(differs, ", ")+" differed)")
	}
	redisSaveACL(ctx, admin)
	return nil
}

// redisSaveACL writes the ACLs to the server's ACL file, if it has one
// (without one, ACL SAVE fails: the users live until the next restart).
func redisSaveACL(ctx context.Context, admin engine.Conn) {
	_, _ = admin.Exec(ctx, "ACL SAVE") // fails without an ACL file: nothing to save
}

// redisPower says what makes the Redis user too powerful for a reader
// (no password needed, any command or category beyond the console's read
// commands, pub/sub channels, selectors), and what it may read.
func redisPower(ctx context.Context, admin engine.Conn, user string) (too, can []string, err error) {
	u, ok, err := redisGetUser(ctx, admin, user)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("user %s does not exist", user)
	}
	rules, err := redisReaderRules(ctx, admin)
	if err != nil {
		return nil, nil, err
	}
	if slices.Contains(u.flags, "nopass") {
		too = append(too, "nopass (anyone may log in as it)")
	}
	have, all, err := redisEffective(ctx, admin, u.commands)
	if err != nil {
		return nil, nil, err
	}
	if all {
		too = append(too, "+@all (every command)")
	}
	var extra []string
	n := 0
	for c := range have {
		if slices.Contains(rules, "+"+c) {
			n++
		} else {
			extra = append(extra, "+"+c)
		}
	}
	sort.Strings(extra)
	if len(extra) > 12 {
		extra = append(extra[:12], fmt.Sprintf("and %d more", len(extra)-12))
	}
	if len(extra) > 0 {
		too = append(too, strings.Join(extra, " "))
	}
	if u.channels != "" {
		too = append(too, "pub/sub channels "+u.channels)
	}
	if u.selectors > 0 {
		too = append(too, fmt.Sprintf("%d selectors", u.selectors))
	}
	keys := "no key"
	if u.keys != "" {
		keys = "keys " + u.keys
		if u.allKeys() {
			keys = "every key"
		}
	}
	return too, []string{fmt.Sprintf("%s, %d read commands", keys, n)}, nil
}

// redisDropUser deletes a reader user.
func redisDropUser(ctx context.Context, admin engine.Conn, user string, res *syncResult) error {
	if _, err := admin.Exec(ctx, "ACL DELUSER ?", user); err != nil {
		return fmt.Errorf("delete the reader user %s: %w", user, err)
	}
	redisSaveACL(ctx, admin)
	res.changes = append(res.changes, "deleted user "+user)
	return nil
}
