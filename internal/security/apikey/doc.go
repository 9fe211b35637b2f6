// Package apikey holds API keys and their scopes: the keys file (YAML or JSON, only each key's
// SHA-256 kept), the admin key, a key ring that reloads atomically, and authentication in
// constant time. It imports nothing of fraudguard's.
package apikey
