//! PostgreSQL, MariaDB/MySQL and SQLite accounts (Courier's authpgsql,
//! authmysql and authsqlite, spec §9.1) through sqlx's runtime queries.
//!
//! Two ways to say where the account is, as in Courier's rc files:
//!
//! * table and column names ([`SqlConfig::user_table`],
//!   `login_field`, `crypt_pwfield`, …): the backend builds
//!   `SELECT login, crypt, clear, uid, gid, home, maildir, quota, name,
//!   options FROM table WHERE login = ? [AND (where_clause)]`, with the
//!   login as a bound parameter; a column that is not configured reads
//!   as `''`;
//! * a whole custom query ([`SqlConfig::select_clause`], Courier's
//!   `*_SELECT_CLAUSE`) returning those ten columns in that order, with
//!   `$(local_part)`, `$(domain)` and `$(service)` replaced by the
//!   escaped values (`'` doubled; for MySQL also `\` doubled). The
//!   `where_clause` gets the same substitutions.
//!
//! The account list ([`Backend::enumerate`]) comes from
//! [`SqlConfig::enumerate_clause`] (Courier's `*_ENUMERATE_CLAUSE`) or
//! else from `SELECT login, uid, gid, home, maildir, options FROM table
//! [WHERE (where_clause)]`, with `$(local_part)` = `*`, `$(domain)` the
//! default domain and `$(service)` = `enumerate`, as Courier fills them
//! in. Rows are streamed, never collected; a row without a login or a
//! home, or whose uid or gid is not a number, is left out.
//!
//! `default_domain` (Courier's `DEFAULT_DOMAIN`) is appended as
//! `@domain` to logins without `@` for the query, and gives `$(domain)`
//! its value when the login has none.
//!
//! A password change ([`Backend::change_password`]) updates the crypt
//! and clear columns of the account's row (`UPDATE table SET … WHERE
//! login = ? [AND (where_clause)]`, values bound); with a custom
//! `select_clause` it is refused.
//!
//! The backend owns a small tokio runtime (one worker thread) for sqlx
//! and a lazily connecting pool; calls are synchronous, as the
//! [`Backend`] trait wants. A database that cannot be reached within the
//! timeout, or a query that fails, is [`AuthError::Unavailable`].

use std::sync::mpsc;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::account::{Account, Options};
use crate::backend::{Backend, Entry};
use crate::enumerate::{receive, Streamed, IN_FLIGHT};
use crate::error::AuthError;
use crate::password;

/// Settings of one SQL backend (Courier's names in the field docs).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqlConfig {
    /// `postgres://user:pw@host/db`, `mysql://user:pw@host/db` (also
    /// `mariadb://`), `sqlite:///path/to/db`. Replaces `PGSQL_CONNECTION`,
    /// `MYSQL_SERVER`/`_USERNAME`/`_PASSWORD`/`_DATABASE`/`_PORT`/`_SOCKET`
    /// and `SQLITE_DATABASE`.
    pub url: String,
    /// `*_USER_TABLE` (default `passwd`).
    pub user_table: String,
    /// `*_LOGIN_FIELD` (default `id`).
    pub login_field: String,
    /// `*_CRYPT_PWFIELD` (default `crypt`; `""` for none).
    #[serde(with = "crate::none_as_empty")]
    pub crypt_pwfield: Option<String>,
    /// `*_CLEAR_PWFIELD` (default none).
    pub clear_pwfield: Option<String>,
    /// `*_UID_FIELD` (default `uid`).
    pub uid_field: String,
    /// `*_GID_FIELD` (default `gid`).
    pub gid_field: String,
    /// `*_HOME_FIELD` (default `home`).
    pub home_field: String,
    /// `*_MAILDIR_FIELD` (default none).
    pub maildir_field: Option<String>,
    /// `*_QUOTA_FIELD` (default none).
    pub quota_field: Option<String>,
    /// `*_NAME_FIELD` (default none).
    pub name_field: Option<String>,
    /// `*_AUXOPTIONS_FIELD`: an SQL expression giving the options string.
    pub auxoptions_field: Option<String>,
    /// `*_WHERE_CLAUSE`: ANDed to the default query.
    pub where_clause: Option<String>,
    /// `*_SELECT_CLAUSE`: the whole query.
    pub select_clause: Option<String>,
    /// `*_ENUMERATE_CLAUSE`: the whole query that lists every account
    /// (`courser authenumerate`, shared folder indexes), returning
    /// `login, uid, gid, home, maildir, options`. Without it the list is
    /// read from the table and columns above.
    pub enumerate_clause: Option<String>,
    /// `DEFAULT_DOMAIN`.
    pub default_domain: Option<String>,
    /// Connect and query timeout.
    pub timeout_secs: u64,
}

