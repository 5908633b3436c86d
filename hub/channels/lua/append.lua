-- Library: publish a live event; append one to a durable topic, trim, publish.
--
-- Not a script on its own: hub.channels.streams.script_with_library() puts this
-- text in front of a script that calls publish_event() or append_event(). Keys are built from a
-- prefix rather than passed in KEYS, so scripts using it run on one Redis
-- (standalone or Sentinel) but not on Redis Cluster; see docs/architecture.md.
--
-- Per topic T with key prefix P:
--   P .. "stream:" .. T     the stream; entries have fields k (kind), d (msgpack data)
--   P .. "trimmed:" .. T    id of the newest entry ever trimmed away ("0-0" if none)
--   P .. "pub:" .. T        the pub/sub channel live events go to
--
-- Trimming: at most `maxlen` entries and nothing older than `max_age_ms`.
-- Whatever is cut is recorded in the trimmed key, so a reader can tell a
-- resume position that lost history (reset) from one that did not.

local function _position_after(id)
  local ms, seq = string.match(id, "^(%d+)-(%d+)$")
  return ms .. "-" .. (tonumber(seq) + 1)
end

-- Publish a live event {topic, id, kind, data} on topic T, msgpack-encoded by
-- concatenation so that data_blob (already msgpack) is never decoded here.
local function publish_event(prefix, topic, id, kind, data_blob)
  local message = "\132"
    .. cmsgpack.pack("topic") .. cmsgpack.pack(topic)
    .. cmsgpack.pack("id") .. cmsgpack.pack(id)
    .. cmsgpack.pack("kind") .. cmsgpack.pack(kind)
    .. cmsgpack.pack("data") .. data_blob
  redis.call("PUBLISH", prefix .. "pub:" .. topic, message)
end

local function append_event(prefix, topic, kind, data_blob, now_ms, maxlen, max_age_ms)
  local stream = prefix .. "stream:" .. topic
  local trimmed = prefix .. "trimmed:" .. topic
  local id = redis.call("XADD", stream, "*", "k", kind, "d", data_blob)

  -- Both rules cut a run of the oldest entries; keep the longer cut.
  local cut = nil
  local cut_count = 0
  local length = redis.call("XLEN", stream)
  if length > maxlen then
    local old = redis.call("XRANGE", stream, "-", "+", "COUNT", length - maxlen)
    cut, cut_count = old[#old][1], #old
  end
  local oldest_kept = (now_ms - max_age_ms) .. "-0"
  local aged = redis.call("XRANGE", stream, "-", "(" .. oldest_kept, "COUNT", 1000)
  if #aged > cut_count then
    cut = aged[#aged][1]
  end
  if cut ~= nil then
    redis.call("XTRIM", stream, "MINID", _position_after(cut))
    redis.call("SET", trimmed, cut)
  end
  -- A topic nobody writes to for max_age disappears, history and marker alike;
  -- a reader then finds its position beyond the (empty) stream and resets.
  redis.call("PEXPIRE", stream, max_age_ms)
  redis.call("PEXPIRE", trimmed, max_age_ms)

  publish_event(prefix, topic, id, kind, data_blob)
  return id
end
