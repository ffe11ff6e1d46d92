//! Spin's Postgres interface (`spin:postgres/postgres@4.0.0`) over tokio-postgres, the
//! way Spin 4.0 implements it (crates/factor-outbound-pg):
//!
//! - `open` checks the address against `allowed_outbound_hosts`, then takes a connection
//!   from a pool of up to 64 per component per connection string, recycled with
//!   deadpool's `Clean` method; the connection goes back when the guest drops it;
//! - statements are prepared (one statement per call, binary results);
//! - result columns convert as Spin converts them, including Spin's refusal of
//!   `timestamptz` columns, and column metadata comes from the first row only;
//! - failures reach the guest as WIT error values; only host bugs trap.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{NoTls, Row};
use wasmtime::component::Resource;

use crate::allowed_hosts::AllowedHosts;
use crate::bindings::spin::postgres::postgres::{
    self as wit, Column, DbDataType, DbError, DbValue, Error, ParameterValue, QueryError, RowSet,
};
use crate::runtime::RequestState;

/// Spin's pool size: connections per component per connection string.
pub const POOL_SIZE: usize = 64;

/// The pools of one app, keyed like Spin's: component and connection string.
#[derive(Default)]
pub struct Pools {
    pools: Mutex<HashMap<(String, String), Pool>>,
    stats: Counters,
}

#[derive(Default)]
struct Counters {
    checkouts: AtomicU64,
    statements: AtomicU64,
}

/// Work the guests asked of Postgres, for counting round trips per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PgStats {
    /// Connections taken from a pool (`open`); each runs the recycle check first.
    pub checkouts: u64,
    /// `query` and `execute` calls: one round trip each.
    pub statements: u64,
}

impl Pools {
    fn get_or_create(&self, component: &str, address: &str) -> Result<Pool, Error> {
        let mut pools = self.pools.lock().expect("pool map poisoned");
        let key = (component.to_owned(), address.to_owned());
        if let Some(pool) = pools.get(&key) {
            return Ok(pool.clone());
        }
        let config: tokio_postgres::Config = address
            .parse()
            .map_err(|e| Error::ConnectionFailed(format!("{e:?}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Clean,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| {
                Error::ConnectionFailed(format!("establishing PostgreSQL connection pool: {e:?}"))
            })?;
        pools.insert(key, pool.clone());
        Ok(pool)
    }

    pub fn stats(&self) -> PgStats {
        PgStats {
            checkouts: self.stats.checkouts.load(Ordering::Relaxed),
            statements: self.stats.statements.load(Ordering::Relaxed),
        }
    }

    /// Connections the pools hold right now (idle and lent out), for tests.
    pub fn open_connections(&self) -> usize {
        let pools = self.pools.lock().expect("pool map poisoned");
        pools.values().map(|pool| pool.status().size).sum()
    }
}

/// A connection lent to a guest.
pub struct PgConnection(Object);

impl wit::Host for RequestState {}

impl wit::HostConnection for RequestState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, Error>> {
        let result = async {
            let allowed =
                AllowedHosts::resolve(&self.component.allowed_outbound_hosts, &self.app.variables)
                    .map_err(Error::Other)?;
            allowed.check_postgres(&address)?;
            let pool = self.app.pools.get_or_create(&self.component.id, &address)?;
            let client = pool
                .get()
                .await
                .map_err(|e| Error::ConnectionFailed(error_chain(&e)))?;
            self.app
                .pools
                .stats
                .checkouts
                .fetch_add(1, Ordering::Relaxed);
            Ok(PgConnection(client))
        }
        .await;
        match result {
            Ok(connection) => Ok(Ok(self.table.push(connection)?)),
            Err(error) => Ok(Err(error)),
        }
    }

    async fn query(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, Error>> {
        let params = match to_sql_parameters(params) {
            Ok(params) => params,
            Err(message) => return Ok(Err(Error::BadParameter(message))),
        };
        let client = &self.table.get(&connection)?.0;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
        self.app
            .pools
            .stats
            .statements
            .fetch_add(1, Ordering::Relaxed);
        let rows = match client.query(&statement, &refs).await {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(query_failed(e))),
        };
        Ok(convert_rows(&rows))
    }

