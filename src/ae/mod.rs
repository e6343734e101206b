//! The event loop: Redis's ae.c on top of mio (epoll).
//!
//! It owns the file events (a READABLE and a WRITABLE handler per fd, keyed by the fd like
//! ae's `events[]` array) and the time events (ids, a handler that returns its next period in
//! milliseconds or [`AE_NOMORE`]). [`ae_process_events`] runs `beforesleep`, waits no longer
//! than the nearest time event, runs `aftersleep`, dispatches the fired file events, then the
//! due time events. The server's whole life is [`ae_main`] calling it in a loop.
//!
//! # Level-triggered semantics on an edge-triggered poller
//!
//! ae is level-triggered: as long as a socket stays readable, every turn of the loop calls its
//! read handler again. mio is edge-triggered: it reports a socket once per arrival of data. A
//! handler that reads only part of what is there (the query reader takes 16 KiB a turn, so one
//! flooding client cannot starve the others) would never be told again.
//!
//! The mechanism chosen here: readiness is *latched* per fd. mio's events set bits in
//! `FileEvent::ready`; dispatch clears the bits it is about to serve and calls the handler; a
//! handler that stopped before the kernel said "would block" re-arms itself with
//! [`EventLoop::ae_set_ready`]. A re-armed fd is dispatched again on the next turn, and while
//! any fd is re-armed the poll does not sleep. A handler that reads until `WouldBlock` (or a
//! short read, which on a stream socket means the queue was empty) simply does not re-arm: the
//! next arrival of data produces a new edge. Forgetting to re-arm can only delay a handler
//! until more data arrives; it can never spin the loop.
//!
//! One arrival produces no later edge: the peer's close. When the FIN comes with the last
//! bytes, one edge reports both, and a short read returns the bytes without showing the end
//! of file. The loop therefore remembers, per fd, that mio reported the read side closed
//! ([`EventLoop::ae_read_closed`]); a reader that stopped on a short read checks it and
//! re-arms, so its next read returns 0 and it closes the connection as Redis would.

use std::collections::VecDeque;
use std::io;
use std::os::unix::io::RawFd;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

pub const AE_NONE: u8 = 0;
pub const AE_READABLE: u8 = 1;
pub const AE_WRITABLE: u8 = 2;
/// With WRITABLE: never fire the writable handler after the readable one in the same turn,
/// fire it first instead (Redis uses it to fsync before replying).
pub const AE_BARRIER: u8 = 4;

pub const AE_FILE_EVENTS: u32 = 1 << 0;
pub const AE_TIME_EVENTS: u32 = 1 << 1;
pub const AE_ALL_EVENTS: u32 = AE_FILE_EVENTS | AE_TIME_EVENTS;
pub const AE_DONT_WAIT: u32 = 1 << 2;
pub const AE_CALL_BEFORE_SLEEP: u32 = 1 << 3;
pub const AE_CALL_AFTER_SLEEP: u32 = 1 << 4;

/// Returned by a time handler that does not want to run again.
pub const AE_NOMORE: i64 = -1;

/// A file event handler: `(state, fd, fired mask)`.
pub type FileProc<S> = fn(&mut S, RawFd, u8);
/// A time event handler: `(state, id)` -> next period in ms, or [`AE_NOMORE`].
pub type TimeProc<S> = fn(&mut S, i64) -> i64;
/// The before/after sleep hooks.
pub type SleepProc<S> = fn(&mut S);

/// The state the loop drives owns its loop: handlers get `&mut S` and reach the loop from it.
pub trait AeHost: Sized {
    fn event_loop(&mut self) -> &mut EventLoop<Self>;
}

/// Redis: ae.h aeFileEvent.
struct FileEvent<S> {
    mask: u8,
    rfile_proc: Option<FileProc<S>>,
    wfile_proc: Option<FileProc<S>>,
    /// Readiness latched from mio (or re-armed by a handler) and not yet dispatched.
    ready: u8,
    /// True while the fd sits in `EventLoop::fired`, so it is queued once.
    queued: bool,
    /// mio reported the peer's close (or an error) on this fd; kept until the fd is
    /// deregistered (see the module header).
    read_closed: bool,
}

