//! The HTTP edge: requests and responses, pages and JSON, cookies, sessions and forms,
//! and the status and body each error gets.

pub mod account_forms;
pub mod account_views;
pub mod api;
pub mod api_routes;
pub mod assets;
pub mod conversation_views;
pub mod cookies;
pub mod csrf;
pub mod email_pages;
pub mod email_views;
pub mod errors;
pub mod form;
pub mod http;
pub mod item_forms;
pub mod item_views;
pub mod multipart;
pub mod multipart_headers;
pub mod order_views;
pub mod pages;
pub mod paths;
pub mod photo_api;
pub mod photo_forms;
pub mod photo_views;
pub mod profile_forms;
pub mod session;
pub mod sharing;
pub mod spin;
pub mod trade_api;
pub mod trade_pages;
pub mod trade_views;
pub mod views;
pub mod visitor_forms;
