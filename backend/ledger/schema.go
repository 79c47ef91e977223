package ledger

// schema is the ledger's tables. Times are Unix nanoseconds, NULL when not
// seen: NULL is how a step says "not observed".
//
//   - record: one row per publish epoch e and identity: its ATX, the
//     rewards of e+1 (summed here as they arrive, so a read is one range
//     of the table), the eligibilities and proposals of e+1, the PoET and
//     PoST steps and the measured proof. Keyed epoch first: a second's
//     events and a read of the recent epochs touch a few neighbouring pages,
//     not one page per identity.
//   - reward, proposal: what was already counted, so the same reward or
//     proposal added twice counts once.
//   - malfeasance: identities the node holds a proof against.
//   - listed: which identities and epochs a List of the node's history
//     covered, so a missing ATX or reward there is known to be missing.
//   - watched, unsynced: when postdeck was running, and when it saw the node
//     out of sync.
const schema = recordTable + `
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

// recordTable creates the record table (see schema).
const recordTable = `
CREATE TABLE IF NOT EXISTS record (` + recordColumns + recordPrimaryKey + `;`

// recordPrimaryKey ends the record table's definition: keyed epoch first.
const recordPrimaryKey = `,
	PRIMARY KEY (epoch, smesher)
) WITHOUT ROWID`

const recordColumns = `
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
	k2pow_ns INTEGER, disk_ns INTEGER, read_bytes INTEGER`

// fromVersion1 moves a schema-1 ledger's records (keyed identity first,
// with an index on the epoch) into the epoch-first table, keeping every
// row; it runs in the transaction that sets the new version, so a crash
// leaves the old file as it was.
const fromVersion1 = `
CREATE TABLE record_v2 (` + recordColumns + recordPrimaryKey + `;
INSERT INTO record_v2 SELECT smesher, epoch, atx_id, atx_weight, atx_units, rewards_count, rewards_sum,
	eligibilities, eligible_layers, proposals, reg_wait, registered, poet_proof, post_start, post_done,
	post_failed, k2pow_ns, disk_ns, read_bytes FROM record;
DROP TABLE record;
ALTER TABLE record_v2 RENAME TO record;
`
