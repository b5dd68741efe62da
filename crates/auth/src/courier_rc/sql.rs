//! `authmysqlrc`, `authpgsqlrc` and `authsqliterc` → [`SqlConfig`].
//!
//! The flavour comes from the keys' prefix (`MYSQL_`, `PGSQL_`,
//! `SQLITE_`); exactly one must appear. The connection settings become
//! `url`:
//!
//! * MySQL/MariaDB: `mysql://user:password@server:port/database`, user,
//!   password and database percent-encoded; `MYSQL_PORT` 0 or absent is
//!   the default port. libmysqlclient and MariaDB's Connector/C take
//!   server `localhost` (or none) to mean a Unix socket, `MYSQL_SOCKET` or
//!   else their default, Debian's [`MYSQL_DEFAULT_SOCKET`]; any other
//!   server means TCP, the socket setting being unused. So `localhost`
//!   or no server becomes `?socket=` (sqlx itself would connect to TCP
//!   port 3306 on localhost), and a socket set beside a remote server is
//!   a warning. `MYSQL_CHARACTER_SET` becomes `charset`. A CA file
//!   (`MYSQL_SSL_CACERT`) turns TLS on, as for Courier, and becomes
//!   `ssl-ca` with `ssl-mode=VERIFY_CA` (the server's certificate must chain
//!   to that CA; its host name is not checked), with
//!   `MYSQL_SSL_CERT`/`_KEY` as the client certificate.
//! * PostgreSQL: `PGSQL_CONNECTION` is a libpq conninfo string
//!   (`key=value key='quoted \' value'`, see [`conninfo`]); its keys
//!   become the query parameters sqlx-postgres reads
//!   (`postgres://?host=…&dbname=…`; `host` may be a socket directory;
//!   no host means libpq's default, which sqlx shares). A libpq URI
//!   (`postgresql://…`) is used as it is. Keys sqlx has no use for that
//!   only tune the connection are warnings; any other key is an error.
//! * SQLite: `SQLITE_DATABASE` becomes `sqlite://<path>`, a relative path
//!   being relative to the rc file's folder.
//!
//! Column keys default as in Courier's modules (`LOGIN_FIELD` `id`,
//! `UID_FIELD` `uid`, `GID_FIELD` `gid`, `HOME_FIELD` `home`; every other
//! column none — an absent `CRYPT_PWFIELD` means no such column, not
//! `crypt`), and `''` (Courier's spelling of "no column") is none too.
//!
//! Refusals: Courier refuses a file without `USER_TABLE` or without
//! either password column. Courser asks for them only when there is no
//! `SELECT_CLAUSE`: Courier also needs them for its password-change
//! query, which Courser does not run, and for its account enumeration
//! without an `ENUMERATE_CLAUSE` (Courser's then reads the default
//! table and columns). MySQL
//! additionally needs `MYSQL_USERNAME`, `MYSQL_DATABASE` and a server or
//! socket, PostgreSQL `PGSQL_CONNECTION`, SQLite `SQLITE_DATABASE`.
//!
//! Warned and ignored: `*_DEFAULTDELIVERY` (Courier's mail server only),
//! `*_CHPASS_CLAUSE` (no password changes), a non-zero `MYSQL_OPT` (libmysqlclient flags), the TLS
//! cipher list, and a `PGSQL_CHARACTER_SET` other than UTF-8 (sqlx always
//! asks for UTF-8; the server converts).

use super::{is_space, percent_encode, Imported, RcError, RcFile};
use crate::sql::SqlConfig;

/// Where Debian's MariaDB and MySQL clients look for the server when told
/// `localhost`.
const MYSQL_DEFAULT_SOCKET: &str = "/run/mysqld/mysqld.sock";

/// Which rc file it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Mysql,
    Pgsql,
    Sqlite,
}

impl Flavour {
    const ALL: [Flavour; 3] = [Flavour::Mysql, Flavour::Pgsql, Flavour::Sqlite];

