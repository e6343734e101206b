#!/usr/bin/env python3
"""Generate ferredis's command table (src/commands.rs) from the real redis-server 7.0.15.

Redis generates its commands.c from JSON files; we generate ours from what the real binary
reports about itself, so the table is Redis's by construction:

  * COMMAND INFO  -> name, arity, flags, ACL categories, tips, key specs, subcommands;
  * COMMAND DOCS  -> group and since (nothing else: we do not copy Redis's prose);
  * the running server's own static command table, read from /proc/<pid>/mem, for the four
    flags COMMAND INFO hides on purpose (may_replicate, sentinel, only_sentinel, protected).
    The reader locates the table by itself and cross-checks every visible flag bit against
    COMMAND INFO before trusting a hidden one, so a wrong guess about the layout aborts.

Usage:
  python3 scripts/gen_commands.py               # writes src/commands.rs and runs rustfmt
  python3 scripts/gen_commands.py --reference   # also dumps raw COMMAND INFO replies to
                                                # tests/data/command_info/<name>.resp

Standard library only. Needs redis-server 7.0.15 on PATH (Debian: apt-get install redis-server)
and rustfmt; reading the child's memory needs the usual same-user ptrace rights.
"""

import argparse
import collections
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED_VERSION = "7.0.15"
REFERENCE_NAMES = [
    "get", "set", "del", "config", "client", "expire", "command",
    "ping", "echo", "incr", "mset", "object", "scan",
]

# Redis: server.h CMD_* bits (same values as src/command_def.rs).
CMD_FLAG_BITS = collections.OrderedDict([
    ("write", ("CMD_WRITE", 1 << 0)),
    ("readonly", ("CMD_READONLY", 1 << 1)),
    ("denyoom", ("CMD_DENYOOM", 1 << 2)),
    ("module", ("CMD_MODULE", 1 << 3)),
    ("admin", ("CMD_ADMIN", 1 << 4)),
    ("pubsub", ("CMD_PUBSUB", 1 << 5)),
    ("noscript", ("CMD_NOSCRIPT", 1 << 6)),
    ("blocking", ("CMD_BLOCKING", 1 << 8)),
    ("loading", ("CMD_LOADING", 1 << 9)),
    ("stale", ("CMD_STALE", 1 << 10)),
    ("skip_monitor", ("CMD_SKIP_MONITOR", 1 << 11)),
    ("skip_slowlog", ("CMD_SKIP_SLOWLOG", 1 << 12)),
    ("asking", ("CMD_ASKING", 1 << 13)),
    ("fast", ("CMD_FAST", 1 << 14)),
    ("no_auth", ("CMD_NO_AUTH", 1 << 15)),
    ("may_replicate", ("CMD_MAY_REPLICATE", 1 << 16)),
    ("sentinel", ("CMD_SENTINEL", 1 << 17)),
    ("only_sentinel", ("CMD_ONLY_SENTINEL", 1 << 18)),
    ("no_mandatory_keys", ("CMD_NO_MANDATORY_KEYS", 1 << 19)),
    ("protected", ("CMD_PROTECTED", 1 << 20)),
    ("no_async_loading", ("CMD_NO_ASYNC_LOADING", 1 << 23)),
    ("no_multi", ("CMD_NO_MULTI", 1 << 24)),
    ("allow_busy", ("CMD_ALLOW_BUSY", 1 << 26)),
])
MOVABLE_KEYS = "movablekeys"
MOVABLE_KEYS_BIT = 1 << 25
# Flags Redis 7.0 keeps out of COMMAND INFO; they come from the in-memory table instead.
HIDDEN_FLAGS = ["may_replicate", "sentinel", "only_sentinel", "protected"]
# Bits we expect never to see on a built-in command (module-only flags).
MODULE_ONLY_BITS = (1 << 3) | (1 << 21) | (1 << 22) | (1 << 27)

ACL_CATEGORY_NAMES = [
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
    "dangerous", "connection", "transaction", "scripting",
]

