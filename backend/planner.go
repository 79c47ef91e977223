package backend

import (
	"sync"
	"time"

	"postdeck/backend/config"
	"postdeck/model"
)

// PlanSettingsOf is the planner's defaults ([plan]) and limits ([proving]).
func PlanSettingsOf(cfg *config.Config) model.PlanSettings {
	return model.PlanSettings{
		ReadBytesPerSec: float64(cfg.Plan.ReadMiBs) * (1 << 20),
		K2Pow:           cfg.Plan.K2Pow.Duration,
		Limits:          model.Limits{MaxPerDisk: cfg.Proving.MaxPerDisk, MaxTotal: cfg.Proving.MaxTotal},
	}
}

// Planner fills each snapshot's Plan, once per poll cycle: the deadline
// plan of the cycle gap in Snapshot.Cycle, which automatic proving follows
// (the controller's hook reads it, so the planner's hook runs before).
type Planner struct {
	set model.PlanSettings
	now func() time.Time

	mu       sync.Mutex
	measured map[string]model.ProofMeasure
}

// NewPlanner plans with cfg's settings at the time now tells (nil: the
// machine's clock).
func NewPlanner(cfg *config.Config, now func() time.Time) *Planner {
	if now == nil {
		now = time.Now
	}
	return &Planner{set: PlanSettingsOf(cfg), now: now}
}

// SetMeasures gives the planner what each identity's last proof took, keyed
// by the identity's hex (the epoch ledger's last proofs); identities
// without one are planned with the [plan] defaults.
func (p *Planner) SetMeasures(m map[string]model.ProofMeasure) {
	p.mu.Lock()
	p.measured = m
	p.mu.Unlock()
}

// Hook sets s.Plan when the cycle is known; a poller hook (it does not block).
func (p *Planner) Hook(s *model.Snapshot) {
	if !s.Cycle.Known {
		s.Plan = nil
		return
	}
	p.mu.Lock()
	measured := p.measured
	p.mu.Unlock()
	plan := model.MakePlan(s.Rows, s.Cycle, p.now(), p.set, measured)
	s.Plan = &plan
}
