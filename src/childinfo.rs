//! Fork children: creating one (redisFork), the pipe it reports through (childinfo.c) and
//! reaping it (checkChildrenDone).
//!
//! Redis: server.c redisFork(), resetChildState(), checkChildrenDone(); childinfo.c;
//! zmalloc.c zmalloc_get_private_dirty(). The server is single-threaded, so fork() copies
//! one consistent snapshot of memory. The child never returns into the event loop: it does
//! its work and `_exit`s without running destructors. The parent learns the outcome from
//! server_cron, which reaps the child with waitpid(WNOHANG) and drains the pipe.

use std::io;
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::server::Server;
use crate::util;

/// Redis: SERVER_CHILD_NOERROR_RETVAL: a child killed on purpose (SIGUSR1) exits with it.
pub const SERVER_CHILD_NOERROR_RETVAL: i32 = 255;
/// Redis: CHILD_COW_DUTY_CYCLE: at most 1/100 of the child's time goes to reading smaps.
const CHILD_COW_DUTY_CYCLE: u64 = 100;
/// Size of one report on the pipe (Redis: sizeof(child_info_data)).
const CHILD_INFO_LEN: usize = 32;

/// Redis: server.in_fork_child: set in the child right after fork().
static IN_FORK_CHILD: AtomicBool = AtomicBool::new(false);

/// Redis: CHILD_TYPE_* (LDB children are not tracked here; AOF and module children come
/// with their features).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildType {
    Rdb,
}

impl ChildType {
    /// Redis: server.c strChildType().
    pub fn name(self) -> &'static str {
        match self {
            ChildType::Rdb => "RDB",
        }
    }
}

/// Redis: childInfoType: what a report on the pipe is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildInfoType {
    /// Progress while working: keys processed and the current copy-on-write size.
    CurrentInfo = 0,
    /// The final copy-on-write figure of an RDB child.
    RdbCowSize = 2,
}

impl ChildInfoType {
    fn from_code(code: u64) -> Option<ChildInfoType> {
        match code {
            0 => Some(ChildInfoType::CurrentInfo),
            2 => Some(ChildInfoType::RdbCowSize),
            _ => None,
        }
    }
}

/// One report (Redis: child_info_data), sent as CHILD_INFO_LEN native-endian bytes: the
/// reader is the same program on the same machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChildInfoData {
    information_type: ChildInfoType,
    keys: u64,
    cow: u64,
    cow_updated: u64,
}

impl ChildInfoData {
    fn encode(&self) -> [u8; CHILD_INFO_LEN] {
        let mut out = [0u8; CHILD_INFO_LEN];
        let words = [self.information_type as u64, self.keys, self.cow, self.cow_updated];
        for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        out
    }

    fn decode(buf: &[u8; CHILD_INFO_LEN]) -> Option<ChildInfoData> {
        let mut words = buf.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])));
        let information_type = ChildInfoType::from_code(words.next()?)?;
        Some(ChildInfoData { information_type, keys: words.next()?, cow: words.next()?, cow_updated: words.next()? })
    }
}

/// Redis: server.child_info_pipe, child_info_nread and the stat_current_* fields the
/// child's reports update.
#[derive(Debug, Default)]
pub struct ChildInfo {
    /// (read end, write end); the read end is non-blocking.
    pipe: Option<(RawFd, RawFd)>,
    /// A report read in parts (Redis: readChildInfo()'s static buffer).
    buf: [u8; CHILD_INFO_LEN],
    nread: usize,
    pub stat_current_cow_peak: usize,
    pub stat_current_cow_bytes: usize,
    /// Monotonic µs of the child's last copy-on-write reading (0: none yet).
    pub stat_current_cow_updated: u64,
    pub stat_current_save_keys_processed: u64,
    pub stat_current_save_keys_total: u64,
}

impl ChildInfo {
    /// Redis: the stat_current_* resets of redisFork() and resetChildState().
    fn reset_current(&mut self) {
        self.stat_current_cow_peak = 0;
        self.stat_current_cow_bytes = 0;
        self.stat_current_cow_updated = 0;
        self.stat_current_save_keys_processed = 0;
        self.stat_current_save_keys_total = 0;
    }

