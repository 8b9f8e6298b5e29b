--[[
  The pacer (src/delivery/pacer.ts) on a hash per linked account: rate, lastDue, pausedUntil, lastCut,
  lastChange (and deferNext, the next turn given to a job sent back), with the account's recent starts
  in a list beside it, oldest first.
]]
--- @include "base"
--- @include "rules"

-- The rate at time t of an account at `rate` since lastChange, if no 429 comes: every RECOVERY_STEP_MS
-- it doubles, by at least RECOVERY_SHARE of nominal, up to nominal. And the steps taken.
local function paceRecovered(rate, lastChange, nominal, t)
  if rate >= nominal or t - lastChange < rules.RECOVERY_STEP_MS then return rate, 0 end
  local steps = math.floor((t - lastChange) / rules.RECOVERY_STEP_MS)
  local taken = 0
  while taken < steps and rate < nominal do
    rate = math.min(nominal, math.max(2 * rate, rate + rules.RECOVERY_SHARE * nominal))
    taken = taken + 1
  end
  return rate, steps
end

-- The pacer's state, after recovery. The next start is due an interval (at the rate now) after lastDue.
local function paceState(key, nominal, now)
  local h = redis.call('HMGET', key, 'rate', 'lastDue', 'pausedUntil', 'lastCut', 'lastChange')
  local s = { rate = num(h[1], nominal), lastDue = num(h[2], NEVER), pausedUntil = num(h[3], NEVER),
              lastCut = num(h[4], NEVER), lastChange = num(h[5], NEVER) }
  if s.rate > nominal then s.rate = nominal end
  local steps
  s.rate, steps = paceRecovered(s.rate, s.lastChange, nominal, now)
  if steps > 0 then
    s.lastChange = s.lastChange + steps * rules.RECOVERY_STEP_MS
    s.recovered = true
  end
  return s
end

-- When the next start may be: its schedule, the pause, the least gap and the window allow it.
local function paceDue(s, startsKey, now)
  while true do
    local first = redis.call('LINDEX', startsKey, 0)
    if first and tonumber(first) <= now - rules.PACE_WINDOW_MS then redis.call('LPOP', startsKey) else break end
  end
  local interval = rules.MINUTE_MS / s.rate
  local last = redis.call('LINDEX', startsKey, -1)
  local at = math.max(s.lastDue + interval, s.pausedUntil, num(last, NEVER) + interval * rules.MIN_GAP_SHARE)
  local most = math.max(1, math.floor(s.rate / (rules.MINUTE_MS / rules.PACE_WINDOW_MS) * rules.WINDOW_SHARE))
  local n = redis.call('LLEN', startsKey)
  if n >= most then
    local nth = tonumber(redis.call('LINDEX', startsKey, n - most))
    at = math.max(at, nth + rules.PACE_WINDOW_MS)
  end
  return at, interval
end

-- A start at `at`: on schedule, or late by at most MAX_LAG_MS, the next is due an interval after this
-- one was due; further behind, the schedule restarts from `at`.
local function paceReserve(s, key, startsKey, at, interval)
  local due = math.max(s.lastDue + interval, s.pausedUntil)
  local from = at
  if at - due <= rules.MAX_LAG_MS then from = due end
  redis.call('HSET', key, 'rate', s.rate, 'lastDue', from, 'pausedUntil', s.pausedUntil, 'lastCut', s.lastCut, 'lastChange', s.lastChange)
  redis.call('RPUSH', startsKey, at)
  redis.call('PEXPIRE', key, rules.PACE_TTL_MS)
  redis.call('PEXPIRE', startsKey, rules.PACE_TTL_MS)
end

-- A 429 to a request sent at sentAt: pause for retryAfter (nil: PAUSE_INTERVALS intervals, at least
-- MIN_PAUSE_MS) and halve the rate, down to FLOOR_SHARE of nominal, unless it was cut after that request
-- left. Returns the rate and the pause.
local function paceThrottled(key, nominal, now, retryAfter, sentAt)
  local s = paceState(key, nominal, now)
  local pause = retryAfter
  if pause == nil then pause = math.max(rules.MIN_PAUSE_MS, rules.PAUSE_INTERVALS * (rules.MINUTE_MS / s.rate)) end
  s.pausedUntil = math.max(s.pausedUntil, now + pause)
  if sentAt > s.lastCut then
    s.rate = math.max(nominal * rules.FLOOR_SHARE, s.rate / 2)
    s.lastCut = now
  end
  -- Recovery counts from the end of the pause: a pause as long as a step must not undo the cut unseen.
  s.lastChange = s.pausedUntil
  redis.call('HSET', key, 'rate', s.rate, 'lastDue', s.lastDue, 'pausedUntil', s.pausedUntil, 'lastCut', s.lastCut, 'lastChange', s.lastChange)
  redis.call('PEXPIRE', key, rules.PACE_TTL_MS)
  return s.rate, pause
end
