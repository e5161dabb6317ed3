-- Tables: arrays, sorting, metatables, inheritance, __index/__newindex, varargs, integer keys.
local t = {5, 3, 8, 1, 9, 2}
table.sort(t)
print(table.concat(t, " "))
table.sort(t, function(a, b) return a > b end)
print(table.concat(t, " "))
table.insert(t, 1, 100); table.insert(t, 7); print(table.remove(t), table.remove(t, 1), #t)
print(table.unpack({1, 2, 3}))
print(select("#", 1, nil, 3), select(2, "a", "b", "c"))
local packed = table.pack(1, nil, 3); print(packed.n)
print(table.concat(table.move({1, 2, 3}, 1, 3, 2, {9}), ","))
local keys = {}
local dict = {banana = 3, apple = 1, cherry = 2}
for k in pairs(dict) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do io.write(k, "=", dict[k], " ") end
print()
local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({x = x, y = y}, Vec) end
function Vec.__add(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
function Vec.__eq(a, b) return a.x == b.x and a.y == b.y end
function Vec.__tostring(v) return "(" .. v.x .. "," .. v.y .. ")" end
function Vec.__lt(a, b) return a.x < b.x end
function Vec:len2() return self.x * self.x + self.y * self.y end
local v = Vec.new(1, 2) + Vec.new(3, 4)
print(tostring(v), v:len2(), v == Vec.new(4, 6), Vec.new(1, 0) < Vec.new(2, 0))
local Animal = {}; Animal.__index = Animal
function Animal.new(name) return setmetatable({name = name}, Animal) end
function Animal:speak() return self.name .. " makes a sound" end
local Dog = setmetatable({}, {__index = Animal}); Dog.__index = Dog
function Dog.new(name) return setmetatable(Animal.new(name), Dog) end
function Dog:speak() return self.name .. " barks; " .. Animal.speak(self) end
print(Dog.new("rex"):speak())
local log = {}
local proxy = setmetatable({}, {__newindex = function(t, k, v) log[#log + 1] = k; rawset(t, k, v) end,
                                __index = function(_, k) return "default-" .. k end})
proxy.a = 1; proxy.b = 2; proxy.a = 3
print(table.concat(log, ","), proxy.a, proxy.zzz, rawget(proxy, "zzz"))
local calls = setmetatable({}, {__call = function(self, a, b) return a * b end, __len = function() return 77 end})
print(calls(6, 7), #calls)
local big = {}
for i = 1, 10000 do big[i] = i * i end
local sum = 0
for _, x in ipairs(big) do sum = sum + x end
print(#big, sum)
local weak = setmetatable({}, {__mode = "k"})
weak[{}] = 1
collectgarbage(); collectgarbage()
print(next(weak) == nil)
print(#{n = 1}, #{1, 2, nil, 4} >= 2, math.type(1), math.type(1.0), math.type("1"))
