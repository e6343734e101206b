//! redis-check-rdb: walks an RDB file the way the loader does and reports what it found (or
//! where and why it stopped) in Redis's format, without loading anything into a server.
//!
//! Redis: redis-check-rdb.c. Redis builds the checker into redis-server and runs it when the
//! binary is invoked under a name containing "redis-check-rdb"; ferredis ships it as the
//! `ferredis-check-rdb` binary (src/bin/ferredis-check-rdb.rs), which calls
//! [`redis_check_rdb_main`]. The top-level opcodes (aux fields, SELECTDB, expiry, module aux,
//! functions) are read here with the same length and string rules as rdb.c, and every value
//! goes through the real loader (`rdb_load_object`) with deep sanitization on, as Redis sets
//! `sanitize-dump-payload yes` in check mode. It is a plain synchronous program: no event
//! loop runs.
//!
//! Output goes to the writer given (stdout for the binary): one `[offset N] ...` line per
//! event, where N is how many bytes had been read, then either `\o/ RDB looks OK! \o/` or the
//! `--- RDB ERROR DETECTED ---` block, then the `[info]` counters.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::config::{SanitizeDumpPayload, ServerConfig};
use crate::rdb::load::{
    rdb_generic_load_string_object, rdb_load_len, rdb_load_millisecond_time, rdb_load_object, rdb_load_time,
    rdb_load_type,
};
use crate::rdb::*;
use crate::rio::Rio;
use crate::server::{Server, REDIS_VERSION};

/// Redis: RDB_CHECK_DOING_*: what the checker was about to do, for the error report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Doing {
    Start,
    ReadType,
    ReadExpire,
    ReadKey,
    ReadObjectValue,
    CheckSum,
    ReadLen,
    ReadAux,
    ReadModuleAux,
    ReadFunctions,
}

impl Doing {
    /// Redis: rdb_check_doing_string[].
    fn name(self) -> &'static str {
        match self {
            Doing::Start => "start",
            Doing::ReadType => "read-type",
            Doing::ReadExpire => "read-expire",
            Doing::ReadKey => "read-key",
            Doing::ReadObjectValue => "read-object-value",
            Doing::CheckSum => "check-sum",
            Doing::ReadLen => "read-len",
            Doing::ReadAux => "read-aux",
            Doing::ReadModuleAux => "read-module-aux",
            Doing::ReadFunctions => "read-functions",
        }
    }
}

/// Redis 7.0: rdb_type_string[] (a shorter table than later versions: 19 and up print as
/// "unknown").
const RDB_TYPE_STRING: [&str; 19] = [
    "string",
    "list-linked",
    "set-hashtable",
    "zset-v1",
    "hash-hashtable",
    "zset-v2",
    "module-value",
    "",
    "",
    "hash-zipmap",
    "list-ziplist",
    "set-intset",
    "zset-ziplist",
    "hash-ziplist",
    "quicklist",
    "stream",
    "hash-listpack",
    "zset-listpack",
    "quicklist-v2",
];

// rdb.c line numbers of the rdbReportCorruptRDB() calls this file reproduces (7.0.15), so the
// "Internal error" lines read as Redis's do.
const LINE_UNKNOWN_LEN_ENCODING: u32 = 236;
const LINE_INVALID_LZF: u32 = 413;
const LINE_UNKNOWN_STRING_ENCODING: u32 = 529;
const LINE_MODULE_INTEGER: u32 = 1540;
const LINE_MODULE_STRING: u32 = 1546;
const LINE_MODULE_FLOAT: u32 = 1553;
const LINE_MODULE_DOUBLE: u32 = 1559;
const LINE_NO_MODULE_TYPE: u32 = 2628;

/// Redis: RDB_MODULE_OPCODE_*.
const RDB_MODULE_OPCODE_EOF: u64 = 0;
const RDB_MODULE_OPCODE_SINT: u64 = 1;
const RDB_MODULE_OPCODE_UINT: u64 = 2;
const RDB_MODULE_OPCODE_FLOAT: u64 = 3;
const RDB_MODULE_OPCODE_DOUBLE: u64 = 4;
const RDB_MODULE_OPCODE_STRING: u64 = 5;

