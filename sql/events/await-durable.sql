-- await-durable: returns once every transaction committed before it is on disk. Run on its own (its own
-- transaction, with the session's synchronous_commit on): it changes a row, so its commit writes to the
-- write-ahead log and, being synchronous, flushes the log up to its commit record, past every commit
-- before it, including those made with synchronous_commit off (docs/adr/0029-asynchronous-commits.md).
-- A statement that changed nothing would not do: a commit that wrote nothing to the log is not flushed.
-- params: $1 caller (its own row of flush_marks, so that callers do not wait for each other's)
-- returns: at
INSERT INTO flush_marks (caller, at) VALUES ($1, now())
ON CONFLICT (caller) DO UPDATE SET at = EXCLUDED.at
RETURNING at