    /// INFO current_fork_perc: keys processed out of the keys there were at fork time.
    pub fn fork_perc(&self) -> f64 {
        if self.stat_current_save_keys_total == 0 {
            return 0.0;
        }
        self.stat_current_save_keys_processed as f64 / self.stat_current_save_keys_total as f64 * 100.0
    }

    /// INFO current_cow_size_age: seconds since the child's last copy-on-write reading.
    pub fn cow_size_age_secs(&self) -> u64 {
        if self.stat_current_cow_updated == 0 {
            return 0;
        }
        util::monotonic_us().saturating_sub(self.stat_current_cow_updated) / 1_000_000
    }
}

// ----------------------------------------------------------------------------------------
// The pipe (childinfo.c)
// ----------------------------------------------------------------------------------------

/// Redis: openChildInfoPipe(). Without a pipe the child still works; it just can't report.
fn open_child_info_pipe(ci: &mut ChildInfo) {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: pipe() writes two fds into the two-element array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } == -1 {
        return;
    }
    // SAFETY: fcntl on the fd pipe() just returned; only the O_NONBLOCK flag is added.
    let nonblock_ok = unsafe {
        let flags = libc::fcntl(fds[0], libc::F_GETFL);
        flags != -1 && libc::fcntl(fds[0], libc::F_SETFL, flags | libc::O_NONBLOCK) != -1
    };
    ci.pipe = Some((fds[0], fds[1]));
    ci.nread = 0;
    if !nonblock_ok {
        close_child_info_pipe(ci);
    }
}

/// Redis: closeChildInfoPipe().
fn close_child_info_pipe(ci: &mut ChildInfo) {
    if let Some((rd, wr)) = ci.pipe.take() {
        // SAFETY: both fds were opened by open_child_info_pipe and are closed only here.
        unsafe {
            libc::close(rd);
            libc::close(wr);
        }
    }
    ci.nread = 0;
}

/// Child-side state of sendChildInfoGeneric()'s statics.
static COW_UPDATED: AtomicU64 = AtomicU64::new(0);
static COW_UPDATE_COST: AtomicU64 = AtomicU64::new(0);
static COW: AtomicU64 = AtomicU64::new(0);
static PEAK_COW: AtomicU64 = AtomicU64::new(0);
static UPDATE_COUNT: AtomicU64 = AtomicU64::new(0);
static SUM_COW: AtomicU64 = AtomicU64::new(0);

/// Redis: childinfo.c sendChildInfoGeneric(): measures copy-on-write (throttled for
/// progress reports, as reading smaps is expensive) and sends one report to the parent.
/// Only a fork child sends; anywhere else this does nothing.
pub fn send_child_info_generic(srv: &Server, info_type: ChildInfoType, keys: u64, pname: &str) {
    let Some((_, wr)) = srv.child_info.pipe.filter(|_| IN_FORK_CHILD.load(Ordering::Relaxed)) else { return };
    let now = util::monotonic_us();
    let last = COW_UPDATED.load(Ordering::Relaxed);
    let cost = COW_UPDATE_COST.load(Ordering::Relaxed);
    if info_type != ChildInfoType::CurrentInfo || last == 0 || now.saturating_sub(last) > cost.saturating_mul(CHILD_COW_DUTY_CYCLE) {
        update_cow_reading(info_type, now, pname);
    }
    let data = ChildInfoData {
        information_type: info_type,
        keys,
        cow: COW.load(Ordering::Relaxed),
        cow_updated: COW_UPDATED.load(Ordering::Relaxed),
    };
    let bytes = data.encode();
    // SAFETY: write(2) of an initialised stack buffer to the pipe's write end. A short or
    // failed write is ignored as in Redis: the parent then sees no complete report.
    unsafe { libc::write(wr, bytes.as_ptr() as *const libc::c_void, bytes.len()) };
}