/// Why the walk stopped. Each variant is one of Redis's ways of reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CheckError {
    /// `goto eoferr` with nothing more specific: "Unexpected EOF reading RDB file".
    Eof,
    /// rdbCheckError(msg) then `goto err`.
    Msg(String),
    /// rdbReportCorruptRDB() in check mode: the "Internal error" report, then the
    /// "Terminating server after rdb file reading failure." log line.
    Internal { line: u32, reason: String },
}

type CheckResult<T> = Result<T, CheckError>;

fn internal(line: u32, reason: String) -> CheckError {
    CheckError::Internal { line, reason }
}

/// Redis: the global `rdbstate` of redis-check-rdb.c.
#[derive(Debug)]
struct RdbState {
    key: Option<Vec<u8>>,
    /// Redis initialises it to 0 (a static), so errors before the first key say "type 0".
    key_type: i32,
    keys: u64,
    expires: u64,
    already_expired: u64,
    doing: Doing,
}

impl RdbState {
    fn new() -> RdbState {
        RdbState { key: None, key_type: 0, keys: 0, expires: 0, already_expired: 0, doing: Doing::Start }
    }
}

/// The checker's writer plus the offset the next line reports.
struct Report<'a> {
    out: &'a mut dyn Write,
}

impl Report<'_> {
    /// Redis: rdbCheckInfo().
    fn info(&mut self, offset: u64, msg: &[u8]) {
        let _ = write!(self.out, "[offset {offset}] ");
        let _ = self.out.write_all(msg);
        let _ = self.out.write_all(b"\n");
    }

    /// Redis: rdbShowGenericInfo().
    fn generic_info(&mut self, st: &RdbState) {
        let _ = writeln!(self.out, "[info] {} keys read", st.keys);
        let _ = writeln!(self.out, "[info] {} expires", st.expires);
        let _ = writeln!(self.out, "[info] {} already expired", st.already_expired);
    }

    /// Redis: rdbCheckError().
    fn error(&mut self, offset: u64, st: &RdbState, msg: &str) {
        let _ = writeln!(self.out, "--- RDB ERROR DETECTED ---");
        let _ = writeln!(self.out, "[offset {offset}] {msg}");
        let _ = writeln!(self.out, "[additional info] While doing: {}", st.doing.name());
        if let Some(key) = &st.key {
            let _ = self.out.write_all(b"[additional info] Reading key '");
            let _ = self.out.write_all(c_str(key));
            let _ = self.out.write_all(b"'\n");
        }
        if st.key_type != -1 {
            let name =
                usize::try_from(st.key_type).ok().and_then(|t| RDB_TYPE_STRING.get(t)).copied().unwrap_or("unknown");
            let _ = writeln!(self.out, "[additional info] Reading type {} ({name})", st.key_type);
        }
        self.generic_info(st);
    }
}