    fn prefix(self) -> &'static str {
        match self {
            Flavour::Mysql => "MYSQL_",
            Flavour::Pgsql => "PGSQL_",
            Flavour::Sqlite => "SQLITE_",
        }
    }

    /// The flavour whose prefix the file's keys carry.
    fn of(rc: &RcFile) -> Result<Flavour, RcError> {
        let found: Vec<Flavour> = Flavour::ALL
            .into_iter()
            .filter(|f| rc.entries.keys().any(|k| k.starts_with(f.prefix())))
            .collect();
        match found[..] {
            [one] => Ok(one),
            [] => Err(RcError::File(
                "no MYSQL_, PGSQL_ or SQLITE_ settings: not an authmysqlrc, authpgsqlrc or \
                 authsqliterc"
                    .into(),
            )),
            _ => Err(RcError::File(format!(
                "settings of several databases ({}): one rc file per backend",
                found
                    .iter()
                    .map(|f| format!("{}*", f.prefix()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Connection keys (without the prefix) that the flavour reads.
    fn connection_keys(self) -> &'static [&'static str] {
        match self {
            Flavour::Mysql => &[
                "SERVER",
                "USERNAME",
                "PASSWORD",
                "DATABASE",
                "PORT",
                "SOCKET",
                "OPT",
                "CHARACTER_SET",
                "SSL_KEY",
                "SSL_CERT",
                "SSL_CACERT",
                "SSL_CAPATH",
                "SSL_CIPHER",
                "SSL_CIPHERS",
            ],
            Flavour::Pgsql => &["CONNECTION", "CHARACTER_SET"],
            Flavour::Sqlite => &["DATABASE"],
        }
    }
}

/// Keys every flavour shares (without the prefix).
const COMMON_KEYS: &[&str] = &[
    "USER_TABLE",
    "LOGIN_FIELD",
    "CRYPT_PWFIELD",
    "CLEAR_PWFIELD",
    "UID_FIELD",
    "GID_FIELD",
    "HOME_FIELD",
    "MAILDIR_FIELD",
    "QUOTA_FIELD",
    "NAME_FIELD",
    "AUXOPTIONS_FIELD",
    "WHERE_CLAUSE",
    "SELECT_CLAUSE",
    "ENUMERATE_CLAUSE",
    "CHPASS_CLAUSE",
    // Courier's code reads MYSQL_DEFAULTDELIVERY_FIELD but
    // PGSQL_/SQLITE_DEFAULTDELIVERY, and its rc files name the latter.
    "DEFAULTDELIVERY",
    "DEFAULTDELIVERY_FIELD",
];

/// Converts an SQL rc file. See the module documentation.
pub fn sql_config(rc: &RcFile) -> Result<Imported<SqlConfig>, RcError> {
    let flavour = Flavour::of(rc)?;
    let key = |name: &str| format!("{}{name}", flavour.prefix());
    let mut warnings = Vec::new();
    let mut config = match flavour {
        Flavour::Mysql => SqlConfig::new(mysql_url(rc, &mut warnings)?),
        Flavour::Pgsql => pgsql_config(rc, &mut warnings)?,
        Flavour::Sqlite => {
            let db = rc.required("SQLITE_DATABASE")?;
            if db.is_empty() {
                return Err(RcError::key("SQLITE_DATABASE", "empty"));
            }
            let path = rc.path(db).display().to_string();
            // sqlx percent-decodes the path: keep these literal.
            let path = path
                .replace('%', "%25")
                .replace('?', "%3F")
                .replace('#', "%23");
            SqlConfig::new(format!("sqlite://{path}"))
        }
    };
    // Courier's "no column" is the SQL literal ''.
    let column = |name: &str| rc.string(&key(name)).filter(|v| v != "''");
    config.select_clause = rc.string(&key("SELECT_CLAUSE"));
    config.enumerate_clause = rc.string(&key("ENUMERATE_CLAUSE"));
    config.crypt_pwfield = column("CRYPT_PWFIELD");
    config.clear_pwfield = column("CLEAR_PWFIELD");
    match column("USER_TABLE") {
        Some(table) => config.user_table = table,
        None if config.select_clause.is_none() => {
            return Err(RcError::key(
                &key("USER_TABLE"),
                "missing (needed without a SELECT_CLAUSE)",
            ))
        }
        None => {}
    }
    if config.select_clause.is_none()
        && config.crypt_pwfield.is_none()
        && config.clear_pwfield.is_none()
    {
        return Err(RcError::File(format!(
            "neither {} nor {} is set (one is needed without a SELECT_CLAUSE)",
            key("CRYPT_PWFIELD"),
            key("CLEAR_PWFIELD")
        )));
    }
    for (field, name, default) in [
        (&mut config.login_field, "LOGIN_FIELD", "id"),
        (&mut config.uid_field, "UID_FIELD", "uid"),
        (&mut config.gid_field, "GID_FIELD", "gid"),
        (&mut config.home_field, "HOME_FIELD", "home"),
    ] {
        *field = rc.string(&key(name)).unwrap_or_else(|| default.into());
    }
    config.maildir_field = column("MAILDIR_FIELD");
    config.quota_field = column("QUOTA_FIELD");
    config.name_field = column("NAME_FIELD");
    config.auxoptions_field = column("AUXOPTIONS_FIELD");
    config.where_clause = rc.string(&key("WHERE_CLAUSE"));
    config.default_domain = rc.string("DEFAULT_DOMAIN");

    rc.ignored(
        &[&key("DEFAULTDELIVERY"), &key("DEFAULTDELIVERY_FIELD")],
        "used only by Courier's mail server for deliveries",
        &mut warnings,
    );
    rc.ignored(
        &[&key("CHPASS_CLAUSE")],
        "Courser does not change passwords",
        &mut warnings,
    );
    rc.unknown(
        &|k: &str| {
            k == "DEFAULT_DOMAIN"
                || k.strip_prefix(flavour.prefix()).is_some_and(|rest| {
                    COMMON_KEYS.contains(&rest) || flavour.connection_keys().contains(&rest)
                })
        },
        &mut warnings,
    );
    Ok(Imported { config, warnings })
}

/// `MYSQL_*` connection settings → a `mysql://` URL.
fn mysql_url(rc: &RcFile, warnings: &mut Vec<String>) -> Result<String, RcError> {
    let user = rc
        .value("MYSQL_USERNAME")
        .ok_or_else(|| RcError::key("MYSQL_USERNAME", "not set (Courier requires it)"))?;
    let database = rc
        .value("MYSQL_DATABASE")
        .ok_or_else(|| RcError::key("MYSQL_DATABASE", "not set (Courier requires it)"))?;
    let server = rc.value("MYSQL_SERVER");
    let port = match rc.number("MYSQL_PORT", 0, warnings) {
        0 => None,
        n => Some(
            u16::try_from(n)
                .map_err(|_| RcError::key("MYSQL_PORT", format!("{n} is not a TCP port")))?,
        ),
    };
    if rc.number("MYSQL_OPT", 0, warnings) != 0 {
        warnings.push("MYSQL_OPT: ignored: client flags have no sqlx equivalent".into());
    }
    if server.is_none() && rc.value("MYSQL_SOCKET").is_none() {
        return Err(RcError::File(
            "neither MYSQL_SERVER nor MYSQL_SOCKET is set (Courier requires one)".into(),
        ));
    }
    // The client library goes through a Unix socket when the server is
    // localhost or not named, and over TCP otherwise, whatever the socket
    // and port settings say.
    let socket = if matches!(server, None | Some("localhost")) {
        if port.is_some() {
            warnings.push(
                "MYSQL_PORT: ignored: with server localhost the client library uses the Unix \
                 socket"
                    .into(),
            );
        }
        Some(rc.value("MYSQL_SOCKET").unwrap_or(MYSQL_DEFAULT_SOCKET))
    } else {
        rc.ignored(
            &["MYSQL_SOCKET"],
            "the client library uses it only for server localhost",
            warnings,
        );
        None
    };
    let mut url = format!("mysql://{}", percent_encode(user));
    if let Some(pw) = rc.value("MYSQL_PASSWORD") {
        url.push(':');
        url.push_str(&percent_encode(pw));
    }
    url.push('@');
    match (socket, server) {
        (None, Some(host)) => {
            url.push_str(&url_host("MYSQL_SERVER", host)?);
            if let Some(port) = port {
                url.push_str(&format!(":{port}"));
            }
        }
        // The socket decides; sqlx wants some host all the same.
        _ => url.push_str("localhost"),
    }
    url.push('/');
    url.push_str(&percent_encode(database));
    let mut params = Vec::new();
    if let Some(socket) = socket {
        params.push(("socket", socket));
    }
    if let Some(charset) = rc.value("MYSQL_CHARACTER_SET") {
        // sqlx sends it unquoted in SET NAMES.
        if !charset
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(RcError::key(
                "MYSQL_CHARACTER_SET",
                format!("{charset:?} is not a character set name"),
            ));
        }
        params.push(("charset", charset));
    }
    match (rc.value("MYSQL_SSL_CACERT"), rc.value("MYSQL_SSL_CAPATH")) {
        (Some(ca), capath) => {
            if capath.is_some() {
                warnings.push(
                    "MYSQL_SSL_CAPATH: ignored: sqlx takes one CA file, MYSQL_SSL_CACERT".into(),
                );
            }
            params.push(("ssl-mode", "VERIFY_CA"));
            params.push(("ssl-ca", ca));
            if let Some(cert) = rc.value("MYSQL_SSL_CERT") {
                params.push(("ssl-cert", cert));
            }
            if let Some(key) = rc.value("MYSQL_SSL_KEY") {
                params.push(("ssl-key", key));
            }
        }
        // Ignoring it would connect without the TLS Courier used.
        (None, Some(_)) => {
            return Err(RcError::key(
                "MYSQL_SSL_CAPATH",
                "a CA directory is not supported: name a CA file in MYSQL_SSL_CACERT",
            ))
        }
        (None, None) => rc.ignored(
            &["MYSQL_SSL_CERT", "MYSQL_SSL_KEY"],
            "without MYSQL_SSL_CACERT Courier does not use TLS",
            warnings,
        ),
    }
    rc.ignored(
        &["MYSQL_SSL_CIPHER", "MYSQL_SSL_CIPHERS"],
        "sqlx's TLS chooses its ciphers",
        warnings,
    );
    Ok(with_query(url, &params))
}

/// A host name or address for a URL's authority (IPv6 in brackets).
fn url_host(key: &str, host: &str) -> Result<String, RcError> {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(format!("[{host}]"));
    }
    if host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Ok(host.to_owned());
    }
    Err(RcError::key(key, format!("{host:?} is not a host name")))
}

/// `url?k=v&…` with the values percent-encoded.
fn with_query(mut url: String, params: &[(&str, &str)]) -> String {
    for (i, (k, v)) in params.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(k);
        url.push('=');
        url.push_str(&percent_encode(v));
    }
    url
}

/// Conninfo keys sqlx-postgres reads under the same name.
const PG_PASSED: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
];

