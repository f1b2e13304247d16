//! Extractors whose rejections are our [`Error`], so malformed input gets the same JSON error
//! shape as everything else, and the paging parameters every list shares.

use axum::extract::{FromRequest, FromRequestParts};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use super::error::Error;
use crate::db::{Pool, Row};

/// A JSON body.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct JsonBody<T>(pub T);

/// Path parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct PathParams<T>(pub T);

/// Query parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct QueryParams<T>(pub T);

/// `?limit=&offset=` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-100, default 20.
    pub limit: Option<i64>,
    /// Default 0.
    pub offset: Option<i64>,
}

impl PageQuery {
    /// (limit, offset), validated.
    pub fn get(&self) -> Result<(i64, i64), Error> {
        let limit = self.limit.unwrap_or(20);
        let offset = self.offset.unwrap_or(0);
        if !(1..=100).contains(&limit) || !(0..=1_000_000_000).contains(&offset) {
            return Err(Error::BadRequest(
                "limit must be 1-100 and offset ≥ 0".into(),
            ));
        }
        Ok((limit, offset))
    }

    /// This page of one owner's rows and the owner's total. `select` filters on
    /// `owner_id = $1`, orders newest first and ends in `LIMIT $2 OFFSET $3`; `count` counts the
    /// same rows with `owner_id = $1`.
    pub async fn fetch_owned<R>(
        &self,
        pool: &Pool,
        owner_id: &str,
        select: &'static str,
        count: &'static str,
    ) -> Result<Page<R>, Error>
    where
        R: for<'r> FromRow<'r, Row> + Send + Unpin,
    {
        let (limit, offset) = self.get()?;
        let items: Vec<R> = sqlx::query_as(select)
            .bind(owner_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
        let (total,): (i64,) = sqlx::query_as(count).bind(owner_id).fetch_one(pool).await?;
        Ok(Page {
            items,
            total,
            limit,
            offset,
        })
    }
}

/// One page of a list, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl<T> Page<T> {
    /// The same page with each item converted.
    pub fn try_map<U>(self, convert: impl FnMut(T) -> Result<U, Error>) -> Result<Page<U>, Error> {
        Ok(Page {
            items: self
                .items
                .into_iter()
                .map(convert)
                .collect::<Result<_, _>>()?,
            total: self.total,
            limit: self.limit,
            offset: self.offset,
        })
    }
}