/// C's `%s`: a string ends at its first NUL.
fn c_str(bytes: &[u8]) -> &[u8] {
    let end = memchr::memchr(0, bytes).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Redis: rdbCheckMode's server: default config, deep sanitization, loading.
fn check_mode_server() -> io::Result<Server> {
    let config = ServerConfig { sanitize_dump_payload: SanitizeDumpPayload::Yes, ..ServerConfig::default() };
    let mut srv = crate::server::init_server_config(config, &[])?;
    srv.loading = true;
    srv.db = (0..srv.config.databases.max(1) as usize).map(crate::db::RedisDb::new).collect();
    Ok(srv)
}

// ---------------------------------------------------------------------------------------------
// Reading primitives (Redis: rdbLoadType, rdbLoadLen, rdbGenericLoadStringObject ...)
// ---------------------------------------------------------------------------------------------

fn read_exact<R: Read>(rdb: &mut Rio<R>, buf: &mut [u8]) -> CheckResult<()> {
    rdb.rio_read(buf).map_err(|_| CheckError::Eof)
}

/// rdb.c's line of each rdbReportCorruptRDB() reason the loader shares with Redis 7.0.15
/// (by prefix); 0 when unknown.
const REDIS_REASON_LINES: &[(&str, u32)] = &[
    ("Unknown length encoding", LINE_UNKNOWN_LEN_ENCODING),
    ("Invalid LZF compressed string", LINE_INVALID_LZF),
    ("Unknown RDB string encoding type", LINE_UNKNOWN_STRING_ENCODING),
    ("Zset with NAN score detected", 1882),
    ("Duplicate set members detected", 1829),
    ("Duplicate zset fields detected", 1894),
    ("Hash with dup elements", 1951),
    ("Duplicate hash fields detected", 2019),
    ("Quicklist integrity check failed.", 2048),
    ("Listpack integrity check failed.", 2071),
    ("Ziplist integrity check failed.", 2081),
    ("Zipmap integrity check failed.", 2130),
    ("List ziplist integrity check failed.", 2188),
    ("Intset integrity check failed.", 2213),
    ("Zset ziplist integrity check failed.", 2228),
    ("Zset listpack integrity check failed.", 2254),
    ("Hash ziplist integrity check failed.", 2274),
    ("Hash listpack integrity check failed.", 2300),
    ("Stream node key entry is not the size of a stream ID", 2342),
    ("Stream listpack integrity check failed.", 2361),
    // Read from redis-server / redis-check-rdb 7.0.15's reports on crafted files.
    ("Empty listpack inside stream", 2373),
    ("Listpack re-added with existing key", 2385),
    ("Stream length inconsistent with rax entries", 2429),
    ("Duplicated consumer group name", 2479),
    ("Duplicated global PEL entry loading stream consumer group", 2515),
    ("Duplicate stream consumer detected.", 2543),
    ("Consumer entry not found in group global PEL", 2573),
    ("Duplicated consumer PEL entry", 2584),
    ("Stream CG PEL entry without consumer", 2603),
    ("The RDB file contains module data I can't load", LINE_NO_MODULE_TYPE),
];

/// The rdb.c line of Redis 7.0.15's rdbReportCorruptRDB() call for a loader `reason`, or
/// None when Redis reports it some other way.
pub fn rdb_c_line(reason: &str) -> Option<u32> {
    REDIS_REASON_LINES.iter().find(|(prefix, _)| reason.starts_with(prefix)).map(|&(_, line)| line)
}

/// How the checker reports a loader error: a short read is Redis's bare EOF report; a
/// corruption is rdbReportCorruptRDB()'s "Internal error" report.
fn from_rdb_error(err: RdbError) -> CheckError {
    match err {
        RdbError::ShortRead { .. } | RdbError::Io { .. } => CheckError::Eof,
        RdbError::Corrupt { reason, .. } | RdbError::Unsupported { reason, .. } => {
            internal(rdb_c_line(&reason).unwrap_or(0), reason)
        }
        err @ RdbError::Checksum { .. } => internal(0, err.to_string()),
    }
}

fn load_type<R: Read>(rdb: &mut Rio<R>) -> CheckResult<u8> {
    rdb_load_type(rdb).map_err(from_rdb_error)
}

fn load_len<R: Read>(rdb: &mut Rio<R>) -> CheckResult<u64> {
    rdb_load_len(rdb).map_err(from_rdb_error)
}

fn load_string<R: Read>(rdb: &mut Rio<R>) -> CheckResult<Vec<u8>> {
    rdb_generic_load_string_object(rdb).map_err(from_rdb_error)
}

/// Redis: rdbFunctionLoad()'s errors as the checker prints them ("Failed loading library,
/// Failed loading <what>"); an error rdb.c reports itself passes through.
fn library_error(what: &'static str) -> impl Fn(CheckError) -> CheckError {
    move |e| match e {
        CheckError::Eof => CheckError::Msg(format!("Failed loading library, Failed loading {what}")),
        other => other,
    }
}

/// Redis: moduleTypeNameByID(): the 9-character name packed in a module id's top 54 bits.
fn module_type_name_by_id(moduleid: u64) -> String {
    const CSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = moduleid >> 10;
    let mut name = [0u8; 9];
    for slot in name.iter_mut().rev() {
        *slot = CSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// Redis: rdbLoadCheckModuleValue(): skips a module value's opcode-tagged fields up to EOF.
/// (Redis loops forever when the file ends inside one; this reports an EOF instead.)
fn load_check_module_value<R: Read>(rdb: &mut Rio<R>, name: &str) -> CheckResult<()> {
    loop {
        let opcode = load_len(rdb)?;
        let failed = |line, what: &str| internal(line, format!("Error reading {what} from module {name} value"));
        match opcode {
            RDB_MODULE_OPCODE_EOF => return Ok(()),
            RDB_MODULE_OPCODE_SINT | RDB_MODULE_OPCODE_UINT => {
                load_len(rdb)
                    .map_err(|e| if e == CheckError::Eof { failed(LINE_MODULE_INTEGER, "integer") } else { e })?;
            }
            RDB_MODULE_OPCODE_STRING => {
                load_string(rdb).map_err(|e| {
                    if e == CheckError::Eof {
                        failed(LINE_MODULE_STRING, "string")
                    } else {
                        e
                    }
                })?;
            }
            RDB_MODULE_OPCODE_FLOAT => {
                read_exact(rdb, &mut [0u8; 4]).map_err(|_| failed(LINE_MODULE_FLOAT, "float"))?
            }
            RDB_MODULE_OPCODE_DOUBLE => {
                read_exact(rdb, &mut [0u8; 8]).map_err(|_| failed(LINE_MODULE_DOUBLE, "double"))?
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The walk (Redis: redis_check_rdb())
// ---------------------------------------------------------------------------------------------

/// C's atoi() on the 4 version digits of the magic.
fn atoi(bytes: &[u8]) -> i64 {
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        if !crate::util::is_c_space(b) {
            break;
        }
        rest = tail;
    }
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = &rest[1..];
    }
    let digits = rest.iter().take_while(|b| b.is_ascii_digit());
    let value = digits.fold(0i64, |acc, &d| acc.saturating_mul(10).saturating_add(i64::from(d - b'0')));
    if negative {
        -value
    } else {
        value
    }
}

struct Walk<'a, R: Read> {
    rdb: Rio<R>,
    st: RdbState,
    report: Report<'a>,
    srv: Server,
    now_ms: i64,
}

impl<R: Read> Walk<'_, R> {
    /// The magic and the version. Returns the version.
    fn read_header(&mut self) -> CheckResult<i64> {
        let mut magic = [0u8; 9];
        read_exact(&mut self.rdb, &mut magic)?;
        if &magic[..5] != b"REDIS" {
            return Err(CheckError::Msg("Wrong signature trying to load DB from file".into()));
        }
        let rdbver = atoi(&magic[5..]);
        if rdbver < 1 || rdbver > i64::from(RDB_VERSION) {
            return Err(CheckError::Msg(format!("Can't handle RDB format version {rdbver}")));
        }
        Ok(rdbver)
    }

    /// Redis: the main loop of redis_check_rdb(): opcodes and keys until EOF.
    fn walk_body(&mut self, rdbver: i64) -> CheckResult<()> {
        let mut expiretime: i64 = -1;
        loop {
            self.st.doing = Doing::ReadType;
            let t = load_type(&mut self.rdb)?;
            match t {
                RDB_OPCODE_EXPIRETIME => {
                    self.st.doing = Doing::ReadExpire;
                    expiretime = rdb_load_time(&mut self.rdb).map_err(from_rdb_error)?.wrapping_mul(1000);
                }
                RDB_OPCODE_EXPIRETIME_MS => {
                    self.st.doing = Doing::ReadExpire;
                    expiretime = rdb_load_millisecond_time(&mut self.rdb).map_err(from_rdb_error)?;
                }
                RDB_OPCODE_FREQ => read_exact(&mut self.rdb, &mut [0u8; 1])?,
                RDB_OPCODE_IDLE => {
                    load_len(&mut self.rdb)?;
                }
                RDB_OPCODE_EOF => break,
                RDB_OPCODE_SELECTDB => {
                    self.st.doing = Doing::ReadLen;
                    let dbid = load_len(&mut self.rdb)?;
                    self.report.info(self.rdb.processed_bytes, format!("Selecting DB ID {dbid}").as_bytes());
                }
                RDB_OPCODE_RESIZEDB => {
                    self.st.doing = Doing::ReadLen;
                    load_len(&mut self.rdb)?;
                    load_len(&mut self.rdb)?;
                }
                RDB_OPCODE_AUX => self.aux_field()?,
                RDB_OPCODE_MODULE_AUX => self.module_aux()?,
                RDB_OPCODE_FUNCTION | RDB_OPCODE_FUNCTION2 => self.function(t)?,
                _ => {
                    self.key_value(t, expiretime)?;
                    expiretime = -1;
                }
            }
        }
        self.check_sum(rdbver)
    }

    fn aux_field(&mut self) -> CheckResult<()> {
        self.st.doing = Doing::ReadAux;
        let key = load_string(&mut self.rdb)?;
        let val = load_string(&mut self.rdb)?;
        let mut line = b"AUX FIELD ".to_vec();
        line.extend_from_slice(c_str(&key));
        line.extend_from_slice(b" = '");
        line.extend_from_slice(c_str(&val));
        line.push(b'\'');
        self.report.info(self.rdb.processed_bytes, &line);
        Ok(())
    }

    fn module_aux(&mut self) -> CheckResult<()> {
        self.st.doing = Doing::ReadModuleAux;
        let moduleid = load_len(&mut self.rdb)?;
        let when_opcode = load_len(&mut self.rdb)?;
        load_len(&mut self.rdb)?;
        if when_opcode != RDB_MODULE_OPCODE_UINT {
            return Err(CheckError::Msg("bad when_opcode".into()));
        }
        let name = module_type_name_by_id(moduleid);
        self.report.info(self.rdb.processed_bytes, format!("MODULE AUX for: {name}").as_bytes());
        load_check_module_value(&mut self.rdb, &name)
    }

    /// Redis: rdbFunctionLoad() without a library context: the library is read, not run.
    /// FUNCTION (7.0 release candidates) carries name, engine and description first.
    fn function(&mut self, opcode: u8) -> CheckResult<()> {
        self.st.doing = Doing::ReadFunctions;
        let rdb = &mut self.rdb;
        let failed = library_error;
        if opcode == RDB_OPCODE_FUNCTION {
            load_string(rdb).map_err(failed("library name"))?;
            load_string(rdb).map_err(failed("engine name"))?;
            let has_desc = load_len(rdb).map_err(failed("library description indicator"))?;
            if has_desc != 0 {
                load_string(rdb).map_err(failed("library description"))?;
            }
            load_string(rdb).map_err(failed("library blob"))?;
        } else {
            load_string(rdb).map_err(failed("library payload"))?;
        }
        Ok(())
    }

    /// A key and its value (Redis: the end of the main loop). Module values are skipped the
    /// way rdbLoadObject() does in check mode; everything else goes through the loader.
    fn key_value(&mut self, t: u8, expiretime: i64) -> CheckResult<()> {
        if !rdb_is_object_type(t) {
            return Err(CheckError::Msg(format!("Invalid object type: {t}")));
        }
        self.st.key_type = i32::from(t);
        self.st.doing = Doing::ReadKey;
        let key = load_string(&mut self.rdb)?;
        self.st.key = Some(key.clone());
        self.st.keys += 1;
        self.st.doing = Doing::ReadObjectValue;
        self.load_value(t, &key)?;
        if expiretime != -1 && expiretime < self.now_ms {
            self.st.already_expired += 1;
        }
        if expiretime != -1 {
            self.st.expires += 1;
        }
        self.st.key = None;
        self.st.key_type = -1;
        Ok(())
    }

    fn load_value(&mut self, t: u8, key: &[u8]) -> CheckResult<()> {
        if t == RDB_TYPE_MODULE || t == RDB_TYPE_MODULE_2 {
            let moduleid = load_len(&mut self.rdb)?;
            let name = module_type_name_by_id(moduleid);
            if t == RDB_TYPE_MODULE {
                let reason =
                    format!("The RDB file contains module data I can't load: no matching module type '{name}'");
                return Err(internal(LINE_NO_MODULE_TYPE, reason));
            }
            return load_check_module_value(&mut self.rdb, &name);
        }
        match rdb_load_object(t, &mut self.rdb, key, &self.srv) {
            Ok(Some(_)) => Ok(()),
            // An empty aggregate: rdbLoadObject() returns NULL, which the checker reports as EOF.
            Ok(None) => Err(CheckError::Eof),
            Err(err) => Err(from_rdb_error(err)),
        }
    }

    /// The CRC-64 trailer, present from RDB version 5 (all zeros when saved without one).
    fn check_sum(&mut self, rdbver: i64) -> CheckResult<()> {
        if rdbver < 5 {
            return Ok(());
        }
        let expected = self.rdb.cksum;
        self.st.doing = Doing::CheckSum;
        let mut b = [0u8; 8];
        read_exact(&mut self.rdb, &mut b)?;
        let cksum = u64::from_le_bytes(b);
        let offset = self.rdb.processed_bytes;
        if cksum == 0 {
            self.report.info(offset, b"RDB file was saved with checksum disabled: no check performed.");
        } else if cksum != expected {
            return Err(CheckError::Msg("RDB CRC error".into()));
        } else {
            self.report.info(offset, b"Checksum OK");
        }
        Ok(())
    }

    /// Prints the error block (and, for loader-internal errors, Redis's log line).
    fn report_error(&mut self, err: CheckError) {
        let offset = self.rdb.processed_bytes;
        match err {
            CheckError::Eof => self.report.error(offset, &self.st, "Unexpected EOF reading RDB file"),
            CheckError::Msg(msg) => self.report.error(offset, &self.st, &msg),
            CheckError::Internal { line, reason } => {
                let msg = format!("Internal error in RDB reading offset 0, function at rdb.c:{line} -> {reason}");
                self.report.error(offset, &self.st, &msg);
                let _ = self.report.out.flush();
                crate::server_log::server_log_raw(
                    crate::server_log::LogLevel::Warning,
                    "Terminating server after rdb file reading failure.",
                );
            }
        }
    }
}

/// Redis: redis_check_rdb(): checks the file at `path`; true if it looks sane. A file that
/// cannot be opened fails silently, as in Redis.
pub fn redis_check_rdb(path: &Path, out: &mut dyn Write) -> bool {
    let Ok(file) = File::open(path) else { return false };
    let Ok(srv) = check_mode_server() else { return false };
    let now_ms = crate::util::mstime();
    let mut walk =
        Walk { rdb: Rio::new(BufReader::new(file)), st: RdbState::new(), report: Report { out }, srv, now_ms };
    let result = walk.read_header().and_then(|rdbver| walk.walk_body(rdbver));
    match result {
        Ok(()) => {
            let offset = walk.rdb.processed_bytes;
            walk.report.info(offset, b"\\o/ RDB looks OK! \\o/");
            walk.report.generic_info(&walk.st);
            true
        }
        Err(err) => {
            walk.report_error(err);
            false
        }
    }
}

/// Redis: redis_check_rdb_main() for the standalone program: `argv` is the command line
/// (any bytes: a file name need not be UTF-8); returns the exit status (0 when the file looks
/// sane).
pub fn redis_check_rdb_main(argv: &[OsString], out: &mut dyn Write) -> i32 {
    let program = argv.first().map_or_else(|| "ferredis-check-rdb".into(), |p| p.to_string_lossy());
    let Some(path) = argv.get(1).filter(|_| argv.len() == 2) else {
        eprintln!("Usage: {program} <rdb-file-name>");
        return 1;
    };
    if path == "-v" || path == "--version" {
        let _ = writeln!(out, "redis-check-rdb {REDIS_VERSION}");
        return 0;
    }
    let _ = out.write_all(b"[offset 0] Checking RDB file ");
    let _ = out.write_all(path.as_bytes());
    let _ = out.write_all(b"\n");
    let ok = redis_check_rdb(Path::new(path), out);
    let _ = out.flush();
    i32::from(!ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_bytes(name: &str, bytes: &[u8]) -> (bool, String) {
        let dir = std::env::temp_dir().join(format!("ferredis-check-rdb-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        let mut out = Vec::new();
        let ok = redis_check_rdb(&path, &mut out);
        let _ = std::fs::remove_file(&path);
        (ok, String::from_utf8_lossy(&out).into_owned())
    }

    /// An RDB v10 file around `body` with a correct CRC.
    fn rdb(body: &[u8]) -> Vec<u8> {
        let mut d = b"REDIS0010".to_vec();
        d.extend_from_slice(body);
        d.push(RDB_OPCODE_EOF);
        let crc = crate::crc64::crc64(0, &d);
        d.extend_from_slice(&crc.to_le_bytes());
        d
    }

    #[test]
    fn loader_errors_map_to_redis_reports() {
        let mut r = Rio::new(&b"\x82"[..]);
        assert_eq!(load_len(&mut r), Err(internal(236, "Unknown length encoding 2 in rdbLoadLen()".into())));
        assert_eq!(load_len(&mut r), Err(CheckError::Eof));
        let reason = "Intset integrity check failed.".to_string();
        assert_eq!(from_rdb_error(RdbError::Corrupt { offset: 9, reason: reason.clone() }), internal(2213, reason));
        assert_eq!(
            from_rdb_error(RdbError::Corrupt { offset: 9, reason: "new text".into() }),
            internal(0, "new text".into())
        );
        assert_eq!(module_type_name_by_id(0x400), "AAAAAAAAB");
        assert_eq!(module_type_name_by_id(u64::MAX), "_________");
        assert_eq!(atoi(b"0010"), 10);
        assert_eq!(atoi(b" -01"), -1);
        assert_eq!(atoi(b"00x4"), 0);
    }

    #[test]
    fn reports_header_errors_like_redis() {
        let (ok, out) = check_bytes("short.rdb", b"REDI");
        assert!(!ok);
        assert_eq!(
            out,
            "--- RDB ERROR DETECTED ---\n[offset 0] Unexpected EOF reading RDB file\n[additional info] While doing: start\n\
             [additional info] Reading type 0 (string)\n[info] 0 keys read\n[info] 0 expires\n[info] 0 already expired\n"
        );
        let (_, out) = check_bytes("v11.rdb", b"REDIS0011");
        assert!(out.contains("[offset 9] Can't handle RDB format version 11\n"), "{out}");
        let (_, out) = check_bytes("sig.rdb", b"XEDIS0010");
        assert!(out.contains("[offset 9] Wrong signature trying to load DB from file\n"), "{out}");
        let mut out = Vec::new();
        assert!(!redis_check_rdb(Path::new("/nonexistent/dir/none.rdb"), &mut out));
        assert!(out.is_empty(), "a file that cannot be opened fails silently");
    }

    /// The expected reports are the real redis-check-rdb 7.0.15's output on the same bytes.
    #[test]
    fn aux_fields_selectdb_modules_functions_and_checksum() {
        let mid = b"\x81\x00\x00\x00\x00\x00\x00\x04\x00";
        let mut body = b"\xfa\x03a\x00b\xc0\x40\xfe\x00\xfb\x00\x00\xf7".to_vec();
        body.extend_from_slice(mid);
        body.extend_from_slice(
            b"\x02\x02\x01\x05\x03\x00\x00\x80\x3f\x05\x02hi\x00\xf5\x05hello\xf6\x03lib\x03LUA\x01\x01d\x01b",
        );
        let (ok, out) = check_bytes("aux.rdb", &rdb(&body));
        assert!(ok, "{out}");
        assert_eq!(
            out,
            "[offset 16] AUX FIELD a = '64'\n[offset 18] Selecting DB ID 0\n[offset 33] MODULE AUX for: AAAAAAAAB\n\
             [offset 75] Checksum OK\n[offset 75] \\o/ RDB looks OK! \\o/\n[info] 0 keys read\n[info] 0 expires\n[info] 0 already expired\n"
        );
        let mut bad = rdb(b"\xfe\x00");
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let (ok, out) = check_bytes("crc.rdb", &bad);
        assert!(!ok);
        assert!(out.contains("--- RDB ERROR DETECTED ---\n[offset 20] RDB CRC error\n[additional info] While doing: check-sum\n[additional info] Reading type 0 (string)\n[info] 0 keys read"), "{out}");
        let (_, out) = check_bytes("func.rdb", b"REDIS0010\xf5\x05he");
        assert!(out.contains("[offset 11] Failed loading library, Failed loading library payload\n[additional info] While doing: read-functions"), "{out}");
        let (_, out) = check_bytes("when.rdb", &rdb(b"\xf7\x01\x01\x02"));
        assert!(out.contains("[offset 13] bad when_opcode\n"), "{out}");
    }

    #[test]
    fn expiry_counters_and_invalid_types() {
        let mut body = b"\xfe\x00\xfc".to_vec();
        body.extend_from_slice(&1000i64.to_le_bytes());
        body.extend_from_slice(b"\x07\x01k");
        body.extend_from_slice(b"\x81\x00\x00\x00\x00\x00\x00\x04\x00\x05\x03abc\x00");
        body.extend_from_slice(b"\xfd\x00\x00\x00\x7f\xf9\x05\xf8\x05\x08");
        let (ok, out) = check_bytes("types.rdb", &rdb(&body));
        assert!(!ok);
        assert!(
            out.ends_with("[offset 48] Invalid object type: 8\n[additional info] While doing: read-type\n[info] 1 keys read\n[info] 1 expires\n[info] 1 already expired\n"),
            "{out}"
        );
    }
}
