--[[
  A linked account's health over the fleet (src/delivery/account-health.ts) on a hash per account (hk),
  with an index of the suspended ones (hidx, a sorted set: account -> since). Times are Redis's epoch
  milliseconds. Fields: ok (a write succeeded once), trial / trialAt (the probation write in flight, by
  guard member), susp, detail, count, since, probeAt, backoff, probing / probingAt (the probe in flight),
  streak / streakFrom (failures in a row, and the settle that began them).
]]
--- @include "base"
--- @include "rules"

local function healthReason(detail, count)
  if num(count, 0) > 0 then return (detail or '') .. ' ×' .. count end
  return detail or ''
end

-- A mark in flight (a probe, a probation write) whose worker is still alive.
local function live(member, at, now, deadAfter)
  return member ~= false and member ~= nil and member ~= '' and now - num(at, 0) < deadAfter
end

-- Before a send: 'send' (established 0/1), 'probe', 'trial' (the probation write is in flight) or
-- 'held' (untilMs, reason, since).
local function healthCheck(hk, now, deadAfter, probeBackoff)
  local h = redis.call('HMGET', hk, 'susp', 'probeAt', 'probing', 'probingAt', 'ok', 'trial', 'trialAt', 'detail', 'count', 'since', 'backoff')
  if h[1] == '1' then
    local probeAt = num(h[2], 0)
    if live(h[3], h[4], now, deadAfter) then return 'held', now + num(h[11], probeBackoff), healthReason(h[8], h[9]), num(h[10], now) end
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
  redis.call('PEXPIRE', hk, rules.HEALTH_TTL_MS)
end

-- Failures in a row that suspend an account (runNeeded in account-health.ts): at least suspendAfter,
-- and enough to be a one-in-RUN_CHANCE run at the failure rate of recent answers (the guard's
-- answerFailureRate), never more than MOST_NEEDED.
local function runNeeded(suspendAfter, g)
  local h = redis.call('HMGET', g, 'answered', 'failedAnswers')
  local rate = (num(h[2], 0) + rules.ANSWER_PRIOR_FAILURES) / (math.min(num(h[1], 0), rules.MEMORY_ANSWERS) + rules.ANSWER_PRIOR_ANSWERS)
  if rate >= 1 then return math.max(suspendAfter, rules.MOST_NEEDED) end
  return math.max(suspendAfter, math.min(rules.MOST_NEEDED, math.ceil(math.log(rules.RUN_CHANCE) / math.log(rate))))
end

-- An answer: result, owner ('row' | 'account' | 'transient' | ''), detail ("403 Forbidden"), probe and
-- established (booleans); g is the guard's hash (okOrder: the settle at which any account last succeeded, read only when
-- needed). Returns exempt (the failure is its account's), suspended, reason, since, probeAt, resumed (0/1).
local function healthSettle(hk, hidx, g, account, member, result, owner, detail, probe, established, now, order, suspendAfter, backoff0, maxBackoff)
  local h = redis.call('HMGET', hk, 'susp', 'streak', 'streakFrom', 'trial', 'probing', 'count', 'backoff', 'ok', 'detail', 'since', 'probeAt')
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
    -- By settle order, not time: a success and a streak's first failure in one millisecond are still ordered.
    local streak, streakFrom = num(h[2], 0), num(h[3], order)
    if streak == 0 then streakFrom = order end
    streak = streak + 1
    put('streak', streak)
    put('streakFrom', streakFrom)
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
    elseif owner == 'account' or (streak >= suspendAfter and num(redis.call('HGET', g, 'okOrder'), 0) > streakFrom and streak >= runNeeded(suspendAfter, g)) then
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
    redis.call('PEXPIRE', hk, rules.HEALTH_TTL_MS)
  end
  local suspended = 0
  if susp then suspended = 1 end
  return exempt, suspended, healthReason(why, count), since, probeAt, resumed
end
