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
    /// Given another name (or none) by rename-command: then `def.name` no longer finds it.
    pub renamed: bool,
    /// Renamed to nothing: Redis deletes it from server.commands, so COMMAND, COMMAND COUNT,
    /// LIST and DOCS no longer show it.
    pub removed: bool,
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
    /// The longest key of `by_name`: a longer name cannot be a command, so a client's
    /// oversized name is refused without being lower-cased into a copy.
    longest_name: usize,
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
            renamed: false,
            removed: false,
        });
        self.by_name.insert(def.name.as_bytes().to_vec(), id);
        self.longest_name = self.longest_name.max(def.name.len());
        for (sub, sub_proc) in bound_subs {
            let sub_id = self.cmds.len();
            self.cmds.push(Command {
                def: sub,
                fullname: format!("{}|{}", def.name, sub.name),
                proc_: Some(sub_proc),
                parent: Some(id),
                subcommands: NameMap::default(),
                stats: CommandStats::default(),
                renamed: false,
                removed: false,
            });
            self.cmds[id].subcommands.insert(sub.name.as_bytes().to_vec(), sub_id);
        }
    }

    /// Redis: server.c lookupCommandBySdsLogic() on a command's name (case-insensitive).
    pub fn lookup_by_name(&self, name: &[u8]) -> Option<usize> {
        if name.len() > self.longest_name {
            return None;
        }
        let mut lower = [0u8; 32];
        match lowercase_into(&mut lower, name) {
            Some(key) => self.by_name.get(key).copied(),
            // Only a name given by rename-command can be this long (Redis's docs suggest
            // a 40-character SHA1).
            None => self.by_name.get(&name.to_ascii_lowercase()).copied(),
        }
    }

    /// Redis: config.c's rename-command directive: the command leaves the table under its
    /// name and, unless `to` is empty, comes back under `to`. Its full name (COMMAND INFO,
    /// INFO commandstats) stays the original one, as in Redis.
    pub fn rename_command(&mut self, from: &[u8], to: &[u8]) -> Result<(), &'static str> {
        const NO_SUCH: &str = "No such command in rename-command";
        let id = self.lookup_by_name(from).ok_or(NO_SUCH)?;
        let to_key = to.to_ascii_lowercase();
        if !to.is_empty() && self.by_name.get(&to_key).is_some_and(|&other| other != id) {
            return Err("Target command name already exists");
        }
        self.by_name.retain(|_, &mut v| v != id);
        if !to.is_empty() {
            self.by_name.insert(to_key, id);
            self.longest_name = self.longest_name.max(to.len());
        }
        let cmd = self.cmds.get_mut(id).ok_or(NO_SUCH)?;
        cmd.renamed = true;
        cmd.removed = to.is_empty();
        Ok(())
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

    /// Whether command `id` is a top-level command without subcommands named `name` (any
    /// case): then lookup_command(name, _) finds `id`. processCommand() asks this of the
    /// client's previous command first, a one-entry cache: a repeated command costs one
    /// short comparison instead of lower-casing and hashing its name. The answer holds
    /// because the table is fixed once start-up has applied rename-command, and `by_name`
    /// keys every command that was not renamed by its `def.name`.
    #[inline]
    pub fn is_plain_command_named(&self, id: usize, name: &[u8]) -> bool {
        self.cmds.get(id).is_some_and(|cmd| {
            cmd.parent.is_none()
                && cmd.def.subcommands.is_empty()
                && !cmd.renamed
                && eq_lowercase_name(name, cmd.def.name.as_bytes())
        })
    }

    pub fn get(&self, id: usize) -> Option<&Command> {
        self.cmds.get(id)
    }

    /// Top-level commands, in table order (Redis: iterating server.commands, which no
    /// longer holds a command renamed to nothing).
    pub fn top_level(&self) -> impl Iterator<Item = (usize, &Command)> {
        self.cmds.iter().enumerate().filter(|(_, c)| c.parent.is_none() && !c.removed)
    }
}

