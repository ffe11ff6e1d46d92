//! The SQL fragments trading's statements share, and the listing's statements use for a
//! seller's rating: an order's state and receipt as they are now (a shipped order
//! counts as received 14 days after shipping), whether a review shows, and someone's
//! rating. Text only: no statement is sent from here.

use crate::domain::order::AUTO_RECEIVE_DAYS;
use crate::domain::review::BLIND_DAYS;

/// The state of purchase `p` as it is now: a shipped order past the automatic receipt
/// counts as received.
pub fn effective_state(p: &str) -> String {
    format!(
        "CASE WHEN {p}.state = 'shipped' AND {p}.shipped_at <= now() - interval '{AUTO_RECEIVE_DAYS} days' \
         THEN 'received' ELSE {p}.state END"
    )
}

/// When purchase `p` was received, marked or automatically.
pub fn effective_received_at(p: &str) -> String {
    format!(
        "coalesce({p}.received_at, CASE WHEN {p}.state = 'shipped' \
         AND {p}.shipped_at <= now() - interval '{AUTO_RECEIVE_DAYS} days' \
         THEN {p}.shipped_at + interval '{AUTO_RECEIVE_DAYS} days' END)"
    )
}

/// Whether review `r` (of order `p`) shows to others.
pub fn visible(r: &str, p: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM reviews AS other WHERE other.order_id = {r}.order_id \
                  AND other.author_id = {r}.subject_id) \
          OR now() >= {received} + interval '{BLIND_DAYS} days')",
        received = effective_received_at(p)
    )
}

/// The visible reviews of the person whose id is the SQL expression `subject`, in
/// `role`, as columns `<prefix>_average10` (average × 10, rounded) and `<prefix>_count`.
pub fn summary_columns(subject: &str, role: &str, prefix: &str) -> String {
    let of = format!(
        "FROM reviews AS r JOIN purchases AS p ON p.id = r.order_id \
         WHERE r.subject_id = {subject} AND r.subject_role = '{role}' AND {}",
        visible("r", "p")
    );
    format!(
        "(SELECT round(avg(r.rating) * 10)::bigint {of}) AS {prefix}_average10, \
         (SELECT count(*) {of}) AS {prefix}_count"
    )
}
