//! One module per subcommand.

pub mod acl;
pub mod authtest;
pub mod deliver;
pub mod demo;
pub mod maildirmake;
pub mod preauth;
pub mod pw;
pub mod userdb;