/// Conninfo keys that only tune the connection: ignored with a warning.
const PG_TUNING: &[&str] = &[
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "target_session_attrs",
    "load_balance_hosts",
    "sslcompression",
    "sslsni",
];

/// `PGSQL_*` connection settings → the URL (and a timeout from
/// `connect_timeout`).
fn pgsql_config(rc: &RcFile, warnings: &mut Vec<String>) -> Result<SqlConfig, RcError> {
    const KEY: &str = "PGSQL_CONNECTION";
    if let Some(cs) = rc.value("PGSQL_CHARACTER_SET") {
        if !matches!(
            cs.to_ascii_uppercase().as_str(),
            "UTF8" | "UTF-8" | "UNICODE"
        ) {
            warnings.push(format!(
                "PGSQL_CHARACTER_SET: ignored: Courser always talks UTF-8 to the server, \
                 which converts from {cs}"
            ));
        }
    }
    let conninfo_text = rc.required(KEY)?.trim_matches(is_space);
    if conninfo_text.starts_with("postgresql://") || conninfo_text.starts_with("postgres://") {
        return Ok(SqlConfig::new(conninfo_text));
    }
    let pairs = conninfo(conninfo_text).map_err(|e| RcError::key(KEY, e))?;
    let mut params: Vec<(&str, &str)> = Vec::new();
    let mut timeout = None;
    for (k, v) in &pairs {
        let (k, v) = (k.as_str(), v.as_str());
        match k {
            "host" | "hostaddr" | "port" if v.contains(',') => {
                return Err(RcError::key(
                    KEY,
                    format!("{k}={v}: several hosts are not supported"),
                ))
            }
            "sslmode"
                if !matches!(
                    v,
                    "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full"
                ) =>
            {
                return Err(RcError::key(KEY, format!("sslmode={v}: unknown mode")))
            }
            "port" if v.parse::<u16>().is_err() => {
                return Err(RcError::key(KEY, format!("port={v}: not a port")))
            }
            _ if PG_PASSED.contains(&k) => params.push((k, v)),
            "connect_timeout" => {
                let secs: i64 = v
                    .trim()
                    .parse()
                    .map_err(|_| RcError::key(KEY, format!("connect_timeout={v}: not a number")))?;
                // libpq: 0 or less waits for ever; Courser always has a limit.
                timeout = u64::try_from(secs).ok().filter(|&s| s > 0);
                if timeout.is_none() {
                    warnings.push(format!(
                        "{KEY}: connect_timeout={v} (no limit) ignored: Courser waits {} s",
                        SqlConfig::default().timeout_secs
                    ));
                }
            }
            "client_encoding"
                if matches!(
                    v.to_ascii_uppercase().as_str(),
                    "UTF8" | "UTF-8" | "UNICODE"
                ) => {}
            "client_encoding" => warnings.push(format!(
                "{KEY}: client_encoding={v} ignored: Courser always talks UTF-8 to the server"
            )),
            // Only `require` forbids the unencrypted-by-GSSAPI connection
            // Courser makes; ignoring it would drop a protection.
            "gssencmode" if v == "require" => {
                return Err(RcError::key(
                    KEY,
                    "gssencmode=require: GSSAPI encryption is not supported",
                ))
            }
            "gssencmode" => {}
            _ if PG_TUNING.contains(&k) => warnings.push(format!(
                "{KEY}: {k} ignored: not supported by Courser's PostgreSQL client"
            )),
            _ => {
                return Err(RcError::key(
                    KEY,
                    format!("conninfo key {k:?} is not supported"),
                ))
            }
        }
    }
    let mut config = SqlConfig::new(with_query("postgres://".into(), &params));
    if let Some(secs) = timeout {
        config.timeout_secs = secs;
    }
    Ok(config)
}