/// Reads Private_Dirty and logs "Fork CoW for ..." (NOTICE for the final report).
fn update_cow_reading(info_type: ChildInfoType, started: u64, pname: &str) {
    let cow = zmalloc_get_private_dirty() as u64;
    let updated = util::monotonic_us();
    COW.store(cow, Ordering::Relaxed);
    COW_UPDATED.store(updated, Ordering::Relaxed);
    COW_UPDATE_COST.store(updated.saturating_sub(started), Ordering::Relaxed);
    let peak = PEAK_COW.load(Ordering::Relaxed).max(cow);
    PEAK_COW.store(peak, Ordering::Relaxed);
    let sum = SUM_COW.load(Ordering::Relaxed).saturating_add(cow);
    SUM_COW.store(sum, Ordering::Relaxed);
    let count = UPDATE_COUNT.load(Ordering::Relaxed) + 1;
    UPDATE_COUNT.store(count, Ordering::Relaxed);
    let final_report = info_type != ChildInfoType::CurrentInfo;
    if cow != 0 || final_report {
        let line = format!(
            "Fork CoW for {}: current {} MB, peak {} MB, average {} MB",
            pname,
            cow >> 20,
            peak >> 20,
            (sum / count) >> 20
        );
        if final_report {
            log::info!("{}", line);
        } else {
            log::debug!("{}", line);
        }
    }
}

/// Redis: sendChildCowInfo(): the final copy-on-write report of a child.
pub fn send_child_cow_info(srv: &Server, info_type: ChildInfoType, pname: &str) {
    send_child_info_generic(srv, info_type, 0, pname);
}

static INFO_UPDATED_MS: AtomicU64 = AtomicU64::new(0);

/// Redis: rdbSaveDb()'s progress report: every 1024 keys, at most once a second, the fork
/// child tells the parent how many keys it has written (INFO current_save_keys_processed).
/// `key_counter` is the count *before* the current key, as Redis's `(*key_counter)++`.
/// Does nothing outside a fork child, so the writer may call it unconditionally.
pub fn report_save_progress(srv: &Server, key_counter: u64, pname: &str) {
    if key_counter & 1023 != 0 || !IN_FORK_CHILD.load(Ordering::Relaxed) {
        return;
    }
    let now = util::mstime().max(0) as u64;
    if now.saturating_sub(INFO_UPDATED_MS.load(Ordering::Relaxed)) >= 1000 {
        send_child_info_generic(srv, ChildInfoType::CurrentInfo, key_counter + 1, pname);
        INFO_UPDATED_MS.store(now, Ordering::Relaxed);
    }
}

/// Redis: readChildInfo(): the bytes of one complete report, or None when the pipe holds
/// no more (a partial report stays buffered for the next call).
fn read_child_info(ci: &mut ChildInfo) -> Option<[u8; CHILD_INFO_LEN]> {
    let (rd, _) = ci.pipe?;
    if ci.nread == CHILD_INFO_LEN {
        ci.nread = 0;
    }
    let rest = ci.buf.get_mut(ci.nread..)?;
    // SAFETY: read(2) into the unfilled tail of our buffer, at most its length.
    let n = unsafe { libc::read(rd, rest.as_mut_ptr() as *mut libc::c_void, rest.len()) };
    if n > 0 {
        ci.nread += n as usize;
    }
    (ci.nread == CHILD_INFO_LEN).then_some(ci.buf)
}

/// Redis: updateChildInfo().
fn update_child_info(srv: &mut Server, data: ChildInfoData) {
    let ci = &mut srv.child_info;
    let cow = usize::try_from(data.cow).unwrap_or(usize::MAX);
    ci.stat_current_cow_peak = ci.stat_current_cow_peak.max(cow);
    match data.information_type {
        ChildInfoType::CurrentInfo => {
            ci.stat_current_cow_bytes = cow;
            ci.stat_current_cow_updated = data.cow_updated;
            ci.stat_current_save_keys_processed = data.keys;
        }
        ChildInfoType::RdbCowSize => srv.stat_rdb_cow_bytes = ci.stat_current_cow_peak,
    }
}

/// Redis: receiveChildInfo(): drains every complete report from the pipe.
pub fn receive_child_info(srv: &mut Server) {
    while let Some(bytes) = read_child_info(&mut srv.child_info) {
        // A report of an unknown type is dropped; the draining goes on.
        if let Some(data) = ChildInfoData::decode(&bytes) {
            update_child_info(srv, data);
        }
    }
}

/// Redis: zmalloc.c zmalloc_get_private_dirty(-1): the sum of the Private_Dirty lines of
/// /proc/self/smaps, in bytes: the pages this process no longer shares (copy-on-write).
pub fn zmalloc_get_private_dirty() -> usize {
    std::fs::read_to_string("/proc/self/smaps").map_or(0, |text| smaps_field_bytes(&text, "Private_Dirty:"))
}

