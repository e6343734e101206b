//! Finding the keys of a command from its arguments: Redis's db.c getKeysFromCommand family
//! (key specs first, the per-command "getkeys" functions as a fallback) and server.c
//! populateCommandLegacyRangeSpec (the old first/last/step triple and the movablekeys flag
//! that COMMAND INFO shows).
//!
//! Everything here is a pure function of a command's static definition and an argument
//! vector, run synchronously inside a command on the event loop (COMMAND GETKEYS today;
//! ACL, cluster redirection and client tracking later). Arguments are client input: every
//! position is bounds-checked, and no allocation is sized from a number a client sent.

use crate::command_def::*;
use crate::command_table::Command;
use crate::util;

/// Redis: keyReference: a key's position in argv and the key-spec flags that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyReference {
    pub pos: usize,
    pub flags: u64,
}

/// Redis: the GET_KEYSPEC_* search flags of getKeysUsingKeySpecs().
#[derive(Debug, Default, Clone, Copy)]
pub struct KeySearch {
    /// GET_KEYSPEC_INCLUDE_NOT_KEYS: also return arguments marked `not_key`.
    pub include_not_keys: bool,
    /// GET_KEYSPEC_RETURN_PARTIAL: skip invalid or incomplete specs instead of failing.
    pub return_partial: bool,
}

/// Redis: a command's legacy_range_key_spec as COMMAND INFO prints it (absolute positions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegacyRange {
    pub firstkey: i32,
    pub lastkey: i32,
    pub keystep: i32,
}

/// Redis: a native getkeys_proc (db.c *GetKeys functions).
pub type GetKeysProc = fn(&[&[u8]]) -> Vec<KeyReference>;

// ---------------------------------------------------------------------------------------------
// Legacy range spec and movablekeys (server.c)
// ---------------------------------------------------------------------------------------------

/// A spec that is "index N, range" is the only shape the legacy triple can describe.
fn plain_range(spec: &KeySpec) -> Option<(i32, i32, i32)> {
    match (spec.begin_search, spec.find_keys) {
        (BeginSearch::Index(pos), FindKeys::Range { lastkey, keystep, .. }) => Some((pos, lastkey, keystep)),
        _ => None,
    }
}

/// Redis: server.c populateCommandLegacyRangeSpec(): glues consecutive plain range specs into
/// (first, last, step) and says whether the keys are "movable" (not all described by it).
/// `lastkey` here is absolute when non-negative, as COMMAND INFO prints it.
pub fn populate_command_legacy_range_spec(def: &CommandDef) -> (Option<LegacyRange>, bool) {
    if let [only] = def.key_specs {
        if let Some((pos, lastkey, keystep)) = plain_range(only) {
            let lastkey = if lastkey >= 0 { lastkey + pos } else { lastkey };
            let movable = only.flags & CMD_KEY_INCOMPLETE != 0;
            return (Some(LegacyRange { firstkey: pos, lastkey, keystep }), movable);
        }
    }
    let (mut firstkey, mut lastkey, mut prev_lastkey) = (i32::MAX, 0i32, 0i32);
    let mut movable = false;
    for spec in def.key_specs {
        let Some((pos, range_last, keystep)) = plain_range(spec) else {
            movable = true;
            continue;
        };
        if keystep != 1 || (prev_lastkey != 0 && prev_lastkey != pos - 1) {
            movable = true;
            continue;
        }
        movable |= spec.flags & CMD_KEY_INCOMPLETE != 0;
        firstkey = firstkey.min(pos);
        let abs_last = if range_last >= 0 { range_last + pos } else { range_last };
        // Redis compares as unsigned so that a negative (count-from-the-end) value wins.
        lastkey = (lastkey as u32).max(abs_last as u32) as i32;
        prev_lastkey = lastkey;
    }
    if def.key_specs.is_empty() {
        return (None, false);
    }
    if firstkey == i32::MAX {
        return (None, true);
    }
    (Some(LegacyRange { firstkey, lastkey, keystep: 1 }), movable)
}

/// The command's flags as Redis holds them at runtime: the static ones plus CMD_MOVABLE_KEYS
/// when populateCommandLegacyRangeSpec() derives it.
pub fn command_flags(def: &CommandDef) -> u64 {
    match populate_command_legacy_range_spec(def) {
        (_, true) => def.flags | CMD_MOVABLE_KEYS,
        (_, false) => def.flags,
    }
}

