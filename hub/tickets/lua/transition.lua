-- Take one lifecycle step: check, update, index, record, append the event.
-- Prepended by append.lua and tickets.lua (keys are listed there).
--
-- The caller has judged the step on the status it read; this script makes
-- that judgement hold by refusing when the status (or, if the client gave
-- one, the version) is no longer what was read. Of two racing steps from the
-- same status one wins and the other gets "status": one event, never two.
--
-- KEYS: none (keys derive from the prefix; single-Redis only)
-- ARGV[1]  prefix              key namespace, e.g. "homi:"
-- ARGV[2]  ticket id
-- ARGV[3]  from status         the status the step was judged on
-- ARGV[4]  to status           equal to from for "plan"
-- ARGV[5]  action              e.g. "accept", "plan" (lifecycle.Action)
-- ARGV[6]  actor id
-- ARGV[7]  actor role
-- ARGV[8]  note                "" for none
-- ARGV[9]  planned_for mode    "keep" | "set" ("set" with "" clears it)
-- ARGV[10] planned_for         UTC ISO 8601, or ""
-- ARGV[11] severity            "" keeps the current one
-- ARGV[12] expected version    "" when the client gave none
-- ARGV[13] assignee            "" keeps the current one
-- ARGV[14] accept deadline ms  "" for none
-- ARGV[15] resolve deadline ms "" for none
-- ARGV[16] stream max length
-- ARGV[17] stream max age ms
--
-- Returns {"ok", event data (msgpack {ticket, transition})};
-- {"missing"}; {"status", current status, version};
-- {"version", current status, version}.

local prefix, id, source, target = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = ticket_key(prefix, id)

local current = redis.call("HMGET", key, "status", "version", "tenant", "district",
  "assignee", "number")
local status, version = current[1], tonumber(current[2])
if not status then return {"missing"} end
if status ~= source then return {"status", status, version} end
if ARGV[12] ~= "" and tonumber(ARGV[12]) ~= version then
  return {"version", status, version}
end

local tenant, district, old_assignee, number = current[3], current[4], current[5], current[6]
local at = now_ms()
version = version + 1

redis.call("HSET", key, "status", target, "version", version, "updated_at", at)
if ARGV[11] ~= "" then redis.call("HSET", key, "severity", ARGV[11]) end
if ARGV[9] == "set" then redis.call("HSET", key, "planned_for", ARGV[10]) end
local assignee = old_assignee
if ARGV[13] ~= "" then
  assignee = ARGV[13]
  redis.call("HSET", key, "assignee", assignee)
end

if source ~= target then
  leave_status(prefix, id, district, source)
  enter_status(prefix, id, district, target, number)
end
set_deadlines(prefix, id, target, ARGV[14], ARGV[15])

-- The entry records what this step set; the summary carries the current plan.
local planned_for = nil
if ARGV[9] == "set" then planned_for = ARGV[10] end
local entry = pack_entry({version = version, action = ARGV[5], from = source,
  to = target, by_id = ARGV[6], by_role = ARGV[7], at = at, note = ARGV[8],
  planned_for = planned_for, severity = ARGV[11]})
redis.call("RPUSH", key .. ":timeline", entry)

local data = event_data(pack_summary(prefix, id), entry)
fan_out(prefix, ticket_topics(id, tenant, district, {assignee, old_assignee}),
  "transition", data, at, tonumber(ARGV[16]), tonumber(ARGV[17]))
return {"ok", data}