impl SqlConfig {
    /// The timeout as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// Courier's defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        SqlConfig {
            url: url.into(),
            user_table: "passwd".into(),
            login_field: "id".into(),
            crypt_pwfield: Some("crypt".into()),
            clear_pwfield: None,
            uid_field: "uid".into(),
            gid_field: "gid".into(),
            home_field: "home".into(),
            maildir_field: None,
            quota_field: None,
            name_field: None,
            auxoptions_field: None,
            where_clause: None,
            select_clause: None,
            enumerate_clause: None,
            default_domain: None,
            timeout_secs: 5,
        }
    }
}

impl Default for SqlConfig {
    fn default() -> Self {
        SqlConfig::new("")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Postgres,
    Mysql,
    Sqlite,
}

/// The SQL backend.
pub struct SqlBackend {
    config: SqlConfig,
    dialect: Dialect,
    pool: AnyPool,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for SqlBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlBackend")
            .field("dialect", &self.dialect)
            .field("table", &self.config.user_table)
            .finish_non_exhaustive()
    }
}

impl Drop for SqlBackend {
    fn drop(&mut self) {
        // Dropping a runtime may block, which tokio forbids inside another
        // runtime; this never blocks.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Quotes a value for a string literal in `dialect`.
fn escape(dialect: Dialect, value: &str) -> String {
    let v = value.replace('\'', "''");
    match dialect {
        Dialect::Mysql => v.replace('\\', "\\\\"),
        _ => v,
    }
}

/// Courier's `$(name)` substitution over a clause.
fn substitute(clause: &str, dialect: Dialect, vars: &[(&str, &str)]) -> String {
    let mut out = clause.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("$({name})"), &escape(dialect, value));
    }
    out
}

impl SqlBackend {
    /// Creates the backend. Nothing connects yet: the first lookup does,
    /// so a database that is down at start-up delays nothing.
    pub fn new(config: SqlConfig) -> Result<Self, String> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let scheme = config.url.split(':').next().unwrap_or("");
        let dialect = match scheme {
            "postgres" | "postgresql" => Dialect::Postgres,
            "mysql" | "mariadb" => Dialect::Mysql,
            "sqlite" => Dialect::Sqlite,
            other => return Err(format!("unsupported database URL scheme {other:?}")),
        };
        let url = if scheme == "mariadb" {
            config.url.replacen("mariadb", "mysql", 1)
        } else {
            config.url.clone()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("courser-sql")
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        let pool = {
            let _guard = runtime.enter();
            AnyPoolOptions::new()
                .max_connections(4)
                .min_connections(0)
                .acquire_timeout(config.timeout())
                .idle_timeout(Some(Duration::from_secs(300)))
                .connect_lazy(&url)
                .map_err(|e| format!("database URL: {e}"))?
        };
        Ok(SqlBackend {
            config,
            dialect,
            pool,
            runtime: Some(runtime),
        })
    }

    /// The login as queried (`DEFAULT_DOMAIN` applied) and its parts.
    fn login_parts(&self, login: &str) -> (String, String, String) {
        let (local, domain) = match login.split_once('@') {
            Some((l, d)) => (l.to_owned(), d.to_owned()),
            None => (
                login.to_owned(),
                self.config.default_domain.clone().unwrap_or_default(),
            ),
        };
        let full = if login.contains('@') || domain.is_empty() {
            login.to_owned()
        } else {
            format!("{login}@{domain}")
        };
        (full, local, domain)
    }

    /// The query, and whether it takes the login as a bound parameter.
    fn query(&self, service: &str, local: &str, domain: &str) -> (String, bool) {
        let vars = [
            ("local_part", local),
            ("domain", domain),
            ("service", service),
        ];
        if let Some(select) = &self.config.select_clause {
            return (substitute(select, self.dialect, &vars), false);
        }
        let c = &self.config;
        let col = |f: &Option<String>| f.clone().unwrap_or_else(|| "''".into());
        let placeholder = match self.dialect {
            Dialect::Postgres => "$1",
            Dialect::Mysql | Dialect::Sqlite => "?",
        };
        let mut q = format!(
            "SELECT {}, {}, {}, {}, {}, {}, {}, {}, {}, {} FROM {} WHERE {} = {placeholder}",
            c.login_field,
            col(&c.crypt_pwfield),
            col(&c.clear_pwfield),
            c.uid_field,
            c.gid_field,
            c.home_field,
            col(&c.maildir_field),
            col(&c.quota_field),
            col(&c.name_field),
            col(&c.auxoptions_field),
            c.user_table,
            c.login_field,
        );
        if let Some(w) = c.where_clause.as_deref().filter(|w| !w.trim().is_empty()) {
            q.push_str(&format!(" AND ({})", substitute(w, self.dialect, &vars)));
        }
        (q, true)
    }

