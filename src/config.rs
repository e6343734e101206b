//! TEMPORARY bootstrap stand-in for config.rs (being written); replaced wholesale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel { Debug, Verbose, Notice, Warning }
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtectedConfig { No, Yes, Local }
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub port: u16, pub bind: Vec<String>, pub tcp_backlog: i32, pub unixsocket: Option<String>, pub unixsocketperm: u32,
    pub timeout: u64, pub tcp_keepalive: u64, pub databases: i32, pub loglevel: LogLevel, pub logfile: String,
    pub daemonize: bool, pub pidfile: Option<String>, pub always_show_logo: bool, pub maxclients: u32, pub maxmemory: u64,
    pub hz: i32, pub requirepass: Option<Vec<u8>>, pub protected_mode: bool, pub enable_debug_command: ProtectedConfig,
    pub proto_max_bulk_len: i64, pub client_query_buffer_limit: u64, pub active_expire_effort: i32,
    pub lazyfree_lazy_expire: bool, pub activerehashing: bool,
}
impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { port: 6379, bind: vec!["*".into(), "-::*".into()], tcp_backlog: 511, unixsocket: None, unixsocketperm: 0,
        timeout: 0, tcp_keepalive: 300, databases: 16, loglevel: LogLevel::Notice, logfile: String::new(), daemonize: false,
        pidfile: None, always_show_logo: false, maxclients: 10000, maxmemory: 0, hz: 10, requirepass: None, protected_mode: true,
        enable_debug_command: ProtectedConfig::No, proto_max_bulk_len: 512*1024*1024, client_query_buffer_limit: 1<<30,
        active_expire_effort: 1, lazyfree_lazy_expire: false, activerehashing: true }
    }
}
pub struct ConfigError { pub msg: String }
impl ConfigError { pub fn report(&self) -> String { self.msg.clone() } }
pub fn config_from_argv(args: &[String]) -> Result<(Option<String>, String), String> {
    let mut file = None; let mut opts = String::new(); let mut i = 0;
    if let Some(first) = args.first() { if !first.starts_with("--") { file = Some(first.clone()); i = 1; } }
    while i < args.len() { let a = &args[i]; if let Some(n) = a.strip_prefix("--") { opts.push('\n'); opts.push_str(n); } else { opts.push(' '); opts.push_str(&format!("\"{}\"", a)); } i += 1; }
    Ok((file, opts))
}
pub fn load_server_config_from_string(cfg: &mut ServerConfig, text: &str) -> Result<(), ConfigError> {
    for line in text.lines() { let args = crate::util::sds_split_args(line.as_bytes()).map_err(|_| ConfigError{msg: "bad".into()})?;
      if args.len() >= 2 { let v = String::from_utf8_lossy(&args[1]).to_string(); match args[0].as_slice() {
        b"port" => cfg.port = v.parse().map_err(|_| ConfigError{msg: "bad port".into()})?,
        b"enable-debug-command" => cfg.enable_debug_command = if v == "yes" {ProtectedConfig::Yes} else if v=="local" {ProtectedConfig::Local} else {ProtectedConfig::No},
        b"loglevel" => cfg.loglevel = if v == "verbose" {LogLevel::Verbose} else if v == "debug" {LogLevel::Debug} else {LogLevel::Notice},
        b"logfile" => cfg.logfile = v,
        b"requirepass" => cfg.requirepass = if v.is_empty() { None } else { Some(v.into_bytes()) },
        _ => {} } } }
    Ok(())
}