// ---------------------------------------------------------------------------------------------
// Key specs (db.c)
// ---------------------------------------------------------------------------------------------

/// Redis: db.c getAllKeySpecsFlags(): the union of the flags, or (inv) of their complements.
fn get_all_key_specs_flags(def: &CommandDef, inv: bool) -> u64 {
    def.key_specs.iter().fold(0, |acc, spec| acc | if inv { !spec.flags } else { spec.flags })
}

/// Why a spec could not be applied (Redis: the `invalid_spec` label).
struct InvalidSpec;

/// Redis: db.c getKeysUsingKeySpecs(). None when a spec is unknown, incomplete or does not fit
/// the arguments (and `return_partial` is off): the caller then tries the getkeys function.
pub fn get_keys_using_key_specs(def: &CommandDef, argv: &[&[u8]], search: KeySearch) -> Option<Vec<KeyReference>> {
    let mut keys = Vec::new();
    for spec in def.key_specs {
        if spec.flags & CMD_KEY_NOT_KEY != 0 && !search.include_not_keys {
            continue;
        }
        let outcome = match begin_search(spec, argv) {
            Ok(Some(first)) => find_keys(spec, argv, first, &mut keys),
            Ok(None) => continue,
            Err(InvalidSpec) => Err(InvalidSpec),
        };
        let complete = outcome.is_ok() && spec.flags & CMD_KEY_INCOMPLETE == 0;
        if !complete && !search.return_partial {
            return None;
        }
    }
    Some(keys)
}

/// The begin_search step: the index of the first key, None when the keyword is absent.
fn begin_search(spec: &KeySpec, argv: &[&[u8]]) -> Result<Option<i64>, InvalidSpec> {
    match spec.begin_search {
        BeginSearch::Index(pos) => Ok(Some(i64::from(pos))),
        BeginSearch::Keyword { keyword, startfrom } => Ok(find_keyword(argv, keyword, startfrom)),
        BeginSearch::Unknown => Err(InvalidSpec),
    }
}

/// Redis's keyword scan: forwards from `startfrom`, or backwards from argc+startfrom when it
/// is negative, never looking at argv[0] nor at the far end position itself.
fn find_keyword(argv: &[&[u8]], keyword: &str, startfrom: i32) -> Option<i64> {
    let argc = argv.len() as i64;
    let startfrom = i64::from(startfrom);
    let start = if startfrom > 0 { startfrom } else { argc + startfrom };
    let end = if startfrom > 0 { argc - 1 } else { 1 };
    let step = if start <= end { 1 } else { -1 };
    let mut i = start;
    while i != end {
        let arg = usize::try_from(i).ok().filter(|&i| i >= 1).and_then(|i| argv.get(i))?;
        if util::str_eq_ignore_case(arg, keyword.as_bytes()) {
            return Some(i + 1);
        }
        i += step;
    }
    None
}

/// The find_keys step: appends the keys of one spec starting at `first`.
fn find_keys(spec: &KeySpec, argv: &[&[u8]], first: i64, keys: &mut Vec<KeyReference>) -> Result<(), InvalidSpec> {
    let argc = argv.len() as i64;
    let (first, last, step) = match spec.find_keys {
        FindKeys::Range { lastkey, keystep, limit } => {
            (first, range_last(argc, first, i64::from(lastkey), i64::from(limit)), i64::from(keystep))
        }
        FindKeys::Keynum { keynumidx, firstkey, keystep } => {
            let numkeys = keynum(argv, first + i64::from(keynumidx))?;
            let first = first + i64::from(firstkey);
            // Redis narrows the count to an int; keep its wrap-around for huge counts.
            (first, first + i64::from(numkeys as i32) - 1, i64::from(keystep))
        }
        FindKeys::Unknown => return Err(InvalidSpec),
    };
    if last >= argc || last < first || first >= argc || step <= 0 {
        return Err(InvalidSpec);
    }
    let mut i = first;
    while i <= last {
        if let Ok(pos) = usize::try_from(i) {
            keys.push(KeyReference { pos, flags: spec.flags });
        }
        i += step;
    }
    Ok(())
}

/// Redis: the "range" last key: relative to `first`, from the end, or every `limit`-th part.
fn range_last(argc: i64, first: i64, lastkey: i64, limit: i64) -> i64 {
    if lastkey >= 0 {
        first + lastkey
    } else if limit == 0 {
        argc + lastkey
    } else {
        first + ((argc - first) / limit + lastkey)
    }
}

