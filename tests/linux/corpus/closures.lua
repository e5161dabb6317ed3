-- Closures, upvalues, recursion, varargs, goto, error handling.
local function counter()
  local n = 0
  return function() n = n + 1; return n end, function() return n end
end
local inc, get = counter()
inc(); inc(); inc()
print(get())
local fns = {}
for i = 1, 3 do fns[i] = function() return i * 10 end end
print(fns[1](), fns[2](), fns[3]())
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print(fib(20))
local function memo(f)
  local cache = {}
  return function(n) local v = cache[n]; if not v then v = f(n); cache[n] = v end; return v end
end
local mfib; mfib = memo(function(n) if n < 2 then return n end return mfib(n - 1) + mfib(n - 2) end)
print(mfib(80))
local function sum(...) local s = 0; for _, v in ipairs({...}) do s = s + v end; return s, select("#", ...) end
print(sum(1, 2, 3, 4))
local function compose(f, g) return function(...) return f(g(...)) end end
print(compose(function(x) return x * 2 end, function(x, y) return x + y end)(3, 4))
for i = 1, 3 do
  for j = 1, 3 do
    if j == 2 then goto continue end
    io.write(i, j, " ")
    ::continue::
  end
end
print()
print(pcall(error, "plain"))
local ok1, e1 = pcall(error, {code = 7})
print(ok1, e1.code)
local custom = setmetatable({}, {__tostring = function() return "custom" end})
print(tostring(select(2, pcall(error, custom))))
local ok, msg = pcall(function() local x = nil; return x.field end)
print(ok, (msg:gsub("^.-:%d+: ", "")))
print(xpcall(function() error("deep", 0) end, function(m) return "handled: " .. m end))
local function thrower(n) if n == 0 then error("bottom", 0) end return thrower(n - 1) end
print(pcall(thrower, 100))
local ok2, e2 = pcall(string.rep)
print(ok2, (e2:gsub("^.-: ", "")))
print(string.format("%.3f", (function(...) return select("#", ...) end)(nil, nil) / 3))
local deep = 0
local looping = setmetatable({}, {__index = function(t, k) deep = deep + 1; return t[k] end})
local ok3, e3 = pcall(function() return looping.x end)
print(ok3, e3:find("stack overflow") ~= nil, deep > 100)
local t = setmetatable({}, {__close = function() print("closed") end})
do local x <close> = t; print("in block") end
local c <const> = 5
print(c * 2)
