package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"postdeck/backend/ledger"
	"postdeck/backend/nodeapi"
	"postdeck/model"
)

// listJob is one unit of a backfill: identities whose ATXs and rewards are
// listed from the same epochs through To.
type listJob struct {
	ids                 [][]byte
	atxFrom, rewardFrom uint32 // publish epochs, reward epochs
	to                  uint32
}

// backfillNew lists the history of every identity known but not yet
// listed in this run, from where the ledger's Lists end (all the node has
// on a first run, only what is new after a restart).
func (k *HistoryKeeper) backfillNew(ctx context.Context) {
	cur := k.currentEpoch()
	var todo [][]byte
	k.mu.Lock()
	for id := range k.known {
		if !k.listed[id] {
			todo = append(todo, []byte(id))
		}
	}
	k.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	slices.SortFunc(todo, bytes.Compare)
	var jobs []listJob
	for _, id := range todo {
		a := k.led.FirstUnlisted(ledger.ListedATXs, id, 0)
		r := k.led.FirstUnlisted(ledger.ListedRewards, id, 0)
		if a > cur && r > cur {
			k.markListed(id) // all there: the recent Lists keep it current
			continue
		}
		jobs = addToJobs(jobs, id, min(a, cur), min(r, cur), cur, k.opts.Chunk)
	}
	k.run(ctx, jobs, true)
}

// listRecent lists the last few epochs of every identity listed in this
// run again: ATXs and rewards that came after the last List.
func (k *HistoryKeeper) listRecent(ctx context.Context) {
	cur := k.currentEpoch()
	from := uint32(max(0, int64(cur)-int64(k.opts.RecentEpochs)))
	var jobs []listJob
	k.mu.Lock()
	ids := make([][]byte, 0, len(k.listed))
	for id, ok := range k.listed {
		if ok {
			ids = append(ids, []byte(id))
		}
	}
	k.mu.Unlock()
	slices.SortFunc(ids, bytes.Compare)
	for _, id := range ids {
		jobs = addToJobs(jobs, id, from, from, cur, k.opts.Chunk)
	}
	k.run(ctx, jobs, false)
}

// addToJobs puts id into the last job if it lists the same epochs and has
// room, else into a new one.
func addToJobs(jobs []listJob, id []byte, atxFrom, rewardFrom, to uint32, chunk int) []listJob {
	if n := len(jobs); n > 0 {
		j := &jobs[n-1]
		if j.atxFrom == atxFrom && j.rewardFrom == rewardFrom && j.to == to && len(j.ids) < chunk {
			j.ids = append(j.ids, id)
			return jobs
		}
	}
	return append(jobs, listJob{ids: [][]byte{id}, atxFrom: atxFrom, rewardFrom: rewardFrom, to: to})
}

func (k *HistoryKeeper) markListed(id []byte) {
	k.mu.Lock()
	k.listed[string(id)] = true
	k.mu.Unlock()
}

