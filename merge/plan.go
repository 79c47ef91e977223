package merge

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// NewPlan reads both sides and says what a merge would do and what stops it.
// It never writes: databases are opened read-only and immutable (see
// readOnlyURI). The error is for failures that stop planning at all (a
// cancelled context); everything wrong with the data is a Problem.
func NewPlan(ctx context.Context, o Options) (*Plan, error) {
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	p := &Plan{Options: o}
	if o.From == "" || o.To == "" {
		p.problem(KindPaths, "both --from (the old node's data folder) and --to (the node data folder to merge into) are needed")
		return p, nil
	}
	var err error
	if p.From, err = filepath.Abs(o.From); err != nil {
		return nil, err
	}
	if p.To, err = filepath.Abs(o.To); err != nil {
		return nil, err
	}
	if !checkPaths(p) {
		return p, nil
	}
	if Interrupted(p.To) {
		p.problem(KindUnfinished, "an earlier merge into %s did not finish (%s exists): run `postdeck merge --recover --to %s` first, then plan again", p.To, journalPath(p.To), p.To)
		return p, nil
	}
	keys := planKeys(p)
	srcOK, dstOK := checkDBFiles(p)
	checkInUse(ctx, p)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	checkWritable(p)
	if srcOK && dstOK {
		if err := planRows(ctx, p); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			p.problem(KindBadDatabase, "cannot read the databases: %v", err)
		}
	}
	p.Keys = keys
	checkFleet(p)
	checkSpace(p)
	return p, nil
}

// checkPaths refuses a source that is not a node data folder, a target that
// is not a folder, and merging a folder into itself.
func checkPaths(p *Plan) bool {
	fi, err := os.Stat(p.From)
	if err != nil || !fi.IsDir() {
		p.problem(KindPaths, "source %s is not a folder: give the old node's data folder (the one holding %s and identities/)", p.From, DBName)
		return false
	}
	fi, err = os.Stat(p.To)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.CreateDir, p.CreateIdentities, p.CreateDB = true, true, true
	case err != nil:
		p.problem(KindPaths, "cannot read target %s: %v", p.To, err)
		return false
	case !fi.IsDir():
		p.problem(KindPaths, "target %s is a file, not a folder: give the node's data folder", p.To)
		return false
	}
	if same(p.From, p.To) {
		p.problem(KindPaths, "source and target are the same folder (%s): nothing to merge", p.From)
		return false
	}
	return true
}

func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
