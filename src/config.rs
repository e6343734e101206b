//! Configuration: loading redis.conf and `--options`, CONFIG GET / SET / REWRITE
//! (Redis config.c, plus main()'s argv handling from server.c).
//!
//! Every directive is a `StandardConfig` in the table of config_table.rs, which says how
//! to parse, render and rewrite the matching `ServerConfig` field. This module never
//! touches process-wide state (no chdir, no sockets): functions return what changed and the
//! server applies side effects from its event loop (listen on a new port, chdir into `dir`,
//! resize the backlog ...). Everything here runs synchronously on the main thread, either
//! at start-up or inside a CONFIG command.

#[path = "config_table.rs"]
mod table;

pub use table::{
    keyspace_events_flags_to_string, keyspace_events_string_to_flags, AclPubsubDefault,
    AppendFsync, ClientBufferLimit, ClientClass, ClusterPreferredEndpointType, DeferredDirectives,
    DeferredLine, LogLevel, MaxmemoryPolicy, MemoryOrPercent, OomScoreAdj,
    PropagationErrorBehavior, ProtectedConfig, ReplDisklessLoad, ReplicaOf, SanitizeDumpPayload,
    ServerConfig, SupervisedMode, SyslogFacility, TlsAuthClients, CLIENT_BUFFER_LIMIT_DEFAULTS,
    NOTIFY_ALL, NOTIFY_EVICTED, NOTIFY_EXPIRED, NOTIFY_GENERIC, NOTIFY_HASH, NOTIFY_KEYEVENT,
    NOTIFY_KEYSPACE, NOTIFY_KEY_MISS, NOTIFY_LIST, NOTIFY_LOADED, NOTIFY_MODULE, NOTIFY_NEW,
    NOTIFY_SET, NOTIFY_STREAM, NOTIFY_STRING, NOTIFY_ZSET, SHUTDOWN_FORCE, SHUTDOWN_NOSAVE,
    SHUTDOWN_NOW, SHUTDOWN_SAVE,
};

use crate::util::{sds_split_args, string_match_len};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The version printed in the fatal config error banner.
const REDIS_VERSION: &str = "7.0.15";
/// Redis: CONFIG_MIN_HZ / CONFIG_MAX_HZ.
const CONFIG_MIN_HZ: i32 = 1;
const CONFIG_MAX_HZ: i32 = 500;
/// Redis: CONFIG_REPL_BACKLOG_MIN_SIZE, enforced when CONFIG SET changes the backlog.
const CONFIG_REPL_BACKLOG_MIN_SIZE: i64 = 16 * 1024;
/// Redis recurses on `include` without limit; we stop a file that includes itself.
const MAX_INCLUDE_DEPTH: usize = 16;

/*-----------------------------------------------------------------------------
 * The standardConfig type (config.c's generic config infrastructure)
 *----------------------------------------------------------------------------*/

/// Config flags (Redis *_CONFIG). MODIFIABLE is the absence of IMMUTABLE.
pub const MODIFIABLE: u32 = 0;
/// CONFIG SET refuses it ("can't set immutable config").
pub const IMMUTABLE: u32 = 1 << 0;
/// Its value must be redacted from slowlog / MONITOR / logs.
pub const SENSITIVE: u32 = 1 << 1;
/// Shown in crash reports (Redis getConfigDebugInfo()).
pub const DEBUG: u32 = 1 << 2;
/// Takes several arguments; CONFIG SET splits its value on spaces.
pub const MULTI_ARG: u32 = 1 << 3;
/// Only visible to CONFIG GET with its exact name.
pub const HIDDEN: u32 = 1 << 4;
/// CONFIG SET needs enable-protected-configs.
pub const PROTECTED: u32 = 1 << 5;
/// CONFIG SET answers -LOADING while the dataset is loading.
pub const DENY_LOADING: u32 = 1 << 6;

/// One directive: Redis's standardConfig.
pub struct StandardConfig {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u32,
    kind: ConfigKind,
}

/// The type interface of a directive (Redis typeInterface + typeData).
enum ConfigKind {
    Bool(BoolSpec),
    Str(StrSpec),
    Enum(EnumSpec),
    Num(NumSpec),
    Special(SpecialSpec),
}

type Validator<T> = Option<fn(T) -> Result<(), &'static str>>;
type BytesValidator = fn(&[u8]) -> Result<(), &'static str>;

struct BoolSpec {
    get: fn(&ServerConfig) -> bool,
    set: fn(&mut ServerConfig, bool),
    validate: Validator<bool>,
}

/// Both Redis string and sds configs; `None` is the NULL that EMPTY_STRING_IS_NULL makes.
struct StrSpec {
    get: fn(&ServerConfig) -> Option<&[u8]>,
    set: fn(&mut ServerConfig, Option<&[u8]>),
    empty_is_null: bool,
    validate: Option<BytesValidator>,
}

/// Enum values travel as Redis's int codes; MULTI_ARG enums are bit flags.
struct EnumSpec {
    names: &'static [(&'static str, i32)],
    get: fn(&ServerConfig) -> i32,
    set: fn(&mut ServerConfig, i32),
    validate: Validator<i32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NumFormat {
    Integer,
    Memory,
    /// Memory, or "N%" stored as -N (maxmemory-clients).
    MemoryOrPercent,
    Octal,
}

/// Numeric values travel as Redis's `long long`.
struct NumSpec {
    format: NumFormat,
    /// Bounds compared as unsigned (Redis's ULONG_LONG, UINT and SIZE_T types).
    unsigned: bool,
    lower: i64,
    upper: i64,
    get: fn(&ServerConfig) -> i64,
    set: fn(&mut ServerConfig, i64),
}

type SpecialSet = fn(&mut ServerConfig, &[&[u8]], &mut SetContext) -> Result<SetOutcome, String>;
type SpecialRewrite = fn(&ServerConfig, &ServerConfig, &'static str, &mut RewriteState);

struct SpecialSpec {
    set: SpecialSet,
    get: fn(&ServerConfig) -> Vec<u8>,
    /// Gets the current config, a default one, and the option name.
    rewrite: SpecialRewrite,
}

/// What a setter did (Redis's set() returning 1 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOutcome {
    Changed,
    Unchanged,
}

/// Redis's `reading_config_file` and `save_loaded` statics: the first `save` line of a
/// config file replaces the defaults, later ones append.
#[derive(Debug, Default)]
struct SetContext {
    reading_config_file: bool,
    save_loaded: bool,
}

/// A table entry seen through one of its names (Redis registers aliases as separate
/// dict entries, which matters for CONFIG GET and for CONFIG SET's duplicate check).
#[derive(Clone, Copy)]
struct ConfigRef {
    entry: &'static StandardConfig,
    index: usize,
    is_alias: bool,
}

impl ConfigRef {
    fn name(&self) -> &'static str {
        match (self.is_alias, self.entry.alias) {
            (true, Some(alias)) => alias,
            _ => self.entry.name,
        }
    }

    fn same_entry(&self, other: &ConfigRef) -> bool {
        self.index == other.index && self.is_alias == other.is_alias
    }
}

/// Every name and alias, primary names first within an entry.
fn all_config_refs() -> impl Iterator<Item = ConfigRef> {
    table::CONFIGS.iter().enumerate().flat_map(|(index, entry)| {
        let primary = Some(ConfigRef { entry, index, is_alias: false });
        let alias = entry.alias.map(|_| ConfigRef { entry, index, is_alias: true });
        primary.into_iter().chain(alias)
    })
}

/// Redis: lookupConfig(), case-insensitive over names and aliases.
fn lookup_config(name: &[u8]) -> Option<ConfigRef> {
    all_config_refs().find(|r| r.name().as_bytes().eq_ignore_ascii_case(name))
}

/// Whether CONFIG SET of `name` must be redacted from logs (SENSITIVE_CONFIG).
pub fn config_is_sensitive(name: &[u8]) -> bool {
    lookup_config(name).is_some_and(|r| r.entry.flags & SENSITIVE != 0)
}

/// The names of every directive Redis 7.0.15 knows, primary names then aliases.
pub fn config_names() -> Vec<&'static str> {
    all_config_refs().map(|r| r.name()).collect()
}

/*-----------------------------------------------------------------------------
 * Parsing helpers (the bits of util.c / libc that config.c leans on)
 *----------------------------------------------------------------------------*/

use crate::util::{string2ll, yesnotoi as yes_no};

/// Redis: util.c memtoull() as config.c uses it (None when the text is not a size).
fn mem_to_ull(s: &[u8]) -> Option<u64> {
    crate::util::memtoull(s).ok()
}

/// Redis: sds.c sdscatrepr() into a new string (always ASCII).
fn sds_repr(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    crate::util::sds_cat_repr(&mut out, s);
    String::from_utf8_lossy(&out).into_owned()
}


/// C strtoll(): leading blanks, a sign, then digits of `base`. Returns the value
/// (saturated on overflow), the bytes consumed (0 when there are no digits) and whether
/// it overflowed (errno == ERANGE).
fn c_strtoll(s: &[u8], base: u32) -> (i64, usize, bool) {
    let mut i = s.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')).count();
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    let mut magnitude: Option<u64> = Some(0);
    while let Some(d) = s.get(i).and_then(|c| char::from(*c).to_digit(base)) {
        magnitude = magnitude.and_then(|m| m.checked_mul(u64::from(base))?.checked_add(u64::from(d)));
        i += 1;
    }
    if i == digits_start {
        return (0, 0, false);
    }
    let limit = if negative { 1u64 << 63 } else { i64::MAX as u64 };
    match magnitude.filter(|m| *m <= limit) {
        Some(m) if negative => ((m as i64).wrapping_neg(), i, false),
        Some(m) => (m as i64, i, false),
        None => (if negative { i64::MIN } else { i64::MAX }, i, true),
    }
}




/// libc strerror() text, as Redis prints it.
fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

fn io_strerror(e: &std::io::Error) -> String {
    e.raw_os_error().map_or_else(|| e.to_string(), strerror)
}

/// access(2): the errors chdir()/fopen() would report, without doing them.
fn check_access(path: &Path, mode: libc::c_int) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| strerror(libc::EINVAL))?;
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call, and
    // access() only reads it.
    let rc = unsafe { libc::access(c_path.as_ptr(), mode) };
    if rc == 0 {
        return Ok(());
    }
    Err(io_strerror(&std::io::Error::last_os_error()))
}

fn trim_bytes<'a>(s: &'a [u8], chars: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|c| !chars.contains(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !chars.contains(c)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// Redis: sdssplitlen(value, " "): CONFIG SET's way to split a MULTI_ARG value.
fn split_multi_arg(value: &[u8]) -> Vec<&[u8]> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(|&b| b == b' ').collect()
}

/*-----------------------------------------------------------------------------
 * Generic get / set per type
 *----------------------------------------------------------------------------*/

