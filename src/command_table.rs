//! The live command table: Redis's server.c populateCommandTable() and lookupCommand().
//!
//! Built once at start-up from the generated metadata in `commands.rs`: a command (or
//! subcommand) enters the table only when `command_procs.rs` binds a function to it, so
//! everything the table lists really runs. Per-command statistics (INFO commandstats) live
//! beside each entry.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::command_def::{CommandDef, CommandProc};

/// Redis: the per-command counters of struct redisCommand.
#[derive(Debug, Default, Clone)]
pub struct CommandStats {
    pub calls: u64,
    pub microseconds: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    /// Per-call latencies for INFO latencystats, allocated on the first call (Redis: latency_histogram).
    pub latency_histogram: Option<Box<crate::hdr_histogram::HdrHistogram>>,
}

/// Redis: struct redisCommand, the runtime part.
#[derive(Debug)]
pub struct Command {
    pub def: &'static CommandDef,
    /// "get", or "config|get" for a subcommand (Redis: fullname).
    pub fullname: String,
    /// None for a container command such as CONFIG, which only dispatches.
    pub proc_: Option<CommandProc>,
    pub parent: Option<usize>,
    pub subcommands: NameMap,
    pub stats: CommandStats,
}

/// What a lookup found.
pub enum Lookup {
    Found(usize),
    /// A container command with an unknown subcommand: Redis's "unknown subcommand" error.
    UnknownSubcommand(usize),
    Unknown,
}

/// Redis: server.commands.
#[derive(Debug, Default)]
pub struct CommandTable {
    pub cmds: Vec<Command>,
    by_name: NameMap,
}

/// Command and subcommand names (lower case) to table ids. Every request looks its name up
/// here; SipHash, std's default, cost ~300 instructions a lookup, FNV-1a ~60. The keys are
/// the server's own fixed names, so a client cannot choose colliding keys to insert.
pub type NameMap = HashMap<Vec<u8>, usize, BuildHasherDefault<NameHasher>>;

/// FNV-1a (64-bit) for the short names of [`NameMap`].
#[derive(Debug, Clone, Copy)]
pub struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // The length prefix `Hash for [u8]` adds: one multiply instead of eight bytes.
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl CommandTable {
    /// Redis: server.c populateCommandTable().
    pub fn populate(defs: &'static [CommandDef], bind: fn(&str) -> Option<CommandProc>) -> CommandTable {
        let mut table = CommandTable::default();
        for def in defs {
            table.add_command(def, bind);
        }
        table
    }

    fn add_command(&mut self, def: &'static CommandDef, bind: fn(&str) -> Option<CommandProc>) {
        let proc_ = bind(def.name);
        let bound_subs: Vec<(&'static CommandDef, CommandProc)> = def
            .subcommands
            .iter()
            .filter_map(|sub| bind(&format!("{}|{}", def.name, sub.name)).map(|p| (sub, p)))
            .collect();
        if proc_.is_none() && bound_subs.is_empty() {
            return;
        }
        let id = self.cmds.len();
        self.cmds.push(Command {
            def,
            fullname: def.name.to_string(),
            proc_,
            parent: None,
            subcommands: NameMap::default(),
            stats: CommandStats::default(),
        });
        self.by_name.insert(def.name.as_bytes().to_vec(), id);
        for (sub, sub_proc) in bound_subs {
            let sub_id = self.cmds.len();
            self.cmds.push(Command {
                def: sub,
                fullname: format!("{}|{}", def.name, sub.name),
                proc_: Some(sub_proc),
                parent: Some(id),
                subcommands: NameMap::default(),
                stats: CommandStats::default(),
            });
            self.cmds[id].subcommands.insert(sub.name.as_bytes().to_vec(), sub_id);
        }
    }

    /// Redis: server.c lookupCommandBySdsLogic() on a command's name (case-insensitive).
    pub fn lookup_by_name(&self, name: &[u8]) -> Option<usize> {
        let mut lower = [0u8; 32];
        let key = lowercase_into(&mut lower, name)?;
        self.by_name.get(key).copied()
    }

    /// Redis: server.c lookupCommand(): the command, or its subcommand for a container.
    pub fn lookup_command(&self, name: &[u8], arg1: Option<&[u8]>) -> Lookup {
        let Some(id) = self.lookup_by_name(name) else { return Lookup::Unknown };
        let cmd = &self.cmds[id];
        if cmd.def.subcommands.is_empty() {
            return Lookup::Found(id);
        }
        let Some(sub) = arg1 else {
            // A container alone: Redis reports it by its arity (all have arity -2).
            return Lookup::Found(id);
        };
        let mut lower = [0u8; 32];
        match lowercase_into(&mut lower, sub).and_then(|s| cmd.subcommands.get(s)) {
            Some(&sub_id) => Lookup::Found(sub_id),
            None => Lookup::UnknownSubcommand(id),
        }
    }

    pub fn get(&self, id: usize) -> Option<&Command> {
        self.cmds.get(id)
    }

    /// Top-level commands, in table order.
    pub fn top_level(&self) -> impl Iterator<Item = (usize, &Command)> {
        self.cmds.iter().enumerate().filter(|(_, c)| c.parent.is_none())
    }
}

/// Lower-cases a short name into `buf`; None for names longer than any command.
fn lowercase_into<'a>(buf: &'a mut [u8; 32], name: &[u8]) -> Option<&'a [u8]> {
    let out = buf.get_mut(..name.len())?;
    for (dst, src) in out.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> CommandTable {
        CommandTable::populate(crate::commands::COMMAND_TABLE, crate::command_procs::command_proc)
    }

    #[test]
    fn every_bound_name_is_found_in_any_case() {
        let t = table();
        for (id, cmd) in t.top_level() {
            let name = cmd.def.name;
            assert_eq!(t.lookup_by_name(name.as_bytes()), Some(id), "{name}");
            assert_eq!(t.lookup_by_name(name.to_uppercase().as_bytes()), Some(id), "{name}");
        }
        assert!(t.top_level().count() > 100);
    }

    #[test]
    fn unknown_names_are_not_found() {
        let t = table();
        for name in [&b""[..], b"gett", b"ge", b"get\0", b"config|get", b"\xff\xfe", &[b'x'; 100]] {
            assert_eq!(t.lookup_by_name(name), None, "{:?}", String::from_utf8_lossy(name));
        }
        assert!(matches!(t.lookup_command(b"CONFIG", Some(b"nope")), Lookup::UnknownSubcommand(_)));
        assert!(matches!(t.lookup_command(b"config", Some(b"GET")), Lookup::Found(id) if t.cmds[id].fullname == "config|get"));
        assert!(matches!(t.lookup_command(b"nosuch", None), Lookup::Unknown));
    }
}
