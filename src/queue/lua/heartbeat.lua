--[[
  heartbeat: marks a worker alive for the failure guard, on Redis's clock (a worker silent for
  deadAfterMs has its requests in flight dropped by admit).

  KEYS
    1 w         the workers' heartbeats (sorted set: worker -> last beat)

  ARGV
    1 worker    the worker's name in the guard's records

  Returns 1.
]]
--- @include "includes/base"

redis.call('ZADD', KEYS[1], nowMs(), ARGV[1])
return 1