/// Redis: configEnumGetValue(). Bit-flag enums OR several names together.
fn enum_value_from_args(spec: &EnumSpec, argv: &[&[u8]], bitflags: bool) -> Option<i32> {
    if argv.is_empty() || (!bitflags && argv.len() != 1) {
        return None;
    }
    argv.iter().try_fold(0, |values, arg| {
        let mut matching = spec.names.iter().filter(|(n, _)| n.as_bytes().eq_ignore_ascii_case(arg));
        let first = matching.next()?;
        Some(matching.fold(values | first.1, |acc, (_, v)| acc | v))
    })
}

/// Redis: configEnumGetName(): the exact match, else (bit flags) the names of the set
/// bits in table order, else "unknown".
fn enum_name(spec: &EnumSpec, value: i32, bitflags: bool) -> String {
    if let Some((name, _)) = spec.names.iter().find(|(_, v)| *v == value) {
        return (*name).to_string();
    }
    let mut unmatched = value;
    let mut names = Vec::new();
    for (name, v) in spec.names {
        if bitflags && *v != 0 && *v == unmatched & v {
            names.push(*name);
            unmatched &= !v;
        }
    }
    if names.is_empty() || unmatched != 0 {
        return "unknown".to_string();
    }
    names.join(" ")
}

fn enum_set_error(spec: &EnumSpec) -> String {
    let names: Vec<&str> = spec.names.iter().map(|(n, _)| *n).collect();
    format!("argument(s) must be one of the following: {}", names.join(", "))
}

/// Redis: numericParseString().
fn numeric_parse(spec: &NumSpec, value: &[u8]) -> Result<i64, String> {
    let memory = matches!(spec.format, NumFormat::Memory | NumFormat::MemoryOrPercent);
    if let Some(v) = mem_to_ull(value).filter(|_| memory) {
        return Ok(v as i64);
    }
    if spec.format == NumFormat::MemoryOrPercent {
        if let Some(number) = value.strip_suffix(b"%").filter(|n| !n.is_empty()) {
            if let Some(v) = string2ll(number).filter(|v| *v >= 0) {
                return Ok(-v);
            }
        }
    }
    if spec.format == NumFormat::Octal {
        let (v, consumed, overflow) = c_strtoll(value, 8);
        if consumed == value.len() && !overflow {
            return Ok(v);
        }
    }
    if let Some(v) = string2ll(value).filter(|_| spec.format == NumFormat::Integer) {
        return Ok(v);
    }
    Err(match spec.format {
        NumFormat::MemoryOrPercent => "argument must be a memory or percent value",
        NumFormat::Memory => "argument must be a memory value",
        NumFormat::Octal => "argument couldn't be parsed as an octal number",
        NumFormat::Integer => "argument couldn't be parsed into an integer",
    }
    .to_string())
}

/// Redis: numericBoundaryCheck().
fn numeric_boundary_check(spec: &NumSpec, ll: i64) -> Result<(), String> {
    if spec.unsigned {
        let (v, lower, upper) = (ll as u64, spec.lower as u64, spec.upper as u64);
        if v > upper || v < lower {
            return Err(if spec.format == NumFormat::Octal {
                format!("argument must be between {lower:o} and {upper:o} inclusive")
            } else {
                format!("argument must be between {lower} and {upper} inclusive")
            });
        }
    } else if spec.format == NumFormat::MemoryOrPercent && ll < 0 {
        if ll < spec.lower {
            return Err(format!("percentage argument must be less or equal to {}", -spec.lower));
        }
    } else if ll > spec.upper || ll < spec.lower {
        return Err(format!(
            "argument must be between {} and {} inclusive",
            spec.lower, spec.upper
        ));
    }
    Ok(())
}

/// Redis: numericConfigGet().
fn numeric_render(spec: &NumSpec, value: i64) -> String {
    match spec.format {
        NumFormat::MemoryOrPercent if value < 0 => format!("{}%", value.unsigned_abs()),
        NumFormat::Memory | NumFormat::MemoryOrPercent => (value as u64).to_string(),
        NumFormat::Octal => format!("{:o}", value as u64),
        NumFormat::Integer => value.to_string(),
    }
}

fn changed_if(differs: bool) -> SetOutcome {
    if differs {
        SetOutcome::Changed
    } else {
        SetOutcome::Unchanged
    }
}

/// Redis: the interface.set() of each type. `argv` holds exactly one value for
/// non-MULTI_ARG configs (the callers check).
fn config_set_value(
    cfg: &mut ServerConfig,
    entry: &StandardConfig,
    argv: &[&[u8]],
    ctx: &mut SetContext,
) -> Result<SetOutcome, String> {
    let first = argv.first().copied().unwrap_or_default();
    match &entry.kind {
        ConfigKind::Bool(spec) => {
            let yn = yes_no(first).ok_or("argument must be 'yes' or 'no'")?;
            spec.validate.map_or(Ok(()), |f| f(yn))?;
            let outcome = changed_if((spec.get)(cfg) != yn);
            (spec.set)(cfg, yn);
            Ok(outcome)
        }
        ConfigKind::Str(spec) => {
            spec.validate.map_or(Ok(()), |f| f(first))?;
            let new = if spec.empty_is_null && first.is_empty() { None } else { Some(first) };
            let outcome = changed_if((spec.get)(cfg) != new);
            (spec.set)(cfg, new);
            Ok(outcome)
        }
        ConfigKind::Enum(spec) => {
            let bitflags = entry.flags & MULTI_ARG != 0;
            let value = enum_value_from_args(spec, argv, bitflags).ok_or_else(|| enum_set_error(spec))?;
            spec.validate.map_or(Ok(()), |f| f(value))?;
            let outcome = changed_if((spec.get)(cfg) != value);
            (spec.set)(cfg, value);
            Ok(outcome)
        }
        ConfigKind::Num(spec) => {
            let value = numeric_parse(spec, first)?;
            numeric_boundary_check(spec, value)?;
            let outcome = changed_if((spec.get)(cfg) != value);
            (spec.set)(cfg, value);
            Ok(outcome)
        }
        ConfigKind::Special(spec) => (spec.set)(cfg, argv, ctx),
    }
}

/// Redis: the interface.get() of each type, as CONFIG GET shows it.
fn config_get_value(cfg: &ServerConfig, entry: &StandardConfig) -> Vec<u8> {
    match &entry.kind {
        ConfigKind::Bool(spec) => (if (spec.get)(cfg) { "yes" } else { "no" }).into(),
        ConfigKind::Str(spec) => (spec.get)(cfg).unwrap_or_default().to_vec(),
        ConfigKind::Enum(spec) => {
            enum_name(spec, (spec.get)(cfg), entry.flags & MULTI_ARG != 0).into_bytes()
        }
        ConfigKind::Num(spec) => numeric_render(spec, (spec.get)(cfg)).into_bytes(),
        ConfigKind::Special(spec) => (spec.get)(cfg),
    }
}

/// Every primary directive with its CONFIG GET value, hidden ones included (for DEBUG
/// and tests).
pub fn dump_all(cfg: &ServerConfig) -> Vec<(&'static str, Vec<u8>)> {
    table::CONFIGS.iter().map(|e| (e.name, config_get_value(cfg, e))).collect()
}

/*-----------------------------------------------------------------------------
 * Config file parsing
 *----------------------------------------------------------------------------*/

/// How Redis reports a config that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The "*** FATAL CONFIG FILE ERROR ***" banner on stderr, then exit(1).
    Fatal,
    /// A file could not be opened: Redis logs `message` at warning level, then exit(1).
    CantOpenFile,
}

/// A config that Redis would refuse to start with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line of the offending file or string; None for the checks done after
    /// the last line (log file, cluster + replicaof).
    pub line_no: Option<usize>,
    /// The line, trimmed, as Redis echoes it.
    pub line: String,
    pub message: String,
    pub kind: ConfigErrorKind,
}

impl ConfigError {
    /// A fatal error at a line, e.g. for deferred directives rejected by their owner.
    pub fn at(line_no: usize, line: &str, message: &str) -> Self {
        ConfigError {
            line_no: Some(line_no),
            line: line.to_string(),
            message: message.to_string(),
            kind: ConfigErrorKind::Fatal,
        }
    }

    fn without_line(message: String) -> Self {
        ConfigError { line_no: None, line: String::new(), message, kind: ConfigErrorKind::Fatal }
    }

    fn cant_open(path: &str, e: &std::io::Error) -> Self {
        ConfigError {
            line_no: None,
            line: String::new(),
            message: format!("Fatal error, can't open config file '{path}': {}", io_strerror(e)),
            kind: ConfigErrorKind::CantOpenFile,
        }
    }

    /// Redis: loadServerConfigFromString()'s `loaderr:` text, byte for byte (for
    /// `Fatal`, print it to stderr; for `CantOpenFile`, log it as a warning).
    pub fn report(&self) -> String {
        if self.kind == ConfigErrorKind::CantOpenFile {
            return self.message.clone();
        }
        let mut out = format!("\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n");
        if let Some(n) = self.line_no {
            out.push_str(&format!("Reading the configuration file, at line {n}\n>>> '{}'\n", self.line));
        }
        out.push_str(&self.message);
        out.push('\n');
        out
    }
}

/// Why one directive failed: a message for this line, or a whole error from an include.
enum DirectiveError {
    Message(String),
    Nested(ConfigError),
}

impl From<String> for DirectiveError {
    fn from(message: String) -> Self {
        DirectiveError::Message(message)
    }
}

impl From<&str> for DirectiveError {
    fn from(message: &str) -> Self {
        DirectiveError::Message(message.to_string())
    }
}

struct LoadState {
    ctx: SetContext,
    include_depth: usize,
}

/// Lines that Redis 7.0 once accepted and now ignores, with their exact argc.
const DEPRECATED_CONFIGS: [&str; 3] =
    ["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"];

/// Redis: loadServerConfigFromString(). `text` is a whole config; on success `cfg` holds
/// it applied over its previous values.
pub fn load_server_config_from_string(cfg: &mut ServerConfig, text: &str) -> Result<(), ConfigError> {
    load_server_config_from_bytes(cfg, text.as_bytes())
}

/// Like `load_server_config_from_string`, for files that are not UTF-8.
pub fn load_server_config_from_bytes(cfg: &mut ServerConfig, text: &[u8]) -> Result<(), ConfigError> {
    let mut state = LoadState { ctx: SetContext::default(), include_depth: 0 };
    load_string(cfg, text, &mut state)
}

/// Redis: loadServerConfig(): the file (expanding a glob), then what was read from stdin,
/// then the `--options` text after a newline. The caller reads stdin and logs "Reading
/// config from stdin", as Redis's main() does.
pub fn load_server_config(
    cfg: &mut ServerConfig,
    filename: Option<&str>,
    stdin_text: Option<&[u8]>,
    options: Option<&str>,
) -> Result<(), ConfigError> {
    let mut text = match filename {
        Some(name) => read_config_files(cfg, name)?,
        None => Vec::new(),
    };
    text.extend_from_slice(stdin_text.unwrap_or_default());
    if let Some(options) = options {
        text.push(b'\n');
        text.extend_from_slice(options.as_bytes());
    }
    load_server_config_from_bytes(cfg, &text)
}

