// Package operator asks post-services' operator HTTP API (GET /status) on
// a small HTTP/1.1 client of its own: one kept connection per service, a
// socket deadline per call, and a response reader that allocates once.
package operator
