/**
 * The fleet's shared state, kept in Redis and changed only by these Lua scripts (atomic: every worker
 * of every machine sees one order of events, on Redis's clock, never its own).
 *
 * **Pacing** (per linked account, over every worker): the in-process pacer's rules (`src/delivery/pacer.ts`)
 * on shared state. A send reserves its start on the account's schedule, `60000 / rate` ms after the
 * previous one, never more than 105% of a sixth of the rate in any 10 s; a reservation more than
 * `horizon` ms ahead is refused instead (the job waits in Redis, delayed, not in a worker, until a turn
 * of its own: those sent back are spread an interval apart, each at the rate the account will have
 * recovered to by its turn). A 429 pauses the account for its `Retry-After` and halves its rate (once
 * per burst); every `RECOVERY_STEP_MS` without one after the pause the rate doubles (by at least
 * `RECOVERY_SHARE` of the nominal rate): the in-process pacer's rule and numbers.
 *
 * **Failure guard** (per scope, one egress IP by default): the in-process guard's rules
 * (`src/delivery/failure-guard.ts`, strict and adaptive) on shared state: failures by send time in the
 * window, requests unanswered (each tagged with its worker: a worker that stops beating its heart for
 * `deadAfter` ms has its requests dropped, as their answers will never come), the failure rate of the
 * latest 1,000 answers, the probation after a failure, and the run of failures in send order. After
 * `stopAfter` failures in a row a worker does not stop: the guard holds every send for a back-off
 * (1 s, doubling to 60 s) and then lets one probe through.
 */
import { FLOOR_SHARE, RECOVERY_SHARE, RECOVERY_STEP_MS } from "../delivery/pacer.js";

import { RUN_CHANCE } from "../delivery/account-health.js";

/** Shared helpers: the time, the guard's decision and the pacer's schedule, prepended to each script. */
const COMMON = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(v, d) if v == false or v == nil then return d end return tonumber(v) end

-- The rate at time t of an account at rate at lastChange, if no 429 comes: every RECOVERY_STEP_MS
-- (${RECOVERY_STEP_MS} ms) it doubles, by at least RECOVERY_SHARE (${RECOVERY_SHARE}) of nominal. And the steps taken.
local function paceRecovered(rate, lastChange, nominal, t)
  if rate >= nominal or t - lastChange < ${RECOVERY_STEP_MS} then return rate, 0 end
  local steps = math.floor((t - lastChange) / ${RECOVERY_STEP_MS})
  for _ = 1, math.min(steps, 64) do rate = math.min(nominal, math.max(2 * rate, rate + ${RECOVERY_SHARE} * nominal)) end
  return rate, steps
end

-- The pacer's state, after recovery. The next start is due an interval (at the rate now) after lastDue.
local function paceState(key, nominal, now)
  local h = redis.call('HMGET', key, 'rate', 'lastDue', 'pausedUntil', 'lastCut', 'lastChange')
  local s = { rate = num(h[1], nominal), lastDue = num(h[2], -1e15), pausedUntil = num(h[3], -1e15),
              lastCut = num(h[4], -1e15), lastChange = num(h[5], -1e15) }
  if s.rate > nominal then s.rate = nominal end
  local steps
  s.rate, steps = paceRecovered(s.rate, s.lastChange, nominal, now)
  if steps > 0 then
    s.lastChange = s.lastChange + steps * ${RECOVERY_STEP_MS}
    s.recovered = true
  end
  return s
end

local function paceDue(s, startsKey, now)
  while true do
    local first = redis.call('LINDEX', startsKey, 0)
    if first and tonumber(first) <= now - 10000 then redis.call('LPOP', startsKey) else break end
  end
  local interval = 60000 / s.rate
  local last = redis.call('LINDEX', startsKey, -1)
  local at = math.max(s.lastDue + interval, s.pausedUntil, num(last, -1e15) + interval * 0.5)
  local most = math.max(1, math.floor(s.rate / 6 * 1.05))
  local n = redis.call('LLEN', startsKey)
  if n >= most then
    local nth = tonumber(redis.call('LINDEX', startsKey, n - most))
    at = math.max(at, nth + 10000)
  end
  return at, interval
end

local function paceReserve(s, key, startsKey, at, interval)
  local due = math.max(s.lastDue + interval, s.pausedUntil)
  local from = at
  if at - due <= 250 then from = due end
  redis.call('HSET', key, 'rate', s.rate, 'lastDue', from, 'pausedUntil', s.pausedUntil, 'lastCut', s.lastCut, 'lastChange', s.lastChange)
  redis.call('RPUSH', startsKey, at)
  redis.call('PEXPIRE', key, 3600000)
  redis.call('PEXPIRE', startsKey, 3600000)
