--[[
  admit: may a send of this linked account go now? Its health, its pacer and the failure guard, over
  every worker, decided at once.

  KEYS
    1 pace      the account's pacer (hash)
    2 starts    the account's recent starts (list)
    3 g         the guard's hash
    4 pt        the guard's unanswered requests, by send time (sorted set)
    5 ps        the same, by seq (sorted set)
    6 f         the guard's failures, by send time (sorted set)
    7 r         the guard's run of failures, by seq (sorted set)
    8 w         the workers' heartbeats (sorted set)
    9 hk        the account's health (hash)
   10 hidx      the suspended accounts (sorted set)

  ARGV
    1 rules          the rules' numbers (JSON; see includes/rules.lua)
    2 nominalRate    the account's rate, requests a minute
    3 horizonMs      a start further ahead than this is refused: the job waits in Redis
    4 mode           'adaptive' | 'strict'
    5 maxFailures    failures allowed in the guard's window
    6 windowMs       the guard's window
    7 stopAfter      failures in a row that hold every send
    8 worker         this worker's name in the guard's records
    9 deadAfterMs    a worker silent this long is dead
   10 pacedOnly      '1': the start was reserved before; only the guard is asked
   11 probeBackoffMs the first wait before a suspended account's probe

  Returns one of
    { 'send', sentAt, seq, probe (0/1), established (0/1) }
    { 'reserved', waitMs }             a start reserved waitMs ahead: wait, then ask with pacedOnly
    { 'later', waitMs, 'pace' }        not due within the horizon: the job goes back to Redis
    { 'trial', waitMs }                a new account's first write is in flight
    { 'guard', waitMs, failures, pending, run }
    { 'held', untilMs, reason, since } the account is suspended until its next probe
]]
--- @include "includes/pace"
--- @include "includes/guard"
--- @include "includes/health"

local nominal, horizon, mode = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local maxFailures, windowMs, stopAfter = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local worker, deadAfter, pacedOnly = ARGV[8], tonumber(ARGV[9]), ARGV[10] == '1'
local probeBackoff = tonumber(ARGV[11])
local now = nowMs()
local health, established, reason, heldSince = healthCheck(KEYS[9], now, deadAfter, probeBackoff)
if health == 'held' then return { 'held', tostring(established), reason, tostring(heldSince) } end
-- A new account's first write is in flight: the others wait for its answer in their workers (about a
-- latency, once per account), then go on in the account's line.
if health == 'trial' then return { 'trial', tostring(rules.TRIAL_POLL_MS) } end
local s, at, interval
if not pacedOnly then
  s = paceState(KEYS[1], nominal, now)
  at, interval = paceDue(s, KEYS[2], now)
  if at - now > horizon then
    -- Not due: the job waits in Redis. Jobs sent back are given turns an interval apart, so that they
    -- come back one at a time instead of all at once when the account is next due; the interval at
    -- the rate the account will have recovered to by then, not its rate now, or the jobs of an account
    -- cut to its floor would keep the floor's spacing long after it recovered. A 429 meanwhile makes
    -- them early: they are sent back again, to the end of the line.
    local slot = math.max(at, num(redis.call('HGET', KEYS[1], 'deferNext'), 0))
    local rateThen = paceRecovered(s.rate, s.lastChange, nominal, slot)
    redis.call('HSET', KEYS[1], 'rate', s.rate, 'lastChange', s.lastChange, 'deferNext', slot + rules.MINUTE_MS / rateThen)
    redis.call('PEXPIRE', KEYS[1], rules.PACE_TTL_MS)
    return { 'later', tostring(slot - now), 'pace' }
  end
  if at > now then
    paceReserve(s, KEYS[1], KEYS[2], at, interval)
    return { 'reserved', tostring(at - now) }
  end
else
  -- The start was reserved before; a 429 since then pauses it like any other: back after the pause.
  local pausedUntil = num(redis.call('HGET', KEYS[1], 'pausedUntil'), 0)
  if pausedUntil > now then return { 'later', tostring(pausedUntil - now), 'pace' } end
end
reap(KEYS[3], KEYS[4], KEYS[5], KEYS[8], now, deadAfter)
local wait, failures, pending, run = guardWait(KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], now, mode, maxFailures, windowMs, stopAfter)
if wait > 0 then return { 'guard', tostring(wait), failures, pending, run } end
if not pacedOnly then paceReserve(s, KEYS[1], KEYS[2], now, interval) end
local seq = grant(KEYS[3], KEYS[4], KEYS[5], KEYS[7], now, worker, stopAfter)
healthGrant(KEYS[9], health, established, seq .. '|' .. worker, now)
local probe = 0
if health == 'probe' then probe = 1 end
return { 'send', tostring(now), seq, probe, established }
