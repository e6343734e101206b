//! The latency monitor: Redis's latency.c. Code paths that may stall the event loop report
//! how long they took with [`latency_add_sample_if_needed`]; samples of at least
//! `latency-monitor-threshold` ms (0 disables the monitor) go into a per-event ring of 160
//! one-per-second samples. LATENCY reads them back: LATEST, HISTORY, GRAPH, DOCTOR, RESET,
//! and HISTOGRAM (the per-command latency histograms that call() keeps for INFO latencystats).
//!
//! Events reported so far: "command" and "fast-command" (server.rs call()), "expire-cycle"
//! (expire.rs). Eviction ("eviction-cycle", "eviction-del") and "fork" report through the
//! same function. Single-threaded like the rest of the server: the monitor lives in `Server`.

use std::fmt::Write as _;

use crate::networking::Client;
use crate::server::Server;
use crate::sparkline::{self, Sequence, SPARKLINE_FILL};
use crate::util;

/// Redis: LATENCY_TS_LEN, samples kept per event.
pub const LATENCY_TS_LEN: usize = 160;
/// Redis: LATENCY_GRAPH_COLS.
const LATENCY_GRAPH_COLS: usize = 80;

/// Redis: struct latencySample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatencySample {
    /// Unix time in seconds; 0 marks an unused slot.
    pub time: i64,
    /// Milliseconds.
    pub latency: u32,
}

/// Redis: struct latencyTimeSeries: a ring of samples, at most one per second.
#[derive(Debug, Clone)]
pub struct LatencyTimeSeries {
    idx: usize,
    max: u32,
    samples: [LatencySample; LATENCY_TS_LEN],
}

impl Default for LatencyTimeSeries {
    fn default() -> Self {
        LatencyTimeSeries { idx: 0, max: 0, samples: [LatencySample::default(); LATENCY_TS_LEN] }
    }
}

impl LatencyTimeSeries {
    /// The all-time high of the event (Redis: ts->max).
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The used samples, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = LatencySample> + '_ {
        (0..LATENCY_TS_LEN)
            .filter_map(move |j| self.samples.get((self.idx + j) % LATENCY_TS_LEN).copied())
            .filter(|s| s.time != 0)
    }

    /// The sample written last (Redis: samples[idx - 1]).
    pub fn latest(&self) -> LatencySample {
        let last = (self.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
        self.samples.get(last).copied().unwrap_or_default()
    }
}

/// Redis: server.latency_events. Events keep their first-seen order (Redis's dict order is
/// a hash order, which no client can rely on).
#[derive(Debug, Default)]
pub struct LatencyMonitor {
    events: Vec<(String, LatencyTimeSeries)>,
}

impl LatencyMonitor {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The series of `event`, exactly as named (Redis looks events up case-sensitively).
    pub fn get(&self, event: &[u8]) -> Option<&LatencyTimeSeries> {
        self.events.iter().find(|(name, _)| name.as_bytes() == event).map(|(_, ts)| ts)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &LatencyTimeSeries)> {
        self.events.iter().map(|(name, ts)| (name.as_str(), ts))
    }

