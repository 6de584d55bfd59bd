// Migration: a batch's identity effect is written once (docs/adr/0018-event-store.md): a second writer of
// the same batch (a resend or the recovery pass racing the first) fails on this constraint and reads the
// first one's effect instead.
CREATE CONSTRAINT applied_batch_id IF NOT EXISTS FOR (b:AppliedBatch) REQUIRE b.id IS UNIQUE