fn load_string(cfg: &mut ServerConfig, text: &[u8], state: &mut LoadState) -> Result<(), ConfigError> {
    state.ctx.reading_config_file = true;
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = trim_bytes(raw, b" \t\r\n");
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let fatal = |message: String| ConfigError::at(index + 1, &String::from_utf8_lossy(line), &message);
        let argv = sds_split_args(line)
            .map_err(|_| fatal("Unbalanced quotes in configuration line".to_string()))?;
        if argv.is_empty() {
            continue;
        }
        match load_directive(cfg, &argv, index + 1, line, state) {
            Ok(()) => {}
            Err(DirectiveError::Message(message)) => return Err(fatal(message)),
            Err(DirectiveError::Nested(error)) => return Err(error),
        }
    }
    load_final_checks(cfg)?;
    // Redis clears its static flag here, also at the end of an included file.
    state.ctx.reading_config_file = false;
    Ok(())
}

/// What Redis checks once all lines are read.
fn load_final_checks(cfg: &mut ServerConfig) -> Result<(), ConfigError> {
    check_log_file(cfg).map_err(|e| ConfigError::without_line(format!("Can't open the log file: {e}")))?;
    if cfg.cluster_enabled && cfg.replicaof.is_some() {
        return Err(ConfigError::without_line(
            "replicaof directive not allowed in cluster mode".to_string(),
        ));
    }
    cfg.hz = cfg.hz.clamp(CONFIG_MIN_HZ, CONFIG_MAX_HZ);
    Ok(())
}

/// Redis opens the log file in append mode to fail early; we check that fopen("a")
/// would succeed without creating it.
fn check_log_file(cfg: &ServerConfig) -> Result<(), String> {
    if cfg.logfile.is_empty() {
        return Ok(());
    }
    let path = Path::new(&cfg.dir).join(&cfg.logfile);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => Err(strerror(libc::EISDIR)),
        Ok(_) => check_access(&path, libc::W_OK),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = path.parent().unwrap_or_else(|| Path::new("/"));
            check_access(parent, libc::W_OK | libc::X_OK)
        }
        Err(e) => Err(io_strerror(&e)),
    }
}

/// One non-comment line, already split. Standard configs first, then the directives
/// that are not configs, in Redis's order.
fn load_directive(
    cfg: &mut ServerConfig,
    argv: &[Vec<u8>],
    line_no: usize,
    line: &[u8],
    state: &mut LoadState,
) -> Result<(), DirectiveError> {
    let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
    let args: Vec<&[u8]> = argv.iter().skip(1).map(Vec::as_slice).collect();
    if let Some(config) = lookup_config(&name) {
        if config.entry.flags & MULTI_ARG == 0 && args.len() != 1 {
            return Err("wrong number of arguments".into());
        }
        // Redis splits a lone non-empty argument of a MULTI_ARG config like a config line,
        // so `save "3600 1 300 100"` and `--save "3600 1 300 100"` work (unbalanced: none).
        let split = match args.as_slice() {
            [single] if config.entry.flags & MULTI_ARG != 0 && !single.is_empty() => Some(sds_split_args(single).unwrap_or_default()),
            _ => None,
        };
        let split = split.as_ref().map(|words| words.iter().map(Vec::as_slice).collect::<Vec<_>>());
        config_set_value(cfg, config.entry, split.as_deref().unwrap_or(&args), &mut state.ctx)?;
        return Ok(());
    }
    if DEPRECATED_CONFIGS.iter().any(|d| d.as_bytes() == name) && args.len() == 1 {
        return Ok(());
    }
    let deferred = || DeferredLine {
        line_no,
        line: String::from_utf8_lossy(line).into_owned(),
        argv: argv.to_vec(),
    };
    match (name.as_slice(), args.as_slice()) {
        (b"include", [path]) => return load_include(cfg, path, state).map_err(DirectiveError::Nested),
        (b"rename-command", [_, _]) => cfg.deferred.rename_commands.push(deferred()),
        (b"user", [_, ..]) => cfg.deferred.users.push(deferred()),
        (b"loadmodule", [_, ..]) => cfg.deferred.loadmodules.push(deferred()),
        (n, _) if n.contains(&b'.') => return queue_module_config(cfg, &name, &args),
        (b"sentinel", []) => {}
        (b"sentinel", _) => return Err("sentinel directive while not in sentinel mode".into()),
        _ => return Err("Bad directive or wrong number of arguments".into()),
    }
    Ok(())
}

/// Redis keeps `module.name value` lines until the module registers its configs.
fn queue_module_config(cfg: &mut ServerConfig, name: &[u8], args: &[&[u8]]) -> Result<(), DirectiveError> {
    let [value] = args else { return Err("Module config specified without value".into()) };
    let queue = &mut cfg.deferred.module_configs;
    queue.retain(|(n, _)| n.as_slice() != name);
    queue.push((name.to_vec(), value.to_vec()));
    Ok(())
}

fn load_include(cfg: &mut ServerConfig, path: &[u8], state: &mut LoadState) -> Result<(), ConfigError> {
    if state.include_depth >= MAX_INCLUDE_DEPTH {
        return Err(ConfigError::without_line(format!(
            "Too many nested include directives (more than {MAX_INCLUDE_DEPTH})"
        )));
    }
    let text = read_config_files(cfg, &String::from_utf8_lossy(path))?;
    state.include_depth += 1;
    let result = load_string(cfg, &text, state);
    state.include_depth -= 1;
    result
}

/// Reads one config file, or every file a glob pattern matches (in sorted order,
/// concatenated, as Redis does; a pattern that matches nothing is no error).
fn read_config_files(cfg: &ServerConfig, name: &str) -> Result<Vec<u8>, ConfigError> {
    if !name.contains(['*', '?', '[']) {
        let path = Path::new(&cfg.dir).join(name);
        return std::fs::read(path).map_err(|e| ConfigError::cant_open(name, &e));
    }
    let mut text = Vec::new();
    for path in glob_paths(&Path::new(&cfg.dir).join(name)) {
        let bytes = std::fs::read(&path).map_err(|e| ConfigError::cant_open(&path.to_string_lossy(), &e))?;
        text.extend_from_slice(&bytes);
    }
    Ok(text)
}

/// glob(3) for config includes: wildcards in any path component, hidden files only for
/// patterns that start with a dot, results sorted.
fn glob_paths(pattern: &Path) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut candidates = vec![PathBuf::new()];
    for component in pattern.components() {
        let text = component.as_os_str().as_bytes();
        if !text.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
            candidates.iter_mut().for_each(|c| c.push(component));
            continue;
        }
        let mut next = Vec::new();
        for dir in &candidates {
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            for entry in entries.flatten() {
                let file_name = entry.file_name();
                let name = file_name.as_bytes();
                let hidden_ok = !name.starts_with(b".") || text.starts_with(b".");
                if hidden_ok && string_match_len(text, name, false) {
                    next.push(dir.join(&file_name));
                }
            }
        }
        candidates = next;
    }
    candidates.retain(|p| p.exists());
    candidates.sort();
    candidates
}

/*-----------------------------------------------------------------------------
 * Command line (server.c main())
 *----------------------------------------------------------------------------*/

/// What main()'s argv parsing produces. The caller handles `-v`/`--version`,
/// `-h`/`--help`, `--test-memory` and `--check-system` first, as Redis does, then calls
/// `load_server_config(cfg, config_file, stdin_text, Some(&options))` — unless there were
/// no arguments at all, in which case Redis loads nothing and logs the "no config file
/// specified" warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgvConfig {
    /// The first argument made absolute, unless it starts with '-'.
    pub config_file: Option<String>,
    /// A lone "-" as the first or last argument: read the config from stdin.
    pub config_from_stdin: bool,
    /// `--name value ...` turned into "name \"value\" ...\n" lines.
    pub options: String,
}

/// Redis: main()'s option parsing, as (config file, options text). `args` excludes the
/// program name. Reading the config from stdin is reported as the config file "-" (when
/// a file *and* "-" are given, use `parse_argv`, which keeps both).
pub fn config_from_argv(args: &[String]) -> Result<(Option<String>, String), String> {
    let parsed = parse_argv(args)?;
    let file = match (parsed.config_file, parsed.config_from_stdin) {
        (None, true) => Some("-".to_string()),
        (file, _) => file,
    };
    Ok((file, parsed.options))
}

/// Redis: main()'s option parsing. `args` excludes the program name.
pub fn parse_argv(args: &[String]) -> Result<ArgvConfig, String> {
    let mut parsed = ArgvConfig { config_file: None, config_from_stdin: false, options: String::new() };
    let mut j = 0;
    if let Some(first) = args.first().filter(|a| !a.starts_with('-')) {
        parsed.config_file = Some(absolute_path(first)?);
        j = 1;
    }
    let last = args.len().saturating_sub(1);
    let mut handled_last_config_arg = true;
    while let Some(arg) = args.get(j) {
        if arg == "-" && (j == 0 || j == last) {
            parsed.config_from_stdin = true;
        } else if handled_last_config_arg && arg.starts_with("--") {
            let next_is_option = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
            handled_last_config_arg = append_option_name(&mut parsed.options, arg, next_is_option, j == last);
        } else {
            parsed.options.push_str(&sds_repr(arg.as_bytes()));
            parsed.options.push(' ');
            handled_last_config_arg = true;
        }
        j += 1;
    }
    Ok(parsed)
}

/// Appends "--name" (or "--name value" given as one argument) and says whether the
/// option is complete. A bare `--save` followed by another option (or last) means
/// `save ""`; a bare `--sentinel` takes no value.
fn append_option_name(options: &mut String, arg: &str, next_is_option: bool, is_last: bool) -> bool {
    if !options.is_empty() {
        options.push('\n');
    }
    options.push_str(arg.get(2..).unwrap_or_default());
    options.push(' ');
    let words = sds_split_args(arg.as_bytes()).map_or(0, |v| v.len());
    if words != 1 {
        return true;
    }
    let is_save = arg.eq_ignore_ascii_case("--save");
    if is_save && (next_is_option || is_last) {
        options.push_str("\"\"");
        return next_is_option;
    }
    arg.eq_ignore_ascii_case("--sentinel") && next_is_option
}

/// Redis: util.c getAbsolutePath().
fn absolute_path(path: &str) -> Result<String, String> {
    let path = path.trim_matches(|c| matches!(c, ' ' | '\r' | '\n' | '\t'));
    if path.starts_with('/') {
        return Ok(path.to_string());
    }
    let mut base = std::env::current_dir().map_err(|e| io_strerror(&e))?;
    let mut rest = path;
    while let Some(stripped) = rest.strip_prefix("../") {
        base.pop();
        rest = stripped;
    }
    Ok(base.join(rest).to_string_lossy().into_owned())
}

