//! Replication fault tests: the link between a master and its replica is cut, stalled, or one
//! side is killed (SIGKILL) at chosen points of the handshake, the RDB transfer and the
//! stream, many times, while a writer keeps writing to the master and records which writes
//! `WAIT 1` acknowledged. After each recovery the replica must have every acknowledged write
//! and, once the writer stops, the same DEBUG DIGEST as its master.
//!
//! The faults are placed by a proxy inside the test ([`proxy`]): the replica follows the
//! proxy, the proxy connects to the master, and it parses the master -> replica bytes far
//! enough to know the phase (the PING reply, each REPLCONF reply, the PSYNC reply, the `$len`
//! or `$EOF:` header, the payload, the stream). A [`proxy::Plan`] says where to act in the
//! next connection: cut both sides, or hold (stop forwarding) until the test has killed a
//! process. Offsets inside a phase are drawn from a seeded RNG; the seed is printed and
//! `REPL_FAULTS_SEED=<n>` replays a run.
//!
//! Also covered: kills (of the replica, of the master) while the replica loads a full
//! sync's payload (made slow with key-load-delay); a handshake with every state (master with
//! requirepass, replica with masterauth and replica-announce-ip: AUTH and REPLCONF
//! ip-address replies are cut too); the SYNC fallback (the proxy renames PSYNC, so the
//! master answers an error) cut in its transfer; a chain master -> replica -> sub-replica
//! whose middle link is cut or whose middle replica is killed.
//!
//! Pairings: ferredis -> ferredis for everything; the real redis-server 7.0.15 as master of a
//! ferredis replica and as replica of a ferredis master (in a chain: in the middle, or at
//! both ends) with fewer iterations. Times are only polled (wait_until), never asserted.
mod common;

use common::{cmd_text, encode_command, log_of, require_redis, wait_until, RawConn, Server, ServerKind, FERREDIS_BIN};
use std::fs::File;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proxy::{Action, At, Phase, Plan, Proxy};

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/// splitmix64: small, seedable, good enough to spread cut points.
struct Rng(u64);

impl Rng {
    /// The run's seed (REPL_FAULTS_SEED or the clock), mixed with the test's name so each
    /// test draws its own sequence; printed so a failing run can be replayed.
    fn for_test(test: &str) -> Rng {
        static BASE: OnceLock<u64> = OnceLock::new();
        let base = *BASE.get_or_init(|| {
            std::env::var("REPL_FAULTS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
                SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
            })
        });
        report(&format!("repl_faults {test}: REPL_FAULTS_SEED={base}"));
        let name_hash = test.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        Rng(base ^ name_hash)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in [0, 1).
    fn fraction(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// The link-cutting proxy
// ---------------------------------------------------------------------------------------------

mod proxy {
    //! A TCP proxy between a replica and its master that knows the replication phase of
    //! each connection and cuts or holds it where a plan says. Each accepted connection
    //! takes the next queued plan (none: it just forwards). std threads: an acceptor, and
    //! two forwarders per connection.
    use std::collections::VecDeque;
    use std::io::{ErrorKind, Read, Write};
    use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    use std::thread::{self, JoinHandle};
    use std::time::{Duration, Instant};

    /// What the replica waits for while these master -> replica bytes flow, in order.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Phase {
        /// The reply to PING (offset 0: right after the connect).
        #[default]
        PingReply,
        /// The reply to AUTH (a replica with masterauth; see [`Proxy::set_replies`]).
        AuthReply,
        /// The reply to REPLCONF listening-port.
        PortReply,
        /// The reply to REPLCONF ip-address (a replica with replica-announce-ip).
        IpReply,
        /// The reply to REPLCONF capa.
        CapaReply,
        /// Keep-alive newlines, then +FULLRESYNC / +CONTINUE.
        PsyncReply,
        /// Keep-alive newlines, then `$<len>` or `$EOF:<mark>`.
        BulkHeader,
        /// The RDB payload (with its end mark when diskless).
        Payload,
        /// The command stream (also right after +CONTINUE).
        Stream,
    }

    pub const HANDSHAKE: [Phase; 4] = [Phase::PingReply, Phase::PortReply, Phase::CapaReply, Phase::PsyncReply];

    /// The reply lines before the PSYNC reply of a replica without masterauth or
    /// replica-announce-ip (the default) ...
    pub const PLAIN_REPLIES: [Phase; 3] = [Phase::PingReply, Phase::PortReply, Phase::CapaReply];
    /// ... and of one with both: it sends PING, then AUTH, REPLCONF listening-port,
    /// REPLCONF ip-address and REPLCONF capa back to back, and reads the replies in order.
    pub const AUTH_IP_REPLIES: [Phase; 5] = [Phase::PingReply, Phase::AuthReply, Phase::PortReply, Phase::IpReply, Phase::CapaReply];

    /// Where inside the phase to act.
    #[derive(Clone, Copy, Debug)]
    pub enum At {
        /// After this many bytes of the phase (or at its end, if it is shorter).
        Byte(u64),
        /// After this fraction of the payload (its `$len`, or the last payload's length).
        Fraction(f64),
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Action {
        /// Close both sides at once.
        Cut,
        /// Stop forwarding master -> replica and report; close once released (or once
        /// either side closed).
        Hold,
        /// Only report the point (see [`Proxy::wait_fired`]) and keep forwarding: with
        /// `force_full`, a full sync that is not cut.
        Pass,
    }

    #[derive(Clone, Copy, Debug)]
    pub struct Plan {
        pub phase: Phase,
        pub at: At,
        pub action: Action,
        /// Rewrite the replica's PSYNC into `PSYNC ? -1`, so the master sends a payload.
        pub force_full: bool,
    }

    #[derive(Default)]
    struct State {
        queue: VecDeque<Plan>,
        fired: Vec<String>,
        /// Accepts and firings with their times, for failure messages.
        fired_log: Vec<String>,
        holding: bool,
        release: bool,
        links: Vec<Arc<Link>>,
        upstream: u16,
        /// The handshake's reply lines before the PSYNC reply (empty: PLAIN_REPLIES).
        replies: &'static [Phase],
        /// Every PSYNC is renamed into an unknown command, so the master answers it with
        /// an error and the replica falls back to SYNC.
        refuse_psync: bool,
        last_payload: u64,
        accepted: u64,
        stop: bool,
        started: Option<Instant>,
    }

    type Shared = Arc<(Mutex<State>, Condvar)>;

    fn lock(shared: &Shared) -> MutexGuard<'_, State> {
        shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One proxied connection: the replica's socket and the master's.
    struct Link {
        client: TcpStream,
        server: TcpStream,
        /// A plan that has not fired yet (or a Cut / Hold that did) rides on this link.
        has_plan: AtomicBool,
        /// Set once the link was cut or either side closed: forwarding stops.
        closed: AtomicBool,
    }

    impl Link {
        /// FIN to the replica after what was forwarded; the master's side goes at once.
        fn close(&self) {
            self.closed.store(true, Ordering::SeqCst);
            let _ = self.client.shutdown(Shutdown::Write);
            let _ = self.server.shutdown(Shutdown::Both);
        }

        fn is_closed(&self) -> bool {
            self.closed.load(Ordering::SeqCst)
        }
    }

    pub struct Proxy {
        pub port: u16,
        shared: Shared,
        acceptor: Option<JoinHandle<()>>,
    }

    impl Proxy {
        pub fn start(upstream: u16) -> Proxy {
            let port = crate::common::free_port();
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("proxy bind");
            listener.set_nonblocking(true).expect("nonblocking listener");
            let shared: Shared = Arc::new((Mutex::new(State { upstream, last_payload: 100_000, started: Some(Instant::now()), ..State::default() }), Condvar::new()));
            let s = shared.clone();
            let acceptor = thread::spawn(move || accept_loop(listener, s));
            Proxy { port, shared, acceptor: Some(acceptor) }
        }

        pub fn set_upstream(&self, port: u16) {
            lock(&self.shared).upstream = port;
        }

        /// The reply lines the replica reads before the PSYNC reply (PLAIN_REPLIES or
        /// AUTH_IP_REPLIES), so that the phases are named right.
        pub fn set_replies(&self, replies: &'static [Phase]) {
            lock(&self.shared).replies = replies;
        }

        /// From now on the master sees `XPSYNC` instead of PSYNC and answers an error: a
        /// master that does not support PSYNC, as far as the replica can tell.
        pub fn refuse_psync(&self) {
            lock(&self.shared).refuse_psync = true;
        }

        pub fn push(&self, plan: Plan) {
            lock(&self.shared).queue.push_back(plan);
        }

        pub fn fired(&self) -> Vec<String> {
            lock(&self.shared).fired.clone()
        }

        pub fn history(&self) -> Vec<String> {
            lock(&self.shared).fired_log.clone()
        }

        pub fn accepted(&self) -> u64 {
            lock(&self.shared).accepted
        }

        /// Waits until `n` plans in all have fired (panics after `secs`).
        pub fn wait_fired(&self, n: usize, secs: u64) {
            let deadline = Instant::now() + Duration::from_secs(secs);
            let mut st = lock(&self.shared);
            while st.fired.len() < n {
                let now = Instant::now();
                assert!(now < deadline, "proxy: {} of {n} plans fired in {secs} s; queue {:?}; fired {:?}", st.fired.len(), st.queue, st.fired_log);
                st = self.shared.1.wait_timeout(st, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
            }
        }

        /// Cuts the connections that carry no plan, so the replica reconnects and its next
        /// connection takes the queued plan.
        pub fn cut_planless(&self) {
            let st = lock(&self.shared);
            for link in st.links.iter().filter(|l| !l.has_plan.load(Ordering::SeqCst) && !l.is_closed()) {
                link.close();
            }
        }

        /// Waits until a Hold plan holds its connection.
        pub fn wait_held(&self, secs: u64) {
            let deadline = Instant::now() + Duration::from_secs(secs);
            let mut st = lock(&self.shared);
            while !st.holding {
                let now = Instant::now();
                assert!(now < deadline, "proxy: no connection held after {secs} s; queue {:?}; fired {:?}", st.queue, st.fired_log);
                st = self.shared.1.wait_timeout(st, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
            }
        }

        /// Lets a held connection go: it is closed.
        pub fn release(&self) {
            let mut st = lock(&self.shared);
            st.release = true;
            self.shared.1.notify_all();
        }

        /// True while a held connection is still held.
        pub fn holding(&self) -> bool {
            lock(&self.shared).holding
        }
    }

    impl Drop for Proxy {
        fn drop(&mut self) {
            {
                let mut st = lock(&self.shared);
                st.stop = true;
                for link in st.links.drain(..) {
                    link.close();
                    let _ = link.client.shutdown(Shutdown::Both);
                }
                self.shared.1.notify_all();
            }
            if let Some(acceptor) = self.acceptor.take() {
                let _ = acceptor.join();
            }
        }
    }

    fn accept_loop(listener: TcpListener, shared: Shared) {
        loop {
            if lock(&shared).stop {
                return;
            }
            match listener.accept() {
                Ok((client, _)) => open_link(client, &shared),
                Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(2)),
                Err(_) => thread::sleep(Duration::from_millis(2)),
            }
        }
    }

    /// Connects to the master and starts the two forwarders. A master that is down means
    /// the replica's connection is closed at once (and keeps its plan queued).
    fn open_link(client: TcpStream, shared: &Shared) {
        let upstream = lock(shared).upstream;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream));
        let Ok(server) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else { return };
        let _ = client.set_nonblocking(false);
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (Ok(client_up), Ok(server_up)) = (client.try_clone(), server.try_clone()) else { return };
        let mut st = lock(shared);
        if st.stop {
            return;
        }
        st.accepted += 1;
        let t = st.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        let line = format!("{t:.2}s accept #{}", st.accepted);
        st.fired_log.push(line);
        let plan = st.queue.pop_front();
        let link = Arc::new(Link { client, server, has_plan: AtomicBool::new(plan.is_some()), closed: AtomicBool::new(false) });
        // Kept until the proxy drops (a few dozen per test), so Drop can unblock every reader.
        st.links.push(link.clone());
        let est_payload = st.last_payload;
        let replies = if st.replies.is_empty() { &PLAIN_REPLIES[..] } else { st.replies };
        let rewrite = match (st.refuse_psync, plan.is_some_and(|p| p.force_full)) {
            (true, _) => Some(Rewrite::Refuse),
            (false, true) => Some(Rewrite::ForceFull),
            (false, false) => None,
        };
        drop(st);
        let up_link = link.clone();
        thread::spawn(move || forward_up(client_up, server_up, up_link, rewrite));
        let s = shared.clone();
        thread::spawn(move || forward_down(link, plan, Tracker { est_payload, replies, ..Tracker::default() }, s));
    }

    /// How the replica's PSYNC is rewritten.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Rewrite {
        /// `PSYNC ? -1`: the master must answer with a full sync.
        ForceFull,
        /// `XPSYNC <same args>`: an unknown command, so an error reply.
        Refuse,
    }

