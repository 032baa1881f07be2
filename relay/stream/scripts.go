package stream

import "github.com/redis/go-redis/v9"

// Redis scripts of the reply lifecycle. Keys one script touches share a hash
// tag: conv:{id}:active with conv:{id}:queue, stream:{id} with its :meta.

// enqueueScript appends replies to the conversation's queue and, when no
// reply is active, makes the queue's head active. It returns the id that
// became active ("" for none) and then, for each reply given, its 0-based
// queue position (-1 when it is not waiting, i.e. it became active). A hold
// (holdScript's token) is released first when the active mark still is it.
//
// KEYS: active, queue. ARGV: active TTL (ms), hold token or "", reply ids...
var enqueueScript = redis.NewScript(`
if ARGV[2] ~= '' and redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('DEL', KEYS[1]) end
for i = 3, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
local started = ''
if redis.call('EXISTS', KEYS[1]) == 0 then
  local id = redis.call('LPOP', KEYS[2])
  if id then
    redis.call('SET', KEYS[1], id, 'PX', ARGV[1])
    started = id
  end
end
local out = {started}
for i = 3, #ARGV do
  local pos = redis.call('LPOS', KEYS[2], ARGV[i])
  if not pos then pos = -1 end
  out[#out + 1] = pos
end
return out
`)

// holdScript takes an idle conversation's active mark for a send that is
// about to be stored (turn policy reject): nothing active and nothing
// queued, else 0. The mark holds the token until enqueueScript replaces it
// with the send's reply, or releaseScript drops it.
// KEYS: active, queue. ARGV: token, active TTL (ms).
var holdScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('LLEN', KEYS[2]) > 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// interruptScript empties the queue, queues the new replies instead and,
// when nothing is active, makes the first of them active (turn policy
// interrupt). It returns the id that became active ("" for none), the
// active reply to end ("" for none) and the replies dropped from the queue.
// KEYS: active, queue. ARGV: active TTL (ms), reply ids...
var interruptScript = redis.NewScript(`
local dropped = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
for i = 2, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
local active = redis.call('GET', KEYS[1])
local started = ''
if not active then
  active = ''
  local id = redis.call('LPOP', KEYS[2])
  if id then
    redis.call('SET', KEYS[1], id, 'PX', ARGV[1])
    started = id
  end
end
return {started, active, dropped}
`)

// advanceScript makes the queue's head active when nothing is.
// KEYS: active, queue. ARGV: active TTL (ms).
var advanceScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local id = redis.call('LPOP', KEYS[2])
if not id then return false end
redis.call('SET', KEYS[1], id, 'PX', ARGV[1])
return id
`)

// releaseScript clears the active mark if it is still this reply's.
// KEYS: active. ARGV: reply id.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// refreshScript extends the active mark if it is still this reply's; 0 tells
// the driver the reply has ended (or was taken over) and needs no more care.
// KEYS: active. ARGV: reply id, TTL (ms).
var refreshScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// chunkScript appends a delta to the buffer unless the reply has ended and,
// when given the time, notes the activity for the silence timeouts and
// refreshes the TTLs (the caller gives it a few times a second at most: it
// costs more than the append). It returns the buffer's new length in bytes
// (the delta's offset is that minus its length), or -1.
// KEYS: stream, meta. ARGV: delta, now (ms) or "", TTL (s).
var chunkScript = redis.NewScript(`
if redis.call('HGET', KEYS[2], 'ended') ~= '0' then return -1 end
local n = redis.call('APPEND', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], 'last', ARGV[2], 'first', '1')
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return n
`)

// endScript closes the buffer to further chunks and returns its text; after
// it, chunkScript refuses, so the text returned is final. It also returns the
// end recorded by recordEndScript (status, code, message; "" for none), which
// then keeps its longer TTL, and the channel of a channel reply ("" for a
// conversation's).
// KEYS: stream, meta. ARGV: TTL (s).
var endScript = redis.NewScript(`
redis.call('HSET', KEYS[2], 'ended', '1')
local f = redis.call('HMGET', KEYS[2], 'final', 'finalCode', 'finalMessage', 'channel')
if not f[1] then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
local t = redis.call('GET', KEYS[1])
if not t then t = '' end
return {t, f[1] or '', f[2] or '', f[3] or '', f[4] or ''}
`)

// recordEndScript records the end a reply was given while Postgres was
// unreachable, with its text as the buffer, both kept for TTL; 0 when an end
// was recorded already (another instance announced it).
// KEYS: stream, meta. ARGV: status, code, message, text, TTL (s).
var recordEndScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[2], 'final', ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'finalCode', ARGV[2], 'finalMessage', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[5])
return 1
`)

// statusScript records an agent's status for a reply in its meta and notes
// the activity for the silence timeouts (sweep.go), unless the reply has
// ended; 0 then.
// KEYS: meta. ARGV: state, label, now (ms).
var statusScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'ended') ~= '0' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'label', ARGV[2], 'last', ARGV[3])
return 1
`)

// usersScript replaces a streaming reply's recipients in its meta, unless
// the meta has expired (an HSET would bring it back without a TTL).
// KEYS: meta. ARGV: users (comma-separated).
var usersScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'users', ARGV[1]) end
return 0
`)

// takePendingScript removes and returns a user's pending events (newest
// first, as LPUSH left them) and whether some were dropped.
// KEYS: pending, dropped.
var takePendingScript = redis.NewScript(`
local items = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
local dropped = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
if dropped then dropped = 1 else dropped = 0 end
return {items, dropped}
`)

// resumeScript restarts the silence clock of a reply whose agent has just
// been given the answer it waited for (first-chunk and idle alike), unless
// the reply has ended.
// KEYS: meta. ARGV: now (ms).
var resumeScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'ended') == '0' then
  redis.call('HSET', KEYS[1], 'last', ARGV[1], 'dispatched', ARGV[1])
end
return 0
`)

// holdMarkScript keeps a waiting reply's active mark: refreshed while it is
// the reply's, taken again when it lapsed; a mark of another reply is left.
// KEYS: active. ARGV: reply id, TTL (ms).
var holdMarkScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// keepBufferScript extends a waiting reply's buffer and meta, which would
// otherwise expire during a long wait, unless the reply has ended.
// KEYS: stream, meta. ARGV: TTL (s).
var keepBufferScript = redis.NewScript(`
if redis.call('HGET', KEYS[2], 'ended') ~= '0' then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1])
else redis.call('SET', KEYS[1], '', 'EX', ARGV[1]) end
return 1
`)
