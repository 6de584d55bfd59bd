-- count-events (bench report): the events stored, in every space: one dedupe claim each (message_ids).
-- params: none
-- returns: events (float8)
SELECT count(*)::float8 AS events FROM message_ids