    /// The query that lists every account (see the module documentation).
    fn enumerate_query(&self) -> String {
        let domain = self.config.default_domain.clone().unwrap_or_default();
        let vars = [
            ("local_part", "*"),
            ("domain", domain.as_str()),
            ("service", "enumerate"),
        ];
        if let Some(clause) = &self.config.enumerate_clause {
            return substitute(clause, self.dialect, &vars);
        }
        let c = &self.config;
        let col = |f: &Option<String>| f.clone().unwrap_or_else(|| "''".into());
        let mut q = format!(
            "SELECT {}, {}, {}, {}, {}, {} FROM {}",
            c.login_field,
            c.uid_field,
            c.gid_field,
            c.home_field,
            col(&c.maildir_field),
            col(&c.auxoptions_field),
            c.user_table,
        );
        if let Some(w) = c.where_clause.as_deref().filter(|w| !w.trim().is_empty()) {
            q.push_str(&format!(" WHERE ({})", substitute(w, self.dialect, &vars)));
        }
        q
    }

    /// Runs `query` and hands each row's first six columns (as text) to
    /// `each`, streaming: at most [`IN_FLIGHT`] rows wait in memory, and
    /// each row must come within the timeout.
    fn stream(
        &self,
        query: String,
        each: impl FnMut(Vec<Option<String>>) -> std::ops::ControlFlow<()>,
    ) -> Result<(), AuthError> {
        use futures_util::TryStreamExt;
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| AuthError::unavailable("sql", "shut down"))?;
        let (pool, timeout) = (self.pool.clone(), self.config.timeout());
        let (tx, rx) = tokio::sync::mpsc::channel(IN_FLIGHT);
        runtime.spawn(async move {
            // Audited: only escaped substitutions (see `substitute`).
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(query)).fetch(&pool);
            loop {
                let message = match tokio::time::timeout(timeout, rows.try_next()).await {
                    Err(_) => Streamed::Failed("no answer in time".into()),
                    Ok(Err(e)) => Streamed::Failed(e.to_string()),
                    Ok(Ok(None)) => Streamed::End,
                    Ok(Ok(Some(row))) if row.len() < 6 => {
                        Streamed::Failed("the query returns fewer than six columns".into())
                    }
                    Ok(Ok(Some(row))) => Streamed::Item((0..6).map(|i| text(&row, i)).collect()),
                };
                let last = !matches!(message, Streamed::Item(_));
                // A closed channel: the caller stopped reading.
                if tx.send(message).await.is_err() || last {
                    return;
                }
            }
        });
        receive(rx, "sql", each)
    }

    fn fetch(&self, query: String, bind: Option<String>) -> Result<Option<AnyRow>, AuthError> {
        self.on_runtime(move |pool| async move {
            // Audited: the default query binds the login; a configured
            // query gets only escaped substitutions (see `substitute`).
            let mut q = sqlx::query(sqlx::AssertSqlSafe(query));
            if let Some(b) = bind {
                q = q.bind(b);
            }
            q.fetch_optional(&pool).await
        })
    }

    /// Runs `statement` with `binds` (in order); the rows it changed.
    fn execute(&self, statement: String, binds: Vec<String>) -> Result<u64, AuthError> {
        self.on_runtime(move |pool| async move {
            // Audited: values are bound; only the configured names and
            // the escaped substitutions of `where_clause` are in the text.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(statement));
            for b in binds {
                q = q.bind(b);
            }
            q.execute(&pool).await.map(|done| done.rows_affected())
        })
    }

    /// Runs `work` on the backend's runtime and waits for it, at most the
    /// timeout (and a second).
    fn on_runtime<T, F, Fut>(&self, work: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(AnyPool) -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'static,
    {
        let unavailable = |e: String| AuthError::unavailable("sql", e);
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| unavailable("shut down".into()))?;
        let (tx, rx) = mpsc::channel();
        let task = work(self.pool.clone());
        runtime.spawn(async move {
            let _ = tx.send(task.await);
        });
        match rx.recv_timeout(self.config.timeout() + Duration::from_secs(1)) {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(unavailable(e.to_string())),
            Err(_) => Err(unavailable("no answer in time".into())),
        }
    }

    /// `UPDATE table SET crypt = ?, clear = ? WHERE login = ?
    /// [AND (where_clause)]` over the configured columns (the
    /// placeholders numbered for PostgreSQL), and the values to bind.
    fn change_statement(
        &self,
        service: &str,
        login: &str,
        values: &[(&str, String)],
    ) -> (String, Vec<String>) {
        let (full, local, domain) = self.login_parts(login);
        let placeholder = |i: usize| match self.dialect {
            Dialect::Postgres => format!("${i}"),
            Dialect::Mysql | Dialect::Sqlite => "?".into(),
        };
        let sets: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, (column, _))| format!("{column} = {}", placeholder(i + 1)))
            .collect();
        let c = &self.config;
        let mut statement = format!(
            "UPDATE {} SET {} WHERE {} = {}",
            c.user_table,
            sets.join(", "),
            c.login_field,
            placeholder(values.len() + 1)
        );
        if let Some(w) = c.where_clause.as_deref().filter(|w| !w.trim().is_empty()) {
            let vars = [
                ("local_part", local.as_str()),
                ("domain", domain.as_str()),
                ("service", service),
            ];
            statement.push_str(&format!(" AND ({})", substitute(w, self.dialect, &vars)));
        }
        let mut binds: Vec<String> = values.iter().map(|(_, v)| v.clone()).collect();
        binds.push(full);
        (statement, binds)
    }
}

