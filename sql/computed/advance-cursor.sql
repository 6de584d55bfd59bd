-- advance-cursor: moves a consumer past the change-log rows it has handled, in the transaction that
-- recorded their effect.
-- params: $1 consumer, $2 txid (text), $3 position (text)
-- returns: nothing
UPDATE consumer_cursors SET txid = $2::xid8, position = $3::bigint WHERE consumer = $1
