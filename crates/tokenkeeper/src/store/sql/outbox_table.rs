//! The one outbox mechanism, for both outboxes (email notifications and webhook events): a
//! claim on due rows under an owner, the owner's renewal, and the owner's marks. Each is one
//! statement shape per dialect, put together once per table from the table's description.
//!
//! A row is written only by the owner of its current claim (`claimed_by`), and only while it
//! is pending: a cancellation, or another worker that took over an expired claim, wins over a
//! worker that was still busy with the row.

use super::{on_each, Pool, Statement, Tx};
use crate::store::Lease;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use std::sync::OnceLock;

/// An outbox table, as its claims and marks see it.
pub(super) struct TableShape {
    pub name: &'static str,
    /// The column that reads `'pending'` until the row is settled.
    pub status: &'static str,
    /// Times that must all have passed for a pending row to be due.
    pub due: &'static [&'static str],
    /// What a claim reads of each row it takes (`*` for all).
    pub claimed: &'static [&'static str],
    /// What a mark writes besides the attempt and the released claim. Parameters, in this
    /// order: the status, the last error, the next attempt (NULL keeps it), when the row was
    /// taken, and the far side's receipt.
    pub outcome: &'static str,
}

/// A table's shape, and its statements once they are first needed.
pub(super) struct OutboxTable {
    shape: TableShape,
    statements: OnceLock<Statements>,
}

struct Statements {
    /// SQLite: the due rows' ids, claimed in one UPDATE that returns them.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    claim_sqlite: Statement,
    /// PostgreSQL: the same, skipping rows another worker holds; a row whose claim was renewed
    /// or cancelled meanwhile is checked again under the lock, so it is not taken.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    claim_postgres: Statement,
    /// MySQL: the due rows, locked (`SKIP LOCKED`); they are then claimed and read by id.
    #[cfg(feature = "mysql")]
    due_mysql: String,
    renew: Statement,
    mark: Statement,
}

/// What the far side gave back, as the table keeps it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Receipt<'a> {
    Text(Option<&'a str>),
    Code(Option<i32>),
}

/// What one attempt came to, as the claim's owner writes it.
pub(super) struct Outcome<'a> {
    status: &'static str,
    error: Option<&'a str>,
    next_attempt_at: Option<DateTime<Utc>>,
    taken_at: Option<DateTime<Utc>>,
    receipt: Receipt<'a>,
}

impl<'a> Outcome<'a> {
    /// Taken by the far side at `at`: settled as `status`.
    pub(super) fn taken(status: &'static str, at: DateTime<Utc>, receipt: Receipt<'a>) -> Self {
        Self {
            status,
            error: None,
            next_attempt_at: None,
            taken_at: Some(at),
            receipt,
        }
    }

    /// Not taken: tried again at `next_attempt_at`.
    pub(super) fn retry(
        error: &'a str,
        next_attempt_at: DateTime<Utc>,
        receipt: Receipt<'a>,
    ) -> Self {
        Self {
            status: "pending",
            error: Some(error),
            next_attempt_at: Some(next_attempt_at),
            taken_at: None,
            receipt,
        }
    }

    /// Not taken, and not tried again: settled as `status` (failed, cancelled).
    pub(super) fn settled(status: &'static str, error: &'a str, receipt: Receipt<'a>) -> Self {
        Self {
            status,
            error: Some(error),
            next_attempt_at: None,
            taken_at: None,
            receipt,
        }
    }
}

/// A claimed row as each database built in hands it over.
pub(super) trait ClaimedRow: Send + Unpin + FromSqlite + FromPostgres + FromMySql {}

impl<R> ClaimedRow for R where R: Send + Unpin + FromSqlite + FromPostgres + FromMySql {}

