//! One module per subcommand.

pub mod authtest;
pub mod deliver;
pub mod demo;
pub mod imapd;
pub mod maildirmake;
pub mod pw;
pub mod userdb;