end

-- The guard: KEYS g (hash), pt (pending by time), ps (pending by seq), f (failures by send time),
-- a (answers list, newest first), r (the run of failures, by seq), w (workers' heartbeats).
local function reap(g, pt, ps, w, now, deadAfter)
  if now - num(redis.call('HGET', g, 'reapedAt'), 0) < 1000 then return end
  redis.call('HSET', g, 'reapedAt', now)
  local dead = redis.call('ZRANGEBYSCORE', w, '-inf', now - deadAfter)
  if #dead > 0 then
    local gone = {}
    for _, id in ipairs(dead) do gone[id] = true end
    redis.call('ZREM', w, unpack(dead))
    for _, m in ipairs(redis.call('ZRANGE', ps, 0, -1)) do
      local owner = string.match(m, '|(.*)$')
      if gone[owner] then redis.call('ZREM', ps, m); redis.call('ZREM', pt, m) end
    end
  end
  -- A backstop for requests nobody will ever settle: ten minutes.
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', pt, '-inf', now - 600000)) do redis.call('ZREM', ps, m); redis.call('ZREM', pt, m) end
end

local function failureRate(g)
  local h = redis.call('HMGET', g, 'answered', 'failedAnswers', 'failedRecently', 'successMs', 'failureMs')
  local answered, failed, recent = num(h[1], 0), num(h[2], 0), num(h[3], 0)
  local overall = (failed + 3) / (math.min(answered, 1000) + 3)
  local rate = overall
  if recent >= 3 then rate = math.max(overall, recent / math.min(answered, 100)) end
  local sMs, fMs = num(h[4], nil), num(h[5], nil)
  if sMs == nil or fMs == nil or fMs <= sMs then return rate end
  local slower = rate * fMs
  return slower / (slower + (1 - rate) * sMs)
end

-- 0 when a send may go now, else how long to wait (ms); and the counts for a warning.
local function guardWait(g, pt, ps, f, r, now, mode, maxFailures, windowMs, stopAfter)
  redis.call('ZREMRANGEBYSCORE', f, '-inf', now - windowMs)
  local failures = redis.call('ZCARD', f)
  local pending = redis.call('ZCARD', ps)
  local run = redis.call('ZCARD', r)
  local holdUntil = num(redis.call('HGET', g, 'holdUntil'), 0)
  local oldest = redis.call('ZRANGE', f, 0, 0, 'WITHSCORES')
  local untilOldest = 250
  if #oldest > 0 then untilOldest = math.max(1, tonumber(oldest[2]) + windowMs - now + 1) end
  if run >= stopAfter and now < holdUntil then return holdUntil - now, failures, pending, run end
  if mode == 'strict' then
    if failures + redis.call('ZCOUNT', pt, '(' .. (now - windowMs), '+inf') < maxFailures then return 0, failures, pending, run end
    return math.min(untilOldest, 250), failures, pending, run
  end
  if failures + pending < maxFailures then return 0, failures, pending, run end
  local since = num(redis.call('HGET', g, 'probSince'), -1)
  local suspects, others = 0, pending
  if since >= 0 then
    suspects = redis.call('ZCOUNT', ps, since, '+inf')
    others = pending - suspects
    if suspects > 0 then return 100, failures, pending, run end
    suspects = 1
  else
    others = others + 1
  end
  local expected = others * failureRate(g)
  if failures + suspects + expected + 4 * math.sqrt(expected) <= maxFailures then return 0, failures, pending, run end
  return math.min(untilOldest, 100), failures, pending, run
end

local function grant(g, pt, ps, r, now, worker, stopAfter)
  local seq = redis.call('HINCRBY', g, 'seq', 1)
  local member = seq .. '|' .. worker
  redis.call('ZADD', pt, now, member)
  redis.call('ZADD', ps, seq, member)
  if redis.call('ZCARD', r) >= stopAfter then
    local holdMs = math.min(60000, num(redis.call('HGET', g, 'holdMs'), 500) * 2)
    redis.call('HSET', g, 'holdMs', holdMs, 'holdUntil', now + holdMs)
  end
  return seq
end
`;


/**
 * A linked account's health over the fleet: the in-process rules (`src/delivery/account-health.ts`) on a
 * hash per account (KEYS hk), with an index of the suspended ones (KEYS hidx: account -> since). Times
 * are Redis's epoch milliseconds. Fields: ok (a write succeeded once), trial / trialAt (the probation
 * write in flight, by guard member), susp, detail, count, since, probeAt, backoff, probing / probingAt
 * (the probe in flight), streak / streakSince (failures in a row).
 */
const HEALTH = `
local function healthReason(detail, count)
  if num(count, 0) > 0 then return (detail or '') .. ' ×' .. count end
  return detail or ''
end

local function live(member, at, now, deadAfter)
  return member ~= false and member ~= nil and member ~= '' and now - num(at, 0) < deadAfter
end

-- Before a send: 'send' (established 0/1), 'probe', 'trial' (the probation write is in flight) or
-- 'held' (untilMs, reason, since).
local function healthCheck(hk, now, deadAfter)
  local h = redis.call('HMGET', hk, 'susp', 'probeAt', 'probing', 'probingAt', 'ok', 'trial', 'trialAt', 'detail', 'count', 'since', 'backoff')
  if h[1] == '1' then
    local probeAt = num(h[2], 0)
    if live(h[3], h[4], now, deadAfter) then return 'held', now + num(h[11], 15000), healthReason(h[8], h[9]), num(h[10], now) end
    if now < probeAt then return 'held', probeAt, healthReason(h[8], h[9]), num(h[10], now) end
    return 'probe', 0
  end
  if h[5] == '1' then return 'send', 1 end
  if live(h[6], h[7], now, deadAfter) then return 'trial', 0 end
  return 'send', 0
end

-- A send granted: a probe or a probation write is marked in flight (a dead worker's mark lapses).
local function healthGrant(hk, kind, established, member, now)
  if kind == 'probe' then redis.call('HSET', hk, 'probing', member, 'probingAt', now)
  elseif established == 0 then redis.call('HSET', hk, 'trial', member, 'trialAt', now) end
end

local function healthSuspend(hk, hidx, account, detail, count, now, backoff)
  redis.call('HSET', hk, 'susp', 1, 'detail', detail, 'count', count, 'since', now, 'backoff', backoff, 'probeAt', now + backoff, 'probing', '')
  redis.call('ZADD', hidx, now, account)
  redis.call('PEXPIRE', hk, 2592000000)
end

-- Failures in a row that suspend an account (runNeeded in account-health.ts): at least suspendAfter,
-- and enough to be a one-in-RUN_CHANCE run at the guard's failure rate of recent answers.
local function runNeeded(suspendAfter, g)
  local h = redis.call('HMGET', g, 'answered', 'failedAnswers')
  local rate = (num(h[2], 0) + 1) / (math.min(num(h[1], 0), 1000) + 10)
  if rate >= 1 then return math.max(suspendAfter, 20) end
  return math.max(suspendAfter, math.min(20, math.ceil(math.log(${RUN_CHANCE}) / math.log(rate))))
end

-- An answer: result, owner ('row' | 'account' | 'transient' | ''), detail ("403 Forbidden"), probe and
-- established (booleans), and okAt, when any account last succeeded (read only when needed).
-- Returns exempt (the failure is its account's), suspended, reason, since, probeAt, resumed (0/1).
local function healthSettle(hk, hidx, g, account, member, result, owner, detail, probe, established, now, suspendAfter, backoff0, maxBackoff)
  local h = redis.call('HMGET', hk, 'susp', 'streak', 'streakSince', 'trial', 'probing', 'count', 'backoff', 'ok', 'detail', 'since', 'probeAt')
  local susp = h[1] == '1'
  local exempt = probe or not established or susp
  local set = {}
  local function put(k, v) set[#set + 1] = k; set[#set + 1] = v end
  if h[4] == member then put('trial', '') end
  if h[5] == member then put('probing', '') end
  local resumed = 0
  local count, backoff, probeAt, since, why = num(h[6], 0), num(h[7], backoff0), num(h[11], now), num(h[10], now), h[9]
  if result == 'success' then
    if h[8] ~= '1' then put('ok', 1) end
    if num(h[2], 0) ~= 0 then put('streak', 0) end
    -- Only a probe resumes: a write sent before the suspension proves nothing of the account now.
    if susp and probe then
      put('susp', 0)
      redis.call('ZREM', hidx, account)
      susp, resumed = false, 1
    end
  elseif result == 'failure' then
    local streak, streakSince = num(h[2], 0), num(h[3], now)
    if streak == 0 then streakSince = now end
    streak = streak + 1
    put('streak', streak)
    put('streakSince', streakSince)
    if susp then
      count, why = count + 1, detail
      put('count', count)
      put('detail', detail)
      if probe then
        backoff = math.min(maxBackoff, backoff * 2)
        probeAt = now + backoff
        put('backoff', backoff)
        put('probeAt', probeAt)
      end
    elseif owner == 'account' or (streak >= suspendAfter and num(redis.call('HGET', g, 'okAt'), 0) > streakSince and streak >= runNeeded(suspendAfter, g)) then
      count, why, since, backoff, probeAt = streak, detail, now, backoff0, now + backoff0
      if owner == 'account' then count = 1 end
      healthSuspend(hk, hidx, account, detail, count, now, backoff0)
      susp = true
    end
  elseif susp and probe then
    probeAt = now + backoff
    put('probeAt', probeAt)
  end
  if #set > 0 then
    redis.call('HSET', hk, unpack(set))
    redis.call('PEXPIRE', hk, 2592000000)
  end
  local suspended = 0
  if susp then suspended = 1 end
  return exempt, suspended, healthReason(why, count), since, probeAt, resumed
end
`;

/**
 * admit(account): KEYS pace, starts, g, pt, ps, f, r, w, hk, hidx; ARGV nominalRate, horizonMs, mode,
 * maxFailures, windowMs, stopAfter, worker, deadAfterMs, pacedOnly ("1": the reservation was made; only
 * the guard).
 * Returns { "send", sentAt, seq, probe, established } | { "reserved", waitMs } | { "later", waitMs, "pace" }
 * | { "trial", waitMs } (a new account's first write is in flight) | { "guard", waitMs, failures, pending,
 * run } | { "held", untilMs, reason, since }.
 */
export const ADMIT = `${COMMON}${HEALTH}
local nominal, horizon, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local maxFailures, windowMs, stopAfter = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local worker, deadAfter, pacedOnly = ARGV[7], tonumber(ARGV[8]), ARGV[9] == '1'
local now = nowMs()
local health, established, reason, heldSince = healthCheck(KEYS[9], now, deadAfter)
if health == 'held' then return { 'held', tostring(established), reason, tostring(heldSince) } end
-- A new account's first write is in flight: the others wait for its answer in their workers (about a
-- latency, once per account), then go on in the account's line.
if health == 'trial' then return { 'trial', '200' } end
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
    redis.call('HSET', KEYS[1], 'rate', s.rate, 'lastChange', s.lastChange, 'deferNext', slot + 60000 / rateThen)
    redis.call('PEXPIRE', KEYS[1], 3600000)
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
`;

/**
 * settle(answer): KEYS pace, starts, g, pt, ps, f, r, a, hk, hidx; ARGV result ("success" | "failure" |
 * "neutral"), seq, worker, sentAt, throttled ("1" for a 429), retryAfterMs ("" for none), nominalRate,
 * account, owner ("row" | "account" | "transient" | ""), detail, probe ("1"), established ("1"),
 * suspendAfter, probeBackoffMs, maxProbeBackoffMs.
 * Returns { run, rate, pauseMs, suspended, reason, since, probeAt, resumed }: the failures in a row, the
 * account's rate and pause after a 429, and its health after the answer.
 */
export const SETTLE = `${COMMON}${HEALTH}
local result, seq, worker, sentAt = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local g, pt, ps, f, r = KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now = nowMs()
local member = seq .. '|' .. worker
redis.call('ZREM', pt, member)
redis.call('ZREM', ps, member)
local probe = ARGV[11] == '1'
local exempt, suspended, reason, since, probeAt, resumed = healthSettle(KEYS[9], KEYS[10], g, ARGV[8], member, result, ARGV[9], ARGV[10], probe, ARGV[12] == '1', now, tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15]))
local rate, pauseMs = '', ''
if ARGV[5] == '1' then
  local nominal = tonumber(ARGV[7])
  local s = paceState(KEYS[1], nominal, now)
  local interval = 60000 / s.rate
  local pause = math.max(1000, 2 * interval)
  if ARGV[6] ~= '' then pause = tonumber(ARGV[6]) end
  s.pausedUntil = math.max(s.pausedUntil, now + pause)
  if sentAt > s.lastCut then
    s.rate = math.max(nominal * ${FLOOR_SHARE}, s.rate / 2) -- FLOOR_SHARE
    s.lastCut = now
  end
  s.lastChange = s.pausedUntil -- recovery counts from the end of the pause, as in AccountPacer
  redis.call('HSET', KEYS[1], 'rate', s.rate, 'lastDue', s.lastDue, 'pausedUntil', s.pausedUntil, 'lastCut', s.lastCut, 'lastChange', s.lastChange)
  redis.call('PEXPIRE', KEYS[1], 3600000)
  rate, pauseMs = tostring(s.rate), tostring(pause)
end
-- The answers: newest first; the 1,001st and the 101st leave the two memories.
local function remember(failed)
  local answered = redis.call('HINCRBY', g, 'answered', 1) - 1
  redis.call('LPUSH', KEYS[8], failed)
  redis.call('HINCRBY', g, 'failedAnswers', failed)
  redis.call('HINCRBY', g, 'failedRecently', failed)
  -- (Only a leaving 1 changes a count: HINCRBY refuses "-0".)
  if answered >= 100 and redis.call('LINDEX', KEYS[8], 100) == '1' then redis.call('HINCRBY', g, 'failedRecently', -1) end
  if answered >= 1000 and redis.call('RPOP', KEYS[8]) == '1' then redis.call('HINCRBY', g, 'failedAnswers', -1) end
end
if result == 'failure' and exempt then
  -- Explained by its account: it counts towards Merge's limit and never starts a probation. A row's
  -- failure on a new account still says how often rows fail (an account-level one, or a probe's, not).
  redis.call('ZADD', f, sentAt, member)
  if not probe and ARGV[9] ~= 'account' then remember(1) end
  if not probe and seq > num(redis.call('HGET', g, 'lastSuccess'), -1) then redis.call('ZADD', r, seq, member) end
elseif result ~= 'neutral' then
  local failed = 0
  if result == 'failure' then failed = 1 end
  remember(failed)
  local took = math.max(1, now - sentAt)
  local field = 'successMs'
  if failed == 1 then field = 'failureMs' end
  local mean = num(redis.call('HGET', g, field), nil)
  if mean == nil then mean = took else mean = mean + 0.05 * (took - mean) end
  if failed == 1 then redis.call('HSET', g, field, mean) else redis.call('HSET', g, field, mean, 'okAt', now) end
  local since = num(redis.call('HGET', g, 'probSince'), -1)
  local lastFailure = num(redis.call('HGET', g, 'probLast'), -1)
  if failed == 0 then
    if seq > num(redis.call('HGET', g, 'lastSuccess'), -1) then
      redis.call('HSET', g, 'lastSuccess', seq)
      redis.call('ZREMRANGEBYSCORE', r, '-inf', seq)
      redis.call('HDEL', g, 'holdMs', 'holdUntil')
    end
    if not (since >= 0 and seq <= lastFailure) then redis.call('HSET', g, 'probSince', -1) end
  else
    redis.call('ZADD', f, sentAt, member)
    if since < 0 or seq < since then
      if since < 0 then lastFailure = seq end
      redis.call('HSET', g, 'probSince', seq, 'probLast', math.max(seq, lastFailure))
    elseif seq > lastFailure then
      redis.call('HSET', g, 'probLast', seq)
    end
    if seq > num(redis.call('HGET', g, 'lastSuccess'), -1) then redis.call('ZADD', r, seq, member) end
  end
end
return { redis.call('ZCARD', r), rate, pauseMs, suspended, reason, tostring(since), tostring(probeAt), resumed }
`;

/**
 * suspend(account, reason): KEYS hk, hidx; ARGV account, reason (its meta's `linked_account_status`),
 * probeBackoffMs, maxProbeBackoffMs. Suspends the account without a send; a suspension whose probe was
 * due is re-armed with the back-off doubled. Returns { reason, since, probeAt }.
 */
export const SUSPEND = `${COMMON}${HEALTH}
local now = nowMs()
local h = redis.call('HMGET', KEYS[1], 'susp', 'since', 'probeAt', 'backoff', 'count')
local backoff0, maxBackoff = tonumber(ARGV[3]), tonumber(ARGV[4])
if h[1] ~= '1' then
  healthSuspend(KEYS[1], KEYS[2], ARGV[1], ARGV[2], 0, now, backoff0)
  return { ARGV[2], tostring(now), tostring(now + backoff0) }
end
local probeAt, backoff = num(h[3], now), num(h[4], backoff0)
if now >= probeAt then
  backoff = math.min(maxBackoff, backoff * 2)
  probeAt = now + backoff
  redis.call('HSET', KEYS[1], 'backoff', backoff, 'probeAt', probeAt, 'probing', '', 'detail', ARGV[2])
end
return { healthReason(ARGV[2], h[5]), tostring(num(h[2], now)), tostring(probeAt) }
`;