// run does the jobs, Workers at a time, each job's calls one after the
// other, so at most Workers calls are in flight. The first failure stops
// the rest (they are tried again at the next recent List) and is shown in
// the snapshots; a pass that ends well clears it. progress: count the
// pass in the snapshot's backfill.
func (k *HistoryKeeper) run(ctx context.Context, jobs []listJob, progress bool) {
	if len(jobs) == 0 {
		return
	}
	lpe, err := k.layersPerEpoch(ctx)
	if err != nil {
		k.setHistErr(err)
		return
	}
	if progress {
		total := 0
		for _, j := range jobs {
			total += len(j.ids)
		}
		k.setBackfill(model.Backfill{Total: total, Running: true})
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var failure error
	queue := make(chan listJob)
	var wg sync.WaitGroup
	for range min(k.opts.Workers, len(jobs)) {
		wg.Go(func() {
			for j := range queue {
				if err := k.listJob(ctx, j, lpe); err != nil {
					once.Do(func() { failure = err; cancel() })
					continue
				}
				k.jobDone(j, progress)
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if failure == nil && ctx.Err() == nil {
		failure = k.listMalfeasance(ctx, jobs)
	}
	if progress {
		k.mu.Lock()
		k.backfill.Running = false
		k.mu.Unlock()
	}
	if parent.Err() == nil { // not shutting down
		k.setHistErr(failure)
	}
	notify(k.wake)
}

// listJob lists one job's ATXs (one paged call for all its identities)
// and each identity's rewards, and hands them to the ledger once all
// answered: a job cut short stores nothing, so its epochs stay unlisted.
func (k *HistoryKeeper) listJob(ctx context.Context, j listJob, lpe uint32) error {
	atxs, err := k.node.ATXs(ctx, j.ids, j.atxFrom, 0)
	if err != nil {
		return err
	}
	var rewards []model.Reward
	for _, id := range j.ids {
		rs, err := k.node.Rewards(ctx, id, j.rewardFrom*lpe, 0)
		if err != nil {
			return err
		}
		rewards = append(rewards, rs...)
	}
	k.led.AddATXs(ledger.HistoryQuery{IDs: j.ids, FromEpoch: j.atxFrom, ToEpoch: j.to}, atxs)
	k.led.AddRewards(ledger.HistoryQuery{IDs: j.ids, FromEpoch: j.rewardFrom, ToEpoch: j.to}, rewards)
	return nil
}

// jobDone counts a job and, in a backfill, wakes a re-read: each step
// shows as it lands.
func (k *HistoryKeeper) jobDone(j listJob, progress bool) {
	k.mu.Lock()
	for _, id := range j.ids {
		k.listed[string(id)] = true
	}
	if progress {
		k.backfill.Done += len(j.ids)
	}
	k.mu.Unlock()
	if progress {
		notify(k.wake)
	}
}

// listMalfeasance asks for the proofs against the jobs' identities, a
// page's worth of identities a call.
func (k *HistoryKeeper) listMalfeasance(ctx context.Context, jobs []listJob) error {
	var ids [][]byte
	for _, j := range jobs {
		ids = append(ids, j.ids...)
	}
	for part := range slices.Chunk(ids, nodeapi.PageSize) {
		ms, err := k.node.Malfeasance(ctx, part)
		if err != nil {
			return err
		}
		if len(ms) > 0 {
			k.led.AddMalfeasance(ms)
		}
	}
	return nil
}

// layersPerEpoch is the node's (NodeInfo epoch_size), which places its
// rewards' layers in epochs; asked once.
func (k *HistoryKeeper) layersPerEpoch(ctx context.Context) (uint32, error) {
	k.mu.Lock()
	lpe := k.layers
	k.mu.Unlock()
	if lpe > 0 {
		return lpe, nil
	}
	info, err := k.node.NodeInfo(ctx)
	if err != nil {
		return 0, fmt.Errorf("layers per epoch (NodeInfo): %w", err)
	}
	if info.EpochSize == 0 {
		return 0, errors.New("the node's NodeInfo gives no epoch_size")
	}
	k.mu.Lock()
	k.layers = info.EpochSize
	k.mu.Unlock()
	return info.EpochSize, nil
}

func (k *HistoryKeeper) setBackfill(b model.Backfill) {
	k.mu.Lock()
	k.backfill = b
	k.mu.Unlock()
}

// setHistErr keeps the message the snapshots show, "" for none. A node
// without the history services is told which config keys enable them, in
// one message for all three.
func (k *HistoryKeeper) setHistErr(err error) {
	msg := ""
	var unavailable *nodeapi.HistoryUnavailableError
	switch {
	case errors.As(err, &unavailable):
		msg = fmt.Sprintf(`the node at %s does not serve its history: add "activation_v2alpha1", "reward_v2alpha1" and "malfeasance_v2alpha1" to "grpc-public-services" in the "api" section of its config (go-spacemesh 1.5+) and restart it; until then the epoch ledger has only the events postdeck sees`,
			unavailable.Addr)
	case err != nil:
		msg = "reading the node's history: " + err.Error() + " (tried again in a few minutes)"
	}
	k.mu.Lock()
	k.histErr = msg
	k.mu.Unlock()
}
