package ui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend/config"
	"postdeck/themes"
)

// Reload reads the config file again and, if it is valid, carries on with
// it; an invalid file changes nothing (the old config stays) and the error
// says why. The dashboard's owner does the work (a new session); the
// model only asks and tells.
type Reload func() (*config.Config, []string, error)

// ReloadedMsg is the outcome of a reload, whoever asked for it (the key,
// or SIGHUP through the program's Send).
type ReloadedMsg struct {
	Config   *config.Config // the config now in use; nil when the reload failed
	Warnings []string
	Err      error
}

// reloadCmd asks for a reload in the background: it closes and opens the
// session, which takes a poll's time or two.
func (m *Model) reloadCmd() tea.Cmd {
	if m.reload == nil {
		why := "this session cannot reload the config: restart postdeck to read it again"
		if m.demo {
			why = "the demo's config is built in: there is no file to read again"
		}
		m.setStatus(why, themes.ToneWarn)
		return nil
	}
	m.setStatus("reloading the config…", themes.ToneAccent)
	reload := m.reload
	return func() tea.Msg {
		cfg, warnings, err := reload()
		return ReloadedMsg{Config: cfg, Warnings: warnings, Err: err}
	}
}

// reloaded shows the outcome and takes the new config for the forms.
func (m *Model) reloaded(msg ReloadedMsg) {
	if msg.Err != nil {
		m.setStatus("config not reloaded, the old one stays: "+firstLine(msg.Err.Error()), themes.ToneDanger)
		return
	}
	m.cfg = msg.Config
	svcs, nodes, hosts := len(msg.Config.Services), len(msg.Config.AllNodes()), len(msg.Config.Hosts)
	text := fmt.Sprintf("config reloaded: %d service%s, %d node%s, %d host%s", svcs, plural(svcs), nodes, plural(nodes), hosts, plural(hosts))
	if len(msg.Warnings) > 0 {
		text += "; warning: " + msg.Warnings[0]
		m.setStatus(text, themes.ToneWarn)
		return
	}
	m.setStatus(text, themes.ToneOK)
}