impl<S> FileEvent<S> {
    fn empty() -> Self {
        FileEvent { mask: AE_NONE, rfile_proc: None, wfile_proc: None, ready: 0, queued: false, read_closed: false }
    }
}

/// Redis: ae.h aeTimeEvent.
struct TimeEvent<S> {
    id: i64,
    when: Instant,
    time_proc: TimeProc<S>,
}

/// Redis: ae.h aeEventLoop.
pub struct EventLoop<S> {
    poll: Poll,
    events: Events,
    /// Indexed by fd, grown on demand up to `setsize`.
    file_events: Vec<FileEvent<S>>,
    setsize: usize,
    /// Fds with undispatched readiness, in the order they became ready.
    fired: VecDeque<RawFd>,
    time_events: Vec<TimeEvent<S>>,
    time_event_next_id: i64,
    stop: bool,
    dont_wait: bool,
    beforesleep: Option<SleepProc<S>>,
    aftersleep: Option<SleepProc<S>>,
}

impl<S: AeHost> EventLoop<S> {
    /// Redis: ae.c aeCreateEventLoop(). `setsize` bounds the fds the loop can watch.
    pub fn ae_create_event_loop(setsize: usize) -> io::Result<Self> {
        Ok(EventLoop {
            poll: Poll::new()?,
            events: Events::with_capacity(setsize.clamp(64, 1024)),
            file_events: Vec::new(),
            setsize,
            fired: VecDeque::new(),
            time_events: Vec::new(),
            time_event_next_id: 0,
            stop: false,
            dont_wait: false,
            beforesleep: None,
            aftersleep: None,
        })
    }

    /// Redis: ae.c aeGetSetSize().
    pub fn ae_get_set_size(&self) -> usize {
        self.setsize
    }

    /// Redis: ae.c aeResizeSetSize(). Refused while an fd at or above the new size is watched.
    pub fn ae_resize_set_size(&mut self, setsize: usize) -> Result<(), ()> {
        let in_use = self.file_events.iter().rposition(|fe| fe.mask != AE_NONE);
        if in_use.map_or(false, |maxfd| maxfd >= setsize) {
            return Err(());
        }
        self.setsize = setsize;
        Ok(())
    }

    /// Redis: ae.c aeStop().
    pub fn ae_stop(&mut self) {
        self.stop = true;
    }

    /// Redis: ae.c aeSetDontWait(). The next poll does not sleep.
    pub fn ae_set_dont_wait(&mut self, no_wait: bool) {
        self.dont_wait = no_wait;
    }

    /// Redis: ae.c aeSetBeforeSleepProc().
    pub fn ae_set_before_sleep_proc(&mut self, proc_: Option<SleepProc<S>>) {
        self.beforesleep = proc_;
    }

    /// Redis: ae.c aeSetAfterSleepProc().
    pub fn ae_set_after_sleep_proc(&mut self, proc_: Option<SleepProc<S>>) {
        self.aftersleep = proc_;
    }

    /// Redis: ae.c aeCreateFileEvent(). Adds `mask` to the fd's watched events with `proc_`
    /// as the handler of each bit in it.
    pub fn ae_create_file_event(&mut self, fd: RawFd, mask: u8, proc_: FileProc<S>) -> io::Result<()> {
        let idx = self.slot_index(fd)?;
        if self.file_events.len() <= idx {
            self.file_events.resize_with(idx + 1, FileEvent::empty);
        }
        let old_mask = self.file_events[idx].mask;
        let new_mask = old_mask | mask;
        self.api_update(fd, old_mask, new_mask)?;
        let fe = &mut self.file_events[idx];
        fe.mask = new_mask;
        if mask & AE_READABLE != 0 {
            fe.rfile_proc = Some(proc_);
        }
        if mask & AE_WRITABLE != 0 {
            fe.wfile_proc = Some(proc_);
        }
        Ok(())
    }

