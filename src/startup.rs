//! Start-up: the sequence of Redis's server.c main(), in order: the hash seed → the
//! default config → load_server_config (file, stdin, then `--options`; chdir to `dir`) →
//! daemonize → init_server_config → init_server → pidfile → the logo or "Running mode" line →
//! check_tcp_backlog_settings → "Server initialized" → linux_memory_warnings →
//! load_data_from_disk → "Ready to accept connections" → the event loop.

use std::io::IsTerminal;

use crate::config::{self, ServerConfig};
use crate::server::{self, Server, REDIS_VERSION};
use crate::server_log::{self, LogLevel};

/// Redis: server.c main(). Returns the exit code.
pub fn main() -> i32 {
    server_log::init();
    let args: Vec<String> = std::env::args().collect();
    if let Some(code) = handle_informational_args(&args) {
        return code;
    }
    // Redis: main()'s dictSetHashFunctionSeed() with random bytes, once per process.
    let mut seed = [0u8; 16];
    crate::util::get_random_bytes(&mut seed);
    crate::siphash::set_hash_seed(seed);
    let mut cfg = ServerConfig::default();
    let Some(configfile) = load_server_config(&mut cfg, &args) else { return 1 };
    apply_logging_config(&cfg);
    // Redis forks before its first log line, so the pid logged is the daemon's.
    if cfg.daemonize && !daemonize() {
        return 1;
    }
    log::warn!("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    log::warn!(
        "Redis version={}, bits={}, commit=00000000, modified=0, pid={}, just started",
        REDIS_VERSION,
        usize::BITS,
        std::process::id()
    );
    if args.len() > 1 {
        log::warn!("Configuration loaded");
    } else {
        log::warn!("Warning: no config file specified, using the default config. In order to specify a config file use {} /path/to/redis.conf", args.first().map(String::as_str).unwrap_or("ferredis-server"));
    }
    let mut srv = match server::init_server_config(cfg, &args) {
        Ok(srv) => srv,
        Err(err) => {
            log::warn!("Failed creating the event loop. Error message: '{}'", err);
            return 1;
        }
    };
    srv.configfile = configfile;
    server_log::set_role_char(b'M');
    run_server(&mut srv)
}

fn run_server(srv: &mut Server) -> i32 {
    log::info!("monotonic clock: POSIX clock_gettime");
    if let Err(msg) = server::init_server(srv) {
        log::warn!("{}", msg);
        return 1;
    }
    if srv.config.daemonize || srv.config.pidfile.is_some() {
        create_pid_file(srv);
    }
    redis_ascii_art(srv);
    check_tcp_backlog_settings(srv);
    log::warn!("Server initialized");
    linux_memory_warnings();
    if refuse_module_loading(srv) {
        return 1;
    }
    crate::replication::replica::replication_setup_from_config(srv);
    load_data_from_disk(srv);
    crate::replication::replica::replication_restore_from_rdb(srv);
    if !srv.tcp_listeners.is_empty() {
        log::info!("Ready to accept connections");
    }
    if let Some(path) = srv.config.unixsocket.as_deref().filter(|_| srv.unix_listener.is_some()) {
        log::info!("The server is now ready to accept connections at {}", path);
    }
    crate::evict::warn_suspicious_maxmemory(srv);
    server::run(srv);
    0
}

fn handle_informational_args(args: &[String]) -> Option<i32> {
    match args.get(1).map(String::as_str) {
        Some("-v") | Some("--version") => {
            println!("Redis server v={} sha=00000000:0 malloc=libc bits={} build=0", REDIS_VERSION, usize::BITS);
            Some(0)
        }
        Some("-h") | Some("--help") => {
            println!("Usage: ./ferredis-server [/path/to/redis.conf] [options] [-]");
            println!("       ./ferredis-server - (read config from stdin)");
            println!("       ./ferredis-server -v or --version");
            println!("       ./ferredis-server -h or --help");
            Some(0)
        }
        _ => None,
    }
}