/// `$name`: read from `$row` when `$feature` builds its database in, and asks nothing when it
/// is left out.
macro_rules! from_row_of {
    ($name:ident, $feature:literal, $row:ty) => {
        #[cfg(feature = $feature)]
        pub(super) trait $name: for<'r> FromRow<'r, $row> {}
        #[cfg(feature = $feature)]
        impl<R: for<'r> FromRow<'r, $row>> $name for R {}
        #[cfg(not(feature = $feature))]
        pub(super) trait $name {}
        #[cfg(not(feature = $feature))]
        impl<R> $name for R {}
    };
}
from_row_of!(FromSqlite, "sqlite", sqlx::sqlite::SqliteRow);
from_row_of!(FromPostgres, "postgres", sqlx::postgres::PgRow);
from_row_of!(FromMySql, "mysql", sqlx::mysql::MySqlRow);

impl OutboxTable {
    pub(super) const fn new(shape: TableShape) -> Self {
        Self {
            shape,
            statements: OnceLock::new(),
        }
    }

    fn statements(&'static self) -> &'static Statements {
        self.statements.get_or_init(|| Statements::of(&self.shape))
    }

    /// Claims up to `limit` rows due at `lease.now` and not under a live claim, for
    /// `lease.holder` until `lease.until`, inside the caller's transaction. In no order.
    pub(super) async fn claim<R: ClaimedRow>(
        &'static self,
        tx: &mut Tx,
        lease: &Lease,
        limit: i64,
    ) -> Result<Vec<R>, sqlx::Error> {
        let statements = self.statements();
        // `now` for each due time, then for the claims that lapsed.
        let nows = self.shape.due.len() + 1;
        let claimed = on_each!(Tx, &mut *tx, [Sqlite, Postgres] |tx, dialect| {
            let claim = match dialect {
                super::Dialect::Postgres => &statements.claim_postgres,
                _ => &statements.claim_sqlite,
            };
            let mut query = sqlx::query_as(claim.sql(dialect));
            for _ in 0..nows {
                query = query.bind(lease.now);
            }
            query
                .bind(limit)
                .bind(lease.until)
                .bind(lease.holder.as_str())
                .fetch_all(&mut **tx)
                .await?
        }, #[cfg(feature = "mysql")] Tx::MySql(tx) => {
            let mut due = sqlx::query_scalar(statements.due_mysql.as_str());
            for _ in 0..nows {
                due = due.bind(lease.now);
            }
            let ids: Vec<i64> = due.bind(limit).fetch_all(&mut **tx).await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let (name, list) = (self.shape.name, super::mysql::id_list(&ids));
            sqlx::query(&format!(
                "UPDATE {name} SET claimed_until = ?, claimed_by = ? WHERE id IN ({list})"
            ))
            .bind(lease.until)
            .bind(lease.holder.as_str())
            .execute(&mut **tx)
            .await?;
            let columns = self.shape.claimed.join(", ");
            sqlx::query_as(&format!("SELECT {columns} FROM {name} WHERE id IN ({list})"))
                .fetch_all(&mut **tx)
                .await?
        });
        Ok(claimed)
    }

