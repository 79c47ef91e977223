package ui

// The equivocation guard in the flows: the merge form and the wizard plan
// with what every node of the fleet holds, and the add-key form refuses a
// key another node holds. Every node is asked inside the Cmd that plans,
// never in Update. The override is the command line's alone
// (--place-anyway, audited there): a screen shows the refusal and the
// command, and cannot go on.

import (
	"context"
	"fmt"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/backend/identities"
	"postdeck/merge"
)

// withFleet adds the guard to a merge's options: with several nodes, what
// every node holds and which of them the target is.
func withFleet(ctx context.Context, cfg *config.Config, o merge.Options) merge.Options {
	if cfg == nil || !cfg.ComparesKeys() {
		return o
	}
	o.Fleet, o.TargetNode = backend.AskFleet(ctx, cfg), backend.NodeOfFolder(cfg, o.To)
	return o
}

// keyGuard refuses a key the form would add to the first node when
// another node holds it, or a node could not be compared at all; notes
// are the nodes compared in part.
func keyGuard(ctx context.Context, cfg *config.Config, plan *identities.AddKeyPlan) (notes []string, err error) {
	if cfg == nil || !cfg.ComparesKeys() {
		return nil, nil
	}
	c := backend.AskFleet(ctx, cfg).Conflict(plan.Public, cfg.Node.Name)
	if !c.Refused() {
		return c.Notes(), nil
	}
	return nil, fmt.Errorf("%s. Nothing was written, and this form cannot place it anyway: only if it can never run on two nodes at once, run `postdeck keys add %s --node %s --place-anyway %s` (the identity's first 8 hex characters, typed; audited)",
		c.Reason(), plan.Options.PostDir, cfg.Node.Name, c.OverridePrefix())
}
