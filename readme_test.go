package main

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"postdeck/cmd/common"
)

// readmeCommandLines is every `postdeck …` the README shows: in inline
// code, and at the start of a line of a code block (continued lines
// joined), each without its trailing comment.
func readmeCommandLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	var lines []string
	for _, m := range regexp.MustCompile("`(postdeck(?: [^`]*)?)`").FindAllStringSubmatch(text, -1) {
		lines = append(lines, m[1])
	}
	for _, m := range regexp.MustCompile(`(?m)^(postdeck(?: .*)?)$`).FindAllStringSubmatch(text, -1) {
		l, _, _ := strings.Cut(m[1], " # ")
		lines = append(lines, l)
	}
	return lines
}

// readmeCommand is the command a README line runs ("keys add"; "dashboard"
// for postdeck alone), or "" when the line is prose, not a command.
func readmeCommand(line string) string {
	words := strings.Fields(line)[1:]
	for len(words) > 0 && strings.HasPrefix(words[0], "-") {
		words = words[1:] // global flags before the command
		if len(words) > 0 && !strings.HasPrefix(words[0], "-") && !isCommand(words[0]) {
			words = words[1:] // the global flag's value
		}
	}
	if len(words) == 0 || strings.HasPrefix(words[0], "[") {
		return "dashboard"
	}
	if words[0] == "keys" && len(words) > 1 && isCommand("keys "+words[1]) {
		return "keys " + words[1]
	}
	if isCommand(words[0]) {
		return words[0]
	}
	return ""
}

func isCommand(name string) bool {
	return slices.ContainsFunc(common.Commands, func(h common.Help) bool { return h.Name == name })
}

// helpText is the command's --help.
func helpText(name string) string {
	var out, errOut bytes.Buffer
	run(helpWords(name), &out, &errOut)
	return out.String() + errOut.String()
}

// Every command line the README shows names a command postdeck has, and
// every flag on it is one of that command's (its --help lists it, spelt
// the same) or a global one (`postdeck help` lists those).
func TestREADMECommandLinesMatchTheHelp(t *testing.T) {
	var top bytes.Buffer
	run([]string{"help"}, &top, &top)
	flagRE := regexp.MustCompile(`(?:^|[\s\[|(])(--?[a-zA-Z][a-zA-Z0-9-]*)`)
	checked := 0
	for _, line := range readmeCommandLines(t) {
		name := readmeCommand(line)
		if name == "" || name == "help" {
			continue
		}
		help := helpText(name)
		checked++
		for _, m := range flagRE.FindAllStringSubmatch(line, -1) {
			flag := m[1]
			short := "-" + strings.TrimLeft(flag, "-")
			own := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(flag) + `(\s|$)`).MatchString(help)
			global := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(short) + `(\s|$)`).MatchString(top.String())
			if !own && !global {
				t.Errorf("README: `%s`: postdeck %s has no flag %s", line, name, flag)
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d README command lines checked: is the README read right?", checked)
	}
}