    /// Redis: ae.c aeDeleteFileEvent(). Removes `mask` from the fd's watched events; an fd left
    /// with no events is deregistered and forgets any latched readiness.
    pub fn ae_delete_file_event(&mut self, fd: RawFd, mask: u8) {
        let Some(idx) = usize::try_from(fd).ok().filter(|&i| i < self.file_events.len()) else {
            return;
        };
        let old_mask = self.file_events[idx].mask;
        if old_mask == AE_NONE {
            return;
        }
        let mut remove = mask;
        // Removing WRITABLE also removes the BARRIER, as in ae.c.
        if remove & AE_WRITABLE != 0 {
            remove |= AE_BARRIER;
        }
        let new_mask = old_mask & !remove;
        // A failed epoll update leaves nothing to undo: the fd is gone or will be closed.
        let _ = self.api_update(fd, old_mask, new_mask);
        let fe = &mut self.file_events[idx];
        fe.mask = new_mask;
        fe.ready &= new_mask;
        if new_mask == AE_NONE {
            fe.read_closed = false;
        }
        if new_mask & AE_READABLE == 0 {
            fe.rfile_proc = None;
        }
        if new_mask & AE_WRITABLE == 0 {
            fe.wfile_proc = None;
        }
    }

    /// True once mio reported that the peer closed `fd` (or an error on it): a read that
    /// came back short may have left the end of file unseen, so the reader must re-arm.
    pub fn ae_read_closed(&self, fd: RawFd) -> bool {
        usize::try_from(fd).ok().and_then(|i| self.file_events.get(i)).is_some_and(|fe| fe.read_closed)
    }

    /// Redis: ae.c aeGetFileEvents().
    pub fn ae_get_file_events(&self, fd: RawFd) -> u8 {
        usize::try_from(fd).ok().and_then(|i| self.file_events.get(i)).map_or(AE_NONE, |fe| fe.mask)
    }

    /// Re-arms `mask` on `fd` so its handler runs again next turn, as a level-triggered poller
    /// would (see the module header). Has no Redis counterpart: epoll in ae.c is level-triggered.
    pub fn ae_set_ready(&mut self, fd: RawFd, mask: u8) {
        let Some(fe) = usize::try_from(fd).ok().and_then(|i| self.file_events.get_mut(i)) else {
            return;
        };
        let bits = mask & fe.mask & (AE_READABLE | AE_WRITABLE);
        if bits == 0 {
            return;
        }
        fe.ready |= bits;
        if !fe.queued {
            fe.queued = true;
            self.fired.push_back(fd);
        }
    }

    /// Redis: ae.c aeCreateTimeEvent(). Returns the event's id.
    pub fn ae_create_time_event(&mut self, milliseconds: u64, proc_: TimeProc<S>) -> i64 {
        let id = self.time_event_next_id;
        self.time_event_next_id += 1;
        let when = Instant::now() + Duration::from_millis(milliseconds);
        self.time_events.push(TimeEvent { id, when, time_proc: proc_ });
        id
    }

    /// Redis: ae.c aeDeleteTimeEvent().
    pub fn ae_delete_time_event(&mut self, id: i64) -> Result<(), ()> {
        let before = self.time_events.len();
        self.time_events.retain(|te| te.id != id);
        if self.time_events.len() < before {
            Ok(())
        } else {
            Err(())
        }
    }

    fn slot_index(&self, fd: RawFd) -> io::Result<usize> {
        match usize::try_from(fd) {
            Ok(idx) if idx < self.setsize => Ok(idx),
            _ => Err(io::Error::from_raw_os_error(libc::ERANGE)),
        }
    }

