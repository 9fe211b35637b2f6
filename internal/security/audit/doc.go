// Package audit records audit events without making the request that caused them wait: a
// bounded queue drained into the store by one goroutine.
package audit
