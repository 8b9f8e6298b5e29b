--[[
  The rules' numbers, from ARGV[1] of every script that includes this: a JSON object made by
  src/queue/script-rules.ts from src/delivery/rules.ts (the numbers the in-process pacer, failure guard
  and account health use) and the fleet's own (polls, holds, expiries). Each is read here under the
  name it has there, so none is typed twice.
]]

local rules = cjson.decode(ARGV[1])