/// The numkeys argument of a "keynum" spec: a non-negative integer or the spec is invalid.
fn keynum(argv: &[&[u8]], idx: i64) -> Result<i64, InvalidSpec> {
    let arg = usize::try_from(idx).ok().and_then(|i| argv.get(i)).ok_or(InvalidSpec)?;
    match util::string2ll(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(InvalidSpec),
    }
}

/// Redis: db.c getKeysFromCommandWithSpecs(): key specs when they are reliable, else the
/// command's getkeys function. An empty result means "no keys found".
pub fn get_keys_from_command_with_specs(cmd: &Command, argv: &[&[u8]], search: KeySearch) -> Vec<KeyReference> {
    let def = cmd.def;
    let has_keyspec = get_all_key_specs_flags(def, true) & CMD_KEY_NOT_KEY != 0;
    let has_varflags = get_all_key_specs_flags(def, false) & CMD_KEY_VARIABLE_FLAGS != 0;
    if has_keyspec && !has_varflags {
        if let Some(keys) = get_keys_using_key_specs(def, argv, search) {
            return keys;
        }
    }
    native_getkeys_proc(cmd).map_or_else(Vec::new, |getkeys| getkeys(argv))
}

/// Redis: db.c getKeysFromCommand(): the getkeys function, else the legacy range (no flags).
pub fn get_keys_from_command(cmd: &Command, argv: &[&[u8]]) -> Vec<KeyReference> {
    match native_getkeys_proc(cmd) {
        Some(getkeys) => getkeys(argv),
        None => get_keys_using_legacy_range_spec(cmd.def, argv),
    }
}

/// Redis: db.c getKeysUsingLegacyRangeSpec(): nothing at all if the range overruns argv.
fn get_keys_using_legacy_range_spec(def: &CommandDef, argv: &[&[u8]]) -> Vec<KeyReference> {
    let Some(range) = populate_command_legacy_range_spec(def).0 else { return Vec::new() };
    let argc = argv.len() as i64;
    let first = i64::from(range.firstkey);
    let last = match i64::from(range.lastkey) {
        last if last < 0 => argc + last,
        last => last,
    };
    let step = i64::from(range.keystep.max(1));
    if first < 0 || last >= argc {
        return Vec::new();
    }
    (first..=last).step_by(step as usize).map(|pos| KeyReference { pos: pos as usize, flags: 0 }).collect()
}

/// Redis: db.c doesCommandHaveKeys(): a getkeys function or one spec that is a real key.
pub fn does_command_have_keys(cmd: &Command) -> bool {
    native_getkeys_proc(cmd).is_some() || get_all_key_specs_flags(cmd.def, true) & CMD_KEY_NOT_KEY != 0
}

// ---------------------------------------------------------------------------------------------
// Native getkeys functions (db.c)
// ---------------------------------------------------------------------------------------------

/// Redis: the `get_keys_function` of each command's JSON, keyed by the command's full name.
pub fn native_getkeys_proc(cmd: &Command) -> Option<GetKeysProc> {
    let proc_: GetKeysProc = match cmd.fullname.as_str() {
        "zunionstore" | "zinterstore" | "zdiffstore" => zunion_inter_diff_store_get_keys,
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            numkeys_at_1_get_keys
        }
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" | "blmpop" | "bzmpop" => {
            numkeys_at_2_get_keys
        }
        "sort" => sort_get_keys,
        "sort_ro" => sort_ro_get_keys,
        "migrate" => migrate_get_keys,
        "georadius" | "georadiusbymember" => georadius_get_keys,
        "xread" | "xreadgroup" => xread_get_keys,
        "set" => set_get_keys,
        "bitfield" => bitfield_get_keys,
        _ => return None,
    };
    Some(proc_)
}

/// C atoi(): optional blanks and sign, then digits up to the first non-digit; 0 if none.
fn atoi(s: &[u8]) -> i64 {
    let s = match s.iter().position(|&b| !util::is_c_space(b)) {
        Some(start) => &s[start..],
        None => return 0,
    };
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut value: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        value = value.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    let value = if neg { -value } else { value };
    // atoi() returns an int: keep its truncation of out-of-range values.
    i64::from(value as i32)
}

