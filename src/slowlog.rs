//! The slow log: Redis's slowlog.c. Remembers the latest `slowlog-max-len` commands that ran
//! for at least `slowlog-log-slower-than` microseconds, newest first, for SLOWLOG GET.
//!
//! `call()` (server.rs) hands every finished command to [`slowlog_push_current_command`]
//! once it knows the duration; commands that blocked are logged when they are finally
//! served (their re-run ends unblocked), as Redis's updateStatsOnUnblock() does. Everything
//! runs on the single event-loop thread; entries own copies of the (trimmed) arguments.

use std::collections::VecDeque;

use crate::command_def::CMD_SKIP_SLOWLOG;
use crate::networking::{Argv, Client};
use crate::server::Server;
use crate::util;

/// Redis: SLOWLOG_ENTRY_MAX_ARGC: arguments kept per entry (the last one says how many more).
pub const SLOWLOG_ENTRY_MAX_ARGC: usize = 32;
/// Redis: SLOWLOG_ENTRY_MAX_STRING: bytes kept per argument.
pub const SLOWLOG_ENTRY_MAX_STRING: usize = 128;

/// Redis: struct slowlogEntry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowlogEntry {
    pub argv: Vec<Vec<u8>>,
    pub id: i64,
    /// Microseconds the command ran.
    pub duration: i64,
    /// Unix time (seconds) when it was logged.
    pub time: i64,
    /// The client's "ip:port" (Redis: getClientPeerId()).
    pub peerid: String,
    /// The client's name, empty when it has none.
    pub cname: Vec<u8>,
}

/// Redis: server.slowlog and server.slowlog_entry_id.
#[derive(Debug, Default)]
pub struct Slowlog {
    /// Newest first, like Redis's list with listAddNodeHead().
    entries: VecDeque<SlowlogEntry>,
    next_id: i64,
}

impl Slowlog {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &SlowlogEntry> {
        self.entries.iter()
    }

    /// Redis: slowlogPushEntryIfNeeded() on already decided values: logs when `duration`
    /// reaches `slower_than` (negative disables), then trims to `max_len`. The trim happens
    /// on every push, so a lowered slowlog-max-len takes effect at the next command.
    pub fn push_if_needed(&mut self, slower_than: i64, max_len: u64, duration: i64, make: impl FnOnce(i64) -> SlowlogEntry) {
        if slower_than < 0 {
            return;
        }
        if duration >= slower_than {
            let entry = make(self.next_id);
            self.next_id += 1;
            self.entries.push_front(entry);
        }
        let max_len = usize::try_from(max_len).unwrap_or(usize::MAX);
        self.entries.truncate(max_len);
    }