    async fn execute(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        let params = match to_sql_parameters(params) {
            Ok(params) => params,
            // Spin reports this case differently from `query`.
            Err(message) => return Ok(Err(Error::ValueConversionFailed(message))),
        };
        let client = &self.table.get(&connection)?.0;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
        self.app
            .pools
            .stats
            .statements
            .fetch_add(1, Ordering::Relaxed);
        Ok(client
            .execute(&statement, &refs)
            .await
            .map_err(query_failed))
    }

    async fn drop(&mut self, connection: Resource<PgConnection>) -> wasmtime::Result<()> {
        // Dropping the pooled object hands the connection back to its pool.
        self.table.delete(connection)?;
        Ok(())
    }
}

/// An error and its causes, laid out as Spin's `{:?}` of an `anyhow::Error` does (minus
/// any backtrace).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    if source.is_some() {
        text.push_str("\n\nCaused by:");
    }
    let mut index = 0;
    while let Some(cause) = source {
        text.push_str(&format!("\n    {index}: {cause}"));
        index += 1;
        source = cause.source();
    }
    text
}

fn query_failed(error: tokio_postgres::Error) -> Error {
    let as_text = format!("{error:?}");
    Error::QueryFailed(match error.as_db_error() {
        None => QueryError::Text(as_text),
        Some(db) => {
            let fields = [
                ("column", db.column().map(str::to_owned)),
                ("constraint", db.constraint().map(str::to_owned)),
                ("routine", db.routine().map(str::to_owned)),
                ("hint", db.hint().map(str::to_owned)),
                ("table", db.table().map(str::to_owned)),
                ("datatype", db.datatype().map(str::to_owned)),
                ("schema", db.schema().map(str::to_owned)),
                ("file", db.file().map(str::to_owned)),
                ("line", db.line().map(|line| line.to_string())),
                ("where_", db.where_().map(str::to_owned)),
            ];
            let extras = fields
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| (name.to_owned(), v)))
                .collect();
            QueryError::DbError(DbError {
                as_text,
                severity: db.severity().to_owned(),
                code: db.code().code().to_owned(),
                message: db.message().to_owned(),
                detail: db.detail().map(str::to_owned),
                extras,
            })
        }
    })
}

type SqlParam = Box<dyn ToSql + Send + Sync>;

fn to_sql_parameters(params: Vec<ParameterValue>) -> Result<Vec<SqlParam>, String> {
    params.into_iter().map(to_sql_parameter).collect()
}

fn to_sql_parameter(value: ParameterValue) -> Result<SqlParam, String> {
    Ok(match value {
        ParameterValue::Boolean(v) => Box::new(v),
        ParameterValue::Int8(v) => Box::new(v),
        ParameterValue::Int16(v) => Box::new(v),
        ParameterValue::Int32(v) => Box::new(v),
        ParameterValue::Int64(v) => Box::new(v),
        ParameterValue::Floating32(v) => Box::new(v),
        ParameterValue::Floating64(v) => Box::new(v),
        ParameterValue::Str(v) => Box::new(v),
        ParameterValue::Binary(v) => Box::new(v),
        ParameterValue::Date((y, m, d)) => Box::new(
            chrono::NaiveDate::from_ymd_opt(y, m.into(), d.into())
                .ok_or_else(|| format!("invalid date y={y}, m={m}, d={d}"))?,
        ),
        ParameterValue::Time((h, m, s, ns)) => Box::new(
            chrono::NaiveTime::from_hms_nano_opt(h.into(), m.into(), s.into(), ns)
                .ok_or_else(|| format!("invalid time {h}:{m}:{s}:{ns}"))?,
        ),
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => {
            let date = chrono::NaiveDate::from_ymd_opt(y, mo.into(), d.into())
                .ok_or_else(|| format!("invalid date y={y}, m={mo}, d={d}"))?;
            let time = chrono::NaiveTime::from_hms_nano_opt(h.into(), mi.into(), s.into(), ns)
                .ok_or_else(|| format!("invalid time {h}:{mi}:{s}:{ns}"))?;
            Box::new(chrono::NaiveDateTime::new(date, time))
        }
        ParameterValue::Timestamp(v) => Box::new(
            chrono::DateTime::<chrono::Utc>::from_timestamp(v, 0)
                .ok_or_else(|| format!("invalid epoch timestamp {v}"))?,
        ),
        ParameterValue::Uuid(v) => {
            Box::new(uuid::Uuid::parse_str(&v).map_err(|e| format!("invalid UUID {v}: {e}"))?)
        }
        ParameterValue::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(&v)
                .map_err(|e| format!("invalid JSON: {e}"))?,
        ),
        ParameterValue::DbNull => Box::new(PgNull),
        other => {
            return Err(format!(
                "the test harness does not implement this parameter type: {other:?}"
            ));
        }
    })
}

