// Package detect finds attack indicators in requests: SQL injection, cross-site scripting,
// path traversal, command injection, CR/LF injection, scanner User-Agents and oversized or
// flooded headers. Values are normalised (repeated URL decoding, escapes, overlong UTF-8, HTML
// entities, compatibility forms) before the rules run; a clean request allocates nothing.
package detect