    /// Extends the claim on row `id` to `lease.until`, if `lease.holder` still holds it and
    /// the row is still pending; says whether it did.
    pub(super) async fn renew(
        &'static self,
        pool: &Pool,
        id: i64,
        lease: &Lease,
    ) -> Result<bool, sqlx::Error> {
        let renew = &self.statements().renew;
        let done = on_each!(Pool, pool, |pool, dialect| {
            sqlx::query(renew.sql(dialect))
                .bind(lease.until)
                .bind(id)
                .bind(lease.holder.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Records one attempt's outcome (one more attempt, the claim released) if `holder` still
    /// holds the claim on row `id` and the row is still pending; says whether it applied.
    pub(super) async fn mark(
        &'static self,
        pool: &Pool,
        id: i64,
        holder: &str,
        outcome: &Outcome<'_>,
    ) -> Result<bool, sqlx::Error> {
        let mark = &self.statements().mark;
        let done = on_each!(Pool, pool, |pool, dialect| {
            let query = sqlx::query(mark.sql(dialect))
                .bind(outcome.status)
                .bind(outcome.error)
                .bind(outcome.next_attempt_at)
                .bind(outcome.taken_at);
            let query = match outcome.receipt {
                Receipt::Text(text) => query.bind(text),
                Receipt::Code(code) => query.bind(code),
            };
            query
                .bind(id)
                .bind(holder)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }
}

impl Statements {
    fn of(table: &TableShape) -> Self {
        let TableShape {
            name,
            status,
            outcome,
            ..
        } = table;
        let due: String = table.due.iter().map(|c| format!(" AND {c} <= ?")).collect();
        // Parameters: now for each due time and for the lapsed claims, then the limit.
        let due_rows = format!(
            "SELECT id FROM {name}
    WHERE {status} = 'pending'{due}
      AND (claimed_until IS NULL OR claimed_until < ?)
    ORDER BY id
    LIMIT ?"
        );
        let owned = format!("id = ? AND claimed_by = ? AND {status} = 'pending'");
        // Then the lease's end and its holder.
        Statements {
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            claim_sqlite: Statement::built(format!(
                "WITH due AS ({due_rows})
UPDATE {name} SET claimed_until = ?, claimed_by = ?
WHERE id IN (SELECT id FROM due)
RETURNING {columns}",
                columns = table.claimed.join(", ")
            )),
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            claim_postgres: Statement::built(format!(
                "WITH due AS ({due_rows}
    FOR UPDATE SKIP LOCKED)
UPDATE {name} t SET claimed_until = ?, claimed_by = ?
FROM due WHERE t.id = due.id
RETURNING {prefixed}",
                prefixed = table
                    .claimed
                    .iter()
                    .map(|c| format!("t.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            #[cfg(feature = "mysql")]
            due_mysql: format!("{due_rows}\nFOR UPDATE SKIP LOCKED"),
            renew: Statement::built(format!("UPDATE {name} SET claimed_until = ? WHERE {owned}")),
            mark: Statement::built(format!(
                "UPDATE {name} SET {outcome}, attempts = attempts + 1,
    claimed_until = NULL, claimed_by = NULL
WHERE {owned}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::Dialect;

    static TABLE: OutboxTable = OutboxTable::new(TableShape {
        name: "letters",
        status: "state",
        due: &["send_after", "next_attempt_at"],
        claimed: &["id", "body"],
        outcome: "state = ?, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at),
    sent_at = ?, receipt = ?",
    });

    fn one_line(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_claims_take_due_unclaimed_pending_rows_in_id_order() {
        let s = TABLE.statements();
        let due = "SELECT id FROM letters WHERE state = 'pending' AND send_after <= ? \
                   AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) \
                   ORDER BY id LIMIT ?";
        assert_eq!(
            one_line(s.claim_sqlite.sql(Dialect::Sqlite)),
            format!(
                "WITH due AS ({due}) UPDATE letters SET claimed_until = ?, claimed_by = ? \
                 WHERE id IN (SELECT id FROM due) RETURNING id, body"
            )
        );
        assert_eq!(
            one_line(s.claim_postgres.sql(Dialect::Sqlite)),
            format!(
                "WITH due AS ({due} FOR UPDATE SKIP LOCKED) UPDATE letters t SET \
                 claimed_until = ?, claimed_by = ? FROM due WHERE t.id = due.id \
                 RETURNING t.id, t.body"
            )
        );
        #[cfg(feature = "mysql")]
        assert_eq!(
            one_line(&s.due_mysql),
            format!("{due} FOR UPDATE SKIP LOCKED")
        );
    }

    #[test]
    fn renewals_and_marks_apply_only_for_the_owner_of_a_pending_row() {
        let s = TABLE.statements();
        let owned = "WHERE id = ? AND claimed_by = ? AND state = 'pending'";
        assert_eq!(
            one_line(s.renew.sql(Dialect::MySql)),
            format!("UPDATE letters SET claimed_until = ? {owned}")
        );
        assert_eq!(
            one_line(s.mark.sql(Dialect::Sqlite)),
            format!(
                "UPDATE letters SET state = ?, last_error = ?, next_attempt_at = \
                 COALESCE(?, next_attempt_at), sent_at = ?, receipt = ?, attempts = attempts + 1, \
                 claimed_until = NULL, claimed_by = NULL {owned}"
            )
        );
    }
}
