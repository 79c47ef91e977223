// Package nodeapi talks to a go-spacemesh node over gRPC, learning every
// method and message from the node's server reflection (no generated code),
// on the post, private and public listeners, each call with its own
// timeout; and it reads the node's event stream (AdminService.EventsStream).
package nodeapi
