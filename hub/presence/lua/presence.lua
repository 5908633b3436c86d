-- Presence operations, one atomic step each. Prepended by the events library
-- (hub/channels/lua/append.lua) for publish_event().
--
-- KEYS: none (keys derive from the prefix; single-Redis only, see docs/architecture.md)
-- ARGV[1] prefix          key namespace, e.g. "homi:"
-- ARGV[2] operation       "set" | "location" | "touch" | "leave" | "sweep"
-- ARGV[3] caretaker id    ("" for sweep)
-- ARGV[4] timeout ms      presence timeout
-- ARGV[5..] per operation:
--   set:      districts (comma-separated), on_duty "1"/"0", status, activity,
--             ticket_id, connection id
--   location: public blob, staff blob, location max age ms
--   touch:    connection id
--   leave:    connection id
--   sweep:    batch size
--
-- Keys per caretaker C with prefix P:
--   P presence:C        hash: online, on_duty, status, activity, ticket_id,
--                       since (ms), districts, conn
--   P location:C        hash: public, staff (msgpack blobs); expires
--   P presence:deadlines  zset: C scored by the ms at which C goes offline
--   P presence:seq        hash: district -> last event id on its topics
--
-- Returns: set -> "ok"; location -> "ok" | "off_duty"; touch -> "ok" | "gone";
-- leave -> "ok" | "stale"; sweep -> number of caretakers taken offline.

local prefix, op, caretaker = ARGV[1], ARGV[2], ARGV[3]
local timeout_ms = tonumber(ARGV[4])
local clock = redis.call("TIME")
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local deadlines = prefix .. "presence:deadlines"

local function split(text)
  local items = {}
  for item in string.gmatch(text or "", "[^,]+") do items[#items + 1] = item end
  return items
end

local function publish_to_districts(districts, kind, public_blob, staff_blob)
  for _, district in ipairs(districts) do
    local id = redis.call("HINCRBY", prefix .. "presence:seq", district, 1) .. "-0"
    publish_event(prefix, "district:" .. district .. "#public", id, kind, public_blob)
    publish_event(prefix, "district:" .. district .. "#staff", id, kind, staff_blob)
  end
end

local function state_blob(key)
  local f = redis.call("HMGET", key, "online", "on_duty", "status", "activity",
    "ticket_id", "since")
  return cmsgpack.pack({
    caretaker_id = caretaker, online = f[1] == "1", on_duty = f[2] == "1",
    status = f[3] or "offline", activity = f[4] or "",
    ticket_id = f[5] or "", since = tonumber(f[6] or "0")})
end

local function go_offline(id, key)
  -- Caller has checked that id is still present; state and location go together.
  caretaker = id
  local districts = split(redis.call("HGET", key, "districts"))
  redis.call("ZREM", deadlines, id)
  redis.call("DEL", prefix .. "location:" .. id)
  redis.call("HSET", key, "online", "0", "on_duty", "0", "status", "offline",
    "activity", "", "ticket_id", "", "since", now_ms, "conn", "")
  redis.call("PEXPIRE", key, timeout_ms * 4)
  local blob = state_blob(key)
  publish_to_districts(districts, "presence", blob, blob)
end

local key = prefix .. "presence:" .. caretaker

if op == "set" then
  local districts, on_duty, status = ARGV[5], ARGV[6], ARGV[7]
  local old = redis.call("HMGET", key, "online", "on_duty", "status")
  local since = now_ms
  if old[1] == "1" and old[2] == on_duty and old[3] == status then
    since = redis.call("HGET", key, "since")
  end
  redis.call("HSET", key, "online", "1", "on_duty", on_duty, "status", status,
    "activity", ARGV[8], "ticket_id", ARGV[9], "conn", ARGV[10],
    "districts", districts, "since", since)
  redis.call("PEXPIRE", key, timeout_ms * 4)
  redis.call("ZADD", deadlines, now_ms + timeout_ms, caretaker)
  if on_duty ~= "1" then
    redis.call("DEL", prefix .. "location:" .. caretaker)
  end
  local blob = state_blob(key)
  publish_to_districts(split(districts), "presence", blob, blob)
  return "ok"

elseif op == "location" then
  if redis.call("HGET", key, "on_duty") ~= "1" or redis.call("HGET", key, "online") ~= "1" then
    return "off_duty"
  end
  local location = prefix .. "location:" .. caretaker
  redis.call("HSET", location, "public", ARGV[5], "staff", ARGV[6])
  redis.call("PEXPIRE", location, tonumber(ARGV[7]))
  redis.call("ZADD", deadlines, now_ms + timeout_ms, caretaker)
  publish_to_districts(split(redis.call("HGET", key, "districts")), "location",
    ARGV[5], ARGV[6])
  return "ok"

elseif op == "touch" then
  -- A heartbeat from the connection that holds the presence.
  if redis.call("HGET", key, "conn") ~= ARGV[5] or redis.call("ZSCORE", deadlines, caretaker) == false then
    return "gone"
  end
  redis.call("ZADD", deadlines, now_ms + timeout_ms, caretaker)
  redis.call("PEXPIRE", key, timeout_ms * 4)
  return "ok"

elseif op == "leave" then
  -- Only the connection that holds the presence may take it offline: a
  -- phone that already reconnected elsewhere must not be shown offline.
  if redis.call("HGET", key, "conn") ~= ARGV[5] or redis.call("ZSCORE", deadlines, caretaker) == false then
    return "stale"
  end
  go_offline(caretaker, key)
  return "ok"

elseif op == "sweep" then
  local due = redis.call("ZRANGEBYSCORE", deadlines, "-inf", now_ms, "LIMIT", 0, tonumber(ARGV[5]))
  for _, id in ipairs(due) do
    go_offline(id, prefix .. "presence:" .. id)
  end
  return #due
end

return redis.error_reply("unknown presence operation " .. tostring(op))
