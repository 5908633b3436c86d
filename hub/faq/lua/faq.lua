-- Library: FAQ keys and index upkeep, put in front of every FAQ script.
--
-- Not a script on its own: hub.faq.store prepends this text to ask.lua,
-- answer.lua and visibility.lua. KEYS: none; every key derives from the
-- prefix, so these scripts run on one Redis (standalone or Sentinel).
--
-- Keys with prefix P, question Q, answer A, term W:
--   P faq:seq               counter: the question number, and index score
--   P faq:question:Q        hash: the question (see hub/faq/model.py)
--   P faq:question:Q:answers list of A, oldest first (hidden ones included)
--   P faq:question:Q:terms  hash W -> how many visible texts of Q contain W
--   P faq:answer:A          hash: the answer
--   P faq:newest            zset Q by number, visible questions
--   P faq:answered          zset Q by answers * 2^32 + number, visible questions
--   P faq:hidden            zset Q by number, hidden questions
--   P faq:term:W            zset Q by number, visible questions with W

local ANSWERED_SHIFT = 4294967296

local function now_ms()
  local clock = redis.call("TIME")
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end

-- Scores as whole numbers: tostring() would write 1.7e+13 and lose digits.
local function whole(number)
  return string.format("%.0f", number)
end

local function answered_score(answers, number)
  return whole(answers * ANSWERED_SHIFT + number)
end

local function split(text)
  local found = {}
  for term in string.gmatch(text, "%S+") do found[#found + 1] = term end
  return found
end

-- Count `terms` in (delta 1) or out (delta -1) of question Q's texts; a term
-- that appears or vanishes there joins or leaves its index, when Q is visible.
local function count_terms(prefix, q, number, visible, terms, delta)
  local counts = prefix .. "faq:question:" .. q .. ":terms"
  for _, term in ipairs(terms) do
    local left = redis.call("HINCRBY", counts, term, delta)
    if left <= 0 then
      redis.call("HDEL", counts, term)
      if visible then redis.call("ZREM", prefix .. "faq:term:" .. term, q) end
    elseif left == 1 and delta > 0 and visible then
      redis.call("ZADD", prefix .. "faq:term:" .. term, number, q)
    end
  end
end

-- Put the whole question in (or take it out of) the indexes tenants read.
local function list_question(prefix, q, number, answers, listed)
  local terms = redis.call("HKEYS", prefix .. "faq:question:" .. q .. ":terms")
  if listed then
    redis.call("ZADD", prefix .. "faq:newest", number, q)
    redis.call("ZADD", prefix .. "faq:answered", answered_score(answers, number), q)
    redis.call("ZREM", prefix .. "faq:hidden", q)
    for _, term in ipairs(terms) do
      redis.call("ZADD", prefix .. "faq:term:" .. term, number, q)
    end
  else
    redis.call("ZREM", prefix .. "faq:newest", q)
    redis.call("ZREM", prefix .. "faq:answered", q)
    redis.call("ZADD", prefix .. "faq:hidden", number, q)
    for _, term in ipairs(terms) do
      redis.call("ZREM", prefix .. "faq:term:" .. term, q)
    end
  end
end
