# Counts the instructions of one trip through a kernel path, per function,
# by single-stepping the guest in gdb (under -icount shift=0 a tick is an
# instruction, so this explains the figures ./mica bench prints).
#
#   ./mica run --cmdline "init=bench" --debug &        (waits for gdb)
#   MICA_PROFILE_START=ipc_fastpath_call MICA_PROFILE_SKIP=50 \
#     gdb -q -batch -x tools/gdb_path_profile.py build/kernel/kernel.elf
#
# Or, to profile a program already running (QEMU started with -s):
#   ./mica run --qemu-arg -s        (and start the program from the shell)
#   MICA_PROFILE_START="sys_ipc_call if label == 530" MICA_PROFILE_DETACH=1 \
#     MICA_PROFILE_USER=build/servers/ext2fs/ext2fs gdb -q -batch -x ...
#
# It stops at the SKIP-th arrival at START, then steps until it arrives there
# again, and prints the instruction count per function and in order.
import collections
import os

import gdb

start_symbol = os.environ.get("MICA_PROFILE_START", "ipc_fastpath_call")
skip = int(os.environ.get("MICA_PROFILE_SKIP", "50"))
limit = int(os.environ.get("MICA_PROFILE_LIMIT", "20000"))
# MICA_PROFILE_DETAIL=FUNCTION: also the count per source line of that function.
detail = os.environ.get("MICA_PROFILE_DETAIL")
lines = collections.Counter()

gdb.execute("set pagination off")
# MICA_PROFILE_USER=ELF: name user-mode instructions by that program's symbols
# (programs share link addresses: only meaningful for the one of interest).
if os.environ.get("MICA_PROFILE_USER"):
    gdb.execute(f"add-symbol-file {os.environ['MICA_PROFILE_USER']}", to_string=True)
gdb.execute("target remote :1234")
gdb.execute(f"hbreak {start_symbol}")
for _ in range(skip + 1):
    gdb.execute("continue", to_string=True)
gdb.execute("delete")
counts, order = collections.Counter(), []
start = int(gdb.parse_and_eval("$pc"))
steps = 0
while steps < limit:
    pc = int(gdb.parse_and_eval("$pc"))
    if steps > 10 and pc == start:
        break
    where = gdb.execute(f"info symbol {pc}", to_string=True).split(" in section")[0]
    name = where.split(" + ")[0].strip() if "No symbol" not in where else (
        "user" if pc < 0x800000000000 else hex(pc))
    counts[name] += 1
    if detail and name.startswith(detail):
        lines[gdb.execute(f"info line *{pc}", to_string=True).split(" and ends")[0].split(" starts at")[0]] += 1
    if not order or order[-1][0] != name:
        order.append([name, 0])
    order[-1][1] += 1
    gdb.execute("stepi", to_string=True)
    steps += 1
print("TOTAL", steps)
for name, n in counts.most_common():
    print(f"{n:6d} {name}")
if detail:
    print(f"LINES of {detail}")
    for where, n in sorted(lines.items()):
        print(f"{n:6d} {where}")
print("SEQUENCE")
for name, n in order:
    print(f"{n:5d} {name}")
# MICA_PROFILE_DETACH=1 leaves the guest running (QEMU started with -s, not
# halted: another trip can be profiled without a new boot).
gdb.execute("detach" if os.environ.get("MICA_PROFILE_DETACH") else "kill", to_string=True)
