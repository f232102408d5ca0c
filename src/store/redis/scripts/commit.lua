-- One step decided in Rust (store/redis/step.rs): runs its writes if every check still holds,
-- otherwise changes nothing. It knows no conversation rule: the checks are what the decision
-- read (the conversation's version, a counter, a load) and the writes are what it decided.
-- KEYS: every key the step checks or writes
-- ARGV[1]: JSON {"checks": [[command, key index, args..., expected reply]],
--                "writes": [[command, key index, args...]]}; key index 0 = no key (PUBLISH);
--          every argument and expected reply is a string ('' = no such field or key)
-- Returns: 1 written; 0 a check failed, nothing written.
local step = cjson.decode(ARGV[1])
local function call(op, last)
  local args = {}
  local k = tonumber(op[2])
  if k > 0 then args[1] = KEYS[k] end
  for i = 3, last do args[#args + 1] = op[i] end
  return redis.call(op[1], unpack(args))
end
for _, check in ipairs(step.checks) do
  local got = call(check, #check - 1)
  if tostring(got or '') ~= check[#check] then return 0 end
end
for _, write in ipairs(step.writes) do call(write, #write) end
return 1