/// Redis: main()'s argument handling + config.c loadServerConfig(): the file, then stdin
/// ("-"), then the command-line options. Prints Redis's FATAL CONFIG FILE ERROR report and
/// returns None on a bad directive; otherwise the absolute config file path, if any.
fn load_server_config(cfg: &mut ServerConfig, args: &[String]) -> Option<Option<String>> {
    let parsed = match config::parse_argv(args.get(1..).unwrap_or(&[])) {
        Ok(parsed) => parsed,
        Err(msg) => {
            eprintln!("{}", msg);
            return None;
        }
    };
    let stdin_text = match parsed.config_from_stdin {
        true => Some(read_stdin()),
        false => None,
    };
    let options = (!parsed.options.is_empty()).then_some(parsed.options.as_str());
    let file = parsed.config_file.as_deref();
    if let Err(err) = config::load_server_config(cfg, file, stdin_text.as_deref(), options) {
        eprint!("{}", err.report());
        return None;
    }
    if let Err(err) = check_deferred_directives(cfg) {
        eprint!("{}", err.report());
        return None;
    }
    if let Err(err) = std::env::set_current_dir(&cfg.dir) {
        eprintln!("Can't chdir to '{}': {}", cfg.dir, err);
        return None;
    }
    Some(parsed.config_file)
}

/// The directives config.c hands to their owners: rename-command must name a command
/// (checked on a scratch table, as Redis checks it while reading the file), and `user`
/// lines are refused: ferredis has no ACL, and ignoring a line that restricts or protects
/// a user would leave the server more open than its operator configured it.
fn check_deferred_directives(cfg: &ServerConfig) -> Result<(), config::ConfigError> {
    server::populate_command_table(cfg)?;
    if let Some(user) = cfg.deferred.users.first() {
        let name = user.argv.get(1).map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let msg = format!("Error in user declaration '{name}': ferredis has no ACL users (only the default user)");
        return Err(config::ConfigError::at(user.line_no, &user.line, &msg));
    }
    Ok(())
}

/// Redis: module.c moduleLoadFromQueue(): a module that cannot load aborts the start.
/// ferredis loads no modules, so any loadmodule line does.
fn refuse_module_loading(srv: &Server) -> bool {
    let Some(line) = srv.config.deferred.loadmodules.first() else { return false };
    let path = line.argv.get(1).map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
    log::warn!("Module {} failed to load: ferredis does not load modules", path);
    log::warn!("Can't load module from {}: server aborting", path);
    true
}

fn read_stdin() -> Vec<u8> {
    let mut text = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut text);
    text
}

/// Makes `logfile` and `loglevel` take effect (at start-up and on CONFIG SET).
pub fn apply_logging_config(cfg: &ServerConfig) {
    server_log::set_logfile(&cfg.logfile);
    server_log::set_verbosity(match cfg.loglevel {
        config::LogLevel::Debug => LogLevel::Debug,
        config::LogLevel::Verbose => LogLevel::Verbose,
        config::LogLevel::Notice => LogLevel::Notice,
        config::LogLevel::Warning => LogLevel::Warning,
    });
}

/// Redis: server.c daemonize(): fork, setsid, stdio to /dev/null. False on failure.
fn daemonize() -> bool {
    // SAFETY: fork() in a process that has not started any thread; the parent exits
    // immediately without touching shared state.
    match unsafe { libc::fork() } {
        -1 => return false,
        0 => {}
        // SAFETY: _exit ends the parent without running destructors twice.
        _ => unsafe { libc::_exit(0) },
    }
    // SAFETY: setsid() has no memory-safety preconditions.
    unsafe { libc::setsid() };
    if let Ok(devnull) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        use std::os::unix::io::AsRawFd;
        for fd in 0..3 {
            // SAFETY: dup2 of a valid open fd onto the standard descriptors.
            unsafe { libc::dup2(devnull.as_raw_fd(), fd) };
        }
    }
    true
}

/// Redis: server.c createPidFile(). Redis 7.0 ignores a pidfile it cannot write, silently.
/// The default path is remembered so that shutdown removes it.
fn create_pid_file(srv: &mut Server) {
    let path = srv.config.pidfile.get_or_insert_with(|| String::from("/var/run/redis.pid"));
    let _ = std::fs::write(path, format!("{}\n", std::process::id()));
}

