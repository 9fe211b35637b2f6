// Package security keeps fraudguard safe to expose: API keys and their scopes, the attack
// detector, automatic IP blocking on strikes, the client address behind trusted proxies, and
// the asynchronous audit recorder. It takes its settings as arguments and imports only the
// domain package.
package security
