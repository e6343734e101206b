//! The COMMAND command family: Redis's server.c commandCommand() and its subcommands (COUNT,
//! INFO, DOCS, GETKEYS, GETKEYSANDFLAGS, LIST, HELP), with the addReplyCommand* renderers.
//!
//! Everything reads the live command table (`srv.commands`), so COMMAND describes exactly the
//! commands this server runs. Redis walks a dict, so its order is random; ours is table order
//! (by name, each container followed by its subcommands). Key extraction lives in `keyspec.rs`.
//! Like every command these run to completion inside `call()` on the event loop.

use crate::command_def::*;
use crate::command_table::{Command, CommandTable, Lookup};
use crate::keyspec::{self, KeySearch};
use crate::networking::Client;
use crate::reply::Reply;
use crate::server::Server;
use crate::util;

/// Redis: server.c addReplyFlagsForCommand(). may_replicate, sentinel, only_sentinel and
/// protected are hidden from COMMAND INFO on purpose, as in Redis.
const COMMAND_FLAG_NAMES: &[(u64, &str)] = &[
    (CMD_WRITE, "write"),
    (CMD_READONLY, "readonly"),
    (CMD_DENYOOM, "denyoom"),
    (CMD_MODULE, "module"),
    (CMD_ADMIN, "admin"),
    (CMD_PUBSUB, "pubsub"),
    (CMD_NOSCRIPT, "noscript"),
    (CMD_BLOCKING, "blocking"),
    (CMD_LOADING, "loading"),
    (CMD_STALE, "stale"),
    (CMD_SKIP_MONITOR, "skip_monitor"),
    (CMD_SKIP_SLOWLOG, "skip_slowlog"),
    (CMD_ASKING, "asking"),
    (CMD_FAST, "fast"),
    (CMD_NO_AUTH, "no_auth"),
    (CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (CMD_NO_ASYNC_LOADING, "no_async_loading"),
    (CMD_NO_MULTI, "no_multi"),
    (CMD_MOVABLE_KEYS, "movablekeys"),
    (CMD_ALLOW_BUSY, "allow_busy"),
];

/// Redis: server.c addReplyFlagsForKeyArgs().
const KEY_SPEC_FLAG_NAMES: &[(u64, &str)] = &[
    (CMD_KEY_RO, "RO"),
    (CMD_KEY_RW, "RW"),
    (CMD_KEY_OW, "OW"),
    (CMD_KEY_RM, "RM"),
    (CMD_KEY_ACCESS, "access"),
    (CMD_KEY_UPDATE, "update"),
    (CMD_KEY_INSERT, "insert"),
    (CMD_KEY_DELETE, "delete"),
    (CMD_KEY_NOT_KEY, "not_key"),
    (CMD_KEY_INCOMPLETE, "incomplete"),
    (CMD_KEY_VARIABLE_FLAGS, "variable_flags"),
];

/// Redis: acl.c ACLCommandCategories, in its order (COMMAND INFO prints them so).
pub const ACL_CATEGORY_NAMES: &[(u64, &str)] = &[
    (ACL_CATEGORY_KEYSPACE, "keyspace"),
    (ACL_CATEGORY_READ, "read"),
    (ACL_CATEGORY_WRITE, "write"),
    (ACL_CATEGORY_SET, "set"),
    (ACL_CATEGORY_SORTEDSET, "sortedset"),
    (ACL_CATEGORY_LIST, "list"),
    (ACL_CATEGORY_HASH, "hash"),
    (ACL_CATEGORY_STRING, "string"),
    (ACL_CATEGORY_BITMAP, "bitmap"),
    (ACL_CATEGORY_HYPERLOGLOG, "hyperloglog"),
    (ACL_CATEGORY_GEO, "geo"),
    (ACL_CATEGORY_STREAM, "stream"),
    (ACL_CATEGORY_PUBSUB, "pubsub"),
    (ACL_CATEGORY_ADMIN, "admin"),
    (ACL_CATEGORY_FAST, "fast"),
    (ACL_CATEGORY_SLOW, "slow"),
    (ACL_CATEGORY_BLOCKING, "blocking"),
    (ACL_CATEGORY_DANGEROUS, "dangerous"),
    (ACL_CATEGORY_CONNECTION, "connection"),
    (ACL_CATEGORY_TRANSACTION, "transaction"),
    (ACL_CATEGORY_SCRIPTING, "scripting"),
];

/// Redis: server.c commandHelpCommand()'s lines (addReplyHelp adds the header and HELP).
const COMMAND_HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
];

// ---------------------------------------------------------------------------------------------
// Lookup
// ---------------------------------------------------------------------------------------------

/// Redis: acl.c ACLGetCommandCategoryFlagByName() (case-insensitive; 0 when unknown).
pub fn acl_get_command_category_flag_by_name(name: &[u8]) -> u64 {
    ACL_CATEGORY_NAMES
        .iter()
        .find(|(_, cat)| util::str_eq_ignore_case(name, cat.as_bytes()))
        .map_or(0, |&(flag, _)| flag)
}