    /// Redis: ae_epoll.c aeApiAddEvent()/aeApiDelEvent(): tells epoll the fd's new interest.
    fn api_update(&mut self, fd: RawFd, old_mask: u8, new_mask: u8) -> io::Result<()> {
        let registry = self.poll.registry();
        let token = Token(fd as usize);
        let interest = mask_to_interest(new_mask);
        match (old_mask & (AE_READABLE | AE_WRITABLE), interest) {
            (AE_NONE, Some(interest)) => registry.register(&mut SourceFd(&fd), token, interest),
            (_, Some(interest)) => registry.reregister(&mut SourceFd(&fd), token, interest),
            (AE_NONE, None) => Ok(()),
            (_, None) => registry.deregister(&mut SourceFd(&fd)),
        }
    }

    /// Redis: ae.c usUntilEarliestTimer(). None when there is no time event.
    fn time_until_earliest_timer(&self) -> Option<Duration> {
        let earliest = self.time_events.iter().map(|te| te.when).min()?;
        Some(earliest.saturating_duration_since(Instant::now()))
    }

    /// Redis: ae_epoll.c aeApiPoll(). Latches what epoll reports into the per-fd readiness.
    fn api_poll(&mut self, timeout: Option<Duration>) {
        if let Err(err) = self.poll.poll(&mut self.events, timeout) {
            if err.kind() != io::ErrorKind::Interrupted {
                log::warn!("aeApiPoll: epoll_wait, {}", err);
            }
            return;
        }
        // Moved out for the loop so that latching can borrow the loop; no allocation.
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for ev in events.iter() {
            let fd = ev.token().0 as RawFd;
            if ev.is_read_closed() || ev.is_error() {
                if let Some(fe) = usize::try_from(fd).ok().and_then(|i| self.file_events.get_mut(i)) {
                    fe.read_closed = fe.mask != AE_NONE;
                }
            }
            self.ae_set_ready(fd, event_mask(ev));
        }
        self.events = events;
    }
}

