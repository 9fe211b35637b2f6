// Package wire holds the request and answer bodies of the fraudguard HTTP API: one Go type per
// JSON shape, used by the server's handlers to answer, by the OpenAPI document (generated from
// these types and their doc and example tags) and by the public Go client to read the answers.
// It imports only the standard library, so that services outside this module can use it.
//
// Tags besides json: doc (a description), example, enum, minimum/maximum, minLength/maxLength,
// pattern and format go into the OpenAPI document; required marks the fields of a request
// body that must be present (a request type refuses unknown fields).
package wire
