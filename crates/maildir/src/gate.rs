//! A look at each new message before it is placed into its folder.

use std::io::Read;

use crate::error::Result;

/// Sees each new message of an APPEND, COPY or MOVE, as a reader of its
/// bytes, after the quota check and before any of them is placed in the
/// destination folder; an error stops the command with nothing placed
/// and is returned. (Courier's Outbox mails messages at this point, and
/// refuses the command when it cannot.)
pub type Gate<'a> = &'a mut dyn FnMut(&mut dyn Read) -> Result<()>;