/// Redis: zmalloc_get_smap_bytes_by_field(): sums `<field> <n> kB` lines.
fn smaps_field_bytes(text: &str, field: &str) -> usize {
    text.lines()
        .filter_map(|line| line.strip_prefix(field))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<usize>().ok())
        .fold(0usize, |sum, kb| sum.saturating_add(kb.saturating_mul(1024)))
}

// ----------------------------------------------------------------------------------------
// Forking and reaping (server.c)
// ----------------------------------------------------------------------------------------

/// Which side of fork() the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    Child,
    Parent(i32),
}

/// Redis: server.c redisFork(): forks a child of type `purpose`. The parent records the
/// child and the fork's latency; the child gets its signal handler and closes what only
/// the parent may use. Refused while another child runs.
pub fn redis_fork(srv: &mut Server, purpose: ChildType) -> io::Result<Forked> {
    if srv.has_active_child() {
        return Err(io::Error::from_raw_os_error(libc::EEXIST));
    }
    open_child_info_pipe(&mut srv.child_info);
    let start = util::ustime();
    // SAFETY: the server has no other threads, so the child gets one consistent copy of
    // memory; the child only writes its file and _exits (see exit_from_child).
    let childpid = unsafe { libc::fork() };
    if childpid == 0 {
        setup_child(srv);
        return Ok(Forked::Child);
    }
    if childpid == -1 {
        let err = io::Error::last_os_error();
        close_child_info_pipe(&mut srv.child_info);
        return Err(err);
    }
    srv.stat_total_forks += 1;
    srv.stat_fork_time = util::ustime() - start;
    crate::latency::latency_add_sample_if_needed(srv, "fork", srv.stat_fork_time / 1000);
    srv.child_pid = Some(childpid);
    srv.child_type = Some(purpose);
    srv.child_info.reset_current();
    srv.child_info.stat_current_save_keys_total = srv.db.iter().map(|db| db.dict.len() as u64).sum();
    update_dict_resize_policy(srv);
    Ok(Forked::Parent(childpid))
}

/// What a fork child is busy with, for its process title (Redis: the redisSetProcTitle()
/// calls of rdbSaveBackground() and rdbSaveToSlavesSockets()).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildTitle {
    /// Writing dump.rdb (BGSAVE, save points, a disk-based full sync).
    RdbBgsave,
    /// Streaming an RDB to replicas (diskless full sync).
    RdbToSlaves,
}

impl ChildTitle {
    /// The `{title}` of proc-title-template. Redis writes "redis-rdb-bgsave" /
    /// "redis-rdb-to-slaves" there, and that is what operators' tools look for: Redis
    /// never renames the process (`comm` stays "redis-server"), it rewrites its argv, so
    /// `ps aux | grep redis-rdb-bgsave` and `pgrep -f redis-rdb-bgsave` match the command
    /// line. Prefixing "fer" keeps the title honest about which server this is while those
    /// unanchored patterns still match it.
    fn title(self) -> &'static str {
        match self {
            ChildTitle::RdbBgsave => "ferredis-rdb-bgsave",
            ChildTitle::RdbToSlaves => "ferredis-rdb-to-slaves",
        }
    }

    /// The kernel's process name (`comm`, 15 bytes: "ferredis-rdb-bgsave" would lose its
    /// end), what top and `ps -o comm` show: short names that still say what runs.
    fn comm(self) -> &'static [u8; 16] {
        match self {
            ChildTitle::RdbBgsave => b"ferredis-bgsave\0",
            ChildTitle::RdbToSlaves => b"ferredis-rdbrep\0",
        }
    }
}

/// Redis: server.c redisSetProcTitle() in a fork child, when set-proc-title is on. The
/// process name (`comm`) always changes, through prctl(PR_SET_NAME). The command line that
/// ps shows changes too when the kernel lets it: Redis overwrites the argv strings in place
/// (setproctitle), which Rust cannot do without writing through raw pointers, so the child
/// points the kernel's view of its arguments at a new buffer with prctl(PR_SET_MM), which
/// needs CAP_SYS_RESOURCE; without it only `comm` changes.
pub fn redis_set_proc_title(srv: &Server, title: ChildTitle) {
    if !srv.config.set_proc_title {
        return;
    }
    let comm = title.comm();
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes from a pointer
    // that stays valid during the call.
    unsafe { libc::prctl(libc::PR_SET_NAME, comm.as_ptr() as libc::c_ulong, 0, 0, 0) };
    let text = expand_proc_title_template(srv, title.title());
    set_cmdline(text.into_bytes());
}

