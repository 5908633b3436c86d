-- Create a ticket from a tenant's report, once per idempotency key.
-- Prepended by append.lua and tickets.lua (keys are listed there).
--
-- KEYS: none (keys derive from the prefix; single-Redis only)
-- ARGV[1]  prefix               key namespace, e.g. "homi:"
-- ARGV[2]  ticket id            fresh, random
-- ARGV[3]  tenant id
-- ARGV[4]  district id          the tenant's home district
-- ARGV[5]  category id
-- ARGV[6]  description          as written
-- ARGV[7]  place                as written ("" when not given)
-- ARGV[8]  preferred times      msgpack array of strings
-- ARGV[9]  idempotency key      "" for none
-- ARGV[10] idempotency ttl ms
-- ARGV[11] fingerprint          digest of the report, to spot a reused key
-- ARGV[12] stream max length
-- ARGV[13] stream max age ms
--
-- Returns {"created", id}; {"existing", id} for a retry with the same key and
-- report; {"mismatch", id} for the same key with another report; {"taken", id}
-- when the random id exists already (the caller draws another).

local prefix, id, tenant, district = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = ticket_key(prefix, id)

local claim = nil
if ARGV[9] ~= "" then
  claim = prefix .. "tickets:idempotency:" .. tenant .. ":" .. ARGV[9]
  local held = redis.call("HMGET", claim, "ticket", "fingerprint")
  if held[1] then
    if held[2] ~= ARGV[11] then return {"mismatch", held[1]} end
    return {"existing", held[1]}
  end
end
if redis.call("EXISTS", key) == 1 then return {"taken", id} end

if claim then
  redis.call("HSET", claim, "ticket", id, "fingerprint", ARGV[11])
  redis.call("PEXPIRE", claim, tonumber(ARGV[10]))
end

local at = now_ms()
local number = redis.call("INCR", prefix .. "tickets:seq")
redis.call("HSET", key,
  "id", id, "number", number, "status", "submitted", "version", 1,
  "category", ARGV[5], "district", district, "tenant", tenant,
  "assignee", "", "severity", "", "planned_for", "", "place", ARGV[7],
  "created_at", at, "updated_at", at,
  "description", ARGV[6], "preferred_times", ARGV[8])

redis.call("ZADD", prefix .. "tickets:all", number, id)
redis.call("ZADD", prefix .. "tickets:by-tenant:" .. tenant, number, id)
redis.call("ZADD", prefix .. "tickets:by-district:" .. district, number, id)
redis.call("SADD", prefix .. "tickets:districts", district)
enter_status(prefix, id, district, "submitted", number)

local entry = pack_entry({version = 1, action = "report", from = nil, to = "submitted",
  by_id = tenant, by_role = "tenant", at = at})
redis.call("RPUSH", key .. ":timeline", entry)

local data = event_data(pack_summary(prefix, id), entry)
fan_out(prefix, ticket_topics(id, tenant, district, {}), "created", data, at,
  tonumber(ARGV[12]), tonumber(ARGV[13]))
return {"created", id}
