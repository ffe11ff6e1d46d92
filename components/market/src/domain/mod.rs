//! Accounts, items, listings and their rules, and the one error type: no storage, no
//! HTTP.

pub mod account;
pub mod conversation;
pub mod email;
pub mod error;
pub mod idempotency;
pub mod item;
pub mod listing;
pub mod notice;
pub mod order;
pub mod photo;
pub mod photo_image;
pub mod review;
pub mod token;