/// An account from a row of the enumeration query (`login, uid, gid,
/// home, maildir, options`); `None` for a row Courier would not list
/// (no login or home) or that gives no uid or gid.
fn enumerated(row: Vec<Option<String>>) -> Option<Account> {
    let mut cols = row.into_iter().map(|c| c.filter(|v| !v.is_empty()));
    let mut next = || cols.next().flatten();
    let (login, uid, gid, home) = (next()?, next(), next(), next());
    let number = |v: Option<String>| v.and_then(|v| v.trim().parse::<u32>().ok());
    let (Some(uid), Some(gid), Some(home)) = (number(uid), number(gid), home) else {
        tracing::debug!(login = %courser_protocol::Untrusted(&login), "SQL row not listed: no uid, gid or home");
        return None;
    };
    Some(Account {
        login,
        uid,
        gid,
        home: home.into(),
        maildir: next().map(Into::into),
        quota: None,
        full_name: None,
        options: Options::new(next().unwrap_or_default()),
    })
}

/// A column as text, whatever its SQL type.
fn text(row: &AnyRow, i: usize) -> Option<String> {
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return v;
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map(|n| n.to_string());
    }
    if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
        return v.map(|n| n.to_string());
    }
    if let Ok(v) = row.try_get::<Option<i16>, _>(i) {
        return v.map(|n| n.to_string());
    }
    if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
        return v.map(|b| String::from_utf8_lossy(&b).into_owned());
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return v.map(|n| n.to_string());
    }
    None
}

impl Backend for SqlBackend {
    fn name(&self) -> &str {
        "sql"
    }

    fn lookup(&self, service: &str, login: &str) -> Result<Option<Entry>, AuthError> {
        if login.contains('\0') {
            return Ok(None);
        }
        let (full, local, domain) = self.login_parts(login);
        let (query, bind) = self.query(service, &local, &domain);
        let Some(row) = self.fetch(query, bind.then_some(full.clone()))? else {
            return Ok(None);
        };
        if row.len() < 6 {
            return Err(AuthError::unavailable(
                "sql",
                "the query returns fewer than six columns",
            ));
        }
        let col = |i: usize| text(&row, i).filter(|v| !v.is_empty());
        let number = |i: usize, what: &str| -> Result<u32, AuthError> {
            col(i).and_then(|v| v.trim().parse().ok()).ok_or_else(|| {
                AuthError::unavailable("sql", format!("{what} of {full} is not a number"))
            })
        };
        let Some(home) = col(5) else {
            tracing::warn!(login = %courser_protocol::Untrusted(&full), "SQL account without a home directory");
            return Ok(None);
        };
        let account = Account {
            login: col(0).unwrap_or_else(|| full.clone()),
            uid: number(3, "uid")?,
            gid: number(4, "gid")?,
            home: home.into(),
            maildir: col(6).map(Into::into),
            quota: col(7),
            full_name: col(8),
            options: Options::new(col(9).unwrap_or_default()),
        };
        let mut entry = Entry::new(account);
        entry.password = col(1);
        entry.clear_password = col(2);
        Ok(Some(entry))
    }

