package ledger

import "database/sql"

// An upsert is a write of one record that a transaction may fold with the
// others of its shape into one multi-row statement: the driver parses every
// statement anew, so a second of a busy node's events as one statement per
// event spends most of the writer's time parsing SQL.
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
// fold them by shape. Writes to different records commute, so an upsert
// only waits while no write before it in the batch touches its record in
// another way; any other write runs once the upserts held are in (one
// marked apart, at once).
type folder struct {
	tx      *sql.Tx
	byShape map[string][]*upsert
	shapes  []string             // in the order first held
	held    map[recordKey]string // record → the shape of its held upserts
}

func newFolder(tx *sql.Tx) *folder {
	return &folder{tx: tx, byShape: map[string][]*upsert{}, held: map[recordKey]string{}}
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
	u, shape := o.upsert, o.upsert.shape()
	if s, ok := f.held[u.key]; ok && s != shape {
		if err := f.flush(); err != nil {
			return err
		}
	}
	if _, ok := f.byShape[shape]; !ok {
		f.shapes = append(f.shapes, shape)
	}
	f.byShape[shape] = append(f.byShape[shape], u)
	f.held[u.key] = shape
	return nil
}

// flush runs the upserts held, one statement per shape.
func (f *folder) flush() error {
	for _, s := range f.shapes {
		if err := execUpserts(f.tx, f.byShape[s]); err != nil {
			return err
		}
	}
	clear(f.byShape)
	clear(f.held)
	f.shapes = f.shapes[:0]
	return nil
}
