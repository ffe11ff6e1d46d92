//! What the operator sees of a request: its id, one structured log line when it ends,
//! and one line per error with its cause (`log`), from what the layers note about it
//! while it runs (`record`). The bottom layer: every other layer may note here.

pub mod log;
pub mod record;
pub mod request_id;