/// Redis: server.c lookupCommandBySds(): "name" or "container|sub", case-insensitive, with
/// strict arity: a container alone is found, "get|x" is not.
pub fn lookup_command_by_sds(table: &CommandTable, name: &[u8]) -> Option<usize> {
    let mut parts = name.split(|&b| b == b'|');
    let (base, sub) = (parts.next()?, parts.next());
    if name.is_empty() || parts.next().is_some() {
        return None;
    }
    let base_id = table.lookup_by_name(base)?;
    let Some(sub) = sub else { return Some(base_id) };
    let container = table.get(base_id)?;
    container.subcommands.get(&sub.to_ascii_lowercase()).copied()
}

/// The subcommands of a container, in definition order.
fn subcommand_ids(cmd: &Command) -> Vec<usize> {
    cmd.def.subcommands.iter().filter_map(|sub| cmd.subcommands.get(sub.name.as_bytes()).copied()).collect()
}

// ---------------------------------------------------------------------------------------------
// COMMAND INFO rendering
// ---------------------------------------------------------------------------------------------

/// Redis: server.c addReplyCommandFlags(): a set of status replies, in the table's order.
fn add_reply_command_flags(reply: &mut Reply, flags: u64, names: &[(u64, &str)]) {
    let count = names.iter().filter(|(flag, _)| flags & flag != 0).count();
    reply.add_reply_set_len(count);
    for &(_, name) in names.iter().filter(|(flag, _)| flags & flag != 0) {
        reply.add_reply_status(name);
    }
}

/// Redis: server.c addReplyFlagsForKeyArgs().
pub fn add_reply_flags_for_key_args(reply: &mut Reply, flags: u64) {
    add_reply_command_flags(reply, flags, KEY_SPEC_FLAG_NAMES);
}

/// Redis: server.c addReplyCommandCategories(): "@name" for each ACL category.
fn add_reply_command_categories(reply: &mut Reply, categories: u64) {
    let names: Vec<&str> =
        ACL_CATEGORY_NAMES.iter().filter(|(flag, _)| categories & flag != 0).map(|&(_, name)| name).collect();
    reply.add_reply_set_len(names.len());
    for name in names {
        reply.add_reply_status(&format!("@{}", name));
    }
}

/// Redis: server.c addReplyCommandTips().
fn add_reply_command_tips(reply: &mut Reply, tips: &[&str]) {
    reply.add_reply_set_len(tips.len());
    for tip in tips {
        reply.add_reply_bulk(tip.as_bytes());
    }
}

/// Redis: server.c addReplyCommandKeySpecs(): one map per spec.
fn add_reply_command_key_specs(reply: &mut Reply, specs: &[KeySpec]) {
    reply.add_reply_set_len(specs.len());
    for spec in specs {
        let has_notes = !spec.notes.is_empty();
        reply.add_reply_map_len(3 + usize::from(has_notes));
        if has_notes {
            reply.add_reply_bulk(b"notes");
            reply.add_reply_bulk(spec.notes.as_bytes());
        }
        reply.add_reply_bulk(b"flags");
        add_reply_flags_for_key_args(reply, spec.flags);
        reply.add_reply_bulk(b"begin_search");
        add_reply_begin_search(reply, &spec.begin_search);
        reply.add_reply_bulk(b"find_keys");
        add_reply_find_keys(reply, &spec.find_keys);
    }
}

/// `{type: <kind>, spec: {name: value, ...}}`, the shape of both halves of a key spec.
fn add_reply_spec_part(reply: &mut Reply, kind: &str, fields: &[(&str, SpecValue)]) {
    reply.add_reply_map_len(2);
    reply.add_reply_bulk(b"type");
    reply.add_reply_bulk(kind.as_bytes());
    reply.add_reply_bulk(b"spec");
    reply.add_reply_map_len(fields.len());
    for (name, value) in fields {
        reply.add_reply_bulk(name.as_bytes());
        match value {
            SpecValue::Int(n) => reply.add_reply_long_long(i64::from(*n)),
            SpecValue::Str(s) => reply.add_reply_bulk(s.as_bytes()),
        }
    }
}

