//! ferredis-check-rdb: Redis's redis-check-rdb (redis-check-rdb.c), which Redis runs when its
//! binary is invoked under that name. Checks one RDB file and prints Redis's report; exits 0
//! when the file looks sane, 1 otherwise. The work is in `ferredis::redis_check_rdb`.

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut out = std::io::stdout().lock();
    std::process::exit(ferredis::redis_check_rdb::redis_check_rdb_main(&argv, &mut out));
}