KEY_SPEC_FLAGS = collections.OrderedDict([
    ("RO", "CMD_KEY_RO"), ("RW", "CMD_KEY_RW"), ("OW", "CMD_KEY_OW"), ("RM", "CMD_KEY_RM"),
    ("access", "CMD_KEY_ACCESS"), ("update", "CMD_KEY_UPDATE"), ("insert", "CMD_KEY_INSERT"),
    ("delete", "CMD_KEY_DELETE"), ("not_key", "CMD_KEY_NOT_KEY"),
    ("incomplete", "CMD_KEY_INCOMPLETE"), ("variable_flags", "CMD_KEY_VARIABLE_FLAGS"),
])


class GenError(Exception):
    pass


# ----------------------------------------------------------------------------------------
# RESP2 over a raw socket


class RedisError(Exception):
    pass


class RespConnection:
    """A blocking RESP2 client that can also hand back the raw bytes of a reply."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        self.sock.close()

    def send(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg.encode() if isinstance(arg, str) else arg
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))

    def call(self, *args):
        self.send(*args)
        value = self._read_value()
        self._compact()
        if isinstance(value, RedisError):
            raise value
        return value

    def call_raw(self, *args):
        self.send(*args)
        start = self.pos
        self._read_value()
        raw = bytes(self.buf[start:self.pos])
        self._compact()
        return raw

    def _compact(self):
        del self.buf[:self.pos]
        self.pos = 0

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise GenError("server closed the connection")
        self.buf += chunk

    def _read_line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self._fill()

    def _read_exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n + 2
        return data

    def _read_value(self):
        line = self._read_line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._read_exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read_value() for _ in range(n)]
        raise GenError("unexpected RESP type byte %r" % kind)


def pairs_to_dict(flat):
    """RESP2 renders maps as flat [k1, v1, k2, v2, ...] arrays."""
    if flat is None:
        return {}
    if len(flat) % 2:
        raise GenError("odd-length map reply: %r" % (flat,))
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


# ----------------------------------------------------------------------------------------
# The real server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealServer:
    def __init__(self, binary):
        self.binary = binary
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="gen_commands-")
        self.proc = None

    def __enter__(self):
        argv = [self.binary, "--save", "", "--port", str(self.port), "--dir", self.workdir,
                "--bind", "127.0.0.1", "--daemonize", "no", "--logfile", ""]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise GenError("redis-server exited with status %d" % self.proc.returncode)
            try:
                conn = RespConnection(self.port)
                conn.call("PING")
                return conn
            except OSError:
                time.sleep(0.05)
        raise GenError("redis-server did not come up on port %d" % self.port)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for name in os.listdir(self.workdir):
            os.unlink(os.path.join(self.workdir, name))
        os.rmdir(self.workdir)


# ----------------------------------------------------------------------------------------
# Reading the hidden flags out of the running server's static command table


class ProcessMemory:
    def __init__(self, pid):
        self.pid = pid
        self.mem = open("/proc/%d/mem" % pid, "rb", buffering=0)
        exe = os.path.realpath("/proc/%d/exe" % pid)
        self.regions = []  # (start, end, perms) of the executable's own mappings
        with open("/proc/%d/maps" % pid) as maps:
            for line in maps:
                fields = line.split()
                if len(fields) >= 6 and os.path.realpath(fields[5]) == exe:
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    self.regions.append((start, end, fields[1]))
        if not self.regions:
            raise GenError("cannot find the executable's mappings of pid %d" % pid)

    def read(self, addr, n):
        try:
            self.mem.seek(addr)
            return self.mem.read(n)
        except (OSError, ValueError, OverflowError):
            return None

    def u64(self, addr):
        data = self.read(addr, 8)
        return struct.unpack("<Q", data)[0] if data and len(data) == 8 else None

    def i32(self, addr):
        data = self.read(addr, 4)
        return struct.unpack("<i", data)[0] if data and len(data) == 4 else None

    def cstr(self, addr, limit=256):
        data = self.read(addr, limit) if addr else None
        if not data or b"\0" not in data:
            return None
        try:
            return data[:data.index(b"\0")].decode("ascii")
        except UnicodeDecodeError:
            return None

    def region_bytes(self, want_write):
        for start, end, perms in self.regions:
            if ("w" in perms) == want_write and perms.startswith("r"):
                data = self.read(start, end - start)
                if data:
                    yield start, data


def find_all(haystack, needle):
    i = haystack.find(needle)
    while i >= 0:
        yield i
        i = haystack.find(needle, i + 1)


class StaticTable:
    """Redis's `struct redisCommand` array in the live process, with the layout discovered
    from facts we already know (summaries, names, arities, visible flags)."""

    def __init__(self, mem, stride, subcommands_off, flags_off, arity_off):
        self.mem = mem
        self.stride = stride
        self.subcommands_off = subcommands_off
        self.flags_off = flags_off
        self.arity_off = arity_off

    def name(self, entry):
        return self.mem.cstr(self.mem.u64(entry) or 0)

    def flags(self, entry):
        return self.mem.u64(entry + self.flags_off)

    def arity(self, entry):
        return self.mem.i32(entry + self.arity_off)

    def walk(self, first):
        """Entries of one array, from its first entry up to the {0} terminator."""
        entries = {}
        entry = first
        while True:
            name = self.name(entry)
            if not name or not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
                return entries
            entries[name] = entry
            entry += self.stride

    def subcommands(self, entry):
        first = self.mem.u64(entry + self.subcommands_off)
        return self.walk(first) if first else {}


def locate_summary_pointers(mem, docs):
    """Where each command's `summary` pointer field lives, for commands whose summary
    string and pointer are both unique in the binary."""
    rodata = list(mem.region_bytes(want_write=False))
    rwdata = list(mem.region_bytes(want_write=True))
    found = {}
    for name, doc in docs.items():
        summary = doc.get("summary")
        if not summary:
            continue
        needle = summary.encode() + b"\0"
        addrs = [base + i for base, data in rodata for i in find_all(data, needle)]
        locs = [base + i for addr in addrs for base, data in rwdata
                for i in find_all(data, struct.pack("<Q", addr)) if i % 8 == 0]
        if len(locs) == 1:
            found[name] = locs[0]
    if len(found) < 20:
        raise GenError("found only %d summary pointers in the live table" % len(found))
    return found


def discover_layout(mem, infos, docs):
    """Work out stride and field offsets of struct redisCommand, and the main table."""
    locs = locate_summary_pointers(mem, docs)
    ordered = sorted(locs.values())
    gaps = collections.Counter(b - a for a, b in zip(ordered, ordered[1:]))
    stride = gaps.most_common(1)[0][0]
    summary_off = next((off for off in range(8, stride, 8)
                        if sum(mem.cstr(mem.u64(loc - off) or 0) == name
                               for name, loc in locs.items()) == len(locs)), None)
    if summary_off is None:
        raise GenError("could not find the name field at offset 0 of the struct")
    any_entry = next(iter(locs.values())) - summary_off
    table = StaticTable(mem, stride, 0, 0, 0)
    start = any_entry
    while table.walk(start - stride):
        start -= stride
    main = table.walk(start)
    missing = set(infos) - set(main)
    if missing:
        raise GenError("static table walk missed: %s" % sorted(missing))
    table.arity_off = pick_offset(mem, main, infos, stride, 4,
                                  lambda v, info: v == info["arity"], signed=True)
    table.flags_off = pick_offset(mem, main, infos, stride, 8, flags_agree)
    with_subs = [n for n in infos if infos[n]["subcommands"]]
    table.subcommands_off = next(
        (off for off in range(8, stride, 8)
         if all(set(StaticTable(mem, stride, off, 0, 0).subcommands(main[n]))
                >= set(infos[n]["subcommands"]) for n in with_subs)), None)
    if table.subcommands_off is None:
        raise GenError("could not find the subcommands field of the struct")
    return table, main


def pick_offset(mem, entries, infos, stride, width, agrees, signed=False):
    for off in range(0, stride, width):
        ok = True
        for name, info in infos.items():
            value = mem.i32(entries[name] + off) if signed else mem.u64(entries[name] + off)
            if value is None or not agrees(value, info):
                ok = False
                break
        if ok:
            return off
    raise GenError("no struct field agrees with COMMAND INFO (width %d)" % width)


VISIBLE_MASK = sum(bit for name, (_, bit) in CMD_FLAG_BITS.items() if name not in HIDDEN_FLAGS)


def flags_agree(value, info):
    visible = sum(CMD_FLAG_BITS[f][1] for f in info["flags"])
    movable = bool(value & MOVABLE_KEYS_BIT)
    return (value & VISIBLE_MASK) == visible and movable == info["movablekeys"]


def hidden_flags_of(table, entry, info, path):
    value = table.flags(entry)
    if value is None or not flags_agree(value, info):
        raise GenError("%s: in-memory flags disagree with COMMAND INFO" % path)
    if value & MODULE_ONLY_BITS:
        raise GenError("%s: unexpected module-only flag bits %#x" % (path, value))
    return [f for f in HIDDEN_FLAGS if value & CMD_FLAG_BITS[f][1]]


def attach_hidden_flags(pid, infos, docs):
    mem = ProcessMemory(pid)
    try:
        attach_hidden_flags_from(mem, infos, docs)
    finally:
        mem.mem.close()


def attach_hidden_flags_from(mem, infos, docs):
    table, main = discover_layout(mem, infos, docs)
    for name, info in infos.items():
        info["hidden"] = hidden_flags_of(table, main[name], info, name)
        subs = table.subcommands(main[name])
        for subname, sub in info["subcommands"].items():
            if table.arity(subs[subname]) != sub["arity"]:
                raise GenError("%s|%s: arity disagrees" % (name, subname))
            sub["hidden"] = hidden_flags_of(table, subs[subname], sub, name + "|" + subname)


# ----------------------------------------------------------------------------------------
# Turning replies into table entries


def parse_key_spec(reply):
    spec = pairs_to_dict(reply)
    unknown = set(spec) - {"notes", "flags", "begin_search", "find_keys"}
    if unknown:
        raise GenError("unknown key spec fields %s" % sorted(unknown))
    for flag in spec["flags"]:
        if flag not in KEY_SPEC_FLAGS:
            raise GenError("unknown key spec flag %r" % flag)
    bs = pairs_to_dict(spec["begin_search"])
    fk = pairs_to_dict(spec["find_keys"])
    return {
        "notes": spec.get("notes", ""),
        "flags": spec["flags"],
        "begin_search": (bs["type"], pairs_to_dict(bs["spec"])),
        "find_keys": (fk["type"], pairs_to_dict(fk["spec"])),
    }


def parse_info(reply):
    """One COMMAND INFO entry: [name, arity, flags, first, last, step, acl, tips, specs, subs]."""
    if len(reply) != 10:
        raise GenError("COMMAND INFO entry with %d fields: %r" % (len(reply), reply[:1]))
    name, arity, flags, _first, _last, _step, acl, tips, specs, subs = reply
    for flag in flags:
        if flag not in CMD_FLAG_BITS and flag != MOVABLE_KEYS:
            raise GenError("%s: unknown command flag %r" % (name, flag))
        if flag in HIDDEN_FLAGS:
            raise GenError("%s: COMMAND INFO now shows %r; revisit HIDDEN_FLAGS" % (name, flag))
    for cat in acl:
        if not cat.startswith("@") or cat[1:] not in ACL_CATEGORY_NAMES:
            raise GenError("%s: unknown ACL category %r" % (name, cat))
    return {
        "fullname": name,
        "name": name.split("|")[-1].lower(),
        "arity": arity,
        "flags": [f for f in flags if f != MOVABLE_KEYS],
        "movablekeys": MOVABLE_KEYS in flags,
        "acl": [c[1:] for c in acl],
        "tips": tips,
        "key_specs": [parse_key_spec(s) for s in specs],
        "subcommands": {s["name"]: s for s in map(parse_info, subs)},
    }


def attach_docs(infos, docs):
    def attach(info, doc):
        for field in ("group", "since"):
            if field not in doc:
                raise GenError("%s: COMMAND DOCS has no %s" % (info["fullname"], field))
            info[field] = doc[field]
        subdocs = {k.split("|")[-1]: pairs_to_dict(v)
                   for k, v in pairs_to_dict(doc.get("subcommands")).items()}
        for subname, sub in info["subcommands"].items():
            attach(sub, subdocs.get(subname, {}))

    for name, info in infos.items():
        attach(info, docs[name])


def fetch_everything(conn):
    version = parse_info_text(conn.call("INFO", "server")).get("redis_version")
    if version != EXPECTED_VERSION:
        raise GenError("redis-server is %s, expected %s" % (version, EXPECTED_VERSION))
    count = conn.call("COMMAND", "COUNT")
    infos = {}
    for reply in conn.call("COMMAND", "INFO"):
        info = parse_info(reply)
        infos[info["name"]] = info
    if len(infos) != count:
        raise GenError("COMMAND INFO gave %d commands, COMMAND COUNT says %d"
                       % (len(infos), count))
    docs = {k.lower(): pairs_to_dict(v)
            for k, v in pairs_to_dict(conn.call("COMMAND", "DOCS")).items()}
    attach_docs(infos, docs)
    return infos, docs


def parse_info_text(text):
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


# ----------------------------------------------------------------------------------------
# Rust output


def rust_str(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % escaped


def or_list(names, zero="0"):
    return " | ".join(names) if names else zero


def command_flags_expr(info):
    present = set(info["flags"]) | set(info["hidden"])
    return or_list([const for name, (const, _) in CMD_FLAG_BITS.items() if name in present])


def acl_expr(info):
    return or_list(["ACL_CATEGORY_" + c.upper() for c in info["acl"]])


def begin_search_expr(kind, spec):
    if kind == "index":
        return "BeginSearch::Index(%d)" % spec["index"]
    if kind == "keyword":
        return "BeginSearch::Keyword { keyword: %s, startfrom: %d }" % (
            rust_str(spec["keyword"]), spec["startfrom"])
    if kind == "unknown" and not spec:
        return "BeginSearch::Unknown"
    raise GenError("unknown begin_search %r %r" % (kind, spec))


def find_keys_expr(kind, spec):
    if kind == "range":
        return "FindKeys::Range { lastkey: %d, keystep: %d, limit: %d }" % (
            spec["lastkey"], spec["keystep"], spec["limit"])
    if kind == "keynum":
        return "FindKeys::Keynum { keynumidx: %d, firstkey: %d, keystep: %d }" % (
            spec["keynumidx"], spec["firstkey"], spec["keystep"])
    if kind == "unknown" and not spec:
        return "FindKeys::Unknown"
    raise GenError("unknown find_keys %r %r" % (kind, spec))


class LongStrings:
    """rustfmt leaves a whole item unformatted if one line cannot fit in 100 columns, and
    some key-spec notes are longer than that. So notes go in as short placeholders, rustfmt
    formats the table, and the real text is put back afterwards."""

    def __init__(self):
        self.texts = []

    def placeholder(self, text):
        if not text:
            return rust_str(text)
        self.texts.append(text)
        return '"@@NOTE_%d@@"' % (len(self.texts) - 1)

    def restore(self, source):
        for i, text in enumerate(self.texts):
            source = source.replace('"@@NOTE_%d@@"' % i, rust_str(text), 1)
        if "@@NOTE_" in source:
            raise GenError("a notes placeholder survived")
        return source


def key_spec_expr(ks, notes):
    flags = or_list([KEY_SPEC_FLAGS[f] for f in KEY_SPEC_FLAGS if f in ks["flags"]])
    return ("KeySpec { notes: %s, flags: %s, begin_search: %s, find_keys: %s }" % (
        notes.placeholder(ks["notes"]), flags, begin_search_expr(*ks["begin_search"]),
        find_keys_expr(*ks["find_keys"])))


def slice_expr(items):
    return "&[%s]" % "".join(item + ",\n" for item in items)


def command_expr(info, notes):
    comment = ""
    if info["movablekeys"]:
        comment = "// COMMAND INFO reports movablekeys (derived at runtime, not stored).\n"
    subs = [command_expr(info["subcommands"][k], notes) for k in sorted(info["subcommands"])]
    fields = [
        ("name", rust_str(info["name"])),
        ("group", rust_str(info["group"])),
        ("since", rust_str(info["since"])),
        ("arity", str(info["arity"])),
        ("flags", command_flags_expr(info)),
        ("acl_categories", acl_expr(info)),
        ("tips", slice_expr([rust_str(t) for t in info["tips"]])),
        ("key_specs", slice_expr([key_spec_expr(ks, notes) for ks in info["key_specs"]])),
        ("subcommands", slice_expr(subs)),
    ]
    body = "".join("%s: %s,\n" % f for f in fields)
    return "%sCommandDef {\n%s}" % (comment, body)


HEADER = """\
//! Redis: commands.c, the static command table (one `CommandDef` per command, subcommands
//! nested), sorted by name. Read-only data consulted by command lookup on the event loop.
//!
//! GENERATED by scripts/gen_commands.py from the real redis-server {version}
//! (COMMAND INFO, COMMAND DOCS group/since, and the server's in-memory table for the flags
//! COMMAND INFO hides). Do not edit by hand: re-run the script.