enum SpecValue {
    Int(i32),
    Str(&'static str),
}

fn add_reply_begin_search(reply: &mut Reply, bs: &BeginSearch) {
    match *bs {
        BeginSearch::Index(pos) => add_reply_spec_part(reply, "index", &[("index", SpecValue::Int(pos))]),
        BeginSearch::Keyword { keyword, startfrom } => add_reply_spec_part(
            reply,
            "keyword",
            &[("keyword", SpecValue::Str(keyword)), ("startfrom", SpecValue::Int(startfrom))],
        ),
        BeginSearch::Unknown => add_reply_spec_part(reply, "unknown", &[]),
    }
}

fn add_reply_find_keys(reply: &mut Reply, fk: &FindKeys) {
    match *fk {
        FindKeys::Range { lastkey, keystep, limit } => add_reply_spec_part(
            reply,
            "range",
            &[("lastkey", SpecValue::Int(lastkey)), ("keystep", SpecValue::Int(keystep)), ("limit", SpecValue::Int(limit))],
        ),
        FindKeys::Keynum { keynumidx, firstkey, keystep } => add_reply_spec_part(
            reply,
            "keynum",
            &[
                ("keynumidx", SpecValue::Int(keynumidx)),
                ("firstkey", SpecValue::Int(firstkey)),
                ("keystep", SpecValue::Int(keystep)),
            ],
        ),
        FindKeys::Unknown => add_reply_spec_part(reply, "unknown", &[]),
    }
}

/// Redis: server.c addReplyCommandInfo(): the 10-element entry, or a null for `None`.
pub fn add_reply_command_info(reply: &mut Reply, table: &CommandTable, id: Option<usize>) {
    let Some(cmd) = id.and_then(|id| table.get(id)) else { return reply.add_reply_null() };
    let def = cmd.def;
    let (range, _) = keyspec::populate_command_legacy_range_spec(def);
    let range = range.unwrap_or_default();
    reply.add_reply_array_len(10);
    reply.add_reply_bulk(cmd.fullname.as_bytes());
    reply.add_reply_long_long(i64::from(def.arity));
    add_reply_command_flags(reply, keyspec::command_flags(def), COMMAND_FLAG_NAMES);
    reply.add_reply_long_long(i64::from(range.firstkey));
    reply.add_reply_long_long(i64::from(range.lastkey));
    reply.add_reply_long_long(i64::from(range.keystep));
    add_reply_command_categories(reply, def.acl_categories);
    add_reply_command_tips(reply, def.tips);
    add_reply_command_key_specs(reply, def.key_specs);
    add_reply_command_sub_commands(reply, table, cmd, Render::Info);
}

/// Which renderer addReplyCommandSubCommands() applies to each subcommand.
#[derive(Clone, Copy)]
enum Render {
    /// COMMAND INFO: an array of entries.
    Info,
    /// COMMAND DOCS: a map from full name to docs.
    Docs,
}

/// Redis: server.c addReplyCommandSubCommands(): an empty set for a plain command.
fn add_reply_command_sub_commands(reply: &mut Reply, table: &CommandTable, cmd: &Command, render: Render) {
    if cmd.subcommands.is_empty() {
        return reply.add_reply_set_len(0);
    }
    let subs = subcommand_ids(cmd);
    match render {
        Render::Info => reply.add_reply_array_len(subs.len()),
        Render::Docs => reply.add_reply_map_len(subs.len()),
    }
    for id in subs {
        match render {
            Render::Info => add_reply_command_info(reply, table, Some(id)),
            Render::Docs => add_reply_command_docs_entry(reply, table, id),
        }
    }
}

/// Redis: server.c addReplyCommandDocs() for the documentation we keep: "since" and "group"
/// (no arguments or history), and "subcommands" for a container. The summary is empty: we
/// do not copy Redis's prose, but clients such as redis-cli expect the field to exist.
fn add_reply_command_docs(reply: &mut Reply, table: &CommandTable, cmd: &Command) {
    let has_subcommands = !cmd.subcommands.is_empty();
    reply.add_reply_map_len(3 + usize::from(has_subcommands));
    reply.add_reply_bulk(b"summary");
    reply.add_reply_bulk(b"");
    reply.add_reply_bulk(b"since");
    reply.add_reply_bulk(cmd.def.since.as_bytes());
    reply.add_reply_bulk(b"group");
    reply.add_reply_bulk(cmd.def.group.as_bytes());
    if has_subcommands {
        reply.add_reply_bulk(b"subcommands");
        add_reply_command_sub_commands(reply, table, cmd, Render::Docs);
    }
}

/// One `name => docs` pair of a COMMAND DOCS map.
fn add_reply_command_docs_entry(reply: &mut Reply, table: &CommandTable, id: usize) {
    let Some(cmd) = table.get(id) else { return };
    reply.add_reply_bulk(cmd.fullname.as_bytes());
    add_reply_command_docs(reply, table, cmd);
}

// ---------------------------------------------------------------------------------------------
// GETKEYS
// ---------------------------------------------------------------------------------------------

/// Redis: server.c getKeysSubcommandImpl() on `args` (the full command after GETKEYS).
pub fn add_reply_keys_of_command(reply: &mut Reply, table: &CommandTable, args: &[&[u8]], with_flags: bool) {
    let name = args.first().copied().unwrap_or_default();
    let id = match table.lookup_command(name, args.get(1).copied()) {
        Lookup::Found(id) => id,
        Lookup::UnknownSubcommand(_) | Lookup::Unknown => return reply.add_reply_error("Invalid command specified"),
    };
    let Some(cmd) = table.get(id) else { return reply.add_reply_error("Invalid command specified") };
    if !keyspec::does_command_have_keys(cmd) {
        return reply.add_reply_error("The command has no key arguments");
    }
    let (arity, argc) = (i64::from(cmd.def.arity), args.len() as i64);
    if (arity > 0 && arity != argc) || argc < -arity {
        return reply.add_reply_error("Invalid number of arguments specified for command");
    }
    let keys: Vec<_> = keyspec::get_keys_from_command_with_specs(cmd, args, KeySearch::default())
        .into_iter()
        .filter_map(|key| args.get(key.pos).map(|&arg| (arg, key.flags)))
        .collect();
    if keys.is_empty() {
        return match cmd.def.flags & CMD_NO_MANDATORY_KEYS {
            0 => reply.add_reply_error("Invalid arguments specified for command"),
            _ => reply.add_reply_array_len(0),
        };
    }
    reply.add_reply_array_len(keys.len());
    for (key, flags) in keys {
        if with_flags {
            reply.add_reply_array_len(2);
            reply.add_reply_bulk(key);
            add_reply_flags_for_key_args(reply, flags);
        } else {
            reply.add_reply_bulk(key);
        }
    }
}

fn get_keys_subcommand_impl(srv: &mut Server, c: &mut Client, with_flags: bool) {
    let args: Vec<&[u8]> = c.argv.iter().skip(2).collect();
    add_reply_keys_of_command(&mut c.reply, &srv.commands, &args, with_flags);
}

// ---------------------------------------------------------------------------------------------
// LIST
// ---------------------------------------------------------------------------------------------

/// Redis: server.c commandListFilter.
#[derive(Debug, PartialEq, Eq)]
pub enum ListFilter<'a> {
    Module(&'a [u8]),
    AclCat(&'a [u8]),
    Pattern(&'a [u8]),
}

/// COMMAND LIST options that are not `FILTERBY <type> <arg>`: Redis's syntax error.
#[derive(Debug, PartialEq, Eq)]
pub struct ListSyntaxError;

/// The options of COMMAND LIST (`args` after LIST): nothing, or FILTERBY <type> <arg>.
pub fn parse_list_filter<'a>(args: &[&'a [u8]]) -> Result<Option<ListFilter<'a>>, ListSyntaxError> {
    let (kind, arg) = match args {
        [] => return Ok(None),
        [opt, kind, arg] if util::str_eq_ignore_case(opt, b"filterby") => (*kind, *arg),
        _ => return Err(ListSyntaxError),
    };
    if util::str_eq_ignore_case(kind, b"module") {
        Ok(Some(ListFilter::Module(arg)))
    } else if util::str_eq_ignore_case(kind, b"aclcat") {
        Ok(Some(ListFilter::AclCat(arg)))
    } else if util::str_eq_ignore_case(kind, b"pattern") {
        Ok(Some(ListFilter::Pattern(arg)))
    } else {
        Err(ListSyntaxError)
    }
}