/// Redis: server.c expandProcTitleTemplate() + redisProcTitleGetVariable(): the template's
/// {title}, {listen-addr}, {server-mode}, {config-file}, {port}, {tls-port}, {unixsocket}
/// replaced (unknown names were refused by CONFIG SET), spaces trimmed at both ends.
fn expand_proc_title_template(srv: &Server, title: &str) -> String {
    let c = &srv.config;
    let listen_addr = if c.port != 0 || c.tls_port != 0 {
        let addr = c.bind.first().map_or("*", String::as_str);
        format!("{addr}:{}", if c.port != 0 { c.port } else { c.tls_port })
    } else {
        format!("unixsocket:{}", c.unixsocket.as_deref().unwrap_or(""))
    };
    let mut out = String::new();
    let mut rest = c.proc_title_template.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else { break };
        let value = match &rest[open + 1..open + close] {
            "title" => title.to_string(),
            "listen-addr" => listen_addr.clone(),
            "config-file" => srv.configfile.clone().unwrap_or_else(|| "-".into()),
            "port" => c.port.to_string(),
            "tls-port" => c.tls_port.to_string(),
            "unixsocket" => c.unixsocket.clone().unwrap_or_default(),
            _ => String::new(), // server-mode: no cluster or sentinel mode here
        };
        out.push_str(&value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.trim_matches(' ').to_string()
}

/// Makes `/proc/self/cmdline` read `text` (best effort, see redis_set_proc_title()). The
/// buffer is leaked on purpose: the kernel reads the title from it for as long as the child
/// lives, and the child never frees memory before it `_exit`s.
fn set_cmdline(mut text: Vec<u8>) {
    text.push(0);
    let buf: &'static [u8] = text.leak();
    let start = buf.as_ptr() as libc::c_ulong;
    let end = start + buf.len() as libc::c_ulong;
    let set = |what: libc::c_int, addr: libc::c_ulong| {
        // SAFETY: PR_SET_MM only records the address (the kernel validates it); `buf` is
        // mapped and never freed, so later reads of the command line find it.
        unsafe { libc::prctl(libc::PR_SET_MM, what as libc::c_ulong, addr, 0, 0) == 0 }
    };
    // The kernel wants start <= end at each step: the heap lies below the original
    // arguments (on the stack), so the start moves first; the other order otherwise.
    let _ = (set(libc::PR_SET_MM_ARG_START, start) && set(libc::PR_SET_MM_ARG_END, end))
        || (set(libc::PR_SET_MM_ARG_END, end) && set(libc::PR_SET_MM_ARG_START, start));
}

/// Redis: server.c updateDictResizePolicy(): while a child runs, hash tables grow only when
/// badly overfull, so the parent copies as few pages as possible.
fn update_dict_resize_policy(srv: &Server) {
    crate::dict::set_resize_enabled(!srv.has_active_child());
}

/// The child's half of redisFork(): Redis's in_fork_child, setupChildSignalHandlers() and
/// closeChildUnusedResourceAfterFork().
fn setup_child(srv: &mut Server) {
    IN_FORK_CHILD.store(true, Ordering::Relaxed);
    crate::server_log::set_role_char(b'C');
    setup_child_signal_handlers();
    // The listening sockets stay the parent's: a restarted server must be able to bind
    // while this child still writes.
    for listener in &srv.tcp_listeners {
        // SAFETY: closing our copy of the parent's listening fd; the Rust object is never
        // used or dropped in the child, which _exits.
        unsafe { libc::close(listener.as_raw_fd()) };
    }
    if let Some(listener) = &srv.unix_listener {
        // SAFETY: as above.
        unsafe { libc::close(listener.as_raw_fd()) };
    }
    // The pid file is the parent's: the child must never remove it.
    srv.config.pidfile = None;
    // Close the reading end, so the child gets a write error if the parent dies.
    if let Some((rd, _)) = srv.child_info.pipe {
        // SAFETY: the child's copy of the read end; the child never reads it.
        unsafe { libc::close(rd) };
    }
}

/// Redis: setupChildSignalHandlers(): SIGUSR1 ends the child without it counting as an error.
fn setup_child_signal_handlers() {
    let handler = sig_kill_child_handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: sigaction with a zeroed struct, our handler and an empty mask; the handler
    // only calls write(2) and _exit, both async-signal-safe.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = handler;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(libc::SIGUSR1, &act, std::ptr::null_mut());
    }
}

