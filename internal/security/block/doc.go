// Package block counts strikes per client address and blocks an address that collects too
// many, and resolves the client address behind trusted proxies.
package block
