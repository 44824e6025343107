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
pub mod session;
pub mod sign_in;
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

    /// The caller's network's window of new visitors in `campaign`, under a keyed tag of the
    /// network (`None` when the request carries no source address).
    pub fn network_window(
        &self,
        req: &lambda_http::Request,
        campaign: &mcamp_core::campaign::Campaign,
    ) -> Option<mcamp_store::shares::NetworkWindow> {
        let network = request::source_network(req)?;
        Some(mcamp_store::shares::NetworkWindow {
            tag: tokens::network_tag(&self.site.secret, &network),
            per_hour: campaign.share.visitors_per_network_hour,
        })
    }
}