    /// Updates the account's row: the crypt column gets a hash in the
    /// scheme of the value there (else [`crate::password::Scheme::DEFAULT`]), the clear
    /// column the password. Not with a custom `select_clause`: where the
    /// account lives is then the query's secret (Courier needs its
    /// `*_CHPASS_CLAUSE` there, which Courser does not take).
    fn change_password(
        &self,
        service: &str,
        login: &str,
        _old: &[u8],
        new: &[u8],
    ) -> Result<(), AuthError> {
        let refuse = |operation| AuthError::Unsupported {
            backend: "sql".into(),
            operation,
        };
        if self.config.select_clause.is_some() {
            return Err(refuse(
                "change passwords of accounts found by a select_clause",
            ));
        }
        let new_text = std::str::from_utf8(new)
            .map_err(|_| AuthError::NewPasswordRefused("it is not UTF-8"))?;
        let mut values = Vec::new();
        if let Some(column) = &self.config.crypt_pwfield {
            let stored = self.lookup(service, login)?.and_then(|e| e.password);
            let hashed = password::rehash("sql", stored.as_deref(), new)?;
            values.push((column.as_str(), hashed));
        }
        if let Some(column) = &self.config.clear_pwfield {
            values.push((column.as_str(), new_text.to_owned()));
        }
        if values.is_empty() {
            return Err(refuse(
                "change passwords without a crypt_pwfield or clear_pwfield",
            ));
        }
        let (statement, binds) = self.change_statement(service, login, &values);
        match self.execute(statement, binds)? {
            0 => Err(AuthError::unavailable("sql", "the UPDATE changed no row")),
            _ => Ok(()),
        }
    }

    fn supports_cram(&self) -> bool {
        self.config.clear_pwfield.is_some() || self.config.select_clause.is_some()
    }

    fn enumerate(&self, each: &mut crate::enumerate::Sink<'_>) -> Result<(), AuthError> {
        self.stream(self.enumerate_query(), |row| match enumerated(row) {
            Some(account) => each(account),
            None => std::ops::ControlFlow::Continue(()),
        })
    }

