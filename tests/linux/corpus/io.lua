-- io: files in the working directory, lines, seek, append, read formats, popen, errors.
local f = assert(io.open("data.txt", "w"))
f:write("line one\n", "line two\n", 42, " ", 3.5, "\n")
for i = 1, 100 do f:write(string.format("row %03d\n", i)) end
f:close()
for line in io.lines("data.txt") do if not line:find("^row") then print(line) end end
local r = assert(io.open("data.txt", "r"))
print(r:read("l"), r:read("n"), r:read("n"))
print(r:seek("cur"), r:seek("set", 5), r:read(3), r:seek("end"))
r:seek("set")
local all = r:read("a")
print(#all, select(2, all:gsub("\n", "")))
print(r:read("a") == "", r:read("l") == nil)
r:close()
print(io.type(r), io.type(io.stdout), io.type(42))
local a = assert(io.open("data.txt", "a")); a:write("appended\n"); a:close()
local n = 0; local last
for l in io.lines("data.txt") do n = n + 1; last = l end
print(n, last)
print(io.open("no/such/file.txt"))
local rb = assert(io.open("bin.dat", "wb")); rb:write(string.char(0, 1, 2, 255)); rb:close()
local bytes = assert(io.open("bin.dat", "rb")):read("a")
print(#bytes, bytes:byte(1, -1))
local big = assert(io.open("big.txt", "w"))
big:setvbuf("full", 8192)
for i = 1, 5000 do big:write(i, "\n") end
big:close()
local s = 0
for l in io.lines("big.txt") do s = s + tonumber(l) end
print(s)
local p = assert(io.popen("echo from a shell; echo second"))
print(p:read("a"))
print(p:close())
local q = io.popen("exit 3"); print(q:close())
io.write("no newline", "\n")
io.stdout:flush()
io.stderr:write("to stderr\n")
local count = 0
for a, b in io.lines("data.txt", 1, 1) do count = count + 1; if count > 3 then break end end
print(count)