/*-----------------------------------------------------------------------------
 * CONFIG SET
 *----------------------------------------------------------------------------*/

/// Who is asking, for the checks Redis makes against the client and server state.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfigSetOptions {
    /// The client is on a local connection (for `enable-protected-configs local`).
    pub local_client: bool,
    /// The server is loading its dataset (DENY_LOADING configs answer -LOADING).
    pub loading: bool,
}

/// Redis: configSetCommand(), for a client that is not local and a server not loading.
pub fn config_set(cfg: &mut ServerConfig, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
    config_set_with(cfg, pairs, ConfigSetOptions::default())
}

/// Redis: configSetCommand(). All pairs are set or none is. Returns the primary names of
/// the configs whose value changed, for the server to apply (Redis's apply functions:
/// listen on the new port, chdir, resize the backlog ...); if applying fails, the caller
/// restores its own copy of the config, as Redis's restoreBackupConfig() does. Errors
/// are the full reply text ("ERR ..." / "LOADING ..."). The caller has already checked
/// the arity ("wrong number of arguments for 'config|set' command").
pub fn config_set_with(
    cfg: &mut ServerConfig,
    pairs: &[(&[u8], &[u8])],
    opts: ConfigSetOptions,
) -> Result<Vec<&'static str>, String> {
    let chosen = config_set_check_names(cfg, pairs, opts)?;
    let backup = cfg.clone();
    let mut changed: Vec<&'static str> = Vec::new();
    let mut ctx = SetContext::default();
    for (config, value) in &chosen {
        let argv = if config.entry.flags & MULTI_ARG != 0 { split_multi_arg(value) } else { vec![*value] };
        match config_set_value(cfg, config.entry, &argv, &mut ctx) {
            Ok(SetOutcome::Changed) if !changed.contains(&config.entry.name) => changed.push(config.entry.name),
            Ok(_) => {}
            Err(msg) => {
                *cfg = backup;
                return Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{}') - {msg}",
                    config.name()
                ));
            }
        }
    }
    apply_builtin_limits(cfg, &changed);
    Ok(changed)
}

/// The applies that only adjust the value itself (Redis updateHZ(),
/// resizeReplicationBacklog()'s minimum), so CONFIG GET shows what Redis shows.
fn apply_builtin_limits(cfg: &mut ServerConfig, changed: &[&str]) {
    cfg.hz = cfg.hz.clamp(CONFIG_MIN_HZ, CONFIG_MAX_HZ);
    if changed.contains(&"repl-backlog-size") {
        cfg.repl_backlog_size = cfg.repl_backlog_size.max(CONFIG_REPL_BACKLOG_MIN_SIZE);
    }
}

