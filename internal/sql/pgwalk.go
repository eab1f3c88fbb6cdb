package sql

import (
	"cmp"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// WalkPG calls fn on m and, while fn returns true, on every message inside
// it, depth first. It walks PostgreSQL parse trees (pg_query's protobuf
// messages) for analyses that need every node: tables, functions,
// locking clauses.
func WalkPG(m proto.Message, fn func(proto.Message) bool) {
	if m == nil {
		return
	}
	walkPG(m.ProtoReflect(), "", fn)
}

// WalkPGChildren walks m's fields except the one named skip.
func WalkPGChildren(m proto.Message, skip string, fn func(proto.Message) bool) {
	if m == nil {
		return
	}
	walkChildren(m.ProtoReflect(), skip, fn)
}

func walkPG(m protoreflect.Message, skip string, fn func(proto.Message) bool) {
	if !m.IsValid() || !fn(m.Interface()) {
		return
	}
	walkChildren(m, skip, fn)
}

func walkChildren(m protoreflect.Message, skip string, fn func(proto.Message) bool) {
	// Range visits fields in an order protobuf perturbs per binary (by the
	// executable's hash), so the walk sorts them by field number: the
	// first node of a kind found (the function a refusal names, say) is
	// then the same in every build.
	var buf [8]protoreflect.FieldDescriptor
	fields := buf[:0]
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if fd.Message() != nil && !fd.IsMap() && string(fd.Name()) != skip {
			fields = append(fields, fd)
		}
		return true
	})
	slices.SortFunc(fields, func(a, b protoreflect.FieldDescriptor) int { return cmp.Compare(a.Number(), b.Number()) })
	for _, fd := range fields {
		v := m.Get(fd)
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkPG(l.Get(i).Message(), "", fn)
			}
			continue
		}
		walkPG(v.Message(), "", fn)
	}
}

// PGNodeMessage is the concrete message inside a pg_query Node (a
// *SelectStmt inside a Node_SelectStmt), nil for an empty node.
func PGNodeMessage(n interface{ ProtoReflect() protoreflect.Message }) proto.Message {
	if n == nil {
		return nil
	}
	r := n.ProtoReflect()
	if !r.IsValid() {
		return nil
	}
	var out proto.Message
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() != nil {
			out = v.Message().Interface()
		}
		return false
	})
	return out
}
