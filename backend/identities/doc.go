// Package identities reads what makes an identity on disk: the node's key
// files in identities/ (the node's rules), a PoST data folder's metadata,
// both with caches for the poller, and adding a key safely (`keys add`).
package identities
