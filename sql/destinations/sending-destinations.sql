-- sending-destinations: every destination of every space, with what the worker needs to fill and sign.
-- params: none
-- returns: id, space, url, secret (encrypted)
SELECT id, space, url, secret FROM destinations ORDER BY id
