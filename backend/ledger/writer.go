package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"time"
)

// op is one queued write: its upsert, else apply, runs inside the writer's
// transaction, committed (if set) updates the caches once the transaction is
// on disk, and done (if set) hears the outcome.
type op struct {
	upsert    *upsert
	apply     func(tx *sql.Tx) error
	apart     bool // apply touches no record: it need not wait for the upserts held
	committed func(c *cache)
	done      chan error
	stop      bool // Close's last op: the writer ends after it
}

// maxBatch is how many queued writes share one transaction (one fsync).
const maxBatch = 256

// linger is how long the writer gathers writes after the first before it
// commits them: a steady dashboard's trickle (an event, each poll's watched
// time) then costs one transaction and one fsync a second, not one a write.
// A Flush or Close ends the wait at once; a crash loses at most this much,
// which the node's event replay and the next List bring back.
const linger = time.Second

// writeTimeout bounds one transaction: a hung disk fails it rather than
// stalling the queue for ever.
const writeTimeout = 30 * time.Second

// enqueue hands a write to the writer without waiting: on a full queue or a
// closed ledger the write is dropped and counted.
func (l *Ledger) enqueue(o op) {
	if l == nil {
		return
	}
	sent := false
	l.mu.RLock()
	if !l.closed {
		select {
		case l.queue <- o:
			sent = true
		default:
		}
	}
	l.mu.RUnlock()
	if !sent {
		l.dropped.Add(1)
	}
}

// Flush waits until every write queued before it is committed (or ctx
// ends), and returns the error of the transaction that carried it.
func (l *Ledger) Flush(ctx context.Context) error {
	if l == nil {
		return nil
	}
	o := op{apply: func(*sql.Tx) error { return nil }, done: make(chan error, 1)}
	if !l.isClosed() {
		select {
		case l.queue <- o:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case err := <-o.done:
		return err
	case <-l.done:
		select {
		case err := <-o.done: // carried by the writer's last batch
			return err
		default:
			return &Error{Path: l.path, Kind: ErrClosed}
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Ledger) isClosed() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.closed
}

// write is the one writer: it gathers what is queued, commits it in one
// transaction and starts again, until the stop op of Close. The queue is
// never closed, so a send can never panic.
func (l *Ledger) write() {
	defer close(l.done)
	for o := range l.queue {
		batch := gather(l.queue, o)
		l.commitBatch(batch)
		if batch[len(batch)-1].stop {
			return
		}
	}
}

// gather takes first and what follows it for up to linger, at most
// maxBatch writes; a Flush's or Close's op ends the batch.
func gather(queue <-chan op, first op) []op {
	batch := []op{first}
	if first.urgent() {
		return batch
	}
	wait := time.NewTimer(linger)
	defer wait.Stop()
	for len(batch) < maxBatch {
		select {
		case o := <-queue:
			batch = append(batch, o)
			if o.urgent() {
				return batch
			}
		case <-wait.C:
			return batch
		}
	}
	return batch
}

// urgent is an op someone waits on: Flush's and Close's.
func (o op) urgent() bool { return o.done != nil || o.stop }

// commitBatch commits the batch; if it fails, each write is tried alone so
// one bad write loses only itself. A Flush in the batch hears the first
// failure, so it never reports success for writes that were lost.
func (l *Ledger) commitBatch(batch []op) {
	err := l.commit(batch)
	if err == nil || len(batch) == 1 {
		l.finish(batch, err, err)
		return
	}
	var first error
	errs := make([]error, len(batch))
	for i, o := range batch {
		if o.done == nil {
			errs[i] = l.commit([]op{o})
			first = cmp.Or(first, errs[i])
		}
	}
	// The error first, so a Flush told the outcome finds it in Status.
	l.setErr(first)
	for i, o := range batch {
		if o.done != nil {
			errs[i] = first
		}
		l.finishOne(o, errs[i])
	}
}

func (l *Ledger) commit(batch []op) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return explain(l.path, err)
	}
	if err := applyAll(tx, batch); err != nil {
		tx.Rollback()
		return explain(l.path, err)
	}
	return explain(l.path, tx.Commit())
}

// applyAll runs the batch's writes in tx, its upserts folded (see folder).
func applyAll(tx *sql.Tx, batch []op) error {
	f := newFolder(tx)
	for _, o := range batch {
		if err := f.add(o); err != nil {
			return err
		}
	}
	return f.flush()
}

// finish records the outcome of a batch committed (or failed) as one.
func (l *Ledger) finish(batch []op, err, batchErr error) {
	l.setErr(batchErr) // before a Flush hears: its caller may read Status next
	for _, o := range batch {
		l.finishOne(o, err)
	}
}

// finishOne updates the caches for a write that reached the disk, counts
// one that did not, and tells its Flush.
func (l *Ledger) finishOne(o op, err error) {
	if err != nil && o.done == nil {
		l.lost.Add(1)
	}
	if err == nil && o.committed != nil {
		l.mu.Lock()
		o.committed(&l.cache)
		l.mu.Unlock()
	}
	if o.done != nil {
		o.done <- err
	}
}

// setErr keeps the last failure for Status until a batch commits whole.
func (l *Ledger) setErr(err error) {
	l.mu.Lock()
	l.lastErr = err
	l.mu.Unlock()
}
