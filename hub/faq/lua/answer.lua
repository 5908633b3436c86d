-- Add an answer to a question and index its words under the question.
--
-- KEYS: none (see faq.lua)
-- ARGV[1]  prefix
-- ARGV[2]  question id
-- ARGV[3]  answer id          fresh, random
-- ARGV[4]  body               as written
-- ARGV[5]  author id
-- ARGV[6]  author name
-- ARGV[7]  author role
-- ARGV[8]  author district id ("" for staff)
-- ARGV[9]  author district name
-- ARGV[10] terms              space-separated search terms of the body
-- ARGV[11] most answers       a question takes no more than this many
-- ARGV[12] "1" if the author may answer a hidden question (an agent)
--
-- Returns {"created", created_at}; {"missing"} for no such (visible)
-- question; {"full"} at the answer limit; {"taken"} for an id in use.

local prefix, q, a = ARGV[1], ARGV[2], ARGV[3]
local key = prefix .. "faq:question:" .. q
local head = redis.call("HMGET", key, "number", "hidden", "answers")
if not head[1] then return {"missing"} end
local visible = head[2] == "0"
if not visible and ARGV[12] ~= "1" then return {"missing"} end
local list = key .. ":answers"
if redis.call("LLEN", list) >= tonumber(ARGV[11]) then return {"full"} end
local answer_key = prefix .. "faq:answer:" .. a
if redis.call("EXISTS", answer_key) == 1 then return {"taken"} end

local at = now_ms()
redis.call("HSET", answer_key,
  "id", a, "question", q, "body", ARGV[4],
  "author", ARGV[5], "author_name", ARGV[6], "author_role", ARGV[7],
  "author_district", ARGV[8], "author_district_name", ARGV[9],
  "created_at", at, "hidden", 0, "terms", ARGV[10])
redis.call("RPUSH", list, a)

local number = tonumber(head[1])
local answers = redis.call("HINCRBY", key, "answers", 1)
if visible then
  redis.call("ZADD", prefix .. "faq:answered", answered_score(answers, number), q)
end
count_terms(prefix, q, number, visible, split(ARGV[10]), 1)
return {"created", at}