/// Redis: server.c shouldFilterFromCommandList(). There are no modules, so a module filter
/// leaves nothing.
fn should_filter_from_command_list(cmd: &Command, filter: &ListFilter) -> bool {
    match *filter {
        ListFilter::Module(_) => true,
        ListFilter::AclCat(name) => match acl_get_command_category_flag_by_name(name) {
            0 => true,
            cat => cmd.def.acl_categories & cat == 0,
        },
        ListFilter::Pattern(pattern) => !util::string_match_len(pattern, cmd.fullname.as_bytes(), true),
    }
}

/// Redis: server.c commandListWithFilter() / commandListWithoutFilter(): each command's full
/// name followed by its subcommands'.
pub fn command_list_names<'t>(table: &'t CommandTable, filter: Option<&ListFilter>) -> Vec<&'t str> {
    let mut names = Vec::new();
    for (_, cmd) in table.top_level() {
        let family = std::iter::once(cmd).chain(subcommand_ids(cmd).into_iter().filter_map(|id| table.get(id)));
        for member in family {
            if filter.is_none_or(|f| !should_filter_from_command_list(member, f)) {
                names.push(member.fullname.as_str());
            }
        }
    }
    names
}

// ---------------------------------------------------------------------------------------------
// The commands
// ---------------------------------------------------------------------------------------------

/// Redis: server.c commandCommand(): COMMAND INFO of every command.
pub fn command_command(srv: &mut Server, c: &mut Client) {
    add_reply_all_command_info(&mut c.reply, &srv.commands);
}

fn add_reply_all_command_info(reply: &mut Reply, table: &CommandTable) {
    let ids: Vec<usize> = table.top_level().map(|(id, _)| id).collect();
    reply.add_reply_array_len(ids.len());
    for id in ids {
        add_reply_command_info(reply, table, Some(id));
    }
}

