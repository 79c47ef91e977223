package ledger

import (
	"database/sql"
	"strings"
)

// chunkRows is how many rows one multi-row statement carries: the driver
// prepares each statement anew, so one statement per row would spend most
// of a backfill parsing SQL.
const chunkRows = 200

// execRows runs head + "VALUES (?, …), …" + tail for rows in chunks; each
// row holds the same number of values. each (if set) gets every row a
// statement returns (for a tail with RETURNING).
func execRows(tx *sql.Tx, head, tail string, rows [][]any, each func(scanner) error) error {
	for len(rows) > 0 {
		n := min(len(rows), chunkRows)
		if err := execChunk(tx, head, tail, rows[:n], each); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func execChunk(tx *sql.Tx, head, tail string, rows [][]any, each func(scanner) error) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ") + ")"
	var q strings.Builder
	q.WriteString(head + " VALUES ")
	args := make([]any, 0, len(rows)*len(rows[0]))
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(one)
		args = append(args, r...)
	}
	q.WriteString(" " + tail)
	if each == nil {
		_, err := tx.Exec(q.String(), args...)
		return err
	}
	return scanAll(tx.Query(q.String(), args...))(each)
}