/// Parses a libpq conninfo string: `key = value` pairs separated by
/// whitespace (spaces around `=` allowed); a value is either single-quoted
/// (`''` is empty) or runs to the next whitespace, and in both `\` makes
/// the next character literal. A key given twice keeps its last value, as
/// libpq does.
fn conninfo(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut chars = s.chars().peekable();
    let skip_spaces = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.next_if(|&c| is_space(c)).is_some() {}
    };
    loop {
        skip_spaces(&mut chars);
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|&c| c != '=' && !is_space(c)) {
            key.push(c);
        }
        skip_spaces(&mut chars);
        if chars.next() != Some('=') {
            return Err(format!("missing \"=\" after {key:?}"));
        }
        skip_spaces(&mut chars);
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err(format!("{key}: unterminated quoted value")),
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|&c| !is_space(c)) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => pairs.push((key, value)),
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn convert(text: &str) -> Imported<SqlConfig> {
        sql_config(&RcFile::parse(text)).unwrap()
    }

    fn refusal(text: &str) -> String {
        sql_config(&RcFile::parse(text)).unwrap_err().to_string()
    }

    const MYSQL: &str = "##NAME: LOCATION:0\n\
        MYSQL_SERVER\t\tdb.example.org\n\
        MYSQL_USERNAME\t\tcour:ier@x\n\
        MYSQL_PASSWORD\t\tp@ss/w:rd%\n\
        MYSQL_PORT\t\t0\n\
        MYSQL_OPT\t\t0\n\
        MYSQL_DATABASE\t\tmail db\n\
        MYSQL_USER_TABLE\tpasswd\n\
        MYSQL_CRYPT_PWFIELD\tcrypt\n\
        ##NAME: MARKER:0\n";

    #[test]
    fn mysql_url_and_defaults() {
        let i = convert(MYSQL);
        assert_eq!(i.warnings, Vec::<String>::new());
        let c = i.config;
        assert_eq!(
            c.url,
            "mysql://cour%3Aier%40x:p%40ss%2Fw%3Ard%25@db.example.org/mail%20db"
        );
        let o = sqlx::mysql::MySqlConnectOptions::from_str(&c.url).unwrap();
        assert_eq!(o.get_host(), "db.example.org");
        assert_eq!(o.get_port(), 3306);
        assert_eq!(o.get_username(), "cour:ier@x");
        assert_eq!(o.get_database(), Some("mail db"));
        assert_eq!(o.get_socket(), None);
        // Courier's defaults, not the TOML keys' ones.
        assert_eq!(c.user_table, "passwd");
        assert_eq!(c.crypt_pwfield.as_deref(), Some("crypt"));
        assert_eq!(c.clear_pwfield, None);
        assert_eq!(
            (
                c.login_field.as_str(),
                c.uid_field.as_str(),
                c.gid_field.as_str(),
                c.home_field.as_str()
            ),
            ("id", "uid", "gid", "home")
        );
        assert_eq!(c.maildir_field, None);
        assert_eq!(c.where_clause, None);
        assert_eq!(c.timeout_secs, 5);
    }

    #[test]
    fn mysql_port_socket_tls_and_charset() {
        let c = convert(&format!("{MYSQL}MYSQL_PORT 3307\n")).config;
        // First occurrence wins: MYSQL_PORT 0 came first.
        assert!(!c.url.contains(":3307"), "{}", c.url);
        let base = MYSQL.replace("MYSQL_PORT\t\t0\n", "");
        let c = convert(&format!("MYSQL_PORT 3307\n{base}")).config;
        assert!(c.url.contains("@db.example.org:3307/"), "{}", c.url);
        // A socket beside a remote server is unused.
        let i = convert(&format!("MYSQL_SOCKET /s\nMYSQL_PORT 3307\n{base}"));
        assert!(i.config.url.contains("@db.example.org:3307/"));
        assert!(!i.config.url.contains("socket"));
        assert!(
            i.warnings[0].starts_with("MYSQL_SOCKET"),
            "{:?}",
            i.warnings
        );
        let local = base.replace("db.example.org", "localhost");
        let i = convert(&format!("MYSQL_SOCKET /var/run/my sql.sock\n{local}"));
        let o = sqlx::mysql::MySqlConnectOptions::from_str(&i.config.url).unwrap();
        assert_eq!(
            o.get_socket().map(|p| p.display().to_string()).as_deref(),
            Some("/var/run/my sql.sock")
        );
        // libmysqlclient's localhost is the default socket.
        let i = convert(&local);
        let o = sqlx::mysql::MySqlConnectOptions::from_str(&i.config.url).unwrap();
        assert_eq!(
            o.get_socket().and_then(|p| p.to_str()),
            Some(MYSQL_DEFAULT_SOCKET)
        );
        let i = convert(&format!("MYSQL_PORT 3307\n{local}"));
        assert!(i.warnings[0].starts_with("MYSQL_PORT"), "{:?}", i.warnings);
        // IPv6 and a socket with no server.
        let c = convert(&base.replace("db.example.org", "::1")).config;
        assert!(c.url.contains("@[::1]/"), "{}", c.url);
        let no_server = base.replace("MYSQL_SERVER\t\tdb.example.org\n", "");
        let c = convert(&format!("MYSQL_SOCKET /s\n{no_server}")).config;
        assert!(c.url.contains("@localhost/") && c.url.ends_with("?socket=%2Fs"));
        // Character set and TLS.
        let i = convert(&format!(
            "MYSQL_CHARACTER_SET latin1\nMYSQL_SSL_CACERT /etc/ca.pem\nMYSQL_SSL_CERT /c.pem\n\
             MYSQL_SSL_KEY /k.pem\nMYSQL_SSL_CIPHER ALL\nMYSQL_SSL_CAPATH /etc/ssl/certs\n{base}"
        ));
        let o = sqlx::mysql::MySqlConnectOptions::from_str(&i.config.url).unwrap();
        assert_eq!(o.get_charset(), "latin1");
        assert!(matches!(
            o.get_ssl_mode(),
            sqlx::mysql::MySqlSslMode::VerifyCa
        ));
        assert!(i
            .config
            .url
            .contains("ssl-ca=%2Fetc%2Fca.pem&ssl-cert=%2Fc.pem&ssl-key=%2Fk.pem"));
        let keys: Vec<&str> = i
            .warnings
            .iter()
            .map(|w| &w[..w.find(':').unwrap()])
            .collect();
        assert_eq!(keys, ["MYSQL_SSL_CAPATH", "MYSQL_SSL_CIPHER"]);
        // Without a CA, Courier uses no TLS and no client certificate.
        let i = convert(&format!("MYSQL_SSL_CERT /c.pem\n{base}"));
        assert!(!i.config.url.contains("ssl"), "{}", i.config.url);
        assert!(i.warnings[0].starts_with("MYSQL_SSL_CERT"));
    }

    #[test]
    fn mysql_refusals() {
        let base = MYSQL.replace("MYSQL_PORT\t\t0\n", "");
        for (drop, key) in [
            ("MYSQL_USERNAME", "MYSQL_USERNAME"),
            ("MYSQL_DATABASE", "MYSQL_DATABASE"),
            ("MYSQL_SERVER", "MYSQL_SOCKET"),
            ("MYSQL_USER_TABLE", "MYSQL_USER_TABLE"),
            ("MYSQL_CRYPT_PWFIELD", "MYSQL_CLEAR_PWFIELD"),
        ] {
            let text: String = base
                .lines()
                .filter(|l| !l.starts_with(drop))
                .map(|l| format!("{l}\n"))
                .collect();
            let e = refusal(&text);
            assert!(e.contains(key), "{drop}: {e}");
        }
        assert!(refusal(&format!("MYSQL_PORT 70000\n{base}")).contains("MYSQL_PORT"));
        assert!(refusal(&format!("MYSQL_SSL_CAPATH /d\n{base}")).contains("MYSQL_SSL_CAPATH"));
        assert!(refusal(&format!("MYSQL_CHARACTER_SET utf8; DROP\n{base}"))
            .contains("MYSQL_CHARACTER_SET"));
        assert!(refusal(&base.replace("db.example.org", "a/b")).contains("MYSQL_SERVER"));
        // Courier's '' is no column.
        let e = refusal(&base.replace("MYSQL_CRYPT_PWFIELD\tcrypt", "MYSQL_CRYPT_PWFIELD ''"));
        assert!(e.contains("CRYPT_PWFIELD"), "{e}");
    }

    #[test]
    fn select_clause_needs_no_table_and_clauses_continue() {
        let i = convert(
            "SQLITE_DATABASE /var/lib/courier/users.db\n\
             SQLITE_SELECT_CLAUSE SELECT id, '', clear, 1000, 1000, home, '', '', '', '' \\\n\
             \t\tFROM users \\\n\
             \t\tWHERE id = '$(local_part)@$(domain)'\n\
             SQLITE_CHPASS_CLAUSE UPDATE users SET clear='$(newpass)'\n\
             SQLITE_ENUMERATE_CLAUSE SELECT 1\n\
             SQLITE_DEFAULTDELIVERY dd\n\
             SQLITE_TYPO 1\n\
             DEFAULT_DOMAIN example.com\n",
        );
        let c = i.config;
        assert_eq!(c.url, "sqlite:///var/lib/courier/users.db");
        assert_eq!(
            c.select_clause.as_deref(),
            Some(
                "SELECT id, '', clear, 1000, 1000, home, '', '', '', ''  FROM users  \
                 WHERE id = '$(local_part)@$(domain)'"
            )
        );
        assert_eq!(c.default_domain.as_deref(), Some("example.com"));
        assert_eq!(c.enumerate_clause.as_deref(), Some("SELECT 1"));
        assert_eq!(c.crypt_pwfield, None);
        let keys: Vec<&str> = i
            .warnings
            .iter()
            .map(|w| &w[..w.find(':').unwrap()])
            .collect();
        assert_eq!(
            keys,
            [
                "SQLITE_DEFAULTDELIVERY",
                "SQLITE_CHPASS_CLAUSE",
                "SQLITE_TYPO"
            ]
        );
    }

    #[test]
    fn sqlite_columns_and_paths() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("authsqliterc");
        std::fs::write(
            &file,
            "SQLITE_DATABASE db/users?1#.db\nSQLITE_USER_TABLE accounts\n\
             SQLITE_CLEAR_PWFIELD clear\nSQLITE_LOGIN_FIELD login\nSQLITE_UID_FIELD 1000\n\
             SQLITE_GID_FIELD 100\nSQLITE_HOME_FIELD homedir\nSQLITE_MAILDIR_FIELD md\n\
             SQLITE_QUOTA_FIELD q\nSQLITE_NAME_FIELD ''\nSQLITE_AUXOPTIONS_FIELD opts\n\
             SQLITE_WHERE_CLAUSE active = 1\n",
        )
        .unwrap();
        let c = sql_config(&RcFile::load(&file).unwrap()).unwrap().config;
        assert_eq!(
            c.url,
            format!("sqlite://{}/db/users%3F1%23.db", dir.path().display())
        );
        let o = sqlx::sqlite::SqliteConnectOptions::from_str(&c.url).unwrap();
        assert_eq!(o.get_filename(), dir.path().join("db/users?1#.db"));
        assert_eq!(c.user_table, "accounts");
        assert_eq!(c.crypt_pwfield, None);
        assert_eq!(c.clear_pwfield.as_deref(), Some("clear"));
        assert_eq!(c.login_field, "login");
        assert_eq!(
            (c.uid_field.as_str(), c.gid_field.as_str()),
            ("1000", "100")
        );
        assert_eq!(c.home_field, "homedir");
        assert_eq!(c.maildir_field.as_deref(), Some("md"));
        assert_eq!(c.quota_field.as_deref(), Some("q"));
        assert_eq!(c.name_field, None);
        assert_eq!(c.auxoptions_field.as_deref(), Some("opts"));
        assert_eq!(c.where_clause.as_deref(), Some("active = 1"));
        assert!(
            refusal("SQLITE_USER_TABLE t\nSQLITE_CRYPT_PWFIELD c\n").contains("SQLITE_DATABASE")
        );
    }

    #[test]
    fn flavour_must_be_one() {
        assert!(refusal("LDAP_URI ldap://x\n").contains("no MYSQL_"));
        assert!(refusal("").contains("no MYSQL_"));
        let e = refusal("MYSQL_SERVER x\nPGSQL_CONNECTION host=y\n");
        assert!(e.contains("MYSQL_*, PGSQL_*"), "{e}");
    }

    #[test]
    fn conninfo_syntax() {
        let pairs = conninfo(
            "host=db port = 5433\tdbname='mail' password='it\\'s a \\\\ secret' \
             user=a\\ b application_name='' options='-c x=1'  user=c",
        )
        .unwrap();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("host"), Some("db"));
        assert_eq!(get("port"), Some("5433"));
        assert_eq!(get("dbname"), Some("mail"));
        assert_eq!(get("password"), Some("it's a \\ secret"));
        assert_eq!(get("application_name"), Some(""));
        assert_eq!(get("options"), Some("-c x=1"));
        // The last of a repeated key counts, in its first place.
        assert_eq!(get("user"), Some("c"));
        assert_eq!(pairs[4].0, "user");
        assert_eq!(conninfo("").unwrap(), vec![]);
        assert!(conninfo("host").unwrap_err().contains("missing \"=\""));
        assert!(conninfo("host db").unwrap_err().contains("missing \"=\""));
        assert!(conninfo("password='x")
            .unwrap_err()
            .contains("unterminated"));
    }

    #[test]
    fn pgsql_url() {
        let i = convert(
            "##NAME: LOCATION:1\n\
             PGSQL_CONNECTION        \\\n\
             \t  host=/var/run/postgresql \\\n\
             \t  port=5400              \\\n\
             \t  dbname=mail       \\\n\
             \t  user=courier             \\\n\
             \t  password='p&ss word\\'s' \\\n\
             \t  sslmode=disable connect_timeout=9 keepalives=1 client_encoding=UTF8\n\
             PGSQL_USER_TABLE\tpasswd\n\
             PGSQL_CRYPT_PWFIELD\tcrypt\n\
             PGSQL_CHARACTER_SET\tLATIN1\n",
        );
        let c = &i.config;
        assert_eq!(
            c.url,
            "postgres://?host=%2Fvar%2Frun%2Fpostgresql&port=5400&dbname=mail&user=courier\
             &password=p%26ss%20word%27s&sslmode=disable"
        );
        assert_eq!(c.timeout_secs, 9);
        let o = sqlx::postgres::PgConnectOptions::from_str(&c.url).unwrap();
        assert_eq!(
            o.get_socket().and_then(|p| p.to_str()),
            Some("/var/run/postgresql")
        );
        assert_eq!(o.get_port(), 5400);
        assert_eq!(o.get_username(), "courier");
        assert_eq!(o.get_database(), Some("mail"));
        assert!(matches!(
            o.get_ssl_mode(),
            sqlx::postgres::PgSslMode::Disable
        ));
        let keys: Vec<&str> = i
            .warnings
            .iter()
            .map(|w| &w[..w.find(':').unwrap()])
            .collect();
        assert_eq!(keys, ["PGSQL_CHARACTER_SET", "PGSQL_CONNECTION"]);
        assert!(i.warnings[1].contains("keepalives"));
        // A TCP host; an empty conninfo (libpq's defaults); a URI.
        let tail = "PGSQL_USER_TABLE t\nPGSQL_CLEAR_PWFIELD c\n";
        let c = convert(&format!("PGSQL_CONNECTION host=db.example.org\n{tail}")).config;
        let o = sqlx::postgres::PgConnectOptions::from_str(&c.url).unwrap();
        assert_eq!((o.get_host(), o.get_socket()), ("db.example.org", None));
        let c = convert(&format!("PGSQL_CONNECTION\n{tail}")).config;
        assert_eq!(c.url, "postgres://");
        sqlx::postgres::PgConnectOptions::from_str(&c.url).unwrap();
        let uri = "postgresql://u@h/db?sslmode=require";
        assert_eq!(
            convert(&format!("PGSQL_CONNECTION {uri}\n{tail}"))
                .config
                .url,
            uri
        );
    }

    #[test]
    fn pgsql_refusals() {
        let tail = "PGSQL_USER_TABLE t\nPGSQL_CRYPT_PWFIELD c\n";
        for (conninfo, what) in [
            ("host=a,b", "several hosts"),
            ("port=5432,5433", "several hosts"),
            ("port=x", "not a port"),
            ("sslmode=maybe", "unknown mode"),
            ("connect_timeout=soon", "not a number"),
            ("service=mail", "\"service\" is not supported"),
            ("requirepeer=postgres", "\"requirepeer\" is not supported"),
            ("gssencmode=require", "GSSAPI"),
            ("host='db", "unterminated"),
        ] {
            let e = refusal(&format!("PGSQL_CONNECTION {conninfo}\n{tail}"));
            assert!(
                e.starts_with("PGSQL_CONNECTION: ") && e.contains(what),
                "{conninfo}: {e}"
            );
        }
        assert!(refusal(tail).contains("PGSQL_CONNECTION: missing"));
        assert!(refusal("PGSQL_CONNECTION host=x\nPGSQL_CRYPT_PWFIELD c\n")
            .contains("PGSQL_USER_TABLE"));
    }
}
