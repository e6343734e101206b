//! Logging in Redis's format: server.c serverLog(), serverLogRaw() and
//! serverLogFromHandler(), behind the `log` crate's macros.
//!
//! A line is `pid:role dd Mon yyyy hh:mm:ss.mmm <level char> message`. The `log` levels map
//! onto Redis's: trace = debug (`.`), debug = verbose (`-`), info = notice (`*`),
//! warn/error = warning (`#`). Lines go to stdout or to `logfile`, opened for every line as
//! Redis does, so an operator can rotate the file.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU8, Ordering};
use std::sync::Mutex;

/// Redis: LL_DEBUG, LL_VERBOSE, LL_NOTICE, LL_WARNING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(LogLevel::Notice as u8);
/// `C` before the role is known, `M` master, `S` replica, `C` child, `X` sentinel.
static ROLE_CHAR: AtomicU8 = AtomicU8::new(b'C');
/// The fd the signal handler writes to: 1 for stdout, or -1 to open `logfile` itself.
static HANDLER_FD: AtomicI32 = AtomicI32::new(1);
static LOGFILE: Mutex<String> = Mutex::new(String::new());
/// `logfile` as a C string the signal handler can open without allocating. Set once per
/// `set_logfile` and never freed: the handler may be reading the previous one.
static HANDLER_PATH: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

struct RedisLogger;

static LOGGER: RedisLogger = RedisLogger;

/// Installs the logger; call once at start-up.
pub fn init() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Trace);
}

pub fn set_verbosity(level: LogLevel) {
    VERBOSITY.store(level as u8, Ordering::Relaxed);
}

pub fn set_role_char(role: u8) {
    ROLE_CHAR.store(role, Ordering::Relaxed);
}

/// Sets `logfile` ("" = stdout).
pub fn set_logfile(path: &str) {
    if let Ok(mut guard) = LOGFILE.lock() {
        *guard = path.to_string();
    }
    HANDLER_FD.store(if path.is_empty() { 1 } else { -1 }, Ordering::Relaxed);
    if let Ok(cpath) = std::ffi::CString::new(path) {
        HANDLER_PATH.store(cpath.into_raw(), Ordering::SeqCst);
    }
}

fn level_of(level: log::Level) -> LogLevel {
    match level {
        log::Level::Trace => LogLevel::Debug,
        log::Level::Debug => LogLevel::Verbose,
        log::Level::Info => LogLevel::Notice,
        log::Level::Warn | log::Level::Error => LogLevel::Warning,
    }
}

impl log::Log for RedisLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target().starts_with("ferredis") && level_of(metadata.level()) as u8 >= VERBOSITY.load(Ordering::Relaxed)
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            server_log_raw(level_of(record.level()), &record.args().to_string());
        }
    }

    fn flush(&self) {}
}

/// Redis: server.c serverLogRaw(): formats one line and appends it to the log.
pub fn server_log_raw(level: LogLevel, msg: &str) {
    const MARKS: [char; 4] = ['.', '-', '*', '#'];
    let line = format!(
        "{}:{} {} {} {}\n",
        std::process::id(),
        ROLE_CHAR.load(Ordering::Relaxed) as char,
        timestamp(),
        MARKS[level as usize],
        msg
    );
    write_log(line.as_bytes());
}

/// Writes bytes to the log as they are (the start-up logo uses this).
pub fn write_log(bytes: &[u8]) {
    let path = LOGFILE.lock().map(|g| g.clone()).unwrap_or_default();
    if path.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
    } else if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(&path) {
        let _ = file.write_all(bytes);
    }
}

/// `dd Mon yyyy hh:mm:ss.mmm` in local time, as Redis's strftime("%d %b %Y %H:%M:%S.").
fn timestamp() -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: tm is plain data; localtime_r fills it from `secs` and touches nothing else.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    unsafe { libc::localtime_r(&secs, &mut tm) };
    let month = MONTHS.get(tm.tm_mon as usize).copied().unwrap_or("???");
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        month,
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

/// Redis: server.c serverLogFromHandler(): async-signal-safe, only write(2) and formatting
/// into a stack buffer. Line: `pid:signal-handler (unixtime) msg`.
pub fn server_log_from_handler(msg: &[u8]) {
    let mut buf = [0u8; 256];
    let mut len = 0;
    let mut push = |bytes: &[u8]| {
        for &b in bytes {
            if len < buf.len() {
                buf[len] = b;
                len += 1;
            }
        }
    };
    let mut num = [0u8; 20];
    push(format_u64(&mut num, std::process::id() as u64));
    push(b":signal-handler (");
    // SAFETY: time() with a null pointer only returns the current time.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    push(format_u64(&mut num, now.max(0) as u64));
    push(b") ");
    push(msg);
    push(b"\n");
    let fd = HANDLER_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; buf[..len] is initialised.
        unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, len) };
        return;
    }
    // Like Redis, a logfile is opened (and closed) by the handler itself.
    let path = HANDLER_PATH.load(Ordering::SeqCst);
    if path.is_null() {
        return;
    }
    // SAFETY: path is a NUL-terminated string leaked by set_logfile, never freed; open,
    // write and close are async-signal-safe.
    unsafe {
        let fd = libc::open(path, libc::O_APPEND | libc::O_CREAT | libc::O_WRONLY, 0o644);
        if fd >= 0 {
            libc::write(fd, buf.as_ptr() as *const libc::c_void, len);
            libc::close(fd);
        }
    }
}

/// Decimal digits without allocating (safe inside a signal handler).
fn format_u64(out: &mut [u8; 20], mut v: u64) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    &out[i..]
}