    /// Redis: slowlogReset(). Ids keep growing, as in Redis.
    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

/// Redis: slowlog.c slowlogCreateEntry()'s argument trimming: at most 32 arguments (the
/// 32nd then says how many were left out) and at most 128 bytes of each.
pub fn slowlog_trim_argv(argv: &Argv) -> Vec<Vec<u8>> {
    let argc = argv.len();
    let kept = argc.min(SLOWLOG_ENTRY_MAX_ARGC);
    let mut out = Vec::with_capacity(kept);
    for (j, arg) in argv.iter().take(kept).enumerate() {
        if kept != argc && j == kept - 1 {
            out.push(format!("... ({} more arguments)", argc - kept + 1).into_bytes());
        } else if arg.len() > SLOWLOG_ENTRY_MAX_STRING {
            let mut trimmed = arg[..SLOWLOG_ENTRY_MAX_STRING].to_vec();
            let more = arg.len() - SLOWLOG_ENTRY_MAX_STRING;
            trimmed.extend_from_slice(format!("... ({} more bytes)", more).as_bytes());
            out.push(trimmed);
        } else {
            out.push(arg.to_vec());
        }
    }
    out
}

/// Redis: slowlog.c slowlogCreateEntry().
fn slowlog_create_entry(c: &Client, argv: &Argv, duration: i64, id: i64) -> SlowlogEntry {
    SlowlogEntry {
        argv: slowlog_trim_argv(argv),
        id,
        duration,
        time: util::mstime() / 1000,
        peerid: c.addr.clone(),
        cname: c.name.clone().unwrap_or_default(),
    }
}

/// Redis: slowlog.c slowlogPushEntryIfNeeded().
pub fn slowlog_push_entry_if_needed(srv: &mut Server, c: &Client, argv: &Argv, duration: i64) {
    let (slower_than, max_len) = (srv.config.slowlog_log_slower_than, srv.config.slowlog_max_len);
    srv.slowlog.push_if_needed(slower_than, max_len, duration, |id| slowlog_create_entry(c, argv, duration, id));
}

/// Redis: server.c slowlogPushCurrentCommand(): skips CMD_SKIP_SLOWLOG commands (EXEC: its
/// commands are logged one by one) and logs the arguments as the client sent them, with
/// secrets already redacted (AUTH, HELLO AUTH, CONFIG SET masterauth ...).
pub fn slowlog_push_current_command(srv: &mut Server, c: &Client, cmd_flags: u64, duration_us: u64) {
    if cmd_flags & CMD_SKIP_SLOWLOG != 0 {
        return;
    }
    let duration = i64::try_from(duration_us).unwrap_or(i64::MAX);
    slowlog_push_entry_if_needed(srv, c, c.argv.original(), duration);
}

const SLOWLOG_HELP: &[&str] = &[
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];

/// Redis: slowlog.c slowlogCommand(): SLOWLOG GET [count] | LEN | RESET | HELP. The
/// command table already checked each subcommand's arity.
pub fn slowlog_command(srv: &mut Server, c: &mut Client) {
    let sub = c.argv.get(1);
    let argc = c.argv.len();
    if argc == 2 && sub.eq_ignore_ascii_case(b"help") {
        c.reply.add_reply_help("slowlog", SLOWLOG_HELP);
    } else if argc == 2 && sub.eq_ignore_ascii_case(b"reset") {
        srv.slowlog.reset();
        c.reply.add_reply_ok();
    } else if argc == 2 && sub.eq_ignore_ascii_case(b"len") {
        c.reply.add_reply_long_long(srv.slowlog.len() as i64);
    } else if (argc == 2 || argc == 3) && sub.eq_ignore_ascii_case(b"get") {
        slowlog_get(srv, c);
    } else {
        let (name, sub) = (c.argv.get(0).to_vec(), sub.to_vec());
        c.reply.add_reply_subcommand_syntax_error(&name, &sub);
    }
}

/// SLOWLOG GET [count]: the newest `count` entries (10 by default, -1 for all).
fn slowlog_get(srv: &mut Server, c: &mut Client) {
    let mut count = 10usize;
    if c.argv.len() == 3 {
        let msg = Some("count should be greater than or equal to -1");
        let Some(n) = crate::object::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(2), -1, i64::MAX, msg) else {
            return;
        };
        count = usize::try_from(n).unwrap_or(usize::MAX);
    }
    let count = count.min(srv.slowlog.len());
    c.reply.add_reply_array_len(count);
    for entry in srv.slowlog.iter().take(count) {
        add_reply_slowlog_entry(c, entry);
    }
}

