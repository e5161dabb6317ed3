-- Strings: formatting, patterns, gsub with functions and tables, byte/char, utf8.
print(string.format("%5d|%-5s|%05.2f|%x|%q", 42, "ab", 3.14159, 255, "a\nb\"c"))
print(("hello world"):upper(), ("Hello"):lower(), #"hello", ("abc"):rep(3, "-"))
print(("  trim me  "):match("^%s*(.-)%s*$") .. "|")
for word, n in ("one=1, two=2, three=3"):gmatch("(%a+)=(%d+)") do io.write(word, ":", n * 2, " ") end
print()
print(("hello world"):gsub("o", "0"))
print(("$name is $age"):gsub("%$(%w+)", {name = "lua", age = "30"}))
print(("abc"):gsub("%w", function(c) return c:byte() .. "," end))
print(("x = 1 + 2"):find("%d"), ("x = 1 + 2"):find("+", 1, true))
print(string.byte("ABC", 1, -1), string.char(72, 105))
print(("%d items"):format(3), tostring(1e100), tostring(-0.0), 7 // 2, 7 % -3, 2^10, 10 / 4)
print(math.maxinteger, math.mininteger, math.maxinteger + 1 == math.mininteger)
print(utf8.char(72, 228, 8364, 128512), utf8.len("häll€"), #"häll€")
for p, c in utf8.codes("aé€") do io.write(p, "=", c, " ") end
print()
print(string.rep("ab", 0) == "", ("a,b,,c"):gsub(",", ";", 2))
local parts = {}
for field in ("a:b::c"):gmatch("([^:]*)") do parts[#parts + 1] = "[" .. field .. "]" end
print(table.concat(parts))
print(string.pack and #string.pack("i4i8", 1, 2), string.unpack("<i2", "\1\2"))
print(("%s|%10.3s|"):format(nil, "abcdef"), tostring(true), tonumber("0x1F"), tonumber("z", 36), tonumber("  12  "))
