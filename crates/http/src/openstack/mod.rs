//! The openstack dialect (not built yet).

use crate::AppState;
use axum::Router;

/// Routes of this dialect.
pub fn routes(_state: AppState) -> Router {
    Router::new()
}