/// One entry: id, time, duration, arguments, client address, client name.
fn add_reply_slowlog_entry(c: &mut Client, entry: &SlowlogEntry) {
    c.reply.add_reply_array_len(6);
    c.reply.add_reply_long_long(entry.id);
    c.reply.add_reply_long_long(entry.time);
    c.reply.add_reply_long_long(entry.duration);
    c.reply.add_reply_array_len(entry.argv.len());
    for arg in &entry.argv {
        c.reply.add_reply_bulk(arg);
    }
    c.reply.add_reply_bulk(entry.peerid.as_bytes());
    c.reply.add_reply_bulk(&entry.cname);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command, test_server};

    fn argv(args: &[&[u8]]) -> Argv {
        let mut a = Argv::default();
        for arg in args {
            a.push(arg);
        }
        a
    }

    fn client() -> Client {
        let mut c = Client::new(7, None, 0);
        c.addr = "127.0.0.1:5555".to_string();
        c
    }

    fn run(srv: &mut Server, c: &mut Client, line: &str) -> String {
        let args: Vec<&str> = line.split(' ').collect();
        run_command(srv, c, slowlog_command, &args)
    }

    #[test]
    fn trims_long_arguments_and_long_argument_lists() {
        let long = vec![b'x'; 130];
        let trimmed = slowlog_trim_argv(&argv(&[b"set", &long]));
        let mut expected = vec![b'x'; 128];
        expected.extend_from_slice(b"... (2 more bytes)");
        assert_eq!(trimmed, vec![b"set".to_vec(), expected]);
        let exactly = vec![b'y'; 128];
        assert_eq!(slowlog_trim_argv(&argv(&[&exactly]))[0], exactly);

        let many: Vec<Vec<u8>> = (0..40).map(|i| format!("a{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|a| a.as_slice()).collect();
        let trimmed = slowlog_trim_argv(&argv(&refs));
        assert_eq!(trimmed.len(), 32);
        assert_eq!(trimmed[30], b"a30".to_vec());
        assert_eq!(trimmed[31], b"... (9 more arguments)".to_vec());
        let refs32: Vec<&[u8]> = refs[..32].to_vec();
        assert_eq!(slowlog_trim_argv(&argv(&refs32))[31], b"a31".to_vec());
    }

    #[test]
    fn push_respects_threshold_and_max_len() {
        let mut log = Slowlog::default();
        let entry = |id| SlowlogEntry { argv: vec![], id, duration: 0, time: 0, peerid: String::new(), cname: vec![] };
        log.push_if_needed(-1, 10, 1_000_000, entry);
        assert!(log.is_empty(), "negative threshold disables the log");
        log.push_if_needed(100, 10, 99, entry);
        assert!(log.is_empty());
        log.push_if_needed(100, 10, 100, entry);
        log.push_if_needed(0, 10, 0, entry);
        log.push_if_needed(0, 10, 0, entry);
        let ids: Vec<i64> = log.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![2, 1, 0], "newest first, ids increment");
        // A lowered max-len trims at the next push even when that push logs nothing.
        log.push_if_needed(1000, 1, 5, entry);
        assert_eq!(log.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2]);
        log.reset();
        log.push_if_needed(0, 0, 5, entry);
        assert!(log.is_empty(), "max-len 0 keeps nothing");
        log.push_if_needed(0, 5, 5, entry);
        assert_eq!(log.iter().next().map(|e| e.id), Some(4), "ids survive RESET");
    }

    #[test]
    fn current_command_uses_redacted_original_and_skips_exec() {
        let mut srv = test_server();
        srv.config.slowlog_log_slower_than = 0;
        let mut c = client();
        c.name = Some(b"worker".to_vec());
        c.argv = argv(&[b"auth", b"secret"]);
        c.argv.redact(1);
        slowlog_push_current_command(&mut srv, &c, 0, 12);
        slowlog_push_current_command(&mut srv, &c, CMD_SKIP_SLOWLOG, 12);
        assert_eq!(srv.slowlog.len(), 1);
        let e = srv.slowlog.iter().next().expect("one entry");
        assert_eq!(e.argv, vec![b"auth".to_vec(), b"(redacted)".to_vec()]);
        assert_eq!((e.duration, e.peerid.as_str(), e.cname.as_slice()), (12, "127.0.0.1:5555", &b"worker"[..]));
        assert!(e.time > 1_600_000_000);
    }

    #[test]
    fn slowlog_command_replies() {
        let mut srv = test_server();
        let mut c = client();
        assert_eq!(run(&mut srv, &mut c, "slowlog len"), ":0\r\n");
        assert_eq!(run(&mut srv, &mut c, "slowlog get"), "*0\r\n");
        srv.config.slowlog_log_slower_than = 0;
        for key in ["a", "b", "c"] {
            c.argv = argv(&[b"get", key.as_bytes()]);
            slowlog_push_current_command(&mut srv, &c, 0, 3);
        }
        assert_eq!(run(&mut srv, &mut c, "slowlog len"), ":3\r\n");
        let one = run(&mut srv, &mut c, "slowlog get 1");
        let time = srv.slowlog.iter().next().map(|e| e.time).unwrap_or_default();
        let expected = format!("*1\r\n*6\r\n:2\r\n:{time}\r\n:3\r\n*2\r\n$3\r\nget\r\n$1\r\nc\r\n$14\r\n127.0.0.1:5555\r\n$0\r\n\r\n");
        assert_eq!(one, expected);
        assert!(run(&mut srv, &mut c, "slowlog get -1").starts_with("*3\r\n"));
        assert!(run(&mut srv, &mut c, "slowlog get 0").starts_with("*0\r\n"));
        assert!(run(&mut srv, &mut c, "slowlog GET").starts_with("*3\r\n"));
        let err = "-ERR count should be greater than or equal to -1\r\n";
        assert_eq!(run(&mut srv, &mut c, "slowlog get -2"), err);
        assert_eq!(run(&mut srv, &mut c, "slowlog get abc"), err);
        assert_eq!(
            run(&mut srv, &mut c, "SlowLog GeT 1 2"),
            "-ERR unknown subcommand or wrong number of arguments for 'GeT'. Try SLOWLOG HELP.\r\n"
        );
        assert_eq!(run(&mut srv, &mut c, "slowlog reset"), "+OK\r\n");
        assert_eq!(run(&mut srv, &mut c, "slowlog len"), ":0\r\n");
        let help = run(&mut srv, &mut c, "slowlog help");
        assert!(help.starts_with("*12\r\n+SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET [<count>]\r\n"));
    }
}
