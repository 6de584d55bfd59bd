// record-batch: marks a batch's identity effect as written, with the effect itself, in the transaction
// that writes it; the marker's constraint makes a second writer fail, and the event store copies the
// effect from here when a crash came between the two stores (docs/adr/0018-event-store.md). Markers are
// removed once the event store holds the effect (sweep-batches).
// params: $batchId, $space, $now (ISO-8601), $effect (JSON text)
// returns: id
CREATE (b:AppliedBatch {id: $batchId, space: $space, at: datetime($now), effect: $effect})
RETURN b.id AS id
