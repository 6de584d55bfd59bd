-- 0018-flush-marks: a row per caller of events/await-durable, which updates its own to have a commit that
-- writes to the write-ahead log, so that the synchronous commit flushes the log past every earlier commit,
-- those made without waiting for the disk included (docs/adr/0029-asynchronous-commits.md). A commit
-- that wrote nothing to the log (a transaction id taken, no row changed) is not flushed.
CREATE TABLE flush_marks (
  caller text        PRIMARY KEY,
  at     timestamptz NOT NULL
);
