--[[
  settle: the answer to a send admit let through. Its request leaves the unanswered; the account's
  health, its pacer (on a 429) and the failure guard learn what the answer says.

  KEYS
    1 pace      the account's pacer (hash)
    2 starts    the account's recent starts (list)
    3 g         the guard's hash
    4 pt        the guard's unanswered requests, by send time (sorted set)
    5 ps        the same, by seq (sorted set)
    6 f         the guard's failures, by send time (sorted set)
    7 r         the guard's run of failures, by seq (sorted set)
    8 a         the guard's latest answers, newest first (list)
    9 hk        the account's health (hash)
   10 hidx      the suspended accounts (sorted set)

  ARGV
    1 rules              the rules' numbers (JSON; see includes/rules.lua)
    2 result             'success' | 'failure' | 'neutral'
    3 seq                the send's seq, as admit answered
    4 worker             this worker's name in the guard's records
    5 sentAt             the send's time, as admit answered
    6 throttled          '1' for a 429
    7 retryAfterMs       the 429's Retry-After, '' for none
    8 nominalRate        the account's rate, requests a minute
    9 account            the linked account
   10 owner              whose failure it is: 'row' | 'account' | 'transient' | ''
   11 detail             the failure, as reports name it ("403 Forbidden")
   12 probe              '1': a suspended account's probe
   13 established        '1': the account had succeeded before the send
   14 suspendAfter       failures in a row that suspend an account
   15 probeBackoffMs     the first wait before a suspended account's probe
   16 maxProbeBackoffMs  the longest wait between probes

  Returns { run, rate, pauseMs, suspended, reason, since, probeAt, resumed }: the failures in a row, the
  account's rate and pause after a 429 ('' otherwise), and its health after the answer.
]]
--- @include "includes/pace"
--- @include "includes/guard"
--- @include "includes/health"

local result, seq, worker, sentAt = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local throttled, retryAfter, nominal = ARGV[6] == '1', tonumber(ARGV[7]), tonumber(ARGV[8])
local account, owner, detail = ARGV[9], ARGV[10], ARGV[11]
local probe, established = ARGV[12] == '1', ARGV[13] == '1'
local suspendAfter, backoff0, maxBackoff = tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])
local g = KEYS[3]
local now = nowMs()
-- Every answer's place among the scope's answers: what 'meanwhile' means to account health.
local order = redis.call('HINCRBY', g, 'settles', 1)
local member = seq .. '|' .. worker
redis.call('ZREM', KEYS[4], member)
redis.call('ZREM', KEYS[5], member)
local exempt, suspended, reason, since, probeAt, resumed = healthSettle(KEYS[9], KEYS[10], g, account, member, result, owner, detail, probe, established, now, order, suspendAfter, backoff0, maxBackoff)
local rate, pauseMs = '', ''
if throttled then
  local cut, pause = paceThrottled(KEYS[1], nominal, now, retryAfter, sentAt)
  rate, pauseMs = tostring(cut), tostring(pause)
end
guardSettle(g, KEYS[6], KEYS[7], KEYS[8], member, seq, sentAt, result, exempt, probe, owner, now, order, established)
return { redis.call('ZCARD', KEYS[7]), rate, pauseMs, suspended, reason, tostring(since), tostring(probeAt), resumed }
