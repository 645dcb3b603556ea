"""Which shared libraries a folder's programs need that the folder does not hold
(perf/gpu/run.sh --check, on a machine without the CUDA driver, where the loader itself stops
at the first missing library): reads each ELF file's DT_NEEDED entries, and those of every
library they name, recursively, from the folder's lib/.

  python3 needed.py LIBDIR FILE... [--allow NAME ...]

Prints one line per missing library ("<needed by>: <name>") and exits 1 if there is any.
"""
import argparse
import os
import struct
import sys

DT_NEEDED, DT_STRTAB, PT_DYNAMIC, PT_LOAD = 1, 5, 2, 1


def needed(path):
    """The DT_NEEDED names of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads, dynamic = [], None
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return []
    entries, strtab = [], None
    for off in range(dynamic[0], dynamic[0] + dynamic[1], 16):
        tag, val = struct.unpack_from("<qQ", data, off)
        if tag == 0:
            break
        if tag == DT_NEEDED:
            entries.append(val)
        elif tag == DT_STRTAB:
            strtab = val
    # DT_STRTAB is a virtual address: the file offset from the segment that holds it
    base = next(off + strtab - vaddr for vaddr, off, size in loads if vaddr <= strtab < vaddr + size)
    return [data[base + e:data.index(b"\0", base + e)].decode() for e in entries]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("libdir")
    p.add_argument("files", nargs="+")
    p.add_argument("--allow", nargs="*", default=[], help="names that may be missing (the driver's)")
    a = p.parse_args()
    seen, missing, todo = set(), [], [(f, os.path.basename(f)) for f in a.files]
    while todo:
        path, who = todo.pop()
        for name in needed(path):
            if name in seen:
                continue
            seen.add(name)
            lib = os.path.join(a.libdir, name)
            if os.path.exists(lib):
                todo.append((lib, name))
            elif name not in a.allow and not name.startswith("ld-linux"):
                missing.append(f"{who}: {name}")
    for m in missing:
        print(m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
