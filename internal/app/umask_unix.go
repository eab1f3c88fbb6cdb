//go:build unix

package app

import "syscall"

// restrictUmask adds 077 to the process's umask and returns how to undo it.
func restrictUmask() func() {
	old := syscall.Umask(0o077)
	syscall.Umask(old | 0o077)
	return func() { syscall.Umask(old) }
}