/// Redis: server.c commandCountCommand(): the number of top-level commands.
pub fn command_count_command(srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_long_long(srv.commands.top_level().count() as i64);
}

/// Redis: server.c commandInfoCommand(): the named commands (nulls for unknown names), or all.
pub fn command_info_command(srv: &mut Server, c: &mut Client) {
    let table = &srv.commands;
    if c.argv.len() == 2 {
        return add_reply_all_command_info(&mut c.reply, table);
    }
    c.reply.add_reply_array_len(c.argv.len() - 2);
    for name in c.argv.iter().skip(2) {
        add_reply_command_info(&mut c.reply, table, lookup_command_by_sds(table, name));
    }
}

/// Redis: server.c commandDocsCommand(): a map from name to docs; unknown names are skipped.
pub fn command_docs_command(srv: &mut Server, c: &mut Client) {
    let table = &srv.commands;
    let ids: Vec<usize> = if c.argv.len() == 2 {
        table.top_level().map(|(id, _)| id).collect()
    } else {
        c.argv.iter().skip(2).filter_map(|name| lookup_command_by_sds(table, name)).collect()
    };
    c.reply.add_reply_map_len(ids.len());
    for id in ids {
        add_reply_command_docs_entry(&mut c.reply, table, id);
    }
}

/// Redis: server.c commandGetKeysCommand().
pub fn command_get_keys_command(srv: &mut Server, c: &mut Client) {
    get_keys_subcommand_impl(srv, c, false);
}

/// Redis: server.c commandGetKeysAndFlagsCommand().
pub fn command_get_keys_and_flags_command(srv: &mut Server, c: &mut Client) {
    get_keys_subcommand_impl(srv, c, true);
}

/// Redis: server.c commandListCommand().
pub fn command_list_command(srv: &mut Server, c: &mut Client) {
    let args: Vec<&[u8]> = c.argv.iter().skip(2).collect();
    let Ok(filter) = parse_list_filter(&args) else { return c.reply.add_reply_syntax_error() };
    let names = command_list_names(&srv.commands, filter.as_ref());
    c.reply.add_reply_array_len(names.len());
    for name in names {
        c.reply.add_reply_bulk(name.as_bytes());
    }
}

