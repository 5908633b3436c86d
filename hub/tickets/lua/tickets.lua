-- Library: ticket keys, indexes, counts, and events packed with explicit nulls.
--
-- Not a script on its own: hub.tickets.store puts this text (after the events
-- library, hub/channels/lua/append.lua) in front of create.lua and
-- transition.lua. KEYS: none; every key derives from the prefix, so these
-- scripts run on one Redis (standalone or Sentinel), see docs/architecture.md.
--
-- Keys with prefix P, ticket T, district D, status S, tenant N:
--   P ticket:T                        hash: the ticket (fields: SUMMARY below,
--                                     description, preferred_times (msgpack))
--   P ticket:T:timeline               list of msgpack transition entries, oldest first
--   P tickets:seq                     counter: the ticket number, and index score
--   P tickets:all                     zset T by number
--   P tickets:by-tenant:N             zset T by number
--   P tickets:by-district:D           zset T by number
--   P tickets:by-status:S             zset T by number
--   P tickets:by-district-status:D:S  zset T by number
--   P tickets:counts:D                hash S -> number of tickets in S
--   P tickets:districts               set of districts that have tickets
--   P tickets:due:accept              zset T by accept deadline (ms), while assigned
--   P tickets:due:resolve             zset T by resolve deadline (ms), while open and
--                                     triaged
--   P tickets:idempotency:N:K         hash ticket, fingerprint; expires

local NIL = "\192"

local SUMMARY = {"id", "number", "status", "version", "category", "district",
  "tenant", "assignee", "severity", "planned_for", "place", "created_at",
  "updated_at"}
local INTEGER = {number = true, version = true, created_at = true, updated_at = true}
local OPTIONAL = {assignee = true, severity = true, planned_for = true}

local AWAITING_ACCEPTANCE = {assigned = true}
local AWAITING_RESOLUTION = {assigned = true, accepted = true, in_progress = true}

local function now_ms()
  local clock = redis.call("TIME")
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end

-- cmsgpack drops nil table values; the wire contract wants explicit nulls, so
-- maps are packed by hand from {name, packed value} pairs.
local function packed(value)
  if value == nil or value == false or value == "" then return NIL end
  return cmsgpack.pack(value)
end

local function pack_map(pairs_)
  local n = #pairs_
  local parts = {}
  if n < 16 then
    parts[1] = string.char(0x80 + n)
  else
    parts[1] = "\222" .. string.char(math.floor(n / 256), n % 256)
  end
  for _, pair in ipairs(pairs_) do
    parts[#parts + 1] = cmsgpack.pack(pair[1])
    parts[#parts + 1] = pair[2]
  end
  return table.concat(parts)
end

local function ticket_key(prefix, id)
  return prefix .. "ticket:" .. id
end

local function pack_summary(prefix, id)
  local values = redis.call("HMGET", ticket_key(prefix, id), unpack(SUMMARY))
  local pairs_ = {}
  for i, name in ipairs(SUMMARY) do
    local value = values[i]
    local blob
    if INTEGER[name] then
      blob = cmsgpack.pack(tonumber(value) or 0)
    elseif OPTIONAL[name] then
      blob = packed(value)
    else
      blob = cmsgpack.pack(value or "")
    end
    pairs_[i] = {name, blob}
  end
  return pack_map(pairs_)
end

-- One timeline entry: what changed, who did it and when.
local function pack_entry(e)
  return pack_map({
    {"version", cmsgpack.pack(e.version)},
    {"action", cmsgpack.pack(e.action)},
    {"from", packed(e.from)},
    {"to", cmsgpack.pack(e.to)},
    {"by", pack_map({{"id", cmsgpack.pack(e.by_id)}, {"role", cmsgpack.pack(e.by_role)}})},
    {"at", cmsgpack.pack(e.at)},
    {"note", packed(e.note)},
    {"planned_for", packed(e.planned_for)},
    {"severity", packed(e.severity)},
  })
end

local function event_data(summary_blob, entry_blob)
  return pack_map({{"ticket", summary_blob}, {"transition", entry_blob}})
end

-- Move ticket `id` (number `score`) between the status indexes and counts.
local function leave_status(prefix, id, district, status)
  redis.call("ZREM", prefix .. "tickets:by-status:" .. status, id)
  redis.call("ZREM", prefix .. "tickets:by-district-status:" .. district .. ":" .. status, id)
  redis.call("HINCRBY", prefix .. "tickets:counts:" .. district, status, -1)
end

local function enter_status(prefix, id, district, status, score)
  redis.call("ZADD", prefix .. "tickets:by-status:" .. status, score, id)
  redis.call("ZADD", prefix .. "tickets:by-district-status:" .. district .. ":" .. status,
    score, id)
  redis.call("HINCRBY", prefix .. "tickets:counts:" .. district, status, 1)
end

-- Keep the overdue indexes in step with the status; deadlines come from the
-- caller ("" when the ticket has none, i.e. before triage).
local function set_deadlines(prefix, id, status, accept_by, resolve_by)
  local accept_key = prefix .. "tickets:due:accept"
  local resolve_key = prefix .. "tickets:due:resolve"
  if AWAITING_ACCEPTANCE[status] and accept_by ~= "" then
    redis.call("ZADD", accept_key, accept_by, id)
  else
    redis.call("ZREM", accept_key, id)
  end
  if AWAITING_RESOLUTION[status] and resolve_by ~= "" then
    redis.call("ZADD", resolve_key, resolve_by, id)
  else
    redis.call("ZREM", resolve_key, id)
  end
end

-- Append one event to every topic of the ticket, each topic once.
local function fan_out(prefix, topics, kind, blob, at, maxlen, max_age_ms)
  local seen = {}
  for _, topic in ipairs(topics) do
    if not seen[topic] then
      seen[topic] = true
      append_event(prefix, topic, kind, blob, at, maxlen, max_age_ms)
    end
  end
end

local function ticket_topics(id, tenant, district, assignees)
  local topics = {"tickets:mine#" .. tenant}
  for _, assignee in ipairs(assignees) do
    if assignee and assignee ~= "" then
      topics[#topics + 1] = "tickets:mine#" .. assignee
    end
  end
  topics[#topics + 1] = "tickets:district:" .. district
  topics[#topics + 1] = "dashboard"
  topics[#topics + 1] = "ticket:" .. id
  return topics
end
