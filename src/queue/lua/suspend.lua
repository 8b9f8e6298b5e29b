--[[
  suspend: suspends a linked account without a send (its meta says it cannot make requests). A
  suspension whose probe was due is re-armed with the back-off doubled.

  KEYS
    1 hk        the account's health (hash)
    2 hidx      the suspended accounts (sorted set)

  ARGV
    1 rules              the rules' numbers (JSON; see includes/rules.lua)
    2 account            the linked account
    3 reason             its meta's `linked_account_status`
    4 probeBackoffMs     the first wait before a suspended account's probe
    5 maxProbeBackoffMs  the longest wait between probes

  Returns { reason, since, probeAt }.
]]
--- @include "includes/health"

local account, detail = ARGV[2], ARGV[3]
local backoff0, maxBackoff = tonumber(ARGV[4]), tonumber(ARGV[5])
local now = nowMs()
local h = redis.call('HMGET', KEYS[1], 'susp', 'since', 'probeAt', 'backoff', 'count')
if h[1] ~= '1' then
  healthSuspend(KEYS[1], KEYS[2], account, detail, 0, now, backoff0)
  return { detail, tostring(now), tostring(now + backoff0) }
end
local probeAt, backoff = num(h[3], now), num(h[4], backoff0)
if now >= probeAt then
  backoff = math.min(maxBackoff, backoff * 2)
  probeAt = now + backoff
  redis.call('HSET', KEYS[1], 'backoff', backoff, 'probeAt', probeAt, 'probing', '', 'detail', detail)
end
return { healthReason(detail, h[5]), tostring(num(h[2], now)), tostring(probeAt) }