fn mask_to_interest(mask: u8) -> Option<Interest> {
    match (mask & AE_READABLE != 0, mask & AE_WRITABLE != 0) {
        (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
        (true, false) => Some(Interest::READABLE),
        (false, true) => Some(Interest::WRITABLE),
        (false, false) => None,
    }
}

/// Errors and hang-ups wake both handlers, as EPOLLERR/EPOLLHUP do in ae_epoll.c.
fn event_mask(ev: &mio::event::Event) -> u8 {
    let mut mask = AE_NONE;
    if ev.is_readable() || ev.is_read_closed() {
        mask |= AE_READABLE;
    }
    if ev.is_writable() || ev.is_write_closed() {
        mask |= AE_WRITABLE;
    }
    if ev.is_error() {
        mask |= AE_READABLE | AE_WRITABLE;
    }
    mask
}

/// Redis: ae.c aeProcessEvents(). Returns the number of events processed.
pub fn ae_process_events<S: AeHost>(state: &mut S, flags: u32) -> usize {
    if flags & (AE_TIME_EVENTS | AE_FILE_EVENTS) == 0 {
        return 0;
    }
    let mut processed = 0;
    if flags & AE_FILE_EVENTS != 0 {
        if flags & AE_CALL_BEFORE_SLEEP != 0 {
            if let Some(before) = state.event_loop().beforesleep {
                before(state);
            }
        }
        let el = state.event_loop();
        let timeout = poll_timeout(el, flags);
        el.api_poll(timeout);
        if flags & AE_CALL_AFTER_SLEEP != 0 {
            if let Some(after) = state.event_loop().aftersleep {
                after(state);
            }
        }
        processed += dispatch_file_events(state);
    }
    if flags & AE_TIME_EVENTS != 0 {
        processed += process_time_events(state);
    }
    processed
}

/// How long the poll may sleep: not at all when told not to or when some fd is still ready,
/// otherwise until the nearest time event (forever when there is none).
fn poll_timeout<S: AeHost>(el: &EventLoop<S>, flags: u32) -> Option<Duration> {
    if el.dont_wait || flags & AE_DONT_WAIT != 0 || !el.fired.is_empty() {
        return Some(Duration::ZERO);
    }
    if flags & AE_TIME_EVENTS == 0 {
        return None;
    }
    el.time_until_earliest_timer()
}

/// Serves every fd that was ready when this turn started; fds re-armed during dispatch wait
/// for the next turn, so one busy client cannot keep the loop from polling.
fn dispatch_file_events<S: AeHost>(state: &mut S) -> usize {
    let count = state.event_loop().fired.len();
    let mut processed = 0;
    for _ in 0..count {
        let el = state.event_loop();
        let Some(fd) = el.fired.pop_front() else { break };
        let Some(fe) = el.file_events.get_mut(fd as usize) else { continue };
        fe.queued = false;
        let ready = fe.ready & fe.mask;
        fe.ready &= !ready;
        if ready != 0 {
            dispatch_one(state, fd, ready);
            processed += 1;
        }
    }
    processed
}

/// Redis: the body of aeProcessEvents()'s fired loop: readable first unless AE_BARRIER, and
/// the same handler is not called twice for one event.
fn dispatch_one<S: AeHost>(state: &mut S, fd: RawFd, ready: u8) {
    let (mask, rproc, _) = handlers(state, fd);
    let invert = mask & AE_BARRIER != 0;
    let mut fired = 0;
    if !invert && ready & AE_READABLE != 0 {
        if let Some(rproc) = rproc {
            rproc(state, fd, ready);
            fired += 1;
        }
    }
    if ready & AE_WRITABLE != 0 {
        // The read handler may have removed or replaced the write handler: look again.
        let (_, rproc_now, wproc_now) = handlers(state, fd);
        if let Some(wproc) = wproc_now {
            if fired == 0 || rproc_now.map_or(true, |r| r as usize != wproc as usize) {
                wproc(state, fd, ready);
                fired += 1;
            }
        }
    }
    if invert && ready & AE_READABLE != 0 {
        let (_, rproc_now, wproc_now) = handlers(state, fd);
        if let Some(rproc) = rproc_now {
            if fired == 0 || wproc_now.map_or(true, |w| w as usize != rproc as usize) {
                rproc(state, fd, ready);
            }
        }
    }
}

fn handlers<S: AeHost>(state: &mut S, fd: RawFd) -> (u8, Option<FileProc<S>>, Option<FileProc<S>>) {
    match state.event_loop().file_events.get(fd as usize) {
        Some(fe) => (fe.mask, fe.rfile_proc, fe.wfile_proc),
        None => (AE_NONE, None, None),
    }
}

/// Redis: ae.c processTimeEvents(). Events created by a handler during this pass wait for the
/// next one, as in ae.c (they have ids above `max_id`).
fn process_time_events<S: AeHost>(state: &mut S) -> usize {
    let max_id = state.event_loop().time_event_next_id - 1;
    let now = Instant::now();
    if !state.event_loop().time_events.iter().any(|te| te.when <= now) {
        return 0;
    }
    let due: Vec<(i64, TimeProc<S>)> = state
        .event_loop()
        .time_events
        .iter()
        .filter(|te| te.id <= max_id && te.when <= now)
        .map(|te| (te.id, te.time_proc))
        .collect();
    let mut processed = 0;
    for (id, time_proc) in due {
        // A handler may have deleted a later due event: skip it then.
        if !state.event_loop().time_events.iter().any(|te| te.id == id) {
            continue;
        }
        let next = time_proc(state, id);
        processed += 1;
        let el = state.event_loop();
        if next == AE_NOMORE {
            let _ = el.ae_delete_time_event(id);
        } else if let Some(te) = el.time_events.iter_mut().find(|te| te.id == id) {
            te.when = Instant::now() + Duration::from_millis(next.max(0) as u64);
        }
    }
    processed
}

/// Redis: ae.c aeMain(). Runs until [`EventLoop::ae_stop`].
pub fn ae_main<S: AeHost>(state: &mut S) {
    state.event_loop().stop = false;
    while !state.event_loop().stop {
        ae_process_events(state, AE_ALL_EVENTS | AE_CALL_BEFORE_SLEEP | AE_CALL_AFTER_SLEEP);
    }
}

#[cfg(test)]
mod tests;
