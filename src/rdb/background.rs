//! SAVE, BGSAVE and LASTSAVE; the fork()ed child that writes the RDB and how the parent learns
//! its result.
//!
//! Redis: rdb.c rdbSaveBackground(), saveCommand(), bgsaveCommand(), lastsaveCommand(),
//! backgroundSaveDoneHandler(); server.c checkChildrenDone() (called from server_cron);
//! childinfo.c (the pipe the child reports copy-on-write size through).
