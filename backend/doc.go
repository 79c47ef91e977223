// Package backend joins postdeck's rooms into what the UI and the commands
// use: the poller (one cycle asks the node, lists the key files and asks
// every service, then joins them into a model.Snapshot), the controller
// (start, stop and safe stops, automatic proving, the wait of
// `stop --when-safe`), the service proposal for a new key, `postdeck init`'s
// discovery and the key list. Each room is a package of its own:
//
//   - config: the config file: load with line-numbered errors, render, edit.
//   - nodeapi: the node over gRPC server reflection, and its event stream.
//   - operator: the post-services' operator HTTP API, on our own client.
//   - proc: supervision of post-service processes, systemd units, logs.
//   - identities: key files, adding keys, PoST metadata, and their caches.
//   - fsguard: file-system calls bounded so a hung disk stalls nothing.
//   - alerts, metrics: alert rules and their delivery, the Prometheus series.
//   - ledger: the epoch ledger, an SQLite file of what each identity did per
//     epoch on the way to its ATX and rewards.
package backend
