"""Helpers of Benchmarks/order-broker: the functions a running broker executes, as symbol names
for lld's --symbol-ordering-file (one per line).

  order.py callgrind OUT EXE           every function callgrind saw EXE execute (callgrind OUT file)
  order.py faults DATA EXE MAP ORDER   appends to ORDER one symbol of each code section of EXE that
                                       the broker faulted into (perf DATA, `-e page-faults -d`) and
                                       that ORDER does not place yet (MAP: lld's -Map of EXE)

callgrind names the functions a thread enters by a call; code reached by a tail call or a jump is
counted in its caller's name, so it is found the second way: by the page faults the broker still
takes outside the sections the order places together."""
import bisect, os, re, subprocess, sys


def symbols(exe):
    """(address, name) of EXE's code symbols, by address."""
    listing = subprocess.run(["nm", "--defined-only", exe], capture_output=True, text=True, check=True).stdout
    return sorted((int(fields[0], 16), fields[2]) for fields in (line.split() for line in listing.splitlines())
                  if len(fields) == 3 and fields[1] in "tTwW")


def from_callgrind(out, exe):
    names, current = set(), None
    real = os.path.realpath(exe)
    for line in open(out):
        if line.startswith("ob="):
            current = os.path.realpath(line[3:].strip()) if line[3:].strip().startswith("/") else None
        elif line.startswith("fn=") and current == real:
            name = re.sub(r"'\d+$", "", line[3:].strip())   # callgrind marks recursion levels as NAME'2
            if not name.startswith("0x"):                    # code without a symbol cannot be named
                names.add(name)
    known = {name for _, name in symbols(exe)}
    return sorted(names & known)


def code_sections(map_file):
    """(address, size) of each input section lld placed in .text, by address."""
    sections, output = [], None
    for line in open(map_file):
        match = re.match(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s(\s*)(.*)$", line)
        if not match:
            continue
        address, size, indent, rest = int(match.group(1), 16), int(match.group(2), 16), len(match.group(3)), match.group(4)
        if indent == 0:
            output = rest.strip()
        elif indent == 8 and output == ".text" and size > 0:
            sections.append((address, size))
    return sorted(sections)


def fault_addresses(data, exe):
    """Virtual addresses (as in EXE's symbol table) of the instruction fetches that faulted in EXE."""
    real = os.path.realpath(exe)
    mappings = []
    events = subprocess.run(["perf", "script", "-i", data, "--show-mmap-events"], capture_output=True, text=True, check=True).stdout
    for line in events.splitlines():
        match = re.search(r"PERF_RECORD_MMAP2? .*\[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ (0x[0-9a-f]+|0) .* (/\S+)$", line)
        if match and os.path.realpath(match.group(4)) == real:
            mappings.append((int(match.group(1), 16), int(match.group(2), 16), int(match.group(3), 16)))
    segments = []
    for line in subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.split()
        if fields and fields[0] == "LOAD":
            segments.append((int(fields[1], 16), int(fields[2], 16), int(fields[4], 16)))
    samples = subprocess.run(["perf", "script", "-i", data, "-F", "addr,ip"], capture_output=True, text=True, check=True).stdout
    for line in samples.splitlines():
        fields = line.split()
        if len(fields) != 2 or fields[0] != fields[1]:
            continue   # a data access, not an instruction fetch
        address = int(fields[0], 16)
        for start, length, offset in mappings:
            if start <= address < start + length:
                file_offset = address - start + offset
                for segment_offset, virtual, size in segments:
                    if segment_offset <= file_offset < segment_offset + size:
                        yield file_offset - segment_offset + virtual


def from_faults(data, exe, map_file, order_file):
    sections = code_sections(map_file)
    starts = [address for address, _ in sections]
    named = symbols(exe)
    addresses = [address for address, _ in named]
    placed = set(open(order_file).read().split())
    added, seen = [], set()
    for address in fault_addresses(data, exe):
        index = bisect.bisect_right(starts, address) - 1
        if index < 0 or address >= starts[index] + sections[index][1] or index in seen:
            continue
        seen.add(index)
        low, high = sections[index][0], sections[index][0] + sections[index][1]
        first = bisect.bisect_left(addresses, low)
        inside = [name for _, name in named[first:bisect.bisect_left(addresses, high)]]
        if inside and not placed.intersection(inside):
            added.append(inside[0])   # one name moves the whole section
            placed.add(inside[0])
    with open(order_file, "a") as handle:
        handle.writelines(name + "\n" for name in added)
    print(f"order.py: {len(seen)} code sections faulted into, {len(added)} of them newly placed", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:2] == ["callgrind"] and len(sys.argv) == 4:
        print("\n".join(from_callgrind(sys.argv[2], sys.argv[3])))
    elif sys.argv[1:2] == ["faults"] and len(sys.argv) == 6:
        from_faults(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
