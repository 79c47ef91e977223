package config

import "fmt"

// AllNodes is every configured node, the first (Node) first.
func (c *Config) AllNodes() []NodeConfig {
	return append([]NodeConfig{c.Node}, c.MoreNodes...)
}

// Fleet says whether the config names more than one node.
func (c *Config) Fleet() bool { return len(c.MoreNodes) > 0 }

// ComparesKeys says whether keys are placed among several nodes (a fleet,
// or other hosts'): the equivocation guard then compares them.
func (c *Config) ComparesKeys() bool { return c.Fleet() || len(c.Hosts) > 0 }

// NodeNamed is the node called name; "" is the first. nil when none is.
func (c *Config) NodeNamed(name string) *NodeConfig {
	if name == "" || name == c.Node.Name {
		return &c.Node
	}
	for i := range c.MoreNodes {
		if c.MoreNodes[i].Name == name {
			return &c.MoreNodes[i]
		}
	}
	return nil
}

// NodeOf is the node service s proves for (the first when it names none,
// or names one that is not configured, which Load refuses).
func (c *Config) NodeOf(s *ServiceConfig) *NodeConfig {
	if n := c.NodeNamed(s.Node); n != nil {
		return n
	}
	return &c.Node
}

// ServicesOf is the services of the node called name, in config order.
func (c *Config) ServicesOf(name string) []ServiceConfig {
	node := c.NodeNamed(name)
	var out []ServiceConfig
	for i := range c.Services {
		if c.NodeOf(&c.Services[i]) == node {
			out = append(out, c.Services[i])
		}
	}
	return out
}

// NodeRefs is every configured node as a pointer into c, the first first:
// for the code that changes them in place or tells them apart by address.
func (c *Config) NodeRefs() []*NodeConfig {
	out := []*NodeConfig{&c.Node}
	for i := range c.MoreNodes {
		out = append(out, &c.MoreNodes[i])
	}
	return out
}

// setNodes puts the nodes decoded from a file in place.
func (c *Config) setNodes(nodes []NodeConfig) {
	if len(nodes) == 0 {
		return
	}
	c.Node, c.MoreNodes = nodes[0], nodes[1:]
}

// nodeProblems checks each node's listeners and TLS, and that in a config
// of several nodes each has its own name and listeners and every service
// says which one it proves for.
func (c *Config) nodeProblems() []problem {
	var ps []problem
	add := func(index int, key, format string, args ...any) {
		ps = append(ps, problem{"node", index, key, fmt.Sprintf(format, args...)})
	}
	names, addrs := map[string]int{}, map[string]int{}
	fleet := c.Fleet()
	for i, n := range c.AllNodes() {
		for _, l := range []struct{ key, value string }{
			{"post_listener", n.PostListener},
			{"private_listener", n.PrivateListener},
			{"public_listener", n.PublicListener},
		} {
			if msg := ListenerProblem(l.key, l.value); msg != "" {
				add(i, l.key, "%s", msg)
				continue
			}
			// Two blocks dialling one listener are one node written twice:
			// its identities would show twice and its services be started
			// by both.
			if a := DialAddress(l.value); a != "" {
				if j, dup := addrs[a]; dup && j != i {
					add(i, l.key, "%s %q is also a listener of [[node]] #%d: two blocks name the same node; keep one", l.key, l.value, j+1)
				} else {
					addrs[a] = i
				}
			}
		}
		if (n.TLSCert == "") != (n.TLSKey == "") {
			add(i, "tls_cert", "tls_cert and tls_key go together: set both or neither")
		}
		switch j, dup := names[n.Name]; {
		case fleet && n.Name == "":
			add(i, "name", "name is empty: with several [[node]] blocks each needs a name, such as \"node%d\"", i+1)
		case dup:
			add(i, "name", "name %q is also [[node]] #%d's: node names must be unique", n.Name, j+1)
		default:
			names[n.Name] = i
		}
	}
	for i, s := range c.Services {
		switch {
		case s.Node != "" && c.NodeNamed(s.Node) == nil:
			ps = append(ps, problem{"service", i, "node", fmt.Sprintf("node %q is not a configured node (the nodes are %s)", s.Node, nodeNames(c))})
		case s.Node == "" && fleet:
			ps = append(ps, problem{"service", i, "node", fmt.Sprintf("node is empty: with several nodes each service says which it proves for (one of %s)", nodeNames(c))})
		}
	}
	return ps
}

func nodeNames(c *Config) string {
	var out string
	for i, n := range c.AllNodes() {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%q", n.Name)
	}
	return out
}

// hostProblems checks the [[host]] blocks: each named, once, with the
// address of its postdeck serve.
func (c *Config) hostProblems() []problem {
	var ps []problem
	add := func(index int, key, format string, args ...any) {
		ps = append(ps, problem{"host", index, key, fmt.Sprintf(format, args...)})
	}
	names := map[string]int{}
	for i, h := range c.Hosts {
		switch j, dup := names[h.Name]; {
		case h.Name == "":
			add(i, "name", "name is empty: give each host a name, such as its hostname")
		case dup:
			add(i, "name", "name %q is also [[host]] #%d's: host names must be unique", h.Name, j+1)
		case c.NodeNamed(h.Name) != nil && c.Fleet():
			add(i, "name", "name %q is also a [[node]]'s: the NODE column could not tell them apart", h.Name)
		default:
			names[h.Name] = i
		}
		if h.Address == "" {
			add(i, "address", "address is empty: set it to the host:port its `postdeck serve --listen` listens on")
		} else if msg := AddrProblem(h.Address); msg != "" {
			add(i, "address", "address %q: %s", h.Address, msg)
		}
	}
	return ps
}