/// Redis: server.c redisAsciiArt(): the logo on a terminal or with always-show-logo, else
/// the one-line "Running mode" summary.
fn redis_ascii_art(srv: &Server) {
    let port = srv.config.port;
    let pid = std::process::id();
    let show = srv.config.always_show_logo || std::io::stdout().is_terminal();
    if !show || !srv.config.logfile.is_empty() && !srv.config.always_show_logo {
        log::info!("Running mode=standalone, port={}.", port);
        return;
    }
    let logo = format!(
        concat!(
            "\n",
            "     ______                         ___\n",
            "    / ____/__  ______________  ____/ (_)____   ferredis {} ({} bit)\n",
            "   / /_  / _ \\/ ___/ ___/ _ \\/ __  / / ___/   Redis {} compatible\n",
            "  / __/ /  __/ /  / /  /  __/ /_/ / (__  )    Running in standalone mode\n",
            " /_/    \\___/_/  /_/   \\___/\\__,_/_/____/     Port: {}\n",
            "                                               PID: {}\n",
            "\n"
        ),
        env!("CARGO_PKG_VERSION"),
        usize::BITS,
        REDIS_VERSION,
        port,
        pid
    );
    server_log::write_log(logo.as_bytes());
}

/// Redis: server.c checkTcpBacklogSettings().
fn check_tcp_backlog_settings(srv: &Server) {
    let Ok(text) = std::fs::read_to_string("/proc/sys/net/core/somaxconn") else { return };
    let Ok(somaxconn) = text.trim().parse::<i64>() else { return };
    if somaxconn < srv.config.tcp_backlog as i64 {
        log::warn!("WARNING: The TCP backlog setting of {} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {}.", srv.config.tcp_backlog, somaxconn);
    }
}

/// Redis: server.c linuxMemoryWarnings(): overcommit and Transparent Huge Pages.
fn linux_memory_warnings() {
    let overcommit = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").ok();
    if overcommit.as_deref().map(str::trim) == Some("0") {
        log::warn!("WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition. Being disabled, it can can also cause failures without low memory condition, see https://github.com/jemalloc/jemalloc/issues/1328. To fix this issue add 'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run the command 'sysctl vm.overcommit_memory=1' for this to take effect.");
    }
    if thp_always_enabled() && !disable_thp_for_process() {
        log::warn!("WARNING You have Transparent Huge Pages (THP) support enabled in your kernel. This will create latency and memory usage issues with Redis. To fix this issue run the command 'echo madvise > /sys/kernel/mm/transparent_hugepage/enabled' as root, and add it to your /etc/rc.local in order to retain the setting after a reboot. Redis must be restarted after THP is disabled (set to 'madvise' or 'never').");
    }
}

fn thp_always_enabled() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").map_or(false, |s| s.contains("[always]"))
}

/// Redis 7.0 opts the process out of THP with prctl before warning.
fn disable_thp_for_process() -> bool {
    // SAFETY: prctl(PR_SET_THP_DISABLE) takes integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 }
}

/// Redis: server.c loadDataFromDisk() without AOF: `dbfilename` in `dir` (the cwd by now).
/// No file: an empty server. A file that fails to load ends the process (exit 1), with the
/// reason logged by the loader and the file left as it is. The replication ID and offset
/// the file carries are kept in `srv.loaded_rsi` when complete, for replication to resume.
fn load_data_from_disk(srv: &mut Server) {
    if srv.config.appendonly {
        return; // Redis would load the AOF instead; there is none to load here.
    }
    let start = crate::util::ustime();
    let mut rsi = crate::rdb::RdbSaveInfo::default();
    let filename = srv.config.dbfilename.clone();
    match crate::rdb::load::rdb_load(srv, &filename, &mut rsi, crate::rdb::RDBFLAGS_NONE) {
        Ok(()) => {
            let secs = (crate::util::ustime() - start) as f32 / 1_000_000.0;
            log::info!("DB loaded from disk: {:.3} seconds", secs);
            let complete = rsi.repl_id_is_set && rsi.repl_offset != -1 && rsi.repl_stream_db != -1;
            srv.loaded_rsi = complete.then_some(rsi);
        }
        Err(crate::rdb::load::RdbLoadError::NotExist) => {}
        Err(crate::rdb::load::RdbLoadError::Failed(err)) => {
            // A corrupt or truncated file: Redis runs redis-check-rdb on it and exits.
            if crate::rdb::load::is_reported_corruption(&err) {
                crate::rdb::load::rdb_check_then_exit(&filename);
            }
            match err {
                crate::rdb::RdbError::Io { err, .. } => {
                    log::warn!("Fatal error loading the DB: {}. Exiting.", strerror(&err));
                }
                _ => log::warn!("Terminating server after rdb file reading failure."),
            }
            std::process::exit(1);
        }
    }
}

/// C strerror() of an I/O error: Rust's text without its " (os error N)" suffix.
fn strerror(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}
