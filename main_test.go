package main

import (
	"bytes"
	"postdeck/cmd/common"
	"strings"
	"testing"
)

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"stauts"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), `unknown command "stauts"`) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// helpWords is the words that reach a command's --help: the command (two
// words for a nested one) and --help.
func helpWords(name string) []string {
	if name == "dashboard" {
		return []string{"help", "dashboard"}
	}
	return append(strings.Fields(name), "--help")
}

// Every command's --help says how to call it (its arguments named and
// explained), lists its own flags each with a text and a default at most
// once, none of the global flags, and ends pointing to `postdeck help`.
func TestEveryCommandsHelpIsItsOwn(t *testing.T) {
	for _, h := range common.Commands {
		if h.Name == "version" || h.Name == "help" {
			continue // version's arguments are its own; help is the top-level usage
		}
		t.Run(h.Name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(helpWords(h.Name), &out, &errOut)
			text := out.String() + errOut.String()
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, text)
			}
			syn := "Usage: postdeck " + h.Name
			if h.Name == "dashboard" {
				syn = "Usage: postdeck"
			}
			if !strings.HasPrefix(text, syn+" "+h.Use+"\n") && !(h.Use == "" && strings.HasPrefix(text, syn+"\n")) {
				t.Errorf("does not start with %q:\n%s", syn+" "+h.Use, text)
			}
			if h.Long == "" || !strings.Contains(text, h.Long) {
				t.Errorf("does not say what it does:\n%s", text)
			}
			for _, a := range h.Args {
				if !strings.Contains(text, "\n  "+a[0]+" ") {
					t.Errorf("argument %s not explained:\n%s", a[0], text)
				}
			}
			lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			if last := lines[len(lines)-1]; last != common.GlobalPointer {
				t.Errorf("last line %q, want the pointer %q", last, common.GlobalPointer)
			}
			for i, l := range lines {
				if !strings.HasPrefix(l, "  -") {
					continue
				}
				name := strings.TrimLeft(strings.Fields(l)[0], "-")
				if common.IsGlobalFlag(name) {
					t.Errorf("lists the global flag %s", l)
				}
				if i+1 == len(lines) || strings.TrimSpace(lines[i+1]) == "" {
					t.Errorf("flag %s has no text", name)
				} else if strings.Count(lines[i+1], "(default") > 1 {
					t.Errorf("flag %s says its default twice: %s", name, lines[i+1])
				}
			}
		})
	}
}

// The top-level usage puts every description in one column, also after
// a synopsis with "…" (one column on a terminal, three bytes).
func TestTopUsageColumns(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"help"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	text := out.String()
	for _, want := range []string{
		"\n  postdeck start NAME…              start post-services (NAME: service or key file name)\n",
		"\n  postdeck restart NAME…            stop (only if safe) and start again\n",
		"\n  postdeck history [NAME…] [--epochs N] [--json]\n                                    per identity",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("usage lacks %q:\n%s", want, text)
		}
	}
	// Every description, on its synopsis's line or under it, at column 37.
	const col = 36
	head, _, _ := strings.Cut(text, "\nFlags")
	for _, l := range strings.Split(head, "\n") {
		r := []rune(l)
		if !strings.HasPrefix(l, "  ") || len(r) <= col ||
			strings.HasPrefix(l, "  postdeck") && !strings.Contains(l[2:], "  ") {
			continue // the title, or a synopsis with its description under it
		}
		if r[col-1] != ' ' || r[col] == ' ' {
			t.Errorf("description not at column %d: %q", col+1, l)
		}
	}
}

// Global flags work before and after every command, and between a nested
// command's two words: an invalid --theme is refused wherever it is, so it
// was read there (a word it did not take would be "unknown command").
func TestGlobalFlagsBeforeAndAfterEveryCommand(t *testing.T) {
	bad := []string{"--theme", "nosuch"}
	for _, h := range common.Commands {
		if h.Name == "version" || h.Name == "help" || h.Name == "keys" {
			continue // version takes no flags; keys is its nested commands
		}
		words := strings.Fields(h.Name)
		if h.Name == "dashboard" {
			words = nil
		}
		places := map[string][]string{
			"before": append(append([]string{}, bad...), words...),
			"after":  append(append([]string{}, words...), bad...),
		}
		if len(words) == 2 {
			places["between"] = []string{words[0], bad[0], bad[1], words[1]}
		}
		for where, args := range places {
			var out, errOut bytes.Buffer
			code := run(args, &out, &errOut)
			if code != 1 || !strings.Contains(errOut.String(), `--theme "nosuch": choose one of`) {
				t.Errorf("%s %s: exit %d, stderr %q; want the theme refused", h.Name, where, code, errOut.String())
			}
		}
	}
}