/// `arg` equals the lower-case `name` ignoring ASCII case. Only `arg` needs folding, which
/// halves the work of `eq_ignore_ascii_case` (~80 instructions for "GET") on the path every
/// repeated command takes.
#[inline]
fn eq_lowercase_name(arg: &[u8], name: &[u8]) -> bool {
    arg.len() == name.len() && arg.iter().zip(name).all(|(a, b)| a.to_ascii_lowercase() == *b)
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

    #[test]
    fn rename_command_moves_or_removes_a_name() {
        let mut t = table();
        let flushall = t.lookup_by_name(b"flushall").expect("flushall");
        let secret = b"B840FC02D524045429941CC15F59E41CB7BE6C52";
        assert_eq!(t.rename_command(b"FLUSHALL", secret), Ok(()));
        assert_eq!(t.lookup_by_name(b"flushall"), None);
        assert_eq!(t.lookup_by_name(&secret.to_ascii_lowercase()), Some(flushall));
        assert!(matches!(t.lookup_command(secret, None), Lookup::Found(id) if id == flushall));
        assert_eq!(t.lookup_by_name(&[b'a'; 1000]), None, "longer than any name");
        // The one-entry cache must not reach a renamed command by its old name.
        assert!(!t.is_plain_command_named(flushall, b"flushall"));
        let count = t.top_level().count();
        assert_eq!(t.rename_command(b"flushdb", b""), Ok(()));
        assert_eq!(t.lookup_by_name(b"flushdb"), None);
        // A command renamed to nothing leaves the listing; one given a new name stays.
        assert_eq!(t.top_level().count(), count - 1);
        assert!(t.top_level().any(|(id, _)| id == flushall));
        assert_eq!(t.rename_command(b"nosuch", b"x"), Err("No such command in rename-command"));
        assert_eq!(t.rename_command(b"get", b"SET"), Err("Target command name already exists"));
        assert_eq!(t.rename_command(b"get", b"get"), Ok(()));
        assert!(t.lookup_by_name(b"get").is_some());
    }

    #[test]
    fn every_command_name_is_lower_case() {
        // eq_lowercase_name() folds only the client's side.
        for cmd in &table().cmds {
            assert_eq!(cmd.def.name, cmd.def.name.to_ascii_lowercase(), "{}", cmd.fullname);
        }
        assert!(eq_lowercase_name(b"GeT", b"get") && eq_lowercase_name(b"ZRANGE_RO", b"zrange_ro"));
        assert!(!eq_lowercase_name(b"get", b"GET") && !eq_lowercase_name(b"ge", b"get") && !eq_lowercase_name(b"\x7fet", b"_et"));
    }

    /// The one-entry cache answers only where lookup_command() would find the same id.
    #[test]
    fn plain_command_hint_agrees_with_the_lookup() {
        let t = table();
        let get = t.lookup_by_name(b"get").expect("get");
        assert!(t.is_plain_command_named(get, b"GET") && t.is_plain_command_named(get, b"gEt"));
        for other in [&b"set"[..], b"ge", b"gets", b"", b"get\0", b"post", b"host:"] {
            assert!(!t.is_plain_command_named(get, other), "{:?}", String::from_utf8_lossy(other));
        }
        assert!(!t.is_plain_command_named(usize::MAX, b"get"));
        // A container and its subcommands go through the full lookup (the subcommand decides).
        let config = t.lookup_by_name(b"config").expect("config");
        assert!(!t.is_plain_command_named(config, b"config"));
        let Lookup::Found(config_get) = t.lookup_command(b"config", Some(b"get")) else { panic!("config|get") };
        assert!(!t.is_plain_command_named(config_get, b"config") && !t.is_plain_command_named(config_get, b"get"));
        for (id, cmd) in t.top_level() {
            let upper = cmd.def.name.to_uppercase();
            if t.is_plain_command_named(id, upper.as_bytes()) {
                assert!(matches!(t.lookup_command(upper.as_bytes(), Some(b"x")), Lookup::Found(found) if found == id));
            }
        }
    }
}
