package sshserve

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"charm.land/ssh"

	"postdeck/backend/proc"
	"postdeck/model"
)

// Exit codes of the machine channel's commands.
const (
	machineOK       = 0
	machineFailed   = 1 // the action failed, or the stop was refused as unsafe
	machineUsage    = 2 // not a command this channel knows
	machineReadOnly = 3 // a read-only key asked to act
)

// machineActionTimeout bounds one start, stop or restart asked over the
// channel, as the dashboard bounds its own.
const machineActionTimeout = 2 * time.Minute

// machine answers an exec request (`ssh host status --json`): the machine
// channel another postdeck reads (model/machine.go), and what a person
// types without a terminal. A read-only key may watch and read logs,
// never act.
func (s *Server) machine(sess ssh.Session, access Access, w who) {
	args := sess.Command()
	code := machineUsage
	switch args[0] {
	case "status":
		code = s.machineStatus(sess, access, args[1:])
	case "start", "stop", "restart":
		code = s.machineAction(sess, access, w, args[0], args[1:])
	case "logs":
		code = s.machineLogs(sess, args[1:])
	case "version":
		fmt.Fprintf(sess, "postdeck %s (machine protocol %d)\n", s.o.Version, model.MachineProtocol)
		code = machineOK
	default:
		fmt.Fprintf(sess.Stderr(), "postdeck serve: %q is not a command here; it answers status [--json] [--watch], start NAME, stop NAME [--when-safe|--force], restart NAME, logs NAME, version\n", args[0])
	}
	_ = sess.Exit(code)
}

// machineFlags parses a command's flags, saying what was wrong on stderr.
func machineFlags(sess ssh.Session, name string, args []string, define func(*flag.FlagSet)) ([]string, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(sess.Stderr())
	define(fs)
	if err := fs.Parse(args); err != nil {
		return nil, false
	}
	return fs.Args(), true
}

// machineStatus writes the latest snapshot once (as `postdeck status`
// prints it, or its JSON), or with --watch a hello and then every new
// snapshot's JSON, one a line, until the client goes.
func (s *Server) machineStatus(sess ssh.Session, access Access, args []string) int {
	var asJSON, watch bool
	if _, ok := machineFlags(sess, "status", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.BoolVar(&watch, "watch", false, "stream a JSON line per snapshot")
	}); !ok {
		return machineUsage
	}
	feed, unsubscribe := s.o.Feed.Subscribe()
	defer unsubscribe()
	enc := json.NewEncoder(sess)
	if watch {
		if err := enc.Encode(model.MachineHello{Postdeck: s.o.Version, Protocol: model.MachineProtocol, ReadOnly: access != Full, Now: time.Now()}); err != nil {
			return machineFailed
		}
	}
	for {
		select {
		case <-sess.Context().Done():
			return machineOK
		case <-s.bye:
			fmt.Fprintln(sess.Stderr(), "postdeck serve is shutting down")
			return machineFailed
		case snap, ok := <-feed:
			if !ok {
				fmt.Fprintln(sess.Stderr(), "postdeck serve is shutting down")
				return machineFailed
			}
			if !asJSON && !watch {
				io.WriteString(sess, snap.StatusText())
				return snap.ExitCode()
			}
			if err := enc.Encode(snap.Doc()); err != nil {
				return machineFailed // the client went
			}
			if !watch {
				return snap.ExitCode()
			}
		}
	}
}

// machineAction starts, stops or restarts one service through the
// server's controller, audited like a dashboard's key press; this host's
// safe-stop rule decides, whoever asks. The reply is one JSON line.
func (s *Server) machineAction(sess ssh.Session, access Access, w who, verb string, args []string) int {
	var whenSafe, force bool
	rest, ok := machineFlags(sess, verb, args, func(fs *flag.FlagSet) {
		if verb == "stop" {
			fs.BoolVar(&whenSafe, "when-safe", false, "stop as soon as it is safe")
			fs.BoolVar(&force, "force", false, "stop even if a proof is lost")
		}
	})
	if !ok || len(rest) != 1 {
		fmt.Fprintf(sess.Stderr(), "postdeck serve: %s takes one service name\n", verb)
		return machineUsage
	}
	name := rest[0]
	reply := model.MachineReply{Service: name}
	enc := json.NewEncoder(sess)
	if access != Full || s.o.Actions == nil {
		reply.ReadOnly = true
		reply.Error = "this key is read-only on " + hostFor(sess) + ": it may watch and read logs, not " + verb
		s.audit(w, "refused-"+verb, "refused: read-only key ("+name+")")
		enc.Encode(reply)
		return machineReadOnly
	}
	acts := &auditedActions{inner: s.o.Actions, log: s.o.Audit, who: w, identity: s.o.Identity, report: s.o.Report}
	ctx, cancel := context.WithTimeout(sess.Context(), machineActionTimeout)
	defer cancel()
	var err error
	switch verb {
	case "start", "restart":
		var o model.StartOutcome
		if verb == "start" {
			o, err = acts.Start(ctx, name)
		} else {
			o, err = acts.Restart(ctx, name)
		}
		reply.Result, reply.Warnings, reply.AlreadyRunning = o.String(), o.Warnings, o.AlreadyRunning
	case "stop":
		mode := model.StopIfSafe
		switch {
		case force:
			mode = model.StopForce
		case whenSafe:
			mode = model.StopWhenSafe
		}
		var o model.StopOutcome
		o, err = acts.Stop(ctx, name, mode)
		reply.Result, reply.Reason = o.String(), o.Reason
		reply.Queued, reply.NotRunning = o.Result == model.StopQueued, o.Result == model.StopNotRunning
	}
	if err != nil {
		reply.Error, reply.Result = err.Error(), ""
		var unsafe interface {
			UnsafeStop()
			StopReason() string
		}
		if reply.Unsafe = errors.As(err, &unsafe); reply.Unsafe {
			reply.Reason = unsafe.StopReason() // the verdict as a value: the central postdeck words it
		}
	}
	reply.OK = err == nil
	enc.Encode(reply)
	if err != nil {
		return machineFailed
	}
	return machineOK
}

// machineLogs writes one read of a service's log: a MachineLogHead line,
// then its bytes. --from is the Next of the read before (none: near the
// end). Reading a log is watching, so a read-only key may.
func (s *Server) machineLogs(sess ssh.Session, args []string) int {
	var from string
	rest, ok := machineFlags(sess, "logs", args, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "the cursor the last read returned")
	})
	if !ok || len(rest) != 1 {
		fmt.Fprintln(sess.Stderr(), "postdeck serve: logs takes one service name")
		return machineUsage
	}
	head := model.MachineLogHead{}
	var data []byte
	if s.o.Actions == nil {
		head.Error = "this postdeck serve runs no services: no logs"
	} else if src, err := s.o.Actions.LogSource(rest[0]); err != nil {
		head.Error = err.Error()
	} else {
		ctx, cancel := context.WithTimeout(sess.Context(), 10*time.Second)
		c, err := proc.ReadLog(ctx, src, proc.CursorFromToken(from))
		cancel()
		if err != nil {
			head.Error = err.Error()
		}
		data = c.Data
		head.Next, head.Reset, head.Missing, head.Skipped = c.Next.Token(), c.Reset, c.Missing, c.Skipped
	}
	head.Bytes = len(data)
	line, _ := json.Marshal(head)
	if _, err := sess.Write(append(line, '\n')); err != nil {
		return machineFailed
	}
	sess.Write(data)
	if head.Error != "" {
		return machineFailed
	}
	return machineOK
}
