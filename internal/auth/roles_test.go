package auth

import "testing"

func TestCan(t *testing.T) {
	tests := []struct {
		role Role
		perm Permission
		want bool
	}{
		{Viewer, InventoryRead, true},
		{Viewer, InstanceCheck, false},
		{Viewer, InventoryWrite, false},
		{Viewer, InventoryDelete, false},
		{Developer, InventoryRead, true},
		{Developer, InstanceCheck, true},
		{Developer, InventoryWrite, false},
		{Developer, InventoryDelete, false},
		{Developer, AuditRead, false},
		{DBA, InventoryWrite, true},
		{DBA, InventoryDelete, true},
		{DBA, AuditRead, true},
		{DBA, UserManage, false},
		{Admin, UserManage, true},
		{DBA, ProxyRemote, false},
		{Admin, ProxyRemote, true},
		{Admin, InventoryDelete, true},
		{Role("root"), InventoryRead, false},
	}
	for _, tt := range tests {
		if got := Can(tt.role, tt.perm); got != tt.want {
			t.Errorf("Can(%s, %s) = %v, want %v", tt.role, tt.perm, got, tt.want)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles {
		if got, err := ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := ParseRole("superuser"); err == nil {
		t.Error("ParseRole(superuser) accepted")
	}
}
