//go:build !unix

package apikey

// lockDir does nothing where flock is not available: concurrent writers of a keys file can
// then lose an entry.
func lockDir(string) (func(), error) { return func() {}, nil }
