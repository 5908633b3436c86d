-- Record how far one participant has read a ticket's conversation.
-- Prepended by append.lua and tickets.lua; conversation keys are listed in
-- message.lua. A marker only moves forward, so a late or repeated "read"
-- from an older screen cannot move it back.
--
-- KEYS: none (keys derive from the prefix; single-Redis only)
-- ARGV[1] prefix
-- ARGV[2] ticket id
-- ARGV[3] reader                 "<role>:<user id>"
-- ARGV[4] message id             the newest message the reader has seen
-- ARGV[5] is agent               "1" to note that customer service is here
--
-- Returns {"ok", marker, moved (1 or 0), at}; {"missing"}.

local prefix, id, reader = ARGV[1], ARGV[2], ARGV[3]
local key = ticket_key(prefix, id)
if redis.call("EXISTS", key) == 0 then return {"missing"} end

local at = now_ms()
local count = redis.call("LLEN", key .. ":messages")
local wanted = math.min(tonumber(ARGV[4]), count)
local marker = tonumber(redis.call("HGET", key .. ":read", reader) or "0")
local moved = 0
if wanted > marker then
  marker, moved = wanted, 1
  redis.call("HSET", key .. ":read", reader, marker)
end
if ARGV[5] == "1" then redis.call("HSET", key .. ":attention", "agent_at", at) end
return {"ok", marker, moved, at}
