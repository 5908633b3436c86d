-- Store a new question and index it.
--
-- KEYS: none (see faq.lua)
-- ARGV[1]  prefix
-- ARGV[2]  question id        fresh, random
-- ARGV[3]  title              as written
-- ARGV[4]  body               as written ("" for none)
-- ARGV[5]  author id
-- ARGV[6]  author name        the public (first) name
-- ARGV[7]  author role
-- ARGV[8]  author district id ("" for staff)
-- ARGV[9]  author district name
-- ARGV[10] terms              space-separated search terms of title and body
--
-- Returns {"created", number, created_at}, or {"taken"} when the random id
-- exists already (the caller draws another).

local prefix, q = ARGV[1], ARGV[2]
local key = prefix .. "faq:question:" .. q
if redis.call("EXISTS", key) == 1 then return {"taken"} end

local at = now_ms()
local number = redis.call("INCR", prefix .. "faq:seq")
redis.call("HSET", key,
  "id", q, "number", number, "title", ARGV[3], "body", ARGV[4],
  "author", ARGV[5], "author_name", ARGV[6], "author_role", ARGV[7],
  "author_district", ARGV[8], "author_district_name", ARGV[9],
  "created_at", at, "answers", 0, "hidden", 0, "terms", ARGV[10])

-- Counted only: list_question below puts every term in its index.
count_terms(prefix, q, number, false, split(ARGV[10]), 1)
list_question(prefix, q, number, 0, true)
return {"created", number, at}
