--[[
  Shared by every script: Redis's clock, and a hash field read as a number.
]]

-- Redis's clock, epoch milliseconds, so that every worker of every machine sees one order of events.
-- TIME answers seconds and microseconds.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A field as a number, d when it is missing (HMGET answers false for a missing field).
local function num(v, d) if v == false or v == nil then return d end return tonumber(v) end

-- The time of what never happened: math.huge would not survive a round trip through a hash field.
local NEVER = -1e15
