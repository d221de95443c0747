//! Whole-file tests: the SPEC §3 example parses, every error names its key path, and
//! errors are reported together.

use super::*;

const SPEC_EXAMPLE: &str = r#"
[server]
listen = ["0.0.0.0:8080"]
workers = 0
pin_cores = true
max_connections = 100000
shutdown_timeout = "30s"

[server.timeouts]
client_header = "10s"
client_idle = "60s"
upstream_connect = "2s"
upstream_response = "30s"
upstream_idle = "60s"

[server.limits]
max_header_bytes = "16KiB"
max_headers = 100
max_body = "0"

[admin]
listen = "127.0.0.1:9901"
token = "secret"

[log]
access = "off"
level = "info"

[[pool]]
name = "api"
balance = "least_conn"
servers = ["127.0.0.1:7001", { addr = "127.0.0.1:7002", weight = 2 }]
max_conns_per_server = 512
max_idle_per_server = 32
queue_timeout = "1s"
max_queue = 1024
retries = 1
fallback = "vod"

[pool.health]
path = "/healthz"
interval = "1s"
timeout = "500ms"
rise = 2
fall = 3
expect_status = "2xx"

[pool.passive]
consecutive_failures = 5
eject_for = "10s"

[[pool]]
name = "live"
balance = "consistent_hash"
servers = ["127.0.0.1:7101"]
hash_on = "path_dir"
hash_balance_factor = 1.25

[[pool]]
name = "vod"
servers = ["127.0.0.1:7201"]

[[route]]
name = "live"
pool = "live"
[route.match]
preset = "hls"
host = "*.example.com"
path_prefix = "/live/"
methods = ["GET", "HEAD"]
header = { name = "x-tier", value = "gold" }
cookie = { name = "plan", value = "premium" }
query = { name = "quality", value = "4k" }
user_agent = "(?i)AppleCoreMedia|ExoPlayer"

[default]
pool = "api"
"#;

