//! Socket helpers: Redis's anet.c. Listening sockets with Redis's options (SO_REUSEADDR,
//! the configured backlog, IPV6_V6ONLY), non-blocking accept, TCP_NODELAY and keep-alive.
//! `init_server` builds the listeners here; the accept handlers in networking.rs use the rest.

use std::ffi::CString;
use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::{FromRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};

/// Redis: anet.c anetTcpServer()/anetTcp6Server(): a non-blocking listener on `addr:port`.
pub fn anet_tcp_server(port: u16, addr: &str, backlog: i32) -> io::Result<TcpListener> {
    let ip: IpAddr = match addr {
        "*" => "0.0.0.0".parse().map_err(invalid)?,
        "::*" => "::".parse().map_err(invalid)?,
        other => other.parse().map_err(invalid)?,
    };
    let sockaddr = SocketAddr::new(ip, port);
    let domain = if ip.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    let fd = cvt(
        // SAFETY: socket() takes plain integers and returns a new fd or -1.
        unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) },
    )?;
    // SAFETY: fd is a socket we just created and own; the listener takes ownership.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    set_int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if ip.is_ipv6() {
        set_int_option(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    }
    bind_and_listen(fd, &sockaddr, backlog)?;
    Ok(listener)
}

fn bind_and_listen(fd: RawFd, addr: &SocketAddr, backlog: i32) -> io::Result<()> {
    let (storage, len) = sockaddr_from(addr);
    // SAFETY: storage is a valid sockaddr of `len` bytes for the socket's family.
    cvt(unsafe { libc::bind(fd, &storage as *const _ as *const libc::sockaddr, len) })?;
    // SAFETY: listen() on a bound socket fd we own.
    cvt(unsafe { libc::listen(fd, backlog) })?;
    Ok(())
}

fn sockaddr_from(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(v4.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            (storage, mem::size_of::<libc::sockaddr_in>() as libc::socklen_t)
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: v6.ip().octets() },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            (storage, mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t)
        }
    }
}

/// Redis: anet.c anetUnixServer(): a non-blocking unix listener with `perm` (0 = umask).
pub fn anet_unix_server(path: &str, perm: u32, backlog: i32) -> io::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    let cpath = CString::new(path).map_err(invalid)?;
    if perm != 0 {
        // SAFETY: cpath is a valid NUL-terminated path.
        cvt(unsafe { libc::chmod(cpath.as_ptr(), perm as libc::mode_t) })?;
    }
    let _ = backlog; // std listens with its own backlog on unix sockets; enough for local use.
    Ok(listener)
}

/// Redis: anet.c anetTcpNonBlockConnect(): a non-blocking socket whose connect() to
/// `addr` is under way (EINPROGRESS) or done; writability tells when it finished.
pub fn anet_tcp_non_block_connect(addr: &SocketAddr) -> io::Result<TcpStream> {
    let domain = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    let fd = cvt(
        // SAFETY: socket() takes plain integers and returns a new fd or -1.
        unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) },
    )?;
    // SAFETY: fd is a socket we just created and own; the stream takes ownership.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    let (storage, len) = sockaddr_from(addr);
    // SAFETY: storage is a valid sockaddr of `len` bytes for the socket's family.
    let ret = unsafe { libc::connect(fd, &storage as *const _ as *const libc::sockaddr, len) };
    if ret < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(err);
        }
    }
    Ok(stream)
}

/// Redis: anet.c anetTcpAccept(): Ok(None) when nothing is waiting.
pub fn anet_tcp_accept(fd: RawFd) -> io::Result<Option<TcpStream>> {
    accept_fd(fd).map(|fd| {
        // SAFETY: accept4 returned a new connected socket fd that nobody else owns.
        fd.map(|fd| unsafe { TcpStream::from_raw_fd(fd) })
    })
}

/// Redis: anet.c anetUnixAccept().
pub fn anet_unix_accept(fd: RawFd) -> io::Result<Option<UnixStream>> {
    accept_fd(fd).map(|fd| {
        // SAFETY: accept4 returned a new connected socket fd that nobody else owns.
        fd.map(|fd| unsafe { UnixStream::from_raw_fd(fd) })
    })
}

fn accept_fd(fd: RawFd) -> io::Result<Option<RawFd>> {
    loop {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: accept4 with null address pointers only returns a new fd or -1.
        let new_fd = unsafe { libc::accept4(fd, std::ptr::null_mut(), std::ptr::null_mut(), flags) };
        if new_fd >= 0 {
            return Ok(Some(new_fd));
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(None),
            // The peer gave up before we accepted it: not the listener's fault.
            io::ErrorKind::ConnectionAborted => continue,
            _ => return Err(err),
        }
    }
}

/// Redis: anet.c anetEnableTcpNoDelay().
pub fn anet_enable_tcp_no_delay(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
}

/// Redis: anet.c anetKeepAlive(): SO_KEEPALIVE plus Linux's idle/interval/count tuning.
pub fn anet_keep_alive(stream: &TcpStream, interval: i32) {
    use std::os::unix::io::AsRawFd;
    let fd = stream.as_raw_fd();
    let _ = set_int_option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    let _ = set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, interval);
    let _ = set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (interval / 3).max(1));
    let _ = set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
}

fn set_int_option(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    let len = mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: value lives for the call and len is its size.
    cvt(unsafe { libc::setsockopt(fd, level, name, &value as *const i32 as *const libc::c_void, len) })?;
    Ok(())
}

/// Redis: anet.c anetFormatAddr() of the peer, "ip:port" (IPv6 without brackets, as Redis).
pub fn format_peer(stream: &TcpStream) -> String {
    stream.peer_addr().map(format_addr).unwrap_or_else(|_| String::from("?:0"))
}

/// The local end of a connection, for CLIENT LIST laddr.
pub fn format_sock(stream: &TcpStream) -> String {
    stream.local_addr().map(format_addr).unwrap_or_else(|_| String::from("?:0"))
}

fn format_addr(addr: SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}

fn cvt(ret: i32) -> io::Result<i32> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn invalid<E: std::fmt::Display>(err: E) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, err.to_string())
}
