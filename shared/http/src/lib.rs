//! What every HTTP function shares: the application's dependencies (`App`), configuration from
//! the environment, the route table (checked against template.yaml by a test), the one
//! error-to-status map, request helpers, and the maud pages.

pub mod app;
pub mod config;
pub mod error;
pub mod lambda;
pub mod pages;
pub mod personal;
pub mod request;
pub mod routes;
pub mod tokens;

pub use app::App;
pub use config::Config;
pub use error::{Flavor, HttpError};
