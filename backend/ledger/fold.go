package ledger

import (
	"cmp"
	"database/sql"
	"slices"
)

// An upsert is a write of one record that a transaction may fold with the
// others of its shape into one multi-row statement: the driver parses every
// statement anew, so one statement per event spent about half the writer's
// time on a busy node parsing SQL.
type upsert struct {
	key       recordKey
	cols, set string // what a new record gets, and how an existing one changes
	vals      []any
	once      bool // it sets cols only where they are NULL: once in, a repeat changes nothing
}

func newUpsert(smesher []byte, epoch uint32, cols, set string, vals ...any) *upsert {
	return &upsert{key: recordKey{string(smesher), epoch}, cols: cols, set: set, vals: vals}
}

func (u *upsert) shape() string { return u.cols + "\x00" + u.set }

// exec runs the upsert alone: a new record gets vals in cols
// (comma-separated); an existing one is changed by set, which names the
// new values excluded.col.
func (u *upsert) exec(tx *sql.Tx) error {
	return execUpserts(tx, []*upsert{u})
}

// execUpserts runs upserts of one shape as multi-row statements. SQLite
// applies the rows of one statement in order, so two for the same record
// act as they would one after the other.
func execUpserts(tx *sql.Tx, us []*upsert) error {
	rows := make([][]any, len(us))
	for i, u := range us {
		rows[i] = append([]any{[]byte(u.key.smesher), u.key.epoch}, u.vals...)
	}
	return execRows(tx, "INSERT INTO record (smesher, epoch, "+us[0].cols+")", "ON CONFLICT DO UPDATE SET "+us[0].set, rows, nil)
}

// folder runs a batch's writes in one transaction, holding back upserts to
// fold them by shape. Writes to different records commute; a record's own
// writes must keep their order. So each upsert joins a round: its record's
// last held round, or the next one when that held another shape. The rounds
// run in order, each as one statement per shape. Any other write runs once
// the upserts held are in (one marked apart, at once).
type folder struct {
	tx     *sql.Tx
	groups map[group][]*upsert
	order  []group             // in the order first held
	held   map[recordKey]group // record → the group of its last held upsert
}

type group struct {
	round int
	shape string
}

func newFolder(tx *sql.Tx) *folder {
	return &folder{tx: tx, groups: map[group][]*upsert{}, held: map[recordKey]group{}}
}

func (f *folder) add(o op) error {
	if o.upsert == nil {
		if !o.apart {
			if err := f.flush(); err != nil {
				return err
			}
		}
		return o.apply(f.tx)
	}
	u := o.upsert
	g := group{shape: u.shape()}
	if last, ok := f.held[u.key]; ok {
		g.round = last.round
		if last.shape != g.shape {
			g.round++
		}
	}
	if _, ok := f.groups[g]; !ok {
		f.order = append(f.order, g)
	}
	f.groups[g] = append(f.groups[g], u)
	f.held[u.key] = g
	return nil
}

// flush runs the upserts held, round by round, one statement per shape.
func (f *folder) flush() error {
	slices.SortStableFunc(f.order, func(a, b group) int { return cmp.Compare(a.round, b.round) })
	for _, g := range f.order {
		if err := execUpserts(f.tx, f.groups[g]); err != nil {
			return err
		}
	}
	clear(f.groups)
	clear(f.held)
	f.order = f.order[:0]
	return nil
}
