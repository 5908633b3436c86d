-- Hide a question or answer that breaks the house rules, or show it again.
--
-- KEYS: none (see faq.lua)
-- ARGV[1]  prefix
-- ARGV[2]  question id
-- ARGV[3]  answer id          "" to hide or show the question itself
-- ARGV[4]  "hide" or "show"
-- ARGV[5]  agent id           who decided
-- ARGV[6]  reason             why (kept for agents; "" when showing)
--
-- A hidden question leaves every index tenants read; a hidden answer stops
-- counting and its words stop finding the question (unless other visible
-- texts of the question have them). Doing it twice changes nothing.
--
-- Returns {"ok"}, {"unchanged"}, or {"missing"}.

local prefix, q, a, verb = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = prefix .. "faq:question:" .. q
local head = redis.call("HMGET", key, "number", "hidden", "answers")
if not head[1] then return {"missing"} end
local number, visible = tonumber(head[1]), head[2] == "0"
local hide = verb == "hide"
local at = now_ms()

local function mark(target)
  if hide then
    redis.call("HSET", target, "hidden", 1, "hidden_by", ARGV[5],
      "hidden_at", at, "hidden_reason", ARGV[6])
  else
    redis.call("HSET", target, "hidden", 0)
    redis.call("HDEL", target, "hidden_by", "hidden_at", "hidden_reason")
  end
end

if a == "" then
  if visible ~= hide then return {"unchanged"} end
  mark(key)
  list_question(prefix, q, number, tonumber(head[3]), not hide)
  return {"ok"}
end

local answer_key = prefix .. "faq:answer:" .. a
local answer = redis.call("HMGET", answer_key, "question", "hidden", "terms")
if answer[1] ~= q then return {"missing"} end
if (answer[2] == "1") == hide then return {"unchanged"} end

mark(answer_key)
local delta = hide and -1 or 1
local answers = redis.call("HINCRBY", key, "answers", delta)
if visible then
  redis.call("ZADD", prefix .. "faq:answered", answered_score(answers, number), q)
end
count_terms(prefix, q, number, visible, split(answer[3]), delta)
return {"ok"}
