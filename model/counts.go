package model

// Counts summarises a snapshot for the header.
type Counts struct {
	Identities int
	Node       map[NodeState]int
	Service    map[ServiceState]int
	Critical   int
	Warned     int
}

// Count tallies rows by node state, service state and health.
func (s *Snapshot) Count() Counts {
	c := Counts{Identities: len(s.Rows), Node: map[NodeState]int{}, Service: map[ServiceState]int{}}
	for i := range s.Rows {
		r := &s.Rows[i]
		c.Node[r.NodeState]++
		c.Service[r.ServiceState]++
		switch {
		case r.Critical():
			c.Critical++
		case len(r.Health) > 0:
			c.Warned++
		}
	}
	return c
}