/// Redis: db.c genericGetKeys(): `num` keys from `first`, plus an optional destination key.
fn generic_get_keys(store: Option<usize>, keycount_idx: usize, first: usize, argv: &[&[u8]]) -> Vec<KeyReference> {
    let Some(count_arg) = argv.get(keycount_idx) else { return Vec::new() };
    let num = atoi(count_arg);
    let room = argv.len().saturating_sub(first) as i64;
    if num < 1 || num > room {
        return Vec::new();
    }
    let mut keys: Vec<KeyReference> = (0..num as usize).map(|i| KeyReference { pos: first + i, flags: 0 }).collect();
    if let Some(pos) = store {
        keys.push(KeyReference { pos, flags: 0 });
    }
    keys
}

/// Redis: db.c zunionInterDiffStoreGetKeys().
fn zunion_inter_diff_store_get_keys(argv: &[&[u8]]) -> Vec<KeyReference> {
    generic_get_keys(Some(1), 2, 3, argv)
}

/// Redis: db.c zunionInterDiffGetKeys(), sintercardGetKeys(), lmpopGetKeys(), zmpopGetKeys().
fn numkeys_at_1_get_keys(argv: &[&[u8]]) -> Vec<KeyReference> {
    generic_get_keys(None, 1, 2, argv)
}

/// Redis: db.c evalGetKeys(), functionGetKeys(), blmpopGetKeys(), bzmpopGetKeys().
fn numkeys_at_2_get_keys(argv: &[&[u8]]) -> Vec<KeyReference> {
    generic_get_keys(None, 2, 3, argv)
}

/// Redis: db.c sortROGetKeys(): only the sorted key is known.
fn sort_ro_get_keys(_argv: &[&[u8]]) -> Vec<KeyReference> {
    vec![KeyReference { pos: 1, flags: CMD_KEY_RO | CMD_KEY_ACCESS }]
}

/// Redis: db.c sortGetKeys(): the sorted key and the last STORE destination. Like Redis,
/// the argument after STORE is not skipped, so it is read again as a possible option.
fn sort_get_keys(argv: &[&[u8]]) -> Vec<KeyReference> {
    let mut keys = vec![KeyReference { pos: 1, flags: CMD_KEY_RO | CMD_KEY_ACCESS }];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let arg = argv[i];
        if util::str_eq_ignore_case(arg, b"limit") {
            i += 2;
        } else if util::str_eq_ignore_case(arg, b"store") && i + 1 < argv.len() {
            store = Some(i + 1);
        } else if util::str_eq_ignore_case(arg, b"get") || util::str_eq_ignore_case(arg, b"by") {
            i += 1;
        }
        i += 1;
    }
    if let Some(pos) = store {
        keys.push(KeyReference { pos, flags: CMD_KEY_OW | CMD_KEY_UPDATE });
    }
    keys
}

/// Redis: db.c migrateGetKeys(): argv[3], or everything after KEYS when argv[3] is empty.
fn migrate_get_keys(argv: &[&[u8]]) -> Vec<KeyReference> {
    let (mut first, mut num) = (3usize, 1usize);
    let mut i = 6;
    while i < argv.len() {
        let arg = argv[i];
        if util::str_eq_ignore_case(arg, b"keys") {
            if argv.get(3).is_some_and(|a| !a.is_empty()) {
                num = 0; // A syntax error: migrateCommand reports it.
            } else {
                first = i + 1;
                num = argv.len() - first;
            }
            break;
        }
        if util::str_eq_ignore_case(arg, b"auth") {
            i += 1;
        } else if util::str_eq_ignore_case(arg, b"auth2") {
            i += 2;
        }
        i += 1;
    }
    let flags = CMD_KEY_RW | CMD_KEY_ACCESS | CMD_KEY_DELETE;
    (first..first + num).filter(|&pos| pos < argv.len()).map(|pos| KeyReference { pos, flags }).collect()
}

