-- Coroutines: generators, passing values both ways, status, wrap, errors inside, yield across pcall.
local function range(n)
  return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end)
end
local parts = {}
for i in range(5) do parts[#parts + 1] = i end
print(table.concat(parts, " "))
local co = coroutine.create(function(a, b)
  print("start", a, b)
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  print("got", d, e)
  return "done", d + e
end)
print(coroutine.resume(co, 1, 2))
print(coroutine.status(co))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, 3, 4))
print(coroutine.status(co), coroutine.resume(co))
local bad = coroutine.create(function() error("inside", 0) end)
print(coroutine.resume(bad))
print(coroutine.isyieldable(), select(2, coroutine.running()))
local producer = coroutine.create(function()
  for _, item in ipairs({"a", "b", "c"}) do coroutine.yield(item) end
end)
local function consumer()
  local got = {}
  while true do
    local ok, item = coroutine.resume(producer)
    if not item then break end
    got[#got + 1] = item
  end
  return table.concat(got)
end
print(consumer())
local co2 = coroutine.wrap(function()
  local ok, v = pcall(function() local x = coroutine.yield("from pcall"); error("after " .. x, 0) end)
  coroutine.yield(tostring(ok) .. " " .. v)
  return "end"
end)
print(co2()); print(co2("resume")); print(co2())
local function permgen(a, n)
  n = n or #a
  if n <= 1 then coroutine.yield(a) else
    for i = 1, n do a[n], a[i] = a[i], a[n]; permgen(a, n - 1); a[n], a[i] = a[i], a[n] end
  end
end
local count = 0
for p in coroutine.wrap(function() permgen({1, 2, 3, 4}) end) do count = count + 1 end
print("permutations", count)
local closable = coroutine.create(function() coroutine.yield() end)
coroutine.resume(closable)
print(coroutine.close(closable), coroutine.status(closable))
