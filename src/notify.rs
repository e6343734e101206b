//! Keyspace notifications: Redis's notify.c.
//!
//! Commands that change the keyspace call [`notify_keyspace_event`] right where Redis does;
//! when the event's class is enabled by `notify-keyspace-events` (parsed into flags by
//! config.rs) the event becomes ordinary Pub/Sub messages on `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>`, published synchronously from the event loop through
//! pubsub.rs. Nothing is queued: a subscriber sees the event in the same loop turn.

pub use crate::config::{
    NOTIFY_ALL, NOTIFY_EVICTED, NOTIFY_EXPIRED, NOTIFY_GENERIC, NOTIFY_HASH, NOTIFY_KEYEVENT,
    NOTIFY_KEYSPACE, NOTIFY_KEY_MISS, NOTIFY_LIST, NOTIFY_LOADED, NOTIFY_MODULE, NOTIFY_NEW,
    NOTIFY_SET, NOTIFY_STREAM, NOTIFY_STRING, NOTIFY_ZSET,
};
use crate::pubsub;
use crate::server::Server;

/// Redis: notify.c notifyKeyspaceEvent(): `type_flag` is the event's class (NOTIFY_STRING,
/// NOTIFY_GENERIC ...), `event` its name ("set", "del", "expired" ...).
pub fn notify_keyspace_event(srv: &mut Server, type_flag: u32, event: &str, key: &[u8], dbid: usize) {
    let flags = srv.config.notify_keyspace_events;
    if flags & type_flag == 0 {
        return;
    }
    // Nobody could receive the messages: skip building them (invisible to clients).
    if pubsub::server_pubsub_subscription_count(srv) == 0 {
        return;
    }
    if flags & NOTIFY_KEYSPACE != 0 {
        let channel = event_channel("__keyspace@", dbid, key);
        pubsub::pubsub_publish_message(srv, &channel, event.as_bytes(), false);
    }
    if flags & NOTIFY_KEYEVENT != 0 {
        let channel = event_channel("__keyevent@", dbid, event.as_bytes());
        pubsub::pubsub_publish_message(srv, &channel, key, false);
    }
}

/// `<prefix><db>__:<suffix>`, e.g. `__keyspace@0__:mykey`.
fn event_channel(prefix: &str, dbid: usize, suffix: &[u8]) -> Vec<u8> {
    let mut channel = format!("{}{}__:", prefix, dbid).into_bytes();
    channel.extend_from_slice(suffix);
    channel
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::networking::Client;
    use crate::test_support::{run_command, test_server};

    /// A subscriber (id 5) to every keyspace and keyevent channel, reachable by id.
    fn subscribed_server(events: &str) -> Server {
        let mut srv = test_server();
        srv.config.notify_keyspace_events = crate::config::keyspace_events_string_to_flags(events.as_bytes()).expect("valid flags");
        let mut c = Box::new(Client::new(5, None, 0));
        c.fd = 40;
        run_command(&mut srv, &mut c, pubsub::psubscribe_command, &["psubscribe", "__key*__:*"]);
        srv.link_client(c);
        srv
    }

    fn received(srv: &mut Server) -> String {
        let c = srv.client_by_id(5).expect("linked");
        let text = String::from_utf8_lossy(&c.reply.pending()).into_owned();
        c.reply.advance(c.reply.pending_len());
        text
    }

    #[test]
    fn publishes_keyspace_then_keyevent() {
        let mut srv = subscribed_server("KEA");
        notify_keyspace_event(&mut srv, NOTIFY_STRING, "set", b"k", 3);
        assert_eq!(
            received(&mut srv),
            "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$16\r\n__keyspace@3__:k\r\n$3\r\nset\r\n\
             *4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@3__:set\r\n$1\r\nk\r\n"
        );
    }

    #[test]
    fn classes_and_channels_follow_the_flags() {
        let mut srv = subscribed_server("Kg");
        notify_keyspace_event(&mut srv, NOTIFY_STRING, "set", b"k", 0);
        assert_eq!(received(&mut srv), "");
        notify_keyspace_event(&mut srv, NOTIFY_GENERIC, "del", b"k", 0);
        assert_eq!(received(&mut srv), "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$16\r\n__keyspace@0__:k\r\n$3\r\ndel\r\n");
        // 'A' leaves out "new" (NOTIFY_NEW) and key misses.
        let mut srv = subscribed_server("EA");
        notify_keyspace_event(&mut srv, NOTIFY_NEW, "new", b"k", 0);
        assert_eq!(received(&mut srv), "");
        notify_keyspace_event(&mut srv, NOTIFY_EXPIRED, "expired", b"k", 0);
        assert!(received(&mut srv).contains("__keyevent@0__:expired"));
    }

    #[test]
    fn disabled_notifications_publish_nothing() {
        let mut srv = subscribed_server("");
        notify_keyspace_event(&mut srv, NOTIFY_STRING, "set", b"k", 0);
        assert_eq!(received(&mut srv), "");
    }
}
