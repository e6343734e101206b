//! Lifecycle tests: what Redis's main() does, checked on the real ferredis-server binary and,
//! where the real redis-server is on PATH, against it with the same arguments: start-up log
//! lines, FATAL CONFIG FILE ERROR reports, config files with options and `include`, a busy
//! port, shutdown on SIGTERM/SIGINT, pidfiles, daemonize, the unix socket, the logo, loglevel.
//!
//! `common::Server` always passes `--port ... --logfile ...` first, so tests whose argv must
//! start with a config file (or that daemonize) launch the binary themselves with `Launched`.
mod common;

use common::{free_port, redis_available, require_redis, RawConn, Server, ServerKind, FERREDIS_BIN};
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// A generous bound for anything that should take well under a second.
const BOUND: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn program(kind: ServerKind) -> &'static str {
    match kind {
        ServerKind::Ferredis => FERREDIS_BIN,
        ServerKind::Redis => "redis-server",
    }
}

/// The kinds a differential test runs: ferredis always, redis when it is installed.
fn kinds() -> Vec<ServerKind> {
    match require_redis() {
        true => vec![ServerKind::Ferredis, ServerKind::Redis],
        false => vec![ServerKind::Ferredis],
    }
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ferredis-lc-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A server process launched with exactly `args`, stdout/stderr to `stdio`; killed on drop.
struct Launched {
    child: Child,
    kind: ServerKind,
    stdio: PathBuf,
}

impl Launched {
    fn spawn(kind: ServerKind, args: &[&str], cwd: &Path, stdio: PathBuf) -> Launched {
        let out = fs::File::create(&stdio).unwrap_or_else(|e| panic!("create {}: {e}", stdio.display()));
        let err = out.try_clone().unwrap_or_else(|e| panic!("dup: {e}"));
        let child = Command::new(program(kind))
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program(kind)));
        Launched { child, kind, stdio }
    }

    fn output(&self) -> String {
        fs::read_to_string(&self.stdio).unwrap_or_default()
    }

    /// Waits until `port` accepts connections; panics with the output if the process died.
    fn wait_accepting(&mut self, port: u16) {
        let ready = poll_until(Duration::from_secs(10), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited early with {status}\n{}", self.kind.name(), self.output());
            }
            accepting(port)
        });
        assert!(ready, "{} not accepting on {port}\n{}", self.kind.name(), self.output());
    }

    fn wait_exit(&mut self, bound: Duration) -> ExitStatus {
        wait_exit(&mut self.child, bound).unwrap_or_else(|| panic!("{} did not exit within {bound:?}", self.kind.name()))
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn accepting(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Polls `cond` every 20 ms until it holds (true) or `bound` passes (false).
fn poll_until(bound: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn wait_exit(child: &mut Child, bound: Duration) -> Option<ExitStatus> {
    let mut status = None;
    poll_until(bound, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    status
}

/// Runs a server that is expected to exit by itself (bad config, busy port).
fn run_to_exit(kind: ServerKind, args: &[&str], scratch: &Scratch) -> (ExitStatus, String) {
    let stdio = scratch.path(&format!("{}.stdio", kind.name()));
    let mut proc_ = Launched::spawn(kind, args, &scratch.0, stdio);
    let status = proc_.wait_exit(Duration::from_secs(10));
    (status, proc_.output())
}

fn send_signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a pid this test started; no memory is involved.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

/// The log once start-up is over: the kernel accepts connections as soon as the socket
/// listens, before the last start-up lines are logged, but a reply needs the event loop.
fn started_log(server: &Server) -> String {
    assert_eq!(server.conn().cmd_str("PING"), b"+PONG\r\n", "{}", server.kind.name());
    read_log(&server.log)
}

fn read_log(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// Polls the log until it contains `needle`.
fn wait_log(path: &Path, needle: &str) -> bool {
    poll_until(BOUND, || read_log(path).contains(needle))
}

/// One parsed `pid:role dd Mon yyyy hh:mm:ss.mmm <level> message` line.
#[derive(Debug, PartialEq, Eq)]
struct LogLine {
    pid: String,
    role: char,
    level: char,
    msg: String,
}

/// Parses the standard log lines, skipping the logo and signal-handler lines.
fn parse_log(text: &str) -> Vec<LogLine> {
    text.lines().filter_map(parse_log_line).collect()
}

fn parse_log_line(line: &str) -> Option<LogLine> {
    let (pid, rest) = line.split_once(':')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut chars = rest.chars();
    let role = chars.next()?;
    let fields: Vec<&str> = chars.as_str().trim_start().splitn(6, ' ').collect();
    if fields.len() < 6 || !fields[3].contains(':') {
        return None;
    }
    let level = fields[4].chars().next()?;
    Some(LogLine { pid: pid.to_string(), role, level, msg: fields[5].to_string() })
}

/// The log as (role, level, message) with the pid and port made generic, so the logs of two
/// servers can be compared.
fn normalized_log(text: &str, pid: u32, port: u16) -> Vec<String> {
    parse_log(text)
        .iter()
        .map(|l| {
            let msg = l.msg.replace(&format!("pid={pid}"), "pid=<pid>").replace(&port.to_string(), "<port>");
            format!("{} {} {}", l.role, l.level, msg)
        })
        .collect()
}

/// Asserts `needles` appear in `lines` in this order (other lines may come between).
fn assert_in_order(lines: &[String], needles: &[&str], context: &str) {
    let mut pos = 0;
    for needle in needles {
        match lines[pos..].iter().position(|l| l.contains(needle)) {
            Some(i) => pos += i + 1,
            None => panic!("{context}: {needle:?} missing or out of order in:\n{}", lines.join("\n")),
        }
    }
}

fn messages(text: &str) -> Vec<String> {
    parse_log(text).into_iter().map(|l| l.msg).collect()
}

fn config_get(conn: &mut RawConn, name: &str) -> Vec<u8> {
    conn.cmd(&[b"CONFIG", b"GET", name.as_bytes()])
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// The RESP bytes of CONFIG GET `name` answered with `value`.
fn config_reply(name: &str, value: &str) -> Vec<u8> {
    format!("*2\r\n{}{}", bulk(name), bulk(value)).into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Start-up
// ---------------------------------------------------------------------------------------------

const STARTUP_LINES: &[&str] = &[
    "C # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    "C # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=<pid>, just started",
    "C # Configuration loaded",
    "M * Running mode=standalone, port=<port>.",
    "M # Server initialized",
    "M * Ready to accept connections",
];

#[test]
fn startup_log_lines_in_order_and_as_redis() {
    let mut logs = Vec::new();
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let log = started_log(&server);
        let lines = normalized_log(&log, server.child.id(), server.port);
        assert_in_order(&lines, STARTUP_LINES, kind.name());
        for line in parse_log(&log) {
            assert_eq!(line.pid, server.child.id().to_string(), "{}: pid prefix of {line:?}", kind.name());
        }
        assert!(!log.contains("no config file specified"), "{}: only printed without arguments", kind.name());
        logs.push(lines);
    }
    if let [ferredis, redis] = logs.as_slice() {
        assert_eq!(ferredis, redis, "start-up log (role, level, message) differs from redis-server's");
    }
}

#[test]
fn command_line_memory_units() {
    let server = Server::start_ferredis(&["--maxmemory", "700mb", "--hz", "15", "--maxmemory-policy", "allkeys-lru"]);
    let mut conn = server.conn();
    assert_eq!(config_get(&mut conn, "maxmemory"), config_reply("maxmemory", "734003200"));
    assert_eq!(config_get(&mut conn, "hz"), config_reply("hz", "15"));
    assert_eq!(config_get(&mut conn, "maxmemory-policy"), config_reply("maxmemory-policy", "allkeys-lru"));
    let server = Server::start_ferredis(&["--maxmemory", "1g"]);
    assert_eq!(config_get(&mut server.conn(), "maxmemory"), config_reply("maxmemory", "1000000000"));
}

// ---------------------------------------------------------------------------------------------
// Config files
// ---------------------------------------------------------------------------------------------

/// Config files (and options) Redis rejects, each with the line it reports.
const BAD_CONFIGS: &[(&str, &str, &[&str])] = &[
    ("bad-directive", "port 7000\nfoobar yes\n", &[]),
    ("bad-value", "port 7000\nmaxmemory abc\n", &[]),
    ("bad-enum", "# comment\nmaxmemory-policy sometimes\n", &[]),
    ("bad-bool", "appendonly maybe\n", &[]),
    ("missing-arg", "port\n", &[]),
    ("unbalanced-quotes", "bind \"127.0.0.1\n", &[]),
    ("out-of-range", "hz 10\ndatabases -1\n", &[]),
    ("bad-option", "hz 10\n", &["--foo", "bar"]),
    ("bad-option-value", "hz 10\n", &["--maxclients", "many"]),
    ("rename-unknown", "port 7000\nrename-command nosuch x\n", &[]),
    ("rename-taken", "rename-command get SET\n", &[]),
];

#[test]
fn bad_config_files_are_fatal_as_in_redis() {
    let scratch = Scratch::new("badconf");
    for (name, text, extra) in BAD_CONFIGS {
        let file = scratch.write(&format!("{name}.conf"), text);
        let mut args = vec![file.to_str().unwrap_or_default()];
        args.extend_from_slice(extra);
        let (status, out) = run_to_exit(ServerKind::Ferredis, &args, &scratch);
        assert_eq!(status.code(), Some(1), "{name}: exit code; output:\n{out}");
        assert!(out.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"), "{name}: {out}");
        if redis_available() {
            let (rstatus, rout) = run_to_exit(ServerKind::Redis, &args, &scratch);
            assert_eq!(status.code(), rstatus.code(), "{name}: exit code vs redis");
            assert_eq!(out, rout, "{name}: report differs from redis-server's");
        }
    }
    require_redis();
}

/// rename-command moves a command to a secret name (longer than any command's) or removes
/// it; the old names answer "unknown command" and the new one works, as on redis-server.
#[test]
fn rename_command_in_the_config_file() {
    const SECRET: &str = "B840FC02D524045429941CC15F59E41CB7BE6C52";
    let scratch = Scratch::new("rename");
    let text = format!("rename-command FLUSHALL {SECRET}\nrename-command flushdb \"\"\n");
    let file = scratch.write("rename.conf", &text);
    let mut replies = Vec::new();
    for kind in kinds() {
        let port = free_port();
        let args = [file.to_str().unwrap_or_default(), "--port", &port.to_string(), "--save", ""];
        let mut server = Launched::spawn(kind, &args, &scratch.0, scratch.path(&format!("{}.stdio", kind.name())));
        server.wait_accepting(port);
        let mut conn = RawConn::connect(port);
        let mut got = Vec::new();
        // FLUSHALL twice: the second time the one-entry command cache holds FLUSHALL.
        for line in ["SET a 1", &SECRET.to_lowercase(), "DBSIZE", "SET a 1", "FLUSHALL", "FLUSHDB"] {
            got.push(conn.cmd_str(line));
        }
        got.push(conn.cmd_str(SECRET));
        got.push(conn.cmd_str("FLUSHALL"));
        got.push(conn.cmd_str("DBSIZE"));
        got.push(conn.cmd_str("COMMAND INFO flushall flushdb"));
        assert_eq!(got[1], b"+OK\r\n", "{}: the new name works", kind.name());
        assert!(got[4].starts_with(b"-ERR unknown command 'FLUSHALL'"), "{}: {:?}", kind.name(), String::from_utf8_lossy(&got[4]));
        replies.push(got);
    }
    if let [ferredis, redis] = replies.as_slice() {
        assert_eq!(ferredis, redis);
    }
}

/// ferredis has neither ACL users nor modules: a `user` or `loadmodule` line stops the start
/// with a clear error instead of being ignored (which could leave a protected user open).
#[test]
fn user_and_loadmodule_lines_are_refused() {
    let scratch = Scratch::new("refused");
    let user = scratch.write("user.conf", "port 7000\nuser alice on >pw ~* +@all\n");
    let (status, out) = run_to_exit(ServerKind::Ferredis, &[user.to_str().unwrap_or_default()], &scratch);
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains(">>> 'user alice on >pw ~* +@all'\nError in user declaration 'alice'"), "{out}");
    let module = scratch.write("module.conf", "loadmodule /nonexistent/module.so\n");
    let port = free_port().to_string();
    let args = [module.to_str().unwrap_or_default(), "--port", &port];
    let (status, out) = run_to_exit(ServerKind::Ferredis, &args, &scratch);
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("Can't load module from /nonexistent/module.so: server aborting"), "{out}");
}

/// A config file with quoting, an `include` and a relative `dir`, then command-line options
/// that override some of its values. Every CONFIG GET must equal redis-server's.
#[test]
fn config_file_include_quoting_relative_dir_and_options() {
    let mut replies = Vec::new();
    for kind in kinds() {
        replies.push(config_file_replies(kind));
    }
    if let [ferredis, redis] = replies.as_slice() {
        for ((name, f), (_, r)) in ferredis.iter().zip(redis) {
            assert_eq!(
                common::escape_bytes(f),
                common::escape_bytes(r),
                "CONFIG GET {name} differs from redis-server's"
            );
        }
    }
}

const CHECKED_CONFIGS: &[&str] = &[
    "maxmemory", "hz", "maxmemory-policy", "timeout", "dbfilename", "masteruser", "save", "dir",
    "maxclients", "databases", "appendonly", "tcp-keepalive", "client-output-buffer-limit",
];

fn config_file_replies(kind: ServerKind) -> Vec<(String, Vec<u8>)> {
    let scratch = Scratch::new(&format!("conf-{}", kind.name()));
    fs::create_dir_all(scratch.path("data")).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let include = scratch.write("inc.conf", "maxmemory-policy volatile-lru\ntimeout 7\nhz 30\n");
    let main = scratch.write("main.conf", &main_config_text(&include));
    let port = free_port();
    let log = scratch.path("log");
    let args = [
        main.to_str().unwrap_or_default(),
        "--port", &port.to_string(),
        "--maxmemory", "700mb",
        "--hz", "25",
        "--logfile", log.to_str().unwrap_or_default(),
        "--client-output-buffer-limit", "normal 1mb 512kb 30",
    ];
    let mut server = Launched::spawn(kind, &args, &scratch.0, scratch.path("stdio"));
    server.wait_accepting(port);
    let mut conn = RawConn::connect(port);
    let replies: Vec<(String, Vec<u8>)> =
        CHECKED_CONFIGS.iter().map(|name| (name.to_string(), config_get(&mut conn, name))).collect();
    check_config_values(kind, &replies, &scratch);
    replies
        .into_iter()
        .filter(|(name, _)| name != "dir") // Each server has its own scratch directory.
        .collect()
}

fn main_config_text(include: &Path) -> String {
    format!(
        concat!(
            "# ferredis lifecycle test\n",
            "  maxmemory 100mb\n",
            "hz 20\n",
            "include {}\n",
            "dbfilename \"my \\x41 db.rdb\"\n",
            "masteruser 'it\\'s me'\n",
            "save \"3600 1 300 100\"\n",
            "dir data\n",
            "MAXCLIENTS 500\n",
            "databases 4\n",
            "appendonly no\n",
            "tcp-keepalive \"60\"\n",
        ),
        include.display()
    )
}

/// What each value must be: the option beats the file, the include beats earlier lines,
/// later lines beat the include, quotes are parsed, and the relative dir became absolute.
fn check_config_values(kind: ServerKind, replies: &[(String, Vec<u8>)], scratch: &Scratch) {
    let data = fs::canonicalize(scratch.path("data")).unwrap_or_else(|e| panic!("canonicalize: {e}"));
    let expected = [
        ("maxmemory", "734003200".to_string()),
        ("hz", "25".to_string()),
        ("maxmemory-policy", "volatile-lru".to_string()),
        ("timeout", "7".to_string()),
        ("dbfilename", "my A db.rdb".to_string()),
        ("masteruser", "it's me".to_string()),
        ("save", "3600 1 300 100".to_string()),
        ("dir", data.display().to_string()),
        ("maxclients", "500".to_string()),
        ("databases", "4".to_string()),
        ("client-output-buffer-limit", "normal 1048576 524288 30 slave 268435456 67108864 60 pubsub 33554432 8388608 60".to_string()),
    ];
    for (name, value) in expected {
        let got = replies.iter().find(|(n, _)| n == name).map(|(_, r)| r.clone()).unwrap_or_default();
        assert_eq!(
            common::escape_bytes(&got),
            common::escape_bytes(&config_reply(name, &value)),
            "{}: CONFIG GET {name}",
            kind.name()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Listening
// ---------------------------------------------------------------------------------------------

#[test]
fn busy_port_aborts_start_up() {
    let scratch = Scratch::new("busy");
    let port = free_port();
    let _holder = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).unwrap_or_else(|e| panic!("bind {port}: {e}"));
    let mut lines = Vec::new();
    for kind in kinds() {
        let log = scratch.path(&format!("{}.log", kind.name()));
        let args = ["--port", &port.to_string(), "--save", "", "--logfile", log.to_str().unwrap_or_default()];
        let (status, out) = run_to_exit(kind, &args, &scratch);
        assert!(!status.success(), "{}: exit status {status}", kind.name());
        let msgs = messages(&read_log(&log));
        let failed = format!("Failed listening on port {port} (TCP), aborting.");
        assert!(msgs.contains(&failed), "{}: {failed:?} not logged:\n{}{out}", kind.name(), msgs.join("\n"));
        let warning = format!("Warning: Could not create server TCP listening socket *:{port}: bind: Address already in use");
        assert!(msgs.contains(&warning), "{}: {warning:?} not logged:\n{}", kind.name(), msgs.join("\n"));
        lines.push((status.code(), msgs.iter().filter(|m| m.contains("listening")).cloned().collect::<Vec<_>>()));
    }
    if let [ferredis, redis] = lines.as_slice() {
        assert_eq!(ferredis, redis, "exit code and listening errors differ from redis-server's");
    }
}

// ---------------------------------------------------------------------------------------------
// Shutdown on signals
// ---------------------------------------------------------------------------------------------

#[test]
fn sigterm_shuts_down() {
    shutdown_on_signal(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sigint_shuts_down() {
    shutdown_on_signal(libc::SIGINT, "SIGINT");
}

fn shutdown_on_signal(sig: libc::c_int, name: &str) {
    let mut tails = Vec::new();
    for kind in kinds() {
        let mut server = Server::start(kind, &[]);
        let pid = server.child.id();
        assert_eq!(server.conn().cmd_str("PING"), b"+PONG\r\n");
        send_signal(pid, sig);
        let status = wait_exit(&mut server.child, BOUND)
            .unwrap_or_else(|| panic!("{}: still running {BOUND:?} after {name}", kind.name()));
        assert_eq!(status.code(), Some(0), "{}: exit status after {name}", kind.name());
        let log = read_log(&server.log);
        let handler_line = log.lines().find(|l| l.contains("scheduling shutdown")).unwrap_or_default();
        check_signal_handler_line(handler_line, pid, name);
        let msgs = messages(&log);
        let expected = ["User requested shutdown...", "Redis is now ready to exit, bye bye..."];
        assert_in_order(&msgs, &expected, kind.name());
        tails.push(normalized_log(&log, pid, server.port));
    }
    if let [ferredis, redis] = tails.as_slice() {
        assert_eq!(ferredis, redis, "log (role, level, message) differs from redis-server's");
    }
}

/// `<pid>:signal-handler (<unix secs>) Received SIGTERM scheduling shutdown...`
fn check_signal_handler_line(line: &str, pid: u32, name: &str) {
    let prefix = format!("{pid}:signal-handler (");
    let suffix = format!(") Received {name} scheduling shutdown...");
    assert!(line.starts_with(&prefix) && line.ends_with(&suffix), "signal handler line: {line:?}");
    let secs = &line[prefix.len()..line.len() - suffix.len()];
    assert!(secs.len() >= 10 && secs.bytes().all(|b| b.is_ascii_digit()), "unix time in {line:?}");
}

// ---------------------------------------------------------------------------------------------
// pidfile and daemonize
// ---------------------------------------------------------------------------------------------

#[test]
fn pidfile_written_and_removed_at_shutdown() {
    let scratch = Scratch::new("pidfile");
    for kind in kinds() {
        let pidfile = scratch.path(&format!("{}.pid", kind.name()));
        let mut server = Server::start(kind, &["--pidfile", pidfile.to_str().unwrap_or_default()]);
        let pid = server.child.id();
        started_log(&server); // The pidfile is written after the socket listens.
        assert_eq!(fs::read_to_string(&pidfile).unwrap_or_default(), format!("{pid}\n"), "{}", kind.name());
        send_signal(pid, libc::SIGTERM);
        assert!(wait_exit(&mut server.child, BOUND).is_some(), "{}: no exit", kind.name());
        assert!(!pidfile.exists(), "{}: pidfile left behind", kind.name());
        assert!(messages(&read_log(&server.log)).contains(&"Removing the pid file.".to_string()), "{}", kind.name());
    }
}

/// Redis 7.0 ignores a pidfile it cannot create without a word (7.2 added a warning).
#[test]
fn unwritable_pidfile_is_ignored() {
    for kind in kinds() {
        let mut server = Server::start(kind, &["--pidfile", "/nonexistent/dir/x.pid"]);
        assert_eq!(server.conn().cmd_str("PING"), b"+PONG\r\n", "{}", kind.name());
        assert_eq!(server.conn().cmd_str("SET k v"), b"+OK\r\n", "{}", kind.name());
        server.assert_alive();
        let log = started_log(&server);
        assert!(!log.contains("PID file"), "{}: 7.0.15 logs nothing about the pidfile:\n{log}", kind.name());
        assert!(log.contains("Ready to accept connections"), "{}", kind.name());
    }
}

/// A daemon found through its pidfile; SIGKILLed on drop if a test left it running.
struct Daemon {
    pid: u32,
}

impl Daemon {
    fn alive(&self) -> bool {
        // A zombie (when nothing reaps the orphan) counts as gone.
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next());
        !stat.is_empty() && state != Some(Some('Z'))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let cmdline = fs::read_to_string(format!("/proc/{}/cmdline", self.pid)).unwrap_or_default();
        if self.alive() && (cmdline.contains("ferredis") || cmdline.contains("redis-server")) {
            // SAFETY: kill(2) of the daemon this test launched (checked by its command line).
            unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGKILL) };
        }
    }
}

#[test]
fn daemonize_with_pidfile_and_logfile() {
    for kind in kinds() {
        daemonize_once(kind);
    }
}

fn daemonize_once(kind: ServerKind) {
    let scratch = Scratch::new(&format!("daemon-{}", kind.name()));
    let (pidfile, log, port) = (scratch.path("d.pid"), scratch.path("log"), free_port());
    let args = [
        "--port", &port.to_string(), "--save", "", "--daemonize", "yes",
        "--pidfile", pidfile.to_str().unwrap_or_default(), "--logfile", log.to_str().unwrap_or_default(),
    ];
    let mut launcher = Launched::spawn(kind, &args, &scratch.0, scratch.path("stdio"));
    let status = launcher.wait_exit(BOUND);
    assert!(status.success(), "{}: the launched process exits with 0, got {status}", kind.name());
    assert!(poll_until(BOUND, || pidfile.exists() && accepting(port)), "{}: daemon not serving", kind.name());
    let text = fs::read_to_string(&pidfile).unwrap_or_default();
    let daemon = Daemon { pid: text.trim().parse().unwrap_or_else(|_| panic!("pidfile holds {text:?}")) };
    assert_ne!(daemon.pid, launcher.child.id(), "{}: the daemon is a new process", kind.name());
    assert_eq!(RawConn::connect(port).cmd_str("PING"), b"+PONG\r\n");
    let started = format!("pid={}, just started", daemon.pid);
    assert!(read_log(&log).contains(&started), "{}: the daemon logs its own pid", kind.name());
    send_signal(daemon.pid, libc::SIGTERM);
    assert!(poll_until(BOUND, || !daemon.alive()), "{}: daemon still running after SIGTERM", kind.name());
    assert!(!pidfile.exists(), "{}: pidfile left behind", kind.name());
    assert!(wait_log(&log, "is now ready to exit, bye bye..."), "{}: {}", kind.name(), read_log(&log));
    assert!(read_log(&log).contains("Received SIGTERM scheduling shutdown..."), "{}", kind.name());
}

// ---------------------------------------------------------------------------------------------
// Unix socket
// ---------------------------------------------------------------------------------------------

fn unix_cmd(stream: &mut UnixStream, args: &[&[u8]]) -> Vec<u8> {
    stream.write_all(&common::encode_command(args)).unwrap_or_else(|e| panic!("unix write: {e}"));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Ok(Some(len)) = common::resp_frame_len(&buf) {
            buf.truncate(len);
            return buf;
        }
        let n = stream.read(&mut chunk).unwrap_or_else(|e| panic!("unix read: {e}"));
        assert!(n > 0, "unix socket closed after {}", common::escape_bytes(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The CLIENT LIST line of the client with `id`.
fn client_line(list: &[u8], id: &str) -> String {
    let text = String::from_utf8_lossy(list);
    let wanted = format!("id={id} ");
    text.lines().find(|l| l.starts_with(&wanted)).unwrap_or_default().to_string()
}

fn integer(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).trim_start_matches(':').trim_end().to_string()
}

#[test]
fn unix_socket_with_permissions() {
    let scratch = Scratch::new("unix");
    for kind in kinds() {
        let path = scratch.path(&format!("{}.sock", kind.name()));
        let spath = path.to_str().unwrap_or_default();
        let mut server = Server::start(kind, &["--unixsocket", spath, "--unixsocketperm", "700"]);
        // Server::start returns once the TCP port answers; the kernel accepts there as soon
        // as it listens, which both servers do a moment before binding the unix socket.
        common::wait_until(10, "the unix socket file", || path.exists());
        let mode = fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o700, "{}: socket file mode", kind.name());
        let mut stream = UnixStream::connect(&path).unwrap_or_else(|e| panic!("connect {spath}: {e}"));
        stream.set_read_timeout(Some(BOUND)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(unix_cmd(&mut stream, &[b"PING"]), b"+PONG\r\n");
        let id = integer(&unix_cmd(&mut stream, &[b"CLIENT", b"ID"]));
        let line = client_line(&unix_cmd(&mut stream, &[b"CLIENT", b"LIST"]), &id);
        let ends = format!(" addr={spath}:0 laddr={spath}:0 ");
        assert!(line.contains(&ends), "{}: {line:?} lacks {ends:?}", kind.name());
        assert!(line.contains(" flags=U "), "{}: {line:?}", kind.name());
        assert!(line.contains(" cmd=client|list "), "{}: {line:?}", kind.name());
        let ready = format!("The server is now ready to accept connections at {spath}");
        assert!(messages(&started_log(&server)).contains(&ready), "{}", kind.name());
        send_signal(server.child.id(), libc::SIGTERM);
        assert!(wait_exit(&mut server.child, BOUND).is_some(), "{}: no exit", kind.name());
        assert!(!path.exists(), "{}: socket file left behind", kind.name());
        assert!(messages(&read_log(&server.log)).contains(&"Removing the unix socket file.".to_string()));
    }
}

// ---------------------------------------------------------------------------------------------
// Logo and log level
// ---------------------------------------------------------------------------------------------

#[test]
fn always_show_logo() {
    for kind in kinds() {
        let server = Server::start(kind, &["--always-show-logo", "yes"]);
        let log = started_log(&server);
        let pid_line = format!(" PID: {}", server.child.id());
        assert!(log.lines().any(|l| l.trim_end().ends_with(&pid_line)), "{}: no {pid_line:?} line:\n{log}", kind.name());
        let port = format!("Port: {}", server.port);
        assert!(log.lines().any(|l| l.trim_end().ends_with(&port)), "{}: no {port:?} line:\n{log}", kind.name());
        assert!(!log.contains("Running mode="), "{}: the logo replaces the Running mode line", kind.name());
    }
}

#[test]
fn loglevel_warning_hides_notices() {
    for kind in kinds() {
        let server = Server::start(kind, &["--loglevel", "warning"]);
        let log = started_log(&server);
        assert!(!log.contains("Ready to accept connections"), "{}:\n{log}", kind.name());
        assert!(!log.contains("Running mode="), "{}:\n{log}", kind.name());
        let lines = parse_log(&log);
        assert!(lines.iter().all(|l| l.level == '#'), "{}: only warnings:\n{log}", kind.name());
        assert!(lines.iter().any(|l| l.msg == "Server initialized"), "{}:\n{log}", kind.name());
    }
}