    /// Redis: latency.c latencyAddSample(): a second sample within the same second only
    /// raises that second's value.
    pub fn add_sample(&mut self, event: &str, latency_ms: u32, now: i64) {
        let ts = match self.events.iter().position(|(name, _)| name == event) {
            Some(i) => &mut self.events[i].1,
            None => {
                self.events.push((event.to_string(), LatencyTimeSeries::default()));
                let last = self.events.len() - 1;
                &mut self.events[last].1
            }
        };
        ts.max = ts.max.max(latency_ms);
        let prev = (ts.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
        if ts.samples[prev].time == now {
            ts.samples[prev].latency = ts.samples[prev].latency.max(latency_ms);
            return;
        }
        ts.samples[ts.idx] = LatencySample { time: now, latency: latency_ms };
        ts.idx = (ts.idx + 1) % LATENCY_TS_LEN;
    }

    /// Redis: latency.c latencyResetEvent(): forgets `event` (case-insensitively) or, with
    /// None, every event. Returns how many were forgotten.
    pub fn reset_event(&mut self, event: Option<&[u8]>) -> usize {
        let before = self.events.len();
        self.events.retain(|(name, _)| event.is_some_and(|e| !name.as_bytes().eq_ignore_ascii_case(e)));
        before - self.events.len()
    }
}

/// Redis: latency.h latencyAddSampleIfNeeded(): records `latency_ms` for `event` when the
/// monitor is on and the latency reaches the threshold. The hook for every latency source:
/// e.g. `latency::latency_add_sample_if_needed(srv, "eviction-cycle", ms)` or "fork".
pub fn latency_add_sample_if_needed(srv: &mut Server, event: &str, latency_ms: i64) {
    let threshold = srv.config.latency_monitor_threshold;
    if threshold == 0 || latency_ms < threshold {
        return;
    }
    let latency = u32::try_from(latency_ms).unwrap_or(u32::MAX);
    srv.latency_events.add_sample(event, latency, util::mstime() / 1000);
}

/// Redis: struct latencyStats, filled by analyzeLatencyForEvent().
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct LatencyStats {
    pub all_time_high: u32,
    pub avg: u64,
    pub min: u32,
    pub max: u32,
    /// Mean absolute deviation from the average.
    pub mad: u64,
    pub samples: u64,
    /// Seconds from the oldest sample to now (at least 1 when there are samples).
    pub period: i64,
}

/// Redis: latency.c analyzeLatencyForEvent().
pub fn analyze_latency_for_event(ts: &LatencyTimeSeries, now: i64) -> LatencyStats {
    let mut ls = LatencyStats { all_time_high: ts.max, ..Default::default() };
    let (mut sum, mut oldest) = (0u64, 0i64);
    for s in ts.samples() {
        ls.min = if ls.samples == 0 { s.latency } else { ls.min.min(s.latency) };
        ls.max = ls.max.max(s.latency);
        ls.samples += 1;
        sum += u64::from(s.latency);
        if oldest == 0 || s.time < oldest {
            oldest = s.time;
        }
    }
    if ls.samples == 0 {
        return ls;
    }
    ls.avg = sum / ls.samples;
    ls.period = (now - oldest).max(0);
    if ls.period == 0 {
        ls.period = 1;
    }
    let deviation: u64 = ts.samples().map(|s| (ls.avg as i64 - i64::from(s.latency)).unsigned_abs()).sum();
    ls.mad = deviation / ls.samples;
    ls
}

/// The advice DOCTOR collects while it walks the events (Redis: the advise_* flags).
#[derive(Debug, Default)]
struct Advice {
    slowlog_enabled: bool,
    slowlog_tuning: bool,
    slowlog_inspect: bool,
    disk_contention: bool,
    scheduler: bool,
    data_writeback: bool,
    no_appendfsync: bool,
    local_disk: bool,
    ssd: bool,
    write_load_info: bool,
    hz: bool,
    large_objects: bool,
    mass_eviction: bool,
    relax_fsync_policy: bool,
    disable_thp: bool,
    count: usize,
}

const DOCTOR_DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
const DOCTOR_INTRO: &str = "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n";
const DOCTOR_NOTHING: &str = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
const DOCTOR_NO_FIX: &str = "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n";

/// Redis: latency.c createLatencyReport(): LATENCY DOCTOR's text.
///
/// Simplified: the "fork" event's "Fork rate is X GB/sec (quality)." sentence and the
/// better-VM advice that goes with it are left out, as this server keeps no fork rate
/// (Redis: stat_fork_rate). Everything else is Redis's text and logic.
pub fn create_latency_report(srv: &Server, now: i64) -> String {
    if srv.latency_events.is_empty() && srv.config.latency_monitor_threshold == 0 {
        return DOCTOR_DISABLED.to_string();
    }
    let mut report = String::new();
    let mut advice = Advice::default();
    for (n, (event, ts)) in srv.latency_events.iter().enumerate() {
        if n == 0 {
            report.push_str(DOCTOR_INTRO);
        }
        let ls = analyze_latency_for_event(ts, now);
        let _ = write!(
            report,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            n + 1,
            event,
            ls.samples,
            ls.avg,
            ls.mad,
            ls.period as f64 / ls.samples.max(1) as f64,
            ts.max
        );
        collect_event_advice(srv, event, &mut advice);
        report.push('\n');
    }
    if thp_get_anon_huge_pages_size() > 0 {
        advice.disable_thp = true;
        advice.count += 1;
    }
    if srv.latency_events.is_empty() && advice.count == 0 {
        report.push_str(DOCTOR_NOTHING);
    } else if !srv.latency_events.is_empty() && advice.count == 0 {
        report.push_str(DOCTOR_NO_FIX);
    } else {
        report.push_str("\nI have a few advices for you:\n\n");
        write_advice(srv, &advice, &mut report);
    }
    report
}

/// The per-event part of createLatencyReport(): which advice an event calls for.
fn collect_event_advice(srv: &Server, event: &str, a: &mut Advice) {
    let is = |name: &str| event.eq_ignore_ascii_case(name);
    if is("command") {
        if srv.config.slowlog_log_slower_than < 0 {
            a.slowlog_enabled = true;
            a.count += 1;
        } else if srv.config.slowlog_log_slower_than / 1000 > srv.config.latency_monitor_threshold {
            a.slowlog_tuning = true;
            a.count += 1;
        }
        a.slowlog_inspect = true;
        a.large_objects = true;
        a.count += 2;
    }
    if is("fast-command") {
        a.scheduler = true;
        a.count += 1;
    }
    if is("aof-write-pending-fsync") {
        (a.local_disk, a.disk_contention, a.ssd, a.data_writeback) = (true, true, true, true);
        a.count += 4;
    }
    if is("aof-write-active-child") {
        (a.no_appendfsync, a.data_writeback, a.ssd) = (true, true, true);
        a.count += 3;
    }
    if is("aof-write-alone") {
        (a.local_disk, a.data_writeback, a.ssd) = (true, true, true);
        a.count += 3;
    }
    if is("aof-fsync-always") {
        a.relax_fsync_policy = true;
        a.count += 1;
    }
    if is("aof-fstat") || is("rdb-unlink-temp-file") {
        (a.disk_contention, a.local_disk) = (true, true);
        a.count += 2;
    }
    if is("aof-rewrite-diff-write") || is("aof-rename") {
        (a.write_load_info, a.data_writeback, a.ssd, a.local_disk) = (true, true, true, true);
        a.count += 4;
    }
    if is("expire-cycle") {
        (a.hz, a.large_objects) = (true, true);
        a.count += 2;
    }
    if is("eviction-del") {
        a.large_objects = true;
        a.count += 1;
    }
    if is("eviction-cycle") {
        a.mass_eviction = true;
        a.count += 1;
    }
}

/// The advice paragraphs of createLatencyReport(), in Redis's order.
fn write_advice(srv: &Server, a: &Advice, report: &mut String) {
    let threshold_us = srv.config.latency_monitor_threshold.saturating_mul(1000);
    if a.slowlog_enabled {
        let _ = writeln!(report, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.", threshold_us);
    }
    if a.slowlog_tuning {
        let _ = writeln!(report, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {}'.", threshold_us);
    }
    let always = matches!(srv.config.appendfsync, crate::config::AppendFsync::Always);
    let paragraphs: [(bool, &str); 12] = [
        (a.slowlog_inspect, ADVICE_SLOWLOG_INSPECT),
        (a.scheduler, ADVICE_SCHEDULER),
        (a.local_disk, ADVICE_LOCAL_DISK),
        (a.ssd, ADVICE_SSD),
        (a.data_writeback, ADVICE_DATA_WRITEBACK),
        (a.disk_contention, ADVICE_DISK_CONTENTION),
        (a.no_appendfsync, ADVICE_NO_APPENDFSYNC),
        (a.relax_fsync_policy && always, ADVICE_RELAX_FSYNC),
        (a.write_load_info, ADVICE_WRITE_LOAD),
        (a.hz && srv.hz < 100, ADVICE_HZ),
        (a.large_objects, ADVICE_LARGE_OBJECTS),
        (a.mass_eviction, ADVICE_MASS_EVICTION),
    ];
    for (wanted, text) in paragraphs {
        if wanted {
            report.push_str(text);
        }
    }
    if a.disable_thp {
        report.push_str(ADVICE_THP);
    }
}

const ADVICE_SLOWLOG_INSPECT: &str = "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n";
const ADVICE_SCHEDULER: &str = "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n";
const ADVICE_LOCAL_DISK: &str = "- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n";
const ADVICE_SSD: &str = "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage and smaller final AOF rewrite buffer flushes). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n";
const ADVICE_DATA_WRITEBACK: &str = "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n";
const ADVICE_DISK_CONTENTION: &str = "- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n";
const ADVICE_NO_APPENDFSYNC: &str = "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n";
const ADVICE_RELAX_FSYNC: &str = "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n";
const ADVICE_WRITE_LOAD: &str = "- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n";
const ADVICE_HZ: &str = "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n";
const ADVICE_LARGE_OBJECTS: &str = "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n";
const ADVICE_MASS_EVICTION: &str = "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n";
const ADVICE_THP: &str = "- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n";

/// Redis: latency.c THPGetAnonHugePagesSize(): bytes of transparent huge pages this process
/// uses (the AnonHugePages lines of /proc/self/smaps), 0 when unknown.
pub fn thp_get_anon_huge_pages_size() -> u64 {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return 0 };
    smaps
        .lines()
        .filter_map(|line| line.strip_prefix("AnonHugePages:"))
        .filter_map(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .fold(0u64, |acc, kb| acc.saturating_add(kb.saturating_mul(1024)))
}

/// Redis: latency.c latencyCommandGenSparkeline(): the header, a rule, then the samples
/// as a filled sparkline labelled with how long ago each happened.
pub fn latency_command_gen_sparkline(event: &str, ts: &LatencyTimeSeries, now: i64) -> Vec<u8> {
    let mut seq = Sequence::default();
    let (mut min, mut max) = (0u32, 0u32);
    for s in ts.samples() {
        if seq.is_empty() {
            (min, max) = (s.latency, s.latency);
        } else {
            (min, max) = (min.min(s.latency), max.max(s.latency));
        }
        seq.add_sample(f64::from(s.latency), &elapsed_label(now - s.time));
    }
    let mut graph = format!("{} - high {} ms, low {} ms (all time high {} ms)\n", event, max, min, ts.max).into_bytes();
    graph.extend_from_slice(&[b'-'; LATENCY_GRAPH_COLS]);
    graph.push(b'\n');
    sparkline::sparkline_render(&mut graph, &seq, LATENCY_GRAPH_COLS, 4, SPARKLINE_FILL);
    graph
}

/// "12s", "5m", "3h" or "2d" ago.
fn elapsed_label(elapsed: i64) -> String {
    match elapsed {
        e if e < 60 => format!("{}s", e),
        e if e < 3600 => format!("{}m", e / 60),
        e if e < 3600 * 24 => format!("{}h", e / 3600),
        e => format!("{}d", e / (3600 * 24)),
    }
}

const LATENCY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
];

/// Redis: latency.c latencyCommand(). The command table checked each subcommand's arity.
pub fn latency_command(srv: &mut Server, c: &mut Client) {
    let sub = c.argv.get(1).to_ascii_lowercase();
    let argc = c.argv.len();
    match (sub.as_slice(), argc) {
        (b"history", 3) => latency_history(srv, c),
        (b"graph", 3) => latency_graph(srv, c),
        (b"latest", 2) => latency_latest(srv, c),
        (b"doctor", 2) => {
            let report = create_latency_report(srv, util::mstime() / 1000);
            c.reply.add_reply_verbatim(report.as_bytes(), "txt");
        }
        (b"reset", _) => latency_reset(srv, c),
        (b"histogram", _) => latency_histogram(srv, c),
        (b"help", 2) => c.reply.add_reply_help("latency", LATENCY_HELP),
        _ => {
            let (name, sub) = (c.argv.get(0).to_vec(), c.argv.get(1).to_vec());
            c.reply.add_reply_subcommand_syntax_error(&name, &sub);
        }
    }
}

/// LATENCY HISTORY <event>: [time, latency] pairs, oldest first.
fn latency_history(srv: &mut Server, c: &mut Client) {
    let Some(ts) = srv.latency_events.get(c.argv.get(2)) else {
        return c.reply.add_reply_array_len(0);
    };
    let samples: Vec<LatencySample> = ts.samples().collect();
    c.reply.add_reply_array_len(samples.len());
    for s in samples {
        c.reply.add_reply_array_len(2);
        c.reply.add_reply_long_long(s.time);
        c.reply.add_reply_long_long(i64::from(s.latency));
    }
}

/// LATENCY GRAPH <event>.
fn latency_graph(srv: &mut Server, c: &mut Client) {
    let event = c.argv.get(2);
    let Some((name, ts)) = srv.latency_events.iter().find(|(name, _)| name.as_bytes() == event) else {
        let mut msg = b"No samples available for event '".to_vec();
        msg.extend_from_slice(event);
        msg.push(b'\'');
        return c.reply.add_reply_error_bytes(&msg);
    };
    let graph = latency_command_gen_sparkline(name, ts, util::mstime() / 1000);
    c.reply.add_reply_verbatim(&graph, "txt");
}

/// LATENCY LATEST: for each event its name, the time and latency of its latest sample and
/// its all-time high.
fn latency_latest(srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_array_len(srv.latency_events.len());
    for (event, ts) in srv.latency_events.iter() {
        let last = ts.latest();
        c.reply.add_reply_array_len(4);
        c.reply.add_reply_bulk(event.as_bytes());
        c.reply.add_reply_long_long(last.time);
        c.reply.add_reply_long_long(i64::from(last.latency));
        c.reply.add_reply_long_long(i64::from(ts.max));
    }
}

/// LATENCY RESET [event ...]: how many events were forgotten.
fn latency_reset(srv: &mut Server, c: &mut Client) {
    let resets = if c.argv.len() == 2 {
        srv.latency_events.reset_event(None)
    } else {
        c.argv.iter().skip(2).map(|event| srv.latency_events.reset_event(Some(event))).sum()
    };
    c.reply.add_reply_long_long(resets as i64);
}

/// Redis: latency.c latencyAllCommandsFillCDF() / latencySpecificCommandsFillCDF(): LATENCY
/// HISTOGRAM [command ...], a map from command name to its latency distribution. A named
/// container also lists its subcommands; unknown names and commands never run are skipped.
fn latency_histogram(srv: &mut Server, c: &mut Client) {
    let ids: Vec<usize> = if c.argv.len() == 2 {
        (0..srv.commands.cmds.len()).collect()
    } else {
        c.argv.iter().skip(2).filter_map(|name| crate::command::lookup_command_by_sds(&srv.commands, name)).flat_map(|id| command_and_subcommands(srv, id)).collect()
    };
    let with_data: Vec<usize> =
        ids.into_iter().filter(|&id| srv.commands.cmds.get(id).is_some_and(|cmd| cmd.stats.latency_histogram.is_some())).collect();
    c.reply.add_reply_map_len(with_data.len());
    for id in with_data {
        let Some(cmd) = srv.commands.cmds.get(id) else { continue };
        let Some(histogram) = cmd.stats.latency_histogram.as_deref() else { continue };
        c.reply.add_reply_bulk(cmd.fullname.as_bytes());
        fill_command_cdf(c, histogram);
    }
}

/// A command then, for a container, its subcommands.
fn command_and_subcommands(srv: &Server, id: usize) -> Vec<usize> {
    let mut ids = vec![id];
    if let Some(cmd) = srv.commands.cmds.get(id) {
        let mut subs: Vec<usize> = cmd.subcommands.values().copied().collect();
        subs.sort_unstable();
        ids.extend(subs);
    }
    ids
}

/// Redis: latency.c fillCommandCDF(): calls, then each power-of-two microsecond level at
/// which the cumulative count grew, with that count.
fn fill_command_cdf(c: &mut Client, histogram: &crate::hdr_histogram::HdrHistogram) {
    c.reply.add_reply_map_len(2);
    c.reply.add_reply_bulk(b"calls");
    c.reply.add_reply_long_long(i64::try_from(histogram.total_count()).unwrap_or(i64::MAX));
    c.reply.add_reply_bulk(b"histogram_usec");
    let mut previous = 0u64;
    let mut points = Vec::new();
    for (highest_ns, cumulative) in histogram.log_steps(1024, 2) {
        if cumulative > previous {
            points.push((highest_ns / 1000, cumulative));
        }
        previous = cumulative;
    }
    c.reply.add_reply_map_len(points.len());
    for (micros, cumulative) in points {
        c.reply.add_reply_long_long(i64::try_from(micros).unwrap_or(i64::MAX));
        c.reply.add_reply_long_long(i64::try_from(cumulative).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command, test_server};

    fn run(srv: &mut Server, c: &mut Client, line: &str) -> String {
        let args: Vec<&str> = line.split(' ').collect();
        run_command(srv, c, latency_command, &args)
    }

    #[test]
    fn samples_keep_one_per_second_and_the_max() {
        let mut lm = LatencyMonitor::default();
        lm.add_sample("command", 5, 1000);
        lm.add_sample("command", 3, 1000);
        lm.add_sample("command", 9, 1000);
        lm.add_sample("command", 2, 1001);
        let ts = lm.get(b"command").expect("created");
        let samples: Vec<(i64, u32)> = ts.samples().map(|s| (s.time, s.latency)).collect();
        assert_eq!(samples, vec![(1000, 9), (1001, 2)]);
        assert_eq!((ts.max(), ts.latest().latency), (9, 2));
        assert!(lm.get(b"COMMAND").is_none(), "lookups are case-sensitive");
    }

    #[test]
    fn ring_keeps_the_last_160_samples() {
        let mut lm = LatencyMonitor::default();
        for t in 1..=200 {
            lm.add_sample("e", t as u32, t);
        }
        let ts = lm.get(b"e").expect("created");
        let times: Vec<i64> = ts.samples().map(|s| s.time).collect();
        assert_eq!(times.len(), LATENCY_TS_LEN);
        assert_eq!((times[0], times[159]), (41, 200));
        assert_eq!(ts.max(), 200);
    }

    #[test]
    fn reset_is_case_insensitive_and_counts() {
        let mut lm = LatencyMonitor::default();
        lm.add_sample("command", 1, 1);
        lm.add_sample("fast-command", 1, 1);
        lm.add_sample("expire-cycle", 1, 1);
        assert_eq!(lm.reset_event(Some(b"COMMAND")), 1);
        assert_eq!(lm.reset_event(Some(b"nosuch")), 0);
        assert_eq!(lm.reset_event(None), 2);
        assert!(lm.is_empty());
    }

    #[test]
    fn threshold_gates_samples() {
        let mut srv = test_server();
        latency_add_sample_if_needed(&mut srv, "command", 500);
        assert!(srv.latency_events.is_empty(), "0 disables the monitor");
        srv.config.latency_monitor_threshold = 10;
        latency_add_sample_if_needed(&mut srv, "command", 9);
        assert!(srv.latency_events.is_empty());
        latency_add_sample_if_needed(&mut srv, "command", 10);
        assert_eq!(srv.latency_events.get(b"command").map(|ts| ts.max()), Some(10));
    }

    #[test]
    fn analyze_computes_avg_mad_and_period() {
        let mut lm = LatencyMonitor::default();
        for (t, ms) in [(100, 10), (101, 20), (102, 30)] {
            lm.add_sample("e", ms, t);
        }
        let ls = analyze_latency_for_event(lm.get(b"e").expect("created"), 110);
        assert_eq!((ls.samples, ls.avg, ls.min, ls.max, ls.mad, ls.period), (3, 20, 10, 30, 6, 10));
        let ls = analyze_latency_for_event(lm.get(b"e").expect("created"), 100);
        assert_eq!(ls.period, 1, "a zero period counts as one second");
    }

    #[test]
    fn doctor_texts() {
        let mut srv = test_server();
        assert_eq!(create_latency_report(&srv, 0), DOCTOR_DISABLED);
        srv.config.latency_monitor_threshold = 100;
        let nothing = create_latency_report(&srv, 0);
        assert!(nothing == DOCTOR_NOTHING || nothing.contains("anonymous huge pages"));
        srv.latency_events.add_sample("command", 150, 50);
        srv.latency_events.add_sample("command", 250, 51);
        let report = create_latency_report(&srv, 60);
        let first = "1. command: 2 latency spikes (average 200ms, mean deviation 50ms, period 5.00 sec). Worst all time event 250ms.\n";
        assert!(report.starts_with(&format!("{DOCTOR_INTRO}{first}\nI have a few advices for you:\n\n")), "{report}");
        // slowlog-log-slower-than 10000 us = 10 ms is below the 100 ms threshold: no tuning advice.
        assert!(!report.contains("Your current Slow Log configuration"));
        assert!(report.contains(ADVICE_SLOWLOG_INSPECT) && report.contains(ADVICE_LARGE_OBJECTS));
        srv.config.slowlog_log_slower_than = -1;
        assert!(create_latency_report(&srv, 60).contains("'CONFIG SET slowlog-log-slower-than 100000'"));
        srv.latency_events.reset_event(None);
        srv.latency_events.add_sample("some-unknown-event", 150, 50);
        let report = create_latency_report(&srv, 60);
        assert!(report.ends_with(DOCTOR_NO_FIX) || report.contains("anonymous huge pages"));
    }

    #[test]
    fn graph_has_redis_shape() {
        let mut lm = LatencyMonitor::default();
        lm.add_sample("command", 100, 1000);
        lm.add_sample("command", 300, 1030);
        let ts = lm.get(b"command").expect("created");
        let graph = String::from_utf8(latency_command_gen_sparkline("command", ts, 1090)).expect("ascii");
        let rule = "-".repeat(80);
        let expected = format!("command - high 300 ms, low 100 ms (all time high 300 ms)\n{rule}\n #\n |\n |\n_|\n  \n11\nmm\n");
        assert_eq!(graph, expected);
        assert_eq!(elapsed_label(59), "59s");
        assert_eq!(elapsed_label(3599), "59m");
        assert_eq!(elapsed_label(7200), "2h");
        assert_eq!(elapsed_label(90000), "1d");
    }

    #[test]
    fn latency_command_replies() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        assert_eq!(run(&mut srv, &mut c, "latency latest"), "*0\r\n");
        assert_eq!(run(&mut srv, &mut c, "latency history command"), "*0\r\n");
        assert_eq!(run(&mut srv, &mut c, "latency graph command"), "-ERR No samples available for event 'command'\r\n");
        srv.latency_events.add_sample("command", 12, 1000);
        srv.latency_events.add_sample("command", 15, 1001);
        assert_eq!(run(&mut srv, &mut c, "latency latest"), "*1\r\n*4\r\n$7\r\ncommand\r\n:1001\r\n:15\r\n:15\r\n");
        assert_eq!(run(&mut srv, &mut c, "latency history command"), "*2\r\n*2\r\n:1000\r\n:12\r\n*2\r\n:1001\r\n:15\r\n");
        assert_eq!(run(&mut srv, &mut c, "latency reset command command"), ":1\r\n");
        assert_eq!(run(&mut srv, &mut c, "latency reset"), ":0\r\n");
        assert_eq!(
            run(&mut srv, &mut c, "LATENCY Latest x"),
            "-ERR unknown subcommand or wrong number of arguments for 'Latest'. Try LATENCY HELP.\r\n"
        );
        assert!(run(&mut srv, &mut c, "latency help").starts_with("*17\r\n+LATENCY <subcommand>"));
    }

    #[test]
    fn histogram_reports_tracked_commands() {
        let mut srv = test_server();
        srv.commands = crate::command_table::CommandTable::populate(crate::commands::COMMAND_TABLE, crate::command_procs::command_proc);
        let mut c = Client::new(1, None, 0);
        assert_eq!(run(&mut srv, &mut c, "latency histogram"), "*0\r\n");
        let get = crate::command::lookup_command_by_sds(&srv.commands, b"get").expect("get is bound");
        for ns in [1500, 1500, 5000] {
            crate::hdr_histogram::record_latency_ns(&mut srv.commands.cmds[get].stats.latency_histogram, ns);
        }
        let expected = "*2\r\n$3\r\nget\r\n*4\r\n$5\r\ncalls\r\n:3\r\n$14\r\nhistogram_usec\r\n*4\r\n:2\r\n:2\r\n:8\r\n:3\r\n";
        assert_eq!(run(&mut srv, &mut c, "latency histogram"), expected);
        assert_eq!(run(&mut srv, &mut c, "latency histogram GET nosuch set"), expected);
        assert_eq!(run(&mut srv, &mut c, "latency histogram set"), "*0\r\n");
        let sub = crate::command::lookup_command_by_sds(&srv.commands, b"config|get").expect("bound");
        crate::hdr_histogram::record_latency_ns(&mut srv.commands.cmds[sub].stats.latency_histogram, 1000);
        let out = run(&mut srv, &mut c, "latency histogram config");
        assert!(out.starts_with("*2\r\n$10\r\nconfig|get\r\n"), "{out}");
    }
}
