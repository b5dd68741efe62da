//! One module per subcommand.

pub mod accounts;
pub mod acl;
pub mod authenumerate;
pub mod authtest;
pub mod deliver;
pub mod demo;
pub mod import_courier;
pub mod maildirmake;
pub mod man;
pub mod passwd;
pub mod preauth;
pub mod pw;
pub mod shared_index;
pub mod userdb;