/// NULL for a parameter of any type, as Spin sends `db-null`.
#[derive(Debug)]
struct PgNull;

impl ToSql for PgNull {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// The raw bytes of a column type Spin does not convert.
struct Unsupported(Vec<u8>);

impl<'a> FromSql<'a> for Unsupported {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn convert_rows(rows: &[Row]) -> Result<RowSet, Error> {
    // Like Spin, column metadata comes from the first row: an empty result has none.
    let columns = rows
        .first()
        .map(|row| {
            row.columns()
                .iter()
                .map(|column| Column {
                    name: column.name().to_owned(),
                    data_type: data_type(column.type_()),
                })
                .collect()
        })
        .unwrap_or_default();
    let rows = rows
        .iter()
        .map(|row| (0..row.len()).map(|i| convert_cell(row, i)).collect())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::QueryFailed(QueryError::Text(format!("{e:?}"))))?;
    Ok(RowSet { columns, rows })
}

fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        _ => DbDataType::Other(ty.name().to_owned()),
    }
}

fn convert_cell(row: &Row, index: usize) -> Result<DbValue, tokio_postgres::Error> {
    fn cell<'a, T: FromSql<'a>>(
        row: &'a Row,
        index: usize,
        wrap: impl FnOnce(T) -> DbValue,
    ) -> Result<DbValue, tokio_postgres::Error> {
        Ok(row
            .try_get::<_, Option<T>>(index)?
            .map_or(DbValue::DbNull, wrap))
    }
    let ty = row.columns()[index].type_();
    match *ty {
        Type::BOOL => cell(row, index, DbValue::Boolean),
        Type::INT2 => cell(row, index, DbValue::Int16),
        Type::INT4 => cell(row, index, DbValue::Int32),
        Type::INT8 => cell(row, index, DbValue::Int64),
        Type::FLOAT4 => cell(row, index, DbValue::Floating32),
        Type::FLOAT8 => cell(row, index, DbValue::Floating64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => cell(row, index, DbValue::Str),
        Type::BYTEA => cell(row, index, DbValue::Binary),
        Type::DATE => cell(row, index, |d: chrono::NaiveDate| {
            use chrono::Datelike;
            DbValue::Date((d.year(), d.month() as u8, d.day() as u8))
        }),
        Type::TIME => cell(row, index, |t: chrono::NaiveTime| {
            use chrono::Timelike;
            DbValue::Time((
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                t.nanosecond(),
            ))
        }),
        // Spin reads both timestamp types as NaiveDateTime, which tokio-postgres only
        // accepts for `timestamp`: a `timestamptz` column fails the query, as in Spin.
        Type::TIMESTAMP | Type::TIMESTAMPTZ => cell(row, index, |dt: chrono::NaiveDateTime| {
            use chrono::{Datelike, Timelike};
            DbValue::Datetime((
                dt.year(),
                dt.month() as u8,
                dt.day() as u8,
                dt.hour() as u8,
                dt.minute() as u8,
                dt.second() as u8,
                dt.nanosecond(),
            ))
        }),
        Type::UUID => cell(row, index, |u: uuid::Uuid| DbValue::Uuid(u.to_string())),
        Type::JSONB => cell(row, index, |v: serde_json::Value| {
            DbValue::Jsonb(serde_json::to_vec(&v).unwrap_or_default())
        }),
        _ => cell(row, index, |raw: Unsupported| DbValue::Unsupported(raw.0)),
    }
}