fn errors(text: &str) -> Vec<String> {
    match Config::from_toml_str(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn has(errs: &[String], prefix: &str) -> bool {
    errs.iter().any(|e| e.starts_with(prefix))
}

#[test]
fn spec_example_parses() {
    let c = Config::from_toml_str(SPEC_EXAMPLE).unwrap();
    assert_eq!(c.pools.len(), 3);
    assert_eq!(c.pools[0].servers[1].weight, 2);
    assert_eq!(c.pools[0].fallback, Some(2));
    assert_eq!(
        c.pools[0].health.as_ref().unwrap().expect_status,
        StatusRange { lo: 200, hi: 299 }
    );
    assert_eq!(c.pools[1].balance, Balance::ConsistentHash);
    assert_eq!(c.pools[1].hash_balance_factor, Some(1.25));
    assert_eq!(c.routes[0].pool, 1);
    assert_eq!(c.default_pool, Some(0));
    assert_eq!(c.pools[0].max_queue, 1024);
    assert_eq!(c.pools[0].max_idle_per_server, 32);
    assert_eq!(c.pools[1].max_idle_per_server, 512);
    assert_eq!(c.server.limits.max_header_bytes, 16384);
    assert_eq!(
        c.server.timeouts.upstream_connect,
        std::time::Duration::from_secs(2)
    );
    assert_eq!(c.admin.token.as_deref(), Some("secret"));
    // Round trip through to_toml.
    let again = Config::from_toml_str(&c.to_toml()).unwrap();
    assert_eq!(again.pools[0].servers, c.pools[0].servers);
}

#[test]
fn shipped_config_is_valid() {
    let text = include_str!("../../config.toml");
    let with_token = text.replace("token_env = \"SLUICE_ADMIN_TOKEN\"", "token = \"t\"");
    Config::from_toml_str(&with_token).unwrap();
}

/// One of almost every mistake, all in one file.
const EVERY_MISTAKE: &str = r#"
[server]
listen = ["nowhere"]
workers = -1
[server.timeouts]
client_header = "10x"
[server.limits]
max_body = "ten"
[admin]
listen = "0.0.0.0:9901"
[log]
level = "loud"
[[pool]]
name = "api"
balance = "fastest"
servers = ["127.0.0.1:7001", "10.0.0.1", { addr = "127.0.0.1:7003", weight = 0 }, "127.0.0.1:7001"]
fallback = "nope"
hash_on = "path"
[pool.health]
path = "healthz"
expect_status = "2yy"
rise = 0
[[pool]]
name = "api"
servers = []
[[route]]
name = "vod"
pool = "vodd"
[route.match]
preset = "mp3"
host = "a.*.com"
path_prefix = "vod"
path_regex = "(["
methods = ["GET SP"]
header = [{ name = "x", value = "1", regex = "2" }, { name = "", present = true }]
[default]
pool = "missing"
"#;

#[test]
fn every_error_names_its_key_path_and_all_are_reported() {
    let errs = errors(EVERY_MISTAKE);
    for want in [
        "server.listen[0]: \"nowhere\" is not a socket address",
        "server.workers: -1 is out of range",
        "server.timeouts.client_header: \"10x\" is not a duration",
        "server.limits.max_body: \"ten\" is not a size",
        "admin.token: required because admin.listen",
        "log.level: \"loud\"",
        "pool[0] (\"api\").balance: \"fastest\"",
        "pool[0] (\"api\").servers[1]: \"10.0.0.1\" is not a socket address (want host:port",
        "pool[0] (\"api\").servers[2].weight: 0 is out of range",
        "pool[0] (\"api\").servers[3]: duplicate server 127.0.0.1:7001",
        "pool[0] (\"api\").fallback: no pool named \"nope\"",
        "pool[0] (\"api\").hash_on: only allowed with balance = \"consistent_hash\"",
        "pool[0] (\"api\").health.path: \"healthz\" must start with /",
        "pool[0] (\"api\").health.expect_status",
        "pool[0] (\"api\").health.rise",
        "pool[1] (\"api\").name: duplicate pool name",
        "pool[1] (\"api\").servers: at least one server",
        "route[0] (\"vod\").pool: no pool named \"vodd\"",
        "route[0] (\"vod\").match.preset",
        "route[0] (\"vod\").match.host",
        "route[0] (\"vod\").match.path_prefix",
        "route[0] (\"vod\").match.path_regex",
        "route[0] (\"vod\").match.methods[0]",
        "route[0] (\"vod\").match.header[0]: give exactly one of value, regex, present",
        "route[0] (\"vod\").match.header[1].name: must not be empty",
        "default.pool: no pool named \"missing\"",
    ] {
        assert!(has(&errs, want), "missing {want:?} in\n{}", errs.join("\n"));
    }
}

#[test]
fn unknown_keys_are_rejected_with_their_path() {
    let errs =
        errors("[server]\nlisten = [\"127.0.0.1:1\"]\n[server.timeouts]\nclient_headr = \"1s\"\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("server.timeouts.client_headr: unknown field"),
        "{errs:?}"
    );
    let errs = errors(
        "[[pool]]\nname = \"a\"\nservers = [\"127.0.0.1:1\"]\n[[pool]]\nname = \"b\"\nservers = [\"127.0.0.1:2\"]\n[pool.health]\npaht = \"/\"\n",
    );
    assert!(
        errs[0].starts_with("pool[1].health.paht: unknown field"),
        "{errs:?}"
    );
    assert!(!errors("[bogus]\nx = 1\n").is_empty());
}

#[test]
fn token_env_and_mutual_exclusion() {
    let errs = errors("[admin]\ntoken = \"a\"\ntoken_env = \"B\"\n");
    assert!(
        has(&errs, "admin: token and token_env must not both be given"),
        "{errs:?}"
    );
    let errs = errors("[admin]\ntoken_env = \"SLUICE_TEST_SURELY_UNSET_VAR\"\n");
    assert!(
        has(
            &errs,
            "admin.token_env: environment variable \"SLUICE_TEST_SURELY_UNSET_VAR\""
        ),
        "{errs:?}"
    );
    // PATH is always set: a token from the environment is accepted.
    let c = Config::from_toml_str("[admin]\nlisten = \"0.0.0.0:9901\"\ntoken_env = \"PATH\"\n")
        .unwrap();
    assert!(c.admin.token.is_some());
}

#[test]
fn status_patterns_and_hash_keys() {
    let c = Config::from_toml_str(
        "[[pool]]\nname = \"a\"\nbalance = \"consistent_hash\"\nhash_on = \"cookie:session\"\nservers = [\"127.0.0.1:1\"]\n[pool.health]\nexpect_status = \"200-399\"\n",
    )
    .unwrap();
    assert_eq!(c.pools[0].hash_on, HashOn::Cookie("session".into()));
    assert_eq!(
        c.pools[0].health.as_ref().unwrap().expect_status,
        StatusRange { lo: 200, hi: 399 }
    );
    let errs = errors(
        "[[pool]]\nname = \"a\"\nbalance = \"consistent_hash\"\nhash_on = \"header:\"\nhash_balance_factor = 0.5\nservers = [\"127.0.0.1:1\"]\n",
    );
    assert!(has(&errs, "pool[0] (\"a\").hash_on"), "{errs:?}");
    assert!(
        has(
            &errs,
            "pool[0] (\"a\").hash_balance_factor: 0.5 must be greater than 1.0"
        ),
        "{errs:?}"
    );
}
