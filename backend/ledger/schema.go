package ledger

// schema is the ledger's tables. Times are Unix nanoseconds, NULL when not
// seen: NULL is how a step says "not observed".
//
//   - record: one row per identity and publish epoch e: its ATX, the
//     rewards of e+1 (summed here as they arrive, so a read is one indexed
//     query), the eligibilities and proposals of e+1, the PoET and PoST
//     steps and the measured proof.
//   - reward, proposal: what was already counted, so the same reward or
//     proposal added twice counts once.
//   - malfeasance: identities the node holds a proof against.
//   - listed: which identities and epochs a List of the node's history
//     covered, so a missing ATX or reward there is known to be missing.
//   - watched, unsynced: when postdeck was running, and when it saw the node
//     out of sync.
const schema = `
CREATE TABLE IF NOT EXISTS record (
	smesher BLOB NOT NULL,
	epoch INTEGER NOT NULL,
	atx_id BLOB, atx_weight INTEGER, atx_units INTEGER,
	rewards_count INTEGER NOT NULL DEFAULT 0,
	rewards_sum INTEGER NOT NULL DEFAULT 0,
	eligibilities INTEGER, eligible_layers INTEGER,
	proposals INTEGER NOT NULL DEFAULT 0,
	reg_wait INTEGER, registered INTEGER, poet_proof INTEGER,
	post_start INTEGER, post_done INTEGER,
	post_failed INTEGER NOT NULL DEFAULT 0,
	k2pow_ns INTEGER, disk_ns INTEGER, read_bytes INTEGER,
	PRIMARY KEY (smesher, epoch)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS record_epoch ON record (epoch);
CREATE TABLE IF NOT EXISTS reward (
	smesher BLOB NOT NULL, layer INTEGER NOT NULL, total INTEGER NOT NULL,
	PRIMARY KEY (smesher, layer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS proposal (
	smesher BLOB NOT NULL, layer INTEGER NOT NULL,
	PRIMARY KEY (smesher, layer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS malfeasance (
	smesher BLOB PRIMARY KEY, kind TEXT NOT NULL, layer INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS listed (
	kind TEXT NOT NULL, smesher BLOB NOT NULL,
	from_epoch INTEGER NOT NULL, to_epoch INTEGER NOT NULL,
	PRIMARY KEY (kind, smesher, from_epoch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watched (start INTEGER PRIMARY KEY, end INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS unsynced (start INTEGER PRIMARY KEY, end INTEGER NOT NULL);
-- Earlier ledgers kept a table of the events seen; a replay needs none
-- (see AddEvent).
DROP TABLE IF EXISTS seen;
`