/// Redis: db.c georadiusGetKeys(): the key and the last STORE/STOREDIST destination.
fn georadius_get_keys(argv: &[&[u8]]) -> Vec<KeyReference> {
    let mut stored = None;
    let mut i = 5;
    while i < argv.len() {
        let arg = argv[i];
        let is_store = util::str_eq_ignore_case(arg, b"store") || util::str_eq_ignore_case(arg, b"storedist");
        if is_store && i + 1 < argv.len() {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    let mut keys = vec![KeyReference { pos: 1, flags: 0 }];
    keys.extend(stored.map(|pos| KeyReference { pos, flags: 0 }));
    keys
}

/// Redis: db.c xreadGetKeys(): the first half of the arguments after the STREAMS option.
fn xread_get_keys(argv: &[&[u8]]) -> Vec<KeyReference> {
    let mut streams_pos = None;
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i];
        if util::str_eq_ignore_case(arg, b"block") || util::str_eq_ignore_case(arg, b"count") {
            i += 1;
        } else if util::str_eq_ignore_case(arg, b"group") {
            i += 2;
        } else if util::str_eq_ignore_case(arg, b"streams") {
            streams_pos = Some(i);
            break;
        } else if !util::str_eq_ignore_case(arg, b"noack") {
            break;
        }
        i += 1;
    }
    let Some(streams_pos) = streams_pos else { return Vec::new() };
    let num = argv.len() - streams_pos - 1;
    if num == 0 || !num.is_multiple_of(2) {
        return Vec::new();
    }
    (streams_pos + 1..streams_pos + 1 + num / 2).map(|pos| KeyReference { pos, flags: 0 }).collect()
}

/// Redis: db.c setGetKeys(): the key is read too when a GET option is present.
fn set_get_keys(argv: &[&[u8]]) -> Vec<KeyReference> {
    let has_get = argv.iter().skip(3).any(|arg| util::str_eq_ignore_case(arg, b"get"));
    let flags = if has_get { CMD_KEY_RW | CMD_KEY_ACCESS | CMD_KEY_UPDATE } else { CMD_KEY_OW | CMD_KEY_UPDATE };
    vec![KeyReference { pos: 1, flags }]
}

