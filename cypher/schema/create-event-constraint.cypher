// Migration: deduplication by messageId per space, for as long as the event is kept (SEMANTICS.md §1).
CREATE CONSTRAINT event_message_id IF NOT EXISTS FOR (e:Event) REQUIRE (e.space, e.messageId) IS UNIQUE
