//! The web edge every HTTP function shares: its settings (`Site`), the route table (checked
//! against template.yaml by a test), the one error-to-status map, requests and responses,
//! the user-agent classifier, and the maud pages.

pub mod error;
pub mod lambda;
pub mod pages;
pub mod personal;
pub mod request;
pub mod response;
pub mod routes;
pub mod site;
pub mod tokens;
pub mod ua;

use std::sync::Arc;

pub use error::{Flavor, HttpError};
pub use mcamp_app::App;
pub use site::Site;

/// What an HTTP handler runs over: the application and the web edge's settings.
#[derive(Clone)]
pub struct Web {
    pub app: App,
    pub site: Arc<Site>,
}

impl Web {
    pub fn new(app: App, site: Site) -> Self {
        Web {
            app,
            site: Arc::new(site),
        }
    }

    /// The keyed tag of the caller's network, for the per-network limits (`None` when the
    /// request carries no source address).
    pub fn network_tag(&self, req: &lambda_http::Request) -> Option<String> {
        request::source_network(req).map(|n| tokens::network_tag(&self.site.secret, &n))
    }
}