    /// Keys are derived from the clear password, as for CRAM.
    fn supports_scram(&self, _hash: crate::scram::ScramHash) -> bool {
        self.supports_cram()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Verdict;

    #[test]
    fn escaping_and_substitution() {
        assert_eq!(escape(Dialect::Postgres, r"o'k\"), r"o''k\");
        assert_eq!(escape(Dialect::Mysql, r"o'k\"), r"o''k\\");
        assert_eq!(
            substitute(
                "WHERE u='$(local_part)' AND d='$(domain)' AND s='$(service)'",
                Dialect::Sqlite,
                &[("local_part", "a'b"), ("domain", "x"), ("service", "imap")]
            ),
            "WHERE u='a''b' AND d='x' AND s='imap'"
        );
    }

    #[test]
    fn sqlite_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("users.db");
        let status = std::process::Command::new("sqlite3")
            .arg(&db)
            .arg(
                "CREATE TABLE passwd (id TEXT, crypt TEXT, clear TEXT, uid INTEGER, gid INTEGER, \
                 home TEXT, maildir TEXT, name TEXT, options TEXT);\
                 INSERT INTO passwd VALUES ('ann@x.org', '{MD5RAW}f97c5d29941bfb1b2fdab0874906ab82', \
                 'one', 1000, 100, '/home/ann', '/home/ann/Maildir', 'Ann', 'disablepop3=1');\
                 INSERT INTO passwd VALUES ('bob@x.org', NULL, NULL, 1001, 100, '/home/bob', NULL, NULL, NULL);\
                 INSERT INTO passwd VALUES ('nohome@x.org', NULL, NULL, 1002, 100, '', NULL, NULL, NULL);\
                 INSERT INTO passwd VALUES ('badid@x.org', NULL, NULL, NULL, 100, '/h', NULL, NULL, NULL);",
            )
            .status();
        let Ok(status) = status else {
            assert!(
                std::env::var_os("COURSER_FULL_TESTS").is_none(),
                "sqlite3 is missing"
            );
            return;
        };
        assert!(status.success());
        let mut config = SqlConfig::new(format!("sqlite://{}", db.display()));
        config.clear_pwfield = Some("clear".into());
        config.maildir_field = Some("maildir".into());
        config.name_field = Some("name".into());
        config.auxoptions_field = Some("options".into());
        config.default_domain = Some("x.org".into());
        let b = SqlBackend::new(config.clone()).unwrap();
        let e = b.lookup("imap", "ann").unwrap().unwrap();
        assert_eq!(e.account.login, "ann@x.org");
        assert_eq!((e.account.uid, e.account.gid), (1000, 100));
        assert_eq!(e.account.full_name.as_deref(), Some("Ann"));
        assert!(e.account.options.disable_pop3());
        assert!(matches!(
            b.authenticate("imap", "ann", b"one"),
            Ok(Verdict::Accepted(_))
        ));
        assert_eq!(b.authenticate("imap", "ann", b"two"), Ok(Verdict::Rejected));
        assert_eq!(b.lookup("imap", "o'brien").unwrap(), None);
        // A change: both columns, the crypt one in its old scheme.
        b.change_password("imap", "ann", b"one", b"n'ew").unwrap();
        let e = b.lookup("imap", "ann").unwrap().unwrap();
        assert_eq!(e.clear_password.as_deref(), Some("n'ew"));
        let crypt = e.password.unwrap();
        assert!(
            crypt.starts_with("$y$"),
            "{{MD5RAW}} is not written: {crypt}"
        );
        assert!(crate::password::verify(b"n'ew", &crypt));
        assert_eq!(b.authenticate("imap", "ann", b"one"), Ok(Verdict::Rejected));
        let mut bob_only = config.clone();
        bob_only.where_clause = Some("id = 'bob@$(domain)'".into());
        let bob_only = SqlBackend::new(bob_only).unwrap();
        assert!(bob_only
            .change_password("imap", "ann", b"n'ew", b"x")
            .unwrap_err()
            .is_temporary());
        assert_eq!(
            b.lookup("imap", "ann")
                .unwrap()
                .unwrap()
                .clear_password
                .as_deref(),
            Some("n'ew")
        );
        // The list: rows without a home or a uid left out.
        let list = |b: &SqlBackend| crate::enumerate::collect(b);
        let all = list(&b).unwrap();
        let logins: Vec<_> = all.iter().map(|a| a.login.as_str()).collect();
        assert_eq!(logins, ["ann@x.org", "bob@x.org"]);
        assert_eq!(
            all[0].maildir.as_deref(),
            Some("/home/ann/Maildir".as_ref())
        );
        assert!(all[0].options.disable_pop3());
        assert_eq!((all[1].uid, all[1].maildir.as_deref()), (1001, None));
        let mut only = config.clone();
        only.where_clause = Some("id <> '$(local_part)@$(domain)' AND uid > 1000".into());
        let logins: Vec<_> = list(&SqlBackend::new(only).unwrap())
            .unwrap()
            .into_iter()
            .map(|a| a.login)
            .collect();
        assert_eq!(logins, ["bob@x.org"]);
        let mut custom = config.clone();
        custom.enumerate_clause = Some(
            "SELECT id, uid, gid, home, '', '$(service)' FROM passwd WHERE id LIKE 'a%@$(domain)'"
                .into(),
        );
        let got = list(&SqlBackend::new(custom.clone()).unwrap()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].options.as_str(), "enumerate");
        custom.enumerate_clause = Some("SELECT id, uid FROM passwd".into());
        assert!(list(&SqlBackend::new(custom).unwrap())
            .unwrap_err()
            .is_temporary());
        config.select_clause = Some(
            "SELECT id, crypt, clear, uid, gid, home, maildir, '', name, options FROM passwd \
             WHERE id = '$(local_part)@$(domain)'"
                .into(),
        );
        let b = SqlBackend::new(config).unwrap();
        assert!(b.lookup("imap", "ann").unwrap().is_some());
        assert_eq!(b.lookup("imap", "x' OR '1'='1").unwrap(), None);
        assert!(matches!(
            b.change_password("imap", "ann", b"one", b"two"),
            Err(AuthError::Unsupported { .. })
        ));
        let missing = SqlBackend::new(SqlConfig::new("sqlite:///nonexistent/dir/x.db")).unwrap();
        assert!(missing.lookup("imap", "ann").unwrap_err().is_temporary());
        assert!(crate::enumerate::collect(&missing)
            .unwrap_err()
            .is_temporary());
    }
}
