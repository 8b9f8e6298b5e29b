--[[
  The failure guard (src/delivery/failure-guard.ts, strict and adaptive) on keys per scope: g (a hash:
  seq, the answer counts, mean answer times, the probation, the hold), pt and ps (requests unanswered,
  by send time and by seq; members "seq|worker"), f (failures by send time), r (the run of failures, by
  seq), a (the latest answers, newest first: 1 a failure, 0 a success) and w (workers' heartbeats).
]]
--- @include "base"
--- @include "rules"

-- Drops the requests of workers silent for deadAfter ms (their answers will never come), and any
-- request unanswered for UNSETTLED_BACKSTOP_MS; at most once every REAP_EVERY_MS.
local function reap(g, pt, ps, w, now, deadAfter)
  if now - num(redis.call('HGET', g, 'reapedAt'), 0) < rules.REAP_EVERY_MS then return end
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
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', pt, '-inf', now - rules.UNSETTLED_BACKSTOP_MS)) do redis.call('ZREM', ps, m); redis.call('ZREM', pt, m) end
end

-- An upper estimate of the chance that a request in flight fails: (failures + PRIOR_FAILURES) /
-- (answers + PRIOR_FAILURES) over the latest MEMORY_ANSWERS, or the rate of the latest RECENT_ANSWERS
-- once RECENT_FAILURES of them failed; weighted by the mean answer times when failures are slower.
local function failureRate(g)
  local h = redis.call('HMGET', g, 'answered', 'failedAnswers', 'failedRecently', 'successMs', 'failureMs')
  local answered, failed, recent = num(h[1], 0), num(h[2], 0), num(h[3], 0)
  local overall = (failed + rules.PRIOR_FAILURES) / (math.min(answered, rules.MEMORY_ANSWERS) + rules.PRIOR_FAILURES)
  local rate = overall
  if recent >= rules.RECENT_FAILURES then rate = math.max(overall, recent / math.min(answered, rules.RECENT_ANSWERS)) end
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
  local untilOldest = rules.GUARD_POLL_MS
  if #oldest > 0 then untilOldest = math.max(1, tonumber(oldest[2]) + windowMs - now + 1) end
  if run >= stopAfter and now < holdUntil then return holdUntil - now, failures, pending, run end
  if mode == 'strict' then
    if failures + redis.call('ZCOUNT', pt, '(' .. (now - windowMs), '+inf') < maxFailures then return 0, failures, pending, run end
    return math.min(untilOldest, rules.GUARD_POLL_MS), failures, pending, run
  end
  if failures + pending < maxFailures then return 0, failures, pending, run end
  -- An account that worked refused (401/403) and nothing sent after it has succeeded: it may be the API
  -- key, so every unanswered request counts as a failure until a success says otherwise.
  if num(redis.call('HGET', g, 'lastRevoked'), -1) > num(redis.call('HGET', g, 'lastSuccess'), -1) then
    return rules.PROBATION_POLL_MS, failures, pending, run
  end
  local since = num(redis.call('HGET', g, 'probSince'), -1)
  local suspects, others = 0, pending
  if since >= 0 then
    suspects = redis.call('ZCOUNT', ps, since, '+inf')
    others = pending - suspects
    if suspects > 0 then return rules.PROBATION_POLL_MS, failures, pending, run end
    suspects = 1
  else
    others = others + 1
  end
  local expected = others * failureRate(g)
  if failures + suspects + expected + rules.CONFIDENCE_Z * math.sqrt(expected) <= maxFailures then return 0, failures, pending, run end
  return math.min(untilOldest, rules.PROBATION_POLL_MS), failures, pending, run
end

-- A send let through: its seq, and its member in the unanswered. After stopAfter failures in a row,
-- every send is held for HOLD_FIRST_MS, doubling with each send let through up to HOLD_MAX_MS.
local function grant(g, pt, ps, r, now, worker, stopAfter)
  local seq = redis.call('HINCRBY', g, 'seq', 1)
  local member = seq .. '|' .. worker
  redis.call('ZADD', pt, now, member)
  redis.call('ZADD', ps, seq, member)
  if redis.call('ZCARD', r) >= stopAfter then
    local held = num(redis.call('HGET', g, 'holdMs'), nil)
    local holdMs = rules.HOLD_FIRST_MS
    if held ~= nil then holdMs = math.min(rules.HOLD_MAX_MS, held * 2) end
    redis.call('HSET', g, 'holdMs', holdMs, 'holdUntil', now + holdMs)
  end
  return seq
end

-- An answer joins the latest answers (a: newest first); the MEMORY_ANSWERS + 1st and the
-- RECENT_ANSWERS + 1st leave the two counts.
local function remember(g, a, failed)
  local answered = redis.call('HINCRBY', g, 'answered', 1) - 1
  redis.call('LPUSH', a, failed)
  redis.call('HINCRBY', g, 'failedAnswers', failed)
  redis.call('HINCRBY', g, 'failedRecently', failed)
  -- (Only a leaving 1 changes a count: HINCRBY refuses "-0".)
  if answered >= rules.RECENT_ANSWERS and redis.call('LINDEX', a, rules.RECENT_ANSWERS) == '1' then redis.call('HINCRBY', g, 'failedRecently', -1) end
  if answered >= rules.MEMORY_ANSWERS and redis.call('RPOP', a) == '1' then redis.call('HINCRBY', g, 'failedAnswers', -1) end
end

-- The answer to the send `member` (seq, sent at sentAt): result 'success' | 'failure' | 'neutral';
-- exempt: explained by its account; probe: a suspended account's probe; owner as healthSettle's;
-- order: this answer's place among the scope's answers (settle's counter); established: its account had
-- succeeded before the send.
local function guardSettle(g, f, r, a, member, seq, sentAt, result, exempt, probe, owner, now, order, established)
  if result == 'failure' and owner == 'account' and established and not probe and seq > num(redis.call('HGET', g, 'lastRevoked'), -1) then
    redis.call('HSET', g, 'lastRevoked', seq)
  end
  if result == 'failure' and exempt then
    -- Explained by its account: it counts towards Merge's limit and never starts a probation. A row's
    -- failure on a new account still says how often rows fail (an account-level one, or a probe's, not).
    redis.call('ZADD', f, sentAt, member)
    if not probe and owner ~= 'account' then remember(g, a, 1) end
    if not probe and seq > num(redis.call('HGET', g, 'lastSuccess'), -1) then redis.call('ZADD', r, seq, member) end
  elseif result ~= 'neutral' then
    local failed = 0
    if result == 'failure' then failed = 1 end
    remember(g, a, failed)
    local took = math.max(1, now - sentAt)
    local field = 'successMs'
    if failed == 1 then field = 'failureMs' end
    local mean = num(redis.call('HGET', g, field), nil)
    if mean == nil then mean = took else mean = mean + rules.LATENCY_WEIGHT * (took - mean) end
    if failed == 1 then redis.call('HSET', g, field, mean) else redis.call('HSET', g, field, mean, 'okOrder', order) end
    local since = num(redis.call('HGET', g, 'probSince'), -1)
    local lastFailure = num(redis.call('HGET', g, 'probLast'), -1)
    if failed == 0 then
      if seq > num(redis.call('HGET', g, 'lastSuccess'), -1) then
        redis.call('HSET', g, 'lastSuccess', seq)
        redis.call('ZREMRANGEBYSCORE', r, '-inf', seq)
        redis.call('HDEL', g, 'holdMs', 'holdUntil')
      end
      -- Only a request sent after the latest failure says the cause has passed.
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
end
