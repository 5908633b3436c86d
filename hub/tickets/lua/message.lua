-- Post one message on a ticket's conversation: check, store, append events.
-- Prepended by append.lua and tickets.lua (ticket keys are listed there).
--
-- Conversation keys, with prefix P, ticket T and photo F:
--   P ticket:T:messages       list of msgpack messages, oldest first; a
--                             message's id is its place in the list, from 1
--   P ticket:T:read           hash "<role>:<user id>" -> last message id read
--   P ticket:T:attention      hash agent_at -> ms an agent last wrote or read
--   P tickets:awaiting-reply  zset T by ms of the tenant's oldest unanswered
--                             message
--   P photo:F                 hash ticket, by, width, height, at, message
--                             ("" until a message carries the photo)
--
-- The message is appended as event "message" to ticket:T, the one timeline
-- that transitions use too; a hint without the text ("message_hint") goes to
-- the tenant's and the assignee's tickets:mine and to the dashboard.
--
-- KEYS: none (keys derive from the prefix; single-Redis only)
-- ARGV[1]  prefix
-- ARGV[2]  ticket id
-- ARGV[3]  author id
-- ARGV[4]  author role             tenant | caretaker | agent
-- ARGV[5]  author name
-- ARGV[6]  text                    as written ("" only with photos)
-- ARGV[7]  photo ids               msgpack array of strings
-- ARGV[8]  must be assignee        "1": refuse unless the author is the assignee
-- ARGV[9]  stream max length
-- ARGV[10] stream max age ms
--
-- Returns {"ok", message (msgpack)}; {"missing"}; {"closed", status};
-- {"not_assignee"}; {"photo", photo id} for a photo that is not the author's
-- unattached upload on this ticket.

local FINAL = {closed = true, cancelled = true}

local prefix, id, author, role = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = ticket_key(prefix, id)

local current = redis.call("HMGET", key, "status", "tenant", "assignee")
local status, tenant, assignee = current[1], current[2], current[3] or ""
if not status then return {"missing"} end
if FINAL[status] then return {"closed", status} end
if ARGV[8] == "1" and assignee ~= author then return {"not_assignee"} end

-- Check every photo before changing anything: all attach, or none.
local photo_ids = cmsgpack.unpack(ARGV[7])
-- A fixarray holds up to 15; the service allows far fewer.
if #photo_ids > 15 then return redis.error_reply("at most 15 photos per message") end
local photos = {}
for i, photo_id in ipairs(photo_ids) do
  local photo = redis.call("HMGET", prefix .. "photo:" .. photo_id,
    "ticket", "by", "message", "width", "height")
  if photo[1] ~= id or photo[2] ~= author or photo[3] ~= "" then
    return {"photo", photo_id}
  end
  local url = "/api/photos/" .. photo_id
  photos[i] = pack_map({
    {"id", cmsgpack.pack(photo_id)},
    {"width", cmsgpack.pack(tonumber(photo[4]))},
    {"height", cmsgpack.pack(tonumber(photo[5]))},
    {"url", cmsgpack.pack(url)},
    {"thumb_url", cmsgpack.pack(url .. "?size=thumb")},
  })
end

local at = now_ms()
local messages = key .. ":messages"
local number = redis.call("LLEN", messages) + 1
for _, photo_id in ipairs(photo_ids) do
  redis.call("HSET", prefix .. "photo:" .. photo_id, "message", number)
end

local photo_list = string.char(0x90 + #photos) .. table.concat(photos)
local by = pack_map({{"id", cmsgpack.pack(author)}, {"role", cmsgpack.pack(role)},
  {"name", cmsgpack.pack(ARGV[5])}})
local message = pack_map({
  {"id", cmsgpack.pack(number)},
  {"ticket_id", cmsgpack.pack(id)},
  {"by", by},
  {"at", cmsgpack.pack(at)},
  {"text", cmsgpack.pack(ARGV[6])},
  {"photos", photo_list},
})
redis.call("RPUSH", messages, message)

-- Waiting for a reply: from the tenant's first unanswered message until
-- someone on the hub's side writes back.
local waiting = prefix .. "tickets:awaiting-reply"
if role == "tenant" then
  redis.call("ZADD", waiting, "NX", at, id)
else
  redis.call("ZREM", waiting, id)
end
if role == "agent" then redis.call("HSET", key .. ":attention", "agent_at", at) end
local since = redis.call("ZSCORE", waiting, id)

local maxlen, max_age = tonumber(ARGV[9]), tonumber(ARGV[10])
append_event(prefix, "ticket:" .. id, "message", message, at, maxlen, max_age)

local hint = pack_map({
  {"ticket_id", cmsgpack.pack(id)},
  {"message_id", cmsgpack.pack(number)},
  {"by", pack_map({{"id", cmsgpack.pack(author)}, {"role", cmsgpack.pack(role)}})},
  {"at", cmsgpack.pack(at)},
  {"awaiting_reply_since", packed(since and tonumber(since))},
})
local topics = {"tickets:mine#" .. tenant}
if assignee ~= "" then topics[#topics + 1] = "tickets:mine#" .. assignee end
topics[#topics + 1] = "dashboard"
fan_out(prefix, topics, "message_hint", hint, at, maxlen, max_age)
return {"ok", message}