/// The first pass of configSetCommand(): find every config and refuse unknown,
/// immutable, protected, loading-denied and repeated ones, with Redis's precedence.
fn config_set_check_names<'a>(
    cfg: &ServerConfig,
    pairs: &[(&'a [u8], &'a [u8])],
    opts: ConfigSetOptions,
) -> Result<Vec<(ConfigRef, &'a [u8])>, String> {
    let mut chosen: Vec<(ConfigRef, &[u8])> = Vec::with_capacity(pairs.len());
    let mut unknown: Option<&[u8]> = None;
    let mut refused: Option<(&[u8], &str)> = None;
    let mut deny_loading = false;
    for (name, value) in pairs {
        let Some(config) = lookup_config(name) else {
            if unknown.is_none() && refused.is_none() && !deny_loading {
                unknown = Some(name);
            }
            continue;
        };
        if unknown.is_some() || refused.is_some() || deny_loading {
            continue;
        }
        let flags = config.entry.flags;
        if flags & IMMUTABLE != 0 {
            refused = Some((name, "can't set immutable config"));
        } else if flags & PROTECTED != 0 && !allow_protected_action(cfg.enable_protected_configs, opts.local_client) {
            refused = Some((name, "can't set protected config"));
        } else if opts.loading && flags & DENY_LOADING != 0 {
            deny_loading = true;
        } else if chosen.iter().any(|(c, _)| c.same_entry(&config)) {
            refused = Some((name, "duplicate parameter"));
        } else {
            chosen.push((config, value));
        }
    }
    if deny_loading {
        return Err("LOADING Redis is loading the dataset in memory".to_string());
    }
    if let Some(name) = unknown {
        let name = String::from_utf8_lossy(name);
        return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'"));
    }
    if let Some((name, why)) = refused {
        let name = String::from_utf8_lossy(name);
        return Err(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"));
    }
    Ok(chosen)
}

/// Redis: allowProtectedAction(), for enable-protected-configs / -debug-command /
/// -module-command.
pub fn allow_protected_action(setting: ProtectedConfig, local_client: bool) -> bool {
    match setting {
        ProtectedConfig::Yes => true,
        ProtectedConfig::Local => local_client,
        ProtectedConfig::No => false,
    }
}

/*-----------------------------------------------------------------------------
 * CONFIG GET
 *----------------------------------------------------------------------------*/

/// Redis: configGetCommand(). An exact name (no `*?[`) is answered under the name as
/// written, hidden configs included; a pattern matches every visible name and alias,
/// case-insensitively. A config is listed once per name, in a stable order.
pub fn config_get(cfg: &ServerConfig, patterns: &[&[u8]]) -> Vec<(String, Vec<u8>)> {
    let mut matches: Vec<(String, ConfigRef)> = Vec::new();
    let seen = |matches: &Vec<(String, ConfigRef)>, name: &[u8]| {
        matches.iter().any(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
    };
    for pattern in patterns {
        if !pattern.iter().any(|c| matches!(c, b'[' | b'*' | b'?')) {
            if let Some(config) = lookup_config(pattern).filter(|_| !seen(&matches, pattern)) {
                matches.push((String::from_utf8_lossy(pattern).into_owned(), config));
            }
            continue;
        }
        for config in all_config_refs() {
            let name = config.name();
            if config.entry.flags & HIDDEN != 0 || seen(&matches, name.as_bytes()) {
                continue;
            }
            if string_match_len(pattern, name.as_bytes(), true) {
                matches.push((name.to_string(), config));
            }
        }
    }
    matches.into_iter().map(|(name, config)| (name, config_get_value(cfg, config.entry))).collect()
}

/*-----------------------------------------------------------------------------
 * CONFIG REWRITE
 *----------------------------------------------------------------------------*/

const REDIS_CONFIG_REWRITE_SIGNATURE: &[u8] = b"# Generated by CONFIG REWRITE";

/// Non-config directives a rewrite keeps instead of commenting them out.
const REWRITE_KEPT_DIRECTIVES: [&str; 5] = ["include", "rename-command", "user", "loadmodule", "sentinel"];

/// Redis: struct rewriteConfigState.
pub struct RewriteState {
    /// Option name -> the old file's lines (0-based) that set it, in file order.
    option_to_line: BTreeMap<String, VecDeque<usize>>,
    /// Options already handled; only their unused old lines are blanked.
    rewritten: HashSet<String>,
    lines: Vec<Vec<u8>>,
    needs_signature: bool,
    /// DEBUG CONFIG-REWRITE-FORCE-ALL: write every option even at its default.
    force_write: bool,
}

impl RewriteState {
    fn new() -> Self {
        RewriteState {
            option_to_line: BTreeMap::new(),
            rewritten: HashSet::new(),
            lines: Vec::new(),
            needs_signature: true,
            force_write: false,
        }
    }

    /// Redis: rewriteConfigMarkAsProcessed().
    fn mark_as_processed(&mut self, option: &str) {
        self.rewritten.insert(option.to_string());
    }

    /// Redis: rewriteConfigRewriteLine(): reuse the option's next old line, else append
    /// when `force` (the value is not the default), after the signature comment.
    fn rewrite_line(&mut self, option: &str, line: Vec<u8>, force: bool) {
        self.mark_as_processed(option);
        let reuse = self.option_to_line.get_mut(option).and_then(VecDeque::pop_front);
        if self.option_to_line.get(option).is_some_and(VecDeque::is_empty) {
            self.option_to_line.remove(option);
        }
        if let Some(slot) = reuse.and_then(|n| self.lines.get_mut(n)) {
            *slot = line;
        } else if force || self.force_write {
            if self.needs_signature {
                self.lines.push(REDIS_CONFIG_REWRITE_SIGNATURE.to_vec());
                self.needs_signature = false;
            }
            self.lines.push(line);
        }
    }

    /// Redis: rewriteConfigReadOldFile()'s per-line work.
    fn add_old_line(&mut self, raw: &[u8]) {
        let line = trim_bytes(raw, b"\r\n\t ").to_vec();
        if line.is_empty() || line[0] == b'#' {
            if line == REDIS_CONFIG_REWRITE_SIGNATURE {
                self.needs_signature = false;
            }
            self.lines.push(line);
            return;
        }
        let option = sds_split_args(&line)
            .ok()
            .and_then(|argv| argv.into_iter().next())
            .and_then(|name| rewrite_option_name(&name.to_ascii_lowercase()));
        let Some(option) = option else {
            let mut commented = b"# ??? ".to_vec();
            commented.extend_from_slice(&line);
            self.lines.push(commented);
            return;
        };
        self.option_to_line.entry(option).or_default().push_back(self.lines.len());
        self.lines.push(line);
    }

    /// Redis: rewriteConfigRemoveOrphaned(): blank old lines of handled options that
    /// were not reused (extra `save` lines, duplicates, defaults now omitted).
    fn remove_orphaned(&mut self) {
        for (option, line_numbers) in &self.option_to_line {
            if !self.rewritten.contains(option) {
                continue;
            }
            for n in line_numbers {
                if let Some(line) = self.lines.get_mut(*n) {
                    line.clear();
                }
            }
        }
    }

    /// Redis: rewriteConfigGetContentFromState(): one line each, runs of blank lines
    /// squeezed to one.
    fn content(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut was_empty = false;
        for line in &self.lines {
            if line.is_empty() && was_empty {
                continue;
            }
            was_empty = line.is_empty();
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out
    }
}

/// The option an old line belongs to: its primary name (aliases such as `slaveof` or
/// `hash-max-ziplist-entries` count as their config), or None for unknown lines.
fn rewrite_option_name(name: &[u8]) -> Option<String> {
    if let Some(config) = lookup_config(name) {
        return Some(config.entry.name.to_string());
    }
    let name = String::from_utf8_lossy(name);
    REWRITE_KEPT_DIRECTIVES.contains(&name.as_ref()).then(|| name.into_owned())
}

/// Redis: rewriteConfigFormatMemory(): the largest exact gb/mb/kb unit.
fn rewrite_config_format_memory(bytes: i64) -> String {
    const GB: i64 = 1 << 30;
    const MB: i64 = 1 << 20;
    const KB: i64 = 1 << 10;
    match bytes {
        0 => "0".to_string(),
        b if b % GB == 0 => format!("{}gb", b / GB),
        b if b % MB == 0 => format!("{}mb", b / MB),
        b if b % KB == 0 => format!("{}kb", b / KB),
        b => b.to_string(),
    }
}

/// Redis: rewriteConfigStringOption() / rewriteConfigSdsOption(). A NULL value removes
/// the option; a value equal to a non-NULL default is kept only where it already was.
fn rewrite_config_string_option(
    state: &mut RewriteState,
    option: &'static str,
    value: Option<&[u8]>,
    default: Option<&[u8]>,
) {
    let Some(value) = value else {
        state.mark_as_processed(option);
        return;
    };
    let force = default != Some(value);
    let line = format!("{option} {}", sds_repr(value));
    state.rewrite_line(option, line.into_bytes(), force);
}

/// Redis: each type's interface.rewrite().
fn rewrite_config_option(cfg: &ServerConfig, defaults: &ServerConfig, entry: &StandardConfig, state: &mut RewriteState) {
    let name = entry.name;
    match &entry.kind {
        ConfigKind::Bool(spec) => {
            let value = (spec.get)(cfg);
            let line = format!("{name} {}", if value { "yes" } else { "no" });
            state.rewrite_line(name, line.into_bytes(), value != (spec.get)(defaults));
        }
        ConfigKind::Str(spec) => rewrite_config_string_option(state, name, (spec.get)(cfg), (spec.get)(defaults)),
        ConfigKind::Enum(spec) => {
            let value = (spec.get)(cfg);
            let line = format!("{name} {}", enum_name(spec, value, entry.flags & MULTI_ARG != 0));
            state.rewrite_line(name, line.into_bytes(), value != (spec.get)(defaults));
        }
        ConfigKind::Num(spec) => rewrite_numeric_option(spec, name, (spec.get)(cfg), (spec.get)(defaults), state),
        ConfigKind::Special(spec) => (spec.rewrite)(cfg, defaults, name, state),
    }
}

/// Redis: numericConfigRewrite().
fn rewrite_numeric_option(spec: &NumSpec, name: &'static str, value: i64, default: i64, state: &mut RewriteState) {
    let (text, force) = match spec.format {
        NumFormat::MemoryOrPercent if value < 0 => {
            let percent = value.unsigned_abs() as i64;
            (format!("{percent}%"), percent != default)
        }
        NumFormat::Memory | NumFormat::MemoryOrPercent => (rewrite_config_format_memory(value), value != default),
        NumFormat::Octal => (format!("{:o}", value as u64), value != default),
        NumFormat::Integer => (value.to_string(), value != default),
    };
    state.rewrite_line(name, format!("{name} {text}").into_bytes(), force);
}

/// Redis: rewriteConfigReadOldFile(). A missing file is an empty state.
fn rewrite_config_read_old_file(path: &str) -> std::io::Result<RewriteState> {
    let mut state = RewriteState::new();
    let content = match std::fs::read(path) {
        Ok(content) => content,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(state),
        Err(e) => return Err(e),
    };
    if !content.is_empty() {
        content.split(|&b| b == b'\n').for_each(|line| state.add_old_line(line));
    }
    Ok(state)
}

/// Redis: rewriteConfig(). `acl_users` are the ACL module's `user <name> <rules>` lines
/// (Redis rewriteConfigUserOption(); ignored when an aclfile is configured).
/// `force_write` is DEBUG CONFIG-REWRITE-FORCE-ALL.
pub fn rewrite_config(cfg: &ServerConfig, path: &str, acl_users: &[String], force_write: bool) -> std::io::Result<()> {
    let mut state = rewrite_config_read_old_file(path)?;
    state.force_write = force_write;
    let defaults = ServerConfig::new();
    for entry in table::CONFIGS {
        rewrite_config_option(cfg, &defaults, entry, &mut state);
    }
    if cfg.aclfile.is_empty() {
        for user in acl_users {
            state.rewrite_line("user", user.clone().into_bytes(), true);
        }
    }
    state.mark_as_processed("user");
    // Modules are not loaded by ferredis, so no loadmodule line survives (Redis rewrites
    // only the modules it has loaded).
    state.mark_as_processed("loadmodule");
    state.remove_orphaned();
    rewrite_config_overwrite_file(path, &state.content())
}

/// Redis: getConfigDebugInfo(): the DEBUG-flagged configs as config lines, for crash
/// reports.
pub fn get_config_debug_info(cfg: &ServerConfig) -> String {
    let mut state = RewriteState::new();
    state.force_write = true;
    state.needs_signature = false;
    let defaults = ServerConfig::new();
    for entry in table::CONFIGS.iter().filter(|e| e.flags & DEBUG != 0) {
        rewrite_config_option(cfg, &defaults, entry, &mut state);
    }
    String::from_utf8_lossy(&state.content()).into_owned()
}

/// Redis: configRewriteCommand() minus the "no config file" check, which needs the
/// server ("ERR The server is running without a config file"). Errors are the reply text.
pub fn config_rewrite(cfg: &ServerConfig, path: &str, acl_users: &[String]) -> Result<(), String> {
    rewrite_config(cfg, path, acl_users, false)
        .map_err(|e| format!("ERR Rewriting config file: {}", io_strerror(&e)))
}

/// Redis: rewriteConfigOverwriteFile(): write a sibling temp file, fsync it, then rename
/// it over the config so a crash leaves either the old or the new file.
fn rewrite_config_overwrite_file(path: &str, content: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp_path = unique_temp_path(path);
    // Mode 0644 minus the umask, like Redis's fchmod(0644 & ~server.umask).
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o644).open(&tmp_path)?;
    let result = file
        .write_all(content)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp_path, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
    }
    result
}

/// `<path>.<pid><nanos>`, standing in for mkstemp()'s `<path>.XXXXXX`.
fn unique_temp_path(path: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{path}.{}{nanos:09}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<ServerConfig, ConfigError> {
        let mut cfg = ServerConfig::new();
        load_server_config_from_string(&mut cfg, text).map(|()| cfg)
    }

    fn report_of(text: &str) -> String {
        load(text).expect_err(text).report()
    }

    /// The banner Redis 7.0.15 printed for a bad line, as observed with
    /// `redis-server /tmp/bad.conf`.
    fn banner(line_no: usize, line: &str, message: &str) -> String {
        format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
             Reading the configuration file, at line {line_no}\n>>> '{line}'\n{message}\n"
        )
    }

    fn get(cfg: &ServerConfig, name: &str) -> String {
        let found = config_get(cfg, &[name.as_bytes()]);
        assert_eq!(found.len(), 1, "{name}");
        String::from_utf8(found[0].1.clone()).unwrap()
    }

    fn set(cfg: &mut ServerConfig, name: &str, value: &str) -> Result<Vec<&'static str>, String> {
        config_set(cfg, &[(name.as_bytes(), value.as_bytes())])
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ferredis-config-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn fatal_reports_match_redis_byte_for_byte() {
        assert_eq!(report_of("port 6380\nfoo bar\n"), banner(2, "foo bar", "Bad directive or wrong number of arguments"));
        // Each (line, message) pair was printed by the real 7.0.15 binary.
        let observed = [
            ("port abc", "argument couldn't be parsed into an integer"),
            ("port 70000", "argument must be between 0 and 65535 inclusive"),
            ("port", "wrong number of arguments"),
            ("port 1 2", "wrong number of arguments"),
            ("port -1", "argument must be between 0 and 65535 inclusive"),
            ("port 1.5", "argument couldn't be parsed into an integer"),
            ("port \" 5\"", "argument couldn't be parsed into an integer"),
            ("port +5", "argument couldn't be parsed into an integer"),
            ("port 0x10", "argument couldn't be parsed into an integer"),
            ("databases 0", "argument must be between 1 and 2147483647 inclusive"),
            ("daemonize maybe", "argument must be 'yes' or 'no'"),
            ("loglevel loud", "argument(s) must be one of the following: debug, verbose, notice, warning"),
            ("loglevel debug verbose", "wrong number of arguments"),
            ("appendfsync", "wrong number of arguments"),
            ("maxmemory 1zz", "argument must be a memory value"),
            ("maxmemory -5", "argument must be a memory value"),
            ("maxmemory-clients 200%", "percentage argument must be less or equal to 100"),
            ("maxmemory-clients 1x", "argument must be a memory or percent value"),
            ("unixsocketperm 999", "argument couldn't be parsed as an octal number"),
            ("save 1", "Invalid save parameters"),
            ("save 0 1", "Invalid save parameters"),
            ("bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", "Too many bind addresses specified."),
            ("replicaof a b", "Invalid master port"),
            ("notify-keyspace-events Q", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
            ("client-output-buffer-limit foo 1 2 3", "Invalid client class specified in buffer limit configuration."),
            ("client-output-buffer-limit normal 1 2 x", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
            ("client-output-buffer-limit normal 1 2", "Wrong number of arguments in buffer limit configuration."),
            ("set \"a", "Unbalanced quotes in configuration line"),
            ("dbfilename a/b", "dbfilename can't be a path, just a filename"),
            ("dir /nonexistent", "No such file or directory"),
            ("oom-score-adj-values 1 2", "wrong number of arguments"),
            ("oom-score-adj-values 1 2 5000", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
            ("foo.bar", "Module config specified without value"),
            ("sentinel monitor a", "sentinel directive while not in sentinel mode"),
            ("user", "Bad directive or wrong number of arguments"),
            ("include", "Bad directive or wrong number of arguments"),
            ("list-max-ziplist-entries 5 6", "Bad directive or wrong number of arguments"),
        ];
        for (line, message) in observed {
            assert_eq!(report_of(line), banner(1, line, message), "{line}");
        }
        assert_eq!(
            report_of("PORT 7393\nbind 127.0.0.1\ndaemonize maybe"),
            banner(3, "daemonize maybe", "argument must be 'yes' or 'no'")
        );
    }

    #[test]
    fn errors_after_the_last_line_and_unreadable_files() {
        assert_eq!(
            report_of("logfile /nonexistent/x.log"),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: No such file or directory\n"
        );
        assert_eq!(
            report_of("cluster-enabled yes\nreplicaof 127.0.0.1 6379"),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nreplicaof directive not allowed in cluster mode\n"
        );
        let err = load("include /nonexist.conf").unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::CantOpenFile);
        // Logged by Redis as "<pid>:C <date> # Fatal error, ...".
        assert_eq!(err.report(), "Fatal error, can't open config file '/nonexist.conf': No such file or directory");
    }

    #[test]
    fn lines_redis_accepts_without_storing_or_with_a_twist() {
        let cfg = load("list-max-ziplist-entries 5\nlua-replicate-commands yes\nsentinel\n  # c\n\n").unwrap();
        assert_eq!(cfg, ServerConfig::new());
        assert_eq!(load("hz 0").unwrap().hz, 1);
        assert_eq!(load("hz 100000").unwrap().hz, 500);
        assert!(load("save \"\"").unwrap().save.is_empty());
        let cfg = load("rename-command get \"\"\nuser bob on >x ~* +@all\nloadmodule /x.so a\nm.opt 1\nm.opt 2").unwrap();
        assert_eq!(cfg.deferred.rename_commands[0].argv, vec![b"rename-command".to_vec(), b"get".to_vec(), Vec::new()]);
        assert_eq!(cfg.deferred.users[0].line_no, 2);
        assert_eq!(cfg.deferred.loadmodules[0].line, "loadmodule /x.so a");
        assert_eq!(cfg.deferred.module_configs, vec![(b"m.opt".to_vec(), b"2".to_vec())]);
        let rejected = ConfigError::at(1, "rename-command nosuch x", "No such command in rename-command");
        assert_eq!(rejected.report(), banner(1, "rename-command nosuch x", "No such command in rename-command"));
    }

    #[test]
    fn save_lines_replace_defaults_then_append_like_redis() {
        assert_eq!(load("port 1").unwrap().save, vec![(3600, 1), (300, 100), (60, 10000)]);
        assert_eq!(load("save 900 1\nsave 300 10").unwrap().save, vec![(900, 1), (300, 10)]);
        // Observed: an include ends Redis's "reading the config file" state, so the next
        // save line resets the list (a.conf: save 900 1 / include b.conf / save 300 10,
        // b.conf: save 60 1 -> CONFIG GET save = "300 10").
        let dir = temp_dir("save");
        std::fs::write(dir.join("b.conf"), "save 60 1\n").unwrap();
        let text = format!("save 900 1\ninclude {}\nsave 300 10\n", dir.join("b.conf").display());
        assert_eq!(load(&text).unwrap().save, vec![(300, 10)]);
    }

    #[test]
    fn includes_nest_glob_and_stop_at_a_loop() {
        let dir = temp_dir("include");
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        std::fs::write(dir.join("conf.d/a.conf"), "maxmemory 1mb\n").unwrap();
        std::fs::write(dir.join("conf.d/b.conf"), "maxmemory-policy allkeys-lru\nport 7000\n").unwrap();
        std::fs::write(dir.join("conf.d/.hidden.conf"), "port 1\n").unwrap();
        std::fs::write(dir.join("main.conf"), format!("include {}/conf.d/*.conf\nport 7001\n", dir.display())).unwrap();
        let cfg = load(&format!("include {}/main.conf", dir.display())).unwrap();
        assert_eq!((cfg.maxmemory, cfg.maxmemory_policy, cfg.port), (1 << 20, MaxmemoryPolicy::AllkeysLru, 7001));
        assert!(load(&format!("include {}/nothing/*.conf", dir.display())).is_ok());
        // An error inside an included file is reported at its own line.
        std::fs::write(dir.join("bad.conf"), "port 1\nport x\n").unwrap();
        assert_eq!(
            report_of(&format!("port 2\ninclude {}/bad.conf", dir.display())),
            banner(2, "port x", "argument couldn't be parsed into an integer")
        );
        std::fs::write(dir.join("loop.conf"), format!("include {}/loop.conf\n", dir.display())).unwrap();
        assert!(load(&format!("include {}/loop.conf", dir.display())).is_err());
    }

    #[test]
    fn argv_becomes_option_lines_like_redis_main() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let opts = |a: &[&str]| parse_argv(&args(a)).unwrap().options;
        assert_eq!(opts(&["--port", "6380"]), "port \"6380\" ");
        assert_eq!(opts(&["--maxmemory 700mb", "--port", "1"]), "maxmemory 700mb \nport \"1\" ");
        assert_eq!(opts(&["--save", "--port", "1"]), "save \"\"\nport \"1\" ");
        assert_eq!(opts(&["--port", "1", "--save"]), "port \"1\" \nsave \"\"");
        assert_eq!(opts(&["--save", ""]), "save \"\" ");
        assert_eq!(opts(&["--list-max-listpack-size", "-3"]), "list-max-listpack-size \"-3\" ");
        assert_eq!(opts(&["--bind", "1.2.3.4", "5.6.7.8"]), "bind \"1.2.3.4\" \"5.6.7.8\" ");
        assert_eq!(opts(&["--port", "--bad"]), "port \"--bad\" ");
        assert_eq!(opts(&["--sentinel", "--port", "1"]), "sentinel \nport \"1\" ");
        assert_eq!(opts(&["--requirepass", "a\"b\n"]), "requirepass \"a\\\"b\\n\" ");

        let parsed = parse_argv(&args(&["/etc/redis.conf", "--port", "1", "-"])).unwrap();
        assert_eq!(parsed.config_file.as_deref(), Some("/etc/redis.conf"));
        assert!(parsed.config_from_stdin);
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(parse_argv(&args(&["r.conf"])).unwrap().config_file, Some(cwd.join("r.conf").display().to_string()));
        assert_eq!(config_from_argv(&args(&["-", "--port", "1"])).unwrap(), (Some("-".to_string()), "port \"1\" ".to_string()));
        assert_eq!(config_from_argv(&[]).unwrap(), (None, String::new()));
    }

    #[test]
    fn argv_errors_are_reported_at_redis_line_numbers() {
        // Observed with `redis-server --port abc` and friends: the options text follows
        // the (empty) file after a newline.
        let run = |a: &[&str], stdin: Option<&[u8]>| {
            let parsed = parse_argv(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
            let mut cfg = ServerConfig::new();
            load_server_config(&mut cfg, None, stdin, Some(&parsed.options)).unwrap_err().report()
        };
        let int_err = "argument couldn't be parsed into an integer";
        assert_eq!(run(&["--port", "abc"], None), banner(2, "port \"abc\"", int_err));
        assert_eq!(run(&["--port", "7393", "--maxmemory"], None), banner(3, "maxmemory", "wrong number of arguments"));
        assert_eq!(
            run(&["--port 7393", "--bogus", "1"], None),
            banner(3, "bogus \"1\"", "Bad directive or wrong number of arguments")
        );
        assert_eq!(
            run(&["--port", "7393", "--list-max-listpack-size", "-3", "--port", "--bad"], None),
            banner(4, "port \"--bad\"", int_err)
        );
        let enum_err = "argument(s) must be one of the following: debug, verbose, notice, warning";
        assert_eq!(run(&["-", "--loglevel", "bogus"], Some(b"port 7394\n")), banner(3, "loglevel \"bogus\"", enum_err));
    }

    #[test]
    fn config_get_renders_values_as_redis_does() {
        let mut cfg = ServerConfig::new();
        // (CONFIG SET value, CONFIG GET value) pairs observed on redis-server 7.0.15.
        let observed = [
            ("maxmemory", "1gb", "1073741824"),
            ("maxmemory", "1K", "1000"),
            ("maxmemory", "1B", "1"),
            ("maxmemory", "", "0"),
            ("maxmemory", "mb", "0"),
            ("maxmemory", "18446744073709551615", "18446744073709551615"),
            ("maxmemory", "18446744073709551616", "18446744073709551615"),
            ("maxmemory-clients", "10%", "10%"),
            ("maxmemory-clients", "5mb", "5242880"),
            ("maxmemory-clients", "0%", "0"),
            ("save", "3600 1 300 100", "3600 1 300 100"),
            ("save", "", ""),
            ("client-output-buffer-limit", "replica 1mb 2mb 3 pubsub 4 5 6", "normal 0 0 0 slave 1048576 2097152 3 pubsub 4 5 6"),
            ("client-output-buffer-limit", "pubsub 32mb 8mb 60 pubsub 1 1 1", "normal 0 0 0 slave 1048576 2097152 3 pubsub 1 1 1"),
            ("client-output-buffer-limit", "", "normal 0 0 0 slave 1048576 2097152 3 pubsub 1 1 1"),
            ("latency-tracking-info-percentiles", "50 99.99 100 0.5", "50 99.99 100 0.5"),
            ("latency-tracking-info-percentiles", "", ""),
            ("bind", "127.0.0.1 -::1", "127.0.0.1 -::1"),
            ("bind", "", ""),
            ("oom-score-adj-values", "0 100 900", "0 100 900"),
            ("hz", "1000", "500"),
            ("hz", "0", "1"),
            ("notify-keyspace-events", "KEA", "AKE"),
            ("shutdown-on-sigint", "force now save", "save now force"),
            ("shutdown-on-sigint", "default", "default"),
            ("appendfsync", "ALWAYS", "always"),
            ("activerehashing", "YES", "yes"),
            ("oom-score-adj", "yes", "yes"),
            ("acl-pubsub-default", "allchannels", "allchannels"),
            ("proto-max-bulk-len", "2mb", "2097152"),
            ("list-max-listpack-size", "-3", "-3"),
            ("requirepass", "", ""),
            ("masterauth", "abc", "abc"),
            ("replica-announce-ip", "", ""),
            ("ignore-warnings", "ARM64-COW-BUG", "ARM64-COW-BUG"),
            ("busy-reply-threshold", "100", "100"),
            ("repl-backlog-size", "1000", "16384"),
        ];
        for (name, value, shown) in observed {
            set(&mut cfg, name, value).unwrap_or_else(|e| panic!("{name} {value}: {e}"));
            assert_eq!(get(&cfg, name), shown, "CONFIG SET {name} {value:?}");
        }
        assert_eq!(get(&cfg, "lua-time-limit"), "100");
        assert_eq!(cfg.masterauth.as_deref(), Some(&b"abc"[..]));
        assert_eq!(cfg.requirepass, None);
        assert_eq!(cfg.replica_announce_ip, None);
        assert_eq!(cfg.maxmemory_clients, MemoryOrPercent::Bytes(0));
        let cfg = load("unixsocketperm 700\nreplicaof 10.0.0.1 6380\ndbfilename \"\"").unwrap();
        assert_eq!((cfg.unixsocketperm, get(&cfg, "unixsocketperm")), (0o700, "700".to_string()));
        assert_eq!(get(&cfg, "slaveof"), "10.0.0.1 6380");
        assert_eq!(get(&cfg, "dbfilename"), "");
    }

    #[test]
    fn config_get_matching_follows_redis() {
        let cfg = ServerConfig::new();
        let names = |patterns: &[&[u8]]| config_get(&cfg, patterns).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(&[b"SAVE"]), ["SAVE"]);
        assert_eq!(names(&[b"port", b"port", b"PORT"]), ["port"]);
        assert_eq!(names(&[b"hash-max-ziplist-entries", b"HASH-max-listpack-entries"]), ["hash-max-ziplist-entries", "HASH-max-listpack-entries"]);
        assert_eq!(names(&[b"[sp]ort"]), ["port"]);
        assert_eq!(names(&[b"lua*"]), ["lua-time-limit"]);
        assert_eq!(names(&[b"nope"]), Vec::<String>::new());
        let mut ziplist = names(&[b"*max*ziplist*"]);
        ziplist.sort();
        assert_eq!(ziplist, ["hash-max-ziplist-entries", "hash-max-ziplist-value", "list-max-ziplist-size", "zset-max-ziplist-entries", "zset-max-ziplist-value"]);
        let mut ping = names(&[b"repl-ping-*", b"repl-ping-slave-period"]);
        ping.sort();
        assert_eq!(ping, ["repl-ping-replica-period", "repl-ping-slave-period"]);
        assert_eq!(config_get(&cfg, &[b"*"]).len(), 192);
    }

    #[test]
    fn every_alias_loads_sets_and_reads_its_config() {
        for config in all_config_refs().filter(|r| r.is_alias) {
            let primary = config.entry.name;
            let alias = config.name();
            let value = match (&config.entry.kind, primary) {
                (ConfigKind::Bool(spec), _) => if (spec.get)(&ServerConfig::new()) { "no" } else { "yes" },
                (_, "replicaof") => "127.0.0.1 6390",
                (_, "replica-announce-ip") => "10.1.2.3",
                _ => "7",
            };
            let cfg = load(&format!("{alias} {value}")).unwrap_or_else(|e| panic!("{}", e.report()));
            assert_eq!(get(&cfg, primary), value, "{alias}");
            assert_eq!(get(&cfg, alias), value, "{alias}");
            assert_ne!(cfg, ServerConfig::new(), "{alias}");
            if config.entry.flags & IMMUTABLE == 0 {
                let mut cfg2 = ServerConfig::new();
                assert_eq!(set(&mut cfg2, alias, value).unwrap(), [primary]);
                assert_eq!(cfg2, cfg, "{alias}");
            }
        }
    }

    #[test]
    fn config_set_errors_match_redis() {
        let mut cfg = ServerConfig::new();
        let fail = |name: &str, why: &str| format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}");
        let pairs = |cfg: &mut ServerConfig, p: &[(&str, &str)]| {
            let p: Vec<(&[u8], &[u8])> = p.iter().map(|(a, b)| (a.as_bytes(), b.as_bytes())).collect();
            config_set(cfg, &p)
        };
        // Every message below was returned by redis-server 7.0.15.
        assert_eq!(set(&mut cfg, "port", "abc"), Err(fail("port", "argument couldn't be parsed into an integer")));
        assert_eq!(set(&mut cfg, "port", "007"), Err(fail("port", "argument couldn't be parsed into an integer")));
        assert_eq!(set(&mut cfg, "foo", "bar"), Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into()));
        assert_eq!(set(&mut cfg, "daemonize", "yes"), Err(fail("daemonize", "can't set immutable config")));
        assert_eq!(set(&mut cfg, "DAEMONIZE", "yes"), Err(fail("DAEMONIZE", "can't set immutable config")));
        assert_eq!(set(&mut cfg, "replicaof", "no one"), Err(fail("replicaof", "can't set immutable config")));
        assert_eq!(set(&mut cfg, "unixsocket", "/tmp/x"), Err(fail("unixsocket", "can't set immutable config")));
        assert_eq!(set(&mut cfg, "dir", "/tmp"), Err(fail("dir", "can't set protected config")));
        assert_eq!(set(&mut cfg, "dbfilename", "x.rdb"), Err(fail("dbfilename", "can't set protected config")));
        assert_eq!(pairs(&mut cfg, &[("port", "1"), ("port", "2")]), Err(fail("port", "duplicate parameter")));
        assert_eq!(pairs(&mut cfg, &[("Port", "1"), ("PORT", "2")]), Err(fail("PORT", "duplicate parameter")));
        assert_eq!(pairs(&mut cfg, &[("save", "1 2"), ("save", "3 4")]), Err(fail("save", "duplicate parameter")));
        assert_eq!(pairs(&mut cfg, &[("port", "1"), ("foo", "2")]), Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into()));
        assert_eq!(pairs(&mut cfg, &[("foo", "1"), ("daemonize", "yes")]), Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into()));
        assert_eq!(pairs(&mut cfg, &[("daemonize", "yes"), ("foo", "1")]), Err(fail("daemonize", "can't set immutable config")));
        assert_eq!(set(&mut cfg, "SLAVE-READ-ONLY", "maybe"), Err(fail("slave-read-only", "argument must be 'yes' or 'no'")));
        assert_eq!(
            set(&mut cfg, "loglevel", "loud"),
            Err(fail("loglevel", "argument(s) must be one of the following: debug, verbose, notice, warning"))
        );
        assert_eq!(
            set(&mut cfg, "maxmemory-policy", "X"),
            Err(fail("maxmemory-policy", "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"))
        );
        let sig = "shutdown-on-sigint";
        assert_eq!(set(&mut cfg, sig, "save nosave"), Err(fail(sig, "shutdown options SAVE and NOSAVE can't be used simultaneously")));
        assert_eq!(set(&mut cfg, sig, "bogus"), Err(fail(sig, "argument(s) must be one of the following: default, save, nosave, now, force")));
        assert_eq!(set(&mut cfg, "sanitize-dump-payload", "x"), Err(fail("sanitize-dump-payload", "argument(s) must be one of the following: no, yes, clients")));
        assert_eq!(set(&mut cfg, "maxclients", "0"), Err(fail("maxclients", "argument must be between 1 and 4294967295 inclusive")));
        assert_eq!(set(&mut cfg, "slowlog-log-slower-than", "-2"), Err(fail("slowlog-log-slower-than", "argument must be between -1 and 9223372036854775807 inclusive")));
        assert_eq!(set(&mut cfg, "proto-max-bulk-len", "1k"), Err(fail("proto-max-bulk-len", "argument must be between 1048576 and 9223372036854775807 inclusive")));
        assert_eq!(set(&mut cfg, "repl-backlog-size", "0"), Err(fail("repl-backlog-size", "argument must be between 1 and 9223372036854775807 inclusive")));
        assert_eq!(set(&mut cfg, "maxmemory-clients", "-5"), Err(fail("maxmemory-clients", "argument must be a memory or percent value")));
        for bad_save in ["10 x", "3600 1 300", "5 -1", " 5 +6", "5 ''"] {
            assert_eq!(set(&mut cfg, "save", bad_save), Err(fail("save", "Invalid save parameters")), "{bad_save}");
        }
        let cobl = "client-output-buffer-limit";
        assert_eq!(set(&mut cfg, cobl, "master 1 2 3"), Err(fail(cobl, "Invalid client class specified in buffer limit configuration.")));
        assert_eq!(set(&mut cfg, cobl, "pubsub 1 2 ''"), Err(fail(cobl, "Error in hard, soft or soft_seconds setting in buffer limit configuration.")));
        let lat = "latency-tracking-info-percentiles";
        assert_eq!(set(&mut cfg, lat, "101"), Err(fail(lat, "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")));
        assert_eq!(set(&mut cfg, lat, "abc"), Err(fail(lat, "Invalid latency-tracking-info-percentiles parameters")));
        assert_eq!(set(&mut cfg, "notify-keyspace-events", "a b"), Err(fail("notify-keyspace-events", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")));
        assert_eq!(set(&mut cfg, "proc-title-template", "{bogus}"), Err(fail("proc-title-template", "template format is invalid or contains unknown variables")));
        assert_eq!(set(&mut cfg, "cluster-announce-hostname", "a_b"), Err(fail("cluster-announce-hostname", "Hostnames may only contain alphanumeric characters, hyphens or dots")));
        assert_eq!(set(&mut cfg, "activedefrag", "yes"), Err(fail("activedefrag", "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution")));
        assert_eq!(cfg, ServerConfig { dir: cfg.dir.clone(), ..ServerConfig::new() });
    }

    #[test]
    fn protected_and_loading_rules() {
        let mut cfg = load("enable-protected-configs local").unwrap();
        let local = ConfigSetOptions { local_client: true, loading: false };
        let remote = ConfigSetOptions::default();
        let pairs: &[(&[u8], &[u8])] = &[(b"dbfilename", b"x.rdb")];
        assert!(config_set_with(&mut cfg, pairs, remote).is_err());
        assert_eq!(config_set_with(&mut cfg, pairs, local), Ok(vec!["dbfilename"]));
        let fail = |name: &str, why: &str| Err(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"));
        assert_eq!(config_set_with(&mut cfg, &[(b"dbfilename", b"../x")], local), fail("dbfilename", "dbfilename can't be a path, just a filename"));
        assert_eq!(config_set_with(&mut cfg, &[(b"dir", b"/nonexistent")], local), fail("dir", "No such file or directory"));
        assert_eq!(config_set_with(&mut cfg, &[(b"dir", b"/etc/passwd")], local), fail("dir", "Not a directory"));
        let dir = temp_dir("setdir");
        let with_slash = format!("{}/", dir.display());
        assert_eq!(config_set_with(&mut cfg, &[(b"dir", with_slash.as_bytes())], local), Ok(vec!["dir"]));
        assert_eq!(get(&cfg, "dir"), std::fs::canonicalize(&dir).unwrap().display().to_string());
        let loading = ConfigSetOptions { local_client: true, loading: true };
        assert_eq!(
            config_set_with(&mut cfg, &[(b"appendonly", b"yes")], loading),
            Err("LOADING Redis is loading the dataset in memory".to_string())
        );
        assert_eq!(config_set_with(&mut cfg, &[(b"maxmemory", b"1mb")], loading), Ok(vec!["maxmemory"]));
    }

    #[test]
    fn config_set_is_all_or_nothing_and_reports_changes() {
        let mut cfg = ServerConfig::new();
        let before = cfg.clone();
        let err = config_set(&mut cfg, &[(b"maxmemory", b"10mb"), (b"save", b"1 1"), (b"port", b"abc")]).unwrap_err();
        assert!(err.contains("'port'"));
        assert_eq!(cfg, before);
        let err = config_set(&mut cfg, &[(b"maxmemory", b"1"), (b"maxmemory-policy", b"bogus")]).unwrap_err();
        assert!(err.contains("'maxmemory-policy'"));
        assert_eq!(cfg.maxmemory, 0);
        // An alias and its primary are different entries for the duplicate check.
        let changed = config_set(&mut cfg, &[(b"slave-read-only", b"no"), (b"replica-read-only", b"yes"), (b"port", b"6379"), (b"maxmemory", b"1mb")]).unwrap();
        assert_eq!(changed, ["replica-read-only", "maxmemory"]);
        assert!(cfg.replica_read_only);
        assert_eq!(cfg.maxmemory, 1 << 20);
    }

    #[test]
    fn debian_redis_conf_loads_unchanged() {
        let path = "/etc/redis/redis.conf";
        let Ok(text) = std::fs::read(path) else {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{path} is missing (apt-get install redis-server)");
            return;
        };
        let mut cfg = ServerConfig::new();
        match load_server_config_from_bytes(&mut cfg, &text) {
            Ok(()) => {}
            // dir /var/lib/redis is 0750 redis:redis; only root (as in CI) may enter it.
            Err(e) if e.message == "Permission denied" && !is_root() => return,
            Err(e) => panic!("{}", e.report()),
        }
        assert_eq!(cfg.bind, ["127.0.0.1", "-::1"]);
        assert!(cfg.daemonize);
        assert_eq!(cfg.pidfile.as_deref(), Some("/run/redis/redis-server.pid"));
        assert_eq!(cfg.logfile, "/var/log/redis/redis-server.log");
        assert_eq!(cfg.dir, "/var/lib/redis");
        assert_eq!(get(&cfg, "client-output-buffer-limit"), "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
        assert_eq!(get(&cfg, "proc-title-template"), "{title} {listen-addr} {server-mode}");
        assert_eq!(cfg.save, ServerConfig::new().save);
    }

    fn is_root() -> bool {
        // SAFETY: geteuid() has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    /// A config far from the defaults, touching every kind of directive.
    fn changed_config(dir: &Path) -> ServerConfig {
        let mut cfg = ServerConfig::new();
        let text = format!(
            "dir {}\nport 7000\nbind 127.0.0.1 -::1\nsave 900 1\nsave 60 100\nmaxmemory 3gb\nmaxmemory-clients 5%\n\
             requirepass \"p a\\\"ss\\x01\"\nunixsocket /tmp/f.sock\nunixsocketperm 700\nloglevel warning\n\
             notify-keyspace-events KEx\nclient-output-buffer-limit pubsub 1mb 2kb 3\nreplicaof 10.0.0.1 6380\n\
             oom-score-adj-values 0 100 900\nshutdown-on-sigterm nosave now\nlatency-tracking-info-percentiles 50 99.5\n\
             hash-max-ziplist-entries 100\nappendonly yes\nignore-warnings \"x y\"\nslowlog-max-len 7\nhz 50\n\
             repl-backlog-size 1000\nproto-max-bulk-len 1000000000\nactive-defrag-ignore-bytes 1025\n",
            dir.display()
        );
        load_server_config_from_string(&mut cfg, &text).unwrap_or_else(|e| panic!("{}", e.report()));
        cfg
    }

    #[test]
    fn rewrite_then_load_gives_the_same_config() {
        let dir = temp_dir("roundtrip");
        let cfg = changed_config(&dir);
        let path = dir.join("redis.conf");
        std::fs::write(&path, "# mine\nport 6379\n\nsave 1 1\nsave 2 2\nsave 3 3\nmaxmemory 1mb\n").unwrap();
        config_rewrite(&cfg, path.to_str().unwrap(), &[]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# mine\nport 7000\n\nsave 900 1\nsave 60 100\n\nmaxmemory 3gb\n"), "{text}");
        let mut reloaded = ServerConfig::new();
        load_server_config_from_bytes(&mut reloaded, text.as_bytes()).unwrap_or_else(|e| panic!("{}", e.report()));
        assert_eq!(reloaded, cfg);
        // Rewriting again keeps the config. (Not the text: like Redis, the "normal" class
        // of client-output-buffer-limit takes over the old pubsub line and pubsub moves
        // to the end, as observed on redis-server 7.0.15.)
        config_rewrite(&reloaded, path.to_str().unwrap(), &[]).unwrap();
        let again = std::fs::read_to_string(&path).unwrap();
        assert!(again.contains("\nclient-output-buffer-limit normal 0 0 0\n"), "{again}");
        assert!(again.ends_with("\nclient-output-buffer-limit pubsub 1mb 2kb 3\n"), "{again}");
        let mut reloaded = ServerConfig::new();
        load_server_config_from_bytes(&mut reloaded, again.as_bytes()).unwrap();
        assert_eq!(reloaded, cfg);
        // Back to defaults: only the always-written options remain.
        config_rewrite(&ServerConfig { dir: cfg.dir.clone(), ..ServerConfig::new() }, path.to_str().unwrap(), &[]).unwrap();
        let mut reloaded = ServerConfig::new();
        load_server_config_from_bytes(&mut reloaded, &std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(reloaded, ServerConfig { dir: cfg.dir.clone(), ..ServerConfig::new() });
    }

    #[test]
    fn rewrite_keeps_the_file_like_redis() {
        // Reproduces an observed session: the file below, `--save 60 5`, then CONFIG SET
        // maxmemory 1gb, notify-keyspace-events KEx, client-output-buffer-limit
        // "pubsub 1mb 2kb 3", maxmemory-clients 5%, bind 127.0.0.1, repl-backlog-size
        // 1000, ignore-warnings "x y", requirepass 'a"b c', masterauth 'x\y',
        // replica-read-only no, loglevel warning, hash-max-listpack-entries 512,
        // shutdown-on-sigterm "nosave now", maxmemory-samples 5, CONFIG REWRITE.
        let dir = temp_dir("rewrite");
        let inc = dir.join("inc.conf");
        std::fs::write(&inc, "maxmemory-samples 7\n").unwrap();
        let path = dir.join("r.conf");
        let original = format!(
            "# top comment\nport 7395\ninclude {}\nrename-command FLUSHALL \"\"\nuser alice on >pw ~* +@all\n\
             save 900 1\nsave 300 10\nhash-max-ziplist-entries 100\nslave-read-only yes\n\n\nmaxmemory 100mb\n",
            inc.display()
        );
        std::fs::write(&path, &original).unwrap();
        let mut cfg = ServerConfig::new();
        load_server_config(&mut cfg, path.to_str(), None, Some("save \"60\" \"5\" ")).unwrap();
        let sets: [(&str, &str); 15] = [
            ("maxmemory", "1gb"), ("notify-keyspace-events", "KEx"), ("client-output-buffer-limit", "pubsub 1mb 2kb 3"),
            ("maxmemory-clients", "5%"), ("bind", "127.0.0.1"), ("repl-backlog-size", "1000"), ("ignore-warnings", "x y"),
            ("requirepass", "a\"b c"), ("masterauth", "x\\y"), ("replica-read-only", "no"), ("loglevel", "warning"),
            ("hash-max-listpack-entries", "512"), ("shutdown-on-sigterm", "nosave now"), ("maxmemory-samples", "5"),
            ("appendonly", "no"),
        ];
        for (name, value) in sets {
            set(&mut cfg, name, value).unwrap();
        }
        let users = ["user alice on #30c9 ~* resetchannels +@all".to_string(), "user default on #fbd8 ~* &* +@all".to_string()];
        config_rewrite(&cfg, path.to_str().unwrap(), &users).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let (kept, generated) = text.split_once("# Generated by CONFIG REWRITE\n").unwrap();
        assert_eq!(
            kept,
            format!(
                "# top comment\nport 7395\ninclude {}\nrename-command FLUSHALL \"\"\n{}\nsave 60 5\n\n\
                 hash-max-listpack-entries 512\nreplica-read-only no\n\nmaxmemory 1gb\n\n",
                inc.display(),
                users[0]
            )
        );
        let mut generated: Vec<&str> = generated.lines().collect();
        generated.sort();
        let dir_line = format!("dir \"{}\"", cfg.dir);
        let mut expected = vec![
            "shutdown-on-sigterm nosave now", "bind 127.0.0.1", "repl-backlog-size 16kb", "masterauth \"x\\\\y\"",
            "latency-tracking-info-percentiles 50 99 99.9", "maxmemory-clients 5%", "requirepass \"a\\\"b c\"",
            "ignore-warnings \"x y\"", "notify-keyspace-events \"xKE\"", "client-output-buffer-limit pubsub 1mb 2kb 3",
            "loglevel warning", &dir_line, "user default on #fbd8 ~* &* +@all",
        ];
        expected.sort();
        assert_eq!(generated, expected);
    }

    #[test]
    fn rewrite_comments_unknown_lines_and_orders_like_redis() {
        // Observed: a 7.0.15 rewrite of this file, with no CONFIG SET before it.
        let dir = temp_dir("rewrite2");
        let path = dir.join("s.conf");
        std::fs::write(&path, "port 7396\nlist-max-ziplist-entries 5\nlua-replicate-commands yes\nsentinel\nloglevel notice\nloglevel verbose\n").unwrap();
        let mut cfg = ServerConfig::new();
        load_server_config(&mut cfg, path.to_str(), None, None).unwrap();
        config_rewrite(&cfg, path.to_str().unwrap(), &["user default on nopass ~* &* +@all".to_string()]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!(
                "port 7396\n# ??? list-max-ziplist-entries 5\n# ??? lua-replicate-commands yes\nsentinel\nloglevel verbose\n\n\
                 # Generated by CONFIG REWRITE\ndir \"{}\"\nsave 3600 1\nsave 300 100\nsave 60 10000\n\
                 latency-tracking-info-percentiles 50 99 99.9\nuser default on nopass ~* &* +@all\n",
                cfg.dir
            )
        );
        assert_eq!(
            config_rewrite(&cfg, "/nonexistent-dir/redis.conf", &[]),
            Err("ERR Rewriting config file: No such file or directory".to_string())
        );
    }

    #[test]
    fn force_all_writes_every_option_and_dump_lists_them() {
        let dir = temp_dir("forceall");
        let path = dir.join("all.conf");
        let cfg = ServerConfig { dir: dir.display().to_string(), ..ServerConfig::new() };
        rewrite_config(&cfg, path.to_str().unwrap(), &[], true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\nmaxmemory 0\n") && text.contains("\nport 6379\n") && text.contains("\nappendonly no\n"));
        // Options whose value is NULL are left out even when forced, as in Redis.
        assert!(!text.contains("\nunixsocket ") && !text.contains("\nreplicaof "));
        let mut reloaded = ServerConfig::new();
        load_server_config_from_bytes(&mut reloaded, text.as_bytes()).unwrap_or_else(|e| panic!("{}", e.report()));
        assert_eq!(reloaded, cfg);
        assert_eq!(dump_all(&cfg).len(), 178);
        let debug_info = get_config_debug_info(&cfg);
        assert!(debug_info.starts_with("io-threads-do-reads no\nlazyfree-lazy-eviction no\n"), "{debug_info}");
        assert_eq!(debug_info.lines().count(), 15, "{debug_info}");
    }

    #[test]
    fn numeric_helpers_follow_c_semantics() {
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775808"), None);
        assert_eq!(string2ll(b"-0"), None);
        assert_eq!(string2ll(b""), None);
        assert_eq!(c_strtoll(b" +12", 10), (12, 4, false));
        assert_eq!(c_strtoll(b"", 10), (0, 0, false));
        assert_eq!(c_strtoll(b"99999999999999999999", 10), (i64::MAX, 20, true));
        assert_eq!(c_strtoll(b"0777", 8), (511, 4, false));
        assert_eq!(mem_to_ull(b"2GB"), Some(2 << 30));
        assert_eq!(mem_to_ull(b"1x"), None);
        assert_eq!(rewrite_config_format_memory(3 << 20), "3mb");
        assert_eq!(rewrite_config_format_memory(1025), "1025");
        assert_eq!(sds_repr(b"a\"b\\\x01\n"), "\"a\\\"b\\\\\\x01\\n\"");
        assert_eq!(strerror(libc::ENOENT), "No such file or directory");
    }
}
