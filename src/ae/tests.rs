//! Tests of the event loop's semantics: level-triggered re-arming on top of mio, time events
//! and their periods, AE_NOMORE, and the poll timeout taken from the nearest timer.

use super::*;
use std::io::{Read, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;

struct Host {
    el: EventLoop<Host>,
    reader: Option<UnixStream>,
    bytes_read: Vec<u8>,
    read_calls: usize,
    timer_calls: Vec<i64>,
    before_sleep_calls: usize,
}

impl AeHost for Host {
    fn event_loop(&mut self) -> &mut EventLoop<Host> {
        &mut self.el
    }
}

fn host() -> Host {
    Host {
        el: EventLoop::ae_create_event_loop(1024).expect("event loop"),
        reader: None,
        bytes_read: Vec::new(),
        read_calls: 0,
        timer_calls: Vec::new(),
        before_sleep_calls: 0,
    }
}

/// Reads one byte per call, like a handler with a tiny read budget, and re-arms itself
/// when it filled its buffer (there may be more).
fn read_one_byte(h: &mut Host, fd: RawFd, _mask: u8) {
    h.read_calls += 1;
    let mut byte = [0u8; 1];
    let Some(reader) = h.reader.as_mut() else { return };
    if let Ok(1) = reader.read(&mut byte) {
        h.bytes_read.push(byte[0]);
        h.el.ae_set_ready(fd, AE_READABLE);
    }
}

#[test]
fn partially_read_socket_is_served_again_without_new_data() {
    let mut h = host();
    let (mut writer, reader) = UnixStream::pair().expect("socketpair");
    reader.set_nonblocking(true).expect("nonblocking");
    let fd = reader.as_raw_fd();
    h.reader = Some(reader);
    h.el.ae_create_file_event(fd, AE_READABLE, read_one_byte).expect("register");
    writer.write_all(b"0123456789").expect("write");
    // One edge from epoll; the handler must still be called until all ten bytes are read.
    for _ in 0..20 {
        ae_process_events(&mut h, AE_FILE_EVENTS | AE_DONT_WAIT);
    }
    assert_eq!(h.bytes_read, b"0123456789");
    // The 11th call found nothing (WouldBlock) and did not re-arm: the loop goes quiet.
    let calls = h.read_calls;
    for _ in 0..5 {
        ae_process_events(&mut h, AE_FILE_EVENTS | AE_DONT_WAIT);
    }
    assert_eq!(h.read_calls, calls);
    writer.write_all(b"x").expect("write");
    ae_process_events(&mut h, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(h.bytes_read.last(), Some(&b'x'));
}

#[test]
fn deleted_file_event_forgets_latched_readiness() {
    let mut h = host();
    let (mut writer, reader) = UnixStream::pair().expect("socketpair");
    reader.set_nonblocking(true).expect("nonblocking");
    let fd = reader.as_raw_fd();
    h.reader = Some(reader);
    h.el.ae_create_file_event(fd, AE_READABLE, read_one_byte).expect("register");
    writer.write_all(b"ab").expect("write");
    ae_process_events(&mut h, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(h.bytes_read, b"a");
    h.el.ae_delete_file_event(fd, AE_READABLE);
    assert_eq!(h.el.ae_get_file_events(fd), AE_NONE);
    ae_process_events(&mut h, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(h.bytes_read, b"a", "no handler runs after its event was deleted");
}

fn periodic(h: &mut Host, id: i64) -> i64 {
    h.timer_calls.push(id);
    if h.timer_calls.len() >= 3 {
        AE_NOMORE
    } else {
        1
    }
}

#[test]
fn time_event_runs_until_it_returns_nomore() {
    let mut h = host();
    let id = h.el.ae_create_time_event(1, periodic);
    for _ in 0..200 {
        ae_process_events(&mut h, AE_ALL_EVENTS);
        if h.timer_calls.len() >= 3 {
            break;
        }
    }
    assert_eq!(h.timer_calls, vec![id, id, id]);
    assert!(h.el.ae_delete_time_event(id).is_err(), "AE_NOMORE removed the event");
}

fn count_before_sleep(h: &mut Host) {
    h.before_sleep_calls += 1;
}

fn stop_loop(h: &mut Host, _id: i64) -> i64 {
    h.el.ae_stop();
    AE_NOMORE
}

#[test]
fn ae_main_sleeps_until_the_nearest_timer_and_stops() {
    let mut h = host();
    h.el.ae_set_before_sleep_proc(Some(count_before_sleep));
    h.el.ae_create_time_event(30, stop_loop);
    let started = std::time::Instant::now();
    ae_main(&mut h);
    // With nothing else to do, the wait itself must have lasted until the timer.
    assert!(started.elapsed() >= std::time::Duration::from_millis(30));
    assert!(h.before_sleep_calls >= 1);
}

fn write_then_note(h: &mut Host, _fd: RawFd, mask: u8) {
    assert!(mask & AE_WRITABLE != 0);
    h.read_calls += 100;
}

#[test]
fn writable_interest_fires_on_a_writable_socket() {
    let mut h = host();
    let (a, _b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).expect("nonblocking");
    h.el.ae_create_file_event(a.as_raw_fd(), AE_WRITABLE, write_then_note).expect("register");
    ae_process_events(&mut h, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(h.read_calls, 100);
}
