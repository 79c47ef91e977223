// Package config is postdeck's config file: its types, loading (strict,
// with line-numbered errors and suggestions for unknown keys), the node's
// JSON config merged in, rendering for `postdeck init`, and the edits
// postdeck makes itself (appending a [[service]] block).
package config