/// Redis: sigKillChildHandler().
extern "C" fn sig_kill_child_handler(_sig: libc::c_int) {
    crate::server_log::server_log_from_handler(b"Received SIGUSR1 in child, exiting now.");
    exit_from_child(SERVER_CHILD_NOERROR_RETVAL);
}

/// Redis: exitFromChild(): _exit, so that no destructor, atexit hook or buffered stdio of
/// the parent's state runs in the child.
pub fn exit_from_child(retcode: i32) -> ! {
    // SAFETY: _exit(2) terminates the process immediately; async-signal-safe.
    unsafe { libc::_exit(retcode) }
}

/// Redis: resetChildState().
pub fn reset_child_state(srv: &mut Server) {
    srv.child_type = None;
    srv.child_pid = None;
    srv.child_info.reset_current();
    close_child_info_pipe(&mut srv.child_info);
    update_dict_resize_policy(srv);
}

/// How a reaped child ended: (exit code or -1, terminating signal or 0), with Redis's
/// convention that exiting with SERVER_CHILD_NOERROR_RETVAL means "killed by SIGUSR1".
fn decode_wait_status(statloc: libc::c_int) -> (i32, i32) {
    let mut exitcode = if libc::WIFEXITED(statloc) { libc::WEXITSTATUS(statloc) } else { -1 };
    let mut bysignal = if libc::WIFSIGNALED(statloc) { libc::WTERMSIG(statloc) } else { 0 };
    if exitcode == SERVER_CHILD_NOERROR_RETVAL {
        bysignal = libc::SIGUSR1;
        exitcode = 1;
    }
    (exitcode, bysignal)
}

/// Redis: server.c checkChildrenDone(): reaps a finished child and runs its done handler.
pub fn check_children_done(srv: &mut Server) {
    let mut statloc: libc::c_int = 0;
    // SAFETY: waitpid with WNOHANG and a valid status pointer; never blocks.
    let pid = unsafe { libc::waitpid(-1, &mut statloc, libc::WNOHANG) };
    if pid == 0 {
        return;
    }
    let (exitcode, bysignal) = decode_wait_status(statloc);
    if pid == -1 {
        let err = io::Error::last_os_error();
        let ctype = srv.child_type.map_or("Unknown", ChildType::name);
        log::warn!("waitpid() returned an error: {}. child_type: {}, child_pid = {}", util_strerror(&err), ctype, srv.child_pid.unwrap_or(-1));
    } else if Some(pid) == srv.child_pid {
        match srv.child_type {
            Some(ChildType::Rdb) => crate::rdb::background::background_save_done_handler(srv, exitcode, bysignal),
            None => log::warn!("Unknown child type for child pid {}", pid),
        }
        if bysignal == 0 && exitcode == 0 {
            receive_child_info(srv);
        }
        reset_child_state(srv);
    } else {
        log::warn!("Warning, detected child with unmatched pid: {}", pid);
    }
}