/// Redis: server.c commandHelpCommand().
pub fn command_help_command(_srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_help("command", COMMAND_HELP);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::COMMAND_TABLE;
    use std::path::{Path, PathBuf};

    fn dummy_proc(_srv: &mut Server, _c: &mut Client) {}

    /// Every command of Redis 7.0.15 bound, so renderings can be checked against references.
    fn full_table() -> CommandTable {
        CommandTable::populate(COMMAND_TABLE, |_| Some(dummy_proc))
    }

    fn reply(resp: u8) -> Reply {
        let mut r = Reply::default();
        r.resp = resp;
        r
    }

    /// What `COMMAND INFO <name>` replies.
    fn render_info(table: &CommandTable, name: &str, resp: u8) -> Vec<u8> {
        let mut r = reply(resp);
        r.add_reply_array_len(1);
        add_reply_command_info(&mut r, table, lookup_command_by_sds(table, name.as_bytes()));
        r.pending().to_vec()
    }

    /// A parsed RESP value: its header line and children (aggregates) or payload (bulks).
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    struct Node {
        header: Vec<u8>,
        payload: Vec<u8>,
        children: Vec<Node>,
    }

    fn parse(input: &[u8], pos: &mut usize) -> Node {
        let rest = &input[*pos..];
        let end = rest.windows(2).position(|w| w == b"\r\n").expect("a CRLF");
        let header = rest[..end].to_vec();
        *pos += end + 2;
        let count: i64 = std::str::from_utf8(&header[1..]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut node = Node { header: header.clone(), payload: Vec::new(), children: Vec::new() };
        match header[0] {
            b'$' | b'=' if count >= 0 => {
                node.payload = input[*pos..*pos + count as usize].to_vec();
                *pos += count as usize + 2;
            }
            b'*' | b'~' | b'>' if count > 0 => node.children = (0..count).map(|_| parse(input, pos)).collect(),
            b'%' | b'|' => node.children = (0..2 * count).map(|_| parse(input, pos)).collect(),
            _ => {}
        }
        node
    }

    /// Sorts the subcommand entries of every COMMAND INFO entry (random order in Redis).
    fn normalize(node: &mut Node) {
        for child in node.children.iter_mut() {
            normalize(child);
        }
        let is_info_entry = node.children.len() == 10 && node.children[0].header.starts_with(b"$");
        if is_info_entry {
            node.children[9].children.sort();
        }
    }

    fn parse_all(bytes: &[u8]) -> Node {
        let mut pos = 0;
        let mut node = parse(bytes, &mut pos);
        assert_eq!(pos, bytes.len(), "trailing bytes after the reply");
        normalize(&mut node);
        node
    }

    /// Compares our rendering of every `<name>.resp` in `dir` ("a_b" stands for "a|b").
    fn compare_dir(dir: &Path, resp: u8) -> usize {
        let table = full_table();
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).expect("reference directory") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_none_or(|e| e != "resp") {
                continue;
            }
            let name = path.file_stem().and_then(|s| s.to_str()).expect("name").replacen('_', "|", 1);
            let name = if lookup_command_by_sds(&table, name.as_bytes()).is_some() { name } else { name.replace('|', "_") };
            let expected = std::fs::read(&path).expect("reference file");
            let ours = render_info(&table, &name, resp);
            assert_eq!(ours.len(), expected.len(), "{}: length differs", name);
            assert_eq!(parse_all(&ours), parse_all(&expected), "{}: reply differs", name);
            checked += 1;
        }
        checked
    }

    #[test]
    fn command_info_matches_redis_reference_files() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/command_info");
        assert!(compare_dir(&dir, 2) >= 13);
    }

    #[test]
    fn command_info_of_plain_commands_is_byte_identical() {
        let table = full_table();
        for name in ["get", "set", "del", "expire", "ping", "echo", "incr", "mset", "scan"] {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/command_info/{}.resp", name));
            let expected = std::fs::read(path).expect("reference file");
            assert_eq!(render_info(&table, name, 2), expected, "{}", name);
        }
    }

    /// Every command of the real server, RESP2 and RESP3, from dumps made with
    /// `COMMAND INFO <name>` into $FERREDIS_COMMAND_INFO_DUMP/{all2,all3}/<name>.resp.
    #[test]
    #[ignore]
    fn command_info_matches_full_dump() {
        let Ok(root) = std::env::var("FERREDIS_COMMAND_INFO_DUMP") else { return };
        assert!(compare_dir(&Path::new(&root).join("all2"), 2) > 300);
        assert!(compare_dir(&Path::new(&root).join("all3"), 3) > 300);
    }

    #[test]
    fn command_info_resp3_uses_sets_and_maps() {
        let table = full_table();
        let ours = render_info(&table, "get", 3);
        let expected: &[u8] = b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n\
$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n\
$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n\
$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
        assert_eq!(ours, expected);
        assert_eq!(render_info(&table, "nosuch", 3), b"*1\r\n_\r\n");
        assert_eq!(render_info(&table, "nosuch", 2), b"*1\r\n$-1\r\n");
    }

    #[test]
    fn lookup_by_sds_is_strict() {
        let table = full_table();
        let found = |name: &str| lookup_command_by_sds(&table, name.as_bytes()).map(|id| table.cmds[id].fullname.clone());
        assert_eq!(found("GET").as_deref(), Some("get"));
        assert_eq!(found("config").as_deref(), Some("config"));
        assert_eq!(found("CONFIG|Get").as_deref(), Some("config|get"));
        for missing in ["", "|", "get|", "get|get", "|get", "config|", "config|get|x", "nosuch", "config|nosuch"] {
            assert_eq!(found(missing), None, "{:?}", missing);
        }
    }

    /// `COMMAND GETKEYS[ANDFLAGS] ...` replies observed on redis-server 7.0.15.
    const GETKEYS_CASES: &[(&str, &[u8])] = &[
        ("COMMAND GETKEYS get a", b"*1\r\n$1\r\na\r\n"),
        ("COMMAND GETKEYSANDFLAGS set a b get", b"*1\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS set a b", b"*1\r\n*2\r\n$1\r\na\r\n*2\r\n+OW\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS set a b nx getx", b"*1\r\n*2\r\n$1\r\na\r\n*2\r\n+OW\r\n+update\r\n"),
        ("COMMAND GETKEYS mset a 1 b 2 c 3", b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        ("COMMAND GETKEYS mset a 1 b", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYSANDFLAGS lmove a b left right", b"*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$1\r\nb\r\n*2\r\n+RW\r\n+insert\r\n"),
        ("COMMAND GETKEYS eval s 2 a b c", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS eval s abc", b"*0\r\n"),
        ("COMMAND GETKEYS eval s 0", b"*0\r\n"),
        ("COMMAND GETKEYS eval s 3 a", b"*0\r\n"),
        ("COMMAND GETKEYS eval s -1 a", b"*0\r\n"),
        ("COMMAND GETKEYS zunionstore d 2 a b weights 1 2", b"*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYSANDFLAGS zunionstore d 2 a b", b"*3\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nb\r\n*2\r\n+RO\r\n+access\r\n"),
        ("COMMAND GETKEYS zunionstore d abc a", b"-ERR Invalid arguments specified for command\r\n"),
        ("COMMAND GETKEYS zunionstore d 3 a b", b"-ERR Invalid arguments specified for command\r\n"),
        ("COMMAND GETKEYSANDFLAGS xread count 2 streams a b 1 2", b"*2\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nb\r\n*2\r\n+RO\r\n+access\r\n"),
        ("COMMAND GETKEYS xread streams a b 1", b"*1\r\n$1\r\na\r\n"),
        ("COMMAND GETKEYS xreadgroup group g c streams a 1", b"*1\r\n$1\r\na\r\n"),
        ("COMMAND GETKEYSANDFLAGS migrate h p \"\" 0 5000 keys a b", b"*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$1\r\nb\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n"),
        ("COMMAND GETKEYSANDFLAGS migrate h p k 0 5000", b"*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n"),
        ("COMMAND GETKEYSANDFLAGS migrate h p k 0 5000 keys a b", b"-ERR Invalid arguments specified for command\r\n"),
        ("COMMAND GETKEYSANDFLAGS migrate h p \"\" 0 5000 auth keys keys a", b"*1\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n"),
        ("COMMAND GETKEYSANDFLAGS sort a store b get c store d", b"*2\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS sort a limit store x store y", b"*2\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\ny\r\n*2\r\n+OW\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS sort a store limit 1 2", b"*2\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$5\r\nlimit\r\n*2\r\n+OW\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS sort_ro a by x", b"*1\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n"),
        ("COMMAND GETKEYSANDFLAGS georadius k 1 2 3 m store d", b"*2\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS georadius k 1 2 3 m store d storedist e", b"*3\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n*2\r\n$1\r\ne\r\n*2\r\n+OW\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS georadiusbymember k m 3 km storedist d", b"*2\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS bitfield k get u8 0", b"*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"),
        ("COMMAND GETKEYSANDFLAGS bitfield k get u8 0 set u8 0 1", b"*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS bitfield k overflow wrap get u8 0", b"*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"),
        ("COMMAND GETKEYSANDFLAGS bitfield k foo", b"*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"),
        ("COMMAND GETKEYSANDFLAGS bitfield_ro k get u8 0", b"*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"),
        ("COMMAND GETKEYS blmpop 0 2 a b left", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS lmpop 2 a b left", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS lmpop 0 a left", b"-ERR Invalid arguments specified for command\r\n"),
        ("COMMAND GETKEYS sintercard 2 a b", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS zintercard 2 a b limit 1", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS fcall f 1 a b", b"*1\r\n$1\r\na\r\n"),
        ("COMMAND GETKEYS blpop a b c 0", b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        ("COMMAND GETKEYS rename a b", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYSANDFLAGS object encoding k", b"*1\r\n*2\r\n$1\r\nk\r\n*1\r\n+RO\r\n"),
        ("COMMAND GETKEYSANDFLAGS memory usage k", b"*1\r\n*2\r\n$1\r\nk\r\n*1\r\n+RO\r\n"),
        ("COMMAND GETKEYS xinfo stream k", b"*1\r\n$1\r\nk\r\n"),
        ("COMMAND GETKEYS publish ch msg", b"-ERR The command has no key arguments\r\n"),
        ("COMMAND GETKEYS spublish ch msg", b"-ERR The command has no key arguments\r\n"),
        ("COMMAND GETKEYS ssubscribe a b", b"-ERR The command has no key arguments\r\n"),
        ("COMMAND GETKEYS pfcount a b", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS msetnx a 1 b 2", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS bitop and d a b", b"*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS debug object k", b"-ERR The command has no key arguments\r\n"),
        ("COMMAND GETKEYS ping x", b"-ERR The command has no key arguments\r\n"),
        ("COMMAND GETKEYS nosuch x", b"-ERR Invalid command specified\r\n"),
        ("COMMAND GETKEYS config get x", b"-ERR The command has no key arguments\r\n"),
        ("COMMAND GETKEYS config nosuch", b"-ERR Invalid command specified\r\n"),
        ("COMMAND GETKEYS get a b", b"-ERR Invalid number of arguments specified for command\r\n"),
        ("COMMAND GETKEYS lcs a b", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYSANDFLAGS xgroup create k g $", b"*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RW\r\n+insert\r\n"),
        ("COMMAND GETKEYS xadd k * a 1", b"*1\r\n$1\r\nk\r\n"),
        ("COMMAND GETKEYS watch a b", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS exists a b c", b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        ("COMMAND GETKEYS eval_ro s 1 a", b"*1\r\n$1\r\na\r\n"),
        ("COMMAND GETKEYS georadius_ro k 1 2 3 m store d", b"*1\r\n$1\r\nk\r\n"),
        ("COMMAND GETKEYS zrangestore d s 0 1", b"*2\r\n$1\r\nd\r\n$1\r\ns\r\n"),
        ("COMMAND GETKEYS copy a b db 1", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS smove a b m", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS bzmpop 0 1 a min", b"*1\r\n$1\r\na\r\n"),
        ("COMMAND GETKEYS zmpop 1 a min", b"*1\r\n$1\r\na\r\n"),
        ("COMMAND GETKEYS zdiff 2 a b", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS pfmerge d a b", b"*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS sunionstore d a b", b"*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS touch a b", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("COMMAND GETKEYS geosearchstore d s frommember m byradius 1 km", b"*2\r\n$1\r\nd\r\n$1\r\ns\r\n"),
    ];

    #[test]
    fn getkeys_matches_redis() {
        let table = full_table();
        for &(line, expected) in GETKEYS_CASES {
            let argv = util::sds_split_args(line.as_bytes()).expect("a valid line");
            let args: Vec<&[u8]> = argv.iter().skip(2).map(|a| a.as_slice()).collect();
            let with_flags = argv[1].eq_ignore_ascii_case(b"getkeysandflags");
            let mut r = reply(2);
            add_reply_keys_of_command(&mut r, &table, &args, with_flags);
            assert_eq!(&*r.pending(), expected, "{}", line);
        }
    }

    #[test]
    fn list_filter_parsing() {
        fn parse<'a>(args: &[&'a [u8]]) -> Result<Option<ListFilter<'a>>, ListSyntaxError> {
            parse_list_filter(args)
        }
        assert_eq!(parse(&[]), Ok(None));
        assert_eq!(parse(&[b"FilterBy", b"PATTERN", b"x*"]), Ok(Some(ListFilter::Pattern(b"x*"))));
        assert_eq!(parse(&[b"filterby", b"aclcat", b"read"]), Ok(Some(ListFilter::AclCat(b"read"))));
        assert_eq!(parse(&[b"filterby", b"module", b"m"]), Ok(Some(ListFilter::Module(b"m"))));
        assert_eq!(parse(&[b"filterby", b"foo", b"x"]), Err(ListSyntaxError));
        assert_eq!(parse(&[b"filterby", b"pattern", b"x", b"extra"]), Err(ListSyntaxError));
        assert_eq!(parse(&[b"filterby", b"pattern"]), Err(ListSyntaxError));
        assert_eq!(parse(&[b"foo"]), Err(ListSyntaxError));
    }

    #[test]
    fn list_names_follow_table_order_with_subcommands() {
        let table = full_table();
        let all = command_list_names(&table, None);
        assert_eq!(all.len(), 366, "Redis 7.0.15 lists 366 commands and subcommands");
        let config = all.iter().position(|&n| n == "config").expect("config");
        assert!(all[config + 1].starts_with("config|"));
        let pattern = ListFilter::Pattern(b"CONFIG|*");
        assert_eq!(command_list_names(&table, Some(&pattern)).len(), 5);
        let acl = ListFilter::AclCat(b"HyperLogLog");
        assert_eq!(command_list_names(&table, Some(&acl)), ["pfadd", "pfcount", "pfdebug", "pfmerge", "pfselftest"]);
        assert!(command_list_names(&table, Some(&ListFilter::AclCat(b"nosuch"))).is_empty());
        assert!(command_list_names(&table, Some(&ListFilter::Module(b"m"))).is_empty());
    }

    #[test]
    fn docs_carry_since_group_and_subcommands() {
        let table = full_table();
        let mut r = reply(2);
        let id = lookup_command_by_sds(&table, b"get").expect("get");
        add_reply_command_docs_entry(&mut r, &table, id);
        assert_eq!(&*r.pending(), b"$3\r\nget\r\n*6\r\n$7\r\nsummary\r\n$0\r\n\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n");
        let mut r = reply(3);
        let id = lookup_command_by_sds(&table, b"config").expect("config");
        add_reply_command_docs_entry(&mut r, &table, id);
        let text = r.pending().to_vec();
        assert!(text.starts_with(b"$6\r\nconfig\r\n%4\r\n$7\r\nsummary\r\n$0\r\n\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$11\r\nsubcommands\r\n%5\r\n$10\r\nconfig|get\r\n%3\r\n"));
    }

    #[test]
    fn help_lists_every_subcommand() {
        let mut r = reply(2);
        r.add_reply_help("command", COMMAND_HELP);
        let text = String::from_utf8(r.pending().to_vec()).expect("utf8");
        assert!(text.starts_with("*21\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"));
        assert!(text.ends_with("+GETKEYSANDFLAGS <full-command>\r\n+    Return the keys and the access flags from a full Redis command.\r\n+HELP\r\n+    Prints this help.\r\n"));
    }

    #[test]
    fn category_names_resolve_case_insensitively() {
        assert_eq!(acl_get_command_category_flag_by_name(b"SortedSet"), ACL_CATEGORY_SORTEDSET);
        assert_eq!(acl_get_command_category_flag_by_name(b"@read"), 0);
        assert_eq!(acl_get_command_category_flag_by_name(b""), 0);
    }
}