    /// Replica -> master: copied as is, except the PSYNC rewrite. After a cut, what the
    /// replica still sends is read and dropped until it closes (so closing our end never
    /// turns into a reset that could eat what we forwarded).
    fn forward_up(mut client: TcpStream, mut server: TcpStream, link: Arc<Link>, rewrite: Option<Rewrite>) {
        let mut rewriter = PsyncRewriter { pending: Vec::new(), done: rewrite.is_none(), refuse: rewrite == Some(Rewrite::Refuse) };
        let mut buf = [0u8; 16 * 1024];
        loop {
            // Blocks until the replica sends or closes (or the proxy's Drop shuts it down).
            let n = match client.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            if link.is_closed() {
                continue;
            }
            let out = rewriter.feed(&buf[..n]);
            if server.write_all(&out).is_err() {
                link.close();
            }
        }
        link.close();
        let _ = link.client.shutdown(Shutdown::Both);
    }

    /// Turns the first PSYNC into `PSYNC ? -1` (or `XPSYNC` with its arguments when
    /// `refuse`); everything else passes unchanged.
    struct PsyncRewriter {
        pending: Vec<u8>,
        done: bool,
        refuse: bool,
    }

    impl PsyncRewriter {
        fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
            if self.done {
                return bytes.to_vec();
            }
            self.pending.extend_from_slice(bytes);
            let mut out = Vec::new();
            while !self.done {
                if self.pending.first().is_some_and(|&b| b != b'*') {
                    self.done = true; // Not a multibulk: leave it alone.
                    break;
                }
                let Some((len, args)) = parse_multibulk(&self.pending) else { break };
                if args.first().is_some_and(|a| a.eq_ignore_ascii_case(b"psync")) {
                    let mut renamed: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                    renamed[0] = b"XPSYNC";
                    let psync: &[&[u8]] = if self.refuse { &renamed } else { &[b"PSYNC", b"?", b"-1"] };
                    out.extend_from_slice(&crate::common::encode_command(psync));
                    self.done = true;
                } else {
                    out.extend_from_slice(&self.pending[..len]);
                }
                self.pending.drain(..len);
            }
            if self.done {
                out.append(&mut self.pending);
            }
            out
        }
    }

    /// One complete `*N $len arg ...` command at the start of `buf`: (its length, args).
    fn parse_multibulk(buf: &[u8]) -> Option<(usize, Vec<Vec<u8>>)> {
        let (count, mut pos) = parse_header(buf, 0, b'*')?;
        let mut args = Vec::new();
        for _ in 0..count {
            let (len, start) = parse_header(buf, pos, b'$')?;
            let end = start.checked_add(len)?;
            if buf.len() < end + 2 {
                return None;
            }
            args.push(buf[start..end].to_vec());
            pos = end + 2;
        }
        Some((pos, args))
    }

    fn parse_header(buf: &[u8], pos: usize, kind: u8) -> Option<(usize, usize)> {
        if *buf.get(pos)? != kind {
            return None;
        }
        let nl = buf[pos..].iter().position(|&b| b == b'\n')? + pos;
        let text = std::str::from_utf8(&buf[pos + 1..nl]).ok()?.trim_end();
        Some((text.parse().ok()?, nl + 1))
    }

    /// Master -> replica: forwarded byte for byte while the phase is tracked; the plan
    /// acts before the first byte at or past its point.
    fn forward_down(link: Arc<Link>, plan: Option<Plan>, tracker: Tracker, shared: Shared) {
        let mut server = match link.server.try_clone() {
            Ok(s) => s,
            Err(_) => return link.close(),
        };
        let mut client = match link.client.try_clone() {
            Ok(c) => c,
            Err(_) => return link.close(),
        };
        let mut tracker = tracker;
        let mut plan = plan;
        let mut buf = [0u8; 16 * 1024];
        let mut out = Vec::with_capacity(buf.len());
        'conn: loop {
            let n = match server.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            out.clear();
            for &b in &buf[..n] {
                if let Some(p) = plan.filter(|p| tracker.reached(p)) {
                    plan = None;
                    let what = format!("{:?} at byte {} of {:?} (payload {} bytes)", p.action, tracker.pos, tracker.phase, tracker.payload_len);
                    if p.action == Action::Pass {
                        record(&shared, &what, p.action);
                        link.has_plan.store(false, Ordering::SeqCst);
                    } else {
                        let _ = client.write_all(&out);
                        act(&link, p.action, &what, &shared);
                        break 'conn;
                    }
                }
                out.push(b);
                if let Some(len) = tracker.advance(b) {
                    lock(&shared).last_payload = len;
                }
            }
            if client.write_all(&out).is_err() {
                break;
            }
        }
        link.close();
        if let Some(p) = plan {
            // Ended before its point (a master gone, a replica that gave up): the next
            // connection gets it.
            lock(&shared).queue.push_front(p);
        }
    }

    /// Records a firing (and wakes `wait_fired`); a Hold also says it holds, at once.
    fn record(shared: &Shared, what: &str, action: Action) {
        let mut st = lock(shared);
        let t = st.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        st.fired.push(format!("{t:.2}s {what}"));
        st.fired_log.push(format!("{t:.2}s {what}"));
        if action == Action::Hold {
            st.holding = true;
            st.release = false;
        }
        shared.1.notify_all();
    }

    /// Records the firing, then cuts, or holds until released or closed by either side.
    fn act(link: &Link, action: Action, what: &str, shared: &Shared) {
        record(shared, what, action);
        if action == Action::Hold {
            loop {
                let st = lock(shared);
                if st.release || st.stop || link.is_closed() {
                    break;
                }
                drop(shared.1.wait_timeout(st, Duration::from_millis(20)));
            }
            let mut st = lock(shared);
            st.holding = false;
            st.release = false;
            shared.1.notify_all();
        }
        link.close();
    }

    /// The phase of the master -> replica bytes seen so far.
    #[derive(Default)]
    struct Tracker {
        phase: Phase,
        /// Bytes of the current phase forwarded.
        pos: u64,
        line: Vec<u8>,
        size: Option<u64>,
        mark: Option<Vec<u8>>,
        window: Vec<u8>,
        payload_len: u64,
        /// The length of the last payload seen (for a fraction of an `$EOF:` payload).
        est_payload: u64,
        /// The handshake's reply lines before the PSYNC reply (empty: PLAIN_REPLIES).
        replies: &'static [Phase],
    }

    impl Tracker {
        fn reached(&self, plan: &Plan) -> bool {
            let phase = self.phase;
            if phase != plan.phase {
                return phase > plan.phase;
            }
            let at = match plan.at {
                At::Byte(n) => n,
                At::Fraction(f) => {
                    let total = self.size.unwrap_or(self.est_payload);
                    (total as f64 * f) as u64
                }
            };
            self.pos >= at
        }

        /// Counts one forwarded byte; returns the payload's length when it just ended.
        fn advance(&mut self, b: u8) -> Option<u64> {
            self.pos += 1;
            match self.phase {
                Phase::PingReply | Phase::AuthReply | Phase::PortReply | Phase::IpReply | Phase::CapaReply => {
                    if b == b'\n' {
                        self.enter(self.after_reply());
                    }
                }
                Phase::PsyncReply => self.psync_reply_byte(b),
                Phase::BulkHeader => self.header_byte(b),
                Phase::Payload => return self.payload_byte(b),
                Phase::Stream => {}
            }
            None
        }

        /// The phase after the current handshake reply line.
        fn after_reply(&self) -> Phase {
            let replies = if self.replies.is_empty() { &PLAIN_REPLIES[..] } else { self.replies };
            replies.iter().skip_while(|&&p| p != self.phase).nth(1).copied().unwrap_or(Phase::PsyncReply)
        }

        fn enter(&mut self, phase: Phase) {
            self.phase = phase;
            self.pos = 0;
            self.line.clear();
        }

        fn psync_reply_byte(&mut self, b: u8) {
            self.line.push(b);
            if b != b'\n' {
                return;
            }
            if self.line.starts_with(b"+FULLRESYNC") {
                self.enter(Phase::BulkHeader);
            } else if self.line.trim_ascii().is_empty() {
                self.line.clear();
            } else if self.line.starts_with(b"-") {
                // An error: the replica closes, or falls back to SYNC, whose reply is the
                // bulk header itself.
                self.enter(Phase::BulkHeader);
            } else {
                // +CONTINUE.
                self.enter(Phase::Stream);
            }
        }

        fn header_byte(&mut self, b: u8) {
            self.line.push(b);
            if b != b'\n' {
                return;
            }
            let line = self.line.trim_ascii().to_vec();
            if line.is_empty() {
                self.line.clear();
                return;
            }
            if let Some(mark) = line.strip_prefix(b"$EOF:") {
                self.mark = Some(mark.to_vec());
                self.size = None;
            } else {
                let size = std::str::from_utf8(&line[1..]).ok().and_then(|s| s.parse().ok());
                self.size = size;
                self.mark = None;
            }
            self.payload_len = 0;
            self.window.clear();
            self.enter(Phase::Payload);
            if self.size == Some(0) || (self.size.is_none() && self.mark.is_none()) {
                self.enter(Phase::Stream);
            }
        }

        fn payload_byte(&mut self, b: u8) -> Option<u64> {
            self.payload_len += 1;
            let done = match (&self.size, &self.mark) {
                (Some(size), _) => self.payload_len >= *size,
                (None, Some(mark)) => {
                    self.window.push(b);
                    if self.window.len() > mark.len() {
                        self.window.remove(0);
                    }
                    self.window == *mark
                }
                (None, None) => true,
            };
            if done {
                self.enter(Phase::Stream);
                return Some(self.payload_len);
            }
            None
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn tracker_follows_a_full_sync_and_a_partial_one() {
            let mut t = Tracker::default();
            let feed = |t: &mut Tracker, bytes: &[u8]| bytes.iter().filter_map(|&b| t.advance(b)).last();
            feed(&mut t, b"+PONG\r\n+OK\r\n");
            assert_eq!(t.phase, Phase::CapaReply);
            feed(&mut t, b"+OK\r\n\n\n+FULLRESYNC abc 10\r\n\n$5\r\n");
            assert_eq!(t.phase, Phase::Payload);
            assert_eq!(feed(&mut t, b"REDIS"), Some(5));
            assert_eq!(t.phase, Phase::Stream);
            let mut t = Tracker::default();
            let mark = [b'm'; 40];
            feed(&mut t, b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC abc 10\r\n$EOF:");
            feed(&mut t, &mark);
            feed(&mut t, b"\r\nREDISxx");
            assert_eq!(t.phase, Phase::Payload);
            assert_eq!(feed(&mut t, &mark), Some(47));
            let mut t = Tracker::default();
            feed(&mut t, b"+PONG\r\n+OK\r\n+OK\r\n+CONTINUE abc\r\n");
            assert_eq!((t.phase, t.pos), (Phase::Stream, 0));
        }

        #[test]
        fn tracker_names_auth_and_ip_replies_and_follows_the_sync_fallback() {
            let mut t = Tracker { replies: &AUTH_IP_REPLIES, ..Tracker::default() };
            let feed = |t: &mut Tracker, bytes: &[u8]| bytes.iter().filter_map(|&b| t.advance(b)).last();
            feed(&mut t, b"-NOAUTH Authentication required.\r\n");
            assert_eq!(t.phase, Phase::AuthReply);
            feed(&mut t, b"+OK\r\n+OK\r\n");
            assert_eq!(t.phase, Phase::IpReply);
            feed(&mut t, b"+OK\r\n");
            assert_eq!(t.phase, Phase::CapaReply);
            feed(&mut t, b"+OK\r\n-ERR unknown command 'XPSYNC'\r\n\n");
            assert_eq!(t.phase, Phase::BulkHeader);
            feed(&mut t, b"$3\r\n");
            assert_eq!(t.phase, Phase::Payload);
            assert_eq!(feed(&mut t, b"abc"), Some(3));
            let mut r = PsyncRewriter { pending: Vec::new(), done: false, refuse: true };
            let out = r.feed(&crate::common::encode_command(&[b"PSYNC", b"id", b"7"]));
            assert_eq!(out, crate::common::encode_command(&[b"XPSYNC", b"id", b"7"]));
        }

        #[test]
        fn psync_is_rewritten_even_when_split() {
            let mut r = PsyncRewriter { pending: Vec::new(), done: false, refuse: false };
            let mut all = crate::common::encode_command(&[b"REPLCONF", b"capa", b"eof"]);
            all.extend(crate::common::encode_command(&[b"PSYNC", b"abcd", b"123"]));
            all.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
            let mut out = Vec::new();
            for chunk in all.chunks(7) {
                out.extend(r.feed(chunk));
            }
            let mut want = crate::common::encode_command(&[b"REPLCONF", b"capa", b"eof"]);
            want.extend(crate::common::encode_command(&[b"PSYNC", b"?", b"-1"]));
            want.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
            assert_eq!(out, want);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

/// A server we may kill and start again on the same port, in the same directory (so with
/// its RDB, if it wrote one), appending to the same log.
struct Node {
    srv: Server,
    args: Vec<String>,
}

impl Node {
    fn start(kind: ServerKind, args: &[String]) -> Node {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        Node { srv: Server::start(kind, &refs), args: args.to_vec() }
    }

    fn port(&self) -> u16 {
        self.srv.port
    }

    /// A connection, authenticated when the node runs with `--requirepass`.
    fn conn(&self) -> RawConn {
        let mut c = self.srv.conn();
        if let Some(pass) = self.password() {
            assert_eq!(c.cmd(&[&b"AUTH"[..], pass.as_bytes()]), b"+OK\r\n", "AUTH on port {}", self.port());
        }
        c
    }

    fn password(&self) -> Option<String> {
        self.args.iter().skip_while(|a| *a != "--requirepass").nth(1).cloned()
    }

    fn kind(&self) -> ServerKind {
        self.srv.kind
    }

    fn sigkill(&mut self) {
        let _ = self.srv.child.kill();
        let _ = self.srv.child.wait();
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill").arg(sig).arg(self.srv.child.id().to_string()).status().expect("kill");
        assert!(status.success(), "kill {sig}");
    }

    /// SIGKILL (if still running), then the same binary again with `args`.
    fn restart(&mut self, args: &[String]) {
        self.sigkill();
        self.args = args.to_vec();
        let program = match self.kind() {
            ServerKind::Ferredis => FERREDIS_BIN,
            ServerKind::Redis => "redis-server",
        };
        let out = File::options().append(true).open(&self.srv.stdio).expect("stdio file");
        let err = out.try_clone().expect("dup stdio");
        self.srv.child = Command::new(program)
            .args(["--port", &self.srv.port.to_string(), "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.srv.dir)
            .arg("--logfile")
            .arg(&self.srv.log)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("respawn");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.srv.port));
        wait_until(10, "the restarted server to accept connections", || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
    }

    /// A ferredis that panicked or logged a failed stream command is a bug.
    fn assert_healthy(&mut self) {
        if self.kind() != ServerKind::Ferredis {
            return;
        }
        let out = self.srv.output();
        assert!(!out.contains("panicked"), "ferredis on port {} panicked:\n{out}", self.port());
        assert!(!out.contains("== CRITICAL =="), "ferredis on port {} failed a command of its master's stream:\n{out}", self.port());
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Both kinds: DEBUG DIGEST, no diskless delay, a backlog big enough that a restarted
/// replica's RDB offset is still covered, and a short repl-timeout.
fn base_args(extra: &[&str]) -> Vec<String> {
    let mut args = strings(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
        "--repl-backlog-size",
        "32mb",
        "--repl-timeout",
        "5",
    ]);
    args.extend(strings(extra));
    args
}

fn replica_args(proxy: &Proxy, extra: &[&str]) -> Vec<String> {
    let mut args = base_args(extra);
    args.extend(strings(&["--replicaof", "127.0.0.1", &proxy.port.to_string()]));
    args
}

fn info_field(c: &mut RawConn, name: &str) -> Option<String> {
    common::info_field(c, "all", name)
}

fn info_num(c: &mut RawConn, name: &str) -> i64 {
    common::info_num(c, "all", name)
}

fn link_up(replica: &Node) -> bool {
    RawConn::try_connect(replica.port()).is_ok_and(|mut r| info_field(&mut r, "master_link_status").as_deref() == Some("up"))
}

fn wait_link_up(replica: &Node, secs: u64) {
    wait_until(secs, "the replica's master link to be up", || link_up(replica));
}

/// The replica's link is up and it applied everything the master produced (the writer
/// must be stopped).
fn wait_synced(master: &Node, replica: &Node) {
    let (mut m, mut r) = (master.conn(), replica.conn());
    wait_until(30, "the replica to catch up with its master", || {
        info_field(&mut r, "master_link_status").as_deref() == Some("up")
            && info_num(&mut r, "slave_repl_offset") == info_num(&mut m, "master_repl_offset")
    });
}

#[track_caller]
fn assert_same_digest(master: &Node, replica: &Node) {
    wait_synced(master, replica);
    let dm = cmd_text(&mut master.conn(), "DEBUG DIGEST");
    let dr = cmd_text(&mut replica.conn(), "DEBUG DIGEST");
    assert_eq!(dm.len(), 40, "DEBUG DIGEST works: {dm}");
    assert_eq!(dm, dr, "master ({:?}) and replica ({:?}) datasets differ", master.kind(), replica.kind());
}

/// ~300 keys of incompressible 1 KB values plus a few aggregates: an RDB payload of a few
/// hundred KB, so transfers take several reads.
fn load_dataset(port: u16, rng: &mut Rng) {
    load_dataset_into(&mut RawConn::connect(port), rng);
}

fn load_dataset_into(c: &mut RawConn, rng: &mut Rng) {
    for batch in 0..10 {
        let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
        for i in 0..30 {
            args.push(format!("data:{batch}:{i}").into_bytes());
            let value: String = (0..64).map(|_| format!("{:016x}", rng.next())).collect();
            args.push(value.into_bytes());
        }
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        assert_eq!(c.cmd(&refs), b"+OK\r\n");
    }
    for line in ["RPUSH data:list a b c d e", "HSET data:hash f1 v1 f2 v2", "ZADD data:zset 1 a 2 b", "SADD data:set x y z"] {
        common::cmd_ok(c, line);
    }
}

// ---------------------------------------------------------------------------------------------
// The writer and what WAIT acknowledged
// ---------------------------------------------------------------------------------------------

/// One write and how to find it again on the replica.
#[derive(Clone, Debug)]
enum Write {
    Set { db: u8, key: String, val: String },
    /// INCR replied `min`: the counter is at least that.
    Incr { db: u8, key: String, min: i64 },
    LPush { db: u8, key: String, elem: String },
    HSet { db: u8, key: String, field: String, val: String },
    ZAdd { db: u8, key: String, member: String, score: u64 },
    SAdd { db: u8, key: String, member: String },
    /// MULTI / SET / INCR / EXEC: the SET is checked.
    Multi { db: u8, key: String, val: String },
}

impl Write {
    fn new(tag: &str, i: u64, db: u8) -> Write {
        let n = i % 7;
        let key = |kind: &str, spread: u64| format!("{tag}:{kind}:{}", i % spread);
        match n {
            0 => Write::Set { db, key: format!("{tag}:s:{i}"), val: format!("v{i}") },
            1 => Write::Incr { db, key: key("c", 3), min: 0 },
            2 => Write::LPush { db, key: key("l", 5), elem: format!("e{i}") },
            3 => Write::HSet { db, key: key("h", 5), field: format!("f{i}"), val: format!("v{i}") },
            4 => Write::ZAdd { db, key: key("z", 5), member: format!("m{i}"), score: i },
            5 => Write::SAdd { db, key: key("t", 5), member: format!("m{i}") },
            _ => Write::Multi { db, key: format!("{tag}:m:{i}"), val: format!("x{i}") },
        }
    }

    fn db(&self) -> u8 {
        match self {
            Write::Set { db, .. }
            | Write::Incr { db, .. }
            | Write::LPush { db, .. }
            | Write::HSet { db, .. }
            | Write::ZAdd { db, .. }
            | Write::SAdd { db, .. }
            | Write::Multi { db, .. } => *db,
        }
    }

    fn commands(&self) -> Vec<Vec<String>> {
        let v = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            Write::Set { key, val, .. } => vec![v(&["SET", key, val])],
            Write::Incr { key, .. } => vec![v(&["INCR", key])],
            Write::LPush { key, elem, .. } => vec![v(&["LPUSH", key, elem])],
            Write::HSet { key, field, val, .. } => vec![v(&["HSET", key, field, val])],
            Write::ZAdd { key, member, score, .. } => vec![v(&["ZADD", key, &score.to_string(), member])],
            Write::SAdd { key, member, .. } => vec![v(&["SADD", key, member])],
            Write::Multi { key, val, .. } => {
                vec![v(&["MULTI"]), v(&["SET", key, val]), v(&["INCRBY", &format!("{key}:n"), "2"]), v(&["EXEC"])]
            }
        }
    }

    /// The command that reads the write back, and whether its reply shows the write.
    fn check(&self) -> (Vec<String>, Box<dyn Fn(&str) -> bool>) {
        let v = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self.clone() {
            Write::Set { key, val, .. } | Write::Multi { key, val, .. } => (v(&["GET", &key]), Box::new(move |r| r == val)),
            Write::Incr { key, min, .. } => (v(&["GET", &key]), Box::new(move |r| r.parse::<i64>().is_ok_and(|n| n >= min))),
            Write::LPush { key, elem, .. } => (v(&["LPOS", &key, &elem]), Box::new(|r| r.parse::<i64>().is_ok())),
            Write::HSet { key, field, val, .. } => (v(&["HGET", &key, &field]), Box::new(move |r| r == val)),
            Write::ZAdd { key, member, score, .. } => (v(&["ZSCORE", &key, &member]), Box::new(move |r| r == score.to_string())),
            Write::SAdd { key, member, .. } => (v(&["SISMEMBER", &key, &member]), Box::new(|r| r == "1")),
        }
    }
}

fn encode(args: &[String]) -> Vec<u8> {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    encode_command(&refs)
}

#[derive(Default, Debug)]
struct WriterLog {
    acked: Vec<Write>,
    sent: u64,
    waits: u64,
    wait_acks: u64,
    /// Why the writer stopped before being asked to, if it did.
    ended: Option<String>,
}

/// A thread writing batches of 8 writes to the master, each batch followed by
/// `WAIT 1 200`; a batch is acknowledged when WAIT says 1. Every tenth batch goes to db 2.
struct Writer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<WriterLog>>,
}

impl Writer {
    fn start(port: u16, tag: &str) -> Writer {
        Writer::start_auth(port, tag, None)
    }

    /// The writer of a master with `requirepass`: AUTH first.
    fn start_auth(port: u16, tag: &str, password: Option<String>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let tag = tag.to_string();
        let handle = thread::spawn(move || write_loop(port, password.as_deref(), &tag, &flag));
        Writer { stop, handle: Some(handle) }
    }

    fn finish(mut self) -> WriterLog {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.take().map(|h| h.join().expect("writer thread")).unwrap_or_default()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn write_loop(port: u16, password: Option<&str>, tag: &str, stop: &AtomicBool) -> WriterLog {
    let mut log = WriterLog::default();
    let mut c = match RawConn::try_connect(port) {
        Ok(c) => c,
        Err(e) => {
            log.ended = Some(format!("connect: {e}"));
            return log;
        }
    };
    if let Some(pass) = password {
        let auth = encode(&strings(&["AUTH", pass]));
        if let Err(e) = c.try_send(&auth).map_err(|e| e.to_string()).and_then(|()| read(&mut c)) {
            log.ended = Some(format!("AUTH: {e}"));
            return log;
        }
    }
    let mut i = 0u64;
    let mut batch_no = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let db = if batch_no % 10 == 9 { 2 } else { 0 };
        batch_no += 1;
        match write_batch(&mut c, tag, &mut i, db) {
            Ok(batch) => {
                log.sent += batch.len() as u64;
                log.waits += 1;
                match c.try_send(b"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$3\r\n200\r\n").map_err(|e| e.to_string()).and_then(|()| read(&mut c)) {
                    Ok(reply) if reply == "1" => {
                        log.wait_acks += 1;
                        log.acked.extend(batch);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        log.ended = Some(e);
                        break;
                    }
                }
            }
            Err(e) => {
                log.ended = Some(e);
                break;
            }
        }
    }
    log
}

fn read(c: &mut RawConn) -> Result<String, String> {
    let reply = c.read_reply().map_err(|e| e.to_string())?;
    if reply.first() == Some(&b'-') {
        return Err(common::reply_text(&reply));
    }
    Ok(common::reply_text(&reply))
}

/// Sends 8 writes pipelined (in `db`) and reads their replies; the writes, with INCR's
/// results filled in.
fn write_batch(c: &mut RawConn, tag: &str, i: &mut u64, db: u8) -> Result<Vec<Write>, String> {
    let mut out = Vec::new();
    let mut batch = Vec::new();
    if db != 0 {
        out.extend(encode(&strings(&["SELECT", &db.to_string()])));
    }
    for _ in 0..8 {
        let w = Write::new(tag, *i, db);
        *i += 1;
        for cmd in w.commands() {
            out.extend(encode(&cmd));
        }
        batch.push(w);
    }
    if db != 0 {
        out.extend(encode(&strings(&["SELECT", "0"])));
    }
    c.try_send(&out).map_err(|e| e.to_string())?;
    if db != 0 {
        read(c)?;
    }
    for w in batch.iter_mut() {
        let n = w.commands().len();
        let mut last = String::new();
        for _ in 0..n {
            last = read(c)?;
        }
        if let Write::Incr { min, .. } = w {
            *min = last.parse().map_err(|_| format!("INCR replied {last}"))?;
        }
    }
    if db != 0 {
        read(c)?;
    }
    Ok(batch)
}

/// Every acknowledged write is on the server at `port` (checked pipelined).
#[track_caller]
fn assert_acked_present(port: u16, acked: &[Write], what: &str) {
    let mut c = RawConn::connect(port);
    let mut missing = Vec::new();
    for db in [0u8, 2] {
        let writes: Vec<&Write> = acked.iter().filter(|w| w.db() == db).collect();
        let select = c.cmd_str(&format!("SELECT {db}"));
        assert_eq!(select, b"+OK\r\n");
        for chunk in writes.chunks(500) {
            let checks: Vec<_> = chunk.iter().map(|w| w.check()).collect();
            let mut out = Vec::new();
            for (cmd, _) in &checks {
                out.extend(encode(cmd));
            }
            c.send(&out);
            for (w, (_, ok)) in chunk.iter().zip(&checks) {
                let reply = c.read_reply().unwrap_or_else(|e| panic!("checking acknowledged writes: {e}"));
                if !ok(&common::reply_text(&reply)) {
                    missing.push(format!("{w:?} -> {}", common::escape_bytes(&reply)));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{what}: {} of {} WAIT-acknowledged writes missing, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
}

/// The common end of a scenario: the writer stopped by the test (not by a failure), the
/// replica holds the master's dataset and every write WAIT acknowledged.
fn finish_in_agreement(test: &str, writer: Writer, master: &Node, replica: &Node) -> WriterLog {
    let log = writer.finish();
    assert!(log.ended.is_none(), "writer stopped: {:?}", log.ended);
    assert_same_digest(master, replica);
    assert_acked_present(replica.port(), &log.acked, test);
    log
}

/// One summary line per scenario, straight to the stderr handle: libtest captures eprintln!
/// of passing tests, and these lines are worth seeing in every run.
fn report(line: &str) {
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

/// A random point in `phase`: a byte inside a handshake reply (possibly mid-line), a
/// fraction of the payload, or a little into the stream.
fn random_plan(rng: &mut Rng, phase: Phase, action: Action) -> Plan {
    let at = match phase {
        Phase::PingReply | Phase::PortReply | Phase::CapaReply => At::Byte(rng.below(6)),
        // Inside their `+OK\r\n`.
        Phase::AuthReply | Phase::IpReply => At::Byte(rng.below(5)),
        Phase::PsyncReply => At::Byte(rng.below(60)),
        Phase::BulkHeader => At::Byte(rng.below(8)),
        Phase::Payload => At::Fraction(rng.fraction()),
        Phase::Stream => At::Byte(rng.below(3000)),
    };
    // A payload needs a full sync; elsewhere either kind of resync is fine.
    let force_full = matches!(phase, Phase::BulkHeader | Phase::Payload) || (phase == Phase::PsyncReply && rng.below(2) == 0);
    Plan { phase, at, action, force_full }
}

const ALL_PHASES: [Phase; 7] =
    [Phase::PingReply, Phase::PortReply, Phase::CapaReply, Phase::PsyncReply, Phase::BulkHeader, Phase::Payload, Phase::Stream];

/// Which phases a kill or stall test draws from, one class per iteration.
fn phase_of_class(rng: &mut Rng, class: usize) -> Phase {
    match class % 3 {
        0 => rng.pick(&proxy::HANDSHAKE),
        1 => rng.pick(&[Phase::BulkHeader, Phase::Payload, Phase::Payload]),
        _ => Phase::Stream,
    }
}

fn set_diskless(master: &Node, on: bool) {
    let mut m = master.conn();
    let value = if on { "yes" } else { "no" };
    assert_eq!(cmd_text(&mut m, &format!("CONFIG SET repl-diskless-sync {value}")), "OK");
}

// ---------------------------------------------------------------------------------------------
// Cuts
// ---------------------------------------------------------------------------------------------

/// `rounds` rounds of a cut in every phase under the writer; by round, the master's
/// transfer alternates disk / diskless and the replica's repl-diskless-load goes
/// disabled / swapdb / on-empty-db. Then every acknowledged write is on the replica and
/// the digests match.
fn cuts(test: &str, master_kind: ServerKind, replica_kind: ServerKind, rounds: usize) {
    let mut rng = Rng::for_test(test);
    let mut master = Node::start(master_kind, &base_args(&[]));
    load_dataset(master.port(), &mut rng);
    let proxy = Proxy::start(master.port());
    let mut replica = Node::start(replica_kind, &replica_args(&proxy, &[]));
    wait_link_up(&replica, 20);
    let writer = Writer::start(master.port(), "w");
    let mut fired = 0;
    for round in 0..rounds {
        set_diskless(&master, round % 2 == 1);
        let load = ["disabled", "swapdb", "on-empty-db"][round % 3];
        assert_eq!(cmd_text(&mut replica.conn(), &format!("CONFIG SET repl-diskless-load {load}")), "OK");
        let mut plans: Vec<Plan> = ALL_PHASES.iter().map(|&phase| random_plan(&mut rng, phase, Action::Cut)).collect();
        // Two more in the stream: one after a partial resync, one after a full sync that
        // completes (so each round loads a payload in its transfer and load modes).
        plans.push(random_plan(&mut rng, Phase::Stream, Action::Cut));
        plans.push(Plan { force_full: true, ..random_plan(&mut rng, Phase::Stream, Action::Cut) });
        fired += plans.len();
        for plan in plans {
            proxy.push(plan);
        }
        proxy.cut_planless();
        proxy.wait_fired(fired, 60);
        wait_link_up(&replica, 20);
    }
    // A closed link is seen at once (EOF), never by waiting for repl-timeout: a FIN that
    // arrived with the last bytes must not go unnoticed.
    let rlog = log_of(&replica.srv);
    for timeout in ["Timeout connecting to the MASTER", "Timeout receiving bulk data", "MASTER timeout: no data nor PING"] {
        assert!(!rlog.contains(timeout), "a cut link was noticed only by repl-timeout ({timeout}):\n{rlog}");
    }
    if replica_kind == ServerKind::Ferredis && rounds > 1 {
        assert!(rlog.contains("MASTER <-> REPLICA sync: Swapping active DB with loaded DB"), "no swapdb load happened:\n{rlog}");
    }
    let log = finish_in_agreement(test, writer, &master, &replica);
    assert!(log.wait_acks > 0, "no WAIT ever acknowledged: {log:?}");
    let full = info_num(&mut master.conn(), "sync_full");
    let partial = info_num(&mut master.conn(), "sync_partial_ok");
    report(&format!(
        "{test}: {} cuts over {} connections; {} writes, {} of {} WAITs acknowledged; sync_full {full}, sync_partial_ok {partial}",
        proxy.fired().len(),
        proxy.accepted(),
        log.sent,
        log.wait_acks,
        log.waits
    ));
    if std::env::var("REPL_FAULTS_VERBOSE").is_ok() {
        let _ = std::io::stderr().write_all(format!("{:#?}\n", proxy.history()).as_bytes());
    }
    master.assert_healthy();
    replica.assert_healthy();
}

#[test]
fn cuts_in_every_phase_ferredis_to_ferredis() {
    cuts("cuts_in_every_phase_ferredis_to_ferredis", ServerKind::Ferredis, ServerKind::Ferredis, 3);
}

#[test]
fn cuts_in_every_phase_redis_master_to_ferredis() {
    if !require_redis() {
        return;
    }
    cuts("cuts_in_every_phase_redis_master_to_ferredis", ServerKind::Redis, ServerKind::Ferredis, 2);
}

#[test]
fn cuts_in_every_phase_ferredis_master_to_redis() {
    if !require_redis() {
        return;
    }
    cuts("cuts_in_every_phase_ferredis_master_to_redis", ServerKind::Ferredis, ServerKind::Redis, 2);
}

/// The link goes silent (held, never closed) in the handshake, the transfer and the
/// stream: the replica must notice by repl-timeout alone and start over.
#[test]
fn stalls_end_by_repl_timeout_and_the_replica_reconnects() {
    let test = "stalls_end_by_repl_timeout_and_the_replica_reconnects";
    let mut rng = Rng::for_test(test);
    let mut master = Node::start(ServerKind::Ferredis, &base_args(&[]));
    load_dataset(master.port(), &mut rng);
    let proxy = Proxy::start(master.port());
    let mut replica = Node::start(ServerKind::Ferredis, &replica_args(&proxy, &["--repl-timeout", "2"]));
    wait_link_up(&replica, 20);
    let writer = Writer::start(master.port(), "w");
    let timeouts = ["Timeout connecting to the MASTER...", "Timeout receiving bulk data from MASTER...", "MASTER timeout: no data nor PING received..."];
    for (class, timeout_line) in timeouts.into_iter().enumerate() {
        // Points that stay inside the class's state (a handshake reply is at least 5
        // bytes; a payload fraction below the end).
        let (phase, at) = match class {
            0 => (rng.pick(&proxy::HANDSHAKE), At::Byte(rng.below(4))),
            1 => (Phase::Payload, At::Fraction(rng.fraction() * 0.8)),
            _ => (Phase::Stream, At::Byte(rng.below(3000))),
        };
        let mark = log_of(&replica.srv).len();
        proxy.push(Plan { phase, at, action: Action::Hold, force_full: phase == Phase::Payload });
        proxy.cut_planless();
        proxy.wait_held(30);
        // Nobody releases: the replica's timeout must close the link.
        wait_until(20, "the replica to give up the silent link", || !proxy.holding());
        wait_link_up(&replica, 20);
        let rlog = log_of(&replica.srv);
        assert!(rlog[mark..].contains(timeout_line), "{phase:?} stall: no {timeout_line:?} in\n{}", &rlog[mark..]);
    }
    finish_in_agreement(test, writer, &master, &replica);
    master.assert_healthy();
    replica.assert_healthy();
}

// ---------------------------------------------------------------------------------------------
// Replica killed
// ---------------------------------------------------------------------------------------------

/// The replica is SIGKILLed while its link is held in a handshake state, in the transfer
/// or while streaming, and restarted from its directory. It had an RDB of a full sync (with
/// the master's id and offset) and the master's backlog covers that offset, so it resyncs
/// partially; at the end the digests match and every acknowledged write is there.
fn replica_kills(test: &str, master_kind: ServerKind, replica_kind: ServerKind, iterations: usize) {
    let mut rng = Rng::for_test(test);
    let mut master = Node::start(master_kind, &base_args(&[]));
    load_dataset(master.port(), &mut rng);
    let proxy = Proxy::start(master.port());
    let mut replica = Node::start(replica_kind, &replica_args(&proxy, &[]));
    wait_link_up(&replica, 20);
    let writer = Writer::start(master.port(), "w");
    let mut m = master.conn();
    for it in 0..iterations {
        set_diskless(&master, it % 2 == 1);
        let phase = phase_of_class(&mut rng, it);
        proxy.push(random_plan(&mut rng, phase, Action::Hold));
        proxy.cut_planless();
        proxy.wait_held(30);
        replica.sigkill();
        proxy.release();
        let (full, partial) = (info_num(&mut m, "sync_full"), info_num(&mut m, "sync_partial_ok"));
        let args = replica.args.clone();
        replica.restart(&args);
        wait_link_up(&replica, 30);
        let (full2, partial2) = (info_num(&mut m, "sync_full"), info_num(&mut m, "sync_partial_ok"));
        assert_eq!(
            (full2, partial2),
            (full, partial + 1),
            "iteration {it} ({phase:?}): a replica restarted from the RDB of its last full sync resyncs partially"
        );
    }
    let log = finish_in_agreement(test, writer, &master, &replica);
    report(&format!("{test}: {:?}; {} writes, {} acknowledged", proxy.fired(), log.sent, log.acked.len()));
    master.assert_healthy();
    replica.assert_healthy();
}

#[test]
fn replica_killed_anywhere_restarts_and_resyncs_ferredis_to_ferredis() {
    replica_kills("replica_killed_anywhere_restarts_and_resyncs_ferredis_to_ferredis", ServerKind::Ferredis, ServerKind::Ferredis, 9);
}

#[test]
fn replica_killed_anywhere_restarts_and_resyncs_redis_master() {
    if !require_redis() {
        return;
    }
    replica_kills("replica_killed_anywhere_restarts_and_resyncs_redis_master", ServerKind::Redis, ServerKind::Ferredis, 3);
}

#[test]
fn replica_killed_anywhere_restarts_and_resyncs_redis_replica() {
    if !require_redis() {
        return;
    }
    replica_kills("replica_killed_anywhere_restarts_and_resyncs_redis_replica", ServerKind::Ferredis, ServerKind::Redis, 3);
}

// ---------------------------------------------------------------------------------------------
// Master killed
// ---------------------------------------------------------------------------------------------

/// A chain of failovers: the master is SIGKILLed while its replica's link is held in a
/// handshake state, the transfer or the stream; the replica is promoted (REPLICAOF NO ONE)
/// and must hold every write WAIT acknowledged; the old master restarts as its replica
/// (through the proxy) and resyncs until the digests match. Then the roles are swapped and
/// it starts again, so with two kinds both directions are covered.
fn master_kills(test: &str, first_master: ServerKind, first_replica: ServerKind, iterations: usize) {
    let mut rng = Rng::for_test(test);
    let mut master = Node::start(first_master, &base_args(&[]));
    load_dataset(master.port(), &mut rng);
    let proxy = Proxy::start(master.port());
    let mut replica = Node::start(first_replica, &replica_args(&proxy, &[]));
    wait_link_up(&replica, 20);
    let mut acked: Vec<Write> = Vec::new();
    let mut resyncs = Vec::new();
    for it in 0..iterations {
        let phase = phase_of_class(&mut rng, it);
        // Killed while streaming right after a disk full sync: the old master restarts
        // from the RDB it made for that sync, which the promoted replica's history
        // contains, so it must resync partially.
        let from_own_rdb = phase == Phase::Stream;
        set_diskless(&master, !from_own_rdb && it % 2 == 0);
        let writer = Writer::start(master.port(), &format!("w{it}"));
        let mut plan = random_plan(&mut rng, phase, Action::Hold);
        plan.force_full |= from_own_rdb;
        // Let some writes be acknowledged first.
        thread::sleep(Duration::from_millis(300));
        proxy.push(plan);
        proxy.cut_planless();
        proxy.wait_held(30);
        master.sigkill();
        proxy.release();
        let log = writer.finish();
        acked.extend(log.acked);
        let mut r = replica.conn();
        assert_eq!(cmd_text(&mut r, "REPLICAOF NO ONE"), "OK");
        assert_acked_present(replica.port(), &acked, &format!("{test} iteration {it} ({phase:?}), promoted {:?}", replica.kind()));
        proxy.set_upstream(replica.port());
        let args = replica_args(&proxy, &[]);
        let mut r = replica.conn();
        let (full, partial) = (info_num(&mut r, "sync_full"), info_num(&mut r, "sync_partial_ok"));
        master.restart(&args);
        assert_same_digest(&replica, &master);
        let resync = if info_num(&mut r, "sync_partial_ok") > partial { "partial" } else { "full" };
        assert!(info_num(&mut r, "sync_full") > full || resync == "partial", "the old master resynced somehow");
        if from_own_rdb {
            assert_eq!(resync, "partial", "iteration {it}: an old master restarted from its RDB, within the new master's history");
        }
        resyncs.push(format!("{:?}->{:?} {phase:?}: {resync}", replica.kind(), master.kind()));
        replica.assert_healthy();
        master.assert_healthy();
        std::mem::swap(&mut master, &mut replica);
    }
    report(&format!("{test}: {:?}; old masters' resyncs {resyncs:?}; {} writes acknowledged in all", proxy.fired(), acked.len()));
}

#[test]
fn master_killed_anywhere_replica_promoted_ferredis() {
    master_kills("master_killed_anywhere_replica_promoted_ferredis", ServerKind::Ferredis, ServerKind::Ferredis, 6);
}

#[test]
fn master_killed_anywhere_replica_promoted_mixed() {
    if !require_redis() {
        return;
    }
    master_kills("master_killed_anywhere_replica_promoted_mixed", ServerKind::Redis, ServerKind::Ferredis, 4);
}

// ---------------------------------------------------------------------------------------------
// Output buffer hard limit
// ---------------------------------------------------------------------------------------------

/// A replica that stops reading (SIGSTOP, or its link held by the proxy) while big writes
/// pile up passes the 256 KB hard limit: the master drops it with Redis's log line, and the
/// replica resyncs by itself with a full sync (the burst is bigger than the backlog).
fn output_limit(test: &str, replica_kind: ServerKind) {
    let mut rng = Rng::for_test(test);
    let mut master = Node::start(ServerKind::Ferredis, &base_args(&["--repl-backlog-size", "1mb"]));
    let mut m = master.conn();
    let set = m.cmd(&[&b"CONFIG"[..], b"SET", b"client-output-buffer-limit", b"replica 256kb 0 0"]);
    assert_eq!(set, b"+OK\r\n");
    load_dataset(master.port(), &mut rng);
    let proxy = Proxy::start(master.port());
    let mut replica = Node::start(replica_kind, &replica_args(&proxy, &[]));
    wait_link_up(&replica, 20);
    let value = "b".repeat(200_000);
    for (round, how) in ["SIGSTOP", "proxy hold"].into_iter().enumerate() {
        let full = info_num(&mut m, "sync_full");
        let log_mark = log_of(&master.srv).len();
        if how == "SIGSTOP" {
            replica.signal("-STOP");
        } else {
            proxy.push(Plan { phase: Phase::Stream, at: At::Byte(0), action: Action::Hold, force_full: false });
            proxy.cut_planless();
            wait_link_up(&replica, 20);
            common::cmd_ok(&mut m, "SET hold-me 1");
            proxy.wait_held(10);
        }
        // Until the limit drops it (more than the socket buffers on the way can absorb),
        // then past the 1 MB backlog, so only a full sync can bring the replica back.
        let dropped = |master: &Node| log_of(&master.srv)[log_mark..].contains("scheduled to be closed ASAP for overcoming of output buffer limits.");
        let mut after_drop = 0;
        for i in 0..400 {
            let key = format!("big:{round}:{i}");
            assert_eq!(m.cmd(&[&b"SET"[..], key.as_bytes(), value.as_bytes()]), b"+OK\r\n");
            if after_drop > 0 || dropped(&master) {
                after_drop += 1;
                if after_drop == 8 {
                    break;
                }
            }
        }
        assert!(dropped(&master), "the master never dropped the replica:\n{}", log_of(&master.srv));
        if how == "SIGSTOP" {
            replica.signal("-CONT");
        } else {
            proxy.release();
        }
        wait_until(30, "a new full sync", || info_num(&mut m, "sync_full") > full);
        assert_same_digest(&master, &replica);
    }
    let _ = std::io::stderr().write_all(format!("{test}: sync_full {}\n", info_num(&mut m, "sync_full")).as_bytes());
    master.assert_healthy();
    replica.assert_healthy();
}

#[test]
fn replica_over_output_buffer_hard_limit_is_dropped_and_resyncs() {
    output_limit("replica_over_output_buffer_hard_limit_is_dropped_and_resyncs", ServerKind::Ferredis);
}

#[test]
fn redis_replica_over_output_buffer_hard_limit_is_dropped_and_resyncs() {
    if !require_redis() {
        return;
    }
    output_limit("redis_replica_over_output_buffer_hard_limit_is_dropped_and_resyncs", ServerKind::Redis);
}

// ---------------------------------------------------------------------------------------------
// Kills while the replica loads the payload
// ---------------------------------------------------------------------------------------------

/// Keys DEBUG POPULATE adds for the load tests; with key-load-delay set on the replica
/// (µs per key) its load of a full sync lasts at least LOAD_KEYS * LOAD_DELAY_US (1 s).
const LOAD_KEYS: u64 = 20_000;
const LOAD_DELAY_US: u64 = 50;

fn populate(node: &Node) {
    common::cmd_ok(&mut node.conn(), &format!("DEBUG POPULATE {LOAD_KEYS} load"));
}

/// The replica's next loads are slow (key-load-delay) and serve events every KB, so INFO
/// answers while it loads. Set at run time only: a restarted server loads at full speed.
fn slow_loads(node: &Node, on: bool) {
    let mut c = node.conn();
    let delay = if on { LOAD_DELAY_US } else { 0 };
    assert_eq!(cmd_text(&mut c, &format!("CONFIG SET key-load-delay {delay}")), "OK");
    assert_eq!(cmd_text(&mut c, "CONFIG SET loading-process-events-interval-bytes 1024"), "OK");
}

/// INFO says the node loads an RDB (a disk or on-empty-db load, or swapdb's async load).
fn loading(node: &Node) -> bool {
    RawConn::try_connect(node.port()).is_ok_and(|mut c| {
        let info = cmd_text(&mut c, "INFO persistence");
        info.lines().any(|l| matches!(l.trim(), "loading:1" | "async_loading:1"))
    })
}

/// Makes the replica start a slow full sync (its link is cut, its next PSYNC becomes
/// `PSYNC ? -1`), waits until it loads the payload, lets a random part of the load go by
/// and returns whether it still loaded at that point: the caller kills right away.
fn wait_into_load(rng: &mut Rng, proxy: &Proxy, replica: &Node, fired: &mut usize) -> bool {
    slow_loads(replica, true);
    proxy.push(Plan { phase: Phase::BulkHeader, at: At::Byte(0), action: Action::Pass, force_full: true });
    proxy.cut_planless();
    *fired += 1;
    proxy.wait_fired(*fired, 30);
    wait_until(30, "the replica to load the payload of its full sync", || loading(replica));
    thread::sleep(Duration::from_millis(rng.below(700)));
    loading(replica)
}

/// The replica is SIGKILLed at a random point of its load of a full sync's payload (from
/// disk, from the socket into an empty db, from the socket beside the old data), under
/// the writer, and restarted from its directory. Killed in a disk load it has the payload
/// as dump.rdb already (renamed before the load), so it resyncs partially; in any case
/// the digests end equal and every acknowledged write is there.
fn replica_kills_during_load(test: &str, master_kind: ServerKind, replica_kind: ServerKind, loads: &[&str]) {
    let mut rng = Rng::for_test(test);
    let mut master = Node::start(master_kind, &base_args(&[]));
    load_dataset(master.port(), &mut rng);
    populate(&master);
    let proxy = Proxy::start(master.port());
    let mut replica = Node::start(replica_kind, &replica_args(&proxy, &[]));
    wait_link_up(&replica, 30);
    let writer = Writer::start(master.port(), "w");
    let mut m = master.conn();
    let (mut fired, mut mid_load, mut resyncs) = (0, 0, Vec::new());
    for (it, &load) in loads.iter().enumerate() {
        set_diskless(&master, it % 2 == 1);
        assert_eq!(cmd_text(&mut replica.conn(), &format!("CONFIG SET repl-diskless-load {load}")), "OK");
        let (full, partial) = (info_num(&mut m, "sync_full"), info_num(&mut m, "sync_partial_ok"));
        mid_load += usize::from(wait_into_load(&mut rng, &proxy, &replica, &mut fired));
        replica.sigkill();
        let args = replica.args.clone();
        replica.restart(&args);
        wait_link_up(&replica, 30);
        let (full2, partial2) = (info_num(&mut m, "sync_full"), info_num(&mut m, "sync_partial_ok"));
        if load == "disabled" {
            assert_eq!(
                (full2, partial2),
                (full + 1, partial + 1),
                "iteration {it}: killed while loading a full sync from disk, the replica restarts from that RDB and resyncs partially"
            );
        }
        resyncs.push(format!("{load}: {}", if partial2 > partial { "partial" } else { "full" }));
    }
    let log = finish_in_agreement(test, writer, &master, &replica);
    report(&format!(
        "{test}: {mid_load} of {} kills inside the load; resyncs after restart {resyncs:?}; {} writes, {} acknowledged",
        loads.len(),
        log.sent,
        log.acked.len()
    ));
    master.assert_healthy();
    replica.assert_healthy();
}

#[test]
fn replica_killed_while_loading_restarts_and_converges_ferredis_to_ferredis() {
    let test = "replica_killed_while_loading_restarts_and_converges_ferredis_to_ferredis";
    replica_kills_during_load(test, ServerKind::Ferredis, ServerKind::Ferredis, &["disabled", "on-empty-db", "swapdb"]);
}

#[test]
fn replica_killed_while_loading_restarts_and_converges_redis_master() {
    if !require_redis() {
        return;
    }
    let test = "replica_killed_while_loading_restarts_and_converges_redis_master";
    replica_kills_during_load(test, ServerKind::Redis, ServerKind::Ferredis, &["disabled", "swapdb"]);
}

#[test]
fn replica_killed_while_loading_restarts_and_converges_redis_replica() {
    if !require_redis() {
        return;
    }
    let test = "replica_killed_while_loading_restarts_and_converges_redis_replica";
    replica_kills_during_load(test, ServerKind::Ferredis, ServerKind::Redis, &["disabled", "on-empty-db"]);
}

/// The master is SIGKILLed at a random point of its replica's load of a full sync (from
/// disk, or swapdb from the socket: the loads whose failure keeps the old data). The
/// replica ends its load (or gives it up), is promoted and must hold every acknowledged
/// write; the old master restarts as its replica and converges. Roles then swap.
fn master_kills_during_load(test: &str, first_master: ServerKind, first_replica: ServerKind, iterations: usize) {
    let mut rng = Rng::for_test(test);
    let mut master = Node::start(first_master, &base_args(&[]));
    load_dataset(master.port(), &mut rng);
    populate(&master);
    let proxy = Proxy::start(master.port());
    let mut replica = Node::start(first_replica, &replica_args(&proxy, &[]));
    wait_link_up(&replica, 30);
    let mut acked: Vec<Write> = Vec::new();
    let (mut fired, mut mid_load, mut resyncs) = (0, 0, Vec::new());
    for it in 0..iterations {
        let load = ["disabled", "swapdb"][it % 2];
        assert_eq!(cmd_text(&mut replica.conn(), &format!("CONFIG SET repl-diskless-load {load}")), "OK");
        set_diskless(&master, it % 2 == 1);
        let writer = Writer::start(master.port(), &format!("w{it}"));
        // Let some writes be acknowledged first.
        thread::sleep(Duration::from_millis(300));
        mid_load += usize::from(wait_into_load(&mut rng, &proxy, &replica, &mut fired));
        master.sigkill();
        acked.extend(writer.finish().acked);
        wait_until(30, "the replica to end its load", || !loading(&replica));
        slow_loads(&replica, false);
        let mut r = replica.conn();
        assert_eq!(cmd_text(&mut r, "REPLICAOF NO ONE"), "OK");
        let what = format!("{test} iteration {it} ({load}), promoted {:?}", replica.kind());
        assert_acked_present(replica.port(), &acked, &what);
        proxy.set_upstream(replica.port());
        let partial = info_num(&mut r, "sync_partial_ok");
        master.restart(&replica_args(&proxy, &[]));
        assert_same_digest(&replica, &master);
        let resync = if info_num(&mut r, "sync_partial_ok") > partial { "partial" } else { "full" };
        resyncs.push(format!("{:?}->{:?} {load}: {resync}", replica.kind(), master.kind()));
        replica.assert_healthy();
        master.assert_healthy();
        std::mem::swap(&mut master, &mut replica);
    }
    report(&format!(
        "{test}: {mid_load} of {iterations} kills inside the load; old masters' resyncs {resyncs:?}; {} writes acknowledged in all",
        acked.len()
    ));
}

#[test]
fn master_killed_while_replica_loads_ferredis() {
    master_kills_during_load("master_killed_while_replica_loads_ferredis", ServerKind::Ferredis, ServerKind::Ferredis, 2);
}

#[test]
fn master_killed_while_replica_loads_mixed() {
    if !require_redis() {
        return;
    }
    master_kills_during_load("master_killed_while_replica_loads_mixed", ServerKind::Redis, ServerKind::Ferredis, 2);
}

// ---------------------------------------------------------------------------------------------
// AUTH and REPLCONF ip-address
// ---------------------------------------------------------------------------------------------

const PASSWORD: &str = "s3cret-pw";
/// Announced, never connected to: the master only shows it.
const ANNOUNCED_IP: &str = "10.20.30.40";

/// A master with requirepass and a replica with masterauth and replica-announce-ip, so the
/// handshake has all its states (PING, AUTH, REPLCONF listening-port, ip-address, capa,
/// PSYNC); the link is cut at random points of every reply (inside AUTH's and
/// ip-address's too) and of the payload, under the writer.
fn auth_and_ip_cuts(test: &str, master_kind: ServerKind, replica_kind: ServerKind, rounds: usize) {
    let mut rng = Rng::for_test(test);
    let mut master = Node::start(master_kind, &base_args(&["--requirepass", PASSWORD]));
    load_dataset_into(&mut master.conn(), &mut rng);
    let proxy = Proxy::start(master.port());
    proxy.set_replies(&proxy::AUTH_IP_REPLIES);
    let auth_args = ["--masterauth", PASSWORD, "--replica-announce-ip", ANNOUNCED_IP];
    let mut replica = Node::start(replica_kind, &replica_args(&proxy, &auth_args));
    wait_link_up(&replica, 20);
    let writer = Writer::start_auth(master.port(), "w", Some(PASSWORD.to_string()));
    let phases = [Phase::PingReply, Phase::AuthReply, Phase::PortReply, Phase::IpReply, Phase::CapaReply, Phase::PsyncReply, Phase::Payload];
    let mut fired = 0;
    for round in 0..rounds {
        set_diskless(&master, round % 2 == 1);
        for phase in phases {
            proxy.push(random_plan(&mut rng, phase, Action::Cut));
        }
        fired += phases.len();
        proxy.cut_planless();
        proxy.wait_fired(fired, 60);
        wait_link_up(&replica, 20);
    }
    let cuts = proxy.fired();
    for phase in ["AuthReply", "IpReply"] {
        assert!(cuts.iter().any(|c| c.contains(&format!(" of {phase} "))), "no cut inside {phase}: {cuts:?}");
    }
    let info = cmd_text(&mut master.conn(), "INFO replication");
    assert!(info.contains(&format!("slave0:ip={ANNOUNCED_IP},")), "the master shows the announced address:\n{info}");
    let log = finish_in_agreement(test, writer, &master, &replica);
    assert!(log.wait_acks > 0, "no WAIT ever acknowledged: {log:?}");
    report(&format!("{test}: {} cuts over {} connections; {} writes, {} acknowledged", cuts.len(), proxy.accepted(), log.sent, log.acked.len()));
    master.assert_healthy();
    replica.assert_healthy();
}

#[test]
fn cuts_in_auth_and_ip_address_states_ferredis_to_ferredis() {
    auth_and_ip_cuts("cuts_in_auth_and_ip_address_states_ferredis_to_ferredis", ServerKind::Ferredis, ServerKind::Ferredis, 2);
}

#[test]
fn cuts_in_auth_and_ip_address_states_redis_master_to_ferredis() {
    if !require_redis() {
        return;
    }
    auth_and_ip_cuts("cuts_in_auth_and_ip_address_states_redis_master_to_ferredis", ServerKind::Redis, ServerKind::Ferredis, 2);
}

#[test]
fn cuts_in_auth_and_ip_address_states_ferredis_master_to_redis() {
    if !require_redis() {
        return;
    }
    auth_and_ip_cuts("cuts_in_auth_and_ip_address_states_ferredis_master_to_redis", ServerKind::Ferredis, ServerKind::Redis, 1);
}

// ---------------------------------------------------------------------------------------------
// The SYNC fallback
// ---------------------------------------------------------------------------------------------

fn digest(node: &Node) -> String {
    cmd_text(&mut node.conn(), "DEBUG DIGEST")
}

/// The proxy renames every PSYNC, so the master answers an error and the replica falls
/// back to SYNC (no replication id, no partial resync). The link is cut inside the error
/// reply, the bulk header, the payload (disk and diskless) and the stream, under the
/// writer; every reconnection is a SYNC full sync, and the datasets end equal.
fn sync_fallback_cuts(test: &str, master_kind: ServerKind, replica_kind: ServerKind) {
    let mut rng = Rng::for_test(test);
    let mut master = Node::start(master_kind, &base_args(&[]));
    load_dataset(master.port(), &mut rng);
    let proxy = Proxy::start(master.port());
    proxy.refuse_psync();
    let mut replica = Node::start(replica_kind, &replica_args(&proxy, &[]));
    wait_link_up(&replica, 20);
    let writer = Writer::start(master.port(), "w");
    let points = [
        (Phase::PsyncReply, At::Byte(rng.below(40))),
        (Phase::BulkHeader, At::Byte(rng.below(8))),
        (Phase::Payload, At::Fraction(rng.fraction())),
        (Phase::Payload, At::Fraction(rng.fraction())),
        (Phase::Stream, At::Byte(rng.below(3000))),
    ];
    for (i, (phase, at)) in points.into_iter().enumerate() {
        set_diskless(&master, i % 2 == 1);
        proxy.push(Plan { phase, at, action: Action::Cut, force_full: false });
        proxy.cut_planless();
        proxy.wait_fired(i + 1, 60);
        wait_link_up(&replica, 20);
    }
    let log = writer.finish();
    assert!(log.ended.is_none(), "writer stopped: {:?}", log.ended);
    // A SYNC replica's offset does not follow its master's: compare the data itself.
    wait_until(30, "the SYNC replica to hold its master's dataset", || link_up(&replica) && digest(&master) == digest(&replica));
    assert_acked_present(replica.port(), &log.acked, test);
    let mut m = master.conn();
    assert_eq!(info_num(&mut m, "sync_partial_ok"), 0, "PSYNC never reached the master");
    let rlog = log_of(&replica.srv);
    let fallbacks = rlog.matches("Retrying with SYNC...").count();
    assert!(fallbacks > points.len(), "every connection fell back to SYNC: {fallbacks} in the replica's log");
    // A SYNC master has no replication id: the next PSYNC asks with an empty one, as
    // C's %s prints Redis's zeroed id (not 40 NUL bytes).
    assert!(rlog.contains("Trying a partial resynchronization (request :"), "no PSYNC with the empty id:\n{rlog}");
    assert!(!rlog.contains('\0'), "a NUL byte in the replica's log:\n{rlog}");
    let replid = info_field(&mut replica.conn(), "master_replid");
    assert_eq!(replid.as_deref(), Some(""), "a replica synced by SYNC shows its zeroed replication id as Redis's %s does");
    report(&format!(
        "{test}: {:?}; {fallbacks} SYNC fallbacks, sync_full {}; {} writes, {} acknowledged",
        proxy.fired(),
        info_num(&mut m, "sync_full"),
        log.sent,
        log.acked.len()
    ));
    master.assert_healthy();
    replica.assert_healthy();
}

#[test]
fn sync_fallback_cut_anywhere_ferredis_to_ferredis() {
    sync_fallback_cuts("sync_fallback_cut_anywhere_ferredis_to_ferredis", ServerKind::Ferredis, ServerKind::Ferredis);
}

#[test]
fn sync_fallback_cut_anywhere_redis_master_to_ferredis() {
    if !require_redis() {
        return;
    }
    sync_fallback_cuts("sync_fallback_cut_anywhere_redis_master_to_ferredis", ServerKind::Redis, ServerKind::Ferredis);
}

#[test]
fn sync_fallback_cut_anywhere_ferredis_master_to_redis() {
    if !require_redis() {
        return;
    }
    sync_fallback_cuts("sync_fallback_cut_anywhere_ferredis_master_to_redis", ServerKind::Ferredis, ServerKind::Redis);
}

// ---------------------------------------------------------------------------------------------
// Chains
// ---------------------------------------------------------------------------------------------

/// master -> middle (through the proxy) -> sub-replica (direct), under the writer. By
/// turns, the middle link is cut at a random point of any phase, or the middle replica is
/// SIGKILLed there (held) and restarted from its directory. The sub-replica must follow:
/// at the end all three digests match and it has every acknowledged write.
fn chain(test: &str, kinds: [ServerKind; 3], iterations: usize) {
    let mut rng = Rng::for_test(test);
    let mut top = Node::start(kinds[0], &base_args(&[]));
    load_dataset(top.port(), &mut rng);
    let proxy = Proxy::start(top.port());
    let mut mid = Node::start(kinds[1], &replica_args(&proxy, &[]));
    let mid_port = mid.port().to_string();
    let mut sub = Node::start(kinds[2], &base_args(&["--replicaof", "127.0.0.1", &mid_port]));
    wait_link_up(&mid, 20);
    wait_link_up(&sub, 20);
    let writer = Writer::start(top.port(), "w");
    let mut fired = 0;
    for it in 0..iterations {
        fired += 1;
        if it % 2 == 0 {
            let phase = rng.pick(&ALL_PHASES);
            proxy.push(random_plan(&mut rng, phase, Action::Cut));
            proxy.cut_planless();
            proxy.wait_fired(fired, 60);
        } else {
            let phase = phase_of_class(&mut rng, it / 2);
            proxy.push(random_plan(&mut rng, phase, Action::Hold));
            proxy.cut_planless();
            proxy.wait_held(30);
            mid.sigkill();
            proxy.release();
            let args = mid.args.clone();
            mid.restart(&args);
        }
        wait_link_up(&mid, 30);
        wait_link_up(&sub, 30);
    }
    let log = writer.finish();
    assert!(log.ended.is_none(), "writer stopped: {:?}", log.ended);
    assert_same_digest(&top, &mid);
    assert_same_digest(&top, &sub);
    assert_acked_present(sub.port(), &log.acked, test);
    let mut md = mid.conn();
    report(&format!(
        "{test}: {:?}; middle's sync_full {} sync_partial_ok {}; {} writes, {} acknowledged",
        proxy.fired(),
        info_num(&mut md, "sync_full"),
        info_num(&mut md, "sync_partial_ok"),
        log.sent,
        log.acked.len()
    ));
    top.assert_healthy();
    mid.assert_healthy();
    sub.assert_healthy();
}

#[test]
fn chain_middle_cut_or_killed_sub_replica_converges_ferredis() {
    let kinds = [ServerKind::Ferredis; 3];
    chain("chain_middle_cut_or_killed_sub_replica_converges_ferredis", kinds, 4);
}

#[test]
fn chain_middle_cut_or_killed_sub_replica_converges_ferredis_middle() {
    if !require_redis() {
        return;
    }
    let kinds = [ServerKind::Redis, ServerKind::Ferredis, ServerKind::Redis];
    chain("chain_middle_cut_or_killed_sub_replica_converges_ferredis_middle", kinds, 4);
}

#[test]
fn chain_middle_cut_or_killed_sub_replica_converges_redis_middle() {
    if !require_redis() {
        return;
    }
    let kinds = [ServerKind::Ferredis, ServerKind::Redis, ServerKind::Ferredis];
    chain("chain_middle_cut_or_killed_sub_replica_converges_redis_middle", kinds, 4);
}