/// strerror() text without Rust's " (os error N)" suffix.
pub fn util_strerror(err: &io::Error) -> String {
    let text = err.to_string();
    text.rfind(" (os error ").map_or(text.clone(), |cut| text[..cut].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The titles Redis 7.0.15's children show in ps ("redis-rdb-bgsave *:47238" with the
    /// default template and bind), with our title in place of Redis's.
    #[test]
    fn proc_title_template_expands_like_redis() {
        let mut srv = crate::test_support::test_server();
        srv.config.port = 47238;
        srv.config.bind = vec!["*".into(), "-::*".into()];
        assert_eq!(expand_proc_title_template(&srv, ChildTitle::RdbBgsave.title()), "ferredis-rdb-bgsave *:47238");
        srv.config.bind = vec!["127.0.0.1".into()];
        srv.config.proc_title_template = " {title} {port} {tls-port} {unixsocket} {config-file} {server-mode}".into();
        assert_eq!(expand_proc_title_template(&srv, ChildTitle::RdbToSlaves.title()), "ferredis-rdb-to-slaves 47238 0  -");
        srv.config.port = 0;
        srv.config.unixsocket = Some("/tmp/s.sock".into());
        srv.config.proc_title_template = "{title} {listen-addr}".into();
        assert_eq!(expand_proc_title_template(&srv, "t"), "t unixsocket:/tmp/s.sock");
        for title in [ChildTitle::RdbBgsave, ChildTitle::RdbToSlaves] {
            let comm = title.comm();
            assert_eq!(comm.iter().position(|&b| b == 0), Some(15), "comm fills the kernel's 15 bytes");
            // Redis's own title is what `pgrep -f redis-rdb-...` finds: ours contains it.
            assert!(title.title().strip_prefix("fer").is_some_and(|t| t.starts_with("redis-rdb-")));
        }
    }

    #[test]
    fn reports_round_trip_through_their_byte_form() {
        let data = ChildInfoData { information_type: ChildInfoType::RdbCowSize, keys: 7, cow: 1 << 21, cow_updated: 99 };
        assert_eq!(ChildInfoData::decode(&data.encode()), Some(data));
        let mut bad = data.encode();
        bad[..8].copy_from_slice(&5u64.to_ne_bytes());
        assert_eq!(ChildInfoData::decode(&bad), None);
    }

    #[test]
    fn private_dirty_sums_the_field_in_bytes() {
        let smaps = "00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/x\nSize:  328 kB\n\
                     Private_Dirty:        12 kB\nShared_Dirty: 100 kB\nPrivate_Dirty: 4 kB\nPrivate_Dirty: junk\n";
        assert_eq!(smaps_field_bytes(smaps, "Private_Dirty:"), 16 * 1024);
        assert_eq!(smaps_field_bytes("", "Private_Dirty:"), 0);
        // Our own process has written memory, so it has private dirty pages.
        assert!(zmalloc_get_private_dirty() > 0);
    }

    #[test]
    fn wait_status_follows_redis_conventions() {
        // Exit status is in bits 8..16, a terminating signal in the low 7 bits.
        assert_eq!(decode_wait_status(0), (0, 0));
        assert_eq!(decode_wait_status(1 << 8), (1, 0));
        assert_eq!(decode_wait_status(255 << 8), (1, libc::SIGUSR1));
        assert_eq!(decode_wait_status(libc::SIGKILL), (-1, libc::SIGKILL));
    }

    #[test]
    fn partial_reports_are_buffered_until_complete() {
        let mut ci = ChildInfo::default();
        open_child_info_pipe(&mut ci);
        let (_, wr) = ci.pipe.expect("pipe");
        let bytes = ChildInfoData { information_type: ChildInfoType::CurrentInfo, keys: 3, cow: 4096, cow_updated: 5 }.encode();
        let write = |b: &[u8]| {
            // SAFETY: test write of a valid buffer to our own pipe.
            unsafe { libc::write(wr, b.as_ptr() as *const libc::c_void, b.len()) };
        };
        write(&bytes[..10]);
        assert_eq!(read_child_info(&mut ci), None);
        write(&bytes[10..]);
        let data = read_child_info(&mut ci).and_then(|b| ChildInfoData::decode(&b));
        assert_eq!(data.map(|d| (d.keys, d.cow)), Some((3, 4096)));
        // Empty, non-blocking pipe: nothing, and no hang.
        assert_eq!(read_child_info(&mut ci), None);
        close_child_info_pipe(&mut ci);
        assert!(ci.pipe.is_none());
    }

    #[test]
    fn fork_percentage_and_age() {
        let mut ci = ChildInfo { stat_current_save_keys_total: 50, stat_current_save_keys_processed: 1, ..Default::default() };
        assert_eq!(format!("{:.2}", ci.fork_perc()), "2.00");
        assert_eq!(ci.cow_size_age_secs(), 0);
        ci.stat_current_cow_updated = util::monotonic_us().saturating_sub(2_500_000);
        assert_eq!(ci.cow_size_age_secs(), 2);
        ci.stat_current_save_keys_total = 0;
        assert_eq!(ci.fork_perc(), 0.0);
    }
}