use crate::command_def::*;

"""


def render(infos, version, notes):
    entries = [command_expr(infos[name], notes) for name in sorted(infos)]
    return (HEADER.format(version=version)
            + "pub static COMMAND_TABLE: &[CommandDef] = %s;\n" % slice_expr(entries))


def write_table(infos, path):
    notes = LongStrings()
    with open(path, "w") as out:
        out.write(render(infos, EXPECTED_VERSION, notes))
    subprocess.run(["rustfmt", "--edition", "2021", path], check=True)
    with open(path) as src:
        source = notes.restore(src.read())
    with open(path, "w") as out:
        out.write(source)


def dump_references(conn, outdir):
    os.makedirs(outdir, exist_ok=True)
    for name in REFERENCE_NAMES:
        raw = conn.call_raw("COMMAND", "INFO", name)
        with open(os.path.join(outdir, name + ".resp"), "wb") as out:
            out.write(raw)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", action="store_true",
                        help="also dump raw COMMAND INFO replies for the reference names")
    parser.add_argument("--server", default="redis-server", help="redis-server binary")
    parser.add_argument("--out", default=os.path.join(ROOT, "src", "commands.rs"))
    parser.add_argument("--reference-dir",
                        default=os.path.join(ROOT, "tests", "data", "command_info"))
    args = parser.parse_args()
    server = RealServer(args.server)
    with server as conn:
        infos, docs = fetch_everything(conn)
        attach_hidden_flags(server.proc.pid, infos, docs)
        if args.reference:
            dump_references(conn, args.reference_dir)
        conn.close()
    write_table(infos, args.out)
    subs = sum(len(i["subcommands"]) for i in infos.values())
    print("wrote %s: %d commands, %d subcommands" % (args.out, len(infos), subs))
    hidden = collections.Counter(
        f for i in infos.values() for c in [i, *i["subcommands"].values()] for f in c["hidden"])
    print("flags hidden by COMMAND INFO, read from memory: %s" % dict(hidden))


if __name__ == "__main__":
    try:
        main()
    except GenError as err:
        sys.exit("gen_commands: %s" % err)