/// Redis: db.c bitfieldGetKeys(): read-only unless a SET/INCRBY (or a syntax error) shows up.
fn bitfield_get_keys(argv: &[&[u8]]) -> Vec<KeyReference> {
    let mut readonly = true;
    let mut i = 2;
    while i < argv.len() {
        let remaining = argv.len() - i - 1;
        let arg = argv[i];
        if util::str_eq_ignore_case(arg, b"get") && remaining >= 2 {
            i += 2;
        } else if (util::str_eq_ignore_case(arg, b"set") || util::str_eq_ignore_case(arg, b"incrby")) && remaining >= 3 {
            readonly = false;
            break;
        } else if util::str_eq_ignore_case(arg, b"overflow") && remaining >= 1 {
            i += 1;
        } else {
            readonly = false; // A syntax error: safer to assume a write.
            break;
        }
        i += 1;
    }
    let flags = if readonly { CMD_KEY_RO | CMD_KEY_ACCESS } else { CMD_KEY_RW | CMD_KEY_ACCESS | CMD_KEY_UPDATE };
    vec![KeyReference { pos: 1, flags }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::COMMAND_TABLE;

    fn def(name: &str) -> &'static CommandDef {
        COMMAND_TABLE.iter().find(|d| d.name == name).expect("a Redis command")
    }

    fn range(name: &str) -> (Option<(i32, i32, i32)>, bool) {
        let (range, movable) = populate_command_legacy_range_spec(def(name));
        (range.map(|r| (r.firstkey, r.lastkey, r.keystep)), movable)
    }

    #[test]
    fn legacy_range_matches_redis() {
        assert_eq!(range("get"), (Some((1, 1, 1)), false));
        assert_eq!(range("mset"), (Some((1, -1, 2)), false));
        assert_eq!(range("del"), (Some((1, -1, 1)), false));
        assert_eq!(range("lmove"), (Some((1, 2, 1)), false));
        assert_eq!(range("blpop"), (Some((1, -2, 1)), false));
        assert_eq!(range("ping"), (None, false));
        assert_eq!(range("zunionstore"), (Some((1, 1, 1)), true));
        assert_eq!(range("migrate"), (Some((3, 3, 1)), true));
        assert_eq!(range("sort"), (Some((1, 1, 1)), true));
        assert_eq!(range("blmpop"), (None, true));
        assert_eq!(range("xread"), (None, true));
        assert_eq!(range("set"), (Some((1, 1, 1)), false));
    }

    /// The generator marks each command whose real COMMAND INFO shows movablekeys; our
    /// derivation must agree on every command and subcommand of Redis 7.0.15.
    #[test]
    fn movablekeys_agrees_with_the_real_server_for_every_command() {
        let source = include_str!("commands.rs");
        let mut marked = Vec::new();
        let mut pending = false;
        for line in source.lines().map(str::trim) {
            if line.starts_with("// COMMAND INFO reports movablekeys") {
                pending = true;
            } else if let Some(rest) = line.strip_prefix("name: \"") {
                marked.push((rest.trim_end_matches("\",").to_string(), pending));
                pending = false;
            }
        }
        let mut derived = Vec::new();
        for top in COMMAND_TABLE {
            for d in std::iter::once(top).chain(top.subcommands.iter()) {
                derived.push((d.name.to_string(), command_flags(d) & CMD_MOVABLE_KEYS != 0));
            }
        }
        assert_eq!(marked.len(), derived.len());
        assert!(marked.iter().filter(|(_, m)| *m).count() > 20);
        assert_eq!(marked, derived);
    }

    fn args(line: &str) -> Vec<&[u8]> {
        line.split(' ').map(str::as_bytes).collect()
    }

    fn positions(keys: Option<Vec<KeyReference>>) -> Option<Vec<usize>> {
        keys.map(|keys| keys.iter().map(|k| k.pos).collect())
    }

    #[test]
    fn key_specs_find_keys() {
        let search = KeySearch::default();
        assert_eq!(positions(get_keys_using_key_specs(def("mset"), &args("mset a 1 b 2"), search)), Some(vec![1, 3]));
        assert_eq!(positions(get_keys_using_key_specs(def("eval"), &args("eval s 2 a b c"), search)), Some(vec![3, 4]));
        assert_eq!(positions(get_keys_using_key_specs(def("eval"), &args("eval s x a"), search)), None);
        assert_eq!(positions(get_keys_using_key_specs(def("eval"), &args("eval s 9 a"), search)), None);
        assert_eq!(positions(get_keys_using_key_specs(def("eval"), &args("eval s 0"), search)), None);
        assert_eq!(
            positions(get_keys_using_key_specs(def("xread"), &args("xread count 1 streams a b 0 0"), search)),
            Some(vec![4, 5])
        );
        // The keyword at the very end is never a match (Redis stops before it).
        assert_eq!(positions(get_keys_using_key_specs(def("xread"), &args("xread count 1 streams"), search)), Some(vec![]));
        // SORT's unknown specs make the specs unusable unless partial results are wanted.
        assert_eq!(positions(get_keys_using_key_specs(def("sort"), &args("sort k"), search)), None);
        let partial = KeySearch { return_partial: true, ..search };
        assert_eq!(positions(get_keys_using_key_specs(def("sort"), &args("sort k"), partial)), Some(vec![1]));
        // MIGRATE's KEYS spec is incomplete: used only for partial results.
        let migrate = args("migrate h p  0 5000 keys a b");
        assert_eq!(positions(get_keys_using_key_specs(def("migrate"), &migrate, search)), None);
        assert_eq!(positions(get_keys_using_key_specs(def("migrate"), &migrate, partial)), Some(vec![3, 7, 8]));
    }

    #[test]
    fn not_key_specs_are_skipped_unless_asked() {
        let spublish = def("spublish");
        assert_eq!(positions(get_keys_using_key_specs(spublish, &args("spublish ch m"), KeySearch::default())), Some(vec![]));
        let include = KeySearch { include_not_keys: true, ..KeySearch::default() };
        assert_eq!(positions(get_keys_using_key_specs(spublish, &args("spublish ch m"), include)), Some(vec![1]));
    }

    #[test]
    fn atoi_is_c_atoi() {
        assert_eq!(atoi(b"12"), 12);
        assert_eq!(atoi(b"  -3x"), -3);
        assert_eq!(atoi(b"+7"), 7);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"4294967297"), 1);
    }

    #[test]
    fn generic_get_keys_bounds() {
        let argv = args("zunionstore d 2 a b");
        let keys: Vec<usize> = zunion_inter_diff_store_get_keys(&argv).iter().map(|k| k.pos).collect();
        assert_eq!(keys, vec![3, 4, 1]);
        assert!(zunion_inter_diff_store_get_keys(&args("zunionstore d 3 a b")).is_empty());
        assert!(numkeys_at_2_get_keys(&args("eval s")).is_empty());
        assert!(xread_get_keys(&args("xread streams a")).is_empty());
        assert_eq!(xread_get_keys(&args("xread group g c noack streams a b 1 2")).len(), 2);
    }
}
